//! A source over a Zeek log folder: one-shot over archives and live files (`--once`), or
//! following the live files through Zeek's hourly rotation like `tail -F`.
//!
//! Files are read on a dedicated thread (blocking I/O, gzip/zstd through `trawl-input`) that
//! hands whole batches over a small bounded channel, so memory stays bounded and
//! [`Source::next_batch`] is cancel-safe. Each batch carries the file positions reached at its
//! end; [`Source::commit`] folds them into a checkpoint file, written atomically.
//!
//! Follow mode: the live files are `<type>.<ext>` directly in `current/` (or in the folder
//! itself when it has no `current/`). Files are known by device and inode, not by name: when
//! the name points at another inode (or at none), the old file was rotated away; its open handle
//! is read on until its end, for [`FolderConfig::rotate_grace`] after the rotation was seen
//! (Zeek closes a file before renaming it, so the grace only covers slower writers), while the
//! new file is read from its start. A file that shrinks was truncated and is read again from 0.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{self, File};
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use trawl_input::{Filter, LogFile};
use trawl_zeek::reader::Event as ReadEvent;
use trawl_zeek::{Fast, Format, Header, LogReader, Value};

use crate::metrics::{Counter, Metrics};
use crate::{Batch, Event, Source, StreamError};

/// How a [`FolderSource`] reads its folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Follow the live logs through rotation; never ends.
    #[default]
    Follow,
    /// Read every discovered file (archives and live ones) to its end, then end.
    Once,
}

/// Settings of a [`FolderSource`].
#[derive(Debug, Clone)]
pub struct FolderConfig {
    /// The Zeek log folder (holding `current/` and dated archive folders, or flat `*.log`).
    pub root: PathBuf,
    pub mode: Mode,
    /// Log types and time bounds (`--type/--since/--until`): files are chosen by name, and
    /// rows by `ts` when a time bound is set.
    pub filter: Filter,
    /// Where positions are kept between runs; `None` keeps none (every run starts over).
    pub checkpoint: Option<PathBuf>,
    /// Most events per batch.
    pub batch_size: usize,
    /// How long a batch that is not full waits for more data before it goes.
    pub batch_wait: Duration,
    /// How often live files are checked for new data, new files and rotation.
    pub poll_interval: Duration,
    /// How long a rotated file is still read after its rotation was seen.
    pub rotate_grace: Duration,
}

impl FolderConfig {
    /// Defaults: follow, no filter, no checkpoint, 10,000 events a batch, 250 ms polls.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FolderConfig {
            root: root.into(),
            mode: Mode::Follow,
            filter: Filter::default(),
            checkpoint: None,
            batch_size: 10_000,
            batch_wait: Duration::from_millis(50),
            poll_interval: Duration::from_millis(250),
            rotate_grace: Duration::from_secs(1),
        }
    }
}

/// Where reading of one file stopped: the checkpoint's unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePosition {
    /// The file as events name it ([`Event::origin`]), relative to the folder.
    pub path: String,
    pub dev: u64,
    pub inode: u64,
    /// Bytes of whole events read (decompressed bytes for compressed files).
    pub offset: u64,
    /// Lines up to `offset`.
    pub line: u64,
    /// The TSV header block in force at `offset` (raw lines), so reading can resume there.
    /// `None` when it could not be kept: the file is then re-read from its start and events
    /// before `offset` are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// The file was read to its end.
    #[serde(default)]
    pub done: bool,
}

/// The checkpoint file: one position per file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    pub files: Vec<FilePosition>,
}

impl Checkpoint {
    /// Reads a checkpoint; a missing file is an empty checkpoint.
    pub fn load(path: &Path) -> Result<Checkpoint, StreamError> {
        match fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| StreamError::Fatal(format!("checkpoint {}: {e}", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Checkpoint::default()),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the checkpoint atomically: a temporary file, fsync, rename, fsync of the folder.
    pub fn store(&self, path: &Path) -> Result<(), StreamError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".tmp");
        let tmp = dir.join(name);
        let bytes = serde_json::to_vec(self).map_err(|e| StreamError::Fatal(e.to_string()))?;
        let mut f = File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()?;
        Ok(())
    }
}

