//! Kafka for trawl: [`KafkaSource`] reads Zeek records as a member of a consumer group and
//! commits offsets only after the pipeline's sinks wrote them (at-least-once); [`KafkaSink`]
//! produces enriched records as Zeek JSON and returns only once the broker acknowledged them.
//!
//! Message formats read (see [`decode`]):
//! - Zeek JSON, one object a message, plain or `tag_json`-wrapped (`{"dns": {...}}`);
//!   without `_path` or wrapper the log type is the topic's configured
//!   [`TopicFormat::log_type`], else the topic name;
//! - headerless Zeek TSV rows, read with the topic's [`TsvSchema`] (`#fields`/`#types`); a
//!   topic without one counts such rows as bad messages;
//! - anything else trawl's log reader knows (TSV with its own header block, several JSON
//!   lines, dnsmasq lines).
//!
//! Both use librdkafka (bundled): raw properties pass through for TLS, SASL and tuning.

#![warn(missing_docs)]

mod admin;
mod config;
mod context;
pub mod decode;
mod encode;
mod lag;
mod offsets;
mod settings;
mod sink;
mod source;

pub use admin::create_topics;
pub use config::{KafkaSinkConfig, KafkaSourceConfig, StartOffset, TopicFormat, TsvSchema};
pub use settings::{KafkaSinkSettings, KafkaSourceSettings};
pub use sink::KafkaSink;
pub use source::KafkaSource;
