//! `trawl cut`: zeek-cut's column selection, for TSV, JSON, dnsmasq, gzip/zstd and folders.

use std::io::{Cursor, Read};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Result};
use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Local};
use clap::Args;
use trawl_zeek::cut::{CutOptions, Cutter, Headers, TimeFormat};
use trawl_zeek::dnsmasq::DnsmasqReader;
use trawl_zeek::lines::{Blocks, LongLine};
use trawl_zeek::{Item as LogItem, LineReader, LogReader};

use crate::inputs::{self, InputArgs, Selection, Source};
use crate::report::{Counts, FileReport, Summary};
use trawl_input::ordered::{run_ordered, Chunks};

/// zeek-cut's default time format.
const DEFAULT_TIMEFMT: &str = "%Y-%m-%dT%H:%M:%S%z";

/// Arguments of `trawl cut`.
#[derive(Args, Debug)]
#[command(
    after_help = "Column names are positional, as with zeek-cut; the logs to read are given \
with -r/--read (repeatable) or after `--`, and stdin is read when there are none:
  trawl cut query answers < dns.log             exactly like zeek-cut
  trawl cut -d ts id.orig_h query -r dns.log.gz  gzip and zstd are read transparently
  trawl cut -c query -r /nsm/zeek/logs -t dns    a folder, only the dns logs
  trawl cut id.orig_h query -- dns.json dns.log  Zeek JSON too, same text as TSV
  trawl cut -n uid -F , -r conn.log             every column but uid, comma-separated

Fields are copied as written (escapes are not decoded). A column missing from a log prints as an \
empty value (TSV) or `-` (JSON, where unset fields are absent). Rows with fewer fields than the last \
wanted column are skipped. Problems are reported on stderr as file:line: reason."
)]
pub struct CutArgs {
    /// Columns to print, in this order [default: all].
    #[arg(value_name = "COLUMNS")]
    pub columns: Vec<String>,

    /// A file or folder to read (repeatable; folders recursively; .gz/.zst; `-` is stdin).
    #[arg(short = 'r', long = "read", value_name = "PATH")]
    pub read: Vec<PathBuf>,

    /// More files or folders to read, after `--`.
    #[arg(last = true, value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    /// Include the first format header block in the output.
    #[arg(short = 'c', overrides_with_all = ["all_headers", "minimal", "all_minimal"])]
    pub first_header: bool,

    /// Include all format header blocks in the output.
    #[arg(short = 'C', overrides_with_all = ["first_header", "minimal", "all_minimal"])]
    pub all_headers: bool,

    /// Include only the column names of the first header block.
    #[arg(short = 'm', overrides_with_all = ["first_header", "all_headers", "all_minimal"])]
    pub minimal: bool,

    /// Include only the column names of every header block.
    #[arg(short = 'M', overrides_with_all = ["first_header", "all_headers", "minimal"])]
    pub all_minimal: bool,

    /// Print all columns except those named.
    #[arg(short = 'n')]
    pub negate: bool,

    /// Convert time values into human-readable form, in local time (format from
    /// ZEEK_CUT_TIMEFMT, default `%Y-%m-%dT%H:%M:%S%z`).
    #[arg(short = 'd', overrides_with_all = ["local_fmt", "utc", "utc_fmt"])]
    pub local: bool,

    /// Like -d, with a strftime format.
    #[arg(short = 'D', value_name = "FMT", overrides_with_all = ["local", "utc", "utc_fmt"])]
    pub local_fmt: Option<String>,

    /// Like -d, in UTC.
    #[arg(short = 'u', overrides_with_all = ["local", "local_fmt", "utc_fmt"])]
    pub utc: bool,

    /// Like -D, in UTC.
    #[arg(short = 'U', value_name = "FMT", overrides_with_all = ["local", "local_fmt", "utc"])]
    pub utc_fmt: Option<String>,

    /// Output field separator (one character) [default: the log's].
    #[arg(short = 'F', value_name = "OFS")]
    pub ofs: Option<String>,

    #[command(flatten)]
    pub select: Selection,
}

/// Time conversion: strftime items, local time or UTC.
#[derive(Clone)]
struct TimeSpec {
    utc: bool,
    items: Arc<Vec<Item<'static>>>,
}

impl TimeFormat for TimeSpec {
    fn format(&mut self, secs: i64, out: &mut Vec<u8>) -> bool {
        use std::io::Write;
        let Some(t) = DateTime::from_timestamp(secs, 0) else {
            return false;
        };
        let items = self.items.iter();
        if self.utc {
            write!(out, "{}", t.format_with_items(items)).is_ok()
        } else {
            write!(out, "{}", t.with_timezone(&Local).format_with_items(items)).is_ok()
        }
    }
}

