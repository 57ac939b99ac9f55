//! The engine: records in, alerts out. For each record it runs the rules, then, for a match,
//! applies mutes, de-duplication and aggregation, and writes what fires to the store's outbox
//! (with its quiet window, in one transaction) before handing it back. Repeats inside a quiet
//! window are counted and reported by each rule's digest ([`crate::digest`]).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::Value as Json;
use trawl_score::{NameBuf, NameKind, SuffixKind};
use trawl_zeek::Record;

use crate::alert::{self, field_text, record_ts, rfc3339, stable_id, Alert, Severity, Summary};
use crate::cond::Cond;
use crate::config::{AlertsConfig, ConfigError, RuleKind};
use crate::digest::{self, pivot_for_many, Common, Repeat};
use crate::rules::{Extra, Rule};
use crate::store::{Mute, Store, StoreError};
use crate::template::Escape;
use crate::ua::{self, Client, Evidence, Os};

/// Which time windows are measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Wall-clock time: a running pipeline.
    Wall,
    /// The records' own `ts`: a dry run over old logs behaves as it would have live.
    Record,
}

/// What the engine has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records looked at.
    pub records: u64,
    /// Rule matches (before mutes, de-duplication and aggregation).
    pub matched: u64,
    /// Alerts fired (summaries included).
    pub fired: u64,
    pub muted: u64,
    pub deduplicated: u64,
    /// Alerts folded into a summary.
    pub aggregated: u64,
    /// Digests of repeats fired (also counted in `fired`).
    pub digests: u64,
    /// Store errors (logged; the alert is still handed back).
    pub store_errors: u64,
}

/// An aggregation window of one rule.
#[derive(Debug)]
struct Window {
    start: f64,
    last: f64,
    sent: u32,
    held: u64,
    keys: Vec<String>,
    hosts: Vec<String>,
    workstations: Vec<String>,
    /// What the held alerts' pivot placeholders share, and the first one's link.
    common: Common,
    first_pivot: Option<String>,
}

const SUMMARY_LIST: usize = digest::LIST;
const SEEN_CACHE: usize = 1_000_000;
const WORKSTATIONS: usize = 100_000;

/// Rules and their state.
pub struct Engine {
    rules: Vec<Rule>,
    allow: Vec<Cond>,
    store: Store,
    clock: Clock,
    /// Destination names and the lowest severity each takes.
    dests: Vec<(String, Option<Severity>)>,
    quiet: HashMap<(usize, String), f64>,
    mutes: Vec<Mute>,
    mutes_version: Option<i64>,
    seen: HashSet<String>,
    learn_start: HashMap<usize, f64>,
    evidence: HashMap<String, Evidence>,
    dirty: HashSet<String>,
    learn_os: bool,
    workstations: HashMap<String, String>,
    windows: HashMap<usize, Window>,
    /// Repeats counted since the last write to the store, per rule and key.
    repeats: HashMap<usize, HashMap<String, Repeat>>,
    /// When each rule's digest is due (rules with repeats only).
    digest_due: HashMap<usize, f64>,
    stats: Stats,
    name_buf: NameBuf,
    /// First-seen domains shared with other instances, when configured.
    shared_seen: Option<Box<dyn SharedSeen>>,
}

/// Where the instances of a consumer group agree on which registered domains they have seen
/// (`first_seen` rules), so a new domain alerts once for the group, not once an instance.
pub trait SharedSeen: Send {
    /// Whether `name` is new for the group, recording it if so; `Err` when the shared store
    /// cannot answer (the engine then asks its own store).
    fn first_seen(&mut self, name: &str, ts: f64, host: Option<&str>) -> Result<bool, String>;
}

