//! What every HTTP sink does around its requests: split into requests, retry with back-off,
//! bisect a batch the destination refuses to find the bad record, dead-letter it, and spool
//! to disk when the destination stays down, re-sending the spool in the background.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use trawl_stream::metrics::Counter;
use trawl_stream::Metrics;

use crate::config::{HttpOptions, RetryPolicy};
use crate::deadletter::DeadLetters;
use crate::error::SinkError;
use crate::spool::Spool;

/// The outcome of one request.
pub(crate) enum Attempt {
    /// Every item was accepted.
    Accepted,
    /// Some items were accepted; the others are to be retried or were refused for good
    /// (indices into the request's items).
    Partial {
        retry: Vec<usize>,
        rejected: Vec<(usize, String)>,
        why: SinkError,
    },
    /// Nothing was accepted; worth retrying.
    Failed(SinkError),
    /// The destination refuses something in the request for good without saying what
    /// (bad data, request too large): split it to find out.
    Poison(String),
    /// Retrying cannot help (credentials, configuration).
    Fatal(SinkError),
}

/// One destination's protocol.
#[async_trait]
pub(crate) trait Destination: Send + Sync + 'static {
    /// A record ready to send, as it is spooled and dead-lettered.
    type Item: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Items per request unless configured ([`HttpOptions::max_batch`]).
    const MAX_BATCH: usize = 5000;

    /// Sends items in one request (or one per table) and says what became of them.
    async fn send(&self, items: &[Self::Item]) -> Attempt;
}

/// Why items were not delivered within the retry budget.
enum Undelivered<I> {
    TimedOut { items: Vec<I>, why: SinkError },
    Fatal(SinkError),
}

/// Counters of one sink.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counters {
    pub retries: Counter,
    pub spooled: Counter,
    pub dead: Counter,
}

impl Counters {
    pub fn new(metrics: Option<&Metrics>, sink: &str) -> Self {
        let Some(m) = metrics else {
            return Counters::default();
        };
        let l = [("sink", sink)];
        Counters {
            retries: m.counter(
                "trawl_sink_retries_total",
                "Requests retried after a failure, by sink.",
                &l,
            ),
            spooled: m.counter(
                "trawl_sink_spooled_records_total",
                "Records spooled to disk while the destination was down, by sink.",
                &l,
            ),
            dead: m.counter(
                "trawl_sink_dead_letters_total",
                "Records refused for good and written to the dead-letter file, by sink.",
                &l,
            ),
        }
    }
}

/// Delivery of one sink's items: shared with the spool's background task.
pub(crate) struct Delivery<D: Destination> {
    shared: Arc<Shared<D>>,
    drainer: Option<JoinHandle<()>>,
}

struct Shared<D: Destination> {
    name: String,
    dest: D,
    retry: RetryPolicy,
    max_batch: usize,
    spool: Option<Arc<Spool>>,
    dead: Arc<DeadLetters>,
    counters: Counters,
}

impl<D: Destination> Delivery<D> {
    pub fn new(
        name: &str,
        dest: D,
        opts: &HttpOptions,
        metrics: Option<&Metrics>,
    ) -> Result<Self, SinkError> {
        let counters = Counters::new(metrics, name);
        let spool = opts.spool.as_ref().map(Spool::open).transpose()?;
        Ok(Delivery {
            shared: Arc::new(Shared {
                name: name.into(),
                dest,
                retry: opts.retry.clone(),
                max_batch: opts.max_batch.unwrap_or(D::MAX_BATCH).max(1),
                spool,
                dead: DeadLetters::new(opts.dead_letter.clone(), name, counters.dead.clone()),
                counters,
            }),
            drainer: None,
        })
    }

    /// Records dead-lettered so far.
    pub fn dead_letters(&self) -> u64 {
        self.shared.dead.count()
    }

    /// Spool files waiting to be re-sent.
    pub fn spooled_files(&self) -> usize {
        self.shared.spool.as_ref().map_or(0, |s| s.pending())
    }

