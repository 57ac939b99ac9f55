//! Opening inputs: compression chosen by magic bytes, errors that name the input.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::Arc;

use flate2::bufread::MultiGzDecoder;

use crate::threaded::ThreadedReader;
use crate::InputError;

/// Bytes handed to the caller per buffer, and the plain-file buffer size.
pub(crate) const CHUNK: usize = 1 << 20;
/// Read-ahead of compressed bytes.
const COMPRESSED_BUF: usize = 256 << 10;
/// Compressed files smaller than this are decoded inline: a thread and its
/// buffers would cost more than they overlap.
const THREAD_MIN_LEN: u64 = 128 << 10;
/// Enough to recognise every magic number below.
const MAGIC_LEN: usize = 10;

/// How an input is (or, from its name, claims to be) compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Plain text.
    #[default]
    None,
    /// gzip, possibly several concatenated members.
    Gzip,
    /// Zstandard, possibly several frames.
    Zstd,
}

/// The compression a stream starting with `head` (its first bytes, 6 or more when there are)
/// uses, told by magic bytes, never by name; `Err` names a format trawl cannot read (`xz`,
/// `bzip2`, `lz4`). The one place trawl decides this.
pub fn compression_of(head: &[u8]) -> Result<Compression, &'static str> {
    match head {
        [0x1f, 0x8b, ..] => Ok(Compression::Gzip),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Ok(Compression::Zstd),
        // Skippable zstd frames may come first.
        [0x50..=0x5f, 0x2a, 0x4d, 0x18, ..] => Ok(Compression::Zstd),
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Err("xz"),
        [b'B', b'Z', b'h', b'1'..=b'9', 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, ..] => Err("bzip2"),
        [0x04, 0x22, 0x4d, 0x18, ..] => Err("lz4"),
        _ => Ok(Compression::None),
    }
}

/// When to decompress on a separate thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Threads {
    Never,
    Always,
}

/// The first `max` bytes of a log, decompressed (fewer when it is shorter): what a format
/// sniffer looks at.
pub fn head_of(path: impl AsRef<Path>, max: usize) -> Result<Vec<u8>, InputError> {
    let path = path.as_ref();
    let mut r = open_sync(path)?;
    let mut buf = vec![0u8; max];
    let n = read_head(&mut r, &mut buf).map_err(|e| InputError::io(path, e))?;
    buf.truncate(n);
    Ok(buf)
}

/// Opens a file for reading, decompressing gzip or zstd as its magic bytes say
/// (the extension is not consulted). `-` means standard input.
///
/// Compressed files of some size are decompressed on a separate thread that fills
/// a few 1 MiB buffers ahead of the caller, so parsing overlaps decompression; at
/// most about 4 MiB are held. Plain files are read through a 1 MiB buffer.
///
/// A decompression error is returned by `read` as an `io::Error` whose message
/// starts `path: corrupt gzip:` (or `zstd`), after every byte that decoded
/// cleanly; later reads return `Ok(0)`.
pub fn open(path: impl AsRef<Path>) -> Result<Box<dyn Read + Send>, InputError> {
    let path = path.as_ref();
    if path == Path::new("-") {
        return open_reader(io::stdin());
    }
    let file = File::open(path).map_err(|e| InputError::io(path, e))?;
    let small = file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() < THREAD_MIN_LEN);
    let threads = if small {
        Threads::Never
    } else {
        Threads::Always
    };
    open_source(file, path.display().to_string(), threads)
}

/// Like [`open`], but decompresses on the calling thread: for many small files, or
/// when threads are unwelcome.
pub fn open_sync(path: impl AsRef<Path>) -> Result<Box<dyn Read + Send>, InputError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| InputError::io(path, e))?;
    open_source(file, path.display().to_string(), Threads::Never)
}

