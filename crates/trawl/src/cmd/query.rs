//! `trawl query`: the query language over log folders.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use trawl_input::{discover, Filter};
use trawl_query::ops::Options;
use trawl_query::scan::{Input, Progress, Scan, ScanSummary};
use trawl_query::{parse_query, Query};
use trawl_zeek::Record;

use super::cat::{open_stamp, OutFormat, Writer};
use crate::inputs::{Selection, SiteArgs};
use crate::report::thousands;

/// Output formats of `trawl query`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryFormat {
    /// Aligned columns (the default on a terminal).
    Table,
    /// Zeek JSON, one object a line.
    Json,
    /// Zeek TSV with header blocks (the default in a pipe).
    Zeek,
    /// CSV with a header row.
    Csv,
}

/// The options `trawl query` and `trawl hunt` share: which logs to read, the site, the
/// output format.
#[derive(Args, Debug)]
pub struct ScanArgs {
    #[command(flatten)]
    pub select: Selection,

    #[command(flatten)]
    pub site: SiteArgs,

    /// Output format [default: table on a terminal, zeek otherwise].
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<QueryFormat>,
}

impl ScanArgs {
    /// `--format`, else a table on a terminal (`tty`) and Zeek TSV in a pipe.
    pub fn format(&self, tty: bool) -> QueryFormat {
        self.format.unwrap_or(if tty {
            QueryFormat::Table
        } else {
            QueryFormat::Zeek
        })
    }
}

/// Arguments of `trawl query`.
#[derive(Args, Debug)]
#[command(after_help = HELP)]
pub struct QueryArgs {
    /// The query: log types, then stages separated by `|` (see below). With `--file`, the
    /// query is read from the file and every argument here is a path.
    #[arg(value_name = "QUERY", required_unless_present = "file")]
    pub query: Option<String>,

    /// Read the query from a file (a saved hunt; `#` starts a comment line). `-f` is
    /// `--format`, as in the other commands.
    #[arg(long, short = 'F', value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Files or folders (Zeek's `current/` and dated archive folders, .gz and .zst included);
    /// `-` reads stdin. Default: the current folder.
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub scan: ScanArgs,

    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,

