//! Finding the records that hold some values: through the index (read only the blocks the
//! postings name) or, without one, by scanning every file.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use memchr::memmem;
use rayon::prelude::*;
use trawl_input::LogFile;
use trawl_zeek::{Event, LogReader, Record};

use crate::build::{line_ts, ts_first, HeaderTracker};
use crate::index::IndexedFile;
use crate::kind::{for_each_token, PivotValue};

/// A record that holds at least one of the values looked for.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The file it is in.
    pub file: Arc<PathBuf>,
    /// Its log type by file name.
    pub log_type: Option<String>,
    /// Its line number in the (uncompressed) file.
    pub line: u64,
    /// The record.
    pub record: Record<'static>,
    /// Which of the values looked for it holds (indices).
    pub matched: Vec<u32>,
}

/// Hits and what went wrong on the way.
#[derive(Debug, Default)]
pub struct Found {
    /// The records, in no particular order.
    pub hits: Vec<Hit>,
    /// `file:line: reason` for lines that could not be read, files that failed.
    pub problems: Vec<String>,
}

impl Found {
    fn merge(mut self, other: Found) -> Found {
        self.hits.extend(other.hits);
        self.problems.extend(other.problems);
        self
    }
}

/// Something that finds the records holding any of some values.
pub trait Searcher: Sync {
    /// The records of the files `want` accepts that hold any of `values`. With `window`
    /// (`[lo, hi]`, nanoseconds), parts of files known to hold only records outside it may be
    /// skipped: the caller still filters the records by time.
    fn find(
        &self,
        values: &[PivotValue],
        want: &(dyn Fn(&LogFile) -> bool + Sync),
        window: Option<(i64, i64)>,
        limit: Option<&Limit>,
    ) -> Found;
}

/// Keeps the earliest `max` records of a search without parsing (or holding) the rest: a busy
/// server's address can be on millions of lines. Shared by the threads of one search.
#[derive(Debug)]
pub struct Limit {
    max: usize,
    heap: Mutex<BinaryHeap<i64>>,
    /// The latest time still admitted (`i64::MAX` until `max` records were seen).
    cutoff: AtomicI64,
    dropped: AtomicU64,
}

impl Limit {
    /// At most `max` records (at least one).
    pub fn new(max: usize) -> Limit {
        Limit {
            max: max.max(1),
            heap: Mutex::new(BinaryHeap::new()),
            cutoff: AtomicI64::new(i64::MAX),
            dropped: AtomicU64::new(0),
        }
    }

    /// The most records kept.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Matching lines left out unread because `max` earlier ones were found.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn cutoff(&self) -> i64 {
        self.cutoff.load(Ordering::Relaxed)
    }

    /// Whether a record at `t` may be among the earliest; counts it either way.
    fn admit(&self, t: i64) -> bool {
        if t > self.cutoff() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let Ok(mut heap) = self.heap.lock() else {
            return true;
        };
        heap.push(t);
        if heap.len() > self.max {
            heap.pop();
        }
        if heap.len() == self.max {
            if let Some(&top) = heap.peek() {
                self.cutoff.store(top, Ordering::Relaxed);
            }
        }
        true
    }
}

/// A pool of `threads` workers, or of one if the system refuses more.
fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .unwrap_or_else(|_| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .expect("a one-thread pool")
        })
}

/// Searches through the index.
pub struct Indexed {
    files: Vec<IndexedFile>,
    pool: rayon::ThreadPool,
}

impl Indexed {
    /// Searches `files` (with up-to-date segments), `threads` at a time.
    pub fn new(files: Vec<IndexedFile>, threads: usize) -> Indexed {
        let pool = pool(threads);
        Indexed { files, pool }
    }
}

impl Searcher for Indexed {
    fn find(
        &self,
        values: &[PivotValue],
        want: &(dyn Fn(&LogFile) -> bool + Sync),
        window: Option<(i64, i64)>,
        limit: Option<&Limit>,
    ) -> Found {
        if values.is_empty() {
            return Found::default();
        }
        let keys: Vec<u64> = values.iter().map(PivotValue::key).collect();
        self.pool.install(|| {
            self.files
                .par_iter()
                .filter(|ix| want(&ix.file))
                .map(|ix| fetch(ix, values, &keys, window, limit))
                .reduce(Found::default, Found::merge)
        })
    }
}

