//! `trawl pivot VALUE [PATHS]`: every record about one uid, file id, hash, address or name, in
//! time order, from an index kept in a cache folder.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use trawl_pivot::{pivot, render, Index, Indexed, Kind, Options, PivotValue, Scan, Searcher, Via};
use trawl_zeek::record::Field;
use trawl_zeek::types::{Scalar, ZeekType};
use trawl_zeek::write::{CsvWriter, ZeekTsvWriter};
use trawl_zeek::Value;

use crate::inputs::{self, InputArgs, Selection, Source};

/// Output formats.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PivotFormat {
    /// One line per record: time, log type, connection, key fields, and why it is there.
    Table,
    /// Zeek JSON lines with `_path`; records found by a link carry `_via`.
    Json,
    /// Zeek TSV, a header block whenever the log type changes.
    Zeek,
    /// CSV, a header row whenever the columns change.
    Csv,
}

/// Arguments of `trawl pivot`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  trawl pivot CTn2DuaYw4sKLdZuTV /nsm/zeek/logs            one connection: conn, http, files, x509 ...
  trawl pivot CTn2DuaYw4sKLdZuTV --around 5m logs/          and the DNS lookup that led to it
  trawl pivot af74211aa2e9b4aeeba42ef495e5c182 logs/        a file by hash, and the connection that brought it
  trawl pivot 203.0.113.50 --since 2025-11-20 -f json logs/ an address, as JSON lines

VALUE is recognised by its form: a connection uid (C...), a file id (F...), an MD5, SHA-1 or
SHA-256 hash, an IPv4/IPv6 address, or a DNS name. A record matches when one of its fields (or an
element of a set) is the value, not when the value is part of a longer one.

The index is built on first use and kept up to date: in $XDG_CACHE_HOME/trawl/index (or
~/.cache/trawl/index), never in the log folder. Unchanged files are reused, growing files are
indexed from where they grew, rotated or rewritten files again.")]
pub struct PivotArgs {
    /// The uid, file id, hash, address or name to follow.
    #[arg(value_name = "VALUE")]
    pub value: String,

    /// Files or folders to search (folders recursively, Zeek's `current/` and dated archive
    /// folders included; .gz and .zst transparently) [default: .].
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub select: Selection,

    /// Also the DNS lookups that resolved a connection's responder address at most this long
    /// before the connection (`5m`, `30s`, `1h`).
    #[arg(long, value_name = "DURATION")]
    pub around: Option<String>,

    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<PivotFormat>,

    /// Keep the index here instead of the cache folder.
    #[arg(long, value_name = "DIR")]
    pub index_dir: Option<PathBuf>,

    /// Read every file instead of using (and writing) an index.
    #[arg(long, conflicts_with = "index_dir")]
    pub no_index: bool,

    /// Only the records that hold the value: follow no links (uid to its files' and
    /// certificates' records, file or hash to its connection).
    #[arg(long)]
    pub no_follow: bool,

    /// Show at most the earliest N records that hold the value (links and lookups come on
    /// top); 0 shows all.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub limit: usize,

    /// Print nothing on stderr but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// The passive DNS store to ask about an address or name (what pointed at it, what it
    /// resolved to; shown in table and JSON output) [default: trawl-state/pdns.sqlite, when
    /// it exists].
    #[arg(long, value_name = "FILE")]
    pub pdns_db: Option<PathBuf>,
}

/// The passive DNS facts of an address or name, when a store is there to ask.
fn pdns_facts(args: &PivotArgs, value: &PivotValue) -> Result<Vec<trawl_pdns::Row>> {
    let target = match value.kind {
        Kind::Addr => trawl_pdns::Target::Addr(value.text.parse()?),
        Kind::Name => trawl_pdns::Target::Name(value.text.clone()),
        _ => return Ok(Vec::new()),
    };
    let path = match &args.pdns_db {
        Some(p) => p.clone(),
        None => PathBuf::from("trawl-state/pdns.sqlite"),
    };
    if !path.exists() {
        if args.pdns_db.is_some() {
            bail!("no passive DNS store at {}", path.display());
        }
        return Ok(Vec::new());
    }
    let store = trawl_pdns::Store::open(&path)?;
    let lookup = trawl_pdns::Lookup {
        target,
        since: None,
        until: None,
        limit: 100,
    };
    Ok(store.lookup(&lookup)?)
}

