//! Reading many files at once while writing their output in order, in bounded memory.
//!
//! Workers take files in order; each sends its output in chunks through its own small bounded
//! channel, and the writer drains file 0, then file 1 ... A worker ahead of the writer blocks
//! when its channel is full, so memory stays at `threads x DEPTH x chunk size`. The file the
//! writer waits for has always been started (files are taken in order), so this never deadlocks.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

/// Size at which a worker hands a chunk of output to the writer.
pub const CHUNK: usize = 256 * 1024;
const DEPTH: usize = 4;

/// Where a worker writes its output: a buffer flushed to the writer in chunks.
pub struct Chunks<'s> {
    /// Output not yet handed over: workers append to it, then call `maybe_flush`.
    pub buf: Vec<u8>,
    tx: SyncSender<Vec<u8>>,
    stop: &'s AtomicBool,
}

impl Chunks<'_> {
    /// Hands the buffer over if it is large enough. Returns false if the writer has gone.
    pub fn maybe_flush(&mut self) -> bool {
        if self.buf.len() >= CHUNK {
            return self.flush();
        }
        true
    }

    /// Hands the buffer over. Returns false if the writer has gone (e.g. a closed pipe).
    pub fn flush(&mut self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            self.buf.clear();
            return false;
        }
        if self.buf.is_empty() {
            return true;
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK + CHUNK / 4));
        self.tx.send(full).is_ok()
    }
}

/// Runs `work` over every item on `threads` threads, writing each item's output to `out` in
/// item order. Returns the per-item results in order, or the first write error.
pub fn run_ordered<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    out: &mut dyn Write,
    work: impl Fn(&T, &mut Chunks) -> R + Sync,
) -> std::io::Result<Vec<R>> {
    let n = items.len();
    let mut txs = Vec::with_capacity(n);
    let mut rxs: Vec<Receiver<Vec<u8>>> = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = sync_channel(DEPTH);
        txs.push(Mutex::new(Some(tx)));
        rxs.push(rx);
    }
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let mut write_err = None;
    std::thread::scope(|s| {
        for _ in 0..threads.min(n.max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                let Some(tx) = txs[i].lock().ok().and_then(|mut t| t.take()) else {
                    continue;
                };
                let mut chunks = Chunks {
                    buf: Vec::with_capacity(CHUNK + CHUNK / 4),
                    tx,
                    stop: &stop,
                };
                let r = work(&items[i], &mut chunks);
                chunks.flush();
                if let Ok(mut slot) = results[i].lock() {
                    *slot = Some(r);
                }
            });
        }
        for rx in &rxs {
            for chunk in rx.iter() {
                if write_err.is_none() {
                    if let Err(e) = out.write_all(&chunk) {
                        write_err = Some(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                // After an error keep draining so workers finish instead of blocking.
            }
        }
    });
    if let Some(e) = write_err {
        return Err(e);
    }
    out.flush()?;
    Ok(results
        .into_iter()
        .filter_map(|m| m.into_inner().ok().flatten())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_comes_in_item_order_whatever_finishes_first() {
        let items: Vec<usize> = (0..40).collect();
        let mut out = Vec::new();
        let results = run_ordered(&items, 4, &mut out, |&i, c| {
            // Larger items take longer and write several chunks.
            for _ in 0..(i % 7) * 30_000 {
                c.buf.extend_from_slice(format!("{i:02}").as_bytes());
                c.maybe_flush();
            }
            c.buf.extend_from_slice(format!("[{i}]").as_bytes());
            i * 2
        })
        .unwrap();
        assert_eq!(results, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        let mut want = Vec::new();
        for i in 0..40 {
            for _ in 0..(i % 7) * 30_000 {
                want.extend_from_slice(format!("{i:02}").as_bytes());
            }
            want.extend_from_slice(format!("[{i}]").as_bytes());
        }
        assert!(out == want);
    }
}
