//! Splunk's HTTP Event Collector: batched events, and indexer acknowledgement when enabled
//! (a channel per sink; `write` returns once every batch's `ackId` is reported indexed).

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use trawl_stream::{Event, Metrics, Sink, StreamError};

use crate::config::{secs, HttpOptions, Secret};
use crate::deliver::{Attempt, Delivery, Destination};
use crate::error::SinkError;
use crate::http;
use crate::raw::RawJson;
use crate::timefmt;

const SERVICE: &str = "splunk-hec";

/// Where and how [`SplunkHecSink`] writes.
#[derive(Debug, Clone, Deserialize)]
pub struct SplunkHecConfig {
    /// The collector, e.g. `https://splunk:8088`; `/services/collector/event` is appended.
    pub url: String,
    /// The HEC token (sent as `Authorization: Splunk <token>`).
    pub token: Secret,
    /// The sourcetype is this plus the log type: `zeek:dns`.
    #[serde(default = "default_sourcetype")]
    pub sourcetype_prefix: String,
    /// The Splunk index; the token's default without one.
    #[serde(default)]
    pub index: Option<String>,
    /// The `source` of every event.
    #[serde(default)]
    pub source: Option<String>,
    /// The `host` of every event.
    #[serde(default)]
    pub host: Option<String>,
    /// Wait for indexer acknowledgement (the token must have it enabled).
    #[serde(default)]
    pub ack: bool,
    /// How often acknowledgement is asked for.
    #[serde(default = "default_ack_poll", with = "secs")]
    pub ack_poll: Duration,
    /// How long to wait for it before sending the batch again.
    #[serde(default = "default_ack_timeout", with = "secs")]
    pub ack_timeout: Duration,
    #[serde(default)]
    pub http: HttpOptions,
}

fn default_sourcetype() -> String {
    "zeek:".into()
}

fn default_ack_poll() -> Duration {
    Duration::from_secs(1)
}

fn default_ack_timeout() -> Duration {
    Duration::from_secs(120)
}

impl SplunkHecConfig {
    /// The defaults for a collector URL and token.
    pub fn new(url: impl Into<String>, token: Secret) -> Self {
        SplunkHecConfig {
            url: url.into(),
            token,
            sourcetype_prefix: default_sourcetype(),
            index: None,
            source: None,
            host: None,
            ack: false,
            ack_poll: default_ack_poll(),
            ack_timeout: default_ack_timeout(),
            http: HttpOptions::default(),
        }
    }
}

/// One HEC event object, as sent, spooled and dead-lettered.
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct HecEvent(RawJson);

/// Writes events to a Splunk HTTP Event Collector.
pub struct SplunkHecSink {
    delivery: Delivery<Hec>,
    config: SplunkHecConfig,
}

impl SplunkHecSink {
    /// A sink; checks the configuration but does not connect yet.
    pub fn new(config: SplunkHecConfig, metrics: Option<&Metrics>) -> Result<Self, SinkError> {
        if config.token.expose().is_empty() {
            return Err(SinkError::Config("splunk-hec token is empty".into()));
        }
        let dest = Hec {
            client: http::client(&config.http)?,
            event_url: http::join(&config.url, "services/collector/event"),
            ack_url: http::join(&config.url, "services/collector/ack"),
            token: config.token.clone(),
            channel: config.ack.then(|| uuid::Uuid::new_v4().to_string()),
            ack_poll: config.ack_poll.max(Duration::from_millis(10)),
            ack_timeout: config.ack_timeout,
        };
        Ok(SplunkHecSink {
            delivery: Delivery::new(SERVICE, dest, &config.http, metrics)?,
            config,
        })
    }

    /// Events written to the dead-letter file so far.
    pub fn dead_letters(&self) -> u64 {
        self.delivery.dead_letters()
    }

    /// Spool files still waiting for the collector.
    pub fn spooled_files(&self) -> usize {
        self.delivery.spooled_files()
    }

    fn event(&self, e: &Event) -> HecEvent {
        let c = &self.config;
        let mut out = Vec::with_capacity(512);
        out.push(b'{');
        if let Some(t) = timefmt::record_ts(e.get("ts")) {
            out.extend_from_slice(b"\"time\":");
            trawl_zeek::time::write_epoch(&mut out, t);
            out.push(b',');
        }
        let st = format!("{}{}", c.sourcetype_prefix, e.log_type());
        for (k, v) in [
            ("sourcetype", Some(&st)),
            ("index", c.index.as_ref()),
            ("source", c.source.as_ref()),
            ("host", c.host.as_ref()),
        ] {
            if let Some(v) = v {
                let _ = serde_json::to_writer(&mut out, k);
                out.push(b':');
                let _ = serde_json::to_writer(&mut out, v);
                out.push(b',');
            }
        }
        out.extend_from_slice(b"\"event\":");
        e.write_json(&mut out);
        out.push(b'}');
        HecEvent(RawJson::new(out))
    }
}

