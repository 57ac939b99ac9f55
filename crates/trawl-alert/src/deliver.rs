//! Delivery: one task per destination, reading that destination's outbox in order. A
//! destination that is down only delays its own alerts: the pipeline writes to the outbox and
//! moves on, and the other destinations' tasks go on sending. Failed attempts are retried with
//! back-off (doubling from 200 ms up to `retry_max`, or what a `Retry-After` asks); the
//! alerts wait on disk meanwhile, across restarts too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::dest::{Destination, SendError};
use crate::store::Store;

/// Counters of one destination.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    /// Alerts the destination accepted.
    pub sent: AtomicU64,
    /// Failed attempts (each retried).
    pub retries: AtomicU64,
    /// Alerts refused for good (kept in the outbox, marked failed).
    pub refused: AtomicU64,
}

/// Delivery settings.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryOptions {
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
        }
    }
}

const PRUNE_EVERY: Duration = Duration::from_secs(600);
const KEEP_DELIVERED: f64 = 86_400.0;

struct Lane {
    name: String,
    wake: Arc<Notify>,
    stats: Arc<DeliveryStats>,
}

/// The delivery tasks.
pub struct Dispatcher {
    store: Store,
    lanes: Vec<Lane>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Dispatcher {
    /// Starts one task per destination on the current Tokio runtime. Alerts already in the
    /// outbox (left by an earlier run) are sent first.
    pub fn start(
        store: Store,
        dests: Vec<Box<dyn Destination>>,
        opts: DeliveryOptions,
    ) -> Dispatcher {
        // Delivery works on its own connection (see `Store::reopen`).
        let store = match store.reopen() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "alert store: delivery shares the pipeline's connection");
                store
            }
        };
        let (stop, stop_rx) = watch::channel(false);
        let mut lanes = Vec::new();
        let mut tasks = Vec::new();
        for d in dests {
            let wake = Arc::new(Notify::new());
            let stats = Arc::new(DeliveryStats::default());
            lanes.push(Lane {
                name: d.name().to_string(),
                wake: wake.clone(),
                stats: stats.clone(),
            });
            tasks.push(tokio::spawn(lane(
                store.clone(),
                Arc::from(d),
                wake,
                stats,
                stop_rx.clone(),
                opts,
            )));
        }
        Dispatcher {
            store,
            lanes,
            stop,
            tasks,
        }
    }

    /// New alerts are in the outbox: wake every destination's task.
    pub fn wake(&self) {
        for l in &self.lanes {
            l.wake.notify_one();
        }
    }

    /// Destination names and their counters.
    pub fn stats(&self) -> Vec<(&str, &DeliveryStats)> {
        self.lanes
            .iter()
            .map(|l| (l.name.as_str(), &*l.stats))
            .collect()
    }

    /// Alerts waiting in the outbox, all destinations together.
    pub fn pending(&self) -> u64 {
        self.lanes
            .iter()
            .map(|l| self.store.outbox_counts(&l.name).map_or(0, |c| c.pending))
            .sum()
    }

    /// Waits until the outbox is empty or `timeout` passed; true if it emptied.
    pub async fn drain(&self, timeout: Duration) -> bool {
        let end = tokio::time::Instant::now() + timeout;
        loop {
            self.wake();
            if self.pending() == 0 {
                return true;
            }
            if tokio::time::Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the tasks (what is not delivered stays in the outbox).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn lane(
    store: Store,
    dest: Arc<dyn Destination>,
    wake: Arc<Notify>,
    stats: Arc<DeliveryStats>,
    mut stop: watch::Receiver<bool>,
    opts: DeliveryOptions,
) {
    let name = dest.name().to_string();
    let mut backoff = opts.min_backoff;
    let mut down_since: Option<tokio::time::Instant> = None;
    let mut pruned = tokio::time::Instant::now();
    loop {
        // Delivered alerts are kept a day (a re-read record then finds its alert done).
        if pruned.elapsed() >= PRUNE_EVERY {
            pruned = tokio::time::Instant::now();
            let now = crate::alert::now();
            if let Err(e) = store.prune(now - KEEP_DELIVERED, now) {
                tracing::warn!(destination = %name, error = %e, "could not prune the alert outbox");
            }
        }
        if *stop.borrow() {
            return;
        }
        let items = match store.pending(&name, 64) {
            Ok(i) => i,
            Err(e) => {
                tracing::error!(destination = %name, error = %e, "cannot read the alert outbox");
                Vec::new()
            }
        };
        if items.is_empty() {
            tokio::select! {
                _ = wake.notified() => {}
                // Another process may have queued alerts (a restart's leftovers are read above).
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = stop.changed() => return,
            }
            continue;
        }
        let mut done = Marks::default();
        for item in items {
            loop {
                match dest.send(&item.alert).await {
                    Ok(()) => {
                        done.mark(item.seq, &store, &name);
                        stats.sent.fetch_add(1, Ordering::Relaxed);
                        if let Some(t) = down_since.take() {
                            tracing::info!(destination = %name, after = ?t.elapsed(), "destination is back");
                        }
                        backoff = opts.min_backoff;
                        break;
                    }
                    Err(SendError::Refused(why)) => {
                        tracing::error!(destination = %name, rule = %item.alert.rule, alert = %item.alert.id, %why, "alert refused; kept in the outbox as failed");
                        let _ = store.refused(item.seq, &why);
                        stats.refused.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Err(SendError::Retry(why, after)) => {
                        stats.retries.fetch_add(1, Ordering::Relaxed);
                        let _ = store.attempt_failed(item.seq, &why);
                        let wait = after.unwrap_or(backoff);
                        if down_since.is_none() {
                            down_since = Some(tokio::time::Instant::now());
                            tracing::warn!(destination = %name, %why, "alert delivery failed; retrying with back-off, alerts wait in the outbox");
                        } else {
                            tracing::debug!(destination = %name, %why, retry_in = ?wait, "alert delivery failed");
                        }
                        done.flush(&store, &name);
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = stop.changed() => return,
                        }
                        backoff = (backoff * 2).min(opts.max_backoff);
                    }
                }
            }
        }
        done.flush(&store, &name);
    }
}

/// Delivered alerts not yet marked in the outbox: marked together, at the end of a chunk or
/// every 50 ms, so a burst costs one transaction per chunk rather than one per alert. A crash
/// can re-send only alerts delivered in those last milliseconds (receivers can drop them by
/// their id).
#[derive(Default)]
struct Marks {
    seqs: Vec<i64>,
    since: Option<std::time::Instant>,
}

impl Marks {
    fn mark(&mut self, seq: i64, store: &Store, name: &str) {
        self.seqs.push(seq);
        let since = *self.since.get_or_insert_with(std::time::Instant::now);
        if since.elapsed() >= Duration::from_millis(50) {
            self.flush(store, name);
        }
    }

    fn flush(&mut self, store: &Store, name: &str) {
        if let Err(e) = store.delivered_all(&self.seqs) {
            tracing::error!(destination = %name, error = %e, "alert outbox");
        }
        self.seqs.clear();
        self.since = None;
    }
}
