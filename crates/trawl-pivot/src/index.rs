//! The index: one segment per log file under a cache folder, brought up to date before each
//! pivot. A file is known by its absolute path, size and modification time: unchanged files are
//! used as they are, plain files that only grew are indexed from where the last run stopped,
//! anything else (rewritten, rotated, compressed and changed) is indexed again.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use rayon::prelude::*;
use trawl_input::LogFile;

use crate::build::{self, Built};
use crate::segment::{self, Segment};
use crate::PivotError;

/// Segments live in this subfolder of the index folder; a new layout gets a new name.
const LAYOUT: &str = "v1";

/// An index folder.
#[derive(Debug, Clone)]
pub struct Index {
    dir: PathBuf,
}

/// A log file and its up-to-date segment.
#[derive(Debug)]
pub struct IndexedFile {
    /// The file, as discovered.
    pub file: LogFile,
    /// Its segment.
    pub segment: Segment,
}

/// What [`Index::refresh`] did.
#[derive(Debug, Default, Clone)]
pub struct Refresh {
    /// Files considered.
    pub files: usize,
    /// Files indexed from the start.
    pub built: usize,
    /// Plain files indexed from where they had grown.
    pub appended: usize,
    /// Uncompressed bytes read to index them.
    pub bytes_read: u64,
    /// Size on disk of the files considered.
    pub data_bytes: u64,
    /// Size of their segments.
    pub index_bytes: u64,
    /// Time spent.
    pub elapsed: Duration,
    /// Files that could not be indexed, or only in part (`path: reason`).
    pub problems: Vec<String>,
}

enum Outcome {
    Fresh(Box<IndexedFile>),
    Built(Box<IndexedFile>, u64, bool),
    Failed(String),
}