impl Engine {
    /// Builds the rules of `cfg`; `dests` are the destinations (name, lowest severity) alerts
    /// may go to. Every mistake is returned.
    pub fn new(
        cfg: &AlertsConfig,
        store: Store,
        dests: Vec<(String, Option<Severity>)>,
        clock: Clock,
    ) -> Result<Engine, Vec<ConfigError>> {
        let names: Vec<String> = dests.iter().map(|d| d.0.clone()).collect();
        let mut errors = Vec::new();
        let mut rules = Vec::new();
        for (name, rc) in &cfg.rules {
            match Rule::compile(name, rc, cfg, &names) {
                Ok(r) => rules.push(r),
                Err(e) => errors.extend(e),
            }
        }
        let mut allow = Vec::new();
        for a in &cfg.allow {
            match Cond::parse(a) {
                Ok(c) => allow.push(c),
                Err(e) => errors.push(ConfigError::new("", "allow", e)),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let learn_os = rules.iter().any(|r| r.kind == RuleKind::UserAgent);
        let mut e = Engine {
            rules,
            allow,
            store,
            clock,
            dests,
            quiet: HashMap::new(),
            mutes: Vec::new(),
            mutes_version: None,
            seen: HashSet::new(),
            learn_start: HashMap::new(),
            evidence: HashMap::new(),
            dirty: HashSet::new(),
            learn_os,
            workstations: HashMap::new(),
            windows: HashMap::new(),
            repeats: HashMap::new(),
            digest_due: HashMap::new(),
            stats: Stats::default(),
            name_buf: NameBuf::new(),
            shared_seen: None,
        };
        if let Err(err) = e.load() {
            tracing::warn!(error = %err, "could not read the alert store's state");
        }
        Ok(e)
    }

    /// Shares first-seen domains with the other instances (see [`SharedSeen`]).
    pub fn with_shared_seen(mut self, shared: Box<dyn SharedSeen>) -> Engine {
        self.shared_seen = Some(shared);
        self
    }

    fn load(&mut self) -> Result<(), StoreError> {
        let now = alert::now();
        for (rule, key, until) in self.store.dedup_windows(match self.clock {
            Clock::Wall => now,
            Clock::Record => f64::MIN,
        })? {
            if let Some(i) = self.rules.iter().position(|r| r.name == rule) {
                self.quiet.insert((i, key), until);
            }
        }
        for (host, os, n) in self.store.host_os()? {
            if let Some(o) = Os::from_name(&os) {
                self.evidence.entry(host).or_default().counts[o.index()] = n;
            }
        }
        for (rule, since) in self.store.repeat_starts()? {
            let Some(i) = self.rules.iter().position(|r| r.name == rule) else {
                continue;
            };
            match self.rules[i].digest {
                Some(p) => {
                    self.digest_due.insert(i, digest::period_end(since, p));
                }
                // The digest was turned off: its counts would never be reported.
                None => {
                    self.store.drop_repeats(&rule)?;
                }
            }
        }
        for (i, r) in self.rules.iter().enumerate() {
            if let Some(v) = self.store.meta(&format!("learn_start:{}", r.name))? {
                if let Ok(t) = v.parse() {
                    self.learn_start.insert(i, t);
                }
            }
        }
        self.refresh_mutes();
        Ok(())
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Every record field the rules read (to parse only those from a raw row). Includes the
    /// fields every alert carries (`ts`, `uid`, `id.orig_h`, `workstation`), and `extra`
    /// (fields destination templates name). `*` among them: some rule carries whole records.
    pub fn reads(&self, extra: &[String]) -> Vec<String> {
        let mut v: Vec<String> = [
            "ts",
            "uid",
            "conn_uids",
            "uids",
            "id.orig_h",
            "host",
            "workstation",
            "user_agent",
            "unparsed_version",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for r in &self.rules {
            v.extend(r.reads());
        }
        for c in &self.allow {
            v.extend(c.fields());
        }
        v.extend(extra.iter().cloned());
        let mut seen = HashSet::new();
        v.retain(|x| seen.insert(x.clone()));
        v
    }

    /// Re-reads the mutes if another process (`trawl alert mute`) changed the store since the
    /// last look: one cheap `PRAGMA data_version` when nothing changed.
    pub fn refresh_mutes(&mut self) {
        let v = match self.store.data_version() {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "alert store");
                return;
            }
        };
        if self.mutes_version == Some(v) {
            return;
        }
        match self.store.mutes(Some(alert::now())) {
            Ok(m) => {
                if self.mutes_version.is_some() && m != self.mutes {
                    tracing::info!(mutes = m.len(), "alert mutes changed");
                }
                self.mutes = m;
                self.mutes_version = Some(v);
            }
            Err(e) => tracing::warn!(error = %e, "could not read the alert mutes"),
        }
    }

    /// Starts a batch: the store's writes until [`Engine::end_batch`] are committed together.
    pub fn begin_batch(&mut self) {
        if let Err(e) = self.store.begin_batch() {
            self.stats.store_errors += 1;
            tracing::warn!(error = %e, "alert store");
        }
    }

    /// Commits the batch's writes (before the alerts are handed to delivery), the repeats
    /// counted in it included.
    pub fn end_batch(&mut self) {
        self.save_repeats();
        if let Err(e) = self.store.end_batch() {
            self.stats.store_errors += 1;
            tracing::error!(error = %e, "alert store: could not commit a batch of alerts");
        }
    }

    /// Runs the rules over one record; returns the alerts that fire (already in the outbox).
    pub fn process(&mut self, rec: &Record<'_>) -> Vec<Alert> {
        self.stats.records += 1;
        let ts = record_ts(rec).unwrap_or_else(alert::now);
        let now = match self.clock {
            Clock::Wall => alert::now(),
            Clock::Record => ts,
        };
        let host = self.host_of(rec);
        if let (Some(h), Some(w)) = (&host, field_text(rec, "workstation")) {
            if self.workstations.len() >= WORKSTATIONS {
                self.workstations.clear();
            }
            self.workstations.insert(h.clone(), w);
        }
        let mut out = Vec::new();
        if self.clock == Clock::Record {
            // Record time moves with the records: windows close as it passes their end, and
            // digests go out as it passes theirs.
            if !self.windows.is_empty() {
                out = self.close_due(now);
            }
            if !self.digest_due.is_empty() {
                out.extend(self.digests_due(now));
            }
        }
        if !self.allow.iter().any(|a| a.matches(rec)) {
            for i in 0..self.rules.len() {
                let rule = &self.rules[i];
                if !rule.considers(rec) {
                    continue;
                }
                let extra: Option<Extra> = match rule.kind {
                    RuleKind::Match => Some(Vec::new()),
                    RuleKind::FileHash => rule.mime_matches(rec).then(Vec::new),
                    RuleKind::Software => rule.old_software(rec).map(|v| {
                        vec![
                            ("version".to_string(), Json::String(v)),
                            ("below".to_string(), Json::from(rule.below.clone())),
                        ]
                    }),
                    RuleKind::UserAgent => self.odd_user_agent(i, rec, host.as_deref()),
                    RuleKind::FirstSeen => self.first_seen(i, rec, ts, host.as_deref()),
                };
                let Some(extra) = extra else { continue };
                self.stats.matched += 1;
                let (a, keyless) = self.build(i, rec, ts, host.clone(), extra);
                self.gate(i, a, keyless, now, &mut out);
            }
        }
        if self.learn_os {
            self.learn_os(rec, host.as_deref());
        }
        out
    }

    /// Mutes, de-duplication and aggregation; fires what passes.
    fn gate(&mut self, i: usize, a: Alert, keyless: bool, now: f64, out: &mut Vec<Alert>) {
        let wall = alert::now();
        if self.mutes.iter().any(|m| m.silences(&a, wall)) {
            self.stats.muted += 1;
            return;
        }
        let rule = &self.rules[i];
        let until = (!rule.dedup.is_zero() && !keyless).then_some(now + rule.dedup.as_secs_f64());
        if let Some(u) = until {
            let k = (i, a.key.clone());
            if self.quiet.get(&k).is_some_and(|&q| q > now) {
                self.stats.deduplicated += 1;
                self.count_repeat(i, &a, now);
                return;
            }
            self.quiet.insert(k, u);
        }
        if let Some((window, after)) = rule.aggregate {
            let expired = self
                .windows
                .get(&i)
                .is_some_and(|w| now >= w.start + window.as_secs_f64());
            if expired {
                if let Some(w) = self.windows.remove(&i) {
                    if let Some(s) = self.summary(i, w, window) {
                        self.fire(&s, None);
                        out.push(s);
                    }
                }
            }
            let w = self.windows.entry(i).or_insert_with(|| new_window(now));
            if w.sent >= after {
                w.held += 1;
                w.last = now;
                w.common.add(self.rules[i].pivot.as_ref(), &a);
                if w.first_pivot.is_none() {
                    w.first_pivot = a.pivot.clone();
                }
                push_some(&mut w.keys, Some(&a.key));
                push_some(&mut w.hosts, a.host.as_ref());
                push_some(&mut w.workstations, a.workstation.as_ref());
                self.stats.aggregated += 1;
                // The key is handled: a repeat stays quiet, also after a restart.
                if let Err(e) = self.store.fire(&a, until, &[]) {
                    self.stats.store_errors += 1;
                    tracing::warn!(error = %e, "alert store");
                }
                return;
            }
            w.sent += 1;
        }
        self.fire(&a, until);
        out.push(a);
    }

    /// Writes an alert to the outbox of each destination that takes its severity.
    fn fire(&mut self, a: &Alert, until: Option<f64>) {
        self.stats.fired += 1;
        let dests = self.dests_for(a);
        if let Err(e) = self.store.fire(a, until, &dests) {
            self.stats.store_errors += 1;
            tracing::error!(error = %e, rule = %a.rule, "could not write an alert to the outbox");
        }
    }

    /// Counts a repeat of a key inside its quiet window, for the rule's digest.
    fn count_repeat(&mut self, i: usize, a: &Alert, now: f64) {
        let rule = &self.rules[i];
        let Some(period) = rule.digest else { return };
        let tpl = rule.pivot.as_ref();
        match self.repeats.entry(i).or_default().entry(a.key.clone()) {
            std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().add(a, tpl),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Repeat::new(a, now, tpl));
            }
        }
        self.digest_due
            .entry(i)
            .or_insert_with(|| digest::period_end(now, period));
    }

