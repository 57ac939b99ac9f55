//! The pivot itself: the records that hold the value, the records one link away (a connection's
//! files and certificates, a file's connection), and with `around` the DNS lookups that
//! resolved a connection's responder just before it; merged in time order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use trawl_input::LogFile;
use trawl_zeek::time::Nanos;
use trawl_zeek::{Record, Value};

use crate::kind::{Kind, PivotValue};
use crate::search::{Hit, Limit, Searcher};

/// How far a pivot reaches.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Also the DNS lookups whose answers hold a connection's responder address, at most this
    /// long before the connection.
    pub around: Option<Nanos>,
    /// Leave out records before this time.
    pub since: Option<Nanos>,
    /// Leave out records at or after this time.
    pub until: Option<Nanos>,
    /// Do not follow links (uid -> file ids, file or hash -> uid).
    pub no_follow: bool,
    /// Keep only the earliest this many records that hold the value (a busy server's address
    /// is on millions of lines); the rest are counted in [`Story::left_out`], not read.
    pub limit: Option<usize>,
}

/// Why a record is in the story.
#[derive(Debug, Clone, PartialEq)]
pub enum Via {
    /// It holds the value.
    Match,
    /// A record that holds the value has `field` = `value`, and this record is about that.
    Link {
        /// The field of the record linked from (`resp_fuids`, `uid` ...).
        field: String,
        /// The value followed.
        value: String,
    },
    /// A DNS lookup that answered with `addr`, the responder of connection `uid`, `before`
    /// nanoseconds before the connection started.
    Lookup {
        /// The connection.
        uid: String,
        /// Its responder address.
        addr: String,
        /// How long before the connection.
        before: Nanos,
        /// Whether the lookup came from the connection's originator.
        same_client: bool,
    },
}

/// One record of the story.
#[derive(Debug, Clone)]
pub struct Item {
    /// Its `ts`, if it has a readable one.
    pub ts: Option<Nanos>,
    /// Its file.
    pub file: Arc<PathBuf>,
    /// Its line in the (uncompressed) file.
    pub line: u64,
    /// The record.
    pub record: Record<'static>,
    /// Why it is here.
    pub via: Via,
}

/// Every record about a value, in time order.
#[derive(Debug)]
pub struct Story {
    /// The value.
    pub value: PivotValue,
    /// The records, ordered by `ts` (records without one first), then file and line.
    pub items: Vec<Item>,
    /// Lines that could not be read and files that failed, `file:line: reason`.
    pub problems: Vec<String>,
    /// Records holding the value left out by [`Options::limit`]: a lower bound, as parts of
    /// files holding only later records are skipped unread.
    pub left_out: u64,
}

/// Fields holding file ids a connection's records point at.
const FUID_FIELDS: &[&str] = &[
    "fuid",
    "fuids",
    "orig_fuids",
    "resp_fuids",
    "cert_chain_fuids",
    "client_cert_chain_fuids",
];
/// Fields holding certificate fingerprints (Zeek 4.2 and later) an ssl record points at.
const FP_FIELDS: &[&str] = &["cert_chain_fps", "client_cert_chain_fps"];
/// Fields holding the connections a file record belongs to.
const UID_FIELDS: &[&str] = &["uid", "conn_uids"];
/// Fields that name what a record describes (files, x509, pe, ocsp ...).
const IDENTITY_FIELDS: &[&str] = &["fuid", "id", "fingerprint"];

/// A value to follow and how to take what it finds.
struct Link {
    value: PivotValue,
    field: &'static str,
    /// Only records *about* the value (its files, x509 or pe record), not every record that
    /// mentions it: a certificate shared by a thousand sessions links to one x509 record.
    identity_only: bool,
}