    /// Delivers items, returning once the destination accepted them, dead-lettered the ones
    /// it refused, or (past the retry budget) spooled the rest.
    pub async fn deliver(&mut self, items: Vec<D::Item>) -> Result<(), SinkError> {
        if items.is_empty() {
            return Ok(());
        }
        if let Some(spool) = &self.shared.spool {
            if spool.pending() > 0 {
                // Older records wait in the spool: queue behind them to keep the order.
                spool.append(&items).await?;
                self.shared.counters.spooled.add(items.len() as u64);
                self.ensure_drainer();
                return Ok(());
            }
        }
        let deadline = Instant::now() + self.shared.retry.budget;
        match self.shared.send_all(items, deadline).await {
            Ok(()) => Ok(()),
            Err(Undelivered::Fatal(e)) => Err(e),
            Err(Undelivered::TimedOut { items, why }) => match &self.shared.spool {
                Some(spool) => {
                    spool.append(&items).await?;
                    self.shared.counters.spooled.add(items.len() as u64);
                    tracing::warn!(sink = %self.shared.name, records = items.len(), error = %why,
                        dir = %spool.dir().display(), "destination down: records spooled");
                    self.ensure_drainer();
                    Ok(())
                }
                None => Err(why),
            },
        }
    }

    /// Starts the background re-sender if files wait and none runs.
    pub fn ensure_drainer(&mut self) {
        let Some(spool) = &self.shared.spool else {
            return;
        };
        if spool.start_drain() {
            let shared = self.shared.clone();
            self.drainer = Some(tokio::spawn(async move { shared.drain().await }));
        }
    }

    /// A sink's flush: waits up to the retry budget for the spool to empty, and says so
    /// when it did not (the files are re-sent on the next run).
    pub async fn flush(&mut self) {
        if !self.wait_spool(self.shared.retry.budget).await {
            tracing::warn!(
                sink = %self.shared.name,
                files = self.spooled_files(),
                "spool not empty at flush; it is re-sent on the next run"
            );
        }
    }

    /// Waits up to `limit` for the spool to empty; true when it did.
    async fn wait_spool(&mut self, limit: Duration) -> bool {
        self.ensure_drainer();
        let end = Instant::now() + limit;
        while self.spooled_files() > 0 {
            if Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }
}

impl<D: Destination> Drop for Delivery<D> {
    fn drop(&mut self) {
        if let Some(h) = self.drainer.take() {
            // Files stay on disk for the next run; one being sent may be sent twice.
            h.abort();
            if let Some(s) = &self.shared.spool {
                s.drain_stopped();
            }
        }
    }
}

impl<D: Destination> Shared<D> {
    /// Sends items in requests of `max_batch`, retrying until `deadline`.
    async fn send_all(
        &self,
        mut items: Vec<D::Item>,
        deadline: Instant,
    ) -> Result<(), Undelivered<D::Item>> {
        // Sub-batches still to send, in order; failures go back to the front.
        let mut queue = VecDeque::new();
        while items.len() > self.max_batch {
            let rest = items.split_off(self.max_batch);
            queue.push_back(std::mem::replace(&mut items, rest));
        }
        queue.push_back(items);
        let mut backoff = self.retry.initial_backoff;
        while let Some(batch) = queue.pop_front() {
            let why = match self.dest.send(&batch).await {
                Attempt::Accepted => {
                    backoff = self.retry.initial_backoff;
                    continue;
                }
                Attempt::Fatal(e) => return Err(Undelivered::Fatal(e)),
                Attempt::Poison(reason) if batch.len() == 1 => {
                    let one: Vec<_> = batch.into_iter().map(|i| (i, reason.clone())).collect();
                    self.dead.put(&one).await.map_err(Undelivered::Fatal)?;
                    continue;
                }
                Attempt::Poison(reason) => {
                    tracing::debug!(sink = %self.name, records = batch.len(), %reason, "refused: splitting the request");
                    let mut first = batch;
                    let second = first.split_off(first.len() / 2);
                    queue.push_front(second);
                    queue.push_front(first);
                    continue;
                }
                Attempt::Partial {
                    retry,
                    rejected,
                    why,
                } => {
                    let (again, dead) = pick(batch, &retry, rejected);
                    self.dead.put(&dead).await.map_err(Undelivered::Fatal)?;
                    if again.is_empty() {
                        continue;
                    }
                    queue.push_front(again);
                    why
                }
                Attempt::Failed(why) => {
                    queue.push_front(batch);
                    why
                }
            };
            self.counters.retries.add(1);
            if Instant::now() + backoff > deadline {
                return Err(Undelivered::TimedOut {
                    items: queue.into_iter().flatten().collect(),
                    why,
                });
            }
            tracing::debug!(sink = %self.name, error = %why, retry_in = ?backoff, "request failed");
            tokio::time::sleep(jitter(backoff)).await;
            backoff = (backoff * 2).min(self.retry.max_backoff);
        }
        Ok(())
    }

