//! The machinery behind [`Scan::fold`] and [`Scan::map_ordered`]: a dispatching thread that
//! plans each input, worker threads that read and visit blocks, and the bookkeeping that keeps
//! header blocks and line numbers exact when a file is read in parallel ranges.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex};

use trawl_zeek::lines::{Blocks, LongLine};
use trawl_zeek::{Event, LogReader, Record};

use super::block::{Block, BlockData, BlockOut, FileInfo, Ordinal};
use super::progress::Bar;
use super::segment::{line_at, SegKind, Segments, Tracker};
use super::{Input, Ordered, Scan, ScanError, ScanProblem, ScanSummary, MAX_PROBLEMS};

/// How inputs are cut up (see [`Sizes::DEFAULT`]); tests make them small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Size of a range of a large plain file, and of the buffers a stream is cut into.
    pub chunk: u64,
    /// Plain files at least this large are read in parallel ranges.
    pub range_min: u64,
    /// Compressed files (and plain ones below `range_min`) up to this size are read whole by
    /// one worker, several files at once; larger compressed ones are inflated by the
    /// dispatcher and their blocks shared out.
    pub whole_max: u64,
}

impl Sizes {
    /// 2 MiB ranges for plain files from 8 MiB; compressed files up to 4 MiB read whole.
    pub const DEFAULT: Sizes = Sizes {
        chunk: 2 << 20,
        range_min: 8 << 20,
        whole_max: 4 << 20,
    };
}
/// Bytes read to tell the format of a file.
const SNIFF: usize = 64 << 10;
/// Records per block for formats read by the record reader.
const RECORDS_PER_BLOCK: usize = 4096;

/// What the engine calls for each block.
pub(crate) trait Visitor: Sync {
    type State: Send;
    fn init(&self) -> Self::State;
    fn block(&self, st: &mut Self::State, b: &Block<'_>);
    /// Every block of chunk `chunk` of `file` has been visited (there may have been none).
    fn chunk_done(&self, _st: &mut Self::State, _file: u32, _chunk: u32) {}
    /// File `file` has `chunks` chunks in all.
    fn file_end(&self, _file: u32, _chunks: u32) {}
    /// A worker thread or the dispatching thread is done (it sends nothing more).
    fn thread_done(&self) {}
}

struct FoldV<'a, I, E> {
    init: &'a I,
    each: &'a E,
}

impl<S: Send, I: Fn() -> S + Sync, E: Fn(&mut S, &Block<'_>) + Sync> Visitor for FoldV<'_, I, E> {
    type State = S;
    fn init(&self) -> S {
        (self.init)()
    }
    fn block(&self, st: &mut S, b: &Block<'_>) {
        (self.each)(st, b)
    }
}

pub(crate) fn fold<S, I, E>(
    scan: &Scan,
    init: &I,
    each: &E,
) -> Result<(Vec<S>, ScanSummary), ScanError>
where
    S: Send,
    I: Fn() -> S + Sync,
    E: Fn(&mut S, &Block<'_>) + Sync,
{
    let v = FoldV { init, each };
    let stop = AtomicBool::new(false);
    run(scan, &v, &stop, |_| {})
}

enum Msg<T> {
    Chunk {
        file: u32,
        chunk: u32,
        items: Vec<Ordered<T>>,
    },
    FileEnd {
        file: u32,
        chunks: u32,
    },
    /// A thread has sent all it will.
    Done,
}

struct OrderedV<'a, M, T> {
    map: &'a M,
    tx: Mutex<Sender<Msg<T>>>,
    window: &'a Window<'a>,
}

/// Chunks handed to the consumer and not yet taken: workers wait while there are too many,
/// so a slow consumer bounds memory. A worker on the file the consumer is at never waits, so
/// what the consumer waits for (that file's next chunk or its end) always comes: waiting
/// only for the outstanding count deadlocked once later files filled the window while the
/// worker of the current file waited before saying the file had ended.
struct Window<'a> {
    outstanding: Mutex<u64>,
    cv: Condvar,
    limit: u64,
    stop: &'a AtomicBool,
    /// The file the consumer is at.
    at: AtomicU32,
}

impl Window<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// A chunk of `file` was sent: waits while the window is full and the consumer is at an
    /// earlier file.
    fn sent(&self, file: u32) {
        let Ok(mut n) = self.outstanding.lock() else {
            return;
        };
        *n += 1;
        while *n > self.limit && !self.stopped() && self.at.load(Ordering::Relaxed) < file {
            n = match self
                .cv
                .wait_timeout(n, std::time::Duration::from_millis(50))
            {
                Ok((g, _)) => g,
                Err(_) => return,
            };
        }
    }

    /// The consumer moved on to `file`.
    fn at_file(&self, file: u32) {
        self.at.store(file, Ordering::Relaxed);
        self.cv.notify_all();
    }

    fn taken(&self) {
        if let Ok(mut n) = self.outstanding.lock() {
            *n = n.saturating_sub(1);
            self.cv.notify_all();
        }
    }
}

