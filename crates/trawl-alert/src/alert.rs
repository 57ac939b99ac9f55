//! What a rule produces: an [`Alert`], self-contained (it is spooled to disk and rendered by
//! each destination from what it holds).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use trawl_zeek::{Record, Value};

/// How bad it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// A marker for chat messages (plain Unicode, readable on a phone).
    pub fn marker(self) -> &'static str {
        match self {
            Severity::Info => "\u{26aa}",      // white circle
            Severity::Low => "\u{1f535}",      // blue circle
            Severity::Medium => "\u{1f7e1}",   // yellow circle
            Severity::High => "\u{1f7e0}",     // orange circle
            Severity::Critical => "\u{1f534}", // red circle
        }
    }
}

/// An alert: one record that matched a rule, or a summary of many.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable across re-reads of the same record (a hash of rule, key and record time), so a
    /// destination can drop a repeat and the outbox never holds one twice.
    pub id: String,
    /// The rule's name.
    pub rule: String,
    pub severity: Severity,
    /// One line for people (from the rule's `title` template).
    pub title: String,
    /// The record's time, RFC 3339 UTC.
    pub time: String,
    /// The record's time, epoch seconds.
    pub ts: f64,
    /// The log type of the record (`dns`, `files`, `software` ...).
    pub log: String,
    /// The de-duplication key (the rule's key fields, joined with `|`).
    pub key: String,
    /// The connection uid to pivot on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The host the record is about (`id.orig_h`, or `host` in software.log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The workstation name from host attribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workstation: Option<String>,
    /// A link to look at the record where the logs are (from the `pivot` URL template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pivot: Option<String>,
    /// The record's key fields (and what the rule adds: `registered_domain`, `version` ...).
    pub fields: BTreeMap<String, Json>,
    /// 1 for an alert about one record; the number of alerts a summary stands for.
    pub count: u64,
    /// Set on a summary of many similar alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
}

/// What a summary of many alerts says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Window start and end, RFC 3339.
    pub from: String,
    pub to: String,
    /// Keys of the summarised alerts (the first 20).
    pub keys: Vec<String>,
    /// Hosts and workstations involved (the first 20 each).
    pub hosts: Vec<String>,
    pub workstations: Vec<String>,
    /// A digest's repeated keys, most repeated first (the first 20): how often each repeated
    /// inside its dedup window, and when.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<RepeatLine>,
    /// The pivot link leads to the first alert summarised only: the alerts do not share the
    /// values the link needs (their uids differ, for a link on `{uid}`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pivot_first: bool,
}

/// One repeated key of a digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatLine {
    pub key: String,
    /// Repeats inside the dedup window (the alert that opened it not counted).
    pub count: u64,
    /// First and last repeat, RFC 3339.
    pub first: String,
    pub last: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workstation: Option<String>,
}

impl Alert {
    /// A value to fill a template placeholder with: alert attributes first (`rule`,
    /// `severity`, `title`, `time`, `uid`, `host`, `workstation`, `pivot`, `key`, `id`,
    /// `count`, `log`), then the record's fields.
    pub fn lookup(&self, name: &str) -> Option<String> {
        let s = |v: &Option<String>| v.clone();
        match name {
            "rule" => Some(self.rule.clone()),
            "severity" => Some(self.severity.name().to_string()),
            "title" => Some(self.title.clone()),
            "time" => Some(self.time.clone()),
            "ts" => Some(format!("{:.6}", self.ts)),
            "log" => Some(self.log.clone()),
            "key" => Some(self.key.clone()),
            "id" => Some(self.id.clone()),
            "count" => Some(self.count.to_string()),
            "uid" => s(&self.uid),
            "host" => s(&self.host),
            "workstation" => s(&self.workstation),
            "pivot" => s(&self.pivot),
            _ => self.fields.get(name).map(json_text),
        }
    }

    /// The alert as one JSON line (no newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// A JSON value as text for a message or a template (strings without quotes, arrays joined
/// with commas).
pub fn json_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        Json::Array(a) => a.iter().map(json_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// A Zeek value as JSON, exactly as `trawl cat` and `trawl run` write it (times in epoch
/// seconds to the microsecond, addresses as strings, control and non-UTF-8 bytes of strings
/// as `\xNN` as Zeek writes them): one encoding for every output.
pub fn to_json(v: &Value<'_>) -> Json {
    let mut out = Vec::new();
    v.write_json(&mut out);
    serde_json::from_slice(&out).unwrap_or(Json::Null)
}

/// A Zeek value as plain text (lossy UTF-8).
pub fn text(v: &Value<'_>) -> String {
    let mut out = Vec::new();
    v.write_text(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A field's value as text, if the record has it set.
pub fn field_text(rec: &Record<'_>, name: &str) -> Option<String> {
    match rec.get(name)? {
        Value::Unset => None,
        Value::Str(s) if s.is_empty() => None,
        v => Some(text(v)),
    }
}

/// A record's time in epoch seconds (`ts`), if it has one.
pub fn record_ts(rec: &Record<'_>) -> Option<f64> {
    match rec.get("ts")? {
        Value::Time(t) => Some(*t as f64 / 1e9),
        Value::Double(d) => Some(*d),
        Value::Count(c) => Some(*c as f64),
        Value::Str(s) => std::str::from_utf8(s).ok()?.parse().ok(),
        _ => None,
    }
}

/// A count and a noun, singular or plural: `1 alert`, `2 alerts`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Epoch seconds as RFC 3339 UTC with milliseconds.
pub fn rfc3339(ts: f64) -> String {
    let secs = ts.floor();
    let nanos = ((ts - secs) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    chrono::DateTime::from_timestamp(secs as i64, nanos)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// Now, in epoch seconds.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A short stable hash (FNV-1a, 64 bits, hex) for alert ids.
pub fn stable_id(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}