fn key(mode: Mode, p: &FilePosition) -> String {
    match mode {
        Mode::Follow => id_key(p.dev, p.inode),
        Mode::Once => p.path.clone(),
    }
}

fn id_key(dev: u64, inode: u64) -> String {
    format!("{dev}:{inode}")
}

/// A batch as the reading thread hands it over.
pub(crate) struct Chunk {
    pub events: Vec<Event>,
    pub positions: Vec<FilePosition>,
}

/// Reads a Zeek log folder; see the module documentation.
pub struct FolderSource {
    name: String,
    mode: Mode,
    rx: mpsc::Receiver<Chunk>,
    next_token: u64,
    pending: VecDeque<(u64, Vec<FilePosition>)>,
    committed: HashMap<String, FilePosition>,
    checkpoint: Option<PathBuf>,
}

impl FolderSource {
    /// Opens the folder and starts reading (from the checkpoint, if there is one).
    /// `trawl_source_errors_total{source=...}` counts bad lines and unreadable files.
    pub fn new(config: FolderConfig, metrics: &Metrics) -> Result<FolderSource, StreamError> {
        if !config.root.is_dir() {
            return Err(StreamError::Fatal(format!(
                "{}: not a folder",
                config.root.display()
            )));
        }
        if config.batch_size == 0 {
            return Err(StreamError::Fatal("batch size must be at least 1".into()));
        }
        let name = format!("folder:{}", config.root.display());
        let saved = match &config.checkpoint {
            Some(p) => Checkpoint::load(p)?,
            None => Checkpoint::default(),
        };
        let committed: HashMap<String, FilePosition> = saved
            .files
            .into_iter()
            .map(|p| (key(config.mode, &p), p))
            .collect();
        let errors = metrics.counter(
            "trawl_source_errors_total",
            "Bad lines and unreadable inputs, by source.",
            &[("source", &name)],
        );
        let (tx, rx) = mpsc::channel(2);
        let worker = Worker {
            follow_dir: follow_dir(&config.root),
            saved: committed.clone(),
            config: config.clone(),
            tx,
            errors,
            readers: Vec::new(),
            queue: VecDeque::new(),
            finished: Vec::new(),
            next: 0,
        };
        std::thread::Builder::new()
            .name("trawl-folder".into())
            .spawn(move || worker.run())?;
        Ok(FolderSource {
            name,
            mode: config.mode,
            rx,
            next_token: 0,
            pending: VecDeque::new(),
            committed,
            checkpoint: config.checkpoint,
        })
    }

    /// The positions committed so far.
    pub fn committed(&self) -> Checkpoint {
        let mut files: Vec<FilePosition> = self.committed.values().cloned().collect();
        files.sort_by(|a, b| (&a.path, a.inode).cmp(&(&b.path, b.inode)));
        Checkpoint { version: 1, files }
    }
}

#[async_trait]
impl Source for FolderSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn next_batch(&mut self) -> Result<Option<Batch>, StreamError> {
        let Some(chunk) = self.rx.recv().await else {
            return Ok(None);
        };
        self.next_token += 1;
        self.pending.push_back((self.next_token, chunk.positions));
        Ok(Some(Batch {
            events: chunk.events,
            token: self.next_token,
        }))
    }

    async fn commit(&mut self, token: u64) -> Result<(), StreamError> {
        let mut changed = false;
        while self.pending.front().is_some_and(|(t, _)| *t <= token) {
            let Some((_, positions)) = self.pending.pop_front() else {
                break;
            };
            for p in positions {
                changed = true;
                let k = key(self.mode, &p);
                // A rotated file read to its end will not be seen again under a live name.
                if p.done && self.mode == Mode::Follow {
                    self.committed.remove(&k);
                } else {
                    self.committed.insert(k, p);
                }
            }
        }
        if let (true, Some(path)) = (changed, &self.checkpoint) {
            self.committed().store(path)?;
        }
        Ok(())
    }
}