impl<T: Send, M: Fn(&Block<'_>) -> T + Sync> Visitor for OrderedV<'_, M, T> {
    type State = Vec<Ordered<T>>;
    fn init(&self) -> Self::State {
        Vec::new()
    }
    fn block(&self, st: &mut Self::State, b: &Block<'_>) {
        st.push(Ordered {
            ordinal: b.ordinal,
            file: b.ordinal.file,
            first_line: b.first_line,
            value: (self.map)(b),
        });
    }
    fn chunk_done(&self, st: &mut Self::State, file: u32, chunk: u32) {
        let items = std::mem::take(st);
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send(Msg::Chunk { file, chunk, items });
        }
        self.window.sent(file);
    }
    fn file_end(&self, file: u32, chunks: u32) {
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send(Msg::FileEnd { file, chunks });
        }
    }
    fn thread_done(&self) {
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send(Msg::Done);
        }
    }
}

pub(crate) fn map_ordered<T, M, C>(
    scan: &Scan,
    map: &M,
    mut consume: C,
) -> Result<ScanSummary, ScanError>
where
    T: Send,
    M: Fn(&Block<'_>) -> T + Sync,
    C: FnMut(Ordered<T>) -> ControlFlow<()>,
{
    let (tx, rx) = mpsc::channel::<Msg<T>>();
    let stop = AtomicBool::new(false);
    let window = Window {
        outstanding: Mutex::new(0),
        cv: Condvar::new(),
        limit: 4 * scan.threads as u64 + 4,
        stop: &stop,
        at: AtomicU32::new(0),
    };
    let v = OrderedV {
        map,
        tx: Mutex::new(tx),
        window: &window,
    };
    let threads = scan.threads as u64 + 1;
    let (_, summary) = run(scan, &v, &stop, |done: &dyn Fn() -> bool| {
        deliver(&rx, &stop, &window, &mut consume, threads, done);
    })?;
    Ok(summary)
}

/// Hands results to `consume` in file order as they arrive, until the scan is done.
fn deliver<T, C: FnMut(Ordered<T>) -> ControlFlow<()>>(
    rx: &Receiver<Msg<T>>,
    stop: &AtomicBool,
    window: &Window<'_>,
    consume: &mut C,
    threads: u64,
    done: &dyn Fn() -> bool,
) {
    let mut finished = 0u64;
    let mut pending: BTreeMap<(u32, u32), Vec<Ordered<T>>> = BTreeMap::new();
    let mut ends: HashMap<u32, u32> = HashMap::new();
    let (mut file, mut chunk) = (0u32, 0u32);
    loop {
        if finished == threads {
            // Every thread said it is done, and a thread's messages arrive in order.
            match rx.try_recv() {
                Ok(_) => {}
                Err(_) => return,
            }
        }
        // The timeout only matters if a thread died without saying it was done.
        let msg = match rx.recv_timeout(std::time::Duration::from_millis(200)) {
            Ok(m) => Some(m),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if done() {
                    // Everything sent has been received (senders finish before `done`).
                    match rx.try_recv() {
                        Ok(m) => Some(m),
                        Err(_) => return,
                    }
                } else {
                    continue;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        match msg {
            Some(Msg::Chunk { file, chunk, items }) => {
                if stop.load(Ordering::Relaxed) {
                    window.taken();
                } else {
                    pending.insert((file, chunk), items);
                }
            }
            Some(Msg::FileEnd { file, chunks }) => {
                ends.insert(file, chunks);
            }
            Some(Msg::Done) => finished += 1,
            None => {}
        }
        if stop.load(Ordering::Relaxed) {
            for _ in 0..pending.len() {
                window.taken();
            }
            pending.clear();
            continue;
        }
        loop {
            if let Some(items) = pending.remove(&(file, chunk)) {
                window.taken();
                for it in items {
                    if consume(it).is_break() {
                        stop.store(true, Ordering::Relaxed);
                        for _ in 0..pending.len() {
                            window.taken();
                        }
                        pending.clear();
                        break;
                    }
                }
                chunk += 1;
                continue;
            }
            if ends.get(&file) == Some(&chunk) {
                file += 1;
                chunk = 0;
                window.at_file(file);
                continue;
            }
            break;
        }
    }
}

/// Work for a worker thread.
enum Job {
    /// Range `idx` of a large plain file.
    Range { plan: Arc<RangePlan>, idx: u32 },
    /// A buffer of whole lines cut and segmented by the dispatcher.
    Buffer {
        file: u32,
        chunk: u32,
        data: Vec<u8>,
        segs: Segments,
        first_line: u64,
    },
    /// Records read in order by the dispatcher.
    Records {
        file: u32,
        chunk: u32,
        records: Vec<(u64, Record<'static>)>,
        first_line: u64,
        lines: u64,
    },
    /// A small file, read whole by the worker.
    Whole { file: u32, path: std::path::PathBuf },
}

/// How the ranges of a large plain file went.
#[derive(Clone, Copy)]
struct Class {
    lines: u64,
    /// The header block at the range's end differs from the one the file started with: the
    /// ranges after it were read under a wrong assumption and are read again in order.
    changed: bool,
}

struct RangePlan {
    file: u32,
    chunk: u64,
    fd: File,
    /// Offset of the first byte to read (stdin may be part-read).
    base: u64,
    len: u64,
    n: u32,
    /// The reading state after the file's first lines: what every range but the first assumes.
    t0: Tracker,
    default_path: Option<String>,
    classes: Mutex<Vec<Option<Class>>>,
    cv: Condvar,
    /// Lines longer than this are skipped and reported ([`trawl_zeek::lines::max_line`]).
    max_line: usize,
}

/// Counters shared by all threads.
struct Shared<'a> {
    sizes: Sizes,
    max_line: usize,
    infos: &'a [FileInfo],
    stop: &'a AtomicBool,
    bytes: AtomicU64,
}

/// Runs a scan: plans inputs on a dispatching thread, visits blocks on workers, and calls
/// `wait` on this thread meanwhile (it returns when the scan is done or stopped).
fn run<V: Visitor>(
    scan: &Scan,
    v: &V,
    stop: &AtomicBool,
    wait: impl FnOnce(&dyn Fn() -> bool),
) -> Result<(Vec<V::State>, ScanSummary), ScanError> {
    let infos: Vec<FileInfo> = scan
        .inputs
        .iter()
        .enumerate()
        .map(|(i, inp)| match inp {
            Input::File(f) => FileInfo {
                index: i as u32,
                name: f.path.display().to_string(),
                log_type: f.log_type.clone(),
            },
            Input::Stdin => FileInfo {
                index: i as u32,
                name: "<stdin>".into(),
                log_type: None,
            },
        })
        .collect();
    let total: u64 = scan
        .inputs
        .iter()
        .map(|i| match i {
            Input::File(f) => std::fs::metadata(&f.path).map_or(0, |m| m.len()),
            Input::Stdin => 0,
        })
        .sum();
    let shared = Shared {
        sizes: scan.sizes,
        max_line: scan.max_line,
        infos: &infos,
        stop,
        bytes: AtomicU64::new(0),
    };
    let workers = scan.threads.max(1);
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(workers * 2);
    let job_rx = Mutex::new(job_rx);
    let finished = AtomicBool::new(false);
    let bar = Bar::new(scan.progress, total);
    let result = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for w in 0..workers {
            let (shared, job_rx) = (&shared, &job_rx);
            let h = std::thread::Builder::new()
                .name(format!("trawl-scan-{w}"))
                .spawn_scoped(s, move || worker(v, shared, job_rx))
                .map_err(|e| ScanError::Worker(e.to_string()))?;
            handles.push(h);
        }
        let dispatcher = {
            let shared = &shared;
            std::thread::Builder::new()
                .name("trawl-scan-read".into())
                .spawn_scoped(s, move || dispatch(scan, v, shared, job_tx))
                .map_err(|e| ScanError::Worker(e.to_string()))?
        };
        let ticker = {
            let (bar, shared, finished) = (&bar, &shared, &finished);
            s.spawn(move || {
                while !finished.load(Ordering::Relaxed) {
                    // Unparked when the scan ends, so a quick scan does not wait for a tick.
                    std::thread::park_timeout(std::time::Duration::from_millis(100));
                    bar.tick(shared.bytes.load(Ordering::Relaxed));
                }
            })
        };
        let all_done = || handles.iter().all(|h| h.is_finished()) && dispatcher.is_finished();
        wait(&all_done);
        let mut summary = dispatcher
            .join()
            .map_err(|_| ScanError::Worker("the reading thread panicked".into()))?;
        let mut states = Vec::new();
        for h in handles {
            let (st, sum) = h
                .join()
                .map_err(|_| ScanError::Worker("a worker thread panicked".into()))?;
            states.push(st);
            summary.merge(sum);
        }
        finished.store(true, Ordering::Relaxed);
        ticker.thread().unpark();
        let _ = ticker.join();
        Ok::<_, ScanError>((states, summary))
    });
    bar.finish();
    let (states, mut summary) = result?;
    summary.files = scan.inputs.len() as u64;
    summary.bytes = shared.bytes.load(Ordering::Relaxed);
    summary
        .problems
        .sort_by_key(|p| (infos_index(&infos, &p.file), p.line));
    // Files that stopped early (a corrupt gzip) still gave their records before: only a
    // scan that read nothing at all is an error.
    if summary.failed_files > 0 && summary.failed_files == summary.files && summary.records == 0 {
        let first = summary
            .problems
            .first()
            .map_or_else(String::new, |p| p.to_string());
        return Err(ScanError::NoInput(first));
    }
    Ok((states, summary))
}

fn infos_index(infos: &[FileInfo], name: &str) -> usize {
    infos
        .iter()
        .position(|i| i.name == name)
        .unwrap_or(usize::MAX)
}

/// Collects problems for a summary, keeping the first [`MAX_PROBLEMS`].
fn add_problem(sum: &mut ScanSummary, file: &str, line: u64, reason: String, bad: bool) {
    sum.problems_total += 1;
    sum.bad_lines += u64::from(bad);
    if sum.problems.len() < MAX_PROBLEMS {
        sum.problems.push(ScanProblem {
            file: file.to_string(),
            line,
            reason,
        });
    }
}

fn file_failed(sum: &mut ScanSummary, file: &str, reason: String) {
    sum.failed_files += 1;
    add_problem(sum, file, 0, reason, false);
}

// ---------------------------------------------------------------- the dispatching thread

fn dispatch<V: Visitor>(scan: &Scan, v: &V, sh: &Shared<'_>, tx: SyncSender<Job>) -> ScanSummary {
    let mut sum = ScanSummary::default();
    for (i, input) in scan.inputs.iter().enumerate() {
        let fi = i as u32;
        if sh.stop.load(Ordering::Relaxed) {
            v.file_end(fi, 0);
            continue;
        }
        let name = &sh.infos[i].name;
        match plan(input, &sh.infos[i], &sh.bytes, sh.sizes, sh.max_line) {
            Err(e) => {
                file_failed(&mut sum, name, e.to_string());
                v.file_end(fi, 0);
            }
            Ok(Plan::Ranges(plan)) => {
                let n = plan.n;
                let plan: Arc<RangePlan> = Arc::from(plan);
                for idx in 0..n {
                    let job = Job::Range {
                        plan: Arc::clone(&plan),
                        idx,
                    };
                    if tx.send(job).is_err() {
                        break;
                    }
                }
                v.file_end(fi, n);
            }
            Ok(Plan::Whole(path)) => {
                if tx.send(Job::Whole { file: fi, path }).is_err() {
                    break;
                }
            }
            Ok(Plan::Stream(src)) => {
                let feed = Feed {
                    fi,
                    info: &sh.infos[i],
                    stop: sh.stop,
                    sum: &mut sum,
                    send: &mut |job| tx.send(job).is_ok(),
                    max_line: sh.max_line,
                };
                let chunks = stream(sh.sizes, feed, src);
                v.file_end(fi, chunks);
            }
        }
    }
    v.thread_done();
    sum
}

enum Plan<'b> {
    Ranges(Box<RangePlan>),
    Whole(std::path::PathBuf),
    Stream(Box<dyn Read + Send + 'b>),
}

/// Decides how to read an input.
fn plan<'b>(
    input: &Input,
    info: &FileInfo,
    bytes: &'b AtomicU64,
    sizes: Sizes,
    max_line: usize,
) -> Result<Plan<'b>, String> {
    let (fd, name_path) = match input {
        Input::Stdin => {
            use std::os::fd::AsFd;
            let fd = std::io::stdin()
                .as_fd()
                .try_clone_to_owned()
                .map(File::from)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
            (fd, None)
        }
        Input::File(f) => (
            File::open(&f.path).map_err(|e| format!("cannot open: {e}"))?,
            Some(f.path.clone()),
        ),
    };
    let meta = fd.metadata().map_err(|e| e.to_string())?;
    let base = if meta.is_file() {
        use std::io::Seek;
        (&fd).stream_position().unwrap_or(0)
    } else {
        0
    };
    if !meta.is_file() {
        // A pipe, or a device: read in order (decompressing as the magic bytes say).
        let src: Box<dyn Read + Send> = match input {
            Input::Stdin => trawl_input::open_reader(fd).map_err(|e| e.to_string())?,
            Input::File(f) => trawl_input::open(&f.path).map_err(|e| e.to_string())?,
        };
        return Ok(Plan::Stream(src));
    }
    let len = meta.len().saturating_sub(base);
    let mut magic = [0u8; 16];
    let got = read_at_full(&fd, base, &mut magic).map_err(|e| e.to_string())?;
    let magic = &magic[..got];
    let compression = match trawl_input::compression_of(magic) {
        Ok(c) => c,
        // xz, bzip2, lz4 ...: said plainly (as `open` says it) rather than read as garbage.
        Err(_) => {
            let e = trawl_input::open_reader(io::Cursor::new(magic.to_vec())).err();
            return Err(e.map_or_else(|| "unsupported compression".into(), |e| e.to_string()));
        }
    };
    let compressed = compression != trawl_input::Compression::None;
    let gzip = compression == trawl_input::Compression::Gzip;
    if !compressed && len >= sizes.range_min {
        let mut head = vec![0u8; SNIFF.min(len as usize)];
        let n = read_at_full(&fd, base, &mut head).map_err(|e| e.to_string())?;
        head.truncate(n);
        if !in_order_format(&head) {
            return Ok(Plan::Ranges(Box::new(range_plan(
                info,
                fd,
                base,
                len,
                &head,
                sizes.chunk,
                max_line,
            ))));
        }
    }
    match (&name_path, input) {
        (Some(p), _) if len <= sizes.whole_max || (!compressed && len < sizes.range_min) => {
            Ok(Plan::Whole(p.clone()))
        }
        (Some(p), _) if gzip => {
            // Inflated here, inline: the blocks are counted by the workers meanwhile.
            use std::io::Seek;
            let mut f = fd;
            f.seek(std::io::SeekFrom::Start(base))
                .map_err(|e| e.to_string())?;
            let _ = p;
            let counted = Counted { inner: f, bytes };
            Ok(Plan::Stream(Box::new(flate2::read::MultiGzDecoder::new(
                io::BufReader::with_capacity(256 << 10, counted),
            ))))
        }
        (Some(p), _) => Ok(Plan::Stream(
            trawl_input::open(p).map_err(|e| e.to_string())?,
        )),
        (None, _) => Ok(Plan::Stream(
            trawl_input::open_reader(fd).map_err(|e| e.to_string())?,
        )),
    }
}

