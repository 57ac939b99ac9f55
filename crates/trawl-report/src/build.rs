//! One pass over the logs of a period and the one before, then the figures of the report.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use foldhash::fast::RandomState;
use trawl_enrich::{addr_value, time_value, Attribution, AttributionConfig};
use trawl_query::scan::{Block, Rec, Scan, ScanError, ScanSummary};
use trawl_zeek::{Record, Value};

use crate::model::*;
use crate::period::{every_text, rfc3339, Period};
use crate::tally::{Conn, Tally, DIRECTIONS, FAILED_STATES};

/// Rows in each top list.
pub const TOP: usize = 10;

/// What a worker keeps while it reads.
#[derive(Default)]
struct Part {
    cur: Tally,
    prev: Tally,
    /// dhcp and known_devices records up to the period's end, to name workstations.
    leases: Vec<(f64, Record<'static>)>,
    /// software records up to the period's end.
    software: Vec<Record<'static>>,
    first: Option<f64>,
    last: Option<f64>,
}

impl Part {
    fn merge(&mut self, o: Part) {
        self.cur.merge(o.cur);
        self.prev.merge(o.prev);
        self.leases.extend(o.leases);
        self.software.extend(o.software);
        self.first = min_opt(self.first, o.first);
        self.last = max_opt(self.last, o.last);
    }
}

fn min_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

/// What a report reads besides the logs.
#[derive(Default, Clone, Copy)]
pub struct Stores<'a> {
    /// Alerts fired and mutes.
    pub alerts: Option<&'a trawl_alert::Store>,
    /// Passive DNS: which names are seen for the first time.
    pub pdns: Option<&'a trawl_pdns::Store>,
}

/// Builds the report of `period` from a scan of logs that cover it (and, to compare, the
/// period before), with what `stores` hold. `now` stamps it (epoch seconds).
pub fn build(
    scan: &Scan,
    period: Period,
    stores: Stores<'_>,
    now: i64,
) -> Result<(Report, ScanSummary), ScanError> {
    let alerts = stores.alerts;
    let prev = period.previous();
    let (parts, summary) = scan.fold(Part::default, |p: &mut Part, b: &Block<'_>| {
        b.for_each_record(|r| read(p, &r, period, prev));
    })?;
    let mut all = Part::default();
    for p in parts {
        all.merge(p);
    }
    let mut who = Attribution::new(AttributionConfig::default());
    all.leases.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (_, l) in &all.leases {
        who.observe(l);
    }
    let ws = |ip: IpAddr, t: f64| -> Option<String> {
        who.lookup(ip, (t * 1e9) as i64)
            .and_then(|h| h.workstation.map(str::to_string))
    };
    let headline = headline(&all.cur);
    let previous = headline_of(&all.prev);
    let traffic = traffic(&all.cur, &ws);
    let dns = dns(&all.cur, &all.prev, period, stores.pdns, &ws);
    let report = Report {
        period: PeriodInfo {
            every: every_text(period.len()),
            start: rfc3339(period.start),
            end: rfc3339(period.end),
            start_epoch: period.start,
            end_epoch: period.end,
            label: period.to_string(),
        },
        generated: rfc3339(now),
        input: InputInfo {
            files: summary.files,
            records: summary.records,
            in_period: all.cur.records,
            problems: summary.problems_total,
            first_record: all.first.map(|t| rfc3339(t.floor() as i64)),
            last_record: all.last.map(|t| rfc3339(t.floor() as i64)),
        },
        changes: changes(&headline, &previous, &all, &traffic),
        headline,
        previous,
        traffic,
        dns,
        alerts: alerts.map(|s| alerts_of(s, period)),
        outdated_software: outdated(&all.software),
    };
    Ok((report, summary))
}

/// Seconds since the epoch of a record's `ts`.
fn ts_of(r: &Rec<'_>) -> Option<f64> {
    r.get("ts")
        .as_ref()
        .and_then(time_value)
        .map(|n| n as f64 / 1e9)
}

fn read(p: &mut Part, r: &Rec<'_>, period: Period, prev: Period) {
    let kind = r.log_type();
    if !matches!(kind, "conn" | "dns" | "dhcp" | "known_devices" | "software") {
        return;
    }
    let Some(ts) = ts_of(r) else { return };
    p.first = min_opt(p.first, Some(ts));
    p.last = max_opt(p.last, Some(ts));
    let before_end = ts < period.end as f64;
    match kind {
        "dhcp" | "known_devices" if before_end => p.leases.push((ts, owned(r))),
        "software" if before_end => p.software.push(owned(r)),
        "conn" | "dns" => {
            let t = if period.contains(ts) {
                &mut p.cur
            } else if prev.contains(ts) {
                &mut p.prev
            } else {
                return;
            };
            if kind == "conn" {
                add_conn(t, r, ts);
            } else {
                add_dns(t, r, ts);
            }
        }
        _ => {}
    }
}

