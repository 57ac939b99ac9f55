//! Slack incoming webhooks: a Block Kit message laid out for a phone screen: a header line
//! with the severity, the who/when in two columns, the record's key fields, and a button to
//! the pivot link.

use async_trait::async_trait;
use serde_json::{json, Value as Json};

use super::{client, http_error, http_outcome, Destination, ReportMessage, SendError};
use crate::alert::{json_text, plural, Alert};

/// A Slack incoming webhook.
pub struct Slack {
    name: String,
    url: String,
    http: reqwest::Client,
}

impl Slack {
    /// A destination posting to `url` (kept out of logs and errors: it is the credential).
    pub fn new(name: &str, url: String) -> Result<Slack, String> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err("the Slack webhook URL must be an http(s) URL".into());
        }
        Ok(Slack {
            name: name.to_string(),
            url,
            http: client(),
        })
    }
}

#[async_trait]
impl Destination for Slack {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, alert: &Alert) -> Result<(), SendError> {
        self.post(&slack_message(alert)).await
    }

    async fn send_report(&self, r: &ReportMessage) -> Result<(), SendError> {
        self.post(&r.slack).await
    }
}

impl Slack {
    async fn post(&self, message: &Json) -> Result<(), SendError> {
        let resp = self
            .http
            .post(&self.url)
            .json(message)
            .send()
            .await
            .map_err(http_error)?;
        http_outcome(&resp)
    }
}

/// Slack's mrkdwn needs `&`, `<` and `>` escaped.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('\u{2026}');
    t
}

/// The pivot button's text: a summary's link may lead to its first record only.
pub(crate) fn pivot_label(a: &Alert) -> &'static str {
    if a.summary.as_ref().is_some_and(|s| s.pivot_first) {
        "Open the first record"
    } else {
        "Open the logs"
    }
}

/// `2026-12-06 00:10 to 23:50` from two RFC 3339 times (the date once when it is the same).
pub(crate) fn span(first: &str, last: &str) -> String {
    let short = |t: &str| t.get(..16).unwrap_or(t).replace('T', " ");
    let (f, l) = (short(first), short(last));
    match (f.get(..10), l.get(..10), l.get(11..)) {
        (Some(a), Some(b), Some(time)) if a == b => format!("{f} to {time}"),
        _ => format!("{f} to {l}"),
    }
}

/// The Block Kit message for an alert.
pub fn slack_message(a: &Alert) -> Json {
    let head = format!("{} {}", a.severity.marker(), a.title);
    let mut who = vec![
        json!({"type": "mrkdwn", "text": format!("*Severity*\n{}", a.severity.name())}),
        json!({"type": "mrkdwn", "text": format!("*Rule*\n{}", esc(&a.rule))}),
    ];
    if let Some(w) = &a.workstation {
        who.push(json!({"type": "mrkdwn", "text": format!("*Workstation*\n{}", esc(w))}));
    }
    if let Some(h) = &a.host {
        who.push(json!({"type": "mrkdwn", "text": format!("*Host*\n{}", esc(h))}));
    }
    who.push(json!({"type": "mrkdwn", "text": format!("*Time*\n{}", a.time)}));
    if let Some(u) = &a.uid {
        who.push(json!({"type": "mrkdwn", "text": format!("*uid*\n`{}`", esc(u))}));
    }
    let details: Vec<String> = a
        .fields
        .iter()
        .map(|(k, v)| format!("*{}*: `{}`", esc(k), esc(&cut(&json_text(v), 300))))
        .collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": cut(&head, 150), "emoji": true}}),
        json!({"type": "section", "fields": who}),
    ];
    if let Some(s) = &a.summary {
        let text = if s.repeats.is_empty() {
            format!(
                "*{}* from {} to {}\n*Keys*: {}\n*Hosts*: {}",
                plural(a.count, "alert", "alerts"),
                s.from,
                s.to,
                esc(&s.keys.join(", ")),
                esc(&s.hosts.join(", "))
            )
        } else {
            // A digest: one line per repeated key.
            let mut t = format!(
                "*{}* inside their dedup window, from {} to {}",
                plural(a.count, "repeat", "repeats"),
                s.from,
                s.to
            );
            for r in &s.repeats {
                t.push_str(&format!(
                    "\n\u{2022} `{}` \u{d7}{} ({})",
                    esc(&cut(&r.key, 200)),
                    r.count,
                    span(&r.first, &r.last)
                ));
            }
            t
        };
        blocks
            .push(json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&text, 2900)}}));
    } else if !details.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&details.join("\n"), 2900)}}));
    }
    if let Some(p) = a.pivot.as_ref().filter(|p| p.len() <= 3000) {
        blocks.push(json!({"type": "actions", "elements": [{
            "type": "button",
            "text": {"type": "plain_text", "text": pivot_label(a)},
            "url": p,
        }]}));
    }
    blocks.push(json!({"type": "context", "elements": [
        {"type": "mrkdwn", "text": format!("trawl \u{b7} {} \u{b7} alert {}", esc(&a.log), a.id)}
    ]}));
    json!({
        "text": format!("{} [{}] {}", a.severity.marker(), a.severity.name(), a.title),
        "blocks": blocks,
    })
}