/// `root/current` when it exists, else `root`.
fn follow_dir(root: &Path) -> PathBuf {
    let cur = root.join("current");
    if cur.is_dir() {
        cur
    } else {
        root.to_path_buf()
    }
}

/// `path` relative to `root`, for [`Event::origin`].
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A live log's name: `<type>.<ext>`, one dot, no rotation stamp, not compressed.
fn is_live_name(name: &str) -> bool {
    const EXTS: [&str; 6] = ["log", "json", "jsonl", "ndjson", "tsv", "txt"];
    match name.split_once('.') {
        Some((ty, ext)) => !ty.is_empty() && !ty.starts_with('.') && EXTS.contains(&ext),
        None => false,
    }
}

/// Reads a file that may still grow: at its current end, `WouldBlock` until it is complete.
struct Tail {
    file: File,
    complete: Arc<AtomicBool>,
}

impl Read for Tail {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.file.read(buf)? {
            // The reader keeps its partial line and asks again later.
            0 if !self.complete.load(Ordering::Acquire) => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }
}

/// What a [`Reader`] did when asked for events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pull {
    /// The batch is full.
    Full,
    /// No more data for now.
    Idle,
    /// The input ended.
    Done,
}

/// Most warnings logged per file (all bad lines are counted).
const MAX_WARNINGS: u64 = 20;
/// Largest header block kept in a checkpoint.
const MAX_HEADER: usize = 1 << 20;

/// Turns one input's lines into pipeline events and tracks where it stands.
pub(crate) struct Reader {
    origin: Option<Arc<str>>,
    label: String,
    path: PathBuf,
    dev: u64,
    inode: u64,
    log: LogReader<Box<dyn Read + Send>>,
    /// Set for followed files: the file will not grow any more.
    complete: Option<Arc<AtomicBool>>,
    /// Reader coordinates (bytes, lines) + base = file coordinates.
    base: u64,
    base_line: u64,
    /// File offset and line after the last whole event.
    safe: (u64, u64),
    /// Events ending at or before this offset were committed before: dropped.
    skip_until: u64,
    last_line: u64,
    header: Vec<u8>,
    header_ok: bool,
    collecting: bool,
    shared: Option<Arc<Header>>,
    /// The log type of the last JSON line kept as read.
    json_path: Option<Arc<str>>,
    since: Option<i64>,
    until: Option<i64>,
    rotated_at: Option<Instant>,
    warned: u64,
    errors: Counter,
    /// Type problems of the rows read since the last `pull` (rows are kept raw, checked).
    checked: Vec<trawl_zeek::Problem>,
    dirty: bool,
    done: bool,
}

impl Reader {
    /// A reader over `src`, labelled `label` in logs. `log_type` names JSON records without
    /// `_path`; `modified` places dnsmasq dates without a year.
    pub(crate) fn new(
        src: Box<dyn Read + Send>,
        label: String,
        origin: Option<Arc<str>>,
        log_type: Option<&str>,
        modified: i64,
        filter: &Filter,
        errors: Counter,
    ) -> Reader {
        let mut log = LogReader::new(src).reference_time(modified);
        if let Some(t) = log_type {
            log = log.default_path(t);
        }
        Reader {
            origin,
            label,
            path: PathBuf::new(),
            dev: 0,
            inode: 0,
            log,
            complete: None,
            base: 0,
            base_line: 0,
            safe: (0, 0),
            skip_until: 0,
            last_line: 0,
            header: Vec::new(),
            header_ok: true,
            collecting: false,
            shared: None,
            json_path: None,
            since: filter.since,
            until: filter.until,
            rotated_at: None,
            warned: 0,
            errors,
            checked: Vec::new(),
            dirty: false,
            done: false,
        }
    }

    fn position(&self) -> FilePosition {
        let header = if self.header_ok {
            String::from_utf8(self.header.clone()).ok()
        } else {
            None
        };
        FilePosition {
            path: self.origin.as_deref().unwrap_or_default().to_string(),
            dev: self.dev,
            inode: self.inode,
            offset: self.safe.0,
            line: self.safe.1,
            header,
            done: self.done,
        }
    }

