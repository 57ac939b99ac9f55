//! Records a destination refused for good, kept in an NDJSON file instead of being dropped
//! or blocking the pipeline: `{"sink":..,"reason":..,"record":..}` per line.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use trawl_stream::metrics::Counter;

use crate::error::SinkError;
use crate::spool::blocking;

/// A dead-letter file.
#[derive(Debug)]
pub(crate) struct DeadLetters {
    path: Option<PathBuf>,
    sink: String,
    count: Counter,
    /// One writer at a time, so lines never interleave.
    lock: tokio::sync::Mutex<()>,
}

#[derive(Serialize)]
struct Line<'a, I> {
    sink: &'a str,
    reason: &'a str,
    record: &'a I,
}

impl DeadLetters {
    pub fn new(path: Option<PathBuf>, sink: &str, count: Counter) -> Arc<Self> {
        Arc::new(DeadLetters {
            path,
            sink: sink.into(),
            count,
            lock: tokio::sync::Mutex::new(()),
        })
    }

    /// How many records went to the file.
    pub fn count(&self) -> u64 {
        self.count.get()
    }

    /// Appends records with why they were refused, synced before returning. Without a file
    /// configured this is a fatal error: nothing is dropped silently.
    pub async fn put<I: Serialize>(&self, items: &[(I, String)]) -> Result<(), SinkError> {
        if items.is_empty() {
            return Ok(());
        }
        let Some(path) = self.path.clone() else {
            return Err(SinkError::Refused {
                service: self.sink.clone(),
                message: format!(
                    "{} record(s) refused for good and no dead_letter file is configured: {}",
                    items.len(),
                    items[0].1
                ),
            });
        };
        let mut data = Vec::new();
        for (item, reason) in items {
            let line = Line {
                sink: &self.sink,
                reason,
                record: item,
            };
            serde_json::to_writer(&mut data, &line)
                .map_err(|e| SinkError::Config(format!("cannot write a dead letter: {e}")))?;
            data.push(b'\n');
        }
        let _guard = self.lock.lock().await;
        blocking(move || {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| SinkError::io(parent, e))?;
            }
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| SinkError::io(&path, e))?;
            f.write_all(&data).map_err(|e| SinkError::io(&path, e))?;
            f.sync_data().map_err(|e| SinkError::io(&path, e))
        })
        .await?;
        self.count.add(items.len() as u64);
        tracing::warn!(sink = %self.sink, records = items.len(), reason = %items[0].1, "records dead-lettered");
        Ok(())
    }
}
