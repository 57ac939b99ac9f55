//! A line reader over any `Read` that hands out borrowed lines and whole blocks of lines,
//! with one reusable buffer: memory stays bounded whatever the input size.

use std::io::{self, Read};

const INITIAL: usize = 256 * 1024;

/// The longest line read by default (16 MiB): a longer one is skipped and reported, so one
/// runaway line cannot grow memory without bound. `TRAWL_MAX_LINE` (bytes, or with a `K`,
/// `M` or `G` suffix) sets another.
pub const DEFAULT_MAX_LINE: usize = 16 << 20;

/// The longest line to read: `TRAWL_MAX_LINE` if set and valid, else [`DEFAULT_MAX_LINE`].
pub fn max_line() -> usize {
    static MAX: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *MAX.get_or_init(|| {
        std::env::var("TRAWL_MAX_LINE")
            .ok()
            .and_then(|v| parse_size(&v))
            .unwrap_or(DEFAULT_MAX_LINE)
    })
}

fn parse_size(v: &str) -> Option<usize> {
    let v = v.trim();
    let (num, shift) = match v.as_bytes().last()?.to_ascii_uppercase() {
        b'K' => (&v[..v.len() - 1], 10),
        b'M' => (&v[..v.len() - 1], 20),
        b'G' => (&v[..v.len() - 1], 30),
        _ => (v, 0),
    };
    let n: usize = num.trim().parse().ok()?;
    n.checked_shl(shift).filter(|&n| n > 0)
}

/// A line longer than the maximum, skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongLine {
    /// 1-based line number.
    pub no: u64,
    /// Its length in bytes, terminator included.
    pub len: u64,
    /// Its first bytes, to show.
    pub start: Vec<u8>,
    /// The maximum it went past.
    pub max: usize,
}

/// Where the first line longer than `max` bytes (terminator aside) starts in `buf`, a last
/// unterminated line included.
pub fn first_long_line(buf: &[u8], max: usize) -> Option<usize> {
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', buf).chain(std::iter::once(buf.len())) {
        let text = buf[start..nl]
            .strip_suffix(b"\r")
            .unwrap_or(&buf[start..nl]);
        if text.len() > max {
            return Some(start);
        }
        start = nl + 1;
    }
    None
}

impl LongLine {
    /// What readers report for it.
    pub fn reason(&self) -> String {
        format!(
            "line of {} bytes is longer than the maximum of {} bytes (TRAWL_MAX_LINE): skipped",
            self.len, self.max
        )
    }
}

/// Reads lines (terminator included, so output can be byte-identical) without copying them.
pub struct LineReader<R> {
    src: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    line_no: u64,
    bytes: u64,
    max_line: usize,
    skipped: Vec<LongLine>,
}

/// A line and where it came from.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// 1-based line number in the stream.
    pub no: u64,
    /// The line without its terminator (`\n` or `\r\n`).
    pub text: &'a [u8],
    /// The whole line as read, terminator included (empty terminator on a last unterminated line).
    pub raw: &'a [u8],
}

impl<R: Read> LineReader<R> {
    /// Wraps a reader.
    pub fn new(src: R) -> Self {
        LineReader {
            src,
            buf: vec![0; INITIAL],
            pos: 0,
            end: 0,
            eof: false,
            line_no: 0,
            bytes: 0,
            max_line: max_line(),
            skipped: Vec::new(),
        }
    }

    /// Skips lines longer than `max` bytes (see [`max_line`] for the default).
    pub fn with_max_line(mut self, max: usize) -> Self {
        self.max_line = max.max(1);
        self
    }

    /// Whether [`LineReader::next_line`] skipped lines not yet taken.
    pub fn has_skipped(&self) -> bool {
        !self.skipped.is_empty()
    }

    /// Lines skipped by [`LineReader::next_line`] for being too long, since the last call.
    pub fn take_skipped(&mut self) -> Vec<LongLine> {
        std::mem::take(&mut self.skipped)
    }

