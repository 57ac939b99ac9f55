//! A line reader over any `Read` that hands out borrowed lines and whole blocks of lines,
//! with one reusable buffer: memory stays bounded whatever the input size.

use std::io::{self, Read};

const INITIAL: usize = 256 * 1024;

/// Reads lines (terminator included, so output can be byte-identical) without copying them.
pub struct LineReader<R> {
    src: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    line_no: u64,
    bytes: u64,
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
        }
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
                self.pos = stop;
                return Ok(Some(self.line(start, stop)));
            }
            if self.eof {
                if self.pos == self.end {
                    return Ok(None);
                }
                let (start, stop) = (self.pos, self.end);
                self.pos = stop;
                return Ok(Some(self.line(start, stop)));
            }
            scanned = self.end - self.pos;
            self.fill()?;
        }
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
    /// that scan many lines at once. `first_line` is the number of its first line.
    /// The caller must report how many lines the block held with [`LineReader::count_lines`].
    pub fn next_block(&mut self) -> io::Result<Option<&[u8]>> {
        loop {
            let avail = &self.buf[self.pos..self.end];
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