/// Tells the story of `value`.
pub fn pivot(search: &dyn Searcher, value: &PivotValue, opts: &Options) -> Story {
    let mut story = Story {
        value: value.clone(),
        items: Vec::new(),
        problems: Vec::new(),
        left_out: 0,
    };
    let mut seen: HashSet<(Arc<PathBuf>, u64)> = HashSet::new();
    let all = |_: &LogFile| true;
    let window = (opts.since.is_some() || opts.until.is_some()).then(|| {
        (
            opts.since.unwrap_or(i64::MIN),
            opts.until.map_or(i64::MAX, |u| u.saturating_sub(1)),
        )
    });
    let limit = opts.limit.map(Limit::new);
    let mut found = search.find(std::slice::from_ref(value), &all, window, limit.as_ref());
    story.problems.extend(found.problems);
    if let Some(l) = &limit {
        // Parallel threads may have read a few more than the earliest `max`.
        found
            .hits
            .sort_by_cached_key(|h| (ts_of(&h.record), h.file.clone(), h.line));
        let extra = found.hits.len().saturating_sub(l.max());
        found.hits.truncate(l.max());
        story.left_out = l.dropped() + extra as u64;
    }
    for hit in found.hits {
        add(&mut story, &mut seen, hit, Via::Match);
    }

    if !opts.no_follow {
        let links = links(value, &story.items);
        if !links.is_empty() {
            let values: Vec<PivotValue> = links.iter().map(|l| l.value.clone()).collect();
            let found = search.find(&values, &all, window, None);
            story.problems.extend(found.problems);
            for hit in found.hits {
                let accepted = hit.matched.iter().find_map(|&i| {
                    let link = links.get(i as usize)?;
                    (!link.identity_only || is_about(&hit.record, &link.value)).then(|| Via::Link {
                        field: link.field.to_string(),
                        value: link.value.text.clone(),
                    })
                });
                if let Some(via) = accepted {
                    add(&mut story, &mut seen, hit, via);
                }
            }
        }
    }

    if let Some(around) = opts.around {
        lookups_before(search, &mut story, &mut seen, around);
    }

    story
        .items
        .retain(|it| it.ts.map_or(true, |t| in_range(t, opts.since, opts.until)));
    story
        .items
        .sort_by(|a, b| (a.ts, &a.file, a.line).cmp(&(b.ts, &b.file, b.line)));
    story
}

fn in_range(t: Nanos, since: Option<Nanos>, until: Option<Nanos>) -> bool {
    since.map_or(true, |s| t >= s) && until.map_or(true, |u| t < u)
}

fn add(story: &mut Story, seen: &mut HashSet<(Arc<PathBuf>, u64)>, hit: Hit, via: Via) {
    if !seen.insert((hit.file.clone(), hit.line)) {
        return;
    }
    story.items.push(Item {
        ts: ts_of(&hit.record),
        file: hit.file,
        line: hit.line,
        record: hit.record,
        via,
    });
}

/// A record's `ts`.
pub fn ts_of(rec: &Record) -> Option<Nanos> {
    match rec.get("ts")? {
        Value::Time(t) => Some(*t),
        Value::Double(f) | Value::Interval(f) => trawl_zeek::time::from_secs_f64(*f),
        Value::Str(s) | Value::Invalid(s) => {
            trawl_zeek::time::parse_epoch(s).or_else(|| trawl_zeek::time::parse_iso8601(s))
        }
        _ => None,
    }
}

/// The texts of a field: one for a scalar, one per element for a set or vector.
pub fn texts(rec: &Record, field: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut one = |v: &Value| {
        if v.is_unset() {
            return;
        }
        buf.clear();
        v.write_text(&mut buf);
        out.push(String::from_utf8_lossy(&buf).into_owned());
    };
    match rec.get(field) {
        Some(Value::List(items)) => items.iter().for_each(&mut one),
        Some(v) => one(v),
        None => {}
    }
    out
}

fn links(value: &PivotValue, items: &[Item]) -> Vec<Link> {
    let mut out: Vec<Link> = Vec::new();
    let mut seen: HashSet<PivotValue> = HashSet::new();
    seen.insert(value.clone());
    let mut push = |text: &str, field: &'static str, want: Kind, identity_only: bool| {
        if let Ok(v) = PivotValue::parse(text) {
            if v.kind == want && seen.insert(v.clone()) {
                out.push(Link {
                    value: v,
                    field,
                    identity_only,
                });
            }
        }
    };
    for it in items {
        let rec = &it.record;
        match value.kind {
            Kind::Uid => {
                for f in FUID_FIELDS {
                    for t in texts(rec, f) {
                        push(&t, f, Kind::Fuid, true);
                    }
                }
                for f in FP_FIELDS {
                    for t in texts(rec, f) {
                        push(&t, f, Kind::Hash, true);
                    }
                }
            }
            Kind::Fuid | Kind::Hash => {
                for f in UID_FIELDS {
                    for t in texts(rec, f) {
                        push(&t, f, Kind::Uid, false);
                    }
                }
                if value.kind == Kind::Hash {
                    for t in texts(rec, "fuid") {
                        push(&t, "fuid", Kind::Fuid, true);
                    }
                }
            }
            Kind::Addr | Kind::Name => {}
        }
    }
    out
}