    /// Number of the last line handed out.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// Bytes consumed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The bytes buffered but not yet handed out (used for format detection).
    pub fn peek(&mut self, want: usize) -> io::Result<&[u8]> {
        while self.end - self.pos < want && !self.eof {
            self.fill()?;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            let n = self.buf.len() * 2;
            self.buf.resize(n, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether another line follows (reads ahead if needed).
    pub fn has_more(&mut self) -> io::Result<bool> {
        while self.pos == self.end {
            if self.eof {
                return Ok(false);
            }
            self.fill()?;
        }
        Ok(true)
    }

    /// The next line, or `None` at the end of the stream.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        let mut scanned = 0;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.pos + scanned..self.end]) {
                let start = self.pos;
                let stop = self.pos + scanned + i + 1;
                if stop - start > self.max_line {
                    self.skip_long()?;
                    scanned = 0;
                    continue;
                }
                self.pos = stop;
                return Ok(Some(self.line(start, stop)));
            }
            if self.eof {
                if self.pos == self.end {
                    return Ok(None);
                }
                if self.end - self.pos > self.max_line {
                    self.skip_long()?;
                    scanned = 0;
                    continue;
                }
                let (start, stop) = (self.pos, self.end);
                self.pos = stop;
                return Ok(Some(self.line(start, stop)));
            }
            scanned = self.end - self.pos;
            if scanned > self.max_line {
                self.skip_long()?;
                scanned = 0;
                continue;
            }
            self.fill()?;
        }
    }

    /// Consumes the line under way, too long to keep, up to and including its `\n`, reading
    /// on without growing the buffer; notes it in `skipped`.
    fn skip_long(&mut self) -> io::Result<()> {
        let start = self.buf[self.pos..self.pos + 200.min(self.end - self.pos)].to_vec();
        let mut len = 0u64;
        loop {
            let avail = &self.buf[self.pos..self.end];
            if let Some(i) = memchr::memchr(b'\n', avail) {
                len += i as u64 + 1;
                self.pos += i + 1;
                break;
            }
            len += avail.len() as u64;
            self.pos = self.end;
            if self.eof {
                break;
            }
            self.fill()?;
        }
        self.line_no += 1;
        self.bytes += len;
        self.skipped.push(LongLine {
            no: self.line_no,
            len,
            start,
            max: self.max_line,
        });
        Ok(())
    }

    fn line(&mut self, start: usize, stop: usize) -> Line<'_> {
        self.line_no += 1;
        self.bytes += (stop - start) as u64;
        let raw = &self.buf[start..stop];
        let mut text = raw.strip_suffix(b"\n").unwrap_or(raw);
        text = text.strip_suffix(b"\r").unwrap_or(text);
        Line {
            no: self.line_no,
            text,
            raw,
        }
    }

    /// A block of whole lines (ending after a `\n`, or at the end of the stream), for hot loops
    /// that scan many lines at once. Lines longer than the maximum are skipped, read through
    /// without being kept, and added to `skipped`: they came before the block returned.
    /// The caller must report how many lines the block held with [`LineReader::count_lines`]
    /// (the numbers of skipped lines are right only then).
    pub fn next_block(&mut self, skipped: &mut Vec<LongLine>) -> io::Result<Option<&[u8]>> {
        loop {
            skipped.append(&mut self.skipped);
            let mut avail = &self.buf[self.pos..self.end];
            // Only a buffer grown past the maximum can hold a line longer than it.
            if avail.len() > self.max_line {
                match first_long_line(avail, self.max_line) {
                    Some(0) => {
                        self.skip_long()?;
                        continue;
                    }
                    Some(at) => avail = &avail[..at],
                    None => {}
                }
            }
            if let Some(i) = memchr::memrchr(b'\n', avail) {
                let (start, stop) = (self.pos, self.pos + i + 1);
                self.pos = stop;
                self.bytes += (stop - start) as u64;
                return Ok(Some(&self.buf[start..stop]));
            }
            if self.eof {
                if avail.is_empty() {
                    return Ok(None);
                }
                let (start, stop) = (self.pos, self.end);
                self.pos = stop;
                self.bytes += (stop - start) as u64;
                return Ok(Some(&self.buf[start..stop]));
            }
            self.fill()?;
        }
    }

    /// Advances the line counter after a caller consumed a block.
    pub fn count_lines(&mut self, n: u64) {
        self.line_no += n;
    }
}

