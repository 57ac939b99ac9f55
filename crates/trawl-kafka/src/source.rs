//! [`KafkaSource`]: a member of a consumer group, handing out batches and committing their
//! offsets once the pipeline wrote them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use tokio::time::Instant;
use trawl_stream::metrics::Counter;
use trawl_stream::{Batch, Event, Metrics, Source, StreamError};

use crate::config::KafkaSourceConfig;
use crate::context::{commit_list, GroupContext};
use crate::offsets::Offsets;

/// Value problems logged a message (all are counted).
const MAX_PROBLEMS_LOGGED: usize = 5;

/// Reads Zeek records from Kafka topics as a member of a consumer group.
///
/// A batch is up to `max_batch` messages or what arrived within `linger` of its first one.
/// [`Source::commit`] commits, per partition, the offset after the highest one handed out in
/// the batches written so far, and only for partitions this member still owns: partitions
/// revoked in a rebalance are read again by their new owner from the last committed offset.
/// Delivery is therefore at-least-once; nothing is lost when an instance stops or dies.
///
/// Messages that hold no readable record are counted
/// (`trawl_kafka_bad_messages_total{topic}`), logged with their topic, partition and offset,
/// and committed like the others.
pub struct KafkaSource {
    name: String,
    consumer: Arc<StreamConsumer<GroupContext>>,
    config: KafkaSourceConfig,
    offsets: Arc<Mutex<Offsets>>,
    metrics: Arc<Metrics>,
    events: Vec<Event>,
    messages: usize,
    deadline: Option<Instant>,
    commit_errors: Counter,
    consumer_errors: Counter,
    /// Unreadable messages and value problems (`trawl_source_errors_total{source}`).
    source_errors: Counter,
    lag_task: Option<tokio::task::JoinHandle<()>>,
}

/// Fails unless called inside a Tokio runtime: rdkafka's futures and our tasks need one.
/// `what` names the client in the error.
pub(crate) fn need_runtime(what: &str) -> Result<(), StreamError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(StreamError::Fatal(format!(
            "the Kafka {what} needs a Tokio runtime"
        )));
    }
    Ok(())
}

impl KafkaSource {
    /// Joins the group and subscribes to the topics. Must be called inside a Tokio runtime.
    pub fn new(config: KafkaSourceConfig, metrics: Arc<Metrics>) -> Result<Self, StreamError> {
        need_runtime("source")?;
        if config.topics.is_empty() {
            return Err(StreamError::Fatal("kafka: no topic to read".into()));
        }
        let offsets = Arc::new(Mutex::new(Offsets::default()));
        let context = GroupContext {
            offsets: offsets.clone(),
            metrics: metrics.clone(),
        };
        let consumer: StreamConsumer<GroupContext> =
            StreamConsumer::from_config_and_context(&config.client_config(), context)
                .map_err(|e| StreamError::Fatal(format!("kafka consumer: {e}")))?;
        let topics: Vec<&str> = config.topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .map_err(|e| StreamError::Fatal(format!("kafka subscribe to {topics:?}: {e}")))?;
        let consumer = Arc::new(consumer);
        let lag_task = if config.lag_interval.is_zero() {
            None
        } else {
            let task = crate::lag::spawn(
                &config.client_config(),
                offsets.clone(),
                metrics.clone(),
                config.lag_interval,
            )
            .map_err(|e| StreamError::Fatal(format!("kafka lag client: {e}")))?;
            Some(task)
        };
        let counter = |name: &str, help: &str| metrics.counter(name, help, &[]);
        let name = format!("kafka:{}", config.topics.join(","));
        Ok(KafkaSource {
            source_errors: metrics.counter(
                "trawl_source_errors_total",
                "Bad lines and unreadable inputs, by source.",
                &[("source", &name)],
            ),
            name,
            commit_errors: counter(
                "trawl_kafka_commit_errors_total",
                "Offset commits that failed (retried with the next batch).",
            ),
            consumer_errors: counter(
                "trawl_kafka_consumer_errors_total",
                "Errors reported by the Kafka consumer (broker down, unknown topic ...).",
            ),
            consumer,
            config,
            offsets,
            metrics,
            events: Vec::new(),
            messages: 0,
            deadline: None,
            lag_task,
        })
    }

