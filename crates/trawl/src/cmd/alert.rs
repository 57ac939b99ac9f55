//! `trawl alert`: dry-run the alert rules of a `trawl run` configuration over log files, and
//! mute, list and unmute alerts in the store a running `trawl run` reads (a mute counts from
//! its next batch, no restart).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use trawl_alert::alert::plural;
use trawl_alert::{Clock, Engine, Mute, Store};
use trawl_stream::{CountingSink, Input, InputsSource, Metrics, Pipeline, Shutdown};

use crate::inputs::{resolve, InputArgs};
use crate::report::thousands;
use crate::run::alerts::{self, AlertStep, Output};
use crate::run::config::Config;

/// `trawl alert ...`
#[derive(Subcommand, Debug)]
pub enum AlertCmd {
    /// Dry-run the rules of a configuration over log files: each alert that would fire is
    /// printed as one JSON line (nothing is sent, no state is kept).
    #[command(
        after_help = "Records are enriched first (phish_score, dga_score, workstation ...), as in
`trawl run`; windows (de-duplication, aggregation, first-seen learning) follow the records' own
times. Repeats inside a dedup window are counted and reported by one digest per rule and
period (record time too; what is left goes out at the end). The first line on stderr says
each rule's dedup window. Current mutes of the configured store apply.

Example:
  trawl alert test --config trawl.example.toml samples/zeek"
    )]
    Test(TestArgs),
    /// Silence alerts of a rule (or `*`), optionally only for one key or field values, for a
    /// while, with a reason. A running `trawl run` applies it from its next batch.
    #[command(after_help = "Examples:
  trawl alert mute odd-user-agent --where id.orig_h=192.168.1.20 --for 8h --reason \"build box, ticket 4411\"
  trawl alert mute phishing --key 'login.example.com|192.168.1.10' --for 1d --reason \"phishing test\"
  trawl alert mute '*' --for 30m --reason \"maintenance\"")]
    Mute(MuteArgs),
    /// List the mutes in force (with --all, expired ones too).
    Mutes(MutesArgs),
    /// Remove a mute by its id (see `trawl alert mutes`).
    Unmute(UnmuteArgs),
}

/// Where the alert store is.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// The `trawl run` configuration (its `[alerts] store`, else `alerts.sqlite` in its
    /// state_dir).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The alert store file itself [default: trawl-state/alerts.sqlite].
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    pub store: Option<PathBuf>,
}

/// Arguments of `trawl alert test`.
#[derive(Args, Debug)]
pub struct TestArgs {
    /// The `trawl run` configuration holding the `[alerts]` rules.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Only these rules (repeatable).
    #[arg(long = "rule", value_name = "NAME")]
    pub rules: Vec<String>,
    #[command(flatten)]
    pub input: InputArgs,
}