impl Index {
    /// An index kept in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Index {
        Index { dir: dir.into() }
    }

    /// `$XDG_CACHE_HOME/trawl/index`, else `$HOME/.cache/trawl/index`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".cache"))
            })?;
        Some(base.join("trawl").join("index"))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn segment_path(&self, abs: &Path) -> PathBuf {
        use std::os::unix::ffi::OsStrExt;
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &c in abs.as_os_str().as_bytes() {
            h = (h ^ u64::from(c)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.dir.join(LAYOUT).join(format!("{h:016x}.seg"))
    }

    /// Brings the segments of `files` up to date, `threads` files at a time, and opens them.
    /// Files that cannot be read are left out and listed in [`Refresh::problems`]; a file read
    /// only in part (corrupt or truncated compressed data) is indexed as far as it goes and
    /// listed too. Failing to write the index folder is an error.
    pub fn refresh(
        &self,
        files: Vec<LogFile>,
        threads: usize,
    ) -> Result<(Vec<IndexedFile>, Refresh), PivotError> {
        let started = Instant::now();
        std::fs::create_dir_all(self.dir.join(LAYOUT)).map_err(|e| PivotError::IndexDir {
            dir: self.dir.clone(),
            source: e,
        })?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .map_err(|e| PivotError::Threads(e.to_string()))?;
        let outcomes: Vec<Result<Outcome, PivotError>> =
            pool.install(|| files.into_par_iter().map(|f| self.refresh_one(f)).collect());
        let mut report = Refresh {
            elapsed: Duration::ZERO,
            ..Refresh::default()
        };
        let mut out = Vec::new();
        for o in outcomes {
            report.files += 1;
            let ix = match o? {
                Outcome::Fresh(ix) => ix,
                Outcome::Built(ix, read, appended) => {
                    report.bytes_read += read;
                    if appended {
                        report.appended += 1;
                    } else {
                        report.built += 1;
                    }
                    ix
                }
                Outcome::Failed(p) => {
                    report.problems.push(p);
                    continue;
                }
            };
            for p in &ix.segment.meta.problems {
                report
                    .problems
                    .push(format!("{}: {p}", ix.file.path.display()));
            }
            report.data_bytes += ix.segment.meta.size;
            report.index_bytes += ix.segment.bytes;
            out.push(*ix);
        }
        report.elapsed = started.elapsed();
        Ok((out, report))
    }

    fn refresh_one(&self, file: LogFile) -> Result<Outcome, PivotError> {
        let abs = std::fs::canonicalize(&file.path).unwrap_or_else(|_| file.path.clone());
        let md = match std::fs::metadata(&abs) {
            Ok(m) => m,
            Err(e) => return Ok(Outcome::Failed(format!("{}: {e}", file.path.display()))),
        };
        let size = md.len();
        let mtime = md
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64);
        let seg_path = self.segment_path(&abs);
        let old = Segment::open(&seg_path).ok().filter(|s| s.meta.path == abs);
        if let Some(s) = &old {
            if s.meta.size == size && s.meta.mtime == mtime {
                return Ok(Outcome::Fresh(Box::new(IndexedFile {
                    file,
                    segment: old.expect("checked above"),
                })));
            }
        }
        let appendable = old
            .as_ref()
            .filter(|s| build::grew(&abs, &s.meta, size))
            .and_then(|s| s.all_postings().ok().map(|p| (s.meta.clone(), p)));
        let (built, appended) = match appendable {
            Some((meta, postings)) => (build::append(&abs, meta, postings, size, mtime), true),
            None => (build::build(&abs, size, mtime, is_compressed(&abs)), false),
        };
        let Built { meta, postings } = match built {
            Ok(b) => b,
            Err(e) => return Ok(Outcome::Failed(format!("{}: {e}", file.path.display()))),
        };
        let read = meta.data_len;
        segment::write(&seg_path, &meta, &postings).map_err(|e| PivotError::IndexDir {
            dir: self.dir.clone(),
            source: e,
        })?;
        let segment = Segment::open(&seg_path).map_err(|e| PivotError::IndexDir {
            dir: self.dir.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(Outcome::Built(
            Box::new(IndexedFile { file, segment }),
            read,
            appended,
        ))
    }
}

/// Whether the file is not plain text by its magic bytes (gzip, zstd, or a format no reader
/// takes).
fn is_compressed(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    trawl_input::compression_of(&head[..n]) != Ok(trawl_input::Compression::None)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::search::{Indexed, Searcher};
    use crate::PivotValue;

    const HEAD: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.resp_h\n#types\ttime\tstring\taddr\taddr\n";

    fn row(i: u32) -> String {
        format!(
            "{}.5\tCuid{i:014}\t10.0.{}.{}\t192.0.2.1\n",
            1_700_000_000 + i,
            i / 256,
            i % 256
        )
    }

    fn lines_of(files: Vec<IndexedFile>, v: &str) -> Vec<u64> {
        let s = Indexed::new(files, 1);
        let v = PivotValue::parse(v).unwrap();
        let mut l: Vec<u64> = s
            .find(std::slice::from_ref(&v), &|_| true, None, None)
            .hits
            .iter()
            .map(|h| h.line)
            .collect();
        l.sort_unstable();
        l
    }

    fn refresh(ix: &Index, path: &Path) -> (Vec<IndexedFile>, Refresh) {
        ix.refresh(vec![LogFile::from_path(path)], 1).unwrap()
    }

    #[test]
    fn built_reused_appended_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("conn.log");
        let ix = Index::new(dir.path().join("index"));
        let mut text = HEAD.to_string();
        // Enough rows for several blocks.
        for i in 0..3000 {
            text.push_str(&row(i));
        }
        std::fs::write(&log, &text).unwrap();

        let (files, r) = refresh(&ix, &log);
        assert_eq!((r.built, r.appended, r.problems.len()), (1, 0, 0));
        assert!(files[0].segment.meta.blocks.len() > 3);
        assert_eq!(lines_of(files, "Cuid00000000002999"), vec![7 + 3000]);

        let (files, r) = refresh(&ix, &log);
        assert_eq!((r.built, r.appended), (0, 0), "unchanged: reused");
        assert_eq!(lines_of(files, "10.0.0.5"), vec![7 + 6]);

        // Zeek appends to current/conn.log; a half-written last line too.
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(row(3000).as_bytes()).unwrap();
        f.write_all(b"1700009999.5\tCuid0000000000").unwrap();
        drop(f);
        let (files, r) = refresh(&ix, &log);
        assert_eq!((r.built, r.appended), (0, 1));
        assert_eq!(lines_of(files, "Cuid00000000003000"), vec![7 + 3001]);
        // The rest of the half line arrives.
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(b"3001\t10.9.9.9\t192.0.2.1\n").unwrap();
        drop(f);
        let (files, r) = refresh(&ix, &log);
        assert_eq!((r.built, r.appended), (0, 1));
        assert_eq!(lines_of(files, "Cuid00000000003001"), vec![7 + 3002]);
        let (files, _) = refresh(&ix, &log);
        assert_eq!(lines_of(files, "10.9.9.9"), vec![7 + 3002]);

        // Rotated away and a new file in its place: indexed again.
        let mut text = HEAD.to_string();
        text.push_str(&row(77_000));
        std::fs::write(&log, &text).unwrap();
        let (files, r) = refresh(&ix, &log);
        assert_eq!((r.built, r.appended), (1, 0));
        assert_eq!(lines_of(files, "Cuid00000000077000"), vec![8]);
        let (files, _) = refresh(&ix, &log);
        assert!(lines_of(files, "Cuid00000000002999").is_empty());
    }

    #[test]
    fn gzip_whole_and_corrupt() {
        use flate2::write::GzEncoder;
        let dir = tempfile::tempdir().unwrap();
        let ix = Index::new(dir.path().join("index"));
        let mut text = HEAD.to_string();
        for i in 0..5000 {
            text.push_str(&row(i));
        }
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(text.as_bytes()).unwrap();
        let gz = enc.finish().unwrap();
        let good = dir.path().join("conn.09:00:00-10:00:00.log.gz");
        std::fs::write(&good, &gz).unwrap();
        let (files, r) = refresh(&ix, &good);
        assert_eq!((r.built, r.problems.len()), (1, 0));
        assert!(files[0].segment.meta.compressed);
        assert_eq!(lines_of(files, "Cuid00000000004000"), vec![7 + 4001]);

        // Cut in the middle: what decoded is indexed and the problem reported.
        let cut = dir.path().join("conn.10:00:00-11:00:00.log.gz");
        std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
        let (files, r) = refresh(&ix, &cut);
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert!(
            r.problems[0].contains("indexed the first"),
            "{:?}",
            r.problems
        );
        assert_eq!(lines_of(files, "Cuid00000000000010"), vec![7 + 11]);

        // Not gzip at all behind a .gz name: read as text, nothing found, no panic.
        let junk = dir.path().join("dns.log.gz");
        std::fs::write(&junk, b"\x1f\x8b\x08\x00garbage").unwrap();
        let (files, r) = refresh(&ix, &junk);
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert!(lines_of(files, "10.0.0.1").is_empty());
    }

    #[test]
    fn unwritable_index_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let log = dir.path().join("conn.log");
        std::fs::write(&log, HEAD).unwrap();
        let ix = Index::new(file.join("index"));
        let err = ix.refresh(vec![LogFile::from_path(&log)], 1).unwrap_err();
        assert!(err.to_string().contains("--index-dir"), "{err}");
    }
}