    fn warn(&mut self, line: u64, reason: &str) {
        self.errors.add(1);
        self.warned += 1;
        if self.warned <= MAX_WARNINGS {
            tracing::warn!("{}:{}: {reason}", self.label, line);
        } else if self.warned == MAX_WARNINGS + 1 {
            tracing::warn!("{}: more bad lines, no longer logged", self.label);
        }
    }

    /// Whether a row is inside the time bounds (rows without a readable `ts` are kept).
    fn in_time(&self, e: &Event) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        match e.get("ts") {
            Some(Value::Time(t)) => {
                !matches!(self.since, Some(s) if t < s) && !matches!(self.until, Some(u) if t >= u)
            }
            _ => true,
        }
    }

    /// Reads events into `out` until it holds `max`, the input has no more for now, or it ends.
    pub(crate) fn pull(&mut self, out: &mut Vec<Event>, max: usize) -> Pull {
        let state = loop {
            if out.len() >= max {
                break Pull::Full;
            }
            let ev = match self.log.next_fast() {
                Ok(Some(ev)) => ev,
                Ok(None) => {
                    self.done = true;
                    self.dirty = true;
                    break Pull::Done;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Pull::Idle,
                Err(e) => {
                    // A corrupt archive: what decoded before the error has been handed out.
                    self.errors.add(1);
                    // Input errors usually name the file already.
                    let e = e.to_string();
                    if e.starts_with(&self.label) {
                        tracing::warn!("{e}");
                    } else {
                        tracing::warn!("{}: {e}", self.label);
                    }
                    self.done = true;
                    self.dirty = true;
                    break Pull::Done;
                }
            };
            let mut safe = true;
            let mut bad = None;
            let event = match ev {
                Fast::Event(ReadEvent::Meta { line, directive }) => {
                    self.last_line = line.no;
                    self.shared = None;
                    let starts = directive == Some(trawl_zeek::header::Directive::Separator)
                        || (line.no == 1 && directive.is_some());
                    if starts {
                        self.header.clear();
                        self.header_ok = true;
                        self.collecting = true;
                    }
                    if self.collecting && self.header_ok {
                        self.header.extend_from_slice(line.raw);
                        if !line.raw.ends_with(b"\n") {
                            self.header.push(b'\n');
                        }
                        self.header_ok = self.header.len() <= MAX_HEADER;
                    }
                    None
                }
                Fast::Event(ReadEvent::Row(row)) => {
                    self.last_line = row.line.no;
                    self.collecting = false;
                    let h = self
                        .shared
                        .get_or_insert_with(|| Arc::new(row.header.clone()))
                        .clone();
                    row.check(&mut self.checked);
                    Some(Event::tsv(h, row.line.text.to_vec()))
                }
                Fast::Event(ReadEvent::Record { line, record, .. }) => {
                    self.last_line = self.last_line.max(line);
                    self.collecting = false;
                    Some(Event::record(record.into_owned()))
                }
                Fast::Json {
                    line,
                    text,
                    flat,
                    default_path,
                } => {
                    self.last_line = self.last_line.max(line);
                    self.collecting = false;
                    let path = flat.log_type(text, default_path);
                    // Consecutive records almost always share their log type.
                    let path = match &self.json_path {
                        Some(a) if **a == *path => a.clone(),
                        _ => self.json_path.insert(path.into()).clone(),
                    };
                    Some(Event::json(text.to_vec(), flat, path))
                }
                Fast::Event(ReadEvent::Info { line, format }) => {
                    self.last_line = line.no;
                    // Inside a pretty-printed JSON object: not a place to resume from.
                    safe = format != Some(Format::ZeekJson);
                    None
                }
                Fast::Event(ReadEvent::Bad { line, reason, .. }) => {
                    self.last_line = self.last_line.max(line);
                    bad = Some((line, reason));
                    None
                }
            };
            let pos = self.log.bytes() + self.base;
            let keep = pos > self.skip_until;
            if let (Some((line, reason)), true) = (bad, keep) {
                self.warn(line + self.base_line, &reason);
            }
            for p in std::mem::take(&mut self.checked) {
                if keep {
                    self.warn(p.line + self.base_line, &p.reason);
                }
            }
            if let (Some(mut e), true) = (event, keep) {
                if self.in_time(&e) {
                    if let Some(o) = &self.origin {
                        e.origin = Some(o.clone());
                    }
                    out.push(e);
                }
            }
            if safe && pos > self.safe.0 {
                self.safe = (pos, self.last_line + self.base_line);
                self.dirty = true;
            }
        };
        // Values that do not match their type, rows of the wrong length: the records are kept,
        // the problems counted and reported like bad lines.
        for p in self.log.take_problems() {
            self.warn(p.line + self.base_line, &p.reason);
        }
        state
    }
}