fn owned(r: &Rec<'_>) -> Record<'static> {
    match r {
        Rec::Row(row) => row.to_record(&mut Vec::new()).into_owned(),
        Rec::Record { record, .. } => (*record).clone().into_owned(),
    }
}

/// A string field's text (invalid UTF-8 replaced, as names are shown); empty if unset.
fn text<'v>(v: &'v Option<Value<'_>>) -> Cow<'v, str> {
    match v {
        Some(Value::Str(s)) => String::from_utf8_lossy(s),
        _ => Cow::Borrowed(""),
    }
}

fn count(v: Option<Value<'_>>) -> u64 {
    match v {
        Some(Value::Count(c)) => c,
        Some(Value::Int(i)) => i.max(0) as u64,
        Some(Value::Double(d)) if d > 0.0 => d as u64,
        Some(Value::Port(p)) => u64::from(p),
        Some(Value::Str(s)) => std::str::from_utf8(&s)
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
        _ => 0,
    }
}

fn add_conn(t: &mut Tally, r: &Rec<'_>, ts: f64) {
    let addr = |f: &str| r.get(f).as_ref().and_then(addr_value);
    let (proto, service, state) = (r.get("proto"), r.get("service"), r.get("conn_state"));
    let port = match r.get("id.resp_p") {
        None | Some(Value::Unset) => None,
        v => u16::try_from(count(v)).ok(),
    };
    let service = text(&service);
    t.add_conn(&Conn {
        ts,
        orig: addr("id.orig_h"),
        resp: addr("id.resp_h"),
        resp_port: port,
        proto: &text(&proto),
        service: if service.is_empty() { "-" } else { &service },
        state: &text(&state),
        orig_bytes: count(r.get("orig_bytes")),
        resp_bytes: count(r.get("resp_bytes")),
    });
}

fn add_dns(t: &mut Tally, r: &Rec<'_>, ts: f64) {
    let q = r.get("query");
    let q = text(&q);
    let name = q.trim_end_matches('.');
    if name.is_empty() || name == "-" {
        return;
    }
    let nx = match r.get("rcode_name") {
        Some(Value::Str(s)) => s.eq_ignore_ascii_case(b"NXDOMAIN"),
        _ => count(r.get("rcode")) == 3,
    };
    let client = r.get("id.orig_h").as_ref().and_then(addr_value);
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        t.add_query(ts, client, &name.to_ascii_lowercase(), nx);
    } else {
        t.add_query(ts, client, name, nx);
    }
}

fn headline(t: &Tally) -> Headline {
    headline_of(t)
}

fn headline_of(t: &Tally) -> Headline {
    let d = &t.directions;
    // Outbound: the originator is local, so its bytes leave; inbound the other way round.
    let bytes_out = d[0].orig_bytes + d[1].resp_bytes;
    let bytes_in = d[0].resp_bytes + d[1].orig_bytes;
    let nets = trawl_query::networks::networks();
    Headline {
        connections: t.conn.connections,
        bytes: t.conn.bytes(),
        bytes_out,
        bytes_in,
        local_hosts: t.hosts.keys().filter(|a| nets.is_local(**a)).count() as u64,
        dns_queries: t.dns_queries,
        dns_names: t.names.len() as u64,
        dns_clients: t.clients.len() as u64,
        nxdomain: t.dns_nxdomain,
        nxdomain_rate: rate(t.dns_nxdomain, t.dns_queries),
    }
}

fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
    }
}

/// The first `n` of `items` by `key` (largest first; ties by `tie`, smallest first).
fn top<T, K: Ord, U: Ord>(
    mut items: Vec<T>,
    n: usize,
    key: impl Fn(&T) -> K,
    tie: impl Fn(&T) -> U,
) -> Vec<T> {
    items.sort_by(|a, b| key(b).cmp(&key(a)).then_with(|| tie(a).cmp(&tie(b))));
    items.truncate(n);
    items
}