    /// Print no summary on stderr (problems are still printed).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

const HELP: &str = r#"Query language:
  TYPES | stage | stage ...          TYPES: dns   conn,dns   *   (log types by file name)
  trawl query -F hunt.tq logs/       the query from a file (`#` lines are comments)

Stages:
  where EXPR                         keep records where EXPR holds
  cut f1, f2                         only these fields
  rename old as new                  rename fields
  put name = EXPR                    add a computed field
  sort f [desc], g                   sort (several keys; unset values last)
  head [N] / tail [N]                first / last N records (10)
  uniq [f1, f2]                      drop repeated records (by these fields)
  count [by KEYS]                    count records (per group)
  top [N] f1[, f2] / rare [N] f      most / least frequent values, with count
  summarize AGG, ... [by KEYS]       count() sum() avg() min() max() dcount() values()
                                     keys may be expressions: by bucket(ts, 1h), tld(query)
  timeline                           several log types merged in time order

Memory: `sort` and `timeline` hold up to 32 MB of records, then spill sorted runs to
temporary files and merge them. dcount() is exact up to 100,000 distinct values per group,
then a HyperLogLog estimate (about ±1%); values() lists at most 100 values per group, then
`...`. A note on stderr says when an answer holds an estimate or a cut list.

Expressions:
  == != < <= > >=   =~ /regex/  !~   in [..]  not in  in 10.0.0.0/8   contains
  startswith  endswith   and or not   exists f   + - * / %
  Literals: "text"  42  0.8  10.0.0.1  fe80::/10  5m 1h 250ms  2024-04-12T09:00  true false
  A comparison with a missing or unset field is false. Addresses, subnets, times, intervals
  and ports are Zeek types: `id.orig_h in 10.0.0.0/8`, `ts > 2024-04-12T09:00`, `rtt > 100ms`.
  Functions: registered_domain() tld() subdomain() lower() upper() len() entropy()
  cidr_match(net, addr) version_lt(a, b) strftime(fmt, ts) bucket(ts, 1h) ago(1h) now()
  score(name).phish score(name).dga phish_score(name) dga_score(name) str() num() coalesce()
  On dns records without phish_score/dga_score columns, those fields are scored from `query`.

Examples:
  trawl query 'dns | top 25 query' /nsm/zeek/logs
  trawl query 'dns | where qtype_name == "A" and phish_score > 0.8 | top 25 query' logs/
  trawl query 'dns | summarize n = count(), names = dcount(query) by rd = registered_domain(query) | sort n desc | head 20' logs/
  trawl query 'http | summarize count() by host, resp_mime_types | sort count desc' logs/
  trawl query 'software | where name == "OpenSSH" and version_lt(unparsed_version, "OpenSSH_8.9") | cut host, unparsed_version' logs/
  trawl query 'conn | where id.orig_h in 10.0.0.0/8 and duration > 1h | sort duration desc | head' logs/
  trawl query 'conn | summarize bytes = sum(orig_bytes) by bucket(ts, 1h)' --since 2024-04-12 logs/
  trawl query 'dns,http,files | where id.orig_h == 10.0.0.5 | timeline' --since 2h logs/

A mistake in a query is shown with a caret under it and a hint. Problems in the logs are
reported as file:line: reason on stderr, with a summary at the end."#;

/// The query text: the argument, or the `--file` (whose comment lines are left out; the
/// argument, if any, is then a path).
fn query_text(args: &mut QueryArgs) -> Result<String> {
    let Some(file) = &args.file else {
        return Ok(args.query.clone().unwrap_or_default());
    };
    if let Some(p) = args.query.take() {
        args.paths.insert(0, PathBuf::from(p));
    }
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the query from {}", file.display()))?;
    // Comment lines become blank lines, so a mistake's line and column stay the file's.
    Ok(text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with('#') {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Runs `trawl query`.
pub fn run(mut args: QueryArgs) -> Result<i32> {
    args.scan.site.apply()?;
    let text = query_text(&mut args)?;
    let query = match parse_query(&text) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("trawl: error in the query: {e}");
            return Ok(2);
        }
    };
    let threads = args
        .scan
        .select
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let (inputs, check_types) = select_inputs(&args, &query)?;
    if inputs.is_empty() {
        eprintln!(
            "trawl: no {} logs found",
            if query.types.is_empty() {
                "".to_string()
            } else {
                query.types.join(",") + " "
            }
            .trim_end()
        );
        return Ok(1);
    }
    let scan = Scan::from_inputs(inputs, threads).progress(if args.no_progress {
        Progress::Off
    } else {
        Progress::Auto
    });
    let stdout = std::io::stdout();
    let format = args.scan.format(stdout.is_terminal());
    let mut out = stdout.lock();
    let mut writer = writer(format);
    let mut buf = Vec::with_capacity(1 << 16);
    let mut rows = 0u64;
    let mut io_err: Option<std::io::Error> = None;
    let started = Instant::now();
    let options = Options::default();
    let summary =
        trawl_query::exec::run_with(&query, &scan, check_types, &options, &mut |rec: Record<
            'static,
        >| {
            rows += 1;
            writer.record(&rec, &mut buf);
            if buf.len() >= 1 << 16 {
                if let Err(e) = out.write_all(&buf) {
                    io_err = Some(e);
                    return false;
                }
                buf.clear();
            }
            true
        });
    let summary = match summary {
        Ok(s) => s,
        Err(e) => {
            // What was answered before the failure is still written.
            let _ = out.write_all(&buf).and_then(|()| out.flush());
            return Err(anyhow::anyhow!("{e}"));
        }
    };
    if let Some(e) = io_err {
        return Err(e.into());
    }
    writer.finish(&mut buf);
    out.write_all(&buf)?;
    out.flush()?;
    for n in options.notes.list() {
        eprintln!("trawl: note: {n}");
    }
    report(&summary, rows, started, args.quiet);
    Ok(
        if summary.failed_files > 0 && summary.failed_files == summary.files {
            1
        } else {
            0
        },
    )
}

/// Problems printed per file before the rest are only counted (as `trawl cat` does).
const SHOWN_PER_FILE: usize = 10;

/// Prints the scan's problems (up to [`SHOWN_PER_FILE`] a file, the rest counted), a line
/// counting them with the first one, and (unless `quiet`) a summary line on stderr.
pub fn report(s: &ScanSummary, rows: u64, started: Instant, quiet: bool) {
    let mut per_file: Vec<(&str, usize)> = Vec::new();
    for p in &s.problems {
        match per_file.last_mut() {
            Some((f, n)) if *f == p.file => *n += 1,
            _ => per_file.push((&p.file, 1)),
        }
        if per_file.last().is_some_and(|(_, n)| *n <= SHOWN_PER_FILE) {
            eprintln!("trawl: {p}");
        }
    }
    for (file, n) in &per_file {
        if *n > SHOWN_PER_FILE {
            eprintln!(
                "trawl: {file}: ... and {} more problems",
                thousands((n - SHOWN_PER_FILE) as u64)
            );
        }
    }
    let kept = s.problems.len() as u64;
    if s.problems_total > kept {
        eprintln!(
            "trawl: ... and {} more problems in other lines",
            thousands(s.problems_total - kept)
        );
    }
    if let Some(first) = s.problems.first() {
        let mut lines: Vec<(&str, u64)> = s
            .problems
            .iter()
            .filter(|p| p.line > 0)
            .map(|p| (p.file.as_str(), p.line))
            .collect();
        lines.dedup();
        eprintln!(
            "trawl: {} problem{} in {}{} line{} (first: {first})",
            thousands(s.problems_total),
            if s.problems_total == 1 { "" } else { "s" },
            if s.problems_total > kept {
                "at least "
            } else {
                ""
            },
            thousands(lines.len() as u64),
            if lines.len() == 1 { "" } else { "s" },
        );
    }
    if !quiet {
        eprintln!(
            "query: {} rows from {} records in {} files ({:.1} MB) in {:.2} s; {} problems",
            thousands(rows),
            thousands(s.records),
            thousands(s.files),
            s.bytes as f64 / 1e6,
            started.elapsed().as_secs_f64(),
            thousands(s.problems_total),
        );
    }
}

/// The files to scan: folders are walked and their files chosen by name (type, time); files
/// named directly are read when their header names the type or says nothing (JSON records with
/// `_path` are checked one by one). Returns the inputs and whether records must be
/// checked for their type.
pub fn select_inputs(args: &QueryArgs, query: &Query) -> Result<(Vec<Input>, bool)> {
    select(&args.paths, &args.scan.select, &query.types)
}

/// [`select_inputs`] for any paths, selection and log types (hunts use it too).
pub fn select(paths: &[PathBuf], sel: &Selection, types: &[String]) -> Result<(Vec<Input>, bool)> {
    let mut types: Vec<String> = types.to_vec();
    if types.is_empty() {
        if let Some(t) = &sel.types {
            types = t.clone();
        }
    }
    let (since, until) = sel.bounds()?;
    let filter = Filter {
        types: None,
        since,
        until,
    };
    let mut inputs = Vec::new();
    let mut check = false;
    let paths: Vec<PathBuf> = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let files: Vec<PathBuf> = paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .cloned()
        .collect();
    if files.len() < paths.len() {
        inputs.push(Input::Stdin);
        check = !types.is_empty();
    }
    if files.is_empty() {
        return Ok((inputs, check));
    }
    let found = discover(&files, &filter).context("finding the logs")?;
    for p in &found.problems {
        eprintln!("trawl: {p}");
    }
    for f in found.files {
        if types.is_empty() || f.log_type.as_ref().is_some_and(|t| types.contains(t)) {
            inputs.push(Input::File(f));
            continue;
        }
        // The content decides the type when the name may not: a file named on the command
        // line, or one whose name is no Zeek log type (`dnsmasq.log`, `daemon.log`).
        let named = files.contains(&f.path);
        let zeek_name = f
            .log_type
            .as_deref()
            .is_some_and(trawl_input::is_zeek_log_type);
        if !named && zeek_name {
            continue;
        }
        let sniffed = trawl_input::head_of(&f.path, 64 << 10)
            .map(|h| trawl_zeek::sniff::sniff(&h))
            .unwrap_or_default();
        let declared = &sniffed.types;
        let own_types = matches!(
            sniffed.format,
            Some(trawl_zeek::Format::ZeekJson | trawl_zeek::Format::Dnsmasq)
        );
        if declared.iter().any(|t| types.contains(t)) {
            // Records of several types (dnsmasq: dns and dhcp; JSON: `_path`) are checked
            // against the query's one by one.
            check |= own_types;
            inputs.push(Input::File(f));
        } else if !named {
            // Not asked for by name, and not of the wanted type.
        } else if sniffed.format == Some(trawl_zeek::Format::ZeekJson) && !declared.is_empty() {
            // JSON records name their own type (`_path`): one file may hold several.
            check = true;
            inputs.push(Input::File(f));
        } else if let Some(t) = declared.first() {
            eprintln!(
                "trawl: {}: skipped: its content says `{t}`, not {}",
                f.path.display(),
                types.join(",")
            );
        } else {
            // It says nothing: the user's naming it is the type, so its records carry the
            // query's type (they pass a check made for other inputs).
            let mut f = f;
            f.log_type = types.first().cloned();
            inputs.push(Input::File(f));
        }
    }
    Ok((inputs, check))
}

/// The output writer for a query's format (`trawl cat`'s writers, `#open` stamped now).
pub fn writer(format: QueryFormat) -> Writer {
    let out = match format {
        QueryFormat::Table => OutFormat::Table,
        QueryFormat::Json => OutFormat::Json,
        QueryFormat::Zeek => OutFormat::Zeek,
        QueryFormat::Csv => OutFormat::Csv,
    };
    Writer::new(out, &open_stamp())
}
