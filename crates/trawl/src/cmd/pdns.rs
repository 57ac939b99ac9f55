//! `trawl pdns`: the passive DNS store: look a name, domain, address or network up; import
//! logs into it.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, Subcommand, ValueEnum};
use trawl_pdns::{Batch, Fingerprint, Imported, Lookup, Row, Store, Target};
use trawl_zeek::{Record, Scalar, Value, ZeekType};

use crate::inputs::{resolve, InputArgs, Source};
use crate::report::{thousands, FileReport, Summary};
use crate::run::config::PdnsConfig;
use crate::table::TableWriter;

/// Arguments of `trawl pdns`.
#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:
  trawl pdns import /nsm/zeek/logs samples/dnsmasq   fill the store (a file is read once)
  trawl pdns www.wikipedia.org        what it resolved to, and what pointed at it (CNAMEs)
  trawl pdns '*.wikimedia.org'        every name under a domain
  trawl pdns 185.15.59.224            the names that resolved to an address
  trawl pdns 10.20.0.0/16 --since 2d  ... to any address in a network, seen in the last 2 days
  trawl pdns '*' | jq .               everything, as passive DNS Common Output Format JSON

`trawl run --pdns` (or `[pdns] enabled = true` in its configuration) keeps the same store as \
it reads: pdns.sqlite in its state folder. NXDOMAIN and NODATA answers are facts of their own (rdata \
`NXDOMAIN`, `NODATA`, rrtype the type asked); a CNAME chain is kept hop by hop."
)]
pub struct PdnsArgs {
    #[command(subcommand)]
    pub cmd: Option<PdnsCmd>,

    /// A name, `*.domain` (the domain and every name under it), an address, a network
    /// (`10.0.0.0/8`) or `*`.
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,

    #[command(flatten)]
    pub store: DbArgs,

    /// Only facts last seen at or after this time (`2026-03-03`, RFC 3339, epoch seconds,
    /// or `2h` for two hours ago).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only facts first seen at or before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Most facts shown, most recently seen first.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub limit: usize,

    /// Also show the clients that asked (as many as the store keeps a fact).
    #[arg(long)]
    pub clients: bool,

    /// Output format [default: table on a terminal, else json].
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<PdnsFormat>,

    /// Name the sensor in each fact (`sensor_id`) [default: the configuration's
    /// `[pdns] sensor_id`, else none].
    #[arg(long, value_name = "ID")]
    pub sensor_id: Option<String>,
}

/// Output formats of `trawl pdns`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PdnsFormat {
    /// Aligned columns, times as UTC dates.
    Table,
    /// One JSON object a fact: the passive DNS Common Output Format's fields.
    Json,
}

/// Subcommands of `trawl pdns`.
#[derive(Subcommand, Debug)]
pub enum PdnsCmd {
    /// Read DNS logs (Zeek dns.log in any format, dnsmasq) into the store. A file already
    /// imported and unchanged since is skipped, so importing the same files again changes
    /// nothing.
    Import(ImportArgs),
}

/// Where the store is.
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// A `trawl run` configuration: its `[pdns] store`, else pdns.sqlite in its state_dir.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The store file itself [default: trawl-state/pdns.sqlite].
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    pub db: Option<PathBuf>,
}

/// Arguments of `trawl pdns import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: DbArgs,

    /// Clients kept per fact (0: none) [default: the configuration's, else 16].
    #[arg(long, value_name = "N")]
    pub max_clients: Option<usize>,

    /// Import files that changed since they were imported (their earlier records count
    /// again): for logs that were rewritten, not appended to.
    #[arg(long)]
    pub again: bool,

    #[command(flatten)]
    pub input: InputArgs,
}

/// Distinct facts folded in memory before they are written (within the file's transaction).
const FLUSH_FACTS: usize = 200_000;

impl DbArgs {
    /// The store's path and the configuration's `[pdns]` settings.
    fn resolve(&self) -> Result<(PathBuf, PdnsConfig)> {
        Ok(match (&self.db, &self.config) {
            (Some(db), _) => (db.clone(), PdnsConfig::default()),
            (None, Some(c)) => {
                let cfg = super::alert::read_config(c)?;
                (
                    cfg.pdns.store_path(&super::alert::state_dir(&cfg)),
                    cfg.pdns,
                )
            }
            (None, None) => (
                PathBuf::from("trawl-state/pdns.sqlite"),
                PdnsConfig::default(),
            ),
        })
    }
}

