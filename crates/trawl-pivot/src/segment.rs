//! One index segment per log file: what was indexed (path, size, mtime, blocks, TSV headers) and
//! the postings, value key -> block, compressed.
//!
//! Layout (little endian):
//!
//! ```text
//! "TRWLPIX2"  u64 meta_len  meta  u64 n_entries  u64 n_groups
//! groups: n_groups x (u32 key, u32 block, u64 data_offset)     every 64th posting, absolute
//! data:   the other postings as varints: key delta; then block delta if the key repeats,
//!         else the block
//! ```
//!
//! A lookup reads the meta and the group table, binary-searches the groups and decodes only the
//! few hundred bytes that can hold the key: the postings are never loaded whole. Segments are
//! written to a temporary name and renamed, so a reader never sees half a segment.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"TRWLPIX2";
/// Postings per group (one absolute entry in the group table per group).
const GROUP: usize = 64;
/// A meta section larger than this is taken for corruption.
const MAX_META: u64 = 1 << 30;

/// A run of lines of the uncompressed stream, the unit postings point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// Offset of its first byte in the uncompressed stream.
    pub start: u64,
    /// Line number (1-based) of its first line.
    pub first_line: u64,
    /// Index into [`Meta::headers`] of the TSV header in effect at its start, if any.
    pub header: Option<u32>,
    /// The earliest and latest `ts` of its records; `(i64::MIN, i64::MAX)` when a record's
    /// time could not be told, and `(i64::MAX, i64::MIN)` when it holds no records.
    pub ts: (i64, i64),
}

impl Block {
    /// Whether the block may hold records from `[lo, hi]`.
    pub fn overlaps(&self, lo: i64, hi: i64) -> bool {
        self.ts.0 <= hi && self.ts.1 >= lo
    }
}

/// What a segment says about the file it indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// The log file (absolute).
    pub path: PathBuf,
    /// Its size on disk when indexed.
    pub size: u64,
    /// Its modification time when indexed, nanoseconds since the epoch.
    pub mtime: i64,
    /// Whether it was compressed (then it is never appended to, only rebuilt).
    pub compressed: bool,
    /// Uncompressed bytes read.
    pub data_len: u64,
    /// Where indexing resumes when a plain file grows: after its last complete line.
    pub resume_at: u64,
    /// A hash of up to 4 KiB before `resume_at`, to tell growth from replacement.
    pub tail_hash: u64,
    /// Lines read (the next line's number minus one, counted up to `resume_at`).
    pub lines: u64,
    /// TSV header blocks met, verbatim (`#separator` ... `#types` lines).
    pub headers: Vec<Vec<u8>>,
    /// Index into `headers` in effect at `resume_at`.
    pub header_at_resume: Option<u32>,
    /// What went wrong while reading (corrupt or truncated compressed data ...).
    pub problems: Vec<String>,
    /// The blocks, in order.
    pub blocks: Vec<Block>,
}

impl Meta {
    /// Byte range of block `i` in the uncompressed stream.
    pub fn block_range(&self, i: usize) -> Option<(u64, u64)> {
        let b = self.blocks.get(i)?;
        let end = self
            .blocks
            .get(i + 1)
            .map_or(self.data_len, |n| n.start)
            .max(b.start);
        Some((b.start, end))
    }
}

/// A posting: value key (high 32 bits of the 64-bit key) and block number, packed for sorting.
pub type Posting = u64;

/// Packs a posting.
pub fn posting(key: u64, block: u32) -> Posting {
    (key & 0xffff_ffff_0000_0000) | u64::from(block)
}

fn key32(key: u64) -> u32 {
    (key >> 32) as u32
}

