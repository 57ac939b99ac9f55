//! The parallel scan under every query: files in, [`Block`]s of whole lines out to worker
//! threads, partial results back.
//!
//! - Large plain files are cut into byte ranges of whole lines, each read with `pread` by the
//!   worker that claims it (no `mmap`: mapped pages would count in the process's memory).
//!   Header blocks are tracked across ranges: a range assumes the header block the file starts
//!   with, and the rare file whose header changes midway (logs concatenated with `cat`) is
//!   read in order from that point on. Line numbers are exact either way.
//! - gzip files are inflated on the dispatching thread and their blocks handed to workers;
//!   small files (an archive folder of hourly `.gz` files) are each read whole by one worker,
//!   several at once.
//! - dnsmasq logs, pretty-printed JSON and headerless TSV must be read in order: they become
//!   blocks of records read by the record reader.
//!
//! Header directive lines (`#separator`, `#fields`, `#close` ...) never reach the caller: a
//! TSV block carries the [`Schema`] it was written under. Lines that are not records are
//! reported with file, line and reason in the [`ScanSummary`], never dropped silently.
//!
//! Two ways to consume blocks:
//! - [`Scan::fold`]: each worker folds blocks into its own state; the states come back to be
//!   merged (aggregates: `count`, `summarize`, `top`).
//! - [`Scan::map_ordered`]: blocks are mapped in parallel and the results consumed on the
//!   calling thread in file order, with early stop (`head`, `sort`, output of records).
//!
//! And a fast path for the commonest question, how often each value of one column occurs
//! ([`count_values`]), which reads the column without building records.
//!
//! ```no_run
//! use trawl_query::scan::{count_values, Scan};
//! use trawl_input::LogFile;
//!
//! let scan = Scan::new(vec![LogFile::from_path("dns.log")], 2);
//! let (counts, summary) = count_values(&scan, "query").unwrap();
//! for (value, n) in counts.top(25) {
//!     println!("{n} {}", String::from_utf8_lossy(value.unwrap_or(b"-")));
//! }
//! eprintln!("{} records, {} problems", summary.records, summary.problems_total);
//! ```

mod block;
mod count;
mod engine;
mod jsonkey;
mod keys;
mod progress;
mod segment;

use std::ops::ControlFlow;
use std::path::PathBuf;

pub use block::{Block, BlockData, FileInfo, Ordinal, Rec};
pub use count::{count_values, count_values_where, ValueCounts};
#[doc(hidden)]
pub use engine::Sizes;
#[doc(hidden)]
pub use jsonkey::check_against_parser;
pub use segment::Schema;
use trawl_input::LogFile;

/// One input of a scan.
#[derive(Debug, Clone)]
pub enum Input {
    /// A file (plain, gzip or zstd; told by its magic bytes).
    File(LogFile),
    /// Standard input (read in parallel ranges when it is a redirected regular file).
    Stdin,
}

/// When to show a progress bar on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// When stderr is a terminal and the scan has run for more than a second.
    #[default]
    Auto,
    /// Never.
    Off,
}

/// A scan of some inputs with some threads. Cheap to build; each run reads the inputs again.
#[derive(Debug, Clone)]
pub struct Scan {
    pub(crate) inputs: Vec<Input>,
    pub(crate) threads: usize,
    pub(crate) progress: Progress,
    pub(crate) sizes: engine::Sizes,
    /// Lines longer than this are skipped and reported.
    pub(crate) max_line: usize,
}

/// A problem met during a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanProblem {
    /// The file, as named in [`FileInfo::name`].
    pub file: String,
    /// 1-based line number; 0 for a problem with the whole file (unreadable, corrupt gzip).
    pub line: u64,
    pub reason: String,
}

impl std::fmt::Display for ScanProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file, self.line, self.reason)
        } else {
            write!(f, "{}: {}", self.file, self.reason)
        }
    }
}

/// What a scan read, and what it could not.
#[derive(Debug, Clone, Default)]
pub struct ScanSummary {
    /// Files (and stdin) scanned, including those that failed.
    pub files: u64,
    /// Files that could not be opened or read to the end (each also has a problem, line 0).
    pub failed_files: u64,
    /// Bytes of input read (compressed bytes for compressed files).
    pub bytes: u64,
    /// Lines read (header lines included).
    pub lines: u64,
    /// Records handed out by the block readers ([`Block::for_each_record`],
    /// [`count_values`]) or counted by the caller with [`Block::add_records`].
    pub records: u64,
    /// Lines that were no record and could not be read as one (in `problems` too).
    pub bad_lines: u64,
    /// All problems met, including those not kept in `problems`.
    pub problems_total: u64,
    /// The first problems met (at most [`MAX_PROBLEMS`]), sorted by file then line.
    pub problems: Vec<ScanProblem>,
}