/// Runs `trawl pivot`.
pub fn run(args: PivotArgs) -> Result<i32> {
    let started = Instant::now();
    let value = PivotValue::parse(&args.value)?;
    let around = args.around.as_deref().map(parse_duration).transpose()?;
    let input = InputArgs {
        paths: if args.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            args.paths.clone()
        },
        select: args.select.clone(),
    };
    let (sources, unreadable) = inputs::resolve(&input)?;
    for p in &unreadable {
        eprintln!("trawl: {p}");
    }
    let files: Vec<_> = sources
        .into_iter()
        .filter_map(|s| match s {
            Source::File(f) => Some(f),
            Source::Stdin => None,
        })
        .collect();
    let threads = inputs::threads(&input);
    let (since, until) = args.select.bounds()?;
    let opts = Options {
        around,
        since,
        until,
        no_follow: args.no_follow,
        limit: (args.limit > 0).then_some(args.limit),
    };

    let searcher: Box<dyn Searcher> = if args.no_index {
        Box::new(Scan::new(files, threads))
    } else {
        let dir = match &args.index_dir {
            Some(d) => d.clone(),
            None => Index::default_dir()
                .context("no cache folder ($XDG_CACHE_HOME and $HOME unset): give --index-dir")?,
        };
        let index = Index::new(dir);
        let (indexed, refresh) = index.refresh(files, threads)?;
        for p in &refresh.problems {
            eprintln!("trawl: {p}");
        }
        if !args.quiet && refresh.built + refresh.appended > 0 {
            eprintln!(
                "trawl pivot: indexed {} files ({} appended to), {:.1} MB of logs in {:.2} s; index {} holds {:.1} MB for {:.1} MB of logs",
                refresh.built + refresh.appended,
                refresh.appended,
                refresh.bytes_read as f64 / 1e6,
                refresh.elapsed.as_secs_f64(),
                index.dir().display(),
                refresh.index_bytes as f64 / 1e6,
                refresh.data_bytes as f64 / 1e6,
            );
        }
        Box::new(Indexed::new(indexed, threads))
    };

    let story = pivot(searcher.as_ref(), &value, &opts);
    const SHOWN: usize = 20;
    for p in story.problems.iter().take(SHOWN) {
        eprintln!("trawl: {p}");
    }
    if story.problems.len() > SHOWN {
        eprintln!(
            "trawl: ... and {} more problems",
            story.problems.len() - SHOWN
        );
    }

    if story.left_out > 0 {
        eprintln!(
            "trawl pivot: showing the earliest {} records that hold {value}, not {} or more later \
             ones (parts of files past the earliest were not even read); --limit 0 shows all, \
             --since/--until narrow the time",
            args.limit, story.left_out
        );
    }
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        PivotFormat::Table
    } else {
        PivotFormat::Json
    });
    let mut out = Vec::new();
    write_story(&story, format, &mut out);
    let facts = pdns_facts(&args, &value)?;
    write_facts(&facts, format, &mut out);
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    lock.write_all(&out)?;
    lock.flush()?;

    if !args.quiet {
        let mut by_type: std::collections::BTreeMap<&str, usize> = Default::default();
        for it in &story.items {
            *by_type.entry(it.record.path.as_ref()).or_default() += 1;
        }
        let types: Vec<String> = by_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
        eprintln!(
            "trawl pivot: {} {}: {} records ({}) in {:.3} s",
            value.kind,
            value,
            story.items.len(),
            if types.is_empty() {
                "none".to_string()
            } else {
                types.join(", ")
            },
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if story.items.is_empty() && facts.is_empty() {
        1
    } else {
        0
    })
}