/// The reading thread of a [`FolderSource`].
struct Worker {
    config: FolderConfig,
    follow_dir: PathBuf,
    saved: HashMap<String, FilePosition>,
    tx: mpsc::Sender<Chunk>,
    errors: Counter,
    readers: Vec<Reader>,
    /// Files still to read (one-shot).
    queue: VecDeque<LogFile>,
    /// Positions of readers that ended since the last batch.
    finished: Vec<FilePosition>,
    /// Where the next round of reads starts (fairness between followed files).
    next: usize,
}

impl Worker {
    fn run(mut self) {
        match self.config.mode {
            Mode::Once => self.discover(),
            Mode::Follow => {
                self.scan();
                self.adopt_rotated();
            }
        }
        let mut last_scan = Instant::now();
        loop {
            if self.tx.is_closed() {
                return;
            }
            let mut events = Vec::with_capacity(self.config.batch_size.min(16_384));
            let mut waited = false;
            let state = loop {
                match self.fill(&mut events) {
                    Pull::Idle if !events.is_empty() && !waited => {
                        waited = true;
                        std::thread::sleep(self.config.batch_wait);
                    }
                    s => break s,
                }
            };
            let mut positions = std::mem::take(&mut self.finished);
            for r in &mut self.readers {
                if r.dirty {
                    r.dirty = false;
                    positions.push(r.position());
                }
            }
            if (!events.is_empty() || !positions.is_empty())
                && self.tx.blocking_send(Chunk { events, positions }).is_err()
            {
                return;
            }
            match state {
                Pull::Done => return,
                Pull::Idle => std::thread::sleep(self.config.poll_interval),
                Pull::Full => {}
            }
            if self.config.mode == Mode::Follow
                && (state == Pull::Idle || last_scan.elapsed() >= self.config.poll_interval)
            {
                self.scan();
                last_scan = Instant::now();
            }
        }
    }

    /// Reads from the open files into `events`. `Done` only when a one-shot run has read all.
    fn fill(&mut self, events: &mut Vec<Event>) -> Pull {
        let max = self.config.batch_size;
        loop {
            if self.config.mode == Mode::Once && self.readers.is_empty() {
                match self.queue.pop_front() {
                    Some(f) => self.open_once(&f),
                    None => return Pull::Done,
                }
                continue;
            }
            if self.readers.is_empty() {
                return Pull::Idle;
            }
            let n = self.readers.len();
            let mut idle = 0;
            let mut i = self.next % n;
            while idle < self.readers.len() {
                match self.readers[i].pull(events, max) {
                    Pull::Full => {
                        self.next = i + 1;
                        return Pull::Full;
                    }
                    Pull::Idle => {
                        idle += 1;
                        i = (i + 1) % self.readers.len();
                    }
                    Pull::Done => {
                        let r = self.readers.remove(i);
                        tracing::debug!("{}: read to its end", r.label);
                        self.finished.push(r.position());
                        if self.readers.is_empty() {
                            break;
                        }
                        i %= self.readers.len();
                    }
                }
            }
            if self.config.mode == Mode::Follow || !self.readers.is_empty() {
                return Pull::Idle;
            }
        }
    }