fn traffic(t: &Tally, ws: &dyn Fn(IpAddr, f64) -> Option<String>) -> Traffic {
    let nets = trawl_query::networks::networks();
    let talker = |(a, h): (&IpAddr, &crate::tally::HostTally)| Talker {
        host: a.to_string(),
        network: nets.find(*a).filter(|n| !n.is_empty()).map(str::to_string),
        workstation: if nets.is_local(*a) {
            ws(*a, h.last)
        } else {
            None
        },
        bytes: h.sent + h.received,
        sent: h.sent,
        received: h.received,
        connections: h.connections,
    };
    let (local, remote): (Vec<_>, Vec<_>) = t.hosts.iter().partition(|(a, _)| nets.is_local(**a));
    let by_bytes = |v: &[(&IpAddr, &crate::tally::HostTally)]| {
        top(v.to_vec(), TOP, |(_, h)| h.sent + h.received, |(a, _)| **a)
            .into_iter()
            .map(talker)
            .collect()
    };
    let usage = |name: String, u: &crate::tally::Usage| Usage {
        name,
        connections: u.connections,
        bytes: u.bytes(),
    };
    let services = top(
        t.services
            .iter()
            .map(|(k, u)| usage(k.clone(), u))
            .collect(),
        TOP,
        |u| u.connections,
        |u| u.name.clone(),
    );
    let ports = top(
        t.port_usage()
            .map(|(p, proto, u)| usage(format!("{p}/{proto}"), u))
            .collect(),
        TOP,
        |u| u.connections,
        |u| u.name.clone(),
    );
    let states = top(
        t.states
            .iter()
            .map(|(s, n)| State {
                state: s.clone(),
                meaning: state_meaning(s).to_string(),
                connections: *n,
                look: FAILED_STATES.contains(&s.as_str()) || s == "OTH",
            })
            .collect(),
        usize::MAX,
        |s| s.connections,
        |s| s.state.clone(),
    );
    let failed = top(
        t.failed.iter().collect::<Vec<_>>(),
        TOP,
        |(_, f)| (f.targets.len(), f.attempts),
        |(a, _)| **a,
    )
    .into_iter()
    .map(|(a, f)| Failed {
        host: a.to_string(),
        workstation: if nets.is_local(*a) {
            ws(*a, f.last)
        } else {
            None
        },
        attempts: f.attempts,
        targets: f.targets.len() as u64,
    })
    .collect();
    Traffic {
        directions: DIRECTIONS
            .iter()
            .zip(t.directions.iter())
            .map(|(d, u)| Direction {
                direction: d.to_string(),
                connections: u.connections,
                orig_bytes: u.orig_bytes,
                resp_bytes: u.resp_bytes,
            })
            .collect(),
        local_talkers: by_bytes(&local),
        remote_talkers: by_bytes(&remote),
        local_by_connections: top(local, TOP, |(_, h)| h.connections, |(a, _)| **a)
            .into_iter()
            .map(talker)
            .collect(),
        services,
        ports,
        states,
        failed_sources: failed,
    }
}

/// Zeek's `conn_state` values in words.
pub fn state_meaning(s: &str) -> &'static str {
    match s {
        "S0" => "attempt, no reply",
        "S1" => "established, not terminated",
        "SF" => "normal establishment and termination",
        "REJ" => "attempt rejected",
        "S2" => "established, originator closed, no reply from responder",
        "S3" => "established, responder closed, no reply from originator",
        "RSTO" => "established, originator aborted (RST)",
        "RSTR" => "established, responder aborted (RST)",
        "RSTOS0" => "originator sent SYN then RST, no SYN-ACK",
        "RSTRH" => "responder sent SYN-ACK then RST, no SYN seen",
        "SH" => "originator sent SYN then FIN, no SYN-ACK",
        "SHR" => "responder sent SYN-ACK then FIN, no SYN seen",
        "OTH" => "no SYN seen, midstream traffic",
        _ => "",
    }
}

/// (registered domain, TLD) of a name; the name itself when it has none. Names nobody
/// registers are counted as one group each: single labels (NetBIOS and LLMNR names, `wpad`,
/// NetBIOS's `*`), reverse-DNS names and IP literals, so that they neither crowd the table
/// one name a row nor make a TLD of their own.
fn domain_of(name: &str) -> (String, String) {
    let group = |d: &str, t: &str| (d.to_string(), t.to_string());
    if name == "in-addr.arpa"
        || name == "ip6.arpa"
        || name.ends_with(".in-addr.arpa")
        || name.ends_with(".ip6.arpa")
    {
        return group("(reverse DNS)", "arpa");
    }
    if name.parse::<IpAddr>().is_ok() {
        return group("(IP literals)", "(none)");
    }
    if !name.contains('.') {
        return group("(single-label names)", "(none)");
    }
    match trawl_query::functions::name_parts(name) {
        Some((reg, suffix, _)) if !reg.is_empty() => (reg, suffix),
        _ => {
            let tld = name.rsplit('.').next().unwrap_or(name).to_string();
            (name.to_string(), tld)
        }
    }
}