    /// Writes the repeats counted so far to the store (they survive a restart from there).
    fn save_repeats(&mut self) {
        for (i, reps) in self.repeats.drain() {
            let reps: Vec<Repeat> = reps.into_values().collect();
            if let Err(e) = self.store.add_repeats(&self.rules[i].name, &reps) {
                self.stats.store_errors += 1;
                tracing::warn!(error = %e, rule = %self.rules[i].name, "could not count repeats for the digest");
            }
        }
    }

    /// The digests due by `now` (all of them with `now` = infinity), already in the outbox.
    fn digests_due(&mut self, now: f64) -> Vec<Alert> {
        let mut due: Vec<usize> = self
            .digest_due
            .iter()
            .filter(|(_, &t)| t <= now)
            .map(|(i, _)| *i)
            .collect();
        if due.is_empty() {
            return Vec::new();
        }
        due.sort_unstable();
        self.save_repeats();
        let mut out = Vec::new();
        for i in due {
            self.digest_due.remove(&i);
            let reps = match self.store.repeats(&self.rules[i].name) {
                Ok(r) => r,
                Err(e) => {
                    self.stats.store_errors += 1;
                    tracing::warn!(error = %e, "alert store: could not read repeats");
                    continue;
                }
            };
            let Some(d) = digest::digest(&self.rules[i], reps) else {
                continue;
            };
            self.stats.fired += 1;
            self.stats.digests += 1;
            let dests = self.dests_for(&d);
            if let Err(e) = self.store.fire_digest(&d, &dests) {
                self.stats.store_errors += 1;
                tracing::error!(error = %e, rule = %d.rule, "could not write a digest to the outbox");
            }
            out.push(d);
        }
        out
    }

