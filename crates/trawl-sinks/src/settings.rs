//! The HTTP sinks as `trawl run`'s configuration file writes them (`[sinks.NAME] type =
//! "clickhouse"`, `"elasticsearch"`, `"splunk_hec"`), and how each is built. Secrets are read
//! when the sink is built, never before.

use serde::Deserialize;
use trawl_stream::Metrics;

use crate::{
    Auth, ClickHouseConfig, ClickHouseSink, ElasticsearchConfig, ElasticsearchSink, HttpOptions,
    SecretSource, SinkError, SplunkHecConfig, SplunkHecSink,
};

/// ClickHouse over HTTP, a table per log type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseSettings {
    /// The HTTP interface, e.g. `http://127.0.0.1:8123/`.
    pub url: String,
    /// Created if missing (default `default`).
    #[serde(default = "default_db")]
    pub database: String,
    /// Tables are named prefix + log type (default `zeek_`).
    #[serde(default = "default_prefix")]
    pub table_prefix: String,
    /// Basic authentication: the user ...
    pub user: Option<String>,
    /// ... and its password.
    pub password: Option<SecretSource>,
    /// Rows per INSERT at most (default 100,000: each INSERT makes a part the server merges).
    pub max_batch: Option<usize>,
}

/// `http` with the configured request size, if any.
fn with_max_batch(http: HttpOptions, max_batch: Option<usize>) -> HttpOptions {
    HttpOptions {
        max_batch: max_batch.or(http.max_batch),
        ..http
    }
}

fn default_db() -> String {
    "default".into()
}

fn default_prefix() -> String {
    "zeek_".into()
}

impl ClickHouseSettings {
    /// The sink, retrying and spooling as `http` says.
    pub fn build(
        &self,
        http: HttpOptions,
        metrics: Option<&Metrics>,
    ) -> Result<ClickHouseSink, SinkError> {
        let mut c = ClickHouseConfig::new(&self.url);
        c.database = self.database.clone();
        c.table_prefix = self.table_prefix.clone();
        c.auth = basic(&self.user, &self.password)?;
        c.http = with_max_batch(http, self.max_batch);
        ClickHouseSink::new(c, metrics)
    }
}

/// Elasticsearch or OpenSearch `_bulk`, an index per log type and day.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElasticsearchSettings {
    /// The cluster, e.g. `https://127.0.0.1:9200`.
    pub url: String,
    /// `{log_type}` and `{date}` (`yyyy.mm.dd`) are replaced (default
    /// `zeek-{log_type}-{date}`).
    #[serde(default = "default_index")]
    pub index: String,
    /// Basic authentication: the user ...
    pub user: Option<String>,
    /// ... and its password.
    pub password: Option<SecretSource>,
    /// An API key instead (`Authorization: ApiKey ...`).
    pub api_key: Option<SecretSource>,
    /// Records per `_bulk` request at most (default 5,000).
    pub max_batch: Option<usize>,
}

fn default_index() -> String {
    "zeek-{log_type}-{date}".into()
}

impl ElasticsearchSettings {
    /// The sink, retrying and spooling as `http` says.
    pub fn build(
        &self,
        http: HttpOptions,
        metrics: Option<&Metrics>,
    ) -> Result<ElasticsearchSink, SinkError> {
        let mut c = ElasticsearchConfig::new(&self.url);
        c.index = self.index.replace("{date}", "{yyyy}.{mm}.{dd}");
        c.auth = match &self.api_key {
            Some(k) => Auth::ApiKey(k.resolve().map_err(SinkError::Config)?),
            None => basic(&self.user, &self.password)?,
        };
        c.http = with_max_batch(http, self.max_batch);
        ElasticsearchSink::new(c, metrics)
    }
}

/// A Splunk HTTP Event Collector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplunkHecSettings {
    /// The collector, e.g. `https://splunk:8088`.
    pub url: String,
    /// The HEC token.
    pub token: SecretSource,
    /// Wait for indexer acknowledgement (the token must have it enabled).
    #[serde(default)]
    pub ack: bool,
    /// Events per request at most (default 5,000).
    pub max_batch: Option<usize>,
}

impl SplunkHecSettings {
    /// The sink, retrying and spooling as `http` says.
    pub fn build(
        &self,
        http: HttpOptions,
        metrics: Option<&Metrics>,
    ) -> Result<SplunkHecSink, SinkError> {
        let token = self.token.resolve().map_err(SinkError::Config)?;
        let mut c = SplunkHecConfig::new(&self.url, token);
        c.ack = self.ack;
        c.http = with_max_batch(http, self.max_batch);
        SplunkHecSink::new(c, metrics)
    }
}

fn basic(user: &Option<String>, password: &Option<SecretSource>) -> Result<Auth, SinkError> {
    Ok(match (user, password) {
        (Some(u), Some(p)) => Auth::Basic {
            user: u.clone(),
            password: p.resolve().map_err(SinkError::Config)?,
        },
        (Some(u), None) => return Err(SinkError::Config(format!("user {u} has no password"))),
        _ => Auth::None,
    })
}