fn dns(
    cur: &Tally,
    prev: &Tally,
    period: Period,
    pdns: Option<&trawl_pdns::Store>,
    ws: &dyn Fn(IpAddr, f64) -> Option<String>,
) -> Dns {
    #[derive(Default)]
    struct Dom {
        queries: u64,
        names: u64,
        clients: HashSet<IpAddr, RandomState>,
        tld: String,
    }
    let mut doms: HashMap<String, Dom, RandomState> = HashMap::default();
    for (name, n) in &cur.names {
        let (reg, tld) = domain_of(name);
        let d = doms.entry(reg).or_default();
        d.queries += n.queries;
        d.names += 1;
        d.clients.extend(n.clients.iter().copied());
        d.tld = tld;
    }
    let mut tlds: HashMap<&str, (u64, u64), RandomState> = HashMap::default();
    for d in doms.values() {
        let t = tlds.entry(&d.tld).or_default();
        t.0 += d.queries;
        t.1 += 1;
    }
    let top_tlds = top(
        tlds.iter()
            .map(|(t, (q, d))| Tld {
                tld: t.to_string(),
                queries: *q,
                domains: *d,
            })
            .collect(),
        TOP,
        |t| t.queries,
        |t| t.tld.clone(),
    );
    let top_domains = top(
        doms.iter()
            .map(|(k, d)| Domain {
                domain: k.clone(),
                queries: d.queries,
                names: d.names,
                clients: d.clients.len() as u64,
            })
            .collect(),
        TOP,
        |d| d.queries,
        |d| d.domain.clone(),
    );
    // With a passive DNS store, new means first seen in this period (or unknown to it);
    // without, not asked the period before.
    let first = pdns.and_then(|s| {
        let names: Vec<&str> = cur.names.keys().map(|k| &**k).collect();
        s.first_seen(&names).ok()
    });
    let new_names = (first.is_some() || prev.dns_queries > 0).then(|| {
        let fresh: Vec<_> = cur
            .names
            .iter()
            .filter(|(k, _)| match &first {
                Some(f) => f.get(&***k).map_or(true, |t| *t >= period.start),
                None => !prev.names.contains_key(*k),
            })
            .collect();
        NewNames {
            basis: if first.is_some() {
                "the passive DNS store".into()
            } else {
                "the period before".into()
            },
            count: fresh.len() as u64,
            examples: top(fresh, 20, |(_, n)| n.queries, |(k, _)| k.to_string())
                .into_iter()
                .map(|(k, n)| NameCount {
                    name: k.to_string(),
                    queries: n.queries,
                    clients: n.clients.len() as u64,
                })
                .collect(),
        }
    });
    let nxdomain_clients = top(
        cur.clients.iter().filter(|(_, c)| c.nxdomain > 0).collect(),
        TOP,
        |(_, c)| c.nxdomain,
        |(a, _)| **a,
    )
    .into_iter()
    .map(|(a, c)| NxClient {
        client: a.to_string(),
        workstation: ws(*a, c.last),
        queries: c.queries,
        nxdomain: c.nxdomain,
        rate: rate(c.nxdomain, c.queries),
    })
    .collect();
    let mut scored: Vec<(f64, &str, f64, f64)> = cur
        .names
        .keys()
        .filter_map(|k| {
            let (p, d) = trawl_query::functions::scores(k)?;
            let m = p.max(d);
            (m >= 0.5).then_some((m, &**k, p, d))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.truncate(TOP);
    let top_scores = scored
        .into_iter()
        .map(|(_, k, p, d)| {
            let n = &cur.names[k];
            let mut wss: Vec<String> = Vec::new();
            for c in &n.clients {
                for t in [n.first, n.last] {
                    if let Some(w) = ws(*c, t) {
                        if !wss.contains(&w) {
                            wss.push(w);
                        }
                    }
                }
            }
            Scored {
                name: k.to_string(),
                phish: round3(p),
                dga: round3(d),
                queries: n.queries,
                clients: n.clients.iter().take(5).map(|c| c.to_string()).collect(),
                workstations: wss,
            }
        })
        .collect();
    Dns {
        top_domains,
        top_tlds,
        new_names,
        nxdomain_clients,
        top_scores,
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn alerts_of(store: &trawl_alert::Store, p: Period) -> Alerts {
    let fired = store
        .fired_between(p.start as f64, p.end as f64)
        .unwrap_or_default();
    let mut by: Vec<RuleCount> = Vec::new();
    for a in &fired {
        match by.iter_mut().find(|r| r.rule == a.rule) {
            Some(r) => r.count += a.count.max(1),
            None => by.push(RuleCount {
                rule: a.rule.clone(),
                severity: a.severity.name().to_string(),
                count: a.count.max(1),
                example: a.title.clone(),
            }),
        }
    }
    by.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.rule.cmp(&b.rule)));
    let mutes = store.mutes(None).unwrap_or_default();
    let (s, e) = (p.start as f64, p.end as f64);
    Alerts {
        fired: by.iter().map(|r| r.count).sum(),
        by_rule: by,
        mutes_active: mutes
            .iter()
            .filter(|m| m.created < e && m.until.map_or(true, |u| u > e))
            .count() as u64,
        mutes_added: mutes
            .iter()
            .filter(|m| m.created >= s && m.created < e)
            .count() as u64,
    }
}

fn outdated(software: &[Record<'static>]) -> Vec<Outdated> {
    let rows = trawl_query::hunts::outdated_software(software);
    let s = |r: &Record, f: &str| -> String {
        match r.get(f) {
            Some(Value::Str(s)) => String::from_utf8_lossy(s).into_owned(),
            Some(Value::Unset) | None => String::new(),
            Some(v) => {
                let mut o = Vec::new();
                v.write_text(&mut o);
                String::from_utf8_lossy(&o).into_owned()
            }
        }
    };
    let mut out: Vec<Outdated> = rows
        .iter()
        .map(|r| Outdated {
            host: s(r, "host"),
            software: s(r, "name"),
            version: s(r, "version"),
            why: s(r, "why"),
        })
        .collect();
    let mut seen = HashSet::new();
    out.retain(|o| seen.insert((o.host.clone(), o.software.clone(), o.version.clone())));
    out
}

fn changes(now: &Headline, before: &Headline, all: &Part, traffic: &Traffic) -> Vec<Change> {
    let mut out = Vec::new();
    if before.connections == 0 && before.dns_queries == 0 {
        return out;
    }
    // Figures that moved by a tenth or more.
    let mut figure = |what: &str, a: u64, b: u64, show: fn(u64) -> String| {
        let change = (b as f64 - a as f64) / (a as f64).max(1.0);
        if change.abs() < 0.1 {
            return;
        }
        let pct = if a == 0 {
            String::from("none before")
        } else {
            format!("{:+.0}%", change * 100.0)
        };
        out.push(Change {
            what: what.to_string(),
            text: format!("{what}: {} -> {} ({pct})", show(a), show(b)),
        });
    };
    figure("connections", before.connections, now.connections, human);
    figure("bytes out", before.bytes_out, now.bytes_out, human_bytes);
    figure("bytes in", before.bytes_in, now.bytes_in, human_bytes);
    figure("DNS queries", before.dns_queries, now.dns_queries, human);
    figure("distinct names", before.dns_names, now.dns_names, human);
    figure("NXDOMAIN answers", before.nxdomain, now.nxdomain, human);
    figure("local hosts", before.local_hosts, now.local_hosts, human);
    // Top local talkers that were not in the previous period's top.
    let nets = trawl_query::networks::networks();
    let prev_local: Vec<(&IpAddr, u64)> = all
        .prev
        .hosts
        .iter()
        .filter(|(a, _)| nets.is_local(**a))
        .map(|(a, h)| (a, h.sent + h.received))
        .collect();
    let prev_top: Vec<String> = top(prev_local, TOP, |(_, b)| *b, |(a, _)| **a)
        .into_iter()
        .map(|(a, _)| a.to_string())
        .collect();
    for t in &traffic.local_talkers {
        if !prev_top.contains(&t.host) {
            let seen = t
                .host
                .parse::<IpAddr>()
                .is_ok_and(|a| all.prev.hosts.contains_key(&a));
            out.push(Change {
                what: "new top talker".into(),
                text: format!(
                    "{} is a top talker ({}){}",
                    t.who(),
                    human_bytes(t.bytes),
                    if seen {
                        ""
                    } else {
                        ", not seen the period before"
                    }
                ),
            });
        }
    }
    // Responder ports busy now and unused before.
    for (port, proto, u) in all.cur.port_usage() {
        if u.connections >= 10 && !all.prev.has_port(port, proto) {
            out.push(Change {
                what: "new port".into(),
                text: format!(
                    "{}/{} answered {} connections, none the period before",
                    port, proto, u.connections
                ),
            });
        }
    }
    out.sort_by_key(|c| Reverse(c.what == "new top talker"));
    out
}

/// `1,234,567`.
pub fn human(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1.2 GB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
