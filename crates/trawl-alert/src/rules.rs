//! Rules, compiled from the configuration: which records they look at, their condition (the
//! trawl query language), and what each kind adds (hashes, versions, OS evidence, registered
//! domains).

use std::time::Duration;

use serde_json::Value as Json;
use trawl_zeek::{Record, Value};

use crate::alert::{field_text, Severity};
use crate::cond::{version_lt, Cond};
use crate::config::{
    default_dedup, AlertsConfig, ConfigError, RuleConfig, RuleKind, DEFAULT_DIGEST,
};
use crate::template::Template;

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub kind: RuleKind,
    /// Log types looked at (empty: all).
    pub logs: Vec<String>,
    pub when: Option<Cond>,
    pub unless: Vec<Cond>,
    pub severity: Severity,
    pub key: Vec<String>,
    /// Quiet time after a key fired (zero: none).
    pub dedup: Duration,
    /// Where `dedup` came from: `rule`, `[alerts]` or `kind` (the kind's default).
    pub dedup_from: &'static str,
    /// How often the repeats inside dedup windows are reported (`None`: never).
    pub digest: Option<Duration>,
    /// Fields carried by every alert.
    pub fields: Vec<String>,
    pub title: Template,
    pub pivot: Option<Template>,
    /// Destination names (resolved: never empty unless there are none at all).
    pub destinations: Vec<String>,
    /// (window, alerts sent individually per window).
    pub aggregate: Option<(Duration, u32)>,
    pub mime_types: Vec<String>,
    pub software: Option<String>,
    pub below: Option<String>,
    pub min_evidence: u32,
    pub name_field: String,
    pub learn: Option<Duration>,
}