/// A stream in owned blocks of about `size` bytes of whole lines, for readers that hand
/// blocks to other threads (`cut`, the query scan). A line is never cut in two; one longer
/// than the maximum is read through without being kept and handed back as a [`LongLine`]
/// (numbered 0: the caller counts lines). A read error ends the stream after what was read
/// before it, and is kept for [`Blocks::take_error`].
pub struct Blocks<R> {
    src: R,
    size: usize,
    /// The partial line the last block left.
    carry: Vec<u8>,
    max_line: usize,
    eof: bool,
    error: Option<io::Error>,
}

impl<R: Read> Blocks<R> {
    /// Blocks of about `size` bytes; the maximum line is [`max_line`].
    pub fn new(src: R, size: usize) -> Self {
        Blocks {
            src,
            size: size.max(1),
            carry: Vec::new(),
            max_line: max_line(),
            eof: false,
            error: None,
        }
    }

    /// Skips lines longer than `max` bytes instead.
    pub fn with_max_line(mut self, max: usize) -> Self {
        self.max_line = max.max(1);
        self
    }

    /// The next block into `buf`; lines skipped for their length before it go to `skipped`.
    /// False at the end of the stream.
    pub fn next(&mut self, buf: &mut Vec<u8>, skipped: &mut Vec<LongLine>) -> bool {
        buf.clear();
        buf.append(&mut self.carry);
        let mut want = self.size;
        loop {
            while buf.len() < want && !self.eof {
                let start = buf.len();
                buf.resize(start.max(want), 0);
                let n = self.read(&mut buf[start..]);
                buf.truncate(start + n);
            }
            if buf.len() > self.max_line {
                match first_long_line(buf, self.max_line) {
                    Some(0) => {
                        skipped.push(self.skip_first(buf));
                        continue;
                    }
                    Some(at) => {
                        self.carry.extend_from_slice(&buf[at..]);
                        buf.truncate(at);
                        return true;
                    }
                    None => {}
                }
            }
            if self.eof {
                return !buf.is_empty();
            }
            match memchr::memrchr(b'\n', buf) {
                Some(i) => {
                    self.carry.extend_from_slice(&buf[i + 1..]);
                    buf.truncate(i + 1);
                    return true;
                }
                // One line longer than a block (not than the maximum): read on.
                None => want = buf.len() + self.size,
            }
        }
    }

    /// The read error that ended the stream, if one did.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// The partial line not yet handed out and the rest of the stream, to read on another
    /// way (a format that must be read record by record).
    pub fn into_rest(self) -> (Vec<u8>, R) {
        (self.carry, self.src)
    }

    /// Drops the line `buf` starts with, reading on through the stream if `buf` does not
    /// hold it all.
    fn skip_first(&mut self, buf: &mut Vec<u8>) -> LongLine {
        let start = buf[..buf.len().min(200)].to_vec();
        let mut len = 0u64;
        loop {
            if let Some(i) = memchr::memchr(b'\n', buf) {
                len += i as u64 + 1;
                buf.drain(..=i);
                break;
            }
            len += buf.len() as u64;
            buf.clear();
            if self.eof {
                break;
            }
            buf.resize(self.size, 0);
            let n = self.read(buf);
            buf.truncate(n);
        }
        LongLine {
            no: 0,
            len,
            start,
            max: self.max_line,
        }
    }