/// Problems kept in a [`ScanSummary`]; beyond this they are only counted.
pub const MAX_PROBLEMS: usize = 1000;

impl ScanSummary {
    /// Adds another scan's counts and problems (keeping at most [`MAX_PROBLEMS`]).
    pub fn merge(&mut self, o: ScanSummary) {
        self.files += o.files;
        self.failed_files += o.failed_files;
        self.bytes += o.bytes;
        self.lines += o.lines;
        self.records += o.records;
        self.bad_lines += o.bad_lines;
        self.problems_total += o.problems_total;
        let room = MAX_PROBLEMS.saturating_sub(self.problems.len());
        self.problems.extend(o.problems.into_iter().take(room));
    }
}

/// Why a scan could not run at all. Problems with single files or lines are not errors:
/// they are in the [`ScanSummary`].
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Every input failed to open or read.
    #[error("no input could be read: {0}")]
    NoInput(String),
    /// A worker thread could not be started or died.
    #[error("scan worker failed: {0}")]
    Worker(String),
}

/// A block's result for [`Scan::map_ordered`], delivered in file order.
#[derive(Debug)]
pub struct Ordered<T> {
    pub ordinal: Ordinal,
    /// The file's position in the input list.
    pub file: u32,
    /// First line of the block in its file.
    pub first_line: u64,
    pub value: T,
}

impl Scan {
    /// A scan of `files` (from [`trawl_input::discover`]) on `threads` workers (at least 1).
    pub fn new(files: Vec<LogFile>, threads: usize) -> Scan {
        Scan {
            inputs: files.into_iter().map(Input::File).collect(),
            threads: threads.max(1),
            progress: Progress::Auto,
            sizes: engine::Sizes::DEFAULT,
            max_line: trawl_zeek::lines::max_line(),
        }
    }

    /// A scan of standard input.
    pub fn stdin(threads: usize) -> Scan {
        Scan::from_inputs(vec![Input::Stdin], threads)
    }

    /// A scan of any inputs, standard input among them.
    pub fn from_inputs(inputs: Vec<Input>, threads: usize) -> Scan {
        Scan {
            inputs,
            threads: threads.max(1),
            progress: Progress::Auto,
            sizes: engine::Sizes::DEFAULT,
            max_line: trawl_zeek::lines::max_line(),
        }
    }

    /// A scan of paths named directly (each as one file; no folder walk).
    pub fn from_paths(paths: &[PathBuf], threads: usize) -> Scan {
        Scan::new(paths.iter().map(LogFile::from_path).collect(), threads)
    }

    /// Sets when a progress bar is shown.
    pub fn progress(mut self, p: Progress) -> Scan {
        self.progress = p;
        self
    }

    /// Skips lines longer than `max` bytes, reporting each (default:
    /// [`trawl_zeek::lines::max_line`], `TRAWL_MAX_LINE`).
    pub fn with_max_line(mut self, max: usize) -> Scan {
        self.max_line = max.max(1);
        self
    }

    /// Sets how inputs are cut up (for tests of the block splitting; the defaults suit real
    /// logs).
    #[doc(hidden)]
    pub fn with_sizes(mut self, sizes: Sizes) -> Scan {
        self.sizes = sizes;
        self
    }

    /// The inputs, in order ([`Ordinal::file`] indexes them).
    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Reads every block once, in no particular order: each worker starts a state with
    /// `init` and folds its blocks into it with `each`. Returns the states (one or more per
    /// worker, to be merged by the caller) and the summary.
    pub fn fold<S, I, E>(&self, init: I, each: E) -> Result<(Vec<S>, ScanSummary), ScanError>
    where
        S: Send,
        I: Fn() -> S + Sync,
        E: Fn(&mut S, &Block<'_>) + Sync,
    {
        engine::fold(self, &init, &each)
    }

    /// Maps every block with `map` on the workers and hands the results to `consume` on the
    /// calling thread in file order (by [`Ordinal`]). `consume` may stop the scan early with
    /// `ControlFlow::Break`. Workers run at most a few blocks ahead of `consume`, so memory
    /// stays bounded whatever the input.
    pub fn map_ordered<T, M, C>(&self, map: M, consume: C) -> Result<ScanSummary, ScanError>
    where
        T: Send,
        M: Fn(&Block<'_>) -> T + Sync,
        C: FnMut(Ordered<T>) -> ControlFlow<()>,
    {
        engine::map_ordered(self, &map, consume)
    }
}