    fn offsets(&self) -> std::sync::MutexGuard<'_, Offsets> {
        self.offsets.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(&mut self, m: &BorrowedMessage<'_>) {
        let (topic, partition, offset) = (m.topic(), m.partition(), m.offset());
        let format = self.config.format_of(topic);
        let mut problems = Vec::new();
        let result = crate::decode::decode(
            m.payload().unwrap_or(&[]),
            topic,
            format,
            &mut self.events,
            &mut problems,
        );
        // Counted where every source counts its problems (`trawl run`'s summary reads it).
        if !problems.is_empty() || result.is_err() {
            self.source_errors
                .add(problems.len() as u64 + u64::from(result.is_err()));
        }
        for problem in problems.iter().take(MAX_PROBLEMS_LOGGED) {
            tracing::warn!(
                topic,
                partition,
                offset,
                problem,
                "kafka message: value problem, kept as read"
            );
        }
        if let Err(reason) = result {
            tracing::warn!(
                topic,
                partition,
                offset,
                reason,
                "unreadable kafka message skipped"
            );
            self.metrics
                .counter(
                    "trawl_kafka_bad_messages_total",
                    "Kafka messages holding no readable record, by topic.",
                    &[("topic", topic)],
                )
                .add(1);
        }
        self.offsets().seen(topic, partition, offset);
        self.messages += 1;
        if self.deadline.is_none() {
            self.deadline = Some(Instant::now() + self.config.linger);
        }
    }

    fn seal(&mut self) -> Batch {
        self.messages = 0;
        self.deadline = None;
        Batch {
            events: std::mem::take(&mut self.events),
            token: self.offsets().seal(),
        }
    }

    async fn consumer_error(&mut self, e: KafkaError) -> Result<(), StreamError> {
        if let KafkaError::MessageConsumptionFatal(code) = e {
            return Err(StreamError::Fatal(format!("kafka consumer: {code}")));
        }
        self.consumer_errors.add(1);
        tracing::warn!(source = self.name, error = %e, "kafka consumer error");
        // librdkafka reconnects by itself; the pause keeps a persistent error from spinning.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(())
    }
}

#[async_trait]
impl Source for KafkaSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn next_batch(&mut self) -> Result<Option<Batch>, StreamError> {
        // Cancel-safe: messages received so far stay in `self` until a batch is handed out.
        let consumer = self.consumer.clone();
        loop {
            let due = self.deadline.is_some_and(|d| Instant::now() >= d);
            if self.messages >= self.config.max_batch.max(1) || due {
                return Ok(Some(self.seal()));
            }
            let received = match self.deadline {
                Some(d) => tokio::select! {
                    m = consumer.recv() => Some(m),
                    _ = tokio::time::sleep_until(d) => None,
                },
                None => Some(consumer.recv().await),
            };
            match received {
                Some(Ok(m)) => self.take(&m),
                Some(Err(e)) => self.consumer_error(e).await?,
                None => {}
            }
        }
    }

    async fn commit(&mut self, token: u64) -> Result<(), StreamError> {
        let list = self.offsets().written(token);
        if list.is_empty() {
            return Ok(());
        }
        let consumer = self.consumer.clone();
        let tpl = commit_list(&list);
        // A synchronous commit waits for the broker: off the runtime's workers.
        let result =
            tokio::task::spawn_blocking(move || consumer.commit(&tpl, CommitMode::Sync)).await;
        let error = match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        match error {
            None => self.offsets().committed(&list),
            Some(e) => {
                // Not fatal: the offsets stay ready and go with the next commit; if this member
                // loses the partitions first, their records are read again (at-least-once).
                self.commit_errors.add(1);
                tracing::warn!(source = self.name, error = %e, "kafka offset commit failed");
            }
        }
        Ok(())
    }
}

impl Drop for KafkaSource {
    fn drop(&mut self) {
        if let Some(t) = self.lag_task.take() {
            t.abort();
        }
    }
}