/// Writes a segment to `dest` atomically. `postings` must be sorted and deduplicated.
pub fn write(dest: &Path, meta: &Meta, postings: &[Posting]) -> io::Result<u64> {
    let mut out = Vec::with_capacity(64 + postings.len() * 3);
    out.extend_from_slice(MAGIC);
    let m = encode_meta(meta);
    out.extend_from_slice(&(m.len() as u64).to_le_bytes());
    out.extend_from_slice(&m);
    let groups = postings.len().div_ceil(GROUP);
    out.extend_from_slice(&(postings.len() as u64).to_le_bytes());
    out.extend_from_slice(&(groups as u64).to_le_bytes());
    let table_at = out.len();
    out.resize(table_at + groups * 16, 0);
    let data_at = out.len();
    let mut prev = (0u32, 0u32);
    for (i, &p) in postings.iter().enumerate() {
        let (k, b) = ((p >> 32) as u32, p as u32);
        if i % GROUP == 0 {
            let g = table_at + (i / GROUP) * 16;
            out[g..g + 4].copy_from_slice(&k.to_le_bytes());
            out[g + 4..g + 8].copy_from_slice(&b.to_le_bytes());
            let off = (out.len() - data_at) as u64;
            out[g + 8..g + 16].copy_from_slice(&off.to_le_bytes());
        } else if k == prev.0 {
            put_varint(&mut out, 0);
            put_varint(&mut out, u64::from(b.wrapping_sub(prev.1)));
        } else {
            put_varint(&mut out, u64::from(k.wrapping_sub(prev.0)));
            put_varint(&mut out, u64::from(b));
        }
        prev = (k, b);
    }
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(
        ".{}.{}.{}.tmp",
        dest.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("segment"),
        std::process::id(),
        unique()
    ));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(&out)?;
        f.flush()?;
        std::fs::rename(&tmp, dest)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| out.len() as u64)
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A segment opened for lookups.
#[derive(Debug)]
pub struct Segment {
    file: File,
    /// What it indexes.
    pub meta: Meta,
    n_entries: u64,
    groups: Vec<(u32, u32, u64)>,
    data_at: u64,
    data_len: u64,
    /// Its size on disk.
    pub bytes: u64,
}

/// Why a segment could not be used (it is then rebuilt).
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// Reading it failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// It is not a segment of this version, or is damaged.
    #[error("damaged index segment")]
    Damaged,
}

