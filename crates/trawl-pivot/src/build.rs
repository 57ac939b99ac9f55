//! Indexing one log file: its lines cut into blocks of about [`BLOCK`] bytes, every token that is
//! a uid, file id, hash, address or name posted once per block, TSV headers kept so a block can
//! be parsed on its own.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use crate::kind::for_each_token;
use crate::segment::{posting, Block, Meta, Posting};

/// Target size of a block of the uncompressed stream. Smaller blocks make more postings for
/// values that repeat (addresses); larger ones make each hit read and check more lines.
pub const BLOCK: u64 = 32 << 10;
/// Bytes hashed before the resume point to recognise a file that only grew.
const TAIL: u64 = 4096;
/// A header run longer than this is not kept whole (it is not a real header).
const MAX_HEADER: usize = 64 << 10;

/// Tracks TSV header runs (`#` lines) as lines go by.
#[derive(Debug, Default, Clone)]
pub struct HeaderTracker {
    /// The header text being collected or last completed.
    current: Vec<u8>,
    in_run: bool,
    /// The header in effect for data lines.
    pub active: Option<u32>,
}

impl HeaderTracker {
    /// Starts with `active` in effect (its text in `text`).
    pub fn resume(active: Option<u32>, text: Option<&[u8]>) -> Self {
        HeaderTracker {
            current: text.map(<[u8]>::to_vec).unwrap_or_default(),
            in_run: false,
            active,
        }
    }

    /// Feeds a `#` line (with its newline).
    pub fn meta_line(&mut self, line: &[u8]) {
        if !self.in_run {
            self.in_run = true;
            if line.starts_with(b"#separator") {
                self.current.clear();
            }
        }
        if self.current.len() + line.len() <= MAX_HEADER {
            self.current.extend_from_slice(line);
        }
    }

    /// Notes a data line; true when it ends a run of `#` lines (whose text is then
    /// [`HeaderTracker::text`]).
    pub fn data_line(&mut self) -> bool {
        std::mem::replace(&mut self.in_run, false)
    }

    /// The current header text (the completed one once a data line has been seen).
    pub fn text(&self) -> &[u8] {
        &self.current
    }
}

/// The result of indexing (part of) a file.
pub struct Built {
    /// The segment's description.
    pub meta: Meta,
    /// Sorted, deduplicated postings.
    pub postings: Vec<Posting>,
}

/// Indexes `path` from the start. `size`/`mtime` are what was seen before opening.
pub fn build(path: &Path, size: u64, mtime: i64, compressed: bool) -> io::Result<Built> {
    let meta = Meta {
        path: path.to_path_buf(),
        size,
        mtime,
        compressed,
        ..Meta::default()
    };
    let reader = trawl_input::open_sync(path).map_err(io::Error::other)?;
    let mut b = Builder::new(meta, Vec::new(), HeaderTracker::default());
    b.run(reader)?;
    Ok(b.finish(path))
}

/// Whether a plain file indexed as `old` has only grown since (same bytes before the resume
/// point), so indexing can go on from there.
pub fn grew(path: &Path, old: &Meta, size: u64) -> bool {
    if old.compressed || size < old.resume_at || size < old.size {
        return false;
    }
    tail_hash(path, old.resume_at).is_ok_and(|h| h == old.tail_hash)
}

/// Indexes what was appended to a plain file since `old`, keeping `old_postings`.
pub fn append(
    path: &Path,
    old: Meta,
    old_postings: Vec<Posting>,
    size: u64,
    mtime: i64,
) -> io::Result<Built> {
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(old.resume_at))?;
    let active = old.header_at_resume;
    let text = active.and_then(|h| old.headers.get(h as usize)).cloned();
    let mut meta = old;
    meta.size = size;
    meta.mtime = mtime;
    meta.data_len = meta.resume_at;
    // The unfinished last line, if any, is read again.
    let mut b = Builder::new(
        meta,
        old_postings,
        HeaderTracker::resume(active, text.as_deref()),
    );
    b.force_block = true;
    b.run(f)?;
    Ok(b.finish(path))
}