/// Runs `trawl pdns`.
pub fn run(a: PdnsArgs) -> Result<i32> {
    if let Some(PdnsCmd::Import(i)) = a.cmd {
        return import(i);
    }
    let Some(target) = &a.target else {
        bail!("give a name, *.domain, an address, a network or *; or `trawl pdns import PATHS`")
    };
    let target = Target::parse(target).map_err(anyhow::Error::msg)?;
    let (path, cfg) = a.store.resolve()?;
    if !path.exists() {
        bail!(
            "no passive DNS store at {}: fill it with `trawl pdns import PATHS` or `trawl run`",
            path.display()
        );
    }
    let store = Store::open(&path)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let secs = |s: &Option<String>| -> Result<Option<i64>> {
        Ok(s.as_deref()
            .map(|s| trawl_input::parse_time_bound(s, now))
            .transpose()?
            .map(|t| t.div_euclid(1_000_000_000)))
    };
    let lookup = Lookup {
        target,
        since: secs(&a.since)?,
        until: secs(&a.until)?,
        limit: a.limit,
    };
    let mut rows = store.lookup(&lookup)?;
    if a.clients {
        store.with_clients(&mut rows)?;
    }
    if let Some(id) = a.sensor_id.as_ref().or(cfg.sensor_id.as_ref()) {
        for r in &mut rows {
            r.sensor_id = Some(id.clone());
        }
    }
    let stdout = std::io::stdout();
    let format = a.format.unwrap_or(if stdout.is_terminal() {
        PdnsFormat::Table
    } else {
        PdnsFormat::Json
    });
    let mut out = Vec::new();
    match format {
        PdnsFormat::Json => {
            for r in &rows {
                serde_json::to_writer(&mut out, r)?;
                out.push(b'\n');
            }
        }
        PdnsFormat::Table => {
            let mut t = TableWriter::default();
            for r in &rows {
                t.write(&table_record(r, a.clients), &mut out);
            }
            t.finish(&mut out);
        }
    }
    let mut lock = stdout.lock();
    if let Err(e) = lock.write_all(&out).and_then(|_| lock.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    if rows.is_empty() {
        eprintln!("trawl pdns: nothing known of it in {}", path.display());
        return Ok(1);
    }
    if rows.len() == a.limit {
        eprintln!("trawl pdns: the first {} facts (--limit)", a.limit);
    }
    Ok(0)
}

/// A fact as a record for the table writer (times as `Time`, shown as UTC dates).
fn table_record(r: &Row, clients: bool) -> Record<'static> {
    let s = |v: &str| Value::Str(v.as_bytes().to_vec().into());
    let string = ZeekType::single(Scalar::String);
    let time = |secs: i64| Value::Time(secs.saturating_mul(1_000_000_000));
    let mut rec = Record::new("pdns");
    rec.push("rrname", string, s(&r.rrname));
    rec.push("rrtype", string, s(&r.rrtype));
    rec.push("rdata", string, s(&r.rdata));
    rec.push(
        "first_seen",
        ZeekType::single(Scalar::Time),
        time(r.time_first),
    );
    rec.push(
        "last_seen",
        ZeekType::single(Scalar::Time),
        time(r.time_last),
    );
    rec.push(
        "count",
        ZeekType::single(Scalar::Count),
        Value::Count(r.count),
    );
    if clients {
        rec.push("clients", string, s(&r.clients.join(",")));
    }
    rec
}

fn import(a: ImportArgs) -> Result<i32> {
    let (path, cfg) = a.store.resolve()?;
    let max_clients = a.max_clients.unwrap_or_else(|| cfg.max_clients());
    let mut store = Store::open(&path)?;
    let (sources, problems) = resolve(&a.input)?;
    for p in &problems {
        eprintln!("trawl pdns import: {p}");
    }
    let mut summary = Summary::default();
    let (mut facts, mut skipped, mut changed, mut unreadable) = (0u64, 0usize, 0usize, 0usize);
    for src in &sources {
        let fp = match src {
            Source::File(f) => match Fingerprint::of(&f.path) {
                Ok(fp) => Some(fp),
                Err(e) => {
                    // Gone or unreadable since it was found: reported, the others still read.
                    let mut report = FileReport::new(src.name());
                    report.failed = Some(format!("cannot read it: {e}"));
                    summary.add(&report);
                    unreadable += 1;
                    continue;
                }
            },
            Source::Stdin => None,
        };
        if let Some(fp) = &fp {
            match store.imported(fp)? {
                Imported::No => {}
                Imported::Same => {
                    skipped += 1;
                    continue;
                }
                Imported::Changed(_) if a.again => {}
                Imported::Changed(at) => {
                    changed += 1;
                    eprintln!(
                        "{}: changed since it was imported ({}): skipped; --again imports it \
                         again, counting its earlier records twice",
                        src.name(),
                        trawl_zeek::time::format_utc(at.saturating_mul(1_000_000_000))
                    );
                    continue;
                }
            }
        }
        let mut report = FileReport::new(src.name());
        let mut writer = store.writer()?;
        let mut batch = Batch::new(max_clients);
        for rec in src.records(&mut report) {
            facts += batch.add_record(&rec) as u64;
            if batch.len() >= FLUSH_FACTS {
                writer.add(&batch)?;
                batch = Batch::new(max_clients);
            }
        }
        writer.add(&batch)?;
        // A file that could not be read to its end is not marked: the next import reads it.
        let mark = if report.failed.is_none() {
            fp.as_ref()
        } else {
            None
        };
        writer.commit(mark)?;
        summary.add(&report);
    }
    summary.print("pdns import");
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let read = sources.len() - skipped - changed - unreadable;
    eprintln!(
        "trawl pdns import: {} answers from {read} file{} into {} ({} facts held)",
        thousands(facts),
        plural(read),
        path.display(),
        thousands(store.len()?)
    );
    if skipped > 0 {
        eprintln!(
            "trawl pdns import: {skipped} file{} already imported and unchanged: skipped",
            plural(skipped)
        );
    }
    Ok(0)
}