impl Segment {
    /// Opens a segment, reading its meta and group table.
    pub fn open(path: &Path) -> Result<Segment, SegmentError> {
        let file = File::open(path)?;
        let bytes = file.metadata()?.len();
        let mut head = [0u8; 16];
        file.read_exact_at(&mut head, 0)?;
        if &head[..8] != MAGIC {
            return Err(SegmentError::Damaged);
        }
        let meta_len =
            u64::from_le_bytes(head[8..16].try_into().map_err(|_| SegmentError::Damaged)?);
        if meta_len > MAX_META || 16 + meta_len + 16 > bytes {
            return Err(SegmentError::Damaged);
        }
        let mut m = vec![0u8; meta_len as usize + 16];
        file.read_exact_at(&mut m, 16)?;
        let meta = decode_meta(&m[..meta_len as usize]).ok_or(SegmentError::Damaged)?;
        let tail = &m[meta_len as usize..];
        let n_entries =
            u64::from_le_bytes(tail[..8].try_into().map_err(|_| SegmentError::Damaged)?);
        let n_groups =
            u64::from_le_bytes(tail[8..16].try_into().map_err(|_| SegmentError::Damaged)?);
        let table_at = 32 + meta_len;
        if n_groups != n_entries.div_ceil(GROUP as u64)
            || table_at.saturating_add(n_groups.saturating_mul(16)) > bytes
        {
            return Err(SegmentError::Damaged);
        }
        let mut t = vec![0u8; n_groups as usize * 16];
        file.read_exact_at(&mut t, table_at)?;
        let groups: Vec<(u32, u32, u64)> = t
            .chunks_exact(16)
            .map(|c| {
                (
                    u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                    u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                    u64::from_le_bytes([c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15]]),
                )
            })
            .collect();
        let data_at = table_at + n_groups * 16;
        Ok(Segment {
            file,
            meta,
            n_entries,
            groups,
            data_at,
            data_len: bytes - data_at,
            bytes,
        })
    }

    /// Postings in the segment.
    pub fn entries(&self) -> u64 {
        self.n_entries
    }

    /// The blocks that may hold `key`, ascending.
    pub fn lookup(&self, key: u64) -> Result<Vec<u32>, SegmentError> {
        let k = key32(key);
        let first_ge = self.groups.partition_point(|g| g.0 < k);
        // The key's run may begin at the end of the group before.
        let start = first_ge.saturating_sub(1);
        let end = self.groups[start..].partition_point(|g| g.0 <= k) + start;
        if start >= end {
            return Ok(Vec::new());
        }
        let from = self.groups[start].2;
        let to = self.groups.get(end).map_or(self.data_len, |g| g.2);
        if from > to || to > self.data_len {
            return Err(SegmentError::Damaged);
        }
        let mut data = vec![0u8; (to - from) as usize];
        self.file.read_exact_at(&mut data, self.data_at + from)?;
        let mut out = Vec::new();
        let mut pos = 0usize;
        for gi in start..end {
            self.decode_group(gi, &data, &mut pos, |ck, cb| {
                if ck == k {
                    out.push(cb);
                }
            })?;
        }
        out.dedup();
        Ok(out)
    }

    /// Every posting, decoded (to merge with the postings of appended lines).
    pub fn all_postings(&self) -> Result<Vec<Posting>, SegmentError> {
        let mut data = vec![0u8; self.data_len as usize];
        self.file.read_exact_at(&mut data, self.data_at)?;
        let mut out = Vec::with_capacity(self.n_entries as usize);
        let mut pos = 0usize;
        for gi in 0..self.groups.len() {
            self.decode_group(gi, &data, &mut pos, |ck, cb| {
                out.push((u64::from(ck) << 32) | u64::from(cb));
            })?;
        }
        Ok(out)
    }

    /// Decodes group `gi` from `data` at `pos` (which it advances), handing each posting's
    /// key and block to `f`. A group starts with the posting in the group table; then
    /// (key delta, block) pairs, or (0, block delta) within one key.
    fn decode_group(
        &self,
        gi: usize,
        data: &[u8],
        pos: &mut usize,
        mut f: impl FnMut(u32, u32),
    ) -> Result<(), SegmentError> {
        let g = self.groups.get(gi).ok_or(SegmentError::Damaged)?;
        // `open` checked that the groups hold exactly `n_entries`.
        let in_group = (self.n_entries as usize - gi * GROUP).min(GROUP);
        let (mut ck, mut cb) = (g.0, g.1);
        f(ck, cb);
        for _ in 1..in_group {
            let dk = get_varint(data, pos).ok_or(SegmentError::Damaged)?;
            let v = get_varint(data, pos).ok_or(SegmentError::Damaged)?;
            if dk == 0 {
                cb = cb.wrapping_add(v as u32);
            } else {
                ck = ck.wrapping_add(dk as u32);
                cb = v as u32;
            }
            f(ck, cb);
        }
        Ok(())
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn encode_meta(m: &Meta) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::new();
    put_bytes(&mut out, m.path.as_os_str().as_bytes());
    for v in [
        m.size,
        m.mtime as u64,
        m.data_len,
        m.resume_at,
        m.tail_hash,
        m.lines,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.push(u8::from(m.compressed));
    put_varint(&mut out, m.header_at_resume.map_or(0, |h| u64::from(h) + 1));
    put_varint(&mut out, m.headers.len() as u64);
    for h in &m.headers {
        put_bytes(&mut out, h);
    }
    put_varint(&mut out, m.problems.len() as u64);
    for p in &m.problems {
        put_bytes(&mut out, p.as_bytes());
    }
    put_varint(&mut out, m.blocks.len() as u64);
    let mut prev = (0u64, 0u64);
    for b in &m.blocks {
        put_varint(&mut out, b.start - prev.0);
        put_varint(&mut out, b.first_line - prev.1);
        put_varint(&mut out, b.header.map_or(0, |h| u64::from(h) + 1));
        out.extend_from_slice(&b.ts.0.to_le_bytes());
        out.extend_from_slice(&b.ts.1.to_le_bytes());
        prev = (b.start, b.first_line);
    }
    out
}

fn decode_meta(d: &[u8]) -> Option<Meta> {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let mut pos = 0usize;
    let bytes = |pos: &mut usize| -> Option<&[u8]> {
        let n = usize::try_from(get_varint(d, pos)?).ok()?;
        let s = d.get(*pos..pos.checked_add(n)?)?;
        *pos += n;
        Some(s)
    };
    let u64_at = |pos: &mut usize| -> Option<u64> {
        let s = d.get(*pos..*pos + 8)?;
        *pos += 8;
        Some(u64::from_le_bytes(s.try_into().ok()?))
    };
    let opt = |v: u64| -> Option<Option<u32>> {
        if v == 0 {
            Some(None)
        } else {
            u32::try_from(v - 1).ok().map(Some)
        }
    };
    let mut m = Meta {
        path: PathBuf::from(OsStr::from_bytes(bytes(&mut pos)?)),
        ..Meta::default()
    };
    m.size = u64_at(&mut pos)?;
    m.mtime = u64_at(&mut pos)? as i64;
    m.data_len = u64_at(&mut pos)?;
    m.resume_at = u64_at(&mut pos)?;
    m.tail_hash = u64_at(&mut pos)?;
    m.lines = u64_at(&mut pos)?;
    m.compressed = *d.get(pos)? != 0;
    pos += 1;
    m.header_at_resume = opt(get_varint(d, &mut pos)?)?;
    let n = get_varint(d, &mut pos)?;
    for _ in 0..n {
        m.headers.push(bytes(&mut pos)?.to_vec());
    }
    let n = get_varint(d, &mut pos)?;
    for _ in 0..n {
        m.problems
            .push(String::from_utf8_lossy(bytes(&mut pos)?).into_owned());
    }
    let n = get_varint(d, &mut pos)?;
    let mut prev = (0u64, 0u64);
    for _ in 0..n {
        let start = prev.0.checked_add(get_varint(d, &mut pos)?)?;
        let first_line = prev.1.checked_add(get_varint(d, &mut pos)?)?;
        let header = opt(get_varint(d, &mut pos)?)?;
        let lo = u64_at(&mut pos)? as i64;
        let hi = u64_at(&mut pos)? as i64;
        if header.is_some_and(|h| h as usize >= m.headers.len()) {
            return None;
        }
        m.blocks.push(Block {
            start,
            first_line,
            header,
            ts: (lo, hi),
        });
        prev = (start, first_line);
    }
    (pos == d.len()).then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            path: "/logs/conn.log".into(),
            size: 1000,
            mtime: 1_700_000_000_123_456_789,
            compressed: false,
            data_len: 1000,
            resume_at: 990,
            tail_hash: 42,
            lines: 12,
            headers: vec![b"#separator \\x09\n#fields\ta\n".to_vec()],
            header_at_resume: Some(0),
            problems: vec!["corrupt".into()],
            blocks: vec![
                Block {
                    start: 0,
                    first_line: 1,
                    header: None,
                    ts: (5, 9),
                },
                Block {
                    start: 500,
                    first_line: 7,
                    header: Some(0),
                    ts: (i64::MIN, i64::MAX),
                },
            ],
        }
    }

    #[test]
    fn roundtrip_and_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.seg");
        // Many keys, some in several blocks, runs crossing group boundaries.
        let mut postings: Vec<Posting> = Vec::new();
        for k in 0..500u64 {
            for b in 0..(k % 7) as u32 {
                postings.push(posting((k * 2_654_435_761) << 32, b * 3));
            }
        }
        postings.push(posting(7 << 32, 1));
        for b in 0..200 {
            postings.push(posting(9 << 32, b));
        }
        postings.sort_unstable();
        postings.dedup();
        write(&p, &meta(), &postings).unwrap();
        let s = Segment::open(&p).unwrap();
        assert_eq!(s.meta, meta());
        assert_eq!(s.all_postings().unwrap(), postings);
        for k in 0..500u64 {
            let key = (k * 2_654_435_761) << 32;
            let want: Vec<u32> = (0..(k % 7) as u32).map(|b| b * 3).collect();
            assert_eq!(s.lookup(key).unwrap(), want, "key {k}");
        }
        assert_eq!(s.lookup(9 << 32).unwrap(), (0..200).collect::<Vec<_>>());
        assert_eq!(s.lookup(8 << 32).unwrap(), Vec::<u32>::new());
        assert_eq!(s.meta.block_range(1), Some((500, 1000)));
    }

    #[test]
    fn empty_and_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.seg");
        write(&p, &meta(), &[]).unwrap();
        assert!(Segment::open(&p)
            .unwrap()
            .lookup(1 << 40)
            .unwrap()
            .is_empty());
        let mut bytes = std::fs::read(&p).unwrap();
        for cut in [0, 5, 16, 20, bytes.len() - 1] {
            std::fs::write(&p, &bytes[..cut]).unwrap();
            assert!(Segment::open(&p).is_err(), "cut at {cut}");
        }
        bytes[30] ^= 0xff;
        std::fs::write(&p, &bytes).unwrap();
        let _ = Segment::open(&p); // damaged either way, never a panic
    }
}
