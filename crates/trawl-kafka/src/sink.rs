//! [`KafkaSink`]: writes events as Zeek JSON and returns only once the broker acknowledged
//! every message.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::config::FromClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::future_producer::OwnedDeliveryResult;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use trawl_stream::metrics::Counter;
use trawl_stream::{Event, Metrics, Sink, StreamError};

use crate::config::KafkaSinkConfig;
use crate::encode::{encode, Encoded};
use crate::source::need_runtime;

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Produces each event as one Zeek JSON message (see [`KafkaSinkConfig`]).
///
/// [`Sink::write`] waits for every delivery report (`acks=all` unless configured otherwise).
/// Messages whose delivery failed are sent again with back-off, up to `max_retries` times,
/// before the write fails (and the pipeline retries the batch: a message may then arrive
/// twice). A message the broker can never take (too large) is dropped, logged and counted
/// (`trawl_kafka_dropped_total`) rather than blocking the pipeline for ever.
pub struct KafkaSink {
    name: String,
    producer: FutureProducer,
    config: KafkaSinkConfig,
    buf: Vec<u8>,
    messages: Vec<Encoded>,
    dropped: Counter,
    retried: Counter,
}

/// A message that was not delivered, and whether sending it again can help.
struct Failure {
    index: usize,
    error: KafkaError,
}

impl Failure {
    fn permanent(&self) -> bool {
        matches!(
            self.error.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::MessageSizeTooLarge
                    | RDKafkaErrorCode::InvalidMessageSize
                    | RDKafkaErrorCode::InvalidRecord
                    | RDKafkaErrorCode::InvalidTopic
            )
        )
    }
}

impl KafkaSink {
    /// A producer for `config`. Must be called inside a Tokio runtime.
    pub fn new(config: KafkaSinkConfig, metrics: Arc<Metrics>) -> Result<Self, StreamError> {
        need_runtime("sink")?;
        if config.topic.is_empty() {
            return Err(StreamError::Fatal("kafka sink: no topic".into()));
        }
        let producer = FutureProducer::from_config(&config.client_config())
            .map_err(|e| StreamError::Fatal(format!("kafka producer: {e}")))?;
        let name = format!("kafka:{}", config.topic);
        let labels = [("sink", name.as_str())];
        Ok(KafkaSink {
            dropped: metrics.counter(
                "trawl_kafka_dropped_total",
                "Records the broker can never accept (too large), dropped.",
                &labels,
            ),
            retried: metrics.counter(
                "trawl_kafka_retried_total",
                "Records sent again after a failed delivery.",
                &labels,
            ),
            name,
            producer,
            config,
            buf: Vec::new(),
            messages: Vec::new(),
        })
    }

    /// Sends the messages listed in `todo`; the ones not delivered.
    async fn send(&self, todo: &[usize]) -> Vec<Failure> {
        let mut inflight: VecDeque<(usize, DeliveryFuture)> = VecDeque::new();
        let mut failed = Vec::new();
        for &index in todo {
            let m = &self.messages[index];
            let mut record: FutureRecord<'_, [u8], [u8]> =
                FutureRecord::to(&m.topic).payload(&self.buf[m.payload.clone()]);
            if let Some(k) = &m.key {
                record = record.key(&self.buf[k.clone()]);
            }
            loop {
                match self.producer.send_result(record) {
                    Ok(delivery) => {
                        inflight.push_back((index, delivery));
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                        // librdkafka's queue is full: wait for the oldest delivery to make room.
                        record = r;
                        match inflight.pop_front() {
                            Some((i, d)) => settle(i, d.await, &mut failed),
                            None => tokio::time::sleep(Duration::from_millis(10)).await,
                        }
                    }
                    Err((error, _)) => {
                        failed.push(Failure { index, error });
                        break;
                    }
                }
            }
        }
        for (i, d) in inflight {
            settle(i, d.await, &mut failed);
        }
        failed
    }
}

fn settle<E>(index: usize, result: Result<OwnedDeliveryResult, E>, failed: &mut Vec<Failure>) {
    match result {
        Ok(Ok(_)) => {}
        Ok(Err((error, _))) => failed.push(Failure { index, error }),
        Err(_) => failed.push(Failure {
            index,
            error: KafkaError::Canceled,
        }),
    }
}

#[async_trait]
impl Sink for KafkaSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), StreamError> {
        self.buf.clear();
        self.messages.clear();
        for e in events {
            let m = encode(
                e,
                self.config.tag_json,
                self.config.key_field.as_deref(),
                &self.config.topic,
                &mut self.buf,
            );
            self.messages.push(m);
        }
        let mut todo: Vec<usize> = (0..self.messages.len()).collect();
        let mut backoff = Duration::from_millis(100);
        let mut attempt = 0;
        loop {
            let failed = self.send(&todo).await;
            let mut last = None;
            todo.clear();
            for f in failed {
                if f.permanent() {
                    self.dropped.add(1);
                    tracing::error!(sink = self.name, topic = self.messages[f.index].topic, error = %f.error, "record dropped: the broker refuses it");
                } else {
                    todo.push(f.index);
                    last = Some(f.error);
                }
            }
            let Some(error) = last else { return Ok(()) };
            if attempt >= self.config.max_retries {
                return Err(StreamError::Service {
                    service: self.name.clone(),
                    message: format!("{} records not delivered: {error}", todo.len()),
                });
            }
            attempt += 1;
            self.retried.add(todo.len() as u64);
            tracing::warn!(sink = self.name, records = todo.len(), error = %error, retry_in = ?backoff, "kafka delivery failed");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn flush(&mut self) -> Result<(), StreamError> {
        let producer = self.producer.clone();
        // Blocks until librdkafka's queue is empty: off the runtime's workers.
        tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(30)))
            .await
            .map_err(|e| StreamError::Fatal(format!("kafka flush: {e}")))?
            .map_err(|e| StreamError::Service {
                service: self.name.clone(),
                message: format!("flush: {e}"),
            })
    }
}