fn tail_hash(path: &Path, end: u64) -> io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(path)?;
    let start = end.saturating_sub(TAIL);
    let mut buf = vec![0u8; (end - start) as usize];
    f.read_exact_at(&mut buf, start)?;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &c in &buf {
        h = (h ^ u64::from(c)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    Ok(h)
}

struct Builder {
    meta: Meta,
    postings: Vec<Posting>,
    headers: HeaderTracker,
    /// Offset of the next byte in the uncompressed stream.
    offset: u64,
    line_no: u64,
    block_start: u64,
    force_block: bool,
    /// Where the current block's postings begin in `postings` (deduplicated block by block to
    /// bound memory: an address seen on every line is posted once per block).
    block_postings: usize,
    /// Whether the active TSV header's first field is `ts`.
    ts_first: bool,
}

impl Builder {
    fn new(meta: Meta, postings: Vec<Posting>, headers: HeaderTracker) -> Self {
        let offset = meta.resume_at;
        let line_no = meta.lines;
        let postings_len = postings.len();
        let ts_first = ts_first(headers.text());
        Builder {
            meta,
            postings,
            headers,
            offset,
            line_no,
            block_start: offset,
            force_block: false,
            block_postings: postings_len,
            ts_first,
        }
    }

    fn run(&mut self, mut r: impl Read) -> io::Result<()> {
        let mut buf = vec![0u8; 1 << 20];
        let mut filled = 0usize;
        loop {
            if filled == buf.len() {
                // One line longer than the buffer: grow (bounded by the input's own size).
                buf.resize(buf.len() * 2, 0);
            }
            let n = match r.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.meta.problems.push(format!(
                        "{e} (indexed the first {} bytes)",
                        self.offset + filled as u64
                    ));
                    break;
                }
            };
            filled += n;
            let done = match memchr::memrchr(b'\n', &buf[..filled]) {
                Some(i) => i + 1,
                None => continue,
            };
            self.lines(&buf[..done]);
            buf.copy_within(done..filled, 0);
            filled -= done;
        }
        // The last line without a newline: indexed, but read again if the file grows.
        let resume_at = self.offset;
        let lines = self.line_no;
        let header_at_resume = self.headers.active;
        if filled > 0 {
            let rest = buf[..filled].to_vec();
            self.lines(&rest);
        }
        self.meta.data_len = self.offset;
        self.meta.resume_at = if self.meta.compressed {
            self.offset
        } else {
            resume_at
        };
        self.meta.lines = if self.meta.compressed {
            self.line_no
        } else {
            lines
        };
        self.meta.header_at_resume = header_at_resume;
        Ok(())
    }

    /// Indexes complete lines (the last may lack its newline at the end of the input).
    fn lines(&mut self, chunk: &[u8]) {
        let mut pos = 0usize;
        while pos < chunk.len() {
            let end = memchr::memchr(b'\n', &chunk[pos..]).map_or(chunk.len(), |i| pos + i + 1);
            let line = &chunk[pos..end];
            self.line_no += 1;
            if self.force_block
                || self.meta.blocks.is_empty()
                || self.offset - self.block_start >= BLOCK
            {
                self.force_block = false;
                self.dedup_block();
                self.block_start = self.offset;
                self.meta.blocks.push(Block {
                    start: self.offset,
                    first_line: self.line_no,
                    header: self.headers.active,
                    ts: (i64::MAX, i64::MIN),
                });
            }
            if line.first() == Some(&b'#')
                || (self.line_no == 1 && trawl_zeek::tsv::is_names_line(line))
            {
                self.headers.meta_line(line);
            } else if line.iter().any(|b| !b.is_ascii_whitespace()) {
                if self.headers.data_line() {
                    let text = self.headers.text();
                    let same = self
                        .headers
                        .active
                        .and_then(|h| self.meta.headers.get(h as usize))
                        .is_some_and(|h| h.as_slice() == text);
                    if !same {
                        self.meta.headers.push(text.to_vec());
                        self.headers.active = Some(self.meta.headers.len() as u32 - 1);
                    }
                    self.ts_first = ts_first(self.headers.text());
                }
                let t = line_ts(line, self.ts_first);
                if let Some(b) = self.meta.blocks.last_mut() {
                    b.ts = match t {
                        Some(t) => (b.ts.0.min(t), b.ts.1.max(t)),
                        None => (i64::MIN, i64::MAX),
                    };
                }
                let block = self.meta.blocks.len() as u32 - 1;
                let postings = &mut self.postings;
                for_each_token(line, |tok| postings.push(posting(tok.key(), block)));
            }
            self.offset += line.len() as u64;
            pos = end;
        }
    }

    fn dedup_block(&mut self) {
        let tail = &mut self.postings[self.block_postings..];
        tail.sort_unstable();
        let mut keep = 0;
        for i in 0..tail.len() {
            if i == 0 || tail[i] != tail[keep - 1] {
                tail[keep] = tail[i];
                keep += 1;
            }
        }
        self.postings.truncate(self.block_postings + keep);
        self.block_postings = self.postings.len();
    }

    fn finish(mut self, path: &Path) -> Built {
        self.postings.sort_unstable();
        self.postings.dedup();
        if !self.meta.compressed {
            self.meta.tail_hash = tail_hash(path, self.meta.resume_at).unwrap_or(0);
        }
        Built {
            meta: self.meta,
            postings: self.postings,
        }
    }
}

