//! trawl's HTTP sinks: [`ClickHouseSink`] (TabSeparated INSERTs, a table per log type),
//! [`ElasticsearchSink`] (`_bulk`, an index per log type and day) and [`SplunkHecSink`]
//! (HEC events, with indexer acknowledgement).
//!
//! Every sink sends a batch in requests of at most [`HttpOptions::max_batch`] records and
//! returns from `write` only once the destination accepted them. A failed request is retried
//! with back-off for [`RetryPolicy::budget`]; past it the records go to the [`spool`] on disk
//! (when configured), which a background task re-sends in order once the destination is back.
//! Records a destination refuses for good (mapping errors, bad data) go to a dead-letter file
//! instead of blocking the pipeline. Delivery is at-least-once: a retried request that the
//! destination had in fact applied gives a duplicate.

mod clickhouse;
mod config;
mod deadletter;
mod deliver;
mod elasticsearch;
mod error;
mod http;
mod raw;
mod secret;
mod settings;
mod splunk;
mod spool;
mod timefmt;

pub use clickhouse::{ClickHouseConfig, ClickHouseSink};
pub use config::{Auth, HttpOptions, RetryPolicy, Secret, SpoolOptions};
pub use elasticsearch::{ElasticsearchConfig, ElasticsearchSink};
pub use error::SinkError;
pub use secret::SecretSource;
pub use settings::{ClickHouseSettings, ElasticsearchSettings, SplunkHecSettings};
pub use splunk::{SplunkHecConfig, SplunkHecSink};
