//! The figures one period's records add up to, kept by each scan worker and merged.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use foldhash::fast::RandomState;

/// Connections and bytes of one kind (a service, a port, a direction).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub connections: u64,
    /// Bytes sent by the originators (`orig_bytes`).
    pub orig_bytes: u64,
    /// Bytes sent by the responders (`resp_bytes`).
    pub resp_bytes: u64,
}

impl Usage {
    fn add(&mut self, o: &Usage) {
        self.connections += o.connections;
        self.orig_bytes += o.orig_bytes;
        self.resp_bytes += o.resp_bytes;
    }

    /// Bytes both ways.
    pub fn bytes(&self) -> u64 {
        self.orig_bytes + self.resp_bytes
    }
}

/// One address's share of the traffic.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostTally {
    pub connections: u64,
    pub sent: u64,
    pub received: u64,
    /// Its last connection (epoch seconds), to name the workstation behind it then.
    pub last: f64,
}

/// One DNS name's lookups.
#[derive(Debug, Default, Clone)]
pub struct NameTally {
    pub queries: u64,
    pub nxdomain: u64,
    pub first: f64,
    pub last: f64,
    /// Every client that asked, sorted.
    pub clients: Vec<IpAddr>,
}

/// One client's lookups.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientTally {
    pub queries: u64,
    pub nxdomain: u64,
    pub last: f64,
}

/// Connection attempts that failed (no answer, refused, reset) from one originator.
#[derive(Debug, Default, Clone)]
pub struct FailedTally {
    pub attempts: u64,
    pub targets: HashSet<IpAddr, RandomState>,
    pub last: f64,
}

/// The directions [`trawl_query::Networks::direction`] names, in report order.
pub const DIRECTIONS: [&str; 4] = ["outbound", "inbound", "internal", "external"];

/// Connection states that say something went wrong or half happened.
pub const FAILED_STATES: [&str; 5] = ["S0", "REJ", "RSTOS0", "RSTRH", "SH"];

/// Everything one period adds up to.
#[derive(Debug, Default)]
pub struct Tally {
    pub records: u64,
    pub conn: Usage,
    pub directions: [Usage; 4],
    pub hosts: HashMap<IpAddr, HostTally, RandomState>,
    pub services: HashMap<String, Usage, RandomState>,
    /// By protocol, then responder port (looked up without copying the protocol's name).
    pub ports: HashMap<String, HashMap<u16, Usage, RandomState>, RandomState>,
    pub states: HashMap<String, u64, RandomState>,
    pub failed: HashMap<IpAddr, FailedTally, RandomState>,
    pub dns_queries: u64,
    pub dns_nxdomain: u64,
    pub names: HashMap<Box<str>, NameTally, RandomState>,
    pub clients: HashMap<IpAddr, ClientTally, RandomState>,
}

/// One conn record's fields as the tally needs them.
#[derive(Debug, Clone, Copy)]
pub struct Conn<'a> {
    pub ts: f64,
    pub orig: Option<IpAddr>,
    pub resp: Option<IpAddr>,
    pub resp_port: Option<u16>,
    pub proto: &'a str,
    pub service: &'a str,
    pub state: &'a str,
    pub orig_bytes: u64,
    pub resp_bytes: u64,
}

impl Tally {
    /// Adds a connection.
    pub fn add_conn(&mut self, c: &Conn<'_>) {
        self.records += 1;
        let u = Usage {
            connections: 1,
            orig_bytes: c.orig_bytes,
            resp_bytes: c.resp_bytes,
        };
        self.conn.add(&u);
        if let (Some(o), Some(r)) = (c.orig, c.resp) {
            let d = trawl_query::networks::networks().direction(o, r);
            if let Some(i) = DIRECTIONS.iter().position(|x| *x == d) {
                self.directions[i].add(&u);
            }
        }
        for (addr, sent, received) in [
            (c.orig, c.orig_bytes, c.resp_bytes),
            (c.resp, c.resp_bytes, c.orig_bytes),
        ] {
            if let Some(a) = addr {
                let h = self.hosts.entry(a).or_default();
                h.connections += 1;
                h.sent += sent;
                h.received += received;
                h.last = h.last.max(c.ts);
            }
        }
        add_usage(&mut self.services, c.service, &u);
        if let Some(p) = c.resp_port {
            let by_port = match self.ports.get_mut(c.proto) {
                Some(m) => m,
                None => self.ports.entry(c.proto.to_string()).or_default(),
            };
            by_port.entry(p).or_default().add(&u);
        }
        match self.states.get_mut(c.state) {
            Some(n) => *n += 1,
            None => {
                self.states.insert(c.state.to_string(), 1);
            }
        }
        if FAILED_STATES.contains(&c.state) {
            if let Some(o) = c.orig {
                let f = self.failed.entry(o).or_default();
                f.attempts += 1;
                f.last = f.last.max(c.ts);
                if let Some(r) = c.resp {
                    f.targets.insert(r);
                }
            }
        }
    }