/// Whether a TSV header's `#fields` line starts with `ts`.
pub fn ts_first(header: &[u8]) -> bool {
    let Some(fields) = header
        .split(|&b| b == b'\n')
        .rfind(|l| l.starts_with(b"#fields"))
    else {
        return false;
    };
    // `#fields` then the separator, then the first name.
    let rest = fields.get(8..).unwrap_or_default();
    rest.starts_with(b"ts") && matches!(rest.get(2), None | Some(b'\t' | b'\r' | b' ' | b','))
}

/// A data line's `ts`: the first field of a TSV row whose header starts with `ts`, or the `ts`
/// member of a JSON object; `None` when it cannot be told.
pub fn line_ts(line: &[u8], ts_first: bool) -> Option<i64> {
    use trawl_zeek::time::{parse_epoch, parse_iso8601};
    let trimmed = line.trim_ascii_start();
    if trimmed.first() == Some(&b'{') {
        let at = memchr::memmem::find(trimmed, b"\"ts\":")? + 5;
        let rest = trimmed[at..].trim_ascii_start();
        if let Some(q) = rest.strip_prefix(b"\"") {
            let end = memchr::memchr(b'"', q)?;
            let v = &q[..end];
            return parse_iso8601(v).or_else(|| parse_epoch(v));
        }
        let end = rest
            .iter()
            .position(|&b| matches!(b, b',' | b'}' | b' '))
            .unwrap_or(rest.len());
        return parse_epoch(&rest[..end]);
    }
    if !ts_first {
        return None;
    }
    let end = memchr::memchr(b'\t', line).unwrap_or(line.len());
    parse_epoch(line[..end].trim_ascii_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_lines() {
        let h = b"#separator \\x09\n#fields\tts\tuid\n#types\ttime\tstring\n";
        assert!(ts_first(h));
        assert!(!ts_first(b"#fields\tuid\tts\n"));
        assert!(!ts_first(b"#fields\tts_other\n"));
        assert_eq!(line_ts(b"1.5\tCx\n", true), Some(1_500_000_000));
        assert_eq!(line_ts(b"1.5\tCx\n", false), None);
        assert_eq!(line_ts(b"XXXXXXXXXX.XXXXXX\tCx\n", true), None);
        assert_eq!(
            line_ts(br#"{"ts":2.25,"uid":"C"}"#, false),
            Some(2_250_000_000)
        );
        assert_eq!(
            line_ts(br#"{"_path":"dns","ts":"1970-01-01T00:00:03Z"}"#, false),
            Some(3_000_000_000)
        );
        assert_eq!(line_ts(br#"{"uid":"C"}"#, false), None);
        assert_eq!(line_ts(br#"{"ts":"#, false), None);
    }
}