    /// Reads into `buf`; 0 (and `eof` set) at the end or on an error.
    fn read(&mut self, buf: &mut [u8]) -> usize {
        loop {
            match self.src.read(buf) {
                Ok(0) => break,
                Ok(n) => return n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
        }
        self.eof = true;
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_skip_lines_past_the_maximum() {
        let long = "x".repeat(100);
        let text = format!("a\n{long}\nb\n{long}");
        let mut r = LineReader::new(text.as_bytes()).with_max_line(10);
        let (mut got, mut skipped) = (Vec::new(), Vec::new());
        while let Some(b) = r.next_block(&mut skipped).unwrap() {
            got.extend_from_slice(b);
        }
        assert_eq!(got, b"a\nb\n");
        assert_eq!(skipped.len(), 2);
        assert_eq!((skipped[0].len, skipped[1].len), (101, 100));
    }

    #[test]
    fn owned_blocks_keep_lines_whole_and_skip_long_ones() {
        let long = "x".repeat(100);
        let text = format!("aa\nbbbbbbbbbbbbbbbbbbbb\n{long}\ncc\n{long}");
        for size in [1, 3, 7, 64, 1000] {
            let mut b = Blocks::new(text.as_bytes(), size).with_max_line(50);
            let (mut got, mut skipped, mut buf) = (Vec::new(), Vec::new(), Vec::new());
            while b.next(&mut buf, &mut skipped) {
                assert!(buf.ends_with(b"\n"), "{size}: {buf:?}");
                got.extend_from_slice(&buf);
            }
            assert_eq!(got, b"aa\nbbbbbbbbbbbbbbbbbbbb\ncc\n", "{size}");
            assert_eq!(
                skipped.iter().map(|l| l.len).collect::<Vec<_>>(),
                [101, 100]
            );
        }
    }

    #[test]
    fn lines_keep_terminators() {
        let mut r = LineReader::new(&b"a\r\nb\n\nc"[..]);
        let mut got = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            got.push((l.no, l.text.to_vec(), l.raw.to_vec()));
        }
        assert_eq!(
            got,
            vec![
                (1, b"a".to_vec(), b"a\r\n".to_vec()),
                (2, b"b".to_vec(), b"b\n".to_vec()),
                (3, b"".to_vec(), b"\n".to_vec()),
                (4, b"c".to_vec(), b"c".to_vec()),
            ]
        );
    }

    #[test]
    fn long_lines_grow_the_buffer() {
        let long = vec![b'x'; INITIAL * 3];
        let mut input = long.clone();
        input.push(b'\n');
        input.extend_from_slice(b"y\n");
        let mut r = LineReader::new(&input[..]);
        assert_eq!(r.next_line().unwrap().unwrap().text, &long[..]);
        assert_eq!(r.next_line().unwrap().unwrap().text, b"y");
        assert!(r.next_line().unwrap().is_none());
    }

    #[test]
    fn overlong_lines_are_skipped_and_noted() {
        let mut input = b"short\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 5000));
        input.extend(b"\nafter\n");
        let mut r = LineReader::new(&input[..]).with_max_line(1000);
        let a = r.next_line().unwrap().unwrap();
        assert_eq!((a.no, a.text.len()), (1, 5));
        let b = r.next_line().unwrap().unwrap();
        assert_eq!((b.no, b.text.len()), (3, 5));
        let s = r.take_skipped();
        assert_eq!((s.len(), s[0].no, s[0].len), (1, 2, 5001));
        assert!(r.next_line().unwrap().is_none());
        // A long last line without a terminator, and a buffer that must not grow past it.
        let mut r = LineReader::new(&input[..input.len() - 7]).with_max_line(1000);
        assert_eq!(r.next_line().unwrap().unwrap().no, 1);
        assert!(r.next_line().unwrap().is_none());
        assert_eq!(r.take_skipped()[0].len, 5000);
        assert_eq!(parse_size("16M"), Some(16 << 20));
        assert_eq!(parse_size("x"), None);
    }
}
