//! The `[alerts]` part of the `trawl run` configuration, as serde types. The
//! [rules](crate::rules::Rule) and [destinations](crate::dest) are built from it; mistakes are
//! reported with the rule's or destination's name and the key at fault.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::alert::Severity;
use crate::Secret;

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
    /// Repeats of a rule's key are suppressed for this long, for every rule that does not set
    /// its own `dedup`. Unset (the default): each kind's own window ([`default_dedup`]).
    #[serde(default, with = "crate::duration::serde_opt")]
    pub dedup: Option<Duration>,
    /// How often the repeats suppressed inside dedup windows are reported, as one digest alert
    /// per rule (`"1d"`, the default; `"off"`). Periods are aligned on UTC (`1d`: midnight).
    pub digest: Option<Digest>,
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
    /// How long a key stays quiet after it fired (default: `[alerts] dedup`, else the kind's
    /// window, see [`default_dedup`]); `0` sends every match.
    #[serde(default, with = "crate::duration::serde_opt")]
    pub dedup: Option<Duration>,
    /// The digest of this rule's repeats, instead of `[alerts] digest` (`"off"` for none).
    pub digest: Option<Digest>,
    /// Record fields every alert carries (the kind's default otherwise); `"*"` for every
    /// field of the record.
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

/// How long a key stays quiet after it fired, when neither the rule nor `[alerts]` set
/// `dedup`: a day for most kinds (an analyst looks at a host's odd user-agent, a hash or a
/// phishing lookup by a client once a day; the repeats go to the daily digest), a week for
/// outdated software (it stays outdated until the next patch round), and none for
/// `first_seen` (a registered domain is new only once: the rule fires once per domain by
/// itself).
pub fn default_dedup(kind: RuleKind) -> Duration {
    const DAY: u64 = 86_400;
    match kind {
        RuleKind::Match | RuleKind::FileHash | RuleKind::UserAgent => Duration::from_secs(DAY),
        RuleKind::Software => Duration::from_secs(7 * DAY),
        RuleKind::FirstSeen => Duration::ZERO,
    }
}

/// The digest period when neither the rule nor `[alerts]` set `digest`.
pub const DEFAULT_DIGEST: Duration = Duration::from_secs(86_400);

/// `digest = "1d"`, `digest = "off"` (also `false` or `0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// No digest: repeats are only counted in the metrics.
    Off,
    /// One digest per rule per period (aligned on UTC).
    Every(Duration),
}

impl Digest {
    /// The period, `None` when off.
    pub fn period(self) -> Option<Duration> {
        match self {
            Digest::Off => None,
            Digest::Every(d) if d.is_zero() => None,
            Digest::Every(d) => Some(d),
        }
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Off(bool),
            Secs(f64),
            Text(String),
        }
        let bad =
            || serde::de::Error::custom("a digest period such as \"1d\" or \"12h\", or \"off\"");
        let d = match Raw::deserialize(d)? {
            Raw::Off(false) => return Ok(Digest::Off),
            Raw::Off(true) => return Err(bad()),
            Raw::Secs(s) => crate::duration::parse(&s.to_string()).map_err(|_| bad())?,
            Raw::Text(t) if matches!(t.trim(), "off" | "none" | "no") => return Ok(Digest::Off),
            Raw::Text(t) => crate::duration::parse(&t).map_err(|_| bad())?,
        };
        if d.is_zero() {
            Ok(Digest::Off)
        } else if d < Duration::from_secs(60) {
            Err(serde::de::Error::custom(
                "a digest period of at least a minute (it is a report, not an alert stream)",
            ))
        } else {
            Ok(Digest::Every(d))
        }
    }
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