    fn discover(&mut self) {
        let found = match trawl_input::discover(
            std::slice::from_ref(&self.config.root),
            &self.config.filter,
        ) {
            Ok(d) => d,
            Err(e) => {
                self.errors.add(1);
                tracing::warn!("{e}");
                return;
            }
        };
        for p in found.problems {
            self.errors.add(1);
            tracing::warn!("{p}");
        }
        self.queue = found.files.into();
    }

    fn open_once(&mut self, f: &LogFile) {
        let origin = relative(&self.config.root, &f.path);
        let saved = self.saved.get(&origin).cloned();
        if saved.as_ref().is_some_and(|p| p.done) {
            return;
        }
        let meta = match fs::metadata(&f.path) {
            Ok(m) => m,
            Err(e) => {
                self.errors.add(1);
                tracing::warn!("{}: {e}", f.path.display());
                return;
            }
        };
        let src = match trawl_input::open(&f.path) {
            Ok(s) => s,
            Err(e) => {
                self.errors.add(1);
                tracing::warn!("{e}");
                return;
            }
        };
        let mut r = Reader::new(
            src,
            f.path.display().to_string(),
            Some(origin.into()),
            f.log_type.as_deref(),
            mtime(&meta),
            &self.config.filter,
            self.errors.clone(),
        );
        r.path = f.path.clone();
        (r.dev, r.inode) = (meta.dev(), meta.ino());
        if let Some(p) = saved.filter(|p| (p.dev, p.inode) == (r.dev, r.inode)) {
            // Compressed files cannot be entered mid-way: re-read and drop what was committed.
            r.skip_until = p.offset;
            r.safe = (p.offset, p.line);
        }
        self.readers.push(r);
    }