fn range_plan(
    info: &FileInfo,
    fd: File,
    base: u64,
    len: u64,
    head: &[u8],
    chunk: u64,
    max_line: usize,
) -> RangePlan {
    // The header block the file starts with: the assumption for every range but the first.
    let whole = memchr::memrchr(b'\n', head).map_or(&head[..0], |i| &head[..=i]);
    let mut t0 = Tracker::new(info.log_type.clone(), None);
    let _ = t0.segment(whole);
    let _ = t0.current();
    let n = len.div_ceil(chunk) as u32;
    RangePlan {
        file: info.index,
        chunk,
        fd,
        base,
        len,
        n,
        t0,
        default_path: info.log_type.clone(),
        classes: Mutex::new(vec![None; n as usize]),
        cv: Condvar::new(),
        max_line,
    }
}

/// Whether a file must be read in order by the record reader: dnsmasq, pretty-printed JSON,
/// a headerless TSV log (`tsv=T`); decided by the first line a format claims.
fn in_order_format(head: &[u8]) -> bool {
    trawl_zeek::sniff::sniff(head).in_order()
}

fn read_at_full(fd: &File, at: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match fd.read_at(&mut buf[n..], at + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Counts bytes read from the underlying file, for the summary and the progress bar.
struct Counted<'a, R> {
    inner: R,
    bytes: &'a AtomicU64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A file read in order and cut into jobs: which file, where its problems go, where its jobs
/// go (`send` says whether to go on).
struct Feed<'a> {
    fi: u32,
    info: &'a FileInfo,
    stop: &'a AtomicBool,
    sum: &'a mut ScanSummary,
    send: &'a mut dyn FnMut(Job) -> bool,
    max_line: usize,
}

/// Reads a stream in order and hands out jobs (buffers with their segments, or records).
/// Returns the number of chunks (jobs) made.
fn stream<R: Read>(sizes: Sizes, mut feed: Feed<'_>, src: R) -> u32 {
    let mut lb = Blocks::new(src, sizes.chunk as usize).with_max_line(feed.max_line);
    let (mut buf, mut skipped) = (Vec::new(), Vec::new());
    let mut line = 1u64;
    if !lb.next(&mut buf, &mut skipped) {
        skip_lines(&mut feed, &mut skipped, &mut line);
        if let Some(e) = lb.take_error() {
            file_failed(feed.sum, &feed.info.name, e.to_string());
        }
        return 0;
    }
    if skipped.is_empty() && in_order_format(&buf[..buf.len().min(SNIFF)]) {
        let (carry, src) = lb.into_rest();
        let rest = io::Cursor::new(buf)
            .chain(io::Cursor::new(carry))
            .chain(src);
        return records(feed, rest);
    }
    let mut tracker = Tracker::new(feed.info.log_type.clone(), None);
    let mut chunk = 0u32;
    loop {
        if feed.stop.load(Ordering::Relaxed) {
            break;
        }
        skip_lines(&mut feed, &mut skipped, &mut line);
        let segs = tracker.segment(&buf);
        let lines = segs.lines;
        let data = std::mem::take(&mut buf);
        let job = Job::Buffer {
            file: feed.fi,
            chunk,
            data,
            segs,
            first_line: line,
        };
        if !(feed.send)(job) {
            break;
        }
        chunk += 1;
        line += lines;
        if !lb.next(&mut buf, &mut skipped) {
            break;
        }
    }
    skip_lines(&mut feed, &mut skipped, &mut line);
    if let Some(e) = lb.take_error() {
        file_failed(
            feed.sum,
            &feed.info.name,
            format!("read stopped at line {line}: {e}"),
        );
    }
    chunk
}

/// Reports lines skipped for their length (they come before the next buffer), counting them.
fn skip_lines(feed: &mut Feed<'_>, skipped: &mut Vec<LongLine>, line: &mut u64) {
    for l in skipped.drain(..) {
        add_problem(feed.sum, &feed.info.name, *line, l.reason(), true);
        *line += 1;
    }
}

/// The record reader's way, for formats that must be read in order.
fn records<R: Read>(feed: Feed<'_>, src: R) -> u32 {
    let mut reader = LogReader::new(src)
        .max_line(feed.max_line)
        .default_path(feed.info.log_type.as_deref().unwrap_or("unknown"));
    if let Some(t) = mtime(&feed.info.name) {
        reader = reader.reference_time(t);
    }
    let mut batch: Vec<(u64, Record<'static>)> = Vec::new();
    let mut chunk = 0u32;
    let mut batch_start = 1u64;
    let mut last_line = 0u64;
    let mut flush =
        |batch: &mut Vec<(u64, Record<'static>)>, start: u64, last: u64, chunk: &mut u32| {
            let job = Job::Records {
                file: feed.fi,
                chunk: *chunk,
                records: std::mem::take(batch),
                first_line: start,
                lines: (last + 1).saturating_sub(start),
            };
            *chunk += 1;
            (feed.send)(job)
        };
    loop {
        if feed.stop.load(Ordering::Relaxed) {
            break;
        }
        let ev = match reader.next_event() {
            Ok(Some(ev)) => ev,
            Ok(None) => break,
            Err(e) => {
                file_failed(feed.sum, &feed.info.name, format!("read stopped: {e}"));
                break;
            }
        };
        match ev {
            Event::Row(row) => {
                last_line = row.line.no;
                let mut probs = Vec::new();
                let rec = row.to_record(&mut probs).into_owned();
                for p in probs {
                    add_problem(feed.sum, &feed.info.name, p.line, p.reason, false);
                }
                batch.push((last_line, rec));
            }
            Event::Record { line, record, .. } => {
                last_line = last_line.max(line);
                batch.push((line, record.into_owned()));
            }
            Event::Bad { line, reason, .. } => {
                last_line = last_line.max(line);
                add_problem(feed.sum, &feed.info.name, line, reason, true);
            }
            Event::Meta { line, .. } | Event::Info { line, .. } => last_line = line.no,
        }
        for p in reader.take_problems() {
            add_problem(feed.sum, &feed.info.name, p.line, p.reason, false);
        }
        if batch.len() >= RECORDS_PER_BLOCK {
            if !flush(&mut batch, batch_start, last_line, &mut chunk) {
                return chunk;
            }
            batch_start = last_line + 1;
        }
    }
    feed.sum.lines += last_line;
    if !batch.is_empty() {
        flush(&mut batch, batch_start, last_line, &mut chunk);
    }
    chunk
}

fn mtime(name: &str) -> Option<i64> {
    let t = std::fs::metadata(name).and_then(|m| m.modified()).ok()?;
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_nanos() as i64)
}

// ---------------------------------------------------------------- the workers

struct Worker<'a, V: Visitor> {
    v: &'a V,
    sh: &'a Shared<'a>,
    st: V::State,
    sum: ScanSummary,
    out: BlockOut,
}

