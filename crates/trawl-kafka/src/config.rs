//! What the Kafka source and sink are told: brokers, topics, group, formats, and raw
//! librdkafka properties passed through.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;
use trawl_stream::StreamError;
use trawl_zeek::header::Directive;
use trawl_zeek::Header;

/// Where a consumer group that has no committed offset for a partition starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartOffset {
    /// The oldest message still kept (replays the topic's retention).
    Earliest,
    /// Only messages produced after the group joined.
    #[default]
    Latest,
}

impl StartOffset {
    fn as_str(self) -> &'static str {
        match self {
            StartOffset::Earliest => "earliest",
            StartOffset::Latest => "latest",
        }
    }
}

/// The columns of headerless Zeek TSV messages (one row a message, as a `#fields` line and
/// optionally a `#types` line would declare them).
#[derive(Debug, Clone)]
pub struct TsvSchema {
    header: Arc<Header>,
}

impl TsvSchema {
    /// A schema from the text of a `#fields` line and, optionally, of a `#types` line (both
    /// tab-separated, without the directive name). Without types, `ts` and `_write_ts` are
    /// times and every other column a string.
    pub fn new(log_type: &str, fields: &str, types: Option<&str>) -> Result<Self, StreamError> {
        let mut h = Header {
            path: Some(log_type.to_string()),
            ..Header::default()
        };
        h.apply(Directive::Fields, fields.as_bytes());
        if h.fields.is_empty() || h.fields.iter().any(|f| f.is_empty()) {
            return Err(StreamError::Fatal(format!(
                "TSV schema for {log_type}: empty field name in {fields:?}"
            )));
        }
        let guessed;
        let types = match types {
            Some(t) => t,
            None => {
                guessed = h
                    .fields
                    .iter()
                    .map(|f| match f.as_str() {
                        "ts" | "_write_ts" => "time",
                        _ => "string",
                    })
                    .collect::<Vec<_>>()
                    .join("\t");
                &guessed
            }
        };
        if let Some(complaint) = h.apply(Directive::Types, types.as_bytes()) {
            return Err(StreamError::Fatal(format!(
                "TSV schema for {log_type}: {complaint}"
            )));
        }
        Ok(TsvSchema {
            header: Arc::new(h),
        })
    }

    /// The header rows are read with.
    pub fn header(&self) -> &Arc<Header> {
        &self.header
    }
}

/// How the messages of one topic are read when they do not say it themselves.
#[derive(Debug, Clone, Default)]
pub struct TopicFormat {
    /// Log type of JSON objects with neither `_path` nor a `tag_json` wrapper; the topic's
    /// name when unset.
    pub log_type: Option<String>,
    /// Columns of headerless TSV rows; without it such rows are counted as bad.
    pub tsv: Option<TsvSchema>,
}

/// Settings of a [`crate::KafkaSource`].
#[derive(Debug, Clone)]
pub struct KafkaSourceConfig {
    /// `host:port[,host:port...]` (`bootstrap.servers`).
    pub brokers: String,
    /// Topics to subscribe to; a name starting with `^` is a regular expression.
    pub topics: Vec<String>,
    /// Consumer group (`group.id`): instances with the same group share the partitions.
    pub group_id: String,
    /// Where a group without committed offsets starts (`auto.offset.reset`).
    pub start_offset: StartOffset,
    /// How long the broker waits for a silent member before giving its partitions away
    /// (`session.timeout.ms`).
    pub session_timeout: Duration,
    /// Most messages in one batch.
    pub max_batch: usize,
    /// How long a batch may wait for more messages after its first one.
    pub linger: Duration,
    /// How often the consumer lag gauge is refreshed from the partitions' watermarks;
    /// zero turns it off.
    pub lag_interval: Duration,
    /// Per-topic formats (log type, TSV columns), by topic name.
    pub topic_formats: HashMap<String, TopicFormat>,
    /// Format of topics not in `topic_formats`.
    pub default_format: TopicFormat,
    /// Raw librdkafka properties, applied last (TLS, SASL, `client.id`, fetch sizes ...).
    pub properties: Vec<(String, String)>,
}

