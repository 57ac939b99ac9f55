//! What the alerts a rule did not send say together. A dedup window keeps a key quiet after it
//! fired, but its repeats are not dropped: they are counted per rule and key (in the store, so
//! a restart keeps them) and reported once per period as one digest alert per rule ("240
//! repeats on 10 hosts since ..."), through the outbox like any alert. An aggregation summary
//! and a digest both stand for many records; their pivot link is the rule's template filled
//! with the values the folded alerts share (one host, one query ...), else the first one's
//! link, so a summary in Slack still has its button.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::alert::{plural, rfc3339, stable_id, Alert, RepeatLine, Summary};
use crate::rules::Rule;
use crate::template::{Escape, Template};

/// How many keys, hosts and repeat lines a summary or digest lists.
pub const LIST: usize = 20;

/// The values of a pivot template's placeholders that every folded alert has in common.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Common(Option<BTreeMap<String, Option<String>>>);

impl Common {
    /// Folds in one alert's values of the template's placeholders.
    pub fn add(&mut self, tpl: Option<&Template>, a: &Alert) {
        if let Some(t) = tpl {
            self.merge_values(t.fields().map(|f| (f.to_string(), a.lookup(f))).collect());
        }
    }

    /// Folds in what another set of alerts had in common.
    pub fn merge(&mut self, other: &Common) {
        if let Some(v) = &other.0 {
            self.merge_values(v.clone());
        }
    }

    fn merge_values(&mut self, vals: BTreeMap<String, Option<String>>) {
        match &mut self.0 {
            None => self.0 = Some(vals),
            Some(mine) => {
                for (k, v) in mine.iter_mut() {
                    if vals.get(k) != Some(v) {
                        *v = None;
                    }
                }
            }
        }
    }

    /// The shared value of a placeholder, if every alert had the same one.
    pub fn get(&self, field: &str) -> Option<String> {
        self.0.as_ref()?.get(field).cloned().flatten()
    }
}

/// The pivot link of an alert standing for many: the template filled with the shared values,
/// else `first` (the first folded alert's link). The flag says the link is the first's.
pub fn pivot_for_many(
    tpl: Option<&Template>,
    common: &Common,
    first: Option<&str>,
) -> (Option<String>, bool) {
    let Some(t) = tpl else {
        return (None, false);
    };
    match t.render_all(|f| common.get(f), Escape::Url) {
        Some(p) => (Some(p), false),
        None => (first.map(String::from), first.is_some()),
    }
}

/// The repeats of one rule's key inside its dedup window.
#[derive(Debug, Clone, PartialEq)]
pub struct Repeat {
    pub key: String,
    pub count: u64,
    /// Record times of the first and last repeat.
    pub first: f64,
    pub last: f64,
    /// When the first was counted, on the engine's clock (it schedules the digest).
    pub since: f64,
    /// Host and workstation of the first repeat.
    pub host: Option<String>,
    pub workstation: Option<String>,
    /// The first repeat's pivot link.
    pub pivot: Option<String>,
    /// What the repeats' pivot placeholders have in common.
    pub common: Common,
}

impl Repeat {
    /// The first repeat of a key, counted at `now`.
    pub fn new(a: &Alert, now: f64, tpl: Option<&Template>) -> Repeat {
        let mut common = Common::default();
        common.add(tpl, a);
        Repeat {
            key: a.key.clone(),
            count: 1,
            first: a.ts,
            last: a.ts,
            since: now,
            host: a.host.clone(),
            workstation: a.workstation.clone(),
            pivot: a.pivot.clone(),
            common,
        }
    }

    /// One more repeat.
    pub fn add(&mut self, a: &Alert, tpl: Option<&Template>) {
        self.count += 1;
        self.first = self.first.min(a.ts);
        self.last = self.last.max(a.ts);
        keep_first(&mut self.host, &a.host);
        keep_first(&mut self.workstation, &a.workstation);
        keep_first(&mut self.pivot, &a.pivot);
        self.common.add(tpl, a);
    }