/// Arguments of `trawl alert mute`.
#[derive(Args, Debug)]
pub struct MuteArgs {
    /// The rule to mute, or `*` for every rule.
    pub rule: String,
    /// Only alerts with this de-duplication key (as shown in an alert's `key`).
    #[arg(long)]
    pub key: Option<String>,
    /// Only alerts whose field has this value (`id.orig_h=10.0.0.5`, `workstation=bob-pc`);
    /// repeatable, all must match.
    #[arg(long = "where", value_name = "FIELD=VALUE")]
    pub fields: Vec<String>,
    /// How long (`30m`, `8h`, `7d`).
    #[arg(
        long = "for",
        value_name = "DURATION",
        required_unless_present = "forever"
    )]
    pub duration: Option<String>,
    /// Until unmuted.
    #[arg(long, conflicts_with = "duration")]
    pub forever: bool,
    /// Why (shown by `trawl alert mutes`).
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `trawl alert mutes`.
#[derive(Args, Debug)]
pub struct MutesArgs {
    /// Expired mutes too.
    #[arg(long)]
    pub all: bool,
    /// As JSON lines.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `trawl alert unmute`.
#[derive(Args, Debug)]
pub struct UnmuteArgs {
    /// The mute's id.
    pub id: i64,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Runs `trawl alert ...`.
pub fn run(cmd: AlertCmd) -> Result<i32> {
    match cmd {
        AlertCmd::Test(a) => test(a),
        AlertCmd::Mute(a) => mute(a),
        AlertCmd::Mutes(a) => mutes(a),
        AlertCmd::Unmute(a) => {
            let store = open_store(&a.store)?;
            if store.remove_mute(a.id)? {
                eprintln!("trawl alert: mute {} removed", a.id);
                Ok(0)
            } else {
                eprintln!("trawl alert: no mute {}", a.id);
                Ok(1)
            }
        }
    }
}

/// An engine over `store` that follows the records' own time (dry runs over old logs),
/// every configuration error in one message.
pub(crate) fn record_engine(alerts: &trawl_alert::AlertsConfig, store: Store) -> Result<Engine> {
    Engine::new(alerts, store, trawl_alert::routes(alerts), Clock::Record).map_err(|e| {
        anyhow::anyhow!(
            "{}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

pub(crate) fn read_config(path: &Path) -> Result<Config> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let cfg: Config = toml::from_str(&text).map_err(|e| {
        let line = text[..e.span().map_or(0, |s| s.start).min(text.len())]
            .matches('\n')
            .count()
            + 1;
        anyhow::anyhow!("{}:{line}: {}", path.display(), e.message())
    })?;
    let errors = alerts::check(&cfg.alerts, &text);
    if !errors.is_empty() {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| format!("{}:{}: {}", path.display(), e.line, e.message))
            .collect();
        bail!(
            "the [alerts] configuration has mistakes:\n{}",
            lines.join("\n")
        );
    }
    Ok(cfg)
}

/// A configuration's state folder (default `trawl-state`).
pub(crate) fn state_dir(cfg: &Config) -> PathBuf {
    cfg.state_dir
        .as_ref()
        .map(|d| d.get_ref().clone())
        .unwrap_or_else(|| PathBuf::from("trawl-state"))
}

fn store_path(a: &StoreArgs) -> Result<PathBuf> {
    Ok(match (&a.store, &a.config) {
        (Some(s), _) => s.clone(),
        (None, Some(c)) => {
            let cfg = read_config(c)?;
            alerts::store_path(&cfg.alerts, &state_dir(&cfg))
        }
        (None, None) => PathBuf::from("trawl-state/alerts.sqlite"),
    })
}

fn open_store(a: &StoreArgs) -> Result<Store> {
    let path = store_path(a)?;
    Store::open(&path).with_context(|| format!("alert store {}", path.display()))
}

fn mute(a: MuteArgs) -> Result<i32> {
    let now = trawl_alert::alert::now();
    let until = match &a.duration {
        Some(d) => {
            let d = trawl_alert::duration::parse(d).map_err(|e| anyhow::anyhow!("--for: {e}"))?;
            Some(now + d.as_secs_f64())
        }
        None => None,
    };
    let mut fields = std::collections::BTreeMap::new();
    for f in &a.fields {
        let Some((k, v)) = f.split_once('=') else {
            bail!("--where {f:?}: write FIELD=VALUE");
        };
        fields.insert(k.trim().to_string(), v.trim().to_string());
    }
    if a.reason.trim().is_empty() {
        bail!("--reason: say why (it is shown with the mute)");
    }
    let store = open_store(&a.store)?;
    let id = store.add_mute(&Mute {
        id: 0,
        rule: a.rule.clone(),
        key: a.key.clone(),
        fields,
        reason: a.reason.clone(),
        created: now,
        until,
    })?;
    eprintln!(
        "trawl alert: mute {id} on {} {}{} ({})",
        a.rule,
        match until {
            Some(u) => format!("until {}", trawl_alert::alert::rfc3339(u)),
            None => "until unmuted".into(),
        },
        if a.key.is_some() || !a.fields.is_empty() {
            " for matching alerts only"
        } else {
            ""
        },
        store.path().display()
    );
    Ok(0)
}

fn mutes(a: MutesArgs) -> Result<i32> {
    let store = open_store(&a.store)?;
    let now = trawl_alert::alert::now();
    let list = store.mutes(if a.all { None } else { Some(now) })?;
    if a.json {
        for m in &list {
            println!("{}", serde_json::to_string(m)?);
        }
        return Ok(0);
    }
    if list.is_empty() {
        eprintln!(
            "trawl alert: no mutes in force ({})",
            store.path().display()
        );
        return Ok(0);
    }
    let rows: Vec<[String; 5]> = list
        .iter()
        .map(|m| {
            let mut matching: Vec<String> =
                m.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if let Some(k) = &m.key {
                matching.insert(0, format!("key={k}"));
            }
            let until = match m.until {
                Some(u) if u <= now => "expired".to_string(),
                Some(u) => {
                    // Whole minutes left, rounded up.
                    let left = ((u - now) / 60.0).ceil() as u64 * 60;
                    format!(
                        "{} ({} left)",
                        &trawl_alert::alert::rfc3339(u)[..16],
                        trawl_alert::duration::format(std::time::Duration::from_secs(left))
                    )
                }
                None => "until unmuted".into(),
            };
            let matching = if matching.is_empty() {
                "all".to_string()
            } else {
                matching.join(" ")
            };
            [
                m.id.to_string(),
                m.rule.clone(),
                matching,
                until,
                m.reason.clone(),
            ]
        })
        .collect();
    let head = ["id", "rule", "matching", "until", "reason"];
    let width = |c: usize| {
        rows.iter()
            .map(|r| r[c].len())
            .chain([head[c].len()])
            .max()
            .unwrap_or(0)
    };
    let w: Vec<usize> = (0..4).map(width).collect();
    let line = |r: [&str; 5]| {
        println!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3]
        )
    };
    line(head);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
    Ok(0)
}

/// Each rule's dedup window (and where it comes from, unless the kind's default) and digest.
fn windows(engine: &Engine) -> String {
    let fmt = |d: std::time::Duration| {
        if d.is_zero() {
            "none".to_string()
        } else {
            trawl_alert::duration::format(d)
        }
    };
    let dedup: Vec<String> = engine
        .rules()
        .iter()
        .map(|r| match r.dedup_from {
            "kind" => format!("{} {}", r.name, fmt(r.dedup)),
            from => format!("{} {} ({from})", r.name, fmt(r.dedup)),
        })
        .collect();
    let mut digests: Vec<String> = engine
        .rules()
        .iter()
        .map(|r| r.digest.map_or("off".into(), fmt))
        .collect();
    digests.sort();
    digests.dedup();
    let digest = match digests.as_slice() {
        [one] => format!("every {one}"),
        _ => engine
            .rules()
            .iter()
            .map(|r| format!("{} {}", r.name, r.digest.map_or("off".into(), fmt)))
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!(
        "dedup windows: {}; digest of repeats: {digest}",
        dedup.join(", ")
    )
}

/// Records per batch handed to enrichment and the rules.
const BATCH: usize = 4096;

fn test(a: TestArgs) -> Result<i32> {
    let mut cfg = read_config(&a.config)?;
    trawl_query::set_networks(cfg.networks.networks(None)?);
    if cfg.alerts.rules.is_empty() {
        bail!("{}: no [alerts.rules.NAME] to test", a.config.display());
    }
    if !a.rules.is_empty() {
        for r in &a.rules {
            if !cfg.alerts.rules.contains_key(r) {
                bail!(
                    "no rule {r:?} (there are: {})",
                    cfg.alerts
                        .rules
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        cfg.alerts.rules.retain(|k, _| a.rules.contains(k));
    }
    // Mutes in force apply; the rest of the state is a scratch store in memory.
    let real = alerts::store_path(&cfg.alerts, &state_dir(&cfg));
    let scratch = Store::in_memory()?;
    if real.is_file() {
        if let Ok(s) = Store::open(&real) {
            for m in s.mutes(Some(trawl_alert::alert::now()))? {
                scratch.add_mute(&m)?;
            }
        }
    }
    let engine = record_engine(&cfg.alerts, scratch)?;
    eprintln!("trawl alert test: {}", windows(&engine));
    let tmp = std::env::temp_dir().join(format!("trawl-alert-test-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let result = test_files(&a, &cfg, engine, &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// The `trawl run` pipeline (same decoding, enrichment and alert step) between the inputs
/// and a sink that only counts; alerts are printed instead of delivered.
fn test_files(a: &TestArgs, cfg: &Config, engine: Engine, tmp: &Path) -> Result<i32> {
    // Problems as `trawl cat` prints them: `file:line: reason`, no time or level.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRAWL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .without_time()
        .with_target(false)
        .with_level(false)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .try_init();
    let metrics = Arc::new(Metrics::default());
    let (sources, problems) = resolve(&a.input)?;
    for p in &problems {
        eprintln!("trawl alert test: {p}");
    }
    let mut inputs = Vec::with_capacity(sources.len());
    let mut unreadable = 0;
    for src in &sources {
        match src.open() {
            Ok(reader) => inputs.push(Input {
                label: src.name(),
                reader,
                log_type: src.log_type().map(str::to_string),
                modified: src.reference_time(),
            }),
            Err(e) => {
                unreadable += 1;
                eprintln!("trawl alert test: {}: {e:#}", src.name());
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let enricher = crate::run::cmd::enricher(cfg, tmp, false)?;
    let step = Arc::new(AlertStep::new(engine, Output::Print, &[], &metrics));
    let (sink, tally) = CountingSink::new();
    let pipeline = Pipeline::new(metrics.clone())
        .source(Box::new(InputsSource::new(inputs, BATCH, &metrics)))
        .transform(Arc::new(trawl_enrich::Enrich::new(enricher, &metrics)))
        .transform(step.clone())
        .sink(Box::new(sink));
    runtime.block_on(pipeline.run(Shutdown::default()))?;
    step.finish();
    let s = step.stats();
    print_tally(
        sources.len(),
        &tally.lock().unwrap_or_else(|e| e.into_inner()),
        metrics.total("trawl_source_errors_total") + unreadable,
    );
    eprintln!(
        "trawl alert test: {}, {} ({} muted, {} inside their dedup window, {} folded into summaries, {} of repeats)",
        plural(s.matched, "rule match", "rule matches"),
        plural(s.fired, "alert", "alerts"),
        s.muted,
        plural(s.deduplicated, "repeat", "repeats"),
        s.aggregated,
        plural(s.digests, "digest", "digests"),
    );
    Ok(0)
}

/// What was read: inputs, records by log type, problems (each reported above as it was met).
fn print_tally(inputs: usize, tally: &std::collections::BTreeMap<String, u64>, problems: u64) {
    let records: u64 = tally.values().sum();
    eprintln!(
        "trawl alert test: {}, {} records, {}",
        plural(inputs as u64, "file", "files"),
        thousands(records),
        plural(problems, "problem", "problems")
    );
    for (t, n) in tally {
        eprintln!("  {t:<12} {:>12}", thousands(*n));
    }
}
