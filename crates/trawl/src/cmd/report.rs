//! `trawl report`: the hourly or daily report of a period, printed, written or sent.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use trawl_alert::dest::{ReportMessage, SendError};
use trawl_alert::Destination;
use trawl_query::scan::{Progress, Scan, ScanSummary};
use trawl_report::{period::every_text, Period, Report};

use crate::inputs::{Selection, SiteArgs};

/// Arguments of `trawl report`.
#[derive(Args, Debug)]
#[command(after_help = "What a report holds:
  traffic      bytes out and in, connections by direction (local networks: --networks or
               [networks]), top local talkers and remote hosts by bytes, local hosts by
               connections, top services and responder ports, connection states (* marks those
               worth a look), sources of failed attempts by distinct targets
  dns          top registered domains and TLDs, names not asked the period before, NXDOMAIN
               per client, the highest phishing/DGA scores with clients and workstations (DHCP
               leases and known_devices in the same logs)
  alerts       alerts fired per rule and mutes (the alert store of --config, or --alerts-db)
  software     versions older than the newest seen on the network or below a supported floor
  changes      headline figures against the period before, new top talkers, new busy ports

Periods are aligned to UTC: an hour starts on the hour, a day at 00:00 UTC.

Examples:
  trawl report --period 1d --at 2025-11-20 samples/zeek
  trawl report /nsm/zeek/logs                         the last complete hour
  trawl report -p 1d -f html -o daily.html /nsm/zeek/logs
  trawl report -c trawl.toml --send mail --send slack /nsm/zeek/logs
  trawl report -f json /nsm/zeek/logs | jq .dns.top_domains")]
pub struct ReportArgs {
    /// Files or folders to read (default: the current folder).
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    /// The period's length: 1h, 1d, or any whole number of seconds (15m, 6h).
    #[arg(long, short = 'p', default_value = "1h", value_name = "LENGTH")]
    pub period: String,

    /// A time inside the period to report (`2025-11-20`, `2025-11-20T09:30`, epoch seconds,
    /// `-3h`) [default: the last complete period].
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Send it to a destination of the configuration's `[alerts.destinations]` (email gets
    /// text and HTML, Slack a summary, a webhook or file the JSON). Repeatable.
    #[arg(long, value_name = "NAME", requires = "config")]
    pub send: Vec<String>,

    /// The alert store to count alerts and mutes from [default: the configuration's, else
    /// trawl-state/alerts.sqlite when it exists].
    #[arg(long, value_name = "FILE")]
    pub alerts_db: Option<PathBuf>,

    /// The passive DNS store that says which names are seen for the first time [default: the
    /// configuration's, else trawl-state/pdns.sqlite when it exists; without one, new names
    /// are those not asked the period before].
    #[arg(long, value_name = "FILE")]
    pub pdns_db: Option<PathBuf>,

    #[command(flatten)]
    pub site: SiteArgs,

    /// Files read at once (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,

    /// Print no summary on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Plain text, as an email body.
    Text,
    /// One HTML page (inline CSS, no scripts).
    Html,
    /// The figures as one JSON object.
    Json,
}

