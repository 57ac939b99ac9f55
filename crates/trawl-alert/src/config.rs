//! The `[alerts]` part of the `trawl run` configuration, as serde types. [`crate::Rules`] and
//! [`crate::Destinations`] are built from it; mistakes are reported with the rule's or
//! destination's name and the key at fault.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::alert::Severity;
use crate::secret::Secret;

/// `[alerts]`
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// A URL template for the pivot link of every alert (a rule may set its own), e.g.
    /// Kibana Discover filtered on the uid: `https://kibana/app/discover#/?_a=(query:(language:kuery,query:'uid:"{uid}"'))`.
    pub pivot: Option<String>,
    /// The alert store (de-duplication, mutes, first-seen domains, outbox); default
    /// `alerts.sqlite` in the state folder.
    pub store: Option<PathBuf>,
    /// Repeats of a rule's key are suppressed for this long unless the rule says otherwise
    /// (default 1h).
    #[serde(default, with = "crate::duration::serde_opt")]
    pub dedup: Option<Duration>,
    /// Conditions (trawl query language) that silence every rule for matching records.
    #[serde(default)]
    pub allow: Vec<String>,
    /// How long `trawl run --once` waits at the end for alerts to be delivered (default 30s);
    /// what is not delivered by then stays in the outbox for the next run.
    #[serde(default, with = "crate::duration::serde_opt")]
    pub drain_timeout: Option<Duration>,
    /// Longest wait between delivery attempts to a destination that is down (default 30s;
    /// waits start at 200 ms and double).
    #[serde(default, with = "crate::duration::serde_opt")]
    pub retry_max: Option<Duration>,
    /// Rules, by name.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleConfig>,
    /// Destinations, by name.
    #[serde(default)]
    pub destinations: BTreeMap<String, DestinationConfig>,
}

/// `[alerts.rules.NAME]`
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// What the rule looks for (default `match`).
    #[serde(default)]
    pub kind: RuleKind,
    /// Only records of these log types (`"dns"` or `["dns", "http"]`).
    #[serde(default)]
    pub log: OneOrMany,
    /// A condition in the trawl query language (`phish_score >= 0.9`). Required for `match`;
    /// an extra filter for the other kinds.
    pub when: Option<String>,
    /// Conditions that silence the rule for matching records (an allowlist).
    #[serde(default)]
    pub unless: Vec<String>,
    /// Default `medium`.
    pub severity: Option<Severity>,
    /// Fields whose values make an alert "the same" for de-duplication (the kind's default
    /// otherwise, e.g. `["query", "id.orig_h"]` for DNS).
    pub key: Option<Vec<String>>,
    /// How long a key stays quiet after it fired (default: `[alerts] dedup`, 1h); `0` sends
    /// every match.
    #[serde(default, with = "crate::duration::serde_opt")]
    pub dedup: Option<Duration>,
    /// Record fields every alert carries (the kind's default otherwise).
    pub fields: Option<Vec<String>>,
    /// A one-line title template (`Phishing lookup {query} by {workstation}`).
    pub title: Option<String>,
    /// A pivot URL template, instead of `[alerts] pivot`.
    pub pivot: Option<String>,
    /// Destination names (default: all).
    pub destinations: Option<Vec<String>>,
    /// Many alerts in a window become one summary.
    pub aggregate: Option<AggregateConfig>,
    /// `file_hash`: MIME types whose files are reported.
    #[serde(default)]
    pub mime_types: Vec<String>,
    /// `software`: the software name (`Java`), compared case-insensitively.
    pub software: Option<String>,
    /// `software`: versions below this one fire (`1.7.0_11`).
    pub below: Option<String>,
    /// `user_agent`: records of a host's own OS needed before another OS's browser is odd
    /// (default 3).
    pub min_evidence: Option<u32>,
    /// `first_seen`: the field holding the name (default `query`).
    pub field: Option<String>,
    /// `first_seen`: no alerts until the store has learnt for this long (record time).
    #[serde(default, with = "crate::duration::serde_opt")]
    pub learn: Option<Duration>,
}

