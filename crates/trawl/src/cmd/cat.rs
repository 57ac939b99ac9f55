//! `trawl cat`: read anything, write it out in one format.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use trawl_zeek::write::{CsvWriter, ZeekTsvWriter};
use trawl_zeek::{Event, LogReader, Problem, Record};

use crate::inputs::{self, InputArgs, Source};
use crate::report::{FileReport, Summary};
use crate::table::TableWriter;
use trawl_input::ordered::{run_ordered, Chunks};

/// Output formats.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutFormat {
    /// Zeek TSV; TSV input passes through byte for byte.
    Zeek,
    /// Zeek JSON: one object a line, dotted keys, `_path` added, unset fields left out.
    Json,
    /// CSV with a header row whenever the columns change.
    Csv,
    /// Aligned columns for reading at a terminal.
    Table,
}

/// Arguments of `trawl cat`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  trawl cat samples/zeek                      read a folder, a table on a terminal
  trawl cat -f json conn.log.gz dns.log       Zeek JSON out
  zcat dns.log.gz | trawl cat -f csv          stdin works too
  trawl cat --type dns --since 2024-04-12T09:00 /nsm/zeek/logs

A summary per log type (records, errors) goes to stderr at the end; each problem is reported as
file:line: reason, and the record is kept with its raw value.")]
pub struct CatArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format [default: table on a terminal, zeek otherwise].
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<OutFormat>,

    /// Exit with status 2 if any problem was reported.
    #[arg(long)]
    pub strict: bool,

    /// Keep lines that could not be read at all in this file (a Zeek TSV log of file, line,
    /// reason and the raw line).
    #[arg(long, value_name = "FILE")]
    pub quarantine: Option<PathBuf>,

    /// Print no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Runs `trawl cat`.
pub fn run(args: CatArgs) -> Result<i32> {
    let (sources, unreadable) = inputs::resolve(&args.input)?;
    for p in &unreadable {
        eprintln!("trawl: {p}");
    }
    let stdout = std::io::stdout();
    let format = args.format.unwrap_or(if stdout.is_terminal() {
        OutFormat::Table
    } else {
        OutFormat::Zeek
    });
    let quarantine = args
        .quarantine
        .as_ref()
        .map(Quarantine::create)
        .transpose()?;
    let stamp = open_stamp();
    let mut out = stdout.lock();
    let reports = run_ordered(
        &sources,
        inputs::threads(&args.input),
        &mut out,
        |src, chunks| cat_one(src, format, &stamp, quarantine.as_ref(), chunks),
    )?;
    if let Some(q) = quarantine {
        q.finish()?;
    }
    let mut summary = Summary::default();
    for r in &reports {
        summary.add(r);
    }
    summary.problems += unreadable.len() as u64;
    if !args.quiet {
        summary.print("cat");
    }
    Ok(if args.strict && summary.problems > 0 {
        2
    } else if !sources.is_empty() && summary.failed == sources.len() {
        1
    } else {
        0
    })
}

/// Output state for the chosen format (per file in `trawl cat`; `trawl query` and
/// `trawl hunt` use one for their whole output).
pub enum Writer {
    Zeek(ZeekTsvWriter),
    Json,
    Csv(CsvWriter),
    Table(TableWriter),
}

impl Writer {
    /// A writer for `format`; `stamp` is the `#open` time of Zeek TSV headers.
    pub fn new(format: OutFormat, stamp: &str) -> Self {
        match format {
            OutFormat::Zeek => Writer::Zeek(ZeekTsvWriter::new(stamp)),
            OutFormat::Json => Writer::Json,
            OutFormat::Csv => Writer::Csv(CsvWriter::default()),
            OutFormat::Table => Writer::Table(TableWriter::default()),
        }
    }

    /// Appends a record.
    pub fn record(&mut self, rec: &Record, out: &mut Vec<u8>) {
        match self {
            Writer::Zeek(w) => w.write(rec, out),
            Writer::Json => {
                rec.write_json(out);
                out.push(b'\n');
            }
            Writer::Csv(w) => w.write(rec, out),
            Writer::Table(w) => w.write(rec, out),
        }
    }

    /// Ends the output.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        match self {
            Writer::Zeek(w) => w.close(out),
            Writer::Table(w) => w.finish(out),
            Writer::Json | Writer::Csv(_) => {}
        }
    }
}