impl CutArgs {
    fn time_spec(&self) -> Result<Option<TimeSpec>> {
        let env_fmt = || {
            std::env::var("ZEEK_CUT_TIMEFMT")
                .or_else(|_| std::env::var("BRO_CUT_TIMEFMT"))
                .unwrap_or_else(|_| DEFAULT_TIMEFMT.to_string())
        };
        let (utc, fmt) = if let Some(f) = &self.local_fmt {
            (false, f.clone())
        } else if let Some(f) = &self.utc_fmt {
            (true, f.clone())
        } else if self.local {
            (false, env_fmt())
        } else if self.utc {
            (true, env_fmt())
        } else {
            return Ok(None);
        };
        if fmt.is_empty() {
            bail!("time format string cannot be empty");
        }
        let items = StrftimeItems::new(&fmt)
            .parse_to_owned()
            .map_err(|_| anyhow::anyhow!("bad time format {fmt:?}"))?;
        Ok(Some(TimeSpec {
            utc,
            items: Arc::new(items),
        }))
    }

    fn options(&self) -> Result<CutOptions> {
        let ofs = match &self.ofs {
            Some(s) if s.chars().count() != 1 => {
                bail!("field separator must be a single character")
            }
            Some(s) => Some(s.as_bytes().to_vec()),
            None => None,
        };
        let headers = if self.all_headers || self.all_minimal {
            Headers::All
        } else if self.first_header || self.minimal {
            Headers::First
        } else {
            Headers::None
        };
        Ok(CutOptions {
            columns: self.columns.clone(),
            negate: self.negate,
            headers,
            minimal: self.minimal || self.all_minimal,
            ofs,
        })
    }

    fn input(&self) -> InputArgs {
        InputArgs {
            paths: self.read.iter().chain(&self.paths).cloned().collect(),
            select: self.select.clone(),
        }
    }
}

/// Runs `trawl cut`.
pub fn run(args: CutArgs) -> Result<i32> {
    let opts = args.options()?;
    let time = args.time_spec()?;
    let input = args.input();
    let (sources, unreadable) = inputs::resolve(&input)?;
    for p in &unreadable {
        eprintln!("trawl: {p}");
    }
    let items: Vec<(usize, Source)> = sources.into_iter().enumerate().collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let reports = run_ordered(
        &items,
        inputs::threads(&input),
        &mut out,
        |(i, src), chunks| cut_one(*i == 0, src, &opts, time.as_ref(), chunks),
    )?;
    let mut summary = Summary::default();
    for r in &reports {
        summary.add(r);
    }
    summary.problems += unreadable.len() as u64;
    if summary.problems > 0 {
        summary.print("cut");
    }
    Ok(if !items.is_empty() && summary.failed == items.len() {
        1
    } else {
        0
    })
}

/// Plain files at least this large are cut on several threads (see [`cut_parallel`]).
const PARALLEL_MIN: u64 = 8 << 20;

/// A large uncompressed file, to be read directly and cut in parallel; also stdin when it is
/// a redirected regular file (`trawl cut query < dns.log`), from where it stands.
fn big_plain_file(src: &Source) -> Option<std::fs::File> {
    use std::io::{Seek, SeekFrom};
    let mut file = match src {
        Source::File(f) => std::fs::File::open(&f.path).ok()?,
        Source::Stdin => {
            use std::os::fd::AsFd;
            std::fs::File::from(std::io::stdin().as_fd().try_clone_to_owned().ok()?)
        }
    };
    // Only regular files: a pipe cannot be read ahead and put back.
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let at = file.stream_position().ok()?;
    if meta.len().saturating_sub(at) < PARALLEL_MIN {
        return None;
    }
    // The name may lie: only plain text goes this way (compression is told by magic bytes).
    let mut magic = [0u8; 16];
    let n = file.read(&mut magic).ok()?;
    file.seek(SeekFrom::Start(at)).ok()?;
    let plain = trawl_input::compression_of(&magic[..n]) == Ok(trawl_input::Compression::None);
    plain.then_some(file)
}

/// Bytes read ahead to tell dnsmasq input from Zeek logs.
const SNIFF: usize = 64 * 1024;

