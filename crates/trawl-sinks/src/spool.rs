//! Batches waiting on disk for their destination: one NDJSON file per batch, named by a
//! sequence number so they are re-sent in the order they were spooled. A file is written
//! under a temporary name, synced, then renamed, so a crash never leaves half a batch.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::SpoolOptions;
use crate::error::SinkError;

/// A spool directory.
#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next: u64,
    /// Spooled files, oldest first: (sequence number, size).
    files: VecDeque<(u64, u64)>,
    bytes: u64,
    /// Whether a task is re-sending the files.
    draining: bool,
}

/// What a spool file held.
pub(crate) struct Spooled<I> {
    pub items: Vec<I>,
    /// Lines that no longer parse (written by another version), kept for the dead letters.
    pub unreadable: Vec<String>,
}

impl Spool {
    /// Opens (creating) the directory and picks up files left by an earlier run.
    pub fn open(opts: &SpoolOptions) -> Result<Arc<Spool>, SinkError> {
        let dir = opts.dir.clone();
        std::fs::create_dir_all(&dir).map_err(|e| SinkError::io(&dir, e))?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| SinkError::io(&dir, e))? {
            let entry = entry.map_err(|e| SinkError::io(&dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".tmp") {
                // A batch whose write never finished: its `write` failed, so it is not ours.
                let _ = std::fs::remove_file(entry.path());
            } else if let Some(seq) = name.strip_suffix(".ndjson").and_then(|s| s.parse().ok()) {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                found.push((seq, size));
            }
        }
        found.sort_unstable();
        let state = State {
            next: found.last().map_or(1, |(s, _)| s + 1),
            bytes: found.iter().map(|(_, b)| b).sum(),
            files: found.into(),
            draining: false,
        };
        Ok(Arc::new(Spool {
            dir,
            max_bytes: opts.max_bytes,
            state: Mutex::new(state),
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:016}.ndjson"))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Files waiting.
    pub fn pending(&self) -> usize {
        self.state().files.len()
    }

    /// Writes items as a new file, synced to disk before returning.
    pub async fn append<I: Serialize>(&self, items: &[I]) -> Result<(), SinkError> {
        let data = to_ndjson(items)?;
        let seq = {
            let mut st = self.state();
            if st.bytes + data.len() as u64 > self.max_bytes {
                return Err(SinkError::SpoolFull {
                    dir: self.dir.display().to_string(),
                    bytes: st.bytes,
                });
            }
            st.next += 1;
            st.next - 1
        };
        let (dir, path) = (self.dir.clone(), self.path(seq));
        let size = data.len() as u64;
        blocking(move || write_synced(&dir, &path, &data)).await?;
        let mut st = self.state();
        st.bytes += size;
        // Keep the queue ordered even if two appends finished out of order.
        let at = st.files.partition_point(|(s, _)| *s < seq);
        st.files.insert(at, (seq, size));
        Ok(())
    }

    /// The oldest file's sequence number.
    pub fn front(&self) -> Option<u64> {
        self.state().files.front().map(|(s, _)| *s)
    }

    /// Reads a file.
    pub async fn read<I: DeserializeOwned + Send + 'static>(
        &self,
        seq: u64,
    ) -> Result<Spooled<I>, SinkError> {
        let path = self.path(seq);
        blocking(move || {
            let data = std::fs::read(&path).map_err(|e| SinkError::io(&path, e))?;
            let mut out = Spooled {
                items: Vec::new(),
                unreadable: Vec::new(),
            };
            for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                match serde_json::from_slice(line) {
                    Ok(i) => out.items.push(i),
                    Err(_) => out
                        .unreadable
                        .push(String::from_utf8_lossy(line).into_owned()),
                }
            }
            Ok(out)
        })
        .await
    }

    /// Replaces a file's items by those still undelivered.
    pub async fn rewrite<I: Serialize>(&self, seq: u64, items: &[I]) -> Result<(), SinkError> {
        let data = to_ndjson(items)?;
        let size = data.len() as u64;
        let (dir, path) = (self.dir.clone(), self.path(seq));
        blocking(move || write_synced(&dir, &path, &data)).await?;
        let mut st = self.state();
        if let Some(f) = st.files.iter_mut().find(|(s, _)| *s == seq) {
            let old = std::mem::replace(&mut f.1, size);
            st.bytes = st.bytes - old + size;
        }
        Ok(())
    }

    /// Deletes a delivered file.
    pub async fn remove(&self, seq: u64) -> Result<(), SinkError> {
        let path = self.path(seq);
        blocking(move || match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(SinkError::io(&path, e)),
            _ => Ok(()),
        })
        .await?;
        let mut st = self.state();
        if let Some(i) = st.files.iter().position(|(s, _)| *s == seq) {
            if let Some((_, size)) = st.files.remove(i) {
                st.bytes -= size;
            }
        }
        Ok(())
    }