fn is_about(rec: &Record, value: &PivotValue) -> bool {
    IDENTITY_FIELDS.iter().any(|f| {
        texts(rec, f)
            .iter()
            .any(|t| PivotValue::parse(t).is_ok_and(|v| &v == value))
    })
}

fn addr_of(rec: &Record, field: &str) -> Option<IpAddr> {
    match rec.get(field)? {
        Value::Addr(a) => Some(*a),
        Value::Str(s) | Value::Invalid(s) => std::str::from_utf8(s).ok()?.parse().ok(),
        _ => None,
    }
}

/// A connection of the story: when it started, who talked to whom.
struct Conversation {
    uid: String,
    ts: Nanos,
    from_conn: bool,
    orig: Option<IpAddr>,
    resp: IpAddr,
}

fn lookups_before(
    search: &dyn Searcher,
    story: &mut Story,
    seen: &mut HashSet<(Arc<PathBuf>, u64)>,
    around: Nanos,
) {
    let mut convs: BTreeMap<String, Conversation> = BTreeMap::new();
    for it in &story.items {
        let (Some(uid), Some(resp), Some(ts)) = (
            texts(&it.record, "uid").into_iter().next(),
            addr_of(&it.record, "id.resp_h"),
            it.ts,
        ) else {
            continue;
        };
        let is_conn = it.record.path == "conn";
        let c = convs.entry(uid.clone()).or_insert(Conversation {
            uid,
            ts,
            from_conn: is_conn,
            orig: addr_of(&it.record, "id.orig_h"),
            resp,
        });
        // The conn record's start wins; otherwise the earliest record of the connection.
        if (is_conn && !c.from_conn) || (is_conn == c.from_conn && ts < c.ts) {
            c.ts = ts;
            c.from_conn = is_conn;
            c.resp = resp;
            c.orig = addr_of(&it.record, "id.orig_h");
        }
    }
    if convs.is_empty() {
        return;
    }
    let mut by_addr: HashMap<IpAddr, Vec<&Conversation>> = HashMap::new();
    for c in convs.values() {
        by_addr.entry(c.resp).or_default().push(c);
    }
    let values: Vec<PivotValue> = by_addr
        .keys()
        .filter_map(|a| PivotValue::parse(&a.to_string()).ok())
        .collect();
    let lo = convs
        .values()
        .map(|c| c.ts)
        .min()
        .unwrap_or(0)
        .saturating_sub(around);
    let hi = convs.values().map(|c| c.ts).max().unwrap_or(0);
    // Only DNS logs (or files of no known type); the index skips blocks of other times. File
    // names' dates are not trusted for this: a misnamed archive folder must not hide a lookup.
    let want = |f: &LogFile| f.log_type.as_deref().map_or(true, |t| t == "dns");
    let found = search.find(&values, &want, Some((lo, hi)), None);
    story.problems.extend(found.problems);
    let mut hits: Vec<(Hit, Via)> = Vec::new();
    for hit in found.hits {
        let Some(ts) = ts_of(&hit.record) else {
            continue;
        };
        let answers: Vec<IpAddr> = texts(&hit.record, "answers")
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect();
        let client = addr_of(&hit.record, "id.orig_h");
        // The closest following connection to an answered address.
        let best = answers
            .iter()
            .flat_map(|a| by_addr.get(a).into_iter().flatten())
            .filter(|c| ts <= c.ts && c.ts - ts <= around)
            .min_by_key(|c| c.ts - ts);
        if let Some(c) = best {
            let via = Via::Lookup {
                uid: c.uid.clone(),
                addr: c.resp.to_string(),
                before: c.ts - ts,
                same_client: client.is_some() && client == c.orig,
            };
            hits.push((hit, via));
        }
    }
    for (hit, via) in hits {
        add(story, seen, hit, via);
    }
}