fn worker<V: Visitor>(
    v: &V,
    sh: &Shared<'_>,
    jobs: &Mutex<Receiver<Job>>,
) -> (V::State, ScanSummary) {
    let mut w = Worker {
        v,
        sh,
        st: v.init(),
        sum: ScanSummary::default(),
        out: BlockOut::default(),
    };
    let mut buf = Vec::new();
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => break,
        };
        let Ok(job) = job else { break };
        match job {
            Job::Range { plan, idx } => w.range(&plan, idx, &mut buf),
            job @ (Job::Buffer { .. } | Job::Records { .. }) => w.run(job),
            Job::Whole { file, path } => w.whole(file, &path),
        }
    }
    v.thread_done();
    (w.st, w.sum)
}

impl<V: Visitor> Worker<'_, V> {
    /// Moves the problems and counts of the last blocks into the summary.
    fn drain(&mut self, file: u32) {
        let name = &self.sh.infos[file as usize].name;
        for (line, reason, bad) in self.out.problems.borrow_mut().drain(..) {
            add_problem(&mut self.sum, name, line, reason, bad);
        }
        self.sum.records += self.out.records.replace(0);
    }

    /// Visits the segments of a buffer whose first line is `first_line`.
    fn segments(
        &mut self,
        file: u32,
        chunk: u32,
        data: &[u8],
        segs: &Segments,
        first_line: u64,
        block: &mut u32,
    ) {
        let info = &self.sh.infos[file as usize];
        self.sum.lines += segs.lines;
        for (off, reason) in &segs.problems {
            self.out
                .problems
                .borrow_mut()
                .push((first_line + off, reason.clone(), false));
        }
        for seg in &segs.segs {
            if self.sh.stop.load(Ordering::Relaxed) {
                break;
            }
            let text = &data[seg.start..seg.end];
            let line0 = first_line + seg.line_offset;
            let data = match &seg.kind {
                SegKind::Stray { blanks } => {
                    let mut no = line0;
                    let mut pos = 0;
                    while pos < text.len() {
                        let (t, next) = line_at(text, pos);
                        pos = next;
                        if *blanks || !t.is_empty() {
                            self.out.problems.borrow_mut().push((
                                no,
                                "data row before any #fields header".into(),
                                true,
                            ));
                        }
                        no += 1;
                    }
                    continue;
                }
                SegKind::Tsv(schema) => BlockData::Tsv { schema, text },
                SegKind::Json => BlockData::Json { text },
            };
            let b = Block {
                file: info,
                ordinal: Ordinal {
                    file,
                    chunk,
                    block: *block,
                },
                first_line: line0,
                lines: seg.lines,
                data,
                out: &self.out,
            };
            self.v.block(&mut self.st, &b);
            *block += 1;
        }
        self.drain(file);
    }

    fn records(
        &mut self,
        file: u32,
        chunk: u32,
        records: &[(u64, Record<'static>)],
        first_line: u64,
        lines: u64,
    ) {
        let b = Block {
            file: &self.sh.infos[file as usize],
            ordinal: Ordinal {
                file,
                chunk,
                block: 0,
            },
            first_line,
            lines,
            data: BlockData::Records { records },
            out: &self.out,
        };
        if !self.sh.stop.load(Ordering::Relaxed) {
            self.v.block(&mut self.st, &b);
        }
        self.drain(file);
    }

    /// A small file, read in order by this worker.
    fn whole(&mut self, file: u32, path: &std::path::Path) {
        let sh = self.sh;
        let info = &sh.infos[file as usize];
        let src = match trawl_input::open_sync(path) {
            Ok(s) => s,
            Err(e) => {
                file_failed(&mut self.sum, &info.name, e.to_string());
                self.v.file_end(file, 0);
                return;
            }
        };
        let mut local = ScanSummary::default();
        let feed = Feed {
            fi: file,
            info,
            stop: sh.stop,
            sum: &mut local,
            send: &mut |job| {
                self.run(job);
                true
            },
            max_line: sh.max_line,
        };
        let chunks = stream(sh.sizes, feed, src);
        self.sum.merge(local);
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        sh.bytes.fetch_add(size, Ordering::Relaxed);
        self.v.file_end(file, chunks);
    }

    /// Runs a buffer or records job.
    fn run(&mut self, job: Job) {
        match job {
            Job::Buffer {
                file,
                chunk,
                data,
                segs,
                first_line,
            } => {
                let mut b = 0;
                self.segments(file, chunk, &data, &segs, first_line, &mut b);
                self.v.chunk_done(&mut self.st, file, chunk);
            }
            Job::Records {
                file,
                chunk,
                records,
                first_line,
                lines,
            } => {
                self.records(file, chunk, &records, first_line, lines);
                self.v.chunk_done(&mut self.st, file, chunk);
            }
            Job::Range { .. } | Job::Whole { .. } => {}
        }
    }

    /// Range `idx` of a large plain file.
    fn range(&mut self, plan: &RangePlan, idx: u32, buf: &mut Vec<u8>) {
        let info = &self.sh.infos[plan.file as usize];
        let stopped = self.sh.stop.load(Ordering::Relaxed);
        let read = if stopped {
            Ok(Owned::default())
        } else {
            read_owned(plan, idx, buf)
        };
        let owned = match read {
            Ok(r) => r,
            Err(err) => {
                file_failed(&mut self.sum, &info.name, format!("read failed: {err}"));
                Owned::default()
            }
        };
        self.sh.bytes.fetch_add(
            (owned.end - owned.start) as u64 + owned.long_tail.unwrap_or(0),
            Ordering::Relaxed,
        );
        let mut tracker = if idx == 0 {
            Tracker::new(plan.default_path.clone(), None)
        } else {
            plan.t0.clone()
        };
        // The owned lines as runs of text and the over-long lines between them, each run
        // segmented in turn (a skipped line leaves the header state as it was).
        let mut pieces = Vec::new();
        for piece in split_long_lines(&buf[..owned.end], owned.start, plan.max_line) {
            pieces.push(match piece {
                Piece::Text(a, b) => Part::Text(a, b, tracker.segment(&buf[a..b])),
                Piece::Long(len) => Part::Long(len),
            });
        }
        if let Some(len) = owned.long_tail {
            pieces.push(Part::Long(len));
        }
        let lines: u64 = pieces.iter().map(Part::lines).sum();
        let changed = !tracker.same_state(&plan.t0);
        let abs_end = owned.abs_end;
        // Publish, then wait for the ranges before this one to know where we stand.
        let (base, earlier_changed) = {
            let Ok(mut cl) = plan.classes.lock() else {
                return;
            };
            cl[idx as usize] = Some(Class { lines, changed });
            plan.cv.notify_all();
            loop {
                let before = &cl[..idx as usize];
                if before.iter().all(Option::is_some) {
                    let lines: u64 = before.iter().flatten().map(|c| c.lines).sum();
                    let ch = before.iter().flatten().any(|c| c.changed);
                    break (lines + 1, ch);
                }
                if self.sh.stop.load(Ordering::Relaxed) {
                    break (0, true);
                }
                cl = match plan
                    .cv
                    .wait_timeout(cl, std::time::Duration::from_millis(20))
                {
                    Ok((g, _)) => g,
                    Err(_) => return,
                };
            }
        };
        if earlier_changed {
            // Read again, in order, by the range where the header changed.
            self.v.chunk_done(&mut self.st, plan.file, idx);
            return;
        }
        let mut block = 0;
        let mut line = base;
        for part in &pieces {
            match part {
                Part::Text(a, b, segs) => {
                    self.segments(plan.file, idx, &buf[*a..*b], segs, line, &mut block)
                }
                Part::Long(len) => {
                    let reason = long_line(line, *len, plan.max_line).reason();
                    add_problem(&mut self.sum, &info.name, line, reason, true);
                }
            }
            line += part.lines();
        }
        if changed && abs_end < plan.base + plan.len {
            // The header changed in this range: the rest of the file is read here, in order.
            let tail = PreadStream {
                fd: &plan.fd,
                pos: abs_end,
                end: plan.base + plan.len,
            };
            let mut lb = Blocks::new(
                Counted {
                    inner: tail,
                    bytes: &self.sh.bytes,
                },
                plan.chunk as usize,
            )
            .with_max_line(plan.max_line);
            let (mut tb, mut skipped) = (Vec::new(), Vec::new());
            loop {
                let more = !self.sh.stop.load(Ordering::Relaxed) && lb.next(&mut tb, &mut skipped);
                // Skipped lines come before the block (or are the file's last lines).
                for l in skipped.drain(..) {
                    add_problem(&mut self.sum, &info.name, line, l.reason(), true);
                    line += 1;
                }
                if !more {
                    break;
                }
                let segs = tracker.segment(&tb);
                self.segments(plan.file, idx, &tb, &segs, line, &mut block);
                line += segs.lines;
            }
            if let Some(err) = lb.take_error() {
                file_failed(&mut self.sum, &info.name, format!("read failed: {err}"));
            }
        }
        self.v.chunk_done(&mut self.st, plan.file, idx);
    }
}

/// What [`read_owned`] found: the lines that start inside a range.
#[derive(Debug, Default)]
struct Owned {
    /// Where they are in the buffer.
    start: usize,
    end: usize,
    /// The file offset after them.
    abs_end: u64,
    /// The range's last line, when it runs past the range's end and past the maximum line
    /// length: its length (terminator included). Not read into the buffer; `end` stops
    /// before it and `abs_end` is after it.
    long_tail: Option<u64>,
}

/// Reads the lines that start inside range `idx` into `buf` (reused without clearing: only
/// the returned part is meaningful). The buffer grows past the range only up to the maximum
/// line length.
fn read_owned(plan: &RangePlan, idx: u32, buf: &mut Vec<u8>) -> io::Result<Owned> {
    let start = plan.base + u64::from(idx) * plan.chunk;
    let file_end = plan.base + plan.len;
    let end = (start + plan.chunk).min(file_end);
    let nothing = Owned {
        abs_end: end,
        ..Owned::default()
    };
    // One byte before the range tells whether a line starts right at its beginning.
    let from = if idx == 0 { start } else { start - 1 };
    let want = ((end + (64 << 10)).min(file_end) - from) as usize;
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let mut valid = read_at_full(&plan.fd, from, &mut buf[..want])?;
    let own_len = (end - from) as usize;
    let s = if idx == 0 {
        0
    } else {
        match memchr::memchr(b'\n', &buf[..own_len.min(valid)]) {
            Some(p) if p + 1 < own_len => p + 1,
            _ => return Ok(nothing),
        }
    };
    // The owned lines run to the newline at or after the range's last byte.
    // `get`: a file that shrank since it was planned may leave less than the range.
    let last_start = buf
        .get(s..own_len.min(valid).saturating_sub(1))
        .and_then(|b| memchr::memrchr(b'\n', b))
        .map_or(s, |p| s + p + 1);
    let mut search = own_len.saturating_sub(1);
    loop {
        if let Some(q) = buf[..valid]
            .get(search..)
            .and_then(|r| memchr::memchr(b'\n', r))
        {
            let e = search + q + 1;
            return Ok(Owned {
                start: s,
                end: e,
                abs_end: from + e as u64,
                long_tail: None,
            });
        }
        let at = from + valid as u64;
        if at >= file_end {
            return Ok(Owned {
                start: s,
                end: valid,
                abs_end: at,
                long_tail: None,
            });
        }
        if valid - last_start > plan.max_line {
            // Too long to keep: find its end without holding it.
            let len = (valid - last_start) as u64 + skip_line(plan, at, &mut buf[valid..])?;
            return Ok(Owned {
                start: s,
                end: last_start,
                abs_end: from + last_start as u64 + len,
                long_tail: Some(len),
            });
        }
        // A line longer than the read-ahead: read more.
        search = valid;
        let more = valid.max(1 << 20).min(plan.max_line + 1);
        if buf.len() < valid + more {
            buf.resize(valid + more, 0);
        }
        let k = read_at_full(&plan.fd, at, &mut buf[valid..valid + more])?;
        valid += k;
        if k == 0 {
            return Ok(Owned {
                start: s,
                end: valid,
                abs_end: at,
                long_tail: None,
            });
        }
    }
}

/// Bytes from `at` to the next newline (included) or the end of the file, read through
/// `scratch` (or 64 KiB of its own when that is smaller).
fn skip_line(plan: &RangePlan, mut at: u64, scratch: &mut [u8]) -> io::Result<u64> {
    let mut own = Vec::new();
    let scratch = if scratch.len() >= 64 << 10 {
        scratch
    } else {
        own.resize(64 << 10, 0);
        &mut own[..]
    };
    let file_end = plan.base + plan.len;
    let mut len = 0;
    while at < file_end {
        let want = scratch.len().min((file_end - at) as usize);
        let k = read_at_full(&plan.fd, at, &mut scratch[..want])?;
        if k == 0 {
            break;
        }
        if let Some(q) = memchr::memchr(b'\n', &scratch[..k]) {
            return Ok(len + q as u64 + 1);
        }
        len += k as u64;
        at += k as u64;
    }
    Ok(len)
}

/// A run of owned text, or a line past the maximum (its length, terminator included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Text(usize, usize),
    Long(u64),
}