impl Rule {
    /// Compiles one rule; `dests` are the configured destination names.
    pub fn compile(
        name: &str,
        c: &RuleConfig,
        all: &AlertsConfig,
        dests: &[String],
    ) -> Result<Rule, Vec<ConfigError>> {
        let section = format!("rules.{name}");
        let mut errors = Vec::new();
        let cond = |key: &str, src: &str, errors: &mut Vec<ConfigError>| match Cond::parse(src) {
            Ok(c) => Some(c),
            Err(e) => {
                errors.push(ConfigError::new(&section, key, e));
                None
            }
        };
        let when = c.when.as_deref().and_then(|w| cond("when", w, &mut errors));
        let unless: Vec<Cond> = c
            .unless
            .iter()
            .filter_map(|u| cond("unless", u, &mut errors))
            .collect();
        let mut logs = c.log.0.clone();
        // Settings a rule kind cannot do without: each missing one is named, with a hint.
        let mut require = |missing: bool, key: &str, hint: &str| {
            if missing {
                errors.push(ConfigError::new(&section, key, hint));
            }
        };
        match c.kind {
            RuleKind::Match => {
                let hint = "a match rule needs a condition, e.g. when = \"phish_score >= 0.9\"";
                require(c.when.is_none(), "when", hint);
            }
            RuleKind::FileHash => {
                let hint = "a file_hash rule needs mime_types, e.g. [\"application/x-dosexec\"]";
                require(c.mime_types.is_empty(), "mime_types", hint);
                default_log(&mut logs, "files");
            }
            RuleKind::Software => {
                let hint = "a software rule needs software = \"NAME\" (e.g. \"Java\")";
                require(c.software.is_none(), "software", hint);
                let hint = "a software rule needs below = \"VERSION\" (e.g. \"1.7.0_11\")";
                require(c.below.is_none(), "below", hint);
                default_log(&mut logs, "software");
            }
            RuleKind::UserAgent => {
                if logs.is_empty() {
                    logs = vec!["http".into(), "software".into()];
                }
            }
            RuleKind::FirstSeen => default_log(&mut logs, "dns"),
        }
        let template =
            |key: &str, src: &str, errors: &mut Vec<ConfigError>| match Template::parse(src) {
                Ok(t) => Some(t),
                Err(e) => {
                    errors.push(ConfigError::new(format!("rules.{name}"), key, e));
                    None
                }
            };
        let title = match &c.title {
            Some(t) => template("title", t, &mut errors),
            None => Template::parse(default_title(c.kind)).ok(),
        };
        let pivot = c
            .pivot
            .as_ref()
            .or(all.pivot.as_ref())
            .and_then(|p| template("pivot", p, &mut errors));
        let destinations = match &c.destinations {
            Some(names) => {
                for n in names {
                    if !dests.contains(n) {
                        errors.push(ConfigError::new(
                            format!("rules.{name}"),
                            "destinations",
                            format!(
                                "no destination named {n:?} (there are: {})",
                                dests.join(", ")
                            ),
                        ));
                    }
                }
                names.clone()
            }
            None => dests.to_vec(),
        };
        let aggregate = match &c.aggregate {
            Some(a) => match a.window {
                Some(w) if !w.is_zero() => Some((w, a.after.unwrap_or(1))),
                _ => {
                    errors.push(ConfigError::new(
                        format!("rules.{name}"),
                        "aggregate",
                        "aggregate needs a window, e.g. { window = \"5m\", after = 3 }",
                    ));
                    None
                }
            },
            None => None,
        };
        let is_dns = logs.iter().any(|l| l == "dns");
        let key = c.key.clone().unwrap_or_else(|| default_key(c.kind, is_dns));
        let mut fields = c.fields.clone().unwrap_or_else(|| {
            let mut f: Vec<String> = default_fields(c.kind, is_dns)
                .iter()
                .map(|s| s.to_string())
                .collect();
            if let Some(w) = &when {
                f.extend(w.fields());
            }
            f
        });
        for k in &key {
            fields.push(k.clone());
        }
        if let (Some(t), Some(p)) = (&title, &pivot) {
            fields.extend(t.fields().chain(p.fields()).map(String::from));
        } else if let Some(t) = &title {
            fields.extend(t.fields().map(String::from));
        }
        fields.retain(|f| !is_attribute(f));
        dedup_in_place(&mut fields);
        // The rule's own window, else `[alerts] dedup`, else the kind's.
        let (dedup, dedup_from) = match (c.dedup, all.dedup) {
            (Some(d), _) => (d, "rule"),
            (None, Some(d)) => (d, "[alerts]"),
            (None, None) => (default_dedup(c.kind), "kind"),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Rule {
            name: name.to_string(),
            kind: c.kind,
            logs,
            when,
            unless,
            severity: c.severity.unwrap_or(Severity::Medium),
            key,
            dedup,
            dedup_from,
            digest: c
                .digest
                .or(all.digest)
                .map_or(Some(DEFAULT_DIGEST), |d| d.period()),
            fields,
            title: title.unwrap_or_else(|| Template::parse("{rule}").expect("a valid template")),
            pivot,
            destinations,
            aggregate,
            mime_types: c.mime_types.clone(),
            software: c.software.clone(),
            below: c.below.clone(),
            min_evidence: c.min_evidence.unwrap_or(3),
            name_field: c.field.clone().unwrap_or_else(|| "query".into()),
            learn: c.learn,
        })
    }

    /// Whether the rule looks at this record at all: log type, condition, allowlist.
    pub fn considers(&self, rec: &Record<'_>) -> bool {
        if !self.logs.is_empty() && !self.logs.iter().any(|l| *l == rec.path) {
            return false;
        }
        if let Some(w) = &self.when {
            if !w.matches(rec) {
                return false;
            }
        }
        !self.unless.iter().any(|u| u.matches(rec))
    }

    /// Every field the rule reads from records.
    pub fn reads(&self) -> Vec<String> {
        let mut v = self.fields.clone();
        for c in self.when.iter().chain(&self.unless) {
            v.extend(c.fields());
        }
        let kind: &[&str] = match self.kind {
            RuleKind::FileHash => &[
                "mime_type",
                "md5",
                "sha1",
                "sha256",
                "rx_hosts",
                "tx_hosts",
                "id.resp_h",
            ],
            RuleKind::Software => &[
                "name",
                "host",
                "unparsed_version",
                "version.major",
                "version.minor",
                "version.minor2",
                "version.minor3",
                "version.addl",
            ],
            RuleKind::UserAgent => &["user_agent", "unparsed_version", "host"],
            RuleKind::FirstSeen => &[],
            RuleKind::Match => &[],
        };
        v.extend(kind.iter().map(|s| s.to_string()));
        v.push(self.name_field.clone());
        v
    }

