//! Knobs shared by every HTTP sink.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// A password, token or API key: shown as `***` by `Debug` so it never reaches a log.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for building a request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How a sink authenticates.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// HTTP basic authentication.
    Basic { user: String, password: Secret },
    /// Elasticsearch's `Authorization: ApiKey <key>` (the base64 `id:api_key` it hands out).
    ApiKey(Secret),
}

/// How long and how often a failed request is tried again before the batch is spooled.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct RetryPolicy {
    /// The first pause, doubled after each failure.
    #[serde(with = "secs")]
    pub initial_backoff: Duration,
    /// The longest pause.
    #[serde(with = "secs")]
    pub max_backoff: Duration,
    /// How long `write` keeps trying before spooling (or failing, without a spool).
    #[serde(with = "secs")]
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            budget: Duration::from_secs(30),
        }
    }
}

/// Where batches wait while their destination is down.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SpoolOptions {
    /// A directory of this sink's own (two sinks must not share one).
    pub dir: PathBuf,
    /// Past this many bytes of spooled files, `write` fails instead of spooling more.
    #[serde(default = "default_spool_bytes")]
    pub max_bytes: u64,
}

fn default_spool_bytes() -> u64 {
    10 << 30
}

impl SpoolOptions {
    /// A spool in `dir` with the default size limit (10 GiB).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SpoolOptions {
            dir: dir.into(),
            max_bytes: default_spool_bytes(),
        }
    }
}

/// What every HTTP sink is configured with, besides its URL and credentials.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct HttpOptions {
    /// Records per request at most; a larger batch is sent in several requests. Default:
    /// 5,000 for Elasticsearch and Splunk (a few MB a request), 100,000 for ClickHouse (each
    /// INSERT makes a part the server merges later: fewer, larger INSERTs cost it less).
    pub max_batch: Option<usize>,
    /// Time limit of one request.
    #[serde(with = "secs")]
    pub timeout: Duration,
    /// A PEM file of CA certificates to trust besides the built-in roots (private clusters).
    pub ca_file: Option<PathBuf>,
    pub retry: RetryPolicy,
    /// Without a spool, a destination down longer than the retry budget fails `write` and
    /// the pipeline retries the batch itself.
    pub spool: Option<SpoolOptions>,
    /// NDJSON file for records refused for good. Without one, such a refusal is a fatal
    /// error (nothing is dropped silently).
    pub dead_letter: Option<PathBuf>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            max_batch: None,
            timeout: Duration::from_secs(30),
            ca_file: None,
            retry: RetryPolicy::default(),
            spool: None,
            dead_letter: None,
        }
    }
}

/// Durations written as (fractional) seconds in configuration files.
pub(crate) mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = f64::deserialize(d)?;
        Duration::try_from_secs_f64(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let a = Auth::Basic {
            user: "elastic".into(),
            password: Secret::new("hunter2"),
        };
        let shown = format!("{a:?}");
        assert!(shown.contains("elastic") && !shown.contains("hunter2"));
    }

    #[test]
    fn options_read_from_json() {
        let o: HttpOptions = serde_json::from_str(
            r#"{"max_batch": 10, "retry": {"budget": 1.5}, "spool": {"dir": "/var/spool/x"}}"#,
        )
        .unwrap();
        assert_eq!(o.max_batch, Some(10));
        assert_eq!(o.retry.budget, Duration::from_millis(1500));
        assert_eq!(o.retry.max_backoff, Duration::from_secs(10));
        assert_eq!(o.spool.unwrap().max_bytes, 10 << 30);
    }
}