impl KafkaSourceConfig {
    /// Defaults for the rest: latest offset, 45 s session timeout, batches of up to 1000
    /// messages lingering 100 ms, lag refreshed every 10 s.
    pub fn new(
        brokers: impl Into<String>,
        topics: Vec<String>,
        group_id: impl Into<String>,
    ) -> Self {
        KafkaSourceConfig {
            brokers: brokers.into(),
            topics,
            group_id: group_id.into(),
            start_offset: StartOffset::default(),
            session_timeout: Duration::from_secs(45),
            max_batch: 1000,
            linger: Duration::from_millis(100),
            lag_interval: Duration::from_secs(10),
            topic_formats: HashMap::new(),
            default_format: TopicFormat::default(),
            properties: Vec::new(),
        }
    }

    /// The format of `topic`.
    pub(crate) fn format_of(&self, topic: &str) -> &TopicFormat {
        self.topic_formats
            .get(topic)
            .unwrap_or(&self.default_format)
    }

    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("group.id", &self.group_id)
            .set("auto.offset.reset", self.start_offset.as_str())
            // Offsets are committed by hand, once the sinks wrote the batch.
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set(
                "session.timeout.ms",
                self.session_timeout.as_millis().to_string(),
            );
        // librdkafka wants heartbeats well inside the session timeout.
        let heartbeat =
            (self.session_timeout / 3).clamp(Duration::from_millis(100), Duration::from_secs(3));
        c.set("heartbeat.interval.ms", heartbeat.as_millis().to_string());
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c
    }
}

/// Settings of a [`crate::KafkaSink`].
#[derive(Debug, Clone)]
pub struct KafkaSinkConfig {
    /// `host:port[,host:port...]` (`bootstrap.servers`).
    pub brokers: String,
    /// The topic, or a template in which `{log_type}` is replaced (`zeek-{log_type}`).
    pub topic: String,
    /// Wraps each record as the Zeek Kafka plugin's `tag_json` does: `{"dns": {...}}`.
    pub tag_json: bool,
    /// A field whose value keys each message (e.g. `uid`, so a connection's records share a
    /// partition); unkeyed messages are spread by librdkafka's partitioner.
    pub key_field: Option<String>,
    /// Acknowledgement asked of the broker (`acks`): `all`, `1` or `0`.
    pub acks: String,
    /// How many times `write` resends messages whose delivery failed before giving up.
    pub max_retries: u32,
    /// Raw librdkafka properties, applied last (`compression.type`, `linger.ms`, TLS ...).
    pub properties: Vec<(String, String)>,
}

impl KafkaSinkConfig {
    /// Defaults for the rest: plain JSON, no key, `acks=all`, 5 retries.
    pub fn new(brokers: impl Into<String>, topic: impl Into<String>) -> Self {
        KafkaSinkConfig {
            brokers: brokers.into(),
            topic: topic.into(),
            tag_json: false,
            key_field: None,
            acks: "all".into(),
            max_retries: 5,
            properties: Vec::new(),
        }
    }

    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("acks", &self.acks)
            // Batches of records: a short linger fills produce requests without adding much
            // latency to a `write` that waits for every delivery anyway.
            .set("linger.ms", "5");
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_schema_guesses_types_and_rejects_mismatches() {
        let s = TsvSchema::new("dns", "ts\tuid\tquery", None).unwrap();
        assert_eq!(s.header().fields, ["ts", "uid", "query"]);
        assert_eq!(s.header().type_names, ["time", "string", "string"]);
        assert!(TsvSchema::new("dns", "ts\tuid", Some("time")).is_err());
        assert!(TsvSchema::new("dns", "", None).is_err());
    }

    #[test]
    fn extra_properties_come_last() {
        let mut c = KafkaSourceConfig::new("b:9092", vec!["t".into()], "g");
        c.session_timeout = Duration::from_secs(6);
        c.properties
            .push(("auto.offset.reset".into(), "earliest".into()));
        let cc = c.client_config();
        assert_eq!(cc.get("auto.offset.reset"), Some("earliest"));
        assert_eq!(cc.get("session.timeout.ms"), Some("6000"));
        assert_eq!(cc.get("heartbeat.interval.ms"), Some("2000"));
        assert_eq!(cc.get("enable.auto.commit"), Some("false"));
    }
}