    /// Destinations an alert goes to: the rule's, those taking its severity.
    fn dests_for(&self, a: &Alert) -> Vec<&str> {
        let rule = self.rules.iter().find(|r| r.name == a.rule);
        self.dests
            .iter()
            .filter(|(name, min)| {
                rule.map_or(true, |r| r.destinations.contains(name))
                    && min.map_or(true, |m| a.severity >= m)
            })
            .map(|(n, _)| n.as_str())
            .collect()
    }

    /// Closes aggregation windows that ended by `now` (wall-clock, or record time for a dry
    /// run) and sends the digests due, returning both (already in the outbox). Also re-reads
    /// changed mutes.
    pub fn tick(&mut self, now: f64) -> Vec<Alert> {
        self.refresh_mutes();
        let mut out = self.close_due(now);
        if !self.digest_due.is_empty() {
            out.extend(self.digests_due(now));
        }
        out
    }

    fn close_due(&mut self, now: f64) -> Vec<Alert> {
        let due: Vec<usize> = self
            .windows
            .iter()
            .filter(|(i, w)| {
                self.rules[**i]
                    .aggregate
                    .is_some_and(|(win, _)| now >= w.start + win.as_secs_f64())
            })
            .map(|(i, _)| *i)
            .collect();
        let mut out = Vec::new();
        for i in due {
            if let (Some(w), Some((win, _))) = (self.windows.remove(&i), self.rules[i].aggregate) {
                if let Some(s) = self.summary(i, w, win) {
                    self.fire(&s, None);
                    out.push(s);
                }
            }
        }
        if self.quiet.len() > 100_000 {
            self.quiet.retain(|_, u| *u > now);
        }
        out
    }