    /// Opens a followed file, resuming at its saved position when that still fits the file.
    fn open_follow(&mut self, path: &Path, origin: String, complete: bool) -> io::Result<()> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        let flag = Arc::new(AtomicBool::new(complete));
        let saved = self
            .saved
            .remove(&id_key(meta.dev(), meta.ino()))
            .filter(|p| p.offset <= meta.len());
        let log_type = LogFile::from_path(path).log_type;
        let mut base = (0, 0);
        let src: Box<dyn Read + Send> = match &saved {
            Some(p) if p.header.is_some() => {
                let header = p.header.clone().unwrap_or_default().into_bytes();
                file.seek(SeekFrom::Start(p.offset))?;
                let lines = header.iter().filter(|&&b| b == b'\n').count() as u64;
                base = (
                    p.offset.saturating_sub(header.len() as u64),
                    p.line.saturating_sub(lines),
                );
                let tail = Tail {
                    file,
                    complete: flag.clone(),
                };
                Box::new(Cursor::new(header).chain(tail))
            }
            _ => Box::new(Tail {
                file,
                complete: flag.clone(),
            }),
        };
        let label = path.display().to_string();
        let mut r = Reader::new(
            src,
            label,
            Some(origin.into()),
            log_type.as_deref(),
            mtime(&meta),
            &self.config.filter,
            self.errors.clone(),
        );
        r.path = path.to_path_buf();
        (r.dev, r.inode) = (meta.dev(), meta.ino());
        r.complete = Some(flag);
        (r.base, r.base_line) = base;
        if let Some(p) = saved {
            tracing::info!("{}: resuming at byte {}", r.label, p.offset);
            r.skip_until = p.offset;
            r.safe = (p.offset, p.line);
        }
        if complete {
            r.rotated_at = Some(Instant::now());
        }
        self.readers.push(r);
        Ok(())
    }

    /// Checks the live files: new ones, rotated ones, truncated ones.
    fn scan(&mut self) {
        let dir = self.follow_dir.clone();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("{}: {e}", dir.display());
                return;
            }
        };
        let mut live: Vec<(PathBuf, u64, u64)> = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !is_live_name(name) {
                continue;
            }
            let path = entry.path();
            let file = LogFile::from_path(&path);
            if !self.config.filter.matches(&file) {
                continue;
            }
            if let Ok(m) = fs::metadata(&path) {
                if m.is_file() {
                    live.push((path, m.dev(), m.ino()));
                }
            }
        }
        let now = Instant::now();
        let mut reopen = Vec::new();
        for (i, r) in self.readers.iter_mut().enumerate() {
            let Some(flag) = &r.complete else { continue };
            if flag.load(Ordering::Acquire) {
                continue;
            }
            match fs::metadata(&r.path) {
                Ok(m) if (m.dev(), m.ino()) == (r.dev, r.inode) => {
                    if m.len() < r.safe.0 {
                        tracing::warn!("{}: truncated; reading it again from its start", r.label);
                        reopen.push(i);
                    }
                }
                _ => {
                    let t = *r.rotated_at.get_or_insert_with(|| {
                        tracing::info!("{}: rotated", r.label);
                        now
                    });
                    if now.duration_since(t) >= self.config.rotate_grace {
                        flag.store(true, Ordering::Release);
                    }
                }
            }
        }
        for i in reopen.into_iter().rev() {
            let r = self.readers.remove(i);
            let origin = r.origin.as_deref().unwrap_or_default().to_string();
            if let Err(e) = self.open_follow(&r.path, origin, false) {
                self.errors.add(1);
                tracing::warn!("{}: {e}", r.path.display());
            }
        }
        let known: HashSet<(u64, u64)> = self.readers.iter().map(|r| (r.dev, r.inode)).collect();
        for (path, dev, ino) in live {
            if known.contains(&(dev, ino)) {
                continue;
            }
            let origin = relative(&self.config.root, &path);
            tracing::info!("{}: following", path.display());
            if let Err(e) = self.open_follow(&path, origin, false) {
                self.errors.add(1);
                tracing::warn!("{}: {e}", path.display());
            }
        }
    }

    /// Finishes files that were followed in an earlier run and rotated away while trawl was
    /// stopped, found by inode below the folder (compressed archives cannot be found so).
    fn adopt_rotated(&mut self) {
        let left: Vec<FilePosition> = self.saved.values().filter(|p| !p.done).cloned().collect();
        if left.is_empty() {
            return;
        }
        let wanted: HashMap<(u64, u64), FilePosition> =
            left.into_iter().map(|p| ((p.dev, p.inode), p)).collect();
        let found =
            trawl_input::discover(std::slice::from_ref(&self.config.root), &Filter::default())
                .map(|d| d.files)
                .unwrap_or_default();
        let mut adopted = HashSet::new();
        for f in found {
            let Ok(m) = fs::metadata(&f.path) else {
                continue;
            };
            if let Some(p) = wanted.get(&(m.dev(), m.ino())) {
                if adopted.insert((m.dev(), m.ino())) {
                    tracing::info!(
                        "{}: finishing {} rotated while stopped",
                        f.path.display(),
                        p.path
                    );
                    if let Err(e) = self.open_follow(&f.path, p.path.clone(), true) {
                        self.errors.add(1);
                        tracing::warn!("{}: {e}", f.path.display());
                    }
                }
            }
        }
        for (id, p) in &wanted {
            if !adopted.contains(id) {
                tracing::warn!(
                    "{}: rotated while stopped and not found again; lines after byte {} may be missed",
                    p.path,
                    p.offset
                );
                self.saved.remove(&id_key(id.0, id.1));
            }
        }
    }
}

fn mtime(meta: &fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_names() {
        assert!(is_live_name("dns.log"));
        assert!(is_live_name("conn.json"));
        assert!(!is_live_name("dns.2024-04-12-09-00-00.log"));
        assert!(!is_live_name("dns.log.gz"));
        assert!(!is_live_name(".hidden.log"));
        assert!(!is_live_name("stderr"));
    }

    #[test]
    fn relative_origin() {
        assert_eq!(
            relative(Path::new("/a/logs"), Path::new("/a/logs/current/dns.log")),
            "current/dns.log"
        );
    }
}