#[async_trait]
impl Sink for SplunkHecSink {
    fn name(&self) -> &str {
        SERVICE
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), StreamError> {
        let items = events.iter().map(|e| self.event(e)).collect();
        Ok(self.delivery.deliver(items).await?)
    }

    async fn flush(&mut self) -> Result<(), StreamError> {
        self.delivery.flush().await;
        Ok(())
    }
}

/// The HEC protocol side.
pub(crate) struct Hec {
    client: reqwest::Client,
    event_url: String,
    ack_url: String,
    token: Secret,
    /// The indexer-acknowledgement channel, when acks are on.
    channel: Option<String>,
    ack_poll: Duration,
    ack_timeout: Duration,
}

/// HEC's answer: `{"text":"Success","code":0,"ackId":7}`.
#[derive(Deserialize)]
struct HecAnswer {
    #[serde(default)]
    code: i64,
    #[serde(default, rename = "ackId")]
    ack_id: Option<u64>,
}

impl Hec {
    fn post(&self, url: &str, body: Vec<u8>) -> reqwest::RequestBuilder {
        let mut req = self
            .client
            .post(url)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("Splunk {}", self.token.expose()),
            )
            .body(body);
        if let Some(ch) = &self.channel {
            req = req
                .header("X-Splunk-Request-Channel", ch)
                .query(&[("channel", ch)]);
        }
        req
    }

    fn unavailable(message: String) -> SinkError {
        SinkError::Unavailable {
            service: SERVICE.into(),
            message,
        }
    }

    /// Polls until the indexers report `ack` done, or the time limit.
    async fn wait_ack(&self, ack: u64) -> Attempt {
        #[derive(Deserialize)]
        struct Acks {
            acks: std::collections::HashMap<String, bool>,
        }
        let end = Instant::now() + self.ack_timeout;
        let body = format!("{{\"acks\":[{ack}]}}").into_bytes();
        let mut last = String::from("not indexed yet");
        while Instant::now() < end {
            match self.post(&self.ack_url, body.clone()).send().await {
                Ok(r) => {
                    let status = r.status();
                    let bytes = r.bytes().await.unwrap_or_default();
                    if status.is_success() {
                        match serde_json::from_slice::<Acks>(&bytes) {
                            Ok(a) if a.acks.get(&ack.to_string()) == Some(&true) => {
                                return Attempt::Accepted
                            }
                            Ok(_) => {}
                            Err(e) => last = format!("unreadable ack answer: {e}"),
                        }
                    } else {
                        let e = http::status_error(SERVICE, status, &bytes);
                        if !e.is_retryable() {
                            return Attempt::Fatal(e);
                        }
                        last = e.to_string();
                    }
                }
                Err(e) => last = http::transport(SERVICE, e).to_string(),
            }
            tokio::time::sleep(self.ack_poll).await;
        }
        // Not confirmed: send again (the events may be indexed twice; at-least-once).
        Attempt::Failed(Hec::unavailable(format!(
            "ackId {ack} not confirmed within {:?}: {last}",
            self.ack_timeout
        )))
    }
}

#[async_trait]
impl Destination for Hec {
    type Item = HecEvent;

    async fn send(&self, items: &[HecEvent]) -> Attempt {
        let mut body = Vec::with_capacity(items.iter().map(|e| e.0.get().len() + 1).sum());
        for e in items {
            body.extend_from_slice(e.0.get().as_bytes());
            body.push(b'\n');
        }
        let resp = match self.post(&self.event_url, body).send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Failed(http::transport(SERVICE, e)),
        };
        let status = resp.status();
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Attempt::Failed(http::transport(SERVICE, e)),
        };
        let answer = serde_json::from_slice::<HecAnswer>(&bytes).ok();
        if !status.is_success() {
            let e = http::status_error(SERVICE, status, &bytes);
            return match (status, answer.map(|a| a.code)) {
                // No data, invalid data format, event field missing or blank; too large.
                (StatusCode::BAD_REQUEST, Some(5 | 6 | 12 | 13))
                | (StatusCode::PAYLOAD_TOO_LARGE, _) => Attempt::Poison(e.to_string()),
                _ if e.is_retryable() => Attempt::Failed(e),
                _ => Attempt::Fatal(e),
            };
        }
        if self.channel.is_none() {
            return Attempt::Accepted;
        }
        match answer.and_then(|a| a.ack_id) {
            Some(id) => self.wait_ack(id).await,
            None => Attempt::Fatal(SinkError::Refused {
                service: SERVICE.into(),
                message: "ack is on but the collector gave no ackId: enable indexer acknowledgement on the token, or turn ack off".into(),
            }),
        }
    }
}