/// `buf[from..]` as runs of lines and the lines longer than `max` between them. Costs
/// nothing when the text is no longer than `max`.
fn split_long_lines(buf: &[u8], from: usize, max: usize) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut at = from;
    while buf.len() - at > max {
        let Some(p) = trawl_zeek::lines::first_long_line(&buf[at..], max) else {
            break;
        };
        if p > 0 {
            out.push(Piece::Text(at, at + p));
        }
        let line = at + p;
        let next = memchr::memchr(b'\n', &buf[line..]).map_or(buf.len(), |q| line + q + 1);
        out.push(Piece::Long((next - line) as u64));
        at = next;
    }
    if at < buf.len() || out.is_empty() {
        out.push(Piece::Text(at, buf.len()));
    }
    out
}

/// A range's owned lines, segmented.
enum Part {
    Text(usize, usize, Segments),
    Long(u64),
}

impl Part {
    fn lines(&self) -> u64 {
        match self {
            Part::Text(_, _, segs) => segs.lines,
            Part::Long(_) => 1,
        }
    }
}

/// The report of a skipped line (its first bytes are not kept: only its length is shown).
fn long_line(no: u64, len: u64, max: usize) -> LongLine {
    LongLine {
        no,
        len,
        start: Vec::new(),
        max,
    }
}

/// Sequential reads of part of a file with `pread` (so ranges can share the descriptor).
struct PreadStream<'a> {
    fd: &'a File,
    pos: u64,
    end: u64,
}

impl Read for PreadStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.pos) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.fd.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}
