//! The consumer's rebalance callbacks: keep the set of owned partitions current so offsets are
//! never committed for partitions another member now reads.

use std::sync::{Arc, Mutex};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use trawl_stream::Metrics;

use crate::offsets::{Offsets, Tp};

/// Context of the source's consumer.
pub(crate) struct GroupContext {
    pub offsets: Arc<Mutex<Offsets>>,
    pub metrics: Arc<Metrics>,
}

impl ClientContext for GroupContext {
    // librdkafka's own log (group joins, broker connections) into trawl's, not the `log` crate.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => tracing::error!(target: "librdkafka", fac, "{message}"),
            RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", fac, "{message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", fac, "{message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", fac, "{message}"),
        }
    }
}

fn partitions(tpl: &TopicPartitionList) -> Vec<Tp> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect()
}

/// Builds the list to commit: `next` is the next offset to read of each partition.
pub(crate) fn commit_list(list: &[(Tp, i64)]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::with_capacity(list.len());
    for ((topic, partition), next) in list {
        // Only fails for a partition listed twice, which a map key cannot be.
        let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(*next));
    }
    tpl
}

impl GroupContext {
    fn lock(&self) -> std::sync::MutexGuard<'_, Offsets> {
        self.offsets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                let tps = partitions(tpl);
                let last = self.lock().ready_for(&tps);
                if !last.is_empty() {
                    // Still ours until this callback returns: the last chance to commit them.
                    if let Err(e) = consumer.commit(&commit_list(&last), CommitMode::Sync) {
                        tracing::warn!(error = %e, "commit before revocation failed: those records will be read again");
                    }
                }
                self.lock().revoke(&tps);
                for (topic, partition) in &tps {
                    crate::lag::gauge(&self.metrics, topic, *partition).set(0);
                }
                tracing::info!(partitions = ?tps, "kafka partitions revoked");
            }
            Rebalance::Assign(_) => {}
            Rebalance::Error(e) => tracing::warn!(error = %e, "kafka rebalance failed"),
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let tps = partitions(tpl);
            tracing::info!(partitions = ?tps, "kafka partitions assigned");
            self.lock().assign(tps);
        }
    }
}
