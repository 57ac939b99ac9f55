//! Consumer lag per partition (`trawl_kafka_lag{topic,partition}`): the partition's high
//! watermark minus the group's committed offset, refreshed in the background.
//!
//! The queries go through a client of their own (same group id, never joining the group), so
//! a slow metadata request never keeps the group member alive after the source is dropped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::config::FromClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset};
use trawl_stream::metrics::Gauge;
use trawl_stream::Metrics;

use crate::context::commit_list;
use crate::offsets::Offsets;

const TIMEOUT: Duration = Duration::from_secs(5);

/// The lag gauge of a partition.
pub(crate) fn gauge(metrics: &Metrics, topic: &str, partition: i32) -> Gauge {
    metrics.gauge(
        "trawl_kafka_lag",
        "Messages in a partition not yet committed by the consumer group.",
        &[("topic", topic), ("partition", &partition.to_string())],
    )
}

/// Refreshes the gauges of the partitions in `offsets`' owned set every `every`.
pub(crate) fn spawn(
    config: &ClientConfig,
    offsets: Arc<Mutex<Offsets>>,
    metrics: Arc<Metrics>,
    every: Duration,
) -> Result<tokio::task::JoinHandle<()>, rdkafka::error::KafkaError> {
    let client = Arc::new(BaseConsumer::from_config(config)?);
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let owned = offsets.lock().unwrap_or_else(|e| e.into_inner()).owned();
            if owned.is_empty() {
                continue;
            }
            let (c, m) = (client.clone(), metrics.clone());
            // librdkafka's metadata calls block: keep them off the runtime's workers.
            match tokio::task::spawn_blocking(move || refresh(&c, &m, &owned)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "kafka lag not refreshed"),
                Err(_) => return,
            }
        }
    }))
}

fn refresh(
    c: &BaseConsumer,
    metrics: &Metrics,
    owned: &[crate::offsets::Tp],
) -> Result<(), rdkafka::error::KafkaError> {
    let query: Vec<_> = owned.iter().map(|tp| (tp.clone(), 0)).collect();
    let mut tpl = commit_list(&query);
    tpl.set_all_offsets(Offset::Invalid)?;
    let committed = c.committed_offsets(tpl, TIMEOUT)?;
    for e in committed.elements() {
        let (low, high) = c.fetch_watermarks(e.topic(), e.partition(), TIMEOUT)?;
        let from = match e.offset() {
            Offset::Offset(o) => o,
            _ => low,
        };
        gauge(metrics, e.topic(), e.partition()).set(high.saturating_sub(from).max(0) as u64);
    }
    Ok(())
}