/// Kinds of rules.
#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// A record matching the `when` condition (thresholds on any field).
    #[default]
    Match,
    /// files.log records whose `mime_type` is in `mime_types`: their hashes, with context.
    FileHash,
    /// software.log entries of `software` older than `below` (real version comparison).
    Software,
    /// A user-agent that does not fit what the host's other traffic says about its OS.
    UserAgent,
    /// A registered domain never seen before on this network.
    FirstSeen,
}

/// `aggregate = { window = "5m", after = 3 }`: in each window, the first `after` alerts of the
/// rule go out as they come; the others become one summary when the window closes.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AggregateConfig {
    #[serde(with = "crate::duration::serde_opt")]
    pub window: Option<Duration>,
    /// Default 1.
    pub after: Option<u32>,
}

/// A string or a list of strings.
#[derive(Debug, Deserialize, Clone, Default, PartialEq, Eq)]
#[serde(from = "OneOrManyRaw")]
pub struct OneOrMany(pub Vec<String>);

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrManyRaw {
    One(String),
    Many(Vec<String>),
}

impl From<OneOrManyRaw> for OneOrMany {
    fn from(r: OneOrManyRaw) -> Self {
        match r {
            OneOrManyRaw::One(s) => OneOrMany(vec![s]),
            OneOrManyRaw::Many(v) => OneOrMany(v),
        }
    }
}

/// `[alerts.destinations.NAME]`
#[derive(Debug, Deserialize, Clone)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DestinationConfig {
    /// A Slack incoming webhook (Block Kit message).
    Slack {
        /// The webhook URL: a secret (it carries its own token).
        url: Secret,
        /// Only alerts of at least this severity.
        min_severity: Option<Severity>,
    },
    /// Any HTTP endpoint: SOAR workflow triggers (InsightConnect/Komand, Shuffle), TheHive.
    Webhook {
        url: String,
        /// `POST` (default) or `PUT`.
        method: Option<String>,
        /// Headers, values as secrets (`Authorization = { env = "SOAR_TOKEN" }`).
        #[serde(default)]
        headers: BTreeMap<String, Secret>,
        /// A JSON body template: strings' `{field}` placeholders are filled, and a string that
        /// is exactly `"{alert}"` (or `"{fields}"`) becomes the whole alert (its fields) as
        /// JSON. Default: the alert.
        body: Option<String>,
        min_severity: Option<Severity>,
    },
    /// Email over SMTP.
    Email {
        host: String,
        /// Default 587 with STARTTLS, 465 with TLS, 25 without.
        port: Option<u16>,
        /// `starttls` (default), `tls`, or `none` (a relay on localhost).
        #[serde(default)]
        tls: TlsMode,
        user: Option<String>,
        password: Option<Secret>,
        from: String,
        to: Vec<String>,
        /// Subject template (default `[trawl {severity}] {title}`).
        subject: Option<String>,
        min_severity: Option<Severity>,
    },
    /// JSON lines on standard output.
    Stdout { min_severity: Option<Severity> },
    /// JSON lines appended to a file.
    File {
        path: PathBuf,
        min_severity: Option<Severity>,
    },
}

impl DestinationConfig {
    /// The lowest severity the destination takes.
    pub fn min_severity(&self) -> Option<Severity> {
        match self {
            DestinationConfig::Slack { min_severity, .. }
            | DestinationConfig::Webhook { min_severity, .. }
            | DestinationConfig::Email { min_severity, .. }
            | DestinationConfig::Stdout { min_severity }
            | DestinationConfig::File { min_severity, .. } => *min_severity,
        }
    }
}

/// How an SMTP connection is secured.
#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    #[default]
    Starttls,
    Tls,
    None,
}

/// A mistake in the `[alerts]` part: where (`rules.NAME`, `destinations.NAME`) and which key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alerts.{section}: {key}: {message}")]
pub struct ConfigError {
    /// `rules.NAME`, `destinations.NAME` or `` for top-level keys.
    pub section: String,
    /// The key at fault (`when`, `url` ...).
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(section: impl Into<String>, key: &str, message: impl Into<String>) -> Self {
        ConfigError {
            section: section.into(),
            key: key.to_string(),
            message: message.into(),
        }
    }
}
