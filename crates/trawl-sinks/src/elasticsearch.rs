//! Elasticsearch and OpenSearch through `_bulk`: an index per log type and day, documents as
//! Zeek JSON with `@timestamp`, and each item's status read from the answer.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use trawl_stream::{Event, Metrics, Sink, StreamError};

use crate::config::{Auth, HttpOptions};
use crate::deliver::{Attempt, Delivery, Destination};
use crate::error::SinkError;
use crate::http;
use crate::raw::RawJson;
use crate::timefmt;

const SERVICE: &str = "elasticsearch";

/// Where and how [`ElasticsearchSink`] writes.
#[derive(Debug, Clone, Deserialize)]
pub struct ElasticsearchConfig {
    /// The cluster, e.g. `https://127.0.0.1:9200`; `_bulk` is appended.
    pub url: String,
    /// The index of a record: `{log_type}`, `{yyyy}`, `{mm}` and `{dd}` (UTC day of its
    /// `ts`, or of now without one) are replaced.
    #[serde(default = "default_index")]
    pub index: String,
    /// Basic authentication or an API key.
    #[serde(default)]
    pub auth: Auth,
    #[serde(default)]
    pub http: HttpOptions,
}

fn default_index() -> String {
    "zeek-{log_type}-{yyyy}.{mm}.{dd}".into()
}

impl ElasticsearchConfig {
    /// The defaults for a cluster URL.
    pub fn new(url: impl Into<String>) -> Self {
        ElasticsearchConfig {
            url: url.into(),
            index: default_index(),
            auth: Auth::None,
            http: HttpOptions::default(),
        }
    }
}

/// One document, as sent, spooled and dead-lettered.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Doc {
    index: Arc<str>,
    doc: RawJson,
}

/// Writes events to Elasticsearch or OpenSearch.
pub struct ElasticsearchSink {
    delivery: Delivery<Bulk>,
    index: String,
}

impl ElasticsearchSink {
    /// A sink; checks the configuration but does not connect yet.
    pub fn new(config: ElasticsearchConfig, metrics: Option<&Metrics>) -> Result<Self, SinkError> {
        if config.index.is_empty() {
            return Err(SinkError::Config(
                "elasticsearch index template is empty".into(),
            ));
        }
        let dest = Bulk {
            client: http::client(&config.http)?,
            url: http::join(&config.url, "_bulk"),
            auth: config.auth.clone(),
        };
        Ok(ElasticsearchSink {
            delivery: Delivery::new(SERVICE, dest, &config.http, metrics)?,
            index: config.index,
        })
    }

    /// Documents written to the dead-letter file so far.
    pub fn dead_letters(&self) -> u64 {
        self.delivery.dead_letters()
    }

    /// Spool files still waiting for the cluster.
    pub fn spooled_files(&self) -> usize {
        self.delivery.spooled_files()
    }

    /// A document; `last` keeps the index name of the previous one (log type, day, name):
    /// consecutive records almost always share it.
    fn doc(&self, e: &Event, last: &mut Option<(String, i64, Arc<str>)>) -> Doc {
        let ts = timefmt::record_ts(e.get("ts"));
        let t = ts.unwrap_or_else(timefmt::now);
        let mut json = Vec::with_capacity(512);
        // What `to_record().write_json` writes, without the record where the event allows.
        e.write_json(&mut json);
        // `{"_path":...}` becomes `{"@timestamp":"...","_path":...}`.
        let mut doc = format!("{{\"@timestamp\":\"{}\",", timefmt::iso8601(t)).into_bytes();
        doc.extend_from_slice(json.get(1..).unwrap_or_default());
        let day = t.div_euclid(86_400 * 1_000_000_000);
        let index = match last {
            Some((lt, d, name)) if lt == e.log_type() && *d == day => name.clone(),
            _ => {
                let name: Arc<str> = index_name(&self.index, e.log_type(), t).into();
                *last = Some((e.log_type().to_string(), day, name.clone()));
                name
            }
        };
        Doc {
            index,
            doc: RawJson::new(doc),
        }
    }
}

/// The index name for a log type and time.
fn index_name(template: &str, log_type: &str, t: i64) -> String {
    let (y, m, d) = timefmt::ymd(t);
    // Index names are lowercase and cannot hold most punctuation.
    let lt: String = log_type
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_' | '-' | '.') => c,
            _ => '_',
        })
        .collect();
    template
        .replace("{log_type}", &lt)
        .replace("{yyyy}", &format!("{y:04}"))
        .replace("{mm}", &format!("{m:02}"))
        .replace("{dd}", &format!("{d:02}"))
}

#[async_trait]
impl Sink for ElasticsearchSink {
    fn name(&self) -> &str {
        SERVICE
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), StreamError> {
        let mut last = None;
        let docs = events.iter().map(|e| self.doc(e, &mut last)).collect();
        Ok(self.delivery.deliver(docs).await?)
    }

