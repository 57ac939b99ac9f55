//! Facts from DNS records.

use std::collections::HashMap;
use std::net::IpAddr;

use trawl_zeek::{Record, Value};

/// rdata of a fact that the name does not exist (rcode NXDOMAIN).
pub const NXDOMAIN: &str = "NXDOMAIN";
/// rdata of a fact that the name exists but has no record of the type asked (NOERROR, no
/// answer).
pub const NODATA: &str = "NODATA";

/// One observation: `rrname` had `rdata` of `rrtype` at `ts`, seen by `client`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub rrname: String,
    pub rrtype: String,
    pub rdata: String,
    /// Epoch seconds.
    pub ts: i64,
    pub client: Option<IpAddr>,
}

/// Lower case, without the root's trailing dot: names compare as DNS compares them.
fn name(s: &[u8]) -> String {
    let s = String::from_utf8_lossy(s);
    s.strip_suffix('.').unwrap_or(&s).to_ascii_lowercase()
}

fn text<'r>(rec: &'r Record<'_>, field: &str) -> Option<&'r [u8]> {
    match rec.get(field)? {
        Value::Str(s) if !s.is_empty() && s.as_ref() != b"-" => Some(s),
        _ => None,
    }
}

/// Record types whose answers may start with the CNAME chain that led to them.
fn chains(qtype: &str) -> bool {
    matches!(qtype, "A" | "AAAA" | "CNAME" | "HTTPS" | "SVCB" | "ANY")
}