fn cat_one(
    src: &Source,
    format: OutFormat,
    stamp: &str,
    quarantine: Option<&Quarantine>,
    chunks: &mut Chunks,
) -> FileReport {
    let mut report = FileReport::new(src.name());
    let input = match src.open() {
        Ok(i) => i,
        Err(e) => {
            report.failed = Some(format!("{e:#}"));
            return report;
        }
    };
    let mut reader = LogReader::new(input)
        .default_path(src.log_type().unwrap_or("unknown"))
        .reference_time(src.reference_time());
    let mut writer = Writer::new(format, stamp);
    let mut problems: Vec<Problem> = Vec::new();
    // Zeek TSV passes through verbatim; the synthesized header must restart after it.
    let mut passthrough = false;
    loop {
        let in_tsv = reader.tsv().generation() > 0;
        let event = match reader.next_event() {
            Ok(Some(ev)) => ev,
            Ok(None) => break,
            Err(e) => {
                report.failed = Some(e.to_string());
                break;
            }
        };
        let buf = &mut chunks.buf;
        let mut counted: Option<String> = None;
        match event {
            Event::Meta { line, .. } => {
                if let Writer::Zeek(w) = &mut writer {
                    if !passthrough {
                        w.close(buf);
                        w.reset();
                        passthrough = true;
                    }
                    buf.extend_from_slice(line.raw);
                }
            }
            Event::Row(row) => {
                let path = row.header.path.as_deref().unwrap_or("unknown");
                if let Writer::Zeek(_) = writer {
                    buf.extend_from_slice(row.line.raw);
                    row.check(&mut problems);
                } else {
                    let rec = row.to_record(&mut problems);
                    writer.record(&rec, buf);
                }
                counted = Some(path.to_string());
            }
            Event::Record { record, .. } => {
                passthrough = false;
                writer.record(&record, buf);
                counted = Some(record.path.to_string());
            }
            Event::Info { line, format: None } => {
                // Blank or comment lines of a TSV stream are part of a byte-identical copy.
                if format == OutFormat::Zeek && (in_tsv || line.text.first() == Some(&b'#')) {
                    buf.extend_from_slice(line.raw);
                }
            }
            Event::Info { .. } => {}
            Event::Bad { line, raw, reason } => {
                report.bad_line(line, &raw, &reason);
                if in_tsv && format == OutFormat::Zeek {
                    buf.extend_from_slice(&raw);
                }
                if let Some(q) = quarantine {
                    q.keep(&report.name, line, &reason, &raw);
                }
            }
        }
        problems.extend(reader.take_problems());
        if let Some(path) = counted {
            report.record(&path, problems.len() as u64);
        }
        for p in problems.drain(..) {
            report.problem(&p);
        }
        if !chunks.maybe_flush() {
            break;
        }
    }
    writer.finish(&mut chunks.buf);
    report
}

/// Zeek's `#open` stamp for now, `%Y-%m-%d-%H-%M-%S` in UTC.
/// Zeek's `#open` stamp for now.
pub fn open_stamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    trawl_zeek::time::format_open_stamp(now)
}

/// Lines that could not be read, kept as a Zeek TSV log.
struct Quarantine {
    out: Mutex<BufWriter<File>>,
}

impl Quarantine {
    fn create(path: &PathBuf) -> Result<Self> {
        let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut w = BufWriter::new(f);
        w.write_all(
            format!(
                "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\ttrawl_quarantine\n#open\t{}\n#fields\tfile\tline\treason\traw\n#types\tstring\tcount\tstring\tstring\n",
                open_stamp()
            )
            .as_bytes(),
        )?;
        Ok(Quarantine { out: Mutex::new(w) })
    }

    fn keep(&self, file: &str, line: u64, reason: &str, raw: &[u8]) {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let mut rec = Vec::new();
        for (i, v) in [file.as_bytes(), reason.as_bytes(), raw].iter().enumerate() {
            if i == 1 {
                rec.extend_from_slice(format!("\t{line}\t").as_bytes());
            } else if i == 2 {
                rec.push(b'\t');
            }
            trawl_zeek::escape::escape_into(&mut rec, v, &[b"\t"]);
        }
        rec.push(b'\n');
        if let Ok(mut w) = self.out.lock() {
            let _ = w.write_all(&rec);
        }
    }

    fn finish(self) -> Result<()> {
        let mut w = self
            .out
            .into_inner()
            .map_err(|_| anyhow::anyhow!("quarantine lock"))?;
        w.write_all(format!("#close\t{}\n", open_stamp()).as_bytes())?;
        w.flush()?;
        Ok(())
    }
}