fn fetch(
    ix: &IndexedFile,
    values: &[PivotValue],
    keys: &[u64],
    window: Option<(i64, i64)>,
    limit: Option<&Limit>,
) -> Found {
    let mut found = Found::default();
    let name = ix.file.path.display().to_string();
    let mut blocks = BTreeSet::new();
    for &k in keys {
        match ix.segment.lookup(k) {
            Ok(b) => blocks.extend(b.into_iter().filter(|&i| {
                let (lo, hi) = window.unwrap_or((i64::MIN, i64::MAX));
                let hi = hi.min(limit.map_or(i64::MAX, Limit::cutoff));
                ix.segment
                    .meta
                    .blocks
                    .get(i as usize)
                    .is_some_and(|b| b.overlaps(lo, hi))
            })),
            Err(e) => {
                found.problems.push(format!("{name}: index: {e}"));
                return found;
            }
        }
    }
    if blocks.is_empty() {
        return found;
    }
    let meta = &ix.segment.meta;
    let ctx = FileCtx::new(&ix.file);
    let mut on_block = |i: u32, bytes: &[u8]| {
        let Some(b) = meta.blocks.get(i as usize) else {
            return;
        };
        if limit.is_some_and(|l| b.ts.0 > l.cutoff()) {
            return;
        }
        let header = b
            .header
            .and_then(|h| meta.headers.get(h as usize))
            .map_or(&[][..], Vec::as_slice);
        ctx.lines(header, bytes, b.first_line, values, limit, &mut found);
    };
    let result = if meta.compressed {
        read_stream_blocks(ix, &blocks, &mut on_block)
    } else {
        read_plain_blocks(ix, &blocks, &mut on_block)
    };
    if let Err(e) = result {
        found.problems.push(format!("{name}: {e}"));
    }
    found
}

fn read_plain_blocks(
    ix: &IndexedFile,
    blocks: &BTreeSet<u32>,
    on_block: &mut dyn FnMut(u32, &[u8]),
) -> io::Result<()> {
    let mut f = std::fs::File::open(&ix.segment.meta.path)?;
    let mut buf = Vec::new();
    for &i in blocks {
        let Some((start, end)) = ix.segment.meta.block_range(i as usize) else {
            continue;
        };
        f.seek(SeekFrom::Start(start))?;
        buf.clear();
        // A file cut shorter since it was indexed gives what is left.
        (&mut f).take(end - start).read_to_end(&mut buf)?;
        on_block(i, &buf);
    }
    Ok(())
}

/// Decompresses from the start up to the end of the last wanted block; compressed streams
/// cannot be entered in the middle.
fn read_stream_blocks(
    ix: &IndexedFile,
    blocks: &BTreeSet<u32>,
    on_block: &mut dyn FnMut(u32, &[u8]),
) -> io::Result<()> {
    let mut r = trawl_input::open_sync(&ix.segment.meta.path).map_err(io::Error::other)?;
    let mut pos = 0u64;
    let mut scratch = vec![0u8; 256 << 10];
    let mut buf = Vec::new();
    for &i in blocks {
        let Some((start, end)) = ix.segment.meta.block_range(i as usize) else {
            continue;
        };
        while pos < start {
            let want = ((start - pos) as usize).min(scratch.len());
            let n = r.read(&mut scratch[..want])?;
            if n == 0 {
                return Ok(());
            }
            pos += n as u64;
        }
        buf.clear();
        (&mut r).take(end - start).read_to_end(&mut buf)?;
        pos += buf.len() as u64;
        on_block(i, &buf);
    }
    Ok(())
}

/// What parsing lines of one file needs.
struct FileCtx {
    file: Arc<PathBuf>,
    log_type: Option<String>,
    reference: i64,
}

impl FileCtx {
    fn new(file: &LogFile) -> FileCtx {
        let reference = std::fs::metadata(&file.path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64);
        FileCtx {
            file: Arc::new(file.path.clone()),
            log_type: file.log_type.clone(),
            reference,
        }
    }

