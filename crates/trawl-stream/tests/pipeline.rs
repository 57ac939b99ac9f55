//! The pipeline's contract with in-memory parts: retries, in-order commits, shutdown.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use trawl_stream::{Batch, Event, Metrics, Pipeline, Shutdown, Sink, Source, StreamError};
use trawl_zeek::Record;

struct Counting {
    batches: u64,
    next: u64,
    committed: Arc<Mutex<Vec<u64>>>,
}

#[async_trait]
impl Source for Counting {
    fn name(&self) -> &str {
        "counting"
    }
    async fn next_batch(&mut self) -> Result<Option<Batch>, StreamError> {
        if self.next == self.batches {
            return Ok(None);
        }
        self.next += 1;
        let events = (0..10).map(|_| Event::record(Record::new("dns"))).collect();
        Ok(Some(Batch {
            events,
            token: self.next,
        }))
    }
    async fn commit(&mut self, token: u64) -> Result<(), StreamError> {
        self.committed.lock().unwrap().push(token);
        Ok(())
    }
}

struct Flaky {
    failures: u32,
    written: Arc<Mutex<u64>>,
}

#[async_trait]
impl Sink for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    async fn write(&mut self, events: &[Event]) -> Result<(), StreamError> {
        if self.failures > 0 {
            self.failures -= 1;
            return Err(StreamError::Service {
                service: "flaky".into(),
                message: "down".into(),
            });
        }
        *self.written.lock().unwrap() += events.len() as u64;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn retries_then_commits_every_batch_in_order() {
    let committed = Arc::new(Mutex::new(Vec::new()));
    let written = Arc::new(Mutex::new(0));
    let metrics = Arc::new(Metrics::default());
    let summary = Pipeline::new(metrics.clone())
        .source(Box::new(Counting {
            batches: 5,
            next: 0,
            committed: committed.clone(),
        }))
        .sink(Box::new(Flaky {
            failures: 2,
            written: written.clone(),
        }))
        .run(Shutdown::default())
        .await
        .unwrap();
    assert_eq!(summary.records, 50);
    assert_eq!(*written.lock().unwrap(), 50);
    assert_eq!(*committed.lock().unwrap(), vec![1, 2, 3, 4, 5]);
    let text = metrics.render();
    assert!(
        text.contains("trawl_sink_errors_total{sink=\"flaky\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("trawl_source_records_total{source=\"counting\"} 50"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_batch_never_written_is_never_committed() {
    let committed = Arc::new(Mutex::new(Vec::new()));
    let shutdown = Shutdown::default();
    let sd = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        sd.trigger();
    });
    let summary = Pipeline::new(Arc::new(Metrics::default()))
        .source(Box::new(Counting {
            batches: 3,
            next: 0,
            committed: committed.clone(),
        }))
        .sink(Box::new(Flaky {
            failures: u32::MAX,
            written: Arc::new(Mutex::new(0)),
        }))
        .run(shutdown)
        .await
        .unwrap();
    assert_eq!(summary.records, 0);
    assert!(committed.lock().unwrap().is_empty());
}

/// Logs what a transform and a sink see, in order.
struct Journal {
    ahead: bool,
    log: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl trawl_stream::Transform for Journal {
    fn name(&self) -> &str {
        "journal"
    }
    async fn apply(&self, _events: &mut [Event]) {
        self.log.lock().unwrap().push("apply".into());
    }
    async fn committed(&self) {
        self.log.lock().unwrap().push("committed".into());
    }
    fn runs_ahead(&self) -> bool {
        self.ahead
    }
}

struct JournalSink(Arc<Mutex<Vec<String>>>);

#[async_trait]
impl Sink for JournalSink {
    fn name(&self) -> &str {
        "journal"
    }
    async fn write(&mut self, _events: &[Event]) -> Result<(), StreamError> {
        self.0.lock().unwrap().push("write".into());
        // A service answering later: the next batch can be prepared meanwhile.
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        Ok(())
    }
}

async fn journal(ahead: bool) -> (Vec<String>, Vec<u64>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let committed = Arc::new(Mutex::new(Vec::new()));
    let summary = Pipeline::new(Arc::new(Metrics::default()))
        .source(Box::new(Counting {
            batches: 3,
            next: 0,
            committed: committed.clone(),
        }))
        .transform(Arc::new(Journal {
            ahead,
            log: log.clone(),
        }))
        .sink(Box::new(JournalSink(log.clone())))
        .run(Shutdown::default())
        .await
        .unwrap();
    assert_eq!(summary.records, 30);
    let log = log.lock().unwrap().clone();
    let committed = committed.lock().unwrap().clone();
    (log, committed)
}

#[tokio::test(start_paused = true)]
async fn the_next_batch_is_prepared_while_sinks_write_when_transforms_allow() {
    let (log, committed) = journal(true).await;
    assert_eq!(committed, vec![1, 2, 3]);
    assert_eq!(
        log,
        [
            "apply",
            "write",
            "apply",
            "committed",
            "write",
            "apply",
            "committed",
            "write",
            "committed"
        ]
    );
    // A transform that must not learn from uncommitted records sees each batch committed
    // before the next one.
    let (log, committed) = journal(false).await;
    assert_eq!(committed, vec![1, 2, 3]);
    assert_eq!(
        log,
        [
            "apply",
            "write",
            "committed",
            "apply",
            "write",
            "committed",
            "apply",
            "write",
            "committed"
        ]
    );
}