    /// Adds a DNS lookup of `name` (already lower case, without the root dot).
    pub fn add_query(&mut self, ts: f64, client: Option<IpAddr>, name: &str, nxdomain: bool) {
        self.records += 1;
        self.dns_queries += 1;
        self.dns_nxdomain += u64::from(nxdomain);
        let n = match self.names.get_mut(name) {
            Some(n) => n,
            None => self.names.entry(name.into()).or_insert(NameTally {
                first: ts,
                last: ts,
                ..NameTally::default()
            }),
        };
        n.queries += 1;
        n.nxdomain += u64::from(nxdomain);
        n.first = n.first.min(ts);
        n.last = n.last.max(ts);
        if let Some(c) = client {
            if let Err(i) = n.clients.binary_search(&c) {
                n.clients.insert(i, c);
            }
            let t = self.clients.entry(c).or_default();
            t.queries += 1;
            t.nxdomain += u64::from(nxdomain);
            t.last = t.last.max(ts);
        }
    }

    /// Every (port, protocol) with its usage.
    pub fn port_usage(&self) -> impl Iterator<Item = (u16, &str, &Usage)> {
        self.ports
            .iter()
            .flat_map(|(proto, m)| m.iter().map(move |(p, u)| (*p, proto.as_str(), u)))
    }

    /// Whether a responder port of a protocol saw a connection.
    pub fn has_port(&self, port: u16, proto: &str) -> bool {
        self.ports.get(proto).is_some_and(|m| m.contains_key(&port))
    }

    /// Adds another worker's tally of the same period.
    pub fn merge(&mut self, o: Tally) {
        self.records += o.records;
        self.conn.add(&o.conn);
        for (a, b) in self.directions.iter_mut().zip(o.directions.iter()) {
            a.add(b);
        }
        for (k, v) in o.hosts {
            let h = self.hosts.entry(k).or_default();
            h.connections += v.connections;
            h.sent += v.sent;
            h.received += v.received;
            h.last = h.last.max(v.last);
        }
        for (k, v) in o.services {
            self.services.entry(k).or_default().add(&v);
        }
        for (proto, m) in o.ports {
            let mine = self.ports.entry(proto).or_default();
            for (port, v) in m {
                mine.entry(port).or_default().add(&v);
            }
        }
        for (k, v) in o.states {
            *self.states.entry(k).or_default() += v;
        }
        for (k, v) in o.failed {
            let f = self.failed.entry(k).or_default();
            f.attempts += v.attempts;
            f.last = f.last.max(v.last);
            f.targets.extend(v.targets);
        }
        self.dns_queries += o.dns_queries;
        self.dns_nxdomain += o.dns_nxdomain;
        for (k, v) in o.names {
            match self.names.get_mut(&k) {
                None => {
                    self.names.insert(k, v);
                }
                Some(n) => {
                    n.queries += v.queries;
                    n.nxdomain += v.nxdomain;
                    n.first = n.first.min(v.first);
                    n.last = n.last.max(v.last);
                    n.clients.extend(v.clients);
                    n.clients.sort_unstable();
                    n.clients.dedup();
                }
            }
        }
        for (k, v) in o.clients {
            let c = self.clients.entry(k).or_default();
            c.queries += v.queries;
            c.nxdomain += v.nxdomain;
            c.last = c.last.max(v.last);
        }
    }
}

fn add_usage(map: &mut HashMap<String, Usage, RandomState>, key: &str, u: &Usage) {
    match map.get_mut(key) {
        Some(x) => x.add(u),
        None => {
            map.insert(key.to_string(), *u);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(orig: &str, resp: &str, state: &'static str, ob: u64, rb: u64) -> Conn<'static> {
        Conn {
            ts: 10.0,
            orig: orig.parse().ok(),
            resp: resp.parse().ok(),
            resp_port: Some(443),
            proto: "tcp",
            service: "ssl",
            state,
            orig_bytes: ob,
            resp_bytes: rb,
        }
    }

    #[test]
    fn merged_tallies_equal_one_tally_of_everything() {
        let recs = [
            conn("10.0.0.1", "8.8.8.8", "SF", 100, 1000),
            conn("10.0.0.1", "8.8.4.4", "S0", 0, 0),
            conn("10.0.0.2", "10.0.0.1", "REJ", 0, 0),
        ];
        let mut one = Tally::default();
        let (mut a, mut b) = (Tally::default(), Tally::default());
        for (i, r) in recs.iter().enumerate() {
            one.add_conn(r);
            if i % 2 == 0 { &mut a } else { &mut b }.add_conn(r);
        }
        for (i, n) in ["a.example", "b.example", "a.example"].iter().enumerate() {
            let c = format!("10.0.0.{}", i + 1).parse().ok();
            one.add_query(i as f64, c, n, i == 1);
            if i % 2 == 0 { &mut a } else { &mut b }.add_query(i as f64, c, n, i == 1);
        }
        a.merge(b);
        assert_eq!(a.conn, one.conn);
        assert_eq!(a.directions, one.directions);
        assert_eq!(a.conn.bytes(), 1100);
        assert_eq!(a.directions[0].connections, 2, "outbound");
        assert_eq!(a.directions[2].connections, 1, "internal");
        let h = a.hosts[&"10.0.0.1".parse().unwrap()];
        assert_eq!((h.connections, h.sent, h.received), (3, 100, 1000));
        assert_eq!(a.failed[&"10.0.0.1".parse().unwrap()].targets.len(), 1);
        assert_eq!(a.names["a.example"].queries, 2);
        assert_eq!(a.names["a.example"].clients.len(), 2);
        assert_eq!(a.dns_nxdomain, 1);
        assert_eq!(a.clients.len(), 3);
    }
}