    /// A file_hash rule's test: the MIME type is one of the list.
    pub fn mime_matches(&self, rec: &Record<'_>) -> bool {
        field_text(rec, "mime_type").is_some_and(|m| self.mime_types.contains(&m))
    }

    /// A software rule's test: the software is the named one and its version is below the
    /// threshold. Returns the version found.
    pub fn old_software(&self, rec: &Record<'_>) -> Option<String> {
        let want = self.software.as_deref()?;
        let below = self.below.as_deref()?;
        let name = field_text(rec, "name")?;
        if !name.eq_ignore_ascii_case(want) {
            return None;
        }
        let version = software_version(rec)?;
        version_lt(&version, below).then_some(version)
    }
}

fn default_log(logs: &mut Vec<String>, log: &str) {
    if logs.is_empty() {
        logs.push(log.to_string());
    }
}

fn default_key(kind: RuleKind, dns: bool) -> Vec<String> {
    let v: &[&str] = match kind {
        RuleKind::Match if dns => &["query", "id.orig_h"],
        RuleKind::Match => &["id.orig_h", "id.resp_h"],
        RuleKind::FileHash => &["md5"],
        RuleKind::Software => &["host", "name", "version"],
        RuleKind::UserAgent => &["id.orig_h", "user_agent"],
        RuleKind::FirstSeen => &["registered_domain"],
    };
    v.iter().map(|s| s.to_string()).collect()
}

fn default_fields(kind: RuleKind, dns: bool) -> &'static [&'static str] {
    match kind {
        RuleKind::Match if dns => &["query", "qtype_name", "rcode_name", "answers"],
        RuleKind::Match => &["id.resp_h", "id.resp_p"],
        RuleKind::FileHash => &[
            "mime_type",
            "filename",
            "md5",
            "sha1",
            "sha256",
            "id.resp_h",
            "source",
            "seen_bytes",
            "fuid",
        ],
        RuleKind::Software => &["name", "version", "unparsed_version", "software_type"],
        RuleKind::UserAgent => &["user_agent", "claimed", "host_os", "os_evidence"],
        RuleKind::FirstSeen => &["query", "registered_domain", "answers", "rcode_name"],
    }
}

fn default_title(kind: RuleKind) -> &'static str {
    match kind {
        RuleKind::Match => "{rule}: {key} ({workstation})",
        RuleKind::FileHash => "{mime_type} {filename} downloaded by {workstation} (md5 {md5})",
        RuleKind::Software => "{name} {version} on {host} ({workstation}) is outdated",
        RuleKind::UserAgent => "{claimed} user-agent from {host} ({workstation}), a {host_os} host",
        RuleKind::FirstSeen => {
            "First lookup of {registered_domain} on this network, by {workstation}"
        }
    }
}

/// Names that are alert attributes rather than record fields.
pub(crate) fn is_attribute(f: &str) -> bool {
    matches!(
        f,
        "rule"
            | "severity"
            | "title"
            | "time"
            | "ts"
            | "log"
            | "key"
            | "id"
            | "count"
            | "uid"
            | "workstation"
            | "pivot"
            | "host"
    )
}

fn dedup_in_place(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
}

/// A software.log entry's version: from `unparsed_version` (`Java/1.7.0_10` -> `1.7.0_10`),
/// else from the `version.*` fields.
pub fn software_version(rec: &Record<'_>) -> Option<String> {
    if let Some(u) = field_text(rec, "unparsed_version") {
        let after = u.split_once('/').map(|(_, v)| v).unwrap_or(&u);
        let v: String = after
            .trim_start()
            .chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, ';' | '(' | ')' | ','))
            .collect();
        if v.starts_with(|c: char| c.is_ascii_digit()) {
            return Some(v);
        }
    }
    let num = |f: &str| match rec.get(f) {
        Some(Value::Count(n)) => Some(n.to_string()),
        Some(Value::Int(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut v = num("version.major")?;
    for f in ["version.minor", "version.minor2", "version.minor3"] {
        match num(f) {
            Some(n) => {
                v.push('.');
                v.push_str(&n);
            }
            None => break,
        }
    }
    if let Some(a) = field_text(rec, "version.addl") {
        v.push('-');
        v.push_str(&a);
    }
    Some(v)
}

/// What a rule found beyond the record itself (added to the alert's fields).
pub type Extra = Vec<(String, Json)>;