    /// End of input: closes every aggregation window and returns the summaries, and the
    /// digests due. On record time (a dry run) that is every digest; on the wall clock the
    /// others wait in the store for their time (a later run sends them).
    pub fn finish(&mut self) -> Vec<Alert> {
        let mut out = Vec::new();
        let all: Vec<usize> = self.windows.keys().copied().collect();
        for i in all {
            if let (Some(w), Some((win, _))) = (self.windows.remove(&i), self.rules[i].aggregate) {
                if let Some(s) = self.summary(i, w, win) {
                    self.fire(&s, None);
                    out.push(s);
                }
            }
        }
        out.extend(self.digests_due(match self.clock {
            Clock::Record => f64::INFINITY,
            Clock::Wall => alert::now(),
        }));
        self.save();
        out
    }

    /// Saves learnt state (per-host OS evidence, repeats counted) to the store.
    pub fn save(&mut self) {
        self.save_repeats();
        if self.dirty.is_empty() {
            return;
        }
        let mut rows = Vec::new();
        for h in self.dirty.drain() {
            if let Some(ev) = self.evidence.get(&h) {
                for o in Os::ALL {
                    let n = ev.counts[o.index()];
                    if n > 0 {
                        rows.push((h.clone(), o.name(), n));
                    }
                }
            }
        }
        if let Err(e) = self.store.save_host_os(&rows) {
            self.stats.store_errors += 1;
            tracing::warn!(error = %e, "could not save host OS evidence");
        }
    }

    fn summary(&self, i: usize, w: Window, window: Duration) -> Option<Alert> {
        if w.held == 0 {
            return None;
        }
        let rule = &self.rules[i];
        let mut fields = std::collections::BTreeMap::new();
        fields.insert("keys".to_string(), Json::from(w.keys.clone()));
        let (pivot, pivot_first) =
            pivot_for_many(rule.pivot.as_ref(), &w.common, w.first_pivot.as_deref());
        let title = format!(
            "{} more \"{}\" {} in {} ({}{})",
            w.held,
            rule.name,
            if w.held == 1 { "alert" } else { "alerts" },
            crate::duration::format(window),
            w.keys
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if w.keys.len() > 3 { ", ..." } else { "" }
        );
        Some(Alert {
            id: stable_id(&[&rule.name, "summary", &format!("{:.6}", w.start)]),
            rule: rule.name.clone(),
            severity: rule.severity,
            title,
            time: rfc3339(w.last),
            ts: w.last,
            log: rule.logs.first().cloned().unwrap_or_default(),
            key: "summary".into(),
            uid: None,
            host: (w.hosts.len() == 1).then(|| w.hosts[0].clone()),
            workstation: (w.workstations.len() == 1).then(|| w.workstations[0].clone()),
            pivot,
            fields,
            count: w.held,
            summary: Some(Summary {
                from: rfc3339(w.start),
                to: rfc3339(w.last),
                keys: w.keys,
                hosts: w.hosts,
                workstations: w.workstations,
                repeats: Vec::new(),
                pivot_first,
            }),
        })
    }

