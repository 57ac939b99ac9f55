//! Finite inputs read once, in order, through the same decoding as a [`FolderSource`]
//! (raw TSV rows, JSON lines kept as read, type problems reported), and a sink that only
//! counts: what a dry run (`trawl alert test`) runs the `trawl run` pipeline between.
//!
//! [`FolderSource`]: crate::folder::FolderSource

use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use trawl_input::Filter;

use crate::folder::{Pull, Reader};
use crate::metrics::{Counter, Metrics};
use crate::{Batch, Event, Sink, Source, StreamError};

/// One input: a file already opened (and decompressed), or stdin.
pub struct Input {
    /// How warnings name it (`dns.log`, `<stdin>`).
    pub label: String,
    pub reader: Box<dyn Read + Send>,
    /// The log type its name suggests, for JSON records without `_path`.
    pub log_type: Option<String>,
    /// Its modification time (Unix nanoseconds): places syslog dates without a year.
    pub modified: i64,
}

/// Reads its inputs one after the other to their end, then ends. Reads block: it is meant
/// for local files and dry runs, not beside live sources.
pub struct InputsSource {
    pending: VecDeque<Input>,
    current: Option<Reader>,
    batch_size: usize,
    errors: Counter,
    next_token: u64,
}

impl InputsSource {
    /// A source over `inputs`; bad lines and type problems are logged (file:line: reason)
    /// and counted in `trawl_source_errors_total{source="inputs"}`.
    pub fn new(inputs: Vec<Input>, batch_size: usize, metrics: &Metrics) -> Self {
        InputsSource {
            pending: inputs.into(),
            current: None,
            batch_size: batch_size.max(1),
            errors: metrics.counter(
                "trawl_source_errors_total",
                "Bad lines and unreadable inputs, by source.",
                &[("source", "inputs")],
            ),
            next_token: 0,
        }
    }
}

#[async_trait]
impl Source for InputsSource {
    fn name(&self) -> &str {
        "inputs"
    }

    async fn next_batch(&mut self) -> Result<Option<Batch>, StreamError> {
        let mut events = Vec::with_capacity(self.batch_size);
        while events.len() < self.batch_size {
            let reader = match &mut self.current {
                Some(r) => r,
                None => {
                    let Some(input) = self.pending.pop_front() else {
                        break;
                    };
                    self.current.insert(Reader::new(
                        input.reader,
                        input.label,
                        None,
                        input.log_type.as_deref(),
                        input.modified,
                        &Filter::default(),
                        self.errors.clone(),
                    ))
                }
            };
            // Idle only comes from inputs that would block: none of a finite input's.
            if reader.pull(&mut events, self.batch_size) != Pull::Full {
                self.current = None;
            }
        }
        if events.is_empty() {
            return Ok(None);
        }
        Ok(Some(Batch::next(events, &mut self.next_token)))
    }

    async fn commit(&mut self, _token: u64) -> Result<(), StreamError> {
        Ok(())
    }
}

/// Records written, by log type (shared with whoever made the sink).
pub type Tally = Arc<Mutex<BTreeMap<String, u64>>>;

/// Writes nothing; counts the records it is given by log type.
#[derive(Default)]
pub struct CountingSink {
    tally: Tally,
}

impl CountingSink {
    /// A sink and the counts it keeps.
    pub fn new() -> (Self, Tally) {
        let s = CountingSink::default();
        let t = s.tally.clone();
        (s, t)
    }
}

#[async_trait]
impl Sink for CountingSink {
    fn name(&self) -> &str {
        "count"
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), StreamError> {
        let mut t = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        for e in events {
            match t.get_mut(e.log_type()) {
                Some(n) => *n += 1,
                None => {
                    t.insert(e.log_type().to_string(), 1);
                }
            }
        }
        Ok(())
    }
}