/// Passive DNS facts after the story: a short section of a table, or `pdns` JSON lines.
fn write_facts(facts: &[trawl_pdns::Row], format: PivotFormat, out: &mut Vec<u8>) {
    use std::io::Write as _;
    if facts.is_empty() {
        return;
    }
    match format {
        PivotFormat::Table => {
            let _ = writeln!(out, "\npassive DNS:");
            let t = |s: i64| trawl_zeek::time::format_utc(s.saturating_mul(1_000_000_000));
            for f in facts {
                let _ = writeln!(
                    out,
                    "  {} {} {}  {} .. {}  x{}",
                    f.rrname,
                    f.rrtype,
                    f.rdata,
                    t(f.time_first),
                    t(f.time_last),
                    f.count
                );
            }
        }
        // Zeek TSV and CSV hold log records only.
        PivotFormat::Zeek | PivotFormat::Csv => {}
        PivotFormat::Json => {
            for f in facts {
                // `_path` first, as in every other JSON line trawl writes.
                let row = serde_json::to_string(f).unwrap_or_default();
                out.extend_from_slice(b"{\"_path\":\"pdns\",");
                out.extend_from_slice(row.get(1..).unwrap_or("}").as_bytes());
                out.push(b'\n');
            }
        }
    }
}

fn write_story(story: &trawl_pivot::Story, format: PivotFormat, out: &mut Vec<u8>) {
    match format {
        PivotFormat::Table => {
            for it in &story.items {
                out.extend_from_slice(render::line(it).as_bytes());
                out.push(b'\n');
            }
        }
        PivotFormat::Json => {
            for it in &story.items {
                let via = render::via_text(&it.via);
                if matches!(it.via, Via::Match) {
                    it.record.write_json(out);
                } else {
                    let extra = [Field {
                        name: "_via".into(),
                        ty: ZeekType::single(Scalar::String),
                        value: Value::Str(via.trim_start_matches("<- ").as_bytes().into()),
                    }];
                    it.record.write_json_with(&extra, out);
                }
                out.push(b'\n');
            }
        }
        PivotFormat::Zeek => {
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let mut w = ZeekTsvWriter::new(trawl_zeek::time::format_open_stamp(secs));
            for it in &story.items {
                w.write(&it.record, out);
            }
            w.close(out);
        }
        PivotFormat::Csv => {
            let mut w = CsvWriter::default();
            for it in &story.items {
                w.write(&it.record, out);
            }
        }
    }
}

/// `5m`, `30s`, `1h`, `2d`, `500ms` or plain seconds, to nanoseconds.
fn parse_duration(s: &str) -> Result<i64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .with_context(|| format!("--around {s:?}: expected a duration such as 5m, 30s or 1h"))?;
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1e9,
        "ms" => 1e6,
        "m" | "min" | "mins" => 60e9,
        "h" | "hour" | "hours" => 3600e9,
        "d" | "day" | "days" => 86_400e9,
        other => bail!("--around {s:?}: unknown unit {other:?} (use ms, s, m, h or d)"),
    };
    let ns = n * scale;
    if !ns.is_finite() || !(0.0..=3.2e17).contains(&ns) {
        bail!("--around {s:?}: out of range");
    }
    Ok(ns as i64)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m").unwrap(), 300_000_000_000);
        assert_eq!(parse_duration("30s").unwrap(), 30_000_000_000);
        assert_eq!(parse_duration("90").unwrap(), 90_000_000_000);
        assert_eq!(parse_duration("1.5h").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_duration("250ms").unwrap(), 250_000_000);
        assert!(parse_duration("5 fortnights").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-5m").is_err());
    }
}