    /// An alert for a record that matched rule `i`.
    /// Also says whether the record had none of the key's fields (such alerts are not "the
    /// same" as each other: no dedup window, or every hash-less download would fold into one).
    fn build(
        &self,
        i: usize,
        rec: &Record<'_>,
        ts: f64,
        host: Option<String>,
        extra: Extra,
    ) -> (Alert, bool) {
        let rule = &self.rules[i];
        let value = |f: &str| -> Option<Json> {
            extra
                .iter()
                .find(|(n, _)| n == f)
                .map(|(_, v)| v.clone())
                .or_else(|| rec.get(f).filter(|v| !v.is_unset()).map(alert::to_json))
        };
        let mut fields = std::collections::BTreeMap::new();
        for f in &rule.fields {
            if f == "*" {
                // The whole record (a SOAR playbook wants it all).
                for rf in rec.fields.iter().filter(|rf| !rf.value.is_unset()) {
                    fields
                        .entry(rf.name.to_string())
                        .or_insert_with(|| alert::to_json(&rf.value));
                }
            } else if let Some(v) = value(f) {
                fields.insert(f.clone(), v);
            }
        }
        let parts: Vec<Option<String>> = rule
            .key
            .iter()
            .map(|k| match k.as_str() {
                "host" if rec.path != "software" => host.clone(),
                // software.log names the host `host`: the same host either way.
                "id.orig_h" => value(k).map(|v| alert::json_text(&v)).or(host.clone()),
                _ => value(k).map(|v| alert::json_text(&v)),
            })
            .collect();
        let keyless = !parts.is_empty() && parts.iter().all(Option::is_none);
        let key = parts
            .into_iter()
            .map(|p| p.unwrap_or_else(|| "-".into()))
            .collect::<Vec<_>>()
            .join("|");
        let uid = field_text(rec, "uid").or_else(|| {
            ["conn_uids", "uids"].iter().find_map(|f| match rec.get(f) {
                Some(trawl_zeek::Value::List(l)) => l.first().map(alert::text),
                Some(v) if !v.is_unset() => Some(alert::text(v)),
                _ => None,
            })
        });
        let workstation = field_text(rec, "workstation").or_else(|| {
            host.as_ref()
                .and_then(|h| self.workstations.get(h).cloned())
        });
        let ts_text = format!("{ts:.6}");
        let mut a = Alert {
            id: stable_id(&[&rule.name, &key, &ts_text, uid.as_deref().unwrap_or("")]),
            rule: rule.name.clone(),
            severity: rule.severity,
            title: String::new(),
            time: rfc3339(ts),
            ts,
            log: rec.path.to_string(),
            key,
            uid,
            host,
            workstation,
            pivot: None,
            fields,
            count: 1,
            summary: None,
        };
        a.title = rule.title.render(|f| a.lookup(f), Escape::None);
        a.pivot = rule
            .pivot
            .as_ref()
            .and_then(|p| p.render_all(|f| a.lookup(f), Escape::Url));
        (a, keyless)
    }

    /// `user_agent` rule: a Windows browser from a host whose other traffic says Linux or
    /// BSD, or a command-line tool from a Windows host.
    fn odd_user_agent(&self, i: usize, rec: &Record<'_>, host: Option<&str>) -> Option<Extra> {
        let rule = &self.rules[i];
        let agent = user_agent_of(rec)?;
        let claim = ua::classify(&agent);
        let ev = self.evidence.get(host?)?;
        let (dominant, n) = ev.dominant()?;
        // The host's own agents must mostly agree (3 in 4): one whose agents claim several
        // systems (a proxy, NAT, a scanner cycling agents) has no OS to contradict.
        if n < rule.min_evidence || n * 4 < ev.total() * 3 {
            return None;
        }
        let claimed = match (claim.client, claim.os) {
            (Client::Browser, Some(Os::Windows))
                if dominant.is_unix_server() && ev.counts[Os::Windows.index()] < n =>
            {
                "Windows browser".to_string()
            }
            (Client::Tool, _) if dominant == Os::Windows => {
                let tool = ua::tool_name(&agent)
                    .or_else(|| agent.split('/').next())
                    .unwrap_or("tool");
                format!("command-line tool ({tool})")
            }
            _ => return None,
        };
        Some(vec![
            // software.log has the agent in unparsed_version: the key and fields read it here.
            ("user_agent".into(), Json::String(agent)),
            ("claimed".into(), Json::String(claimed)),
            ("host_os".into(), Json::String(dominant.name().into())),
            ("os_evidence".into(), Json::String(ev.describe())),
        ])
    }

    fn learn_os(&mut self, rec: &Record<'_>, host: Option<&str>) {
        let (Some(h), Some(agent)) = (host, user_agent_of(rec)) else {
            return;
        };
        if let Some(os) = ua::classify(&agent).os {
            self.evidence.entry(h.to_string()).or_default().add(os);
            self.dirty.insert(h.to_string());
        }
    }