/// Now, in epoch seconds.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Runs `trawl report`.
pub fn run(args: ReportArgs) -> Result<i32> {
    args.site.apply()?;
    let every = trawl_report::parse_every(&args.period)?;
    let now = now_secs();
    let period = match &args.at {
        Some(at) => {
            let t = trawl_input::parse_time_bound(at, now.saturating_mul(1_000_000_000))?;
            Period::containing(t.div_euclid(1_000_000_000), every)
        }
        None => Period::last_complete(now, every),
    };
    let cfg = match &args.site.config {
        Some(c) => Some(super::alert::read_config(c)?),
        None => None,
    };
    let alerts_db = match (&args.alerts_db, &cfg) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(c)) => Some(crate::run::alerts::store_path(
            &c.alerts,
            &super::alert::state_dir(c),
        )),
        (None, None) => Some(PathBuf::from("trawl-state/alerts.sqlite")),
    };
    let pdns_db = match (&args.pdns_db, &cfg) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(c)) => Some(c.pdns.store_path(&super::alert::state_dir(c))),
        (None, None) => Some(PathBuf::from("trawl-state/pdns.sqlite")),
    };
    let mut dests = Vec::new();
    if let Some(c) = &cfg {
        for name in &args.send {
            let Some(d) = c.alerts.destinations.get(name) else {
                bail!(
                    "no destination named {name:?} in [alerts.destinations] of {}",
                    args.site
                        .config
                        .as_deref()
                        .unwrap_or(Path::new(""))
                        .display()
                );
            };
            dests.push(trawl_alert::dest::build(name, d).map_err(|e| anyhow::anyhow!("{e}"))?);
        }
    }
    let (report, summary) = make(
        &args.paths,
        period,
        args.threads,
        [alerts_db.as_deref(), pdns_db.as_deref()],
        Progress::Auto,
    )?;
    let out = match args.format {
        ReportFormat::Text => trawl_report::render::text(&report),
        ReportFormat::Html => trawl_report::render::html(&report),
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report)?;
            s.push('\n');
            s
        }
    };
    match &args.out {
        Some(p) => write_atomic(p, out.as_bytes())?,
        None if args.send.is_empty() => std::io::stdout().lock().write_all(out.as_bytes())?,
        None => {}
    }
    let mut failed = 0;
    if !dests.is_empty() {
        let msg = trawl_report::render::message(&report, &report_id(period));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        for d in &dests {
            match rt.block_on(send(d.as_ref(), &msg, 4)) {
                Ok(()) => eprintln!("trawl report: sent to {}", d.name()),
                Err(e) => {
                    failed += 1;
                    eprintln!("trawl report: {}: {e}", d.name());
                }
            }
        }
    }
    if !args.quiet {
        report_summary(&summary, &report);
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

fn report_summary(s: &ScanSummary, r: &Report) {
    for p in s.problems.iter().take(20) {
        eprintln!("trawl: {p}");
    }
    eprintln!(
        "trawl report: {} ({} files, {} records read, {} in the period{})",
        r.period.label,
        crate::report::thousands(s.files),
        crate::report::thousands(s.records),
        crate::report::thousands(r.input.in_period),
        match s.problems_total {
            0 => String::new(),
            n => format!(", {} problems", crate::report::thousands(n)),
        }
    );
    if r.input.in_period == 0 {
        if let (Some(a), Some(b)) = (&r.input.first_record, &r.input.last_record) {
            eprintln!("trawl report: the records read span {a} to {b}: choose a period with --at");
        }
    }
}

/// A stable id for a period's report: a destination can drop a repeat.
pub(crate) fn report_id(p: Period) -> String {
    format!("report-{}-{}", every_text(p.len()), p.start)
}

/// Builds the report of `period` from the logs under `paths`.
pub(crate) fn make(
    paths: &[PathBuf],
    period: Period,
    threads: Option<usize>,
    [alerts_db, pdns_db]: [Option<&Path>; 2],
    progress: Progress,
) -> Result<(Report, ScanSummary)> {
    // Records of a period may be written after it ends (a long connection is logged when it
    // closes): files up to an hour past the end are read too.
    let sel = Selection {
        types: None,
        since: Some(period.previous().start.to_string()),
        until: Some((period.end + period.len().min(3600)).to_string()),
        threads,
    };
    let types: Vec<String> = ["conn", "dns", "dhcp", "known_devices", "software"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (inputs, _) = super::query::select(paths, &sel, &types)?;
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let store = match alerts_db {
        Some(p) if p.exists() => Some(
            trawl_alert::Store::open(p)
                .with_context(|| format!("opening the alert store {}", p.display()))?,
        ),
        _ => None,
    };
    let pdns = match pdns_db {
        Some(p) if p.exists() => Some(
            trawl_pdns::Store::open(p)
                .with_context(|| format!("opening the passive DNS store {}", p.display()))?,
        ),
        _ => None,
    };
    let stores = trawl_report::Stores {
        alerts: store.as_ref(),
        pdns: pdns.as_ref(),
    };
    let scan = Scan::from_inputs(inputs, threads).progress(progress);
    trawl_report::build(&scan, period, stores, now_secs()).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Sends a report, retrying a destination that is down (`attempts` tries, waits doubling
/// from 1 s).
pub(crate) async fn send(
    d: &dyn Destination,
    msg: &ReportMessage,
    attempts: u32,
) -> Result<(), SendError> {
    let mut wait = Duration::from_secs(1);
    let mut n = 0;
    loop {
        n += 1;
        match d.send_report(msg).await {
            Err(SendError::Retry(why, after)) if n < attempts => {
                tracing::warn!(
                    destination = d.name(),
                    "report not delivered, retrying: {why}"
                );
                tokio::time::sleep(after.unwrap_or(wait)).await;
                wait = (wait * 2).min(Duration::from_secs(60));
            }
            r => return r,
        }
    }
}

/// Writes a file whole or not at all (a temporary file renamed over it).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