/// Like [`open`] for an already open stream such as standard input; errors call it
/// `<stdin>`. Compressed streams are decompressed on a separate thread.
pub fn open_reader(r: impl Read + Send + 'static) -> Result<Box<dyn Read + Send>, InputError> {
    open_reader_as(r, "<stdin>")
}

/// Like [`open_reader`], with `label` naming the stream in errors.
pub fn open_reader_as(
    r: impl Read + Send + 'static,
    label: &str,
) -> Result<Box<dyn Read + Send>, InputError> {
    open_source(r, label.to_owned(), Threads::Always)
}

fn open_source<R: Read + Send + 'static>(
    mut src: R,
    label: String,
    threads: Threads,
) -> Result<Box<dyn Read + Send>, InputError> {
    let mut head = [0u8; MAGIC_LEN];
    let n = read_head(&mut src, &mut head).map_err(|e| InputError::io(&label, e))?;
    let label: Arc<str> = label.into();
    let src = Cursor::new(head[..n].to_vec()).chain(Source {
        inner: src,
        label: Arc::clone(&label),
    });
    let compression = match compression_of(&head[..n]) {
        Ok(c) => c,
        Err(format) => {
            return Err(InputError::Unsupported {
                label: label.to_string(),
                format,
            })
        }
    };
    let buffered = BufReader::with_capacity(COMPRESSED_BUF, src);
    let decoder: Box<dyn Read + Send> = match compression {
        Compression::None => return Ok(Box::new(BufReader::with_capacity(CHUNK, buffered))),
        Compression::Gzip => Box::new(Labeled::new(
            MultiGzDecoder::new(buffered),
            &label,
            "corrupt gzip",
        )),
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| InputError::io(&*label, e))?;
            Box::new(Labeled::new(dec, &label, "corrupt zstd"))
        }
    };
    Ok(match threads {
        Threads::Never => Box::new(BufReader::with_capacity(CHUNK, decoder)),
        Threads::Always => ThreadedReader::spawn(decoder, &label),
    })
}

/// Fills `head` as far as the input goes.
fn read_head(r: &mut impl Read, head: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < head.len() {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Marks errors of the underlying input, so they are not blamed on decompression.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SourceError(String);

struct Source<R> {
    inner: R,
    label: Arc<str>,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                return e;
            }
            io::Error::new(e.kind(), SourceError(format!("{}: {e}", self.label)))
        })
    }
}

/// A decoder whose errors say which input is broken and how; after one error it
/// reports end of input rather than decoding garbage.
struct Labeled<R> {
    inner: R,
    prefix: String,
    failed: bool,
}

impl<R> Labeled<R> {
    fn new(inner: R, label: &str, what: &str) -> Self {
        Labeled {
            inner,
            prefix: format!("{label}: {what}"),
            failed: false,
        }
    }
}

impl<R: Read> Read for Labeled<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failed {
            return Ok(0);
        }
        self.inner.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                return e;
            }
            self.failed = true;
            let from_source = e.get_ref().is_some_and(|r| r.is::<SourceError>());
            if from_source {
                e
            } else {
                io::Error::new(e.kind(), format!("{}: {e}", self.prefix))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_is_told_by_magic_bytes() {
        assert_eq!(compression_of(b"\x1f\x8b\x08\x00"), Ok(Compression::Gzip));
        assert_eq!(
            compression_of(b"\x28\xb5\x2f\xfd\x00"),
            Ok(Compression::Zstd)
        );
        assert_eq!(compression_of(b"\x5a\x2a\x4d\x18"), Ok(Compression::Zstd));
        assert_eq!(compression_of(b"\xfd7zXZ\x00\x00"), Err("xz"));
        assert_eq!(compression_of(b"\x04\x22\x4d\x18"), Err("lz4"));
        assert_eq!(compression_of(b"#separator \\x09"), Ok(Compression::None));
        assert_eq!(compression_of(b"\x1f"), Ok(Compression::None));
        assert_eq!(compression_of(b""), Ok(Compression::None));
    }
}
