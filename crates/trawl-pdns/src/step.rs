//! [`PdnsStep`]: the `trawl run` transform that keeps the store as records stream by.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use trawl_stream::event::Projection;
use trawl_stream::metrics::Counter;
use trawl_stream::{Event, Metrics, Transform};

use crate::fact::Batch;
use crate::store::Store;

/// The fields facts are made of: only these are read from a raw row.
const FIELDS: [&str; 8] = [
    "ts",
    "id.orig_h",
    "query",
    "qtype",
    "qtype_name",
    "rcode_name",
    "answers",
    "rejected",
];

/// Folds the answers of every `dns` record into memory and writes them to the store in one
/// transaction every `flush_every` (and when many facts are waiting, and when the pipeline
/// ends), so an answer repeated within that time costs one write. Only facts of committed
/// batches are written: a batch read again after a restart is not counted twice. A crash
/// (not a shutdown) loses the facts not yet written, at most `flush_every` of them; the
/// logs themselves are untouched. Records pass unchanged.
pub struct PdnsStep {
    inner: Mutex<Inner>,
    flush_every: Duration,
    answers: Counter,
    errors: Counter,
}

/// Distinct facts waiting that trigger a write before `flush_every` is up.
const MAX_WAITING: usize = 200_000;

struct Inner {
    store: Store,
    /// Facts of the batches applied but not yet committed.
    uncommitted: Batch,
    /// Facts of committed batches, not yet written; and since when.
    waiting: Batch,
    since: Option<Instant>,
    projection: Projection,
    max_clients: usize,
}

impl PdnsStep {
    /// A step writing to `store` at least every `flush_every`, keeping up to `max_clients`
    /// clients a fact.
    pub fn new(store: Store, max_clients: usize, flush_every: Duration, metrics: &Metrics) -> Self {
        PdnsStep {
            inner: Mutex::new(Inner {
                store,
                uncommitted: Batch::new(max_clients),
                waiting: Batch::new(max_clients),
                since: None,
                projection: Projection::new(&FIELDS),
                max_clients,
            }),
            flush_every,
            answers: metrics.counter(
                "trawl_pdns_answers_total",
                "DNS answers (facts seen) added to the passive DNS store.",
                &[],
            ),
            errors: metrics.counter(
                "trawl_pdns_errors_total",
                "Failed writes to the passive DNS store (their facts are kept and retried).",
                &[],
            ),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the waiting facts; on failure they stay waiting.
    fn flush(&self, inner: &mut Inner) {
        if inner.waiting.is_empty() {
            return;
        }
        match inner.store.add(&inner.waiting, None) {
            Ok(()) => {
                inner.waiting = Batch::new(inner.max_clients);
                inner.since = None;
            }
            Err(e) => {
                self.errors.add(1);
                tracing::warn!(error = %e, facts = inner.waiting.len(), "passive DNS store: write failed, retried later");
            }
        }
    }
}

impl PdnsStep {
    /// Writes the waiting facts if they have waited `flush_every`: called every second by
    /// `trawl run`, so a feed that goes quiet still has its last answers stored in time (a
    /// flush is otherwise only considered when a batch commits).
    pub fn flush_if_due(&self) {
        tokio::task::block_in_place(|| {
            let mut inner = self.lock();
            let due = inner.since.is_some_and(|s| s.elapsed() >= self.flush_every);
            if due {
                self.flush(&mut inner);
            }
        });
    }
}

#[async_trait]
impl Transform for PdnsStep {
    fn name(&self) -> &str {
        "pdns"
    }

    async fn apply(&self, events: &mut [Event]) {
        tokio::task::block_in_place(|| {
            let mut inner = self.lock();
            let inner = &mut *inner;
            let mut n = 0;
            for e in events.iter().filter(|e| e.log_type() == "dns") {
                let rec = e.project_view(&mut inner.projection);
                n += inner.uncommitted.add_record(&rec);
            }
            self.answers.add(n as u64);
        });
    }

    async fn committed(&self) {
        tokio::task::block_in_place(|| {
            let mut inner = self.lock();
            let inner = &mut *inner;
            if inner.uncommitted.is_empty() {
                return;
            }
            let batch = std::mem::replace(&mut inner.uncommitted, Batch::new(inner.max_clients));
            inner.waiting.merge(batch);
            let since = *inner.since.get_or_insert_with(Instant::now);
            if inner.waiting.len() >= MAX_WAITING || since.elapsed() >= self.flush_every {
                self.flush(inner);
            }
        });
    }

    async fn finish(&self) {
        tokio::task::block_in_place(|| {
            let mut inner = self.lock();
            self.flush(&mut inner);
        });
    }
}
