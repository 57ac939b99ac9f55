//! Runs sources through transforms into sinks, committing each batch once all sinks wrote it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Mutex};

use crate::metrics::{Counter, Metrics};
use crate::{Sink, Source, StreamError, Transform};

/// Tells every part of a pipeline to stop: sources stop reading, the batch under way is
/// written and committed, and sinks are flushed.
#[derive(Clone)]
pub struct Shutdown {
    tx: Arc<watch::Sender<bool>>,
    rx: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        let (tx, rx) = watch::channel(false);
        Shutdown {
            tx: Arc::new(tx),
            rx,
        }
    }
}

impl Shutdown {
    /// Asks everything to stop.
    pub fn trigger(&self) {
        let _ = self.tx.send(true);
    }

    /// Whether a stop was asked for.
    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Waits until a stop is asked for.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Stops on SIGINT or SIGTERM.
    pub fn on_signals(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                if let Ok(mut term) = signal(SignalKind::terminate()) {
                    tokio::select! {
                        _ = ctrl_c => {}
                        _ = term.recv() => {}
                    }
                    me.trigger();
                    return;
                }
            }
            let _ = ctrl_c.await;
            me.trigger();
        });
    }
}

type SharedSink = Arc<Mutex<Box<dyn Sink>>>;

/// Sources, transforms and sinks wired together.
pub struct Pipeline {
    sources: Vec<Box<dyn Source>>,
    transforms: Vec<Arc<dyn Transform>>,
    sinks: Vec<SharedSink>,
    metrics: Arc<Metrics>,
}

/// What a run did.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunSummary {
    pub records: u64,
    pub batches: u64,
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Pipeline {
    /// An empty pipeline reporting to `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Pipeline {
            sources: Vec::new(),
            transforms: Vec::new(),
            sinks: Vec::new(),
            metrics,
        }
    }

    /// Adds a source.
    pub fn source(mut self, s: Box<dyn Source>) -> Self {
        self.sources.push(s);
        self
    }

    /// Adds a transform; transforms run in the order added.
    pub fn transform(mut self, t: Arc<dyn Transform>) -> Self {
        self.transforms.push(t);
        self
    }

    /// Adds a sink; every event goes to every sink.
    pub fn sink(mut self, s: Box<dyn Sink>) -> Self {
        self.sinks.push(Arc::new(Mutex::new(s)));
        self
    }

    /// Runs until every source has ended or `shutdown` is triggered, then flushes the sinks.
    pub async fn run(self, shutdown: Shutdown) -> Result<RunSummary, StreamError> {
        let transforms = Arc::new(self.transforms);
        let sinks = Arc::new(self.sinks);
        let mut tasks = Vec::new();
        for source in self.sources {
            let (t, s, m, sd) = (
                transforms.clone(),
                sinks.clone(),
                self.metrics.clone(),
                shutdown.clone(),
            );
            tasks.push(tokio::spawn(run_source(source, t, s, m, sd)));
        }
        let mut total = RunSummary::default();
        let mut first_err = None;
        for task in tasks {
            match task.await {
                Ok(Ok(s)) => {
                    total.records += s.records;
                    total.batches += s.batches;
                }
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(e) => {
                    first_err.get_or_insert(StreamError::Fatal(format!("source task failed: {e}")));
                }
            }
        }
        for t in transforms.iter() {
            t.finish().await;
        }
        for sink in sinks.iter() {
            let mut s = sink.lock().await;
            if let Err(e) = s.flush().await {
                tracing::error!(sink = s.name(), error = %e, "flush failed");
                first_err.get_or_insert(e);
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }
}

/// The source's next batch, transformed; `None` at its end or on shutdown.
async fn next_transformed(
    source: &mut dyn Source,
    transforms: &[Arc<dyn Transform>],
    records_in: &Counter,
    shutdown: &Shutdown,
) -> Result<Option<crate::Batch>, StreamError> {
    let batch = tokio::select! {
        b = source.next_batch() => b?,
        _ = shutdown.wait() => None,
    };
    let Some(mut batch) = batch else {
        return Ok(None);
    };
    records_in.add(batch.events.len() as u64);
    for t in transforms {
        t.apply(&mut batch.events).await;
    }
    Ok(Some(batch))
}

/// Writes a batch to every sink, retrying with back-off; false if a shutdown came first.
async fn write_all(
    events: &[crate::Event],
    sinks: &[SharedSink],
    counters: &[(Counter, Counter)],
    shutdown: &Shutdown,
) -> Result<bool, StreamError> {
    let n = events.len() as u64;
    for (sink, (ok, errors)) in sinks.iter().zip(counters) {
        let mut sink = sink.lock().await;
        let mut backoff = Duration::from_millis(200);
        loop {
            match sink.write(events).await {
                Ok(()) => {
                    ok.add(n);
                    break;
                }
                Err(StreamError::Fatal(m)) => {
                    return Err(StreamError::Fatal(format!("{}: {m}", sink.name())))
                }
                Err(e) => {
                    errors.add(1);
                    tracing::warn!(sink = sink.name(), error = %e, retry_in = ?backoff, "write failed");
                    if shutdown.is_triggered() {
                        return Ok(false);
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
    Ok(true)
}

async fn run_source(
    mut source: Box<dyn Source>,
    transforms: Arc<Vec<Arc<dyn Transform>>>,
    sinks: Arc<Vec<SharedSink>>,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
) -> Result<RunSummary, StreamError> {
    let name = source.name().to_string();
    let records_in = metrics.counter(
        "trawl_source_records_total",
        "Records read, by source.",
        &[("source", &name)],
    );
    let mut sink_counters: Vec<(Counter, Counter)> = Vec::new();
    for s in sinks.iter() {
        let sn = s.lock().await.name().to_string();
        sink_counters.push((
            metrics.counter(
                "trawl_sink_records_total",
                "Records written, by sink.",
                &[("sink", &sn)],
            ),
            metrics.counter(
                "trawl_sink_errors_total",
                "Failed writes (retried), by sink.",
                &[("sink", &sn)],
            ),
        ));
    }
    let mut summary = RunSummary::default();
    // While the sinks write a batch, the next one is read and transformed, when every
    // transform allows it: a service on another core (ClickHouse, Elasticsearch) takes its
    // rows while trawl prepares the next ones.
    let ahead = transforms.iter().all(|t| t.runs_ahead());
    let mut next = None;
    loop {
        let batch = match next.take() {
            Some(b) => b?,
            None => next_transformed(&mut *source, &transforms, &records_in, &shutdown).await?,
        };
        let Some(batch) = batch else { break };
        let written = if ahead {
            let (written, following) = tokio::join!(
                write_all(&batch.events, &sinks, &sink_counters, &shutdown),
                next_transformed(&mut *source, &transforms, &records_in, &shutdown),
            );
            next = Some(following);
            written?
        } else {
            write_all(&batch.events, &sinks, &sink_counters, &shutdown).await?
        };
        if !written {
            // Not committed: the source gives these records again after a restart.
            return Ok(summary);
        }
        source.commit(batch.token).await?;
        for t in transforms.iter() {
            t.committed().await;
        }
        summary.records += batch.events.len() as u64;
        summary.batches += 1;
    }
    Ok(summary)
}
