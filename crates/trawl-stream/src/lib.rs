//! trawl's pipeline: [`Source`]s read batches of [`Event`]s, [`Transform`]s enrich them, and
//! [`Sink`]s write them; a batch is committed back to its source (Kafka offsets, file
//! checkpoints) only after every sink confirmed it, so delivery is at-least-once end to end.
//!
//! One trait each for sources, transforms and sinks, wired from one configuration by the
//! `trawl run` command.

pub mod event;
pub mod files;
pub mod folder;
pub mod inputs;
pub mod metrics;
pub mod pipeline;
pub mod settings;
pub mod stdio;
pub mod syslog;

use async_trait::async_trait;

pub use event::{Body, Event, Projection};
pub use inputs::{CountingSink, Input, InputsSource};
pub use metrics::Metrics;
pub use pipeline::{Pipeline, Shutdown};

/// Errors of sources and sinks.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A service refused or failed a request; worth retrying.
    #[error("{service}: {message}")]
    Service { service: String, message: String },
    /// Wrong configuration or a permanent refusal; retrying will not help.
    #[error("{0}")]
    Fatal(String),
}

/// Events read together, and the token that commits them.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<Event>,
    /// Given back to [`Source::commit`] once every sink wrote the batch; tokens of one
    /// source increase, and committing a token commits every batch before it.
    pub token: u64,
}

impl Batch {
    /// A batch whose token is one past `last` (which it advances): for sources whose
    /// tokens simply count batches.
    pub fn next(events: Vec<Event>, last: &mut u64) -> Batch {
        *last += 1;
        Batch {
            events,
            token: *last,
        }
    }
}

/// Where events come from: a log folder, stdin, Kafka, syslog.
#[async_trait]
pub trait Source: Send {
    /// A short name for logs and metrics (`folder:/nsm/zeek/logs`, `kafka:bro-raw-orig`).
    fn name(&self) -> &str;

    /// The next batch, waiting for data when there is none yet. `None` when a finite source
    /// has ended. Must be cancel-safe: a shutdown may drop the future while it waits.
    async fn next_batch(&mut self) -> Result<Option<Batch>, StreamError>;

    /// Every batch up to and including `token` has been written by every sink.
    async fn commit(&mut self, token: u64) -> Result<(), StreamError>;
}

/// Changes events on their way: scores, host attribution, intel hits.
#[async_trait]
pub trait Transform: Send + Sync {
    /// A short name for logs and metrics.
    fn name(&self) -> &str;

    /// Enriches a batch in place (one batch at a time, so lookups can be batched too).
    async fn apply(&self, events: &mut [Event]);

    /// The events of a batch have been committed: persist state learned from them.
    async fn committed(&self) {}

    /// Whether the next batch may be transformed while the sinks still write this one, that
    /// is before [`Transform::committed`] for this one: true for a transform whose state
    /// may learn from records that are not committed yet (they come again after a crash and
    /// teach the same); false (the default) for one that must not, such as alert
    /// de-duplication or counting.
    fn runs_ahead(&self) -> bool {
        false
    }

    /// Every source has ended (or the pipeline is shutting down): persist what is left.
    async fn finish(&self) {}
}

/// Where events go: files, stdout, Kafka, ClickHouse, Elasticsearch, Splunk.
#[async_trait]
pub trait Sink: Send {
    /// A short name for logs and metrics.
    fn name(&self) -> &str;

    /// Writes a batch and returns once the destination accepted it (a sink that buffers must
    /// not return before the buffer is safe: written, flushed, or spooled to disk). Retries
    /// with back-off belong here; an error means the batch was not accepted.
    async fn write(&mut self, events: &[Event]) -> Result<(), StreamError>;

    /// Flushes and closes what is open (end of input, shutdown).
    async fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
}