fn cut_one(
    first: bool,
    src: &Source,
    opts: &CutOptions,
    time: Option<&TimeSpec>,
    chunks: &mut Chunks,
) -> FileReport {
    let mut report = FileReport::new(src.name());
    let path = src.log_type().unwrap_or("unknown").to_string();
    let tf = time.map(|t| Box::new(t.clone()) as Box<dyn TimeFormat>);
    let mut cutter = Cutter::new(opts.clone(), first, &path, tf);
    if let Some(file) = big_plain_file(src) {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        if let Err(e) = cut_parallel(file, src, &path, threads, &mut cutter, &mut report, chunks) {
            report.failed = Some(format!("{e:#}"));
        }
        return finish_one(cutter, report, path, chunks);
    }
    let result = src.open().and_then(|mut input| {
        let head = sniff(&mut input)?;
        let dnsmasq = first_line(&head).is_some_and(DnsmasqReader::looks_like);
        let input = Cursor::new(head).chain(input);
        if dnsmasq {
            cut_records(input, src, &path, &mut cutter, &mut report, chunks)
        } else {
            cut_lines(input, &mut cutter, &mut report, chunks)
        }
    });
    if let Err(e) = result {
        report.failed = Some(format!("{e:#}"));
    }
    finish_one(cutter, report, path, chunks)
}

fn finish_one(
    mut cutter: Cutter,
    mut report: FileReport,
    path: String,
    chunks: &mut Chunks,
) -> FileReport {
    cutter.finish(&mut chunks.buf);
    for p in cutter.take_problems() {
        report.problem(&p);
    }
    report.counts.insert(
        path,
        Counts {
            records: cutter.rows(),
            errors: 0,
        },
    );
    report
}

/// Size of the blocks of whole lines handed to the cutting threads.
const BLOCK: usize = 2 << 20;

/// One block cut by a forked cutter on a worker thread.
struct Part {
    seq: u64,
    out: Vec<u8>,
    cutter: Cutter,
    lines: u64,
}

/// Cuts a large plain file on `threads` threads. Blocks holding only data rows go to workers
/// with a copy of the current column plan; a block with header lines (a new log type, a JSON
/// line) waits for the blocks before it and is cut here, so the plan changes in order. Output
/// and line numbers keep file order; memory stays at a few blocks in flight.
fn cut_parallel(
    file: std::fs::File,
    src: &Source,
    path: &str,
    threads: usize,
    cutter: &mut Cutter,
    report: &mut FileReport,
    chunks: &mut Chunks,
) -> Result<()> {
    let mut blocks = Blocks::new(file, BLOCK);
    let (mut block, mut skipped) = (Vec::new(), Vec::new());
    if !blocks.next(&mut block, &mut skipped) {
        skip_lines(&mut skipped, cutter, report);
        return blocks.take_error().map_or(Ok(()), |e| Err(e.into()));
    }
    if skipped.is_empty() && first_line(&block).is_some_and(DnsmasqReader::looks_like) {
        let (carry, file) = blocks.into_rest();
        let rest = Cursor::new(std::mem::take(&mut block))
            .chain(Cursor::new(carry))
            .chain(file);
        return cut_records(rest, src, path, cutter, report, chunks);
    }
    let workers = threads.clamp(1, 4);
    let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<(u64, Vec<u8>, Cutter, u64)>(workers);
    let job_rx = std::sync::Mutex::new(job_rx);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<Part>();
    std::thread::scope(|s| -> Result<()> {
        for _ in 0..workers {
            let (job_rx, done_tx) = (&job_rx, done_tx.clone());
            s.spawn(move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((seq, data, mut c, lines)) = job else {
                    return;
                };
                let mut out = Vec::with_capacity(data.len() / 2);
                c.feed_block(&data, &mut out);
                if done_tx
                    .send(Part {
                        seq,
                        out,
                        cutter: c,
                        lines,
                    })
                    .is_err()
                {
                    return;
                }
            });
        }
        drop(done_tx);
        let (mut sent, mut emitted) = (0u64, 0u64);
        let mut ready = std::collections::BTreeMap::new();
        let mut alive = true;
        // Writes finished parts in order; with `all`, waits until every part sent is written.
        let mut emit = |all: bool,
                        sent: u64,
                        emitted: &mut u64,
                        cutter: &mut Cutter,
                        report: &mut FileReport,
                        chunks: &mut Chunks|
         -> bool {
            let mut ok = true;
            loop {
                while let Some(p) = ready.remove(emitted) {
                    let p: Part = p;
                    chunks.buf.extend_from_slice(&p.out);
                    cutter.join(p.cutter, p.lines);
                    for pr in cutter.take_problems() {
                        report.problem(&pr);
                    }
                    *emitted += 1;
                    ok &= chunks.maybe_flush();
                }
                let behind = sent - *emitted;
                if behind == 0 || (!all && behind < 2 * workers as u64) {
                    return ok;
                }
                match done_rx.recv() {
                    Ok(p) => {
                        ready.insert(p.seq, p);
                    }
                    Err(_) => return false,
                }
            }
        };
        loop {
            if !skipped.is_empty() {
                // The skipped lines come before this block: number them after what was sent.
                alive &= emit(true, sent, &mut emitted, cutter, report, chunks);
                skip_lines(&mut skipped, cutter, report);
            }
            let lines = memchr::memchr_iter(b'\n', &block).count() as u64
                + u64::from(!block.ends_with(b"\n"));
            let fork = if Cutter::is_data_block(&block) {
                cutter.fork()
            } else if Cutter::is_json_block(&block) {
                cutter.fork_json()
            } else {
                None
            };
            match fork {
                Some(fork) => {
                    let data = std::mem::take(&mut block);
                    if job_tx.send((sent, data, fork, lines)).is_err() {
                        break;
                    }
                    sent += 1;
                    alive &= emit(false, sent, &mut emitted, cutter, report, chunks);
                }
                None => {
                    alive &= emit(true, sent, &mut emitted, cutter, report, chunks);
                    cutter.feed_block(&block, &mut chunks.buf);
                    for pr in cutter.take_problems() {
                        report.problem(&pr);
                    }
                    alive &= chunks.maybe_flush();
                }
            }
            if !alive || !blocks.next(&mut block, &mut skipped) {
                break;
            }
        }
        drop(job_tx);
        emit(true, sent, &mut emitted, cutter, report, chunks);
        skip_lines(&mut skipped, cutter, report);
        blocks.take_error().map_or(Ok(()), |e| Err(e.into()))
    })
}