    /// Finds the lines of `bytes` (whole lines, the first numbered `first_line`) holding any of
    /// `values`, and parses them with `header` (the TSV header in effect before them).
    fn lines(
        &self,
        header: &[u8],
        bytes: &[u8],
        first_line: u64,
        values: &[PivotValue],
        limit: Option<&Limit>,
        found: &mut Found,
    ) {
        let mut matched: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
        // The first block of a file holds its own header.
        let mut headers = HeaderTracker::resume(None, Some(header));
        let mut tsv_ts = limit.is_some() && ts_first(header);
        for (j, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
            if line.first() == Some(&b'#') {
                if limit.is_some() {
                    headers.meta_line(line);
                }
                continue;
            }
            if limit.is_some() && headers.data_line() {
                tsv_ts = ts_first(headers.text());
            }
            let m = matching(line, values);
            if m.is_empty() {
                continue;
            }
            if let Some(l) = limit {
                if !l.admit(line_ts(line, tsv_ts).unwrap_or(i64::MIN)) {
                    continue;
                }
            }
            matched.insert(j as u64, m);
        }
        if !matched.is_empty() {
            self.parse(header, bytes, first_line, matched, found);
        }
    }

    /// Parses `bytes` after `header`, keeping the records of the `matched` lines (numbered from
    /// 0 within `bytes`).
    fn parse(
        &self,
        header: &[u8],
        bytes: &[u8],
        first_line: u64,
        mut matched: BTreeMap<u64, Vec<u32>>,
        found: &mut Found,
    ) {
        let head_lines = memchr::memchr_iter(b'\n', header).count() as u64;
        let mut input = Vec::with_capacity(header.len() + bytes.len() + 1);
        input.extend_from_slice(header);
        input.extend_from_slice(bytes);
        let mut reader = LogReader::new(Cursor::new(input))
            .default_path(self.log_type.as_deref().unwrap_or("unknown"))
            .reference_time(self.reference);
        let name = self.file.display();
        // Buffer line `n` (1-based) is line `n - head_lines - 1` of `bytes`.
        let local = |n: u64| n.checked_sub(head_lines + 1);
        loop {
            let ev = match reader.next_event() {
                Ok(Some(ev)) => ev,
                Ok(None) => break,
                Err(e) => {
                    found.problems.push(format!("{name}: {e}"));
                    break;
                }
            };
            let mut problems = Vec::new();
            let (j, record) = match ev {
                Event::Row(row) => {
                    let Some(j) = local(row.line.no) else {
                        continue;
                    };
                    if !matched.contains_key(&j) {
                        continue;
                    }
                    (j, row.to_record(&mut problems).into_owned())
                }
                Event::Record { line, record, .. } => {
                    let Some(j) = local(line) else { continue };
                    if !matched.contains_key(&j) {
                        continue;
                    }
                    (j, record.into_owned())
                }
                Event::Bad { line, reason, .. } => {
                    if let Some(j) = local(line) {
                        if matched.remove(&j).is_some() {
                            found
                                .problems
                                .push(format!("{name}:{}: {reason}", first_line + j));
                        }
                    }
                    continue;
                }
                _ => continue,
            };
            problems.extend(reader.take_problems());
            for p in problems {
                found
                    .problems
                    .push(format!("{name}:{}: {}", first_line + j, p.reason));
            }
            if let Some(m) = matched.remove(&j) {
                found.hits.push(Hit {
                    file: self.file.clone(),
                    log_type: self.log_type.clone(),
                    line: first_line + j,
                    record,
                    matched: m,
                });
            }
        }
    }
}

/// Indices of the values among the tokens of `line`.
fn matching(line: &[u8], values: &[PivotValue]) -> Vec<u32> {
    let mut m = Vec::new();
    for_each_token(line, |tok| {
        for (i, v) in values.iter().enumerate() {
            if v.is(&tok) && !m.contains(&(i as u32)) {
                m.push(i as u32);
            }
        }
    });
    m
}

/// Searches by reading every file: no index, no cache folder.
///
/// Lines are first picked by a substring search for each value's normalized text (so a name
/// written in capitals in the log, or an IPv6 address not in canonical form, is missed here
/// while the index finds it), then checked token by token like the index does.
pub struct Scan {
    files: Vec<LogFile>,
    pool: rayon::ThreadPool,
}

impl Scan {
    /// Scans `files`, `threads` at a time.
    pub fn new(files: Vec<LogFile>, threads: usize) -> Scan {
        let pool = pool(threads);
        Scan { files, pool }
    }
}