    async fn flush(&mut self) -> Result<(), StreamError> {
        self.delivery.flush().await;
        Ok(())
    }
}

/// The `_bulk` protocol side.
pub(crate) struct Bulk {
    client: reqwest::Client,
    url: String,
    auth: Auth,
}

#[derive(Deserialize)]
struct BulkAnswer {
    #[serde(default)]
    errors: bool,
    #[serde(default)]
    items: Vec<std::collections::HashMap<String, BulkItem>>,
}

#[derive(Deserialize)]
struct BulkItem {
    status: u16,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

fn body(items: &[Doc]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.iter().map(|d| d.doc.get().len() + 48).sum());
    for d in items {
        out.extend_from_slice(b"{\"index\":{\"_index\":");
        let _ = serde_json::to_writer(&mut out, &d.index);
        out.extend_from_slice(b"}}\n");
        out.extend_from_slice(d.doc.get().as_bytes());
        out.push(b'\n');
    }
    out
}

/// What the items of an `errors: true` answer say.
fn judge(answer: BulkAnswer, n: usize) -> Attempt {
    if answer.items.len() != n {
        return Attempt::Failed(SinkError::Unavailable {
            service: SERVICE.into(),
            message: format!("_bulk answered {} items for {n}", answer.items.len()),
        });
    }
    let (mut retry, mut rejected) = (Vec::new(), Vec::new());
    let mut first = None;
    for (i, item) in answer.items.into_iter().enumerate() {
        let Some(it) = item.into_values().next() else {
            retry.push(i);
            continue;
        };
        if (200..300).contains(&it.status) {
            continue;
        }
        let reason = match &it.error {
            Some(e) => format!("HTTP {}: {e}", it.status),
            None => format!("HTTP {}", it.status),
        };
        let status = StatusCode::from_u16(it.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if http::retryable_status(status) {
            first.get_or_insert_with(|| reason.clone());
            retry.push(i);
        } else {
            rejected.push((i, reason));
        }
    }
    if retry.is_empty() && rejected.is_empty() {
        return Attempt::Accepted;
    }
    Attempt::Partial {
        why: SinkError::Unavailable {
            service: SERVICE.into(),
            message: format!(
                "{} of {n} items to retry: {}",
                retry.len(),
                first.unwrap_or_default()
            ),
        },
        retry,
        rejected,
    }
}

#[async_trait]
impl Destination for Bulk {
    type Item = Doc;

    async fn send(&self, items: &[Doc]) -> Attempt {
        let req = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .body(body(items));
        let resp = match http::with_auth(req, &self.auth).send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Failed(http::transport(SERVICE, e)),
        };
        let status = resp.status();
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Attempt::Failed(http::transport(SERVICE, e)),
        };
        if !status.is_success() {
            let e = http::status_error(SERVICE, status, &bytes);
            return match status {
                // Something in the request is too large or malformed: find it by splitting.
                StatusCode::PAYLOAD_TOO_LARGE | StatusCode::BAD_REQUEST => {
                    Attempt::Poison(e.to_string())
                }
                _ if e.is_retryable() => Attempt::Failed(e),
                _ => Attempt::Fatal(e),
            };
        }
        #[derive(Deserialize)]
        struct Head {
            #[serde(default)]
            errors: bool,
        }
        match serde_json::from_slice::<Head>(&bytes) {
            Ok(h) if !h.errors => return Attempt::Accepted,
            Ok(_) => {}
            Err(e) => {
                return Attempt::Failed(SinkError::Unavailable {
                    service: SERVICE.into(),
                    message: format!("unreadable _bulk answer: {e}"),
                })
            }
        }
        match serde_json::from_slice::<BulkAnswer>(&bytes) {
            Ok(a) if a.errors => judge(a, items.len()),
            Ok(_) => Attempt::Accepted,
            Err(e) => Attempt::Failed(SinkError::Unavailable {
                service: SERVICE.into(),
                message: format!("unreadable _bulk answer: {e}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_per_type_and_day() {
        let t = 1_700_000_000_000_000_000;
        assert_eq!(
            index_name(&default_index(), "DNS", t),
            "zeek-dns-2023.11.14"
        );
        assert_eq!(index_name("logs-{log_type}", "a b/c", t), "logs-a_b_c");
    }

    #[test]
    fn items_are_judged_one_by_one() {
        let a: BulkAnswer = serde_json::from_str(
            r#"{"errors":true,"items":[
                {"index":{"status":201}},
                {"index":{"status":429,"error":{"type":"es_rejected_execution_exception"}}},
                {"index":{"status":400,"error":{"type":"mapper_parsing_exception"}}},
                {"create":{"status":503}}]}"#,
        )
        .unwrap();
        let Attempt::Partial {
            retry, rejected, ..
        } = judge(a, 4)
        else {
            panic!("expected a partial answer");
        };
        assert_eq!(retry, vec![1, 3]);
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].0, 2);
        assert!(rejected[0].1.contains("mapper_parsing_exception"));
    }
}