    /// Re-sends spooled files oldest first, deleting each once delivered, until none is left.
    async fn drain(self: Arc<Self>) {
        let Some(spool) = self.spool.clone() else {
            return;
        };
        let mut pause = self.retry.initial_backoff;
        loop {
            let Some(seq) = spool.front() else {
                if spool.finish_drain_if_empty() {
                    return;
                }
                continue;
            };
            match self.drain_one(&spool, seq).await {
                Ok(()) => {
                    pause = self.retry.initial_backoff;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(sink = %self.name, error = %e, retry_in = ?pause, "spool not delivered yet");
                }
            }
            tokio::time::sleep(jitter(pause)).await;
            pause = (pause * 2).min(self.retry.max_backoff);
        }
    }

    async fn drain_one(&self, spool: &Spool, seq: u64) -> Result<(), SinkError> {
        let file = spool.read::<D::Item>(seq).await?;
        if !file.unreadable.is_empty() {
            let bad: Vec<_> = file
                .unreadable
                .into_iter()
                .map(|l| (l, "unreadable spool line".to_string()))
                .collect();
            self.dead.put(&bad).await?;
        }
        let deadline = Instant::now() + self.retry.budget;
        match self.send_all(file.items, deadline).await {
            Ok(()) => spool.remove(seq).await,
            Err(Undelivered::TimedOut { items, why }) => {
                // Keep only what is still undelivered, so a retry sends no duplicates.
                spool.rewrite(seq, &items).await?;
                Err(why)
            }
            Err(Undelivered::Fatal(e)) => Err(e),
        }
    }
}

/// Splits a request's items into those to retry and those refused (with their reasons).
fn pick<I>(
    items: Vec<I>,
    retry: &[usize],
    rejected: Vec<(usize, String)>,
) -> (Vec<I>, Vec<(I, String)>) {
    let mut reasons: Vec<Option<String>> = (0..items.len()).map(|_| None).collect();
    let mut again_mask = vec![false; items.len()];
    for &i in retry {
        if let Some(m) = again_mask.get_mut(i) {
            *m = true;
        }
    }
    for (i, r) in rejected {
        if let Some(slot) = reasons.get_mut(i) {
            *slot = Some(r);
        }
    }
    let (mut again, mut dead) = (Vec::new(), Vec::new());
    for (i, item) in items.into_iter().enumerate() {
        if again_mask[i] {
            again.push(item);
        } else if let Some(r) = reasons[i].take() {
            dead.push((item, r));
        }
    }
    (again, dead)
}

/// Up to a quarter more, so sinks restarted together do not retry in step.
fn jitter(d: Duration) -> Duration {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    d + d.mul_f64(f64::from(n % 1000) / 4000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_routes_by_index() {
        let (again, dead) = pick(vec!['a', 'b', 'c', 'd'], &[1, 9], vec![(3, "bad".into())]);
        assert_eq!(again, vec!['b']);
        assert_eq!(dead, vec![('d', "bad".to_string())]);
    }
}