impl Searcher for Scan {
    fn find(
        &self,
        values: &[PivotValue],
        want: &(dyn Fn(&LogFile) -> bool + Sync),
        _window: Option<(i64, i64)>,
        limit: Option<&Limit>,
    ) -> Found {
        if values.is_empty() {
            return Found::default();
        }
        let finders: Vec<memmem::Finder<'_>> = values
            .iter()
            .map(|v| memmem::Finder::new(v.text.as_bytes()))
            .collect();
        self.pool.install(|| {
            self.files
                .par_iter()
                .filter(|f| want(f))
                .map(|f| scan_file(f, values, &finders, limit))
                .reduce(Found::default, Found::merge)
        })
    }
}

fn scan_file(
    file: &LogFile,
    values: &[PivotValue],
    finders: &[memmem::Finder<'_>],
    limit: Option<&Limit>,
) -> Found {
    let mut found = Found::default();
    let ctx = FileCtx::new(file);
    let mut r = match trawl_input::open(&file.path) {
        Ok(r) => r,
        Err(e) => {
            found.problems.push(e.to_string());
            return found;
        }
    };
    let mut headers = HeaderTracker::default();
    let mut buf = vec![0u8; 1 << 20];
    let mut filled = 0usize;
    let mut line_no = 0u64;
    let mut eof = false;
    while !eof {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match r.read(&mut buf[filled..]) {
            Ok(0) => eof = true,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                found.problems.push(e.to_string());
                eof = true;
            }
        }
        let done = if eof {
            filled
        } else {
            match memchr::memrchr(b'\n', &buf[..filled]) {
                Some(i) => i + 1,
                None => continue,
            }
        };
        let chunk = &buf[..done];
        scan_chunk(
            chunk,
            &mut line_no,
            &mut headers,
            &ctx,
            (values, finders, limit),
            &mut found,
        );
        buf.copy_within(done..filled, 0);
        filled -= done;
    }
    found
}

/// Visits the `#` lines of `chunk` (for the TSV header) and the lines where a value's text
/// occurs, in order, without looking at the others.
fn scan_chunk(
    chunk: &[u8],
    line_no: &mut u64,
    headers: &mut HeaderTracker,
    ctx: &FileCtx,
    (values, finders, limit): (&[PivotValue], &[memmem::Finder<'_>], Option<&Limit>),
    found: &mut Found,
) {
    // (line start, is a header line)
    let mut starts: Vec<(usize, bool)> = Vec::new();
    // A header-less TSV log's first line (field names) is its header.
    let names = *line_no == 0 && {
        let end = memchr::memchr(b'\n', chunk).map_or(chunk.len(), |i| i + 1);
        trawl_zeek::tsv::is_names_line(&chunk[..end])
    };
    if chunk.first() == Some(&b'#') || names {
        starts.push((0, true));
    }
    starts.extend(memmem::find_iter(chunk, b"\n#").map(|p| (p + 1, true)));
    for f in finders {
        for m in f.find_iter(chunk) {
            let s = memchr::memrchr(b'\n', &chunk[..m]).map_or(0, |i| i + 1);
            starts.push((s, false));
        }
    }
    starts.sort_unstable();
    starts.dedup_by_key(|s| s.0);
    let mut counted = 0usize; // `line_no` is the number of the line before `counted`
    let mut last_meta_end = usize::MAX;
    for (s, meta) in starts {
        *line_no += memchr::memchr_iter(b'\n', &chunk[counted..s]).count() as u64;
        counted = s;
        let end = memchr::memchr(b'\n', &chunk[s..]).map_or(chunk.len(), |i| s + i + 1);
        let line = &chunk[s..end];
        if meta || line.first() == Some(&b'#') {
            if last_meta_end != s {
                // A new run of `#` lines after data lines.
                headers.data_line();
            }
            headers.meta_line(line);
            last_meta_end = end;
            continue;
        }
        headers.data_line();
        ctx.lines(headers.text(), line, *line_no + 1, values, limit, found);
    }
    *line_no += memchr::memchr_iter(b'\n', &chunk[counted..]).count() as u64;
    if chunk.last().is_some_and(|&b| b != b'\n') {
        *line_no += 1;
    }
}