    /// Folds in repeats counted later (`self` is what the store had).
    pub fn merge(&mut self, later: &Repeat) {
        self.count += later.count;
        self.first = self.first.min(later.first);
        self.last = self.last.max(later.last);
        self.since = self.since.min(later.since);
        keep_first(&mut self.host, &later.host);
        keep_first(&mut self.workstation, &later.workstation);
        keep_first(&mut self.pivot, &later.pivot);
        self.common.merge(&later.common);
    }
}

/// Sets `slot` from `v` unless an earlier repeat already did.
fn keep_first(slot: &mut Option<String>, v: &Option<String>) {
    if slot.is_none() {
        slot.clone_from(v);
    }
}

/// The end of the period `t` falls in, periods aligned on the epoch (UTC: `1d` ends at
/// midnight, `1h` on the hour).
pub fn period_end(t: f64, period: Duration) -> f64 {
    let p = period.as_secs_f64().max(1.0);
    ((t / p).floor() + 1.0) * p
}

/// A key as a title shows it: parts joined with a space, a long part cut in its middle (a
/// user-agent's tool and a name's domain are at the end).
fn short_key(key: &str) -> String {
    const HEAD: usize = 12;
    const TAIL: usize = 32;
    key.split('|')
        .map(|p| {
            let n = p.chars().count();
            if n <= HEAD + TAIL + 1 {
                return p.to_string();
            }
            let head: String = p.chars().take(HEAD).collect();
            let tail: String = p.chars().skip(n - TAIL).collect();
            format!("{head}\u{2026}{tail}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How long the list of keys in a digest's title may grow (at least one key is shown).
const TITLE_KEYS: usize = 100;

/// The digest of a rule's repeats, `None` when there are none.
pub fn digest(rule: &Rule, mut reps: Vec<Repeat>) -> Option<Alert> {
    reps.retain(|r| r.count > 0);
    if reps.is_empty() {
        return None;
    }
    reps.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.first.total_cmp(&b.first))
            .then(a.key.cmp(&b.key))
    });
    let total: u64 = reps.iter().map(|r| r.count).sum();
    let distinct = |f: fn(&Repeat) -> Option<&String>| {
        let mut v: Vec<String> = Vec::new();
        for r in &reps {
            if let Some(x) = f(r) {
                if !v.contains(x) {
                    v.push(x.clone());
                }
            }
        }
        v
    };
    let hosts = distinct(|r| r.host.as_ref());
    let workstations = distinct(|r| r.workstation.as_ref());
    let since = reps.iter().map(|r| r.first).fold(f64::INFINITY, f64::min);
    let until = reps
        .iter()
        .map(|r| r.last)
        .fold(f64::NEG_INFINITY, f64::max);
    let since_text = chrono::DateTime::from_timestamp(since.floor() as i64, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| rfc3339(since));
    let mut top: Vec<String> = Vec::new();
    for r in &reps {
        let item = format!("{} \u{d7}{}", short_key(&r.key), r.count);
        let len: usize = top.iter().map(|t| t.chars().count() + 2).sum();
        if !top.is_empty() && len + item.chars().count() > TITLE_KEYS {
            break;
        }
        top.push(item);
    }
    let title = format!(
        "{}: {} {} since {} ({}{})",
        rule.name,
        plural(total, "repeat", "repeats"),
        if hosts.is_empty() {
            format!("of {}", plural(reps.len() as u64, "key", "keys"))
        } else {
            format!("on {}", plural(hosts.len() as u64, "host", "hosts"))
        },
        since_text,
        top.join(", "),
        if reps.len() > top.len() { ", ..." } else { "" }
    );
    // The link: shared values of every repeat, else the earliest repeat's own link.
    let mut common = Common::default();
    for r in &reps {
        common.merge(&r.common);
    }
    let earliest = reps
        .iter()
        .filter(|r| r.pivot.is_some())
        .min_by(|a, b| a.first.total_cmp(&b.first))
        .and_then(|r| r.pivot.as_deref());
    let (pivot, pivot_first) = pivot_for_many(rule.pivot.as_ref(), &common, earliest);
    let keys: Vec<String> = reps.iter().take(LIST).map(|r| r.key.clone()).collect();
    let lines = reps
        .iter()
        .take(LIST)
        .map(|r| RepeatLine {
            key: r.key.clone(),
            count: r.count,
            first: rfc3339(r.first),
            last: rfc3339(r.last),
            host: r.host.clone(),
            workstation: r.workstation.clone(),
        })
        .collect();
    let mut fields = BTreeMap::new();
    fields.insert("keys".to_string(), Json::from(keys.clone()));
    Some(Alert {
        // The same repeats give the same id (the outbox keeps one); other ones another.
        id: stable_id(&[
            &rule.name,
            "digest",
            &format!("{since:.6}"),
            &format!("{until:.6}"),
            &total.to_string(),
        ]),
        rule: rule.name.clone(),
        severity: rule.severity,
        title,
        time: rfc3339(until),
        ts: until,
        log: rule.logs.first().cloned().unwrap_or_default(),
        key: "digest".into(),
        uid: None,
        host: (hosts.len() == 1).then(|| hosts[0].clone()),
        workstation: (workstations.len() == 1).then(|| workstations[0].clone()),
        pivot,
        fields,
        count: total,
        summary: Some(Summary {
            from: rfc3339(since),
            to: rfc3339(until),
            keys,
            hosts: hosts.into_iter().take(LIST).collect(),
            workstations: workstations.into_iter().take(LIST).collect(),
            repeats: lines,
            pivot_first,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_end_on_utc_boundaries() {
        let day = Duration::from_secs(86_400);
        // 2026-12-06 09:30 UTC -> 2026-12-07 00:00 UTC.
        assert_eq!(period_end(1_796_549_400.0, day), 1_796_601_600.0);
        // A time on the boundary belongs to the period it opens.
        assert_eq!(period_end(1_796_515_200.0, day), 1_796_601_600.0);
        assert_eq!(
            period_end(1_796_549_400.0, Duration::from_secs(3600)),
            1_796_551_200.0
        );
    }

    #[test]
    fn common_values_survive_only_when_all_agree() {
        let t = Template::parse("https://k/?h={host}&u={uid}").unwrap();
        let alert = |host: &str, uid: &str| Alert {
            id: "x".into(),
            rule: "r".into(),
            severity: crate::Severity::Low,
            title: String::new(),
            time: String::new(),
            ts: 0.0,
            log: "dns".into(),
            key: "k".into(),
            uid: Some(uid.into()),
            host: Some(host.into()),
            workstation: None,
            pivot: Some(format!("https://k/?h={host}&u={uid}")),
            fields: BTreeMap::new(),
            count: 1,
            summary: None,
        };
        let mut c = Common::default();
        c.add(Some(&t), &alert("10.0.0.1", "C1"));
        assert_eq!(
            pivot_for_many(Some(&t), &c, Some("first")),
            (Some("https://k/?h=10.0.0.1&u=C1".into()), false)
        );
        c.add(Some(&t), &alert("10.0.0.1", "C2"));
        assert_eq!(c.get("host").as_deref(), Some("10.0.0.1"));
        assert_eq!(c.get("uid"), None);
        assert_eq!(
            pivot_for_many(Some(&t), &c, Some("first")),
            (Some("first".into()), true)
        );
        // Stored and read back (the store keeps it as JSON), then merged.
        let json = serde_json::to_string(&c).unwrap();
        let mut back: Common = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        let mut other = Common::default();
        other.add(Some(&t), &alert("10.0.0.2", "C3"));
        back.merge(&other);
        assert_eq!(back.get("host"), None);
        assert_eq!(pivot_for_many(None, &back, Some("first")), (None, false));
    }

    #[test]
    fn long_keys_are_cut_for_titles() {
        assert_eq!(short_key("a.example|10.0.0.1"), "a.example 10.0.0.1");
        assert_eq!(
            short_key("192.168.1.20|Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.4291"),
            "192.168.1.20 Mozilla/5.0 \u{2026}WindowsPowerShell/5.1.19041.4291"
        );
    }
}
