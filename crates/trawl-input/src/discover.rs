//! Finding log files: named files, folders walked recursively, Zeek archive layouts;
//! chosen by name (type and time span) before any is opened.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::name::{overlaps, parse_name};
use crate::{Compression, InputError, Nanos};

/// A log file found by [`discover`], described by its name alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogFile {
    /// As given, or as found below a given folder.
    pub path: PathBuf,
    /// The name up to its first dot: `conn` for `conn.log`,
    /// `conn.09:00:00-10:00:00.log.gz` or `conn.2024-04-12-09-00-00.log`;
    /// `None` for hidden or empty names.
    pub log_type: Option<String>,
    /// When the rotated file was written, `[start, end)` in UTC, from a dated folder
    /// (`2024-04-12/`) and the hours in the name, or from a full date-time in the name.
    /// `end` is `Nanos::MAX` when the name gives only the opening time.
    ///
    /// Rows may carry an earlier `ts` than `start`: a `conn.log` row is written when
    /// its connection ends but stamped when it began.
    pub span: Option<(Nanos, Nanos)>,
    /// What the extension claims; [`open`](crate::open) goes by magic bytes instead.
    pub compressed: Compression,
}

impl LogFile {
    /// Describes `path` from its name (and its folder's), without touching the disk.
    pub fn from_path(path: impl Into<PathBuf>) -> LogFile {
        let path = path.into();
        let info = parse_name(&path);
        LogFile {
            log_type: info.log_type,
            span: info.span,
            compressed: info.compression,
            path,
        }
    }
}

/// Which files [`discover`] keeps, judged by name before opening them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Keep only these log types (`Some(vec![])` keeps nothing).
    pub types: Option<Vec<String>>,
    /// Drop files whose span ends at or before this.
    pub since: Option<Nanos>,
    /// Drop files whose span starts at or after this.
    pub until: Option<Nanos>,
}

impl Filter {
    /// Whether `file` may hold wanted rows. Files without a span are kept: the
    /// reader filters their rows by `ts`.
    pub fn matches(&self, file: &LogFile) -> bool {
        let type_ok = match (&self.types, &file.log_type) {
            (None, _) => true,
            (Some(types), Some(t)) => types.iter().any(|w| w == t),
            (Some(_), None) => false,
        };
        type_ok
            && file
                .span
                .map_or(true, |span| overlaps(span, self.since, self.until))
    }
}

/// What [`discover`] found, and what it could not look at.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Sorted by (span start, path); files without a span come last, by path.
    pub files: Vec<LogFile>,
    /// Paths, or entries below a folder, that could not be read; the rest went on.
    pub problems: Vec<InputError>,
}

/// Finds the log files among `paths` and keeps those `filter` allows.
///
/// A named file is always considered, whatever its name (the filter still
/// applies to it); `-` is not a path here, see [`open_reader`](crate::open_reader). A folder is walked
/// recursively, following symlinks (zeekctl's `logs/current` is one), skipping
/// hidden entries and taking only names with a log extension (`.log`, `.json`,
/// `.jsonl`, `.ndjson`, `.tsv`, `.txt`) before any rotation suffix and under any
/// `.gz`/`.zst`: `conn.log`, `dns.09:00:00-10:00:00.json.gz`,
/// `conn.log.2024-04-12-09-00-00`, `dnsmasq.log.1.gz`.
///
/// Unreadable paths are listed in [`Discovery::problems`]; only when every path
/// given is unreadable is that an error ([`InputError::NoInput`]).
pub fn discover(paths: &[PathBuf], filter: &Filter) -> Result<Discovery, InputError> {
    let mut found = Discovery::default();
    let mut failed_roots = 0;
    for root in paths {
        match std::fs::metadata(root) {
            Err(e) => {
                failed_roots += 1;
                found.problems.push(InputError::io(root, e));
            }
            Ok(meta) if meta.is_dir() => walk(root, filter, &mut found),
            Ok(_) => {
                let file = LogFile::from_path(root);
                if filter.matches(&file) {
                    found.files.push(file);
                }
            }
        }
    }
    if failed_roots > 0 && failed_roots == paths.len() {
        return Err(InputError::NoInput {
            problems: found.problems,
        });
    }
    found.files.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    // The same file named twice, or given and also found in a folder.
    found.files.dedup_by(|a, b| a.path == b.path);
    Ok(found)
}

fn sort_key(f: &LogFile) -> (Nanos, &Path) {
    (f.span.map_or(Nanos::MAX, |s| s.0), &f.path)
}

fn walk(root: &Path, filter: &Filter, found: &mut Discovery) {
    let entries = WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()));
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                found.problems.push(InputError::Walk { path, source: e });
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let info = parse_name(entry.path());
        if !info.looks_like_log {
            continue;
        }
        let file = LogFile {
            path: entry.into_path(),
            log_type: info.log_type,
            span: info.span,
            compressed: info.compression,
        };
        if filter.matches(&file) {
            found.files.push(file);
        }
    }
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}
