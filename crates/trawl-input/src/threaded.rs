//! Decompression on a separate thread, handing full 1 MiB buffers to the reader
//! through a bounded channel, so parsing overlaps inflating.

use std::io::{self, Read};
use std::mem;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::open::CHUNK;

/// Filled buffers waiting for the reader; with the one being read and the one
/// being filled, at most `QUEUED + 2` buffers exist.
const QUEUED: usize = 2;

enum Msg {
    Data(Vec<u8>),
    Err(io::Error),
    End,
}

/// The reading end. Dropping it stops the decompressing thread at its next buffer.
pub(crate) struct ThreadedReader {
    rx: Receiver<Msg>,
    spent: Sender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    done: bool,
    label: String,
}

impl ThreadedReader {
    /// Starts a thread decoding `src`; decodes inline if no thread can be had.
    pub(crate) fn spawn(src: Box<dyn Read + Send>, label: &str) -> Box<dyn Read + Send> {
        let (tx, rx) = mpsc::sync_channel(QUEUED);
        let (spent, recycled) = mpsc::channel();
        // The thread owns `src` only once spawned; keep a way back if spawning fails.
        let slot = Arc::new(Mutex::new(Some(src)));
        let theirs = Arc::clone(&slot);
        let spawned = thread::Builder::new()
            .name("trawl-inflate".into())
            .spawn(move || {
                let src = theirs.lock().ok().and_then(|mut s| s.take());
                if let Some(src) = src {
                    pump(src, &tx, &recycled);
                }
            });
        match spawned {
            Ok(_) => Box::new(ThreadedReader {
                rx,
                spent,
                cur: Vec::new(),
                pos: 0,
                done: false,
                label: label.to_owned(),
            }),
            Err(_) => match slot.lock().ok().and_then(|mut s| s.take()) {
                Some(src) => Box::new(io::BufReader::with_capacity(CHUNK, src)),
                None => Box::new(io::empty()),
            },
        }
    }
}

/// The thread's loop: fill a buffer, send it; stop at the end, on an error, or
/// when the reader is gone.
fn pump(mut src: Box<dyn Read + Send>, tx: &SyncSender<Msg>, recycled: &Receiver<Vec<u8>>) {
    loop {
        let mut buf = recycled.try_recv().unwrap_or_default();
        buf.resize(CHUNK, 0);
        let mut filled = 0;
        let mut error = None;
        while filled < CHUNK {
            match src.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let at_end = filled < CHUNK;
        buf.truncate(filled);
        if filled > 0 && tx.send(Msg::Data(buf)).is_err() {
            return;
        }
        if let Some(e) = error {
            let _ = tx.send(Msg::Err(e));
            return;
        }
        if at_end {
            let _ = tx.send(Msg::End);
            return;
        }
    }
}

impl Read for ThreadedReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.pos < self.cur.len() {
                let n = out.len().min(self.cur.len() - self.pos);
                out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            let spent = mem::take(&mut self.cur);
            if spent.capacity() > 0 {
                // The thread may have finished; then the buffer is simply freed.
                let _ = self.spent.send(spent);
            }
            self.pos = 0;
            match self.rx.recv() {
                Ok(Msg::Data(buf)) => self.cur = buf,
                Ok(Msg::End) => self.done = true,
                Ok(Msg::Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other(format!(
                        "{}: decompression thread stopped before the end of the input",
                        self.label
                    )));
                }
            }
        }
    }
}
