//! Destinations: where alerts are sent. Each one turns an [`Alert`] into its own request and
//! says whether a failure is worth retrying.

mod email;
mod jsonl;
mod slack;
mod webhook;

use std::time::Duration;

use async_trait::async_trait;

use crate::alert::Alert;
use crate::config::{ConfigError, DestinationConfig};

pub use email::Email;
pub use jsonl::JsonLines;
pub use slack::{esc as slack_escape, slack_message, Slack};
pub use webhook::Webhook;

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The destination is down or busy: try again (after this long, if it said).
    #[error("{0}")]
    Retry(String, Option<Duration>),
    /// The destination refused this alert for good (bad request, bad credentials).
    #[error("refused: {0}")]
    Refused(String),
}

/// One destination.
#[async_trait]
pub trait Destination: Send + Sync {
    /// The name given in the configuration.
    fn name(&self) -> &str;

    /// Sends one alert; `Ok` once the destination accepted it.
    async fn send(&self, alert: &Alert) -> Result<(), SendError>;

    /// Sends a periodic report (`trawl report`); `Ok` once the destination accepted it.
    async fn send_report(&self, report: &ReportMessage) -> Result<(), SendError>;
}

/// A periodic report as destinations send it: rendered once, each destination takes the form
/// it shows best.
#[derive(Debug, Clone)]
pub struct ReportMessage {
    /// A stable id (the report's kind and period), so a receiver can drop a repeat.
    pub id: String,
    /// The email subject; Slack's header line.
    pub subject: String,
    /// Plain text: the email body.
    pub text: String,
    /// HTML (inline CSS, no scripts, every logged string escaped): the email's alternative.
    pub html: String,
    /// The Block Kit message for Slack.
    pub slack: serde_json::Value,
    /// The report's figures: webhooks and files.
    pub json: serde_json::Value,
}

/// Builds a destination from its configuration (secrets are read here, once).
pub fn build(name: &str, c: &DestinationConfig) -> Result<Box<dyn Destination>, ConfigError> {
    let section = format!("destinations.{name}");
    let secret =
        |key: &str, s: &crate::Secret| s.value().map_err(|e| ConfigError::new(&section, key, e));
    Ok(match c {
        DestinationConfig::Slack { url, .. } => Box::new(
            Slack::new(name, secret("url", url)?)
                .map_err(|e| ConfigError::new(&section, "url", e))?,
        ),
        DestinationConfig::Webhook {
            url,
            method,
            headers,
            body,
            ..
        } => {
            let mut h = Vec::new();
            for (k, v) in headers {
                h.push((k.clone(), secret("headers", v)?));
            }
            Box::new(
                Webhook::new(name, url, method.as_deref(), h, body.as_deref())
                    .map_err(|(key, e)| ConfigError::new(&section, key, e))?,
            )
        }
        DestinationConfig::Email {
            host,
            port,
            tls,
            user,
            password,
            from,
            to,
            subject,
            ..
        } => {
            let password = match password {
                Some(p) => Some(secret("password", p)?),
                None => None,
            };
            Box::new(
                Email::new(
                    name,
                    host,
                    *port,
                    *tls,
                    user.clone(),
                    password,
                    from,
                    to,
                    subject.as_deref(),
                )
                .map_err(|(key, e)| ConfigError::new(&section, key, e))?,
            )
        }
        DestinationConfig::Stdout { .. } => Box::new(JsonLines::stdout(name)),
        DestinationConfig::File { path, .. } => Box::new(
            JsonLines::file(name, path).map_err(|e| ConfigError::new(&section, "path", e))?,
        ),
    })
}

/// Checks a destination's configuration without reading its secrets (the machine that checks
/// may not have them) or opening its file.
pub fn check(name: &str, c: &DestinationConfig) -> Result<(), ConfigError> {
    use crate::Secret;
    let dummy = |s: &Secret, v: &str| {
        Secret::Inline(match s {
            Secret::Inline(x) => x.clone(),
            _ => v.to_string(),
        })
    };
    // Secrets read from elsewhere become inline placeholders; the rest is built as is.
    let mut c = c.clone();
    match &mut c {
        DestinationConfig::Slack { url, .. } => *url = dummy(url, "https://hooks.slack.invalid/"),
        DestinationConfig::Webhook { headers, .. } => {
            for v in headers.values_mut() {
                *v = dummy(v, "x");
            }
        }
        DestinationConfig::Email { password, .. } => {
            if let Some(p) = password {
                *p = dummy(p, "x");
            }
        }
        DestinationConfig::File { path, .. } => {
            if path.as_os_str().is_empty() {
                return Err(ConfigError::new(
                    format!("destinations.{name}"),
                    "path",
                    "an empty path",
                ));
            }
            return Ok(());
        }
        DestinationConfig::Stdout { .. } => {}
    }
    build(name, &c).map(drop)
}

/// Field names a destination's templates read (so alerts carry them).
pub fn template_fields(c: &DestinationConfig) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |t: &str| {
        if let Ok(t) = crate::Template::parse(t) {
            out.extend(t.fields().map(String::from));
        }
    };
    match c {
        DestinationConfig::Webhook { body: Some(b), .. } => {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(b) {
                walk_strings(&v, &mut add);
            }
        }
        DestinationConfig::Email {
            subject: Some(s), ..
        } => add(s),
        _ => {}
    }
    out.retain(|f| !crate::rules::is_attribute(f) && f != "alert" && f != "fields");
    out
}

fn walk_strings(v: &serde_json::Value, f: &mut impl FnMut(&str)) {
    match v {
        serde_json::Value::String(s) => f(s),
        serde_json::Value::Array(a) => a.iter().for_each(|x| walk_strings(x, f)),
        serde_json::Value::Object(o) => o.values().for_each(|x| walk_strings(x, f)),
        _ => {}
    }
}

/// Classifies an HTTP answer: 2xx accepted; 408, 425, 429 and 5xx worth retrying (after
/// `Retry-After` when given); other codes refused.
pub(crate) fn http_outcome(resp: &reqwest::Response) -> Result<(), SendError> {
    let s = resp.status();
    if s.is_success() {
        return Ok(());
    }
    let after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(300)));
    let why = format!("HTTP {s}");
    if s.as_u16() == 408 || s.as_u16() == 425 || s.as_u16() == 429 || s.is_server_error() {
        Err(SendError::Retry(why, after))
    } else {
        Err(SendError::Refused(why))
    }
}

/// A request error without the URL (a Slack webhook URL is a secret).
pub(crate) fn http_error(e: reqwest::Error) -> SendError {
    SendError::Retry(e.without_url().to_string(), None)
}

/// The HTTP client destinations share the settings of.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default()
}
