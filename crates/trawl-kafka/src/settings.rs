//! The Kafka source and sink as `trawl run`'s configuration file writes them
//! (`[sources.NAME] type = "kafka"`, `[sinks.NAME] type = "kafka"`), and how each is built.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use trawl_stream::{Metrics, StreamError};

use crate::{KafkaSink, KafkaSinkConfig, KafkaSource, KafkaSourceConfig, StartOffset};

/// A consumer group reading topics.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceSettings {
    /// `host:port[,host:port...]`.
    pub brokers: String,
    /// Topics to subscribe to; a name starting with `^` is a regular expression.
    pub topics: Vec<String>,
    /// The consumer group: instances with the same group share the partitions.
    pub group: String,
    /// `earliest` (the default) or `latest`, for a group with no committed offsets.
    #[serde(default = "earliest")]
    pub start: StartOffset,
    /// Extra librdkafka properties (`session.timeout.ms` also sets the session timeout).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn earliest() -> StartOffset {
    StartOffset::Earliest
}

impl KafkaSourceSettings {
    /// The source, handing out batches of up to `max_batch` messages. Must be called inside
    /// a Tokio runtime.
    pub fn build(
        &self,
        max_batch: usize,
        metrics: Arc<Metrics>,
    ) -> Result<KafkaSource, StreamError> {
        let mut c = KafkaSourceConfig::new(&self.brokers, self.topics.clone(), &self.group);
        c.start_offset = self.start;
        c.max_batch = max_batch;
        c.properties = pairs(&self.properties);
        if let Some(ms) = self
            .properties
            .get("session.timeout.ms")
            .and_then(|v| v.parse().ok())
        {
            c.session_timeout = Duration::from_millis(ms);
        }
        KafkaSource::new(c, metrics)
    }
}

/// A topic written with acknowledged deliveries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkSettings {
    /// `host:port[,host:port...]`.
    pub brokers: String,
    /// A topic name; `{log_type}` is replaced (e.g. `zeek-{log_type}`).
    pub topic: String,
    /// Wraps records as the Zeek Kafka plugin's `tag_json` does.
    #[serde(default)]
    pub tag_json: bool,
    /// Extra librdkafka properties.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

impl KafkaSinkSettings {
    /// The sink. Must be called inside a Tokio runtime.
    pub fn build(&self, metrics: Arc<Metrics>) -> Result<KafkaSink, StreamError> {
        let mut c = KafkaSinkConfig::new(&self.brokers, &self.topic);
        c.tag_json = self.tag_json;
        c.properties = pairs(&self.properties);
        KafkaSink::new(c, metrics)
    }
}

fn pairs(m: &BTreeMap<String, String>) -> Vec<(String, String)> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