/// The hot path: blocks of whole lines straight into the cutter.
fn cut_lines(
    input: impl Read,
    cutter: &mut Cutter,
    report: &mut FileReport,
    chunks: &mut Chunks,
) -> Result<()> {
    let mut lines = LineReader::new(input);
    let mut skipped = Vec::new();
    loop {
        let block = lines.next_block(&mut skipped)?;
        skip_lines(&mut skipped, cutter, report);
        let Some(block) = block else { break };
        cutter.feed_block(block, &mut chunks.buf);
        for p in cutter.take_problems() {
            report.problem(&p);
        }
        if !chunks.maybe_flush() {
            break;
        }
    }
    Ok(())
}

/// Counts and reports lines skipped for their length, in order.
fn skip_lines(skipped: &mut Vec<LongLine>, cutter: &mut Cutter, report: &mut FileReport) {
    for l in skipped.drain(..) {
        cutter.skip_line(&l);
    }
    for p in cutter.take_problems() {
        report.problem(&p);
    }
}

/// dnsmasq (and anything else only the general reader knows) goes through records.
fn cut_records(
    input: impl Read,
    src: &Source,
    path: &str,
    cutter: &mut Cutter,
    report: &mut FileReport,
    chunks: &mut Chunks,
) -> Result<()> {
    let mut reader = LogReader::new(input)
        .default_path(path)
        .reference_time(src.reference_time());
    for item in reader.records() {
        let problems = match item? {
            LogItem::Record {
                record, problems, ..
            } => {
                cutter.write_record(&record, &mut chunks.buf);
                problems
            }
            LogItem::Bad {
                line,
                raw,
                reason,
                problems,
            } => {
                report.bad_line(line, &raw, &reason);
                problems
            }
        };
        for p in &problems {
            report.problem(p);
        }
        if !chunks.maybe_flush() {
            break;
        }
    }
    Ok(())
}

/// Reads up to [`SNIFF`] bytes, or the first line if shorter.
fn sniff(input: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut head = vec![0; SNIFF];
    let mut n = 0;
    while n < head.len() {
        match input.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => {
                n += k;
                if head[..n].contains(&b'\n') {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(n);
    Ok(head)
}

/// The first line that is not blank, unless it starts a Zeek log (`#` or `{`).
fn first_line(head: &[u8]) -> Option<&[u8]> {
    let line = head
        .split(|&b| b == b'\n')
        .find(|l| l.iter().any(|b| !b.is_ascii_whitespace()))?;
    match line.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'#' | b'{') => None,
        _ => Some(line),
    }
}