    /// `first_seen` rule: a registered domain never seen before (kept in the store).
    fn first_seen(
        &mut self,
        i: usize,
        rec: &Record<'_>,
        ts: f64,
        host: Option<&str>,
    ) -> Option<Extra> {
        let rule = &self.rules[i];
        let name = field_text(rec, &rule.name_field)?;
        let reg = {
            let p = trawl_score::normalize(&name, &mut self.name_buf).ok()?;
            if p.kind != NameKind::Domain
                || matches!(p.suffix_kind, SuffixKind::None | SuffixKind::Unknown)
                || self.seen.contains(p.registered)
            {
                return None;
            }
            p.registered.to_string()
        };
        let learn = rule.learn;
        let rule_name = rule.name.clone();
        let shared = self
            .shared_seen
            .as_mut()
            .map(|s| s.first_seen(&reg, ts, host));
        let local = self.store.first_seen(&reg, ts, host);
        let new = match (shared, local) {
            (Some(Ok(n)), _) => n,
            (Some(Err(e)), Ok(n)) => {
                self.stats.store_errors += 1;
                tracing::warn!(error = %e, "shared first-seen store: using this instance's");
                n
            }
            (None, Ok(n)) => n,
            (_, Err(e)) => {
                self.stats.store_errors += 1;
                tracing::warn!(error = %e, "alert store");
                return None;
            }
        };
        if self.seen.len() >= SEEN_CACHE {
            self.seen.clear();
        }
        self.seen.insert(reg.clone());
        let start = *self.learn_start.entry(i).or_insert_with(|| {
            let _ = self
                .store
                .set_meta(&format!("learn_start:{rule_name}"), &ts.to_string());
            ts
        });
        let learning = learn.is_some_and(|l| ts < start + l.as_secs_f64());
        (new && !learning).then(|| vec![("registered_domain".into(), Json::String(reg))])
    }
}

/// The user-agent of an http.log record, or the software string of a software.log one.
fn user_agent_of(rec: &Record<'_>) -> Option<String> {
    field_text(rec, "user_agent").or_else(|| {
        (rec.path == "software")
            .then(|| field_text(rec, "unparsed_version"))
            .flatten()
    })
}

fn new_window(now: f64) -> Window {
    Window {
        start: now,
        last: now,
        sent: 0,
        held: 0,
        keys: Vec::new(),
        hosts: Vec::new(),
        workstations: Vec::new(),
        common: Common::default(),
        first_pivot: None,
    }
}

impl Drop for Engine {
    /// Repeats not yet written (no batch ended since) go to the store.
    fn drop(&mut self) {
        self.save_repeats();
    }
}

fn push_some(v: &mut Vec<String>, s: Option<&String>) {
    if let Some(s) = s {
        if v.len() < SUMMARY_LIST && !v.contains(s) {
            v.push(s.clone());
        }
    }
}

impl Engine {
    /// The host a record is about: `id.orig_h`, or `host` in software.log. For files.log, the
    /// local end of the transfer: which end that is depends on the direction and the Zeek
    /// version (`rx_hosts`, or either end of the connection), so the end with a known
    /// workstation is taken.
    fn host_of(&self, rec: &Record<'_>) -> Option<String> {
        if rec.path == "files" {
            let ends: Vec<String> = ["rx_hosts", "id.orig_h", "id.resp_h", "tx_hosts"]
                .iter()
                .filter_map(|f| match rec.get(f) {
                    Some(trawl_zeek::Value::List(l)) => l.first().map(alert::text),
                    Some(v) if !v.is_unset() => Some(alert::text(v)),
                    _ => None,
                })
                .collect();
            if field_text(rec, "workstation").is_none() {
                if let Some(h) = ends.iter().find(|h| self.workstations.contains_key(*h)) {
                    return Some(h.clone());
                }
            }
            return ends.into_iter().next();
        }
        field_text(rec, "id.orig_h").or_else(|| {
            matches!(
                rec.path.as_ref(),
                "software" | "known_hosts" | "known_services"
            )
            .then(|| field_text(rec, "host"))
            .flatten()
        })
    }
}