    /// Marks the spool as being drained; false if a task already does it or nothing waits.
    pub fn start_drain(&self) -> bool {
        let mut st = self.state();
        if st.draining || st.files.is_empty() {
            return false;
        }
        st.draining = true;
        true
    }

    /// Ends draining if nothing waits any more (checked under the same lock `append`
    /// takes, so a file spooled meanwhile is never left without a drainer).
    pub fn finish_drain_if_empty(&self) -> bool {
        let mut st = self.state();
        if st.files.is_empty() {
            st.draining = false;
            true
        } else {
            false
        }
    }

    /// The drainer stopped (aborted).
    pub fn drain_stopped(&self) {
        self.state().draining = false;
    }
}

fn to_ndjson<I: Serialize>(items: &[I]) -> Result<Vec<u8>, SinkError> {
    let mut data = Vec::new();
    for i in items {
        serde_json::to_writer(&mut data, i)
            .map_err(|e| SinkError::Config(format!("cannot spool a record: {e}")))?;
        data.push(b'\n');
    }
    Ok(data)
}

fn write_synced(dir: &Path, path: &Path, data: &[u8]) -> Result<(), SinkError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| SinkError::io(&tmp, e))?;
    f.write_all(data).map_err(|e| SinkError::io(&tmp, e))?;
    f.sync_all().map_err(|e| SinkError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| SinkError::io(path, e))?;
    // The rename itself must survive a crash too.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Runs file I/O off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SinkError> + Send + 'static,
) -> Result<T, SinkError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SinkError::Config(format!("file task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_come_back_in_order_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let opts = SpoolOptions::new(dir.path());
        let s = Spool::open(&opts).unwrap();
        s.append(&[1u32, 2]).await.unwrap();
        s.append(&[3u32]).await.unwrap();
        std::fs::write(dir.path().join("0000000000000009.tmp"), "junk").unwrap();
        let s = Spool::open(&opts).unwrap();
        assert_eq!(s.pending(), 2);
        let first = s.front().unwrap();
        let got: Spooled<u32> = s.read(first).await.unwrap();
        assert_eq!(got.items, vec![1, 2]);
        s.rewrite(first, &[2u32]).await.unwrap();
        let got: Spooled<u32> = s.read(first).await.unwrap();
        assert_eq!(got.items, vec![2]);
        s.remove(first).await.unwrap();
        let got: Spooled<u32> = s.read(s.front().unwrap()).await.unwrap();
        assert_eq!(got.items, vec![3]);
        assert!(!dir.path().join("0000000000000009.tmp").exists());
    }

    #[tokio::test]
    async fn a_full_spool_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = SpoolOptions::new(dir.path());
        opts.max_bytes = 4;
        let s = Spool::open(&opts).unwrap();
        assert!(matches!(
            s.append(&["too long"]).await,
            Err(SinkError::SpoolFull { .. })
        ));
    }
}