/// Appends the facts of a DNS record (`dns` log type; others give none) to `out`.
///
/// Zeek's `answers` list the answer section in order: the chain's CNAME targets, then the
/// addresses, which belong to the chain's last name. A rejected query, a query without a
/// response (no rcode) or without a time gives no fact. dnsmasq's placeholders (`<HTTPS>`)
/// are not data.
pub fn facts(rec: &Record<'_>, out: &mut Vec<Fact>) {
    if rec.path != "dns" {
        return;
    }
    let (Some(query), Some(Value::Time(t))) = (text(rec, "query"), rec.get("ts")) else {
        return;
    };
    if matches!(rec.get("rejected"), Some(Value::Bool(true))) {
        return;
    }
    let Some(rcode) = text(rec, "rcode_name") else {
        return;
    };
    let ts = t.div_euclid(1_000_000_000);
    let query = name(query);
    let qtype = match (text(rec, "qtype_name"), rec.get("qtype")) {
        (Some(q), _) => String::from_utf8_lossy(q).to_ascii_uppercase(),
        (None, Some(Value::Count(n))) => format!("TYPE{n}"),
        _ => return,
    };
    let client = match rec.get("id.orig_h") {
        Some(Value::Addr(a)) => Some(*a),
        _ => None,
    };
    let fact = |rrname: &str, rrtype: &str, rdata: String| Fact {
        rrname: rrname.to_string(),
        rrtype: rrtype.to_string(),
        rdata,
        ts,
        client,
    };
    let answers: Vec<&[u8]> = match rec.get("answers") {
        Some(Value::List(l)) => l
            .iter()
            .filter_map(|v| match v {
                Value::Str(s) if !s.is_empty() && !s.starts_with(b"<") => Some(s.as_ref()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    match rcode {
        b"NXDOMAIN" => return out.push(fact(&query, &qtype, NXDOMAIN.into())),
        b"NOERROR" if answers.is_empty() => return out.push(fact(&query, &qtype, NODATA.into())),
        b"NOERROR" => {}
        _ => return,
    }
    let mut owner = query.clone();
    for a in answers {
        let ip = std::str::from_utf8(a)
            .ok()
            .and_then(|s| s.parse::<IpAddr>().ok());
        match ip {
            Some(ip) => {
                let ty = if ip.is_ipv4() { "A" } else { "AAAA" };
                out.push(fact(&owner, ty, ip.to_string()));
            }
            None if chains(&qtype) => {
                let target = name(a);
                out.push(fact(&owner, "CNAME", target.clone()));
                owner = target;
            }
            None => {
                let rdata = match qtype.as_str() {
                    "PTR" | "NS" | "MX" | "SRV" => name(a),
                    _ => String::from_utf8_lossy(a).into_owned(),
                };
                out.push(fact(&query, &qtype, rdata));
            }
        }
    }
}

/// A fact folded over a batch: first and last time, count, some clients.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub first: i64,
    pub last: i64,
    pub count: u64,
    pub clients: Vec<IpAddr>,
}

/// Facts folded in memory before they go to a [`crate::Store`] in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    pub(crate) seen: HashMap<(String, String, String), Seen, foldhash::fast::RandomState>,
    /// Most clients kept per fact (0: none, for privacy).
    pub(crate) max_clients: usize,
}

impl Batch {
    /// An empty batch keeping up to `max_clients` clients a fact.
    pub fn new(max_clients: usize) -> Self {
        Batch {
            seen: HashMap::default(),
            max_clients,
        }
    }

    /// Folds one fact in.
    pub fn add(&mut self, f: Fact) {
        let s = self
            .seen
            .entry((f.rrname, f.rrtype, f.rdata))
            .or_insert(Seen {
                first: f.ts,
                last: f.ts,
                ..Seen::default()
            });
        s.first = s.first.min(f.ts);
        s.last = s.last.max(f.ts);
        s.count += 1;
        if let Some(c) = f.client {
            if s.clients.len() < self.max_clients && !s.clients.contains(&c) {
                s.clients.push(c);
            }
        }
    }

    /// Folds in the facts of a record ([`facts`]); how many it had.
    pub fn add_record(&mut self, rec: &Record<'_>) -> usize {
        let mut v = Vec::new();
        facts(rec, &mut v);
        let n = v.len();
        for f in v {
            self.add(f);
        }
        n
    }

    /// Folds another batch in.
    pub fn merge(&mut self, other: Batch) {
        for (k, o) in other.seen {
            let s = self.seen.entry(k).or_insert(Seen {
                first: o.first,
                last: o.last,
                ..Seen::default()
            });
            s.first = s.first.min(o.first);
            s.last = s.last.max(o.last);
            s.count += o.count;
            for c in o.clients {
                if s.clients.len() < self.max_clients && !s.clients.contains(&c) {
                    s.clients.push(c);
                }
            }
        }
    }

    /// Distinct facts held.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trawl_zeek::{Scalar, ZeekType};

    fn dns(query: &str, qtype: &str, rcode: &str, answers: &[&str]) -> Record<'static> {
        let s = |v: &str| Value::Str(v.as_bytes().to_vec().into());
        let ty = ZeekType::single(Scalar::String);
        let mut r = Record::new("dns");
        r.push(
            "ts",
            ZeekType::single(Scalar::Time),
            Value::Time(1_700_000_000_500_000_000),
        );
        r.push(
            "id.orig_h",
            ZeekType::single(Scalar::Addr),
            Value::Addr("10.0.0.5".parse().unwrap()),
        );
        r.push("query", ty, s(query));
        r.push("qtype_name", ty, s(qtype));
        r.push("rcode_name", ty, s(rcode));
        let list = answers.iter().map(|a| s(a)).collect();
        r.push(
            "answers",
            ZeekType::single(Scalar::String),
            Value::List(list),
        );
        r
    }

    fn triples(rec: &Record<'_>) -> Vec<(String, String, String)> {
        let mut v = Vec::new();
        facts(rec, &mut v);
        assert!(v.iter().all(|f| f.ts == 1_700_000_000));
        v.into_iter()
            .map(|f| (f.rrname, f.rrtype, f.rdata))
            .collect()
    }

    fn t(a: &str, b: &str, c: &str) -> (String, String, String) {
        (a.into(), b.into(), c.into())
    }

    #[test]
    fn a_cname_chain_is_stored_hop_by_hop() {
        let r = dns(
            "WWW.Wikipedia.org.",
            "A",
            "NOERROR",
            &["dyna.wikimedia.org", "185.15.59.224", "185.15.59.225"],
        );
        assert_eq!(
            triples(&r),
            [
                t("www.wikipedia.org", "CNAME", "dyna.wikimedia.org"),
                t("dyna.wikimedia.org", "A", "185.15.59.224"),
                t("dyna.wikimedia.org", "A", "185.15.59.225"),
            ]
        );
    }

    #[test]
    fn nxdomain_and_nodata_are_facts_of_their_own() {
        assert_eq!(
            triples(&dns("qxvtrkzplmwhfj.com", "A", "NXDOMAIN", &[])),
            [t("qxvtrkzplmwhfj.com", "A", NXDOMAIN)]
        );
        assert_eq!(
            triples(&dns("example.com", "AAAA", "NOERROR", &[])),
            [t("example.com", "AAAA", NODATA)]
        );
        // dnsmasq's placeholder is no answer; SERVFAIL says nothing about the name.
        assert_eq!(
            triples(&dns("cloudflare-dns.com", "HTTPS", "NOERROR", &["<HTTPS>"])),
            [t("cloudflare-dns.com", "HTTPS", NODATA)]
        );
        assert_eq!(triples(&dns("x.example", "A", "SERVFAIL", &[])), []);
    }

    #[test]
    fn other_types_keep_their_answers_under_the_query() {
        assert_eq!(
            triples(&dns(
                "4.3.2.1.in-addr.arpa",
                "PTR",
                "NOERROR",
                &["Host.Example.COM"]
            )),
            [t("4.3.2.1.in-addr.arpa", "PTR", "host.example.com")]
        );
        assert_eq!(
            triples(&dns(
                "example.com",
                "TXT",
                "NOERROR",
                &["TXT 12 v=spf1 -all"]
            )),
            [t("example.com", "TXT", "TXT 12 v=spf1 -all")]
        );
        assert_eq!(
            triples(&dns("v6.example", "AAAA", "NOERROR", &["2001:db8::1"])),
            [t("v6.example", "AAAA", "2001:db8::1")]
        );
    }

    #[test]
    fn a_batch_folds_repeats() {
        let mut b = Batch::new(1);
        let r = dns("example.com", "A", "NOERROR", &["93.184.216.34"]);
        assert_eq!(b.add_record(&r), 1);
        assert_eq!(b.add_record(&r), 1);
        assert_eq!(b.len(), 1);
        let s = b.seen.values().next().unwrap();
        assert_eq!((s.count, s.clients.len()), (2, 1));
    }
}
