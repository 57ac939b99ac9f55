//! Consumer lag per partition (`trawl_kafka_lag{topic,partition}`): the partition's high
//! watermark minus the group's committed offset, refreshed in the background.

use std::sync::{Arc, Weak};
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Offset;
use trawl_stream::metrics::Gauge;
use trawl_stream::Metrics;

use crate::context::GroupContext;

const TIMEOUT: Duration = Duration::from_secs(5);

/// The lag gauge of a partition.
pub(crate) fn gauge(metrics: &Metrics, topic: &str, partition: i32) -> Gauge {
    metrics.gauge(
        "trawl_kafka_lag",
        "Messages in a partition not yet committed by the consumer group.",
        &[("topic", topic), ("partition", &partition.to_string())],
    )
}

/// Refreshes the gauges every `every` until the consumer is dropped.
pub(crate) fn spawn(
    consumer: Weak<StreamConsumer<GroupContext>>,
    metrics: Arc<Metrics>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(c) = consumer.upgrade() else { return };
            let m = metrics.clone();
            // librdkafka's metadata calls block: keep them off the runtime's workers.
            match tokio::task::spawn_blocking(move || refresh(&c, &m)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "kafka lag not refreshed"),
                Err(_) => return,
            }
        }
    })
}

fn refresh(
    c: &StreamConsumer<GroupContext>,
    metrics: &Metrics,
) -> Result<(), rdkafka::error::KafkaError> {
    let assigned = c.assignment()?;
    if assigned.count() == 0 {
        return Ok(());
    }
    let committed = c.committed_offsets(assigned, TIMEOUT)?;
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
