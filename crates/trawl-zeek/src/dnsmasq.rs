//! dnsmasq's query and DHCP log, turned into Zeek-shaped records.
//!
//! dnsmasq writes one line per event (`query[A] x from c`, `forwarded x to s`, `reply x is a` ...);
//! [`DnsmasqReader`] joins the lines of one query into one record with the field names of
//! Zeek's `dns.log`, and turns `dnsmasq-dhcp` message lines into records named like Zeek's
//! `dhcp.log`. Accepted line forms:
//!
//! - syslog (RFC 3164): `Jun 19 21:30:43 [host ]dnsmasq[830]: msg`, also with a leading `<PRI>`;
//! - RFC 3339 time stamps (rsyslog, `journalctl -o short-iso`): `2026-11-23T13:29:12Z host dnsmasq[830]: msg`;
//! - RFC 5424: `<30>1 2026-11-23T13:29:12.123Z host dnsmasq 830 - - msg`;
//! - bare (stderr, `--log-facility=-`): `dnsmasq: msg` or `dnsmasq[830]: msg`, no time;
//! - `log-queries=extra`: a serial number and the client's address/port before the event.
//!
//! Without the extra form nothing ties a reply to its query but the name and the order of
//! arrival; the rules used (see [`DnsmasqReader::push`]) follow how dnsmasq logs: answers from
//! cache or configuration come right after their query line, upstream replies come later but
//! in one unbroken block, and a CNAME chain is logged as consecutive lines, each naming the
//! target of the previous `<CNAME>`.
//!
//! Memory is bounded: a query waits for its reply at most [`WINDOW_LINES`] lines or
//! [`WINDOW_SECS`] seconds of log time, then it is emitted without an rcode.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use crate::record::{Problem, Record};
use crate::time::{days_from_civil, parse_iso8601, Nanos};
use crate::types::{Container, Scalar, ZeekType};
use crate::value::Value;

/// How many later lines a query waits for its reply before it is emitted without one.
pub const WINDOW_LINES: u64 = 1000;
/// How many seconds of log time a query waits for its reply before it is emitted without one.
pub const WINDOW_SECS: i64 = 30;
/// Hard cap on queries held at once, whatever the windows say.
const MAX_PENDING: usize = 4096;
/// Caps that keep one pathological query from growing without bound.
const MAX_ANSWERS: usize = 256;
const MAX_CHAIN: usize = 64;
/// `client provides name` entries remembered per DHCP transaction id.
const MAX_DHCP_NAMES: usize = 64;

const NANOS: i64 = 1_000_000_000;
const DAY: i64 = 86_400;

/// What one line was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// A line of the DNS query log (`query[...]`, `forwarded`, `reply`, `cached`, `config` ...).
    Dns,
    /// A DHCP message line (`DHCPACK(...)` ...) or a `client provides name` line.
    Dhcp,
    /// Any other dnsmasq line: start-up, configuration, option dumps, warnings.
    Info,
    /// Not dnsmasq output at all (a [`Problem`] is added).
    NotDnsmasq,
}

/// Counters over everything a reader has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Lines fed.
    pub lines: u64,
    /// Lines of [`LineKind::Dns`].
    pub dns_lines: u64,
    /// Lines of [`LineKind::Dhcp`].
    pub dhcp_lines: u64,
    /// Lines of [`LineKind::Info`].
    pub info_lines: u64,
    /// Lines of [`LineKind::NotDnsmasq`].
    pub not_dnsmasq_lines: u64,
    /// `query[...]` lines seen.
    pub queries: u64,
    /// DNS records emitted (one per query line once everything is emitted).
    pub dns_records: u64,
    /// DHCP records emitted.
    pub dhcp_records: u64,
    /// DNS records emitted with no reply seen (rcode unset).
    pub unanswered: u64,
    /// Answer or `forwarded` lines that matched no pending query.
    pub orphans: u64,
}

/// Where an answer came from: dnsmasq itself (cache, configuration, hosts files, DHCP
/// leases, authoritative zones) or an upstream server. Kept apart because a query answered
/// locally is never answered again by a later `reply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Local,
    Upstream,
}

/// A query waiting for (the rest of) its answers.
#[derive(Debug)]
struct Pending {
    line: u64,
    ts: Option<Nanos>,
    client: Option<IpAddr>,
    port: Option<u16>,
    query: Vec<u8>,
    /// The query name lower-cased without a final dot: the join key.
    key: Vec<u8>,
    qtype: Vec<u8>,
    serial: Option<u64>,
    pid: Option<u64>,
    host: Option<Vec<u8>>,
    forwarded: bool,
    forwarded_to: Option<IpAddr>,
    answered: Option<Origin>,
    /// Its answer block has ended: later lines never attach to it.
    sealed: bool,
    /// The last answer was `<CNAME>`: the next line of the block names the target.
    cname_open: bool,
    /// Keys of the CNAME targets seen so far.
    chain: Vec<Vec<u8>>,
    answers: Vec<Vec<u8>>,
    rcode: Option<Vec<u8>>,
    nodata: bool,
    source: Option<Vec<u8>>,
}

/// A DHCP message line, held until the option lines of its transaction have been seen.
#[derive(Debug, Default)]
struct Dhcp {
    ts: Option<Nanos>,
    msg_type: Vec<u8>,
    interface: Vec<u8>,
    xid: Option<u64>,
    addr: Option<IpAddr>,
    mac: Option<Vec<u8>>,
    client_id: Option<Vec<u8>>,
    host_name: Option<Vec<u8>>,
    message: Option<Vec<u8>>,
    lease: Option<f64>,
    pid: Option<u64>,
    host: Option<Vec<u8>>,
}

/// Reads dnsmasq log lines into DNS and DHCP records. `Send`; memory is bounded.
#[derive(Debug)]
pub struct DnsmasqReader {
    reference: Nanos,
    pending: VecDeque<Pending>,
    /// Id of `pending[0]`; ids grow by one per query line.
    first_id: u64,
    by_name: HashMap<Vec<u8>, VecDeque<u64>>,
    by_serial: HashMap<(u64, u64), u64>,
    /// The query the previous answer line went to, while its block may continue.
    last: Option<u64>,
    dhcp: Option<Dhcp>,
    dhcp_names: VecDeque<(u64, Vec<u8>)>,
    stats: Stats,
}

/// The parts of a line around dnsmasq's message.
#[derive(Debug)]
struct Head<'a> {
    ts: Option<Nanos>,
    host: Option<&'a [u8]>,
    prog: Prog,
    pid: Option<u64>,
    msg: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prog {
    /// `dnsmasq`
    Dns,
    /// `dnsmasq-dhcp`
    Dhcp,
    /// `dnsmasq-tftp`, `dnsmasq-script` ...
    Other,
}

/// What an answer line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dest<'a> {
    Cname,
    NxDomain,
    /// `NODATA`, `NODATA-IPv4`, `NODATA-IPv6`: the address family, when given.
    NoData(Option<bool>),
    /// SERVFAIL, REFUSED ...
    Rcode(&'a [u8]),
    Addr(IpAddr),
    /// A marker such as `<HTTPS>` or a name (PTR answers).
    Text(&'a [u8]),
}

const fn single(s: Scalar) -> ZeekType {
    ZeekType::single(s)
}
const VEC_STRING: ZeekType = ZeekType {
    container: Container::Vector,
    scalar: Scalar::String,
};

impl DnsmasqReader {
    /// A reader; `reference` (e.g. the file's mtime, or now) is used to pick the year of
    /// syslog time stamps, which have none: the latest year that puts the line no more than
    /// a day after the reference.
    pub fn new(reference: Nanos) -> Self {
        DnsmasqReader {
            reference,
            pending: VecDeque::new(),
            first_id: 0,
            by_name: HashMap::new(),
            by_serial: HashMap::new(),
            last: None,
            dhcp: None,
            dhcp_names: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// Whether a line looks like dnsmasq output in any supported form (for format detection).
    pub fn looks_like(line: &[u8]) -> bool {
        parse_head(line, 0).is_some()
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Feeds one line (without its terminator). Completed records are appended to `out`,
    /// in query order where the windows allow. Returns what the line was; a line that is not
    /// dnsmasq output adds a [`Problem`] (the caller keeps the line).
    ///
    /// Joining without serial numbers: an answer line continues the block of the previous
    /// answer line when it names the same query, a CNAME target already seen, or follows a
    /// `<CNAME>`; otherwise a local answer (cache, config, hosts) goes to the newest
    /// unanswered query of that name and an upstream `reply` to the oldest one (preferring
    /// those forwarded), skipping queries whose type cannot hold the answer's address family.
    pub fn push(
        &mut self,
        line_no: u64,
        line: &[u8],
        out: &mut Vec<Record<'static>>,
        problems: &mut Vec<Problem>,
    ) -> LineKind {
        self.stats.lines += 1;
        let Some(head) = parse_head(line, self.reference) else {
            self.flush_dhcp(out);
            self.stats.not_dnsmasq_lines += 1;
            let reason = if trim_end(line).is_empty() {
                "empty line, not dnsmasq output"
            } else {
                "not a dnsmasq line"
            };
            problems.push(Problem {
                line: line_no,
                reason: reason.to_owned(),
            });
            self.drain(line_no, None, out);
            return LineKind::NotDnsmasq;
        };
        let kind = match head.prog {
            Prog::Dns => {
                self.flush_dhcp(out);
                self.dns(line_no, &head)
            }
            Prog::Dhcp => self.dhcp_line(&head, out),
            Prog::Other => {
                self.flush_dhcp(out);
                LineKind::Info
            }
        };
        match kind {
            LineKind::Dns => self.stats.dns_lines += 1,
            LineKind::Dhcp => self.stats.dhcp_lines += 1,
            LineKind::Info => self.stats.info_lines += 1,
            LineKind::NotDnsmasq => self.stats.not_dnsmasq_lines += 1,
        }
        self.drain(line_no, head.ts, out);
        kind
    }

    /// Emits everything still pending: queries (with rcode unset if no reply came) and the
    /// DHCP message held for its option lines.
    pub fn finish(&mut self, out: &mut Vec<Record<'static>>) {
        self.flush_dhcp(out);
        while let Some(q) = self.pop_front() {
            self.emit(q, out);
        }
        self.last = None;
    }

    // ---- DNS ----

    fn dns(&mut self, line_no: u64, head: &Head) -> LineKind {
        let Some(msg) = parse_dns(head.msg) else {
            return LineKind::Info;
        };
        let skey = msg.serial.map(|s| (head.pid.unwrap_or(0), s));
        match msg.event {
            Event::Query { qtype, name, from } => {
                self.seal_last();
                let (client, port) = match msg.client {
                    Some((a, p)) => (Some(a), Some(p)),
                    None => (from, None),
                };
                let id = self.first_id + self.pending.len() as u64;
                let key = name_key(name);
                self.by_name.entry(key.clone()).or_default().push_back(id);
                if let Some(k) = skey {
                    self.by_serial.insert(k, id);
                }
                self.pending.push_back(Pending {
                    line: line_no,
                    ts: head.ts,
                    client,
                    port,
                    query: name.to_vec(),
                    key,
                    qtype: qtype.to_vec(),
                    serial: msg.serial,
                    pid: head.pid,
                    host: head.host.map(<[u8]>::to_vec),
                    forwarded: false,
                    forwarded_to: None,
                    answered: None,
                    sealed: false,
                    cname_open: false,
                    chain: Vec::new(),
                    answers: Vec::new(),
                    rcode: None,
                    nodata: false,
                    source: None,
                });
                self.stats.queries += 1;
            }
            Event::Forwarded { name, to } => {
                let id = match skey {
                    Some(k) => self.by_serial.get(&k).copied(),
                    // The forwarded line follows its query: the newest one still unanswered,
                    // or whose walk through the cache ended on a CNAME with no cached target.
                    None => self.ids_for(name).and_then(|ids| {
                        ids.iter()
                            .rev()
                            .copied()
                            .find(|&id| self.get(id).is_some_and(Pending::awaits_upstream))
                    }),
                };
                if id.is_some() && id == self.last {
                    self.last = None;
                } else {
                    self.seal_last();
                }
                match id.and_then(|id| self.get_mut(id)) {
                    Some(q) => q.forward(to),
                    None => self.stats.orphans += 1,
                }
            }
            Event::Answer {
                origin,
                name,
                dest,
                source,
            } => {
                let key = name_key(name);
                let target = match skey {
                    // The serial says which query it is, whatever came in between.
                    Some(k) => self
                        .by_serial
                        .get(&k)
                        .copied()
                        .filter(|&id| self.get(id).is_some()),
                    None => self
                        .continuation(origin, name, &key)
                        .or_else(|| self.candidate(origin, name, &key, dest)),
                };
                let Some(id) = target else {
                    self.seal_last();
                    self.stats.orphans += 1;
                    return LineKind::Dns;
                };
                if self.last != Some(id) {
                    self.seal_last();
                }
                self.last = Some(id);
                if let Some(q) = self.get_mut(id) {
                    q.apply(origin, name, key, dest, source);
                }
            }
            Event::Other => {}
        }
        LineKind::Dns
    }

    fn get(&self, id: u64) -> Option<&Pending> {
        let i = usize::try_from(id.checked_sub(self.first_id)?).ok()?;
        self.pending.get(i)
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut Pending> {
        let i = usize::try_from(id.checked_sub(self.first_id)?).ok()?;
        self.pending.get_mut(i)
    }

    fn ids_for(&self, name: &[u8]) -> Option<&VecDeque<u64>> {
        self.by_name.get(&name_key(name))
    }

    /// Ends the answer block of the previous answer line.
    fn seal_last(&mut self) {
        if let Some(id) = self.last.take() {
            if let Some(q) = self.get_mut(id) {
                q.sealed = true;
            }
        }
    }

    /// The query whose answer block this line continues, if any.
    fn continuation(&self, origin: Origin, name: &[u8], key: &[u8]) -> Option<u64> {
        let id = self.last?;
        let q = self.get(id)?;
        if q.sealed || q.answered != Some(origin) {
            return None;
        }
        (q.cname_open || q.is_own_name(name, key)).then_some(id)
    }

    /// A pending unanswered query of this name (or, for a reverse answer, of its
    /// `in-addr.arpa`/`ip6.arpa` name) that can take this answer.
    fn candidate(&self, origin: Origin, name: &[u8], key: &[u8], dest: Dest) -> Option<u64> {
        let rev = parse_ip(name).map(arpa_name);
        let keys = std::iter::once(key).chain(rev.as_deref());
        for k in keys {
            let Some(ids) = self.by_name.get(k) else {
                continue;
            };
            let ok = |id: &u64, need_fwd: bool| {
                self.get(*id).is_some_and(|q| {
                    q.answered.is_none() && (!need_fwd || q.forwarded) && q.can_take(dest)
                })
            };
            let found = match origin {
                // Answered from cache or configuration right after the query line.
                Origin::Local => ids.iter().rev().find(|id| ok(id, false)),
                // Upstream replies come in the order the queries were forwarded.
                Origin::Upstream => ids
                    .iter()
                    .find(|id| ok(id, true))
                    .or_else(|| ids.iter().find(|id| ok(id, false))),
            };
            if let Some(&id) = found {
                return Some(id);
            }
        }
        None
    }

    fn pop_front(&mut self) -> Option<Pending> {
        let q = self.pending.pop_front()?;
        let id = self.first_id;
        self.first_id += 1;
        if let Some(ids) = self.by_name.get_mut(&q.key) {
            // Ids enter and leave in increasing order, so it is at the front.
            if ids.front() == Some(&id) {
                ids.pop_front();
            } else {
                ids.retain(|&x| x != id);
            }
            if ids.is_empty() {
                self.by_name.remove(&q.key);
            }
        }
        if let Some(s) = q.serial {
            let k = (q.pid.unwrap_or(0), s);
            if self.by_serial.get(&k) == Some(&id) {
                self.by_serial.remove(&k);
            }
        }
        if self.last == Some(id) {
            self.last = None;
        }
        Some(q)
    }

    /// Emits, from the front, queries that are complete or have waited long enough.
    fn drain(&mut self, line_no: u64, now: Option<Nanos>, out: &mut Vec<Record<'static>>) {
        while let Some(q) = self.pending.front() {
            let stale_lines = line_no.saturating_sub(q.line) > WINDOW_LINES;
            let stale_time = match (now, q.ts) {
                (Some(n), Some(t)) => n.saturating_sub(t) > WINDOW_SECS * NANOS,
                _ => false,
            };
            if !(q.sealed || stale_lines || stale_time || self.pending.len() > MAX_PENDING) {
                break;
            }
            if let Some(q) = self.pop_front() {
                self.emit(q, out);
            }
        }
    }

    fn emit(&mut self, mut q: Pending, out: &mut Vec<Record<'static>>) {
        if q.cname_open {
            // The chain's target was never logged: keep the CNAME visible as dnsmasq wrote it.
            q.answers.push(b"<CNAME>".to_vec());
        }
        self.stats.dns_records += 1;
        if q.rcode.is_none() {
            self.stats.unanswered += 1;
        }
        let mut r = Record::new("dns");
        r.push("ts", single(Scalar::Time), opt(q.ts.map(Value::Time)));
        r.push(
            "id.orig_h",
            single(Scalar::Addr),
            opt(q.client.map(Value::Addr)),
        );
        r.push(
            "id.orig_p",
            single(Scalar::Port),
            opt(q.port.map(Value::Port)),
        );
        r.push("query", single(Scalar::String), s(q.query));
        r.push("qtype_name", single(Scalar::String), s(q.qtype));
        r.push("rcode_name", single(Scalar::String), opt(q.rcode.map(s)));
        let answers = if q.answers.is_empty() {
            Value::Unset
        } else {
            Value::List(q.answers.into_iter().map(s).collect())
        };
        r.push("answers", VEC_STRING, answers);
        r.push(
            "dnsmasq.serial",
            single(Scalar::Count),
            opt(q.serial.map(Value::Count)),
        );
        r.push(
            "dnsmasq.pid",
            single(Scalar::Count),
            opt(q.pid.map(Value::Count)),
        );
        r.push("dnsmasq.host", single(Scalar::String), opt(q.host.map(s)));
        r.push(
            "dnsmasq.forwarded_to",
            single(Scalar::Addr),
            opt(q.forwarded_to.map(Value::Addr)),
        );
        r.push(
            "dnsmasq.source",
            single(Scalar::String),
            opt(q.source.map(s)),
        );
        let nodata = q.answered.map(|_| Value::Bool(q.nodata));
        r.push("dnsmasq.nodata", single(Scalar::Bool), opt(nodata));
        out.push(r);
    }

    // ---- DHCP ----

    fn dhcp_line(&mut self, head: &Head, out: &mut Vec<Record<'static>>) -> LineKind {
        let (xid, rest) = match split_token(head.msg) {
            (t, r) if is_digits(t) => (parse_u64(t), r),
            _ => (None, head.msg),
        };
        let message = parse_dhcp_message(rest);
        // A held message ends with the first line that is not an option line of its transaction.
        let continues = self
            .dhcp
            .as_ref()
            .is_some_and(|d| d.xid.is_some() && d.xid == xid);
        if message.is_some() || !continues {
            self.flush_dhcp(out);
        }
        if let Some(name) = rest.strip_prefix(b"client provides name: ") {
            if let Some(x) = xid {
                if self.dhcp_names.len() >= MAX_DHCP_NAMES {
                    self.dhcp_names.pop_front();
                }
                self.dhcp_names.push_back((x, trim_end(name).to_vec()));
            }
            return LineKind::Dhcp;
        }
        if let Some(mut d) = message {
            d.ts = head.ts;
            d.xid = xid;
            d.pid = head.pid;
            d.host = head.host.map(<[u8]>::to_vec);
            if d.host_name.is_none() {
                if let Some(x) = xid {
                    d.host_name = self
                        .dhcp_names
                        .iter()
                        .rev()
                        .find(|(k, _)| *k == x)
                        .map(|(_, n)| n.clone());
                }
            }
            if xid.is_some() {
                // Held for the option lines (lease time) that --log-dhcp prints after it.
                self.dhcp = Some(d);
            } else {
                self.emit_dhcp(d, out);
            }
            return LineKind::Dhcp;
        }
        if let (Some(d), Some(lease)) = (self.dhcp.as_mut(), parse_lease_option(rest)) {
            if continues && d.lease.is_none() {
                d.lease = Some(lease);
            }
        }
        LineKind::Info
    }

    fn flush_dhcp(&mut self, out: &mut Vec<Record<'static>>) {
        if let Some(d) = self.dhcp.take() {
            self.emit_dhcp(d, out);
        }
    }

    fn emit_dhcp(&mut self, d: Dhcp, out: &mut Vec<Record<'static>>) {
        self.stats.dhcp_records += 1;
        // Zeek spells message types without the DHCP prefix: DISCOVER, OFFER, REQUEST, ACK ...
        let short = d
            .msg_type
            .strip_prefix(b"DHCP")
            .unwrap_or(&d.msg_type)
            .to_vec();
        let (mut client, mut requested, mut assigned) = (None, None, None);
        match short.as_slice() {
            b"ACK" | b"OFFER" | b"REPLY" | b"ADVERTISE" | b"BOOTP" => assigned = d.addr,
            b"RELEASE" | b"INFORM" | b"INFORMATION-REQUEST" => client = d.addr,
            _ => requested = d.addr,
        }
        let addr = |a: Option<IpAddr>| opt(a.map(Value::Addr));
        let mut r = Record::new("dhcp");
        r.push("ts", single(Scalar::Time), opt(d.ts.map(Value::Time)));
        r.push("client_addr", single(Scalar::Addr), addr(client));
        r.push("mac", single(Scalar::String), opt(d.mac.map(s)));
        r.push("host_name", single(Scalar::String), opt(d.host_name.map(s)));
        r.push("requested_addr", single(Scalar::Addr), addr(requested));
        r.push("assigned_addr", single(Scalar::Addr), addr(assigned));
        r.push(
            "lease_time",
            single(Scalar::Interval),
            opt(d.lease.map(Value::Interval)),
        );
        r.push("msg_types", VEC_STRING, Value::List(vec![s(short)]));
        r.push("dnsmasq.interface", single(Scalar::String), s(d.interface));
        r.push(
            "dnsmasq.xid",
            single(Scalar::Count),
            opt(d.xid.map(Value::Count)),
        );
        r.push(
            "dnsmasq.client_id",
            single(Scalar::String),
            opt(d.client_id.map(s)),
        );
        r.push(
            "dnsmasq.message",
            single(Scalar::String),
            opt(d.message.map(s)),
        );
        r.push(
            "dnsmasq.pid",
            single(Scalar::Count),
            opt(d.pid.map(Value::Count)),
        );
        r.push("dnsmasq.host", single(Scalar::String), opt(d.host.map(s)));
        out.push(r);
    }
}

impl Pending {
    /// Whether a `forwarded` line can be for this query.
    fn awaits_upstream(&self) -> bool {
        match self.answered {
            None => true,
            Some(Origin::Local) => self.cname_open && !self.sealed,
            Some(Origin::Upstream) => false,
        }
    }

    fn forward(&mut self, to: Option<IpAddr>) {
        self.forwarded = true;
        if self.forwarded_to.is_none() {
            self.forwarded_to = to;
        }
        if self.answered == Some(Origin::Local) {
            // dnsmasq followed cached CNAMEs to a name it no longer has and asks upstream;
            // the reply restates the whole chain, so the partial cached answer is dropped.
            self.answered = None;
            self.cname_open = false;
            self.answers.clear();
            self.chain.clear();
            self.rcode = None;
            self.source = None;
        }
    }

    /// Whether `name` is the query itself or a CNAME target already in its chain.
    fn is_own_name(&self, name: &[u8], key: &[u8]) -> bool {
        key == self.key.as_slice()
            || self.chain.iter().any(|c| c.as_slice() == key)
            || (self.is_reverse() && parse_ip(name).is_some_and(|a| arpa_name(a) == self.key))
    }

    fn is_reverse(&self) -> bool {
        self.qtype == b"PTR"
    }

    /// Whether an answer can belong to this query: an IPv4 address never answers AAAA, etc.
    fn can_take(&self, dest: Dest) -> bool {
        let v4 = match dest {
            Dest::Addr(a) => a.is_ipv4(),
            Dest::NoData(Some(v4)) => v4,
            _ => return true,
        };
        match self.qtype.as_slice() {
            b"A" => v4,
            b"AAAA" => !v4,
            _ => true,
        }
    }

    fn apply(&mut self, origin: Origin, name: &[u8], key: Vec<u8>, dest: Dest, source: &[u8]) {
        if self.cname_open {
            self.cname_open = false;
            if self.is_own_name(name, &key) {
                // The target of the last CNAME was not logged (dnsmasq does this when it
                // answers the rest from configuration).
                self.push_answer(b"<CNAME>");
            } else {
                self.push_answer(name);
                if self.chain.len() < MAX_CHAIN {
                    self.chain.push(key);
                }
            }
        }
        self.answered.get_or_insert(origin);
        let rcode: &[u8] = match dest {
            Dest::Cname => {
                self.cname_open = true;
                b"NOERROR"
            }
            Dest::NxDomain => b"NXDOMAIN",
            Dest::NoData(_) => {
                self.nodata = true;
                b"NOERROR"
            }
            Dest::Rcode(r) => r,
            Dest::Addr(a) => {
                self.push_answer(a.to_string().as_bytes());
                b"NOERROR"
            }
            Dest::Text(t) => {
                self.push_answer(t);
                b"NOERROR"
            }
        };
        // The last word wins: a chain ending in NXDOMAIN is NXDOMAIN.
        self.rcode = Some(rcode.to_vec());
        // The source of the final answer tells most (a `config` override after cached CNAMEs).
        if dest != Dest::Cname || self.source.is_none() {
            self.source = Some(source.to_vec());
        }
    }

    fn push_answer(&mut self, a: &[u8]) {
        if self.answers.len() < MAX_ANSWERS {
            self.answers.push(a.to_vec());
        }
    }
}

fn opt(v: Option<Value<'static>>) -> Value<'static> {
    v.unwrap_or(Value::Unset)
}

fn s(b: Vec<u8>) -> Value<'static> {
    Value::Str(Cow::Owned(b))
}

// ---- line heads ----

fn parse_head(line: &[u8], reference: Nanos) -> Option<Head<'_>> {
    let mut s = trim_end(line);
    if let Some(r) = s.strip_prefix(b"<") {
        let end = r.iter().take(4).position(|&b| b == b'>')?;
        if end == 0 || !is_digits(r.get(..end)?) {
            return None;
        }
        s = r.get(end + 1..)?;
        if let Some(r) = s.strip_prefix(b"1 ") {
            return parse_5424(r);
        }
    }
    let (stamped, ts, rest) = if let Some((t, rest)) = parse_bsd_time(s, reference) {
        // A date no year can hold (an extreme reference) keeps the line, without a time.
        (true, t, rest)
    } else if s.get(..4).is_some_and(is_digits) && s.get(4) == Some(&b'-') {
        let (tok, rest) = split_token(s);
        (true, Some(parse_iso8601(tok)?), rest)
    } else {
        (false, None, s)
    };
    let rest = trim_start(rest);
    let (tok, after) = split_token(rest);
    if let Some((prog, pid)) = parse_tag(tok) {
        return Some(Head {
            ts,
            host: None,
            prog,
            pid,
            msg: after,
        });
    }
    // Only a time stamp may be followed by a host name; the bare form starts with the tag.
    if !stamped {
        return None;
    }
    let (tok2, after2) = split_token(after);
    let (prog, pid) = parse_tag(tok2)?;
    Some(Head {
        ts,
        host: Some(tok),
        prog,
        pid,
        msg: after2,
    })
}

/// `dnsmasq:`, `dnsmasq[830]:`, `dnsmasq-dhcp[830]:`.
fn parse_tag(tok: &[u8]) -> Option<(Prog, Option<u64>)> {
    let t = tok.strip_suffix(b":")?;
    let (name, pid) = match t.strip_suffix(b"]") {
        Some(u) => {
            let open = memchr::memchr(b'[', u)?;
            let pid = u.get(open + 1..)?;
            (u.get(..open)?, Some(parse_u64(pid)?))
        }
        None => (t, None),
    };
    Some((prog_of(name)?, pid))
}

fn prog_of(name: &[u8]) -> Option<Prog> {
    match name {
        b"dnsmasq" => Some(Prog::Dns),
        b"dnsmasq-dhcp" => Some(Prog::Dhcp),
        n if n.starts_with(b"dnsmasq-") => Some(Prog::Other),
        _ => None,
    }
}

/// `TIMESTAMP HOST APP PROCID MSGID SD [MSG]` after `<PRI>1 `.
fn parse_5424(s: &[u8]) -> Option<Head<'_>> {
    let nil = |t: &[u8]| t == b"-";
    let (ts, r) = split_token(s);
    let ts = if nil(ts) {
        None
    } else {
        Some(parse_iso8601(ts)?)
    };
    let (host, r) = split_token(r);
    let (app, r) = split_token(r);
    let prog = prog_of(app)?;
    let (procid, r) = split_token(r);
    let pid = if nil(procid) { None } else { parse_u64(procid) };
    let (_msgid, r) = split_token(r);
    let r = if let Some(r) = r.strip_prefix(b"-") {
        r
    } else if r.first() == Some(&b'[') {
        skip_structured_data(r)?
    } else {
        return None;
    };
    // Relays converting RFC 3164 to 5424 (rsyslog's SyslogProtocol23 format) keep the space
    // that followed the 3164 tag: MSG may start with several spaces.
    let msg = r.trim_ascii_start();
    let msg = msg
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(msg)
        .trim_ascii_start();
    Some(Head {
        ts,
        host: (!nil(host)).then_some(host),
        prog,
        pid,
        msg,
    })
}

/// Skips `[id k="v" ...][...]`, minding quotes and backslash escapes.
fn skip_structured_data(s: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    while s.get(i) == Some(&b'[') {
        let mut quoted = false;
        i += 1;
        loop {
            match *s.get(i)? {
                b'\\' => i += 1,
                b'"' => quoted = !quoted,
                b']' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    s.get(i..)
}

/// `Jun 19 21:30:43[.frac] ` (day space-padded or not): the time and what follows the space.
/// The time is `None` only for a valid date that no year near `reference` can hold.
fn parse_bsd_time(s: &[u8], reference: Nanos) -> Option<(Option<Nanos>, &[u8])> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let mon = MONTHS.iter().position(|m| s.get(..3) == Some(&m[..]))? as i64 + 1;
    let mut r = s.get(3..)?.strip_prefix(b" ")?;
    r = r.strip_prefix(b" ").unwrap_or(r);
    let (day, r) = split_token(r);
    if day.is_empty() || day.len() > 2 {
        return None;
    }
    let day = parse_u64(day)? as i64;
    let (clock, rest) = split_token(r);
    let (hms, frac) = match memchr::memchr(b'.', clock) {
        Some(i) => (clock.get(..i)?, clock.get(i + 1..)?),
        None => (clock, &b""[..]),
    };
    if hms.len() != 8 || hms.get(2) != Some(&b':') || hms.get(5) != Some(&b':') {
        return None;
    }
    let h = parse_u64(hms.get(0..2)?)? as i64;
    let m = parse_u64(hms.get(3..5)?)? as i64;
    let sec = parse_u64(hms.get(6..8)?)? as i64;
    // 29 February is a date (of some year); 31 June is not.
    if h > 23 || m > 59 || sec > 60 || day < 1 || day > days_in_month(2000, mon) {
        return None;
    }
    if !is_digits_or_empty(frac) {
        return None;
    }
    let mut nanos = 0i64;
    for (k, &b) in frac.iter().take(9).enumerate() {
        nanos += i64::from(b - b'0') * 10i64.pow(8 - k as u32);
    }
    let sod = h * 3600 + m * 60 + sec;
    let t = pick_year(reference, mon, day, sod).and_then(|t| t.checked_add(nanos));
    Some((t, rest))
}

/// The time of `mon`/`day` `sod` in the latest year that is at most a day after `reference`.
fn pick_year(reference: Nanos, mon: i64, day: i64, sod: i64) -> Option<Nanos> {
    let limit = reference.saturating_add(DAY * NANOS);
    let ref_year = year_of_days(reference.div_euclid(DAY * NANOS));
    // Eight years back always meets a 29 February.
    (ref_year - 8..=ref_year + 1).rev().find_map(|y| {
        if day < 1 || day > days_in_month(y, mon) {
            return None;
        }
        let t = (days_from_civil(y, mon, day) * DAY + sod).checked_mul(NANOS)?;
        (t <= limit).then_some(t)
    })
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// The year of a day count since 1970-01-01.
fn year_of_days(z: i64) -> i64 {
    crate::time::civil_from_days(z).0
}

// ---- DNS messages ----

#[derive(Debug)]
struct DnsMsg<'a> {
    serial: Option<u64>,
    client: Option<(IpAddr, u16)>,
    event: Event<'a>,
}

#[derive(Debug)]
enum Event<'a> {
    Query {
        qtype: &'a [u8],
        name: &'a [u8],
        from: Option<IpAddr>,
    },
    Forwarded {
        name: &'a [u8],
        to: Option<IpAddr>,
    },
    Answer {
        origin: Origin,
        name: &'a [u8],
        dest: Dest<'a>,
        source: &'a [u8],
    },
    /// validation, dnssec-query, ipset/nftset: query-log lines that carry no answer.
    Other,
}

/// dnsmasq's `log_query` line: `[serial [client/port ]]source name verb dest[ (extra)]`.
fn parse_dns(msg: &[u8]) -> Option<DnsMsg<'_>> {
    let mut m = msg;
    let mut serial = None;
    let mut client = None;
    let (t, r) = split_token(m);
    if is_digits(t) {
        serial = Some(parse_u64(t)?);
        m = r;
        let (t, r) = split_token(m);
        if let Some(c) = parse_client(t) {
            client = Some(c);
            m = r;
        }
    }
    let (src, r) = split_token(m);
    let (name, r) = split_token(r);
    let (verb, dest) = split_token(r);
    let event = if let Some(q) = src.strip_prefix(b"query[") {
        // Never lose a query line, even a mangled one.
        Event::Query {
            qtype: q.strip_suffix(b"]").unwrap_or(q),
            name,
            from: if verb == b"from" {
                parse_ip(dest)
            } else {
                None
            },
        }
    } else if src == b"forwarded" && verb == b"to" {
        let to = dest
            .split(|&b| b == b'#' || b == b' ')
            .next()
            .and_then(parse_ip);
        Event::Forwarded { name, to }
    } else if verb == b"is" && is_answer_source(src) {
        let origin = if src == b"reply" {
            Origin::Upstream
        } else {
            Origin::Local
        };
        Event::Answer {
            origin,
            name,
            dest: parse_dest(dest),
            source: src,
        }
    } else if src == b"validation"
        || src.starts_with(b"dnssec-")
        || src == b"ipset"
        || src == b"nftset"
    {
        Event::Other
    } else {
        return None;
    };
    Some(DnsMsg {
        serial,
        client,
        event,
    })
}

fn is_answer_source(src: &[u8]) -> bool {
    matches!(
        src,
        b"reply" | b"cached" | b"cached-stale" | b"config" | b"DHCP" | b"auth"
    ) || (src.first() == Some(&b'/') && src.len() > 1)
}

/// `192.168.1.5/51234` or `fe80::1/51234`.
fn parse_client(t: &[u8]) -> Option<(IpAddr, u16)> {
    let slash = memchr::memrchr(b'/', t)?;
    let a = parse_ip(t.get(..slash)?)?;
    let p = std::str::from_utf8(t.get(slash + 1..)?)
        .ok()?
        .parse()
        .ok()?;
    Some((a, p))
}

fn parse_dest(d: &[u8]) -> Dest<'_> {
    // Drop the " (EDE: ...)" or " (DNSSEC signed)" that extra logging appends.
    let d = match memchr::memmem::find(d, b" (") {
        Some(i) if d.ends_with(b")") => d.get(..i).unwrap_or(d),
        _ => d,
    };
    match d {
        b"<CNAME>" => Dest::Cname,
        b"NXDOMAIN" => Dest::NxDomain,
        b"NODATA" => Dest::NoData(None),
        b"NODATA-IPv4" => Dest::NoData(Some(true)),
        b"NODATA-IPv6" => Dest::NoData(Some(false)),
        b"SERVFAIL" | b"REFUSED" | b"FORMERR" | b"NOTIMP" => Dest::Rcode(d),
        b"not implemented" => Dest::Rcode(b"NOTIMP"),
        _ if is_digits(d) => Dest::Rcode(match d {
            b"1" => b"FORMERR",
            b"2" => b"SERVFAIL",
            b"3" => b"NXDOMAIN",
            b"4" => b"NOTIMP",
            b"5" => b"REFUSED",
            other => other,
        }),
        _ => match parse_ip(d) {
            Some(a) => Dest::Addr(a),
            None => Dest::Text(d),
        },
    }
}

/// The join key of a name: lower case, no final dot.
fn name_key(name: &[u8]) -> Vec<u8> {
    let n = match name.strip_suffix(b".") {
        Some(n) if !n.is_empty() => n,
        _ => name,
    };
    n.to_ascii_lowercase()
}

/// `1.2.3.4` → `4.3.2.1.in-addr.arpa`; IPv6 → its `ip6.arpa` nibble name.
fn arpa_name(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0]).into_bytes()
        }
        IpAddr::V6(v) => {
            let mut s = String::with_capacity(72);
            for b in v.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 0xf, b >> 4));
            }
            s.push_str("ip6.arpa");
            s.into_bytes()
        }
    }
}

// ---- DHCP messages ----

/// `DHCPACK(eth0) 192.168.1.5 aa:bb:cc:dd:ee:ff host` and its kin, after the transaction id.
fn parse_dhcp_message(s: &[u8]) -> Option<Dhcp> {
    let (tok, rest) = split_token(s);
    let open = memchr::memchr(b'(', tok)?;
    let ty = tok.get(..open)?;
    let iface = tok.get(open + 1..)?.strip_suffix(b")")?;
    let known = ty.starts_with(b"DHCP") || ty == b"BOOTP";
    if !known || !ty.iter().all(|&b| b.is_ascii_uppercase() || b == b'-') {
        return None;
    }
    let mut d = Dhcp {
        msg_type: ty.to_vec(),
        interface: iface.to_vec(),
        ..Dhcp::default()
    };
    let mut r = trim_start(rest);
    let (t, after) = split_token(r);
    if let Some(a) = parse_ip(t) {
        d.addr = Some(a);
        r = trim_start(after);
    }
    let (t, after) = split_token(r);
    if is_hex_id(t) {
        if t.len() == 17 && t.iter().filter(|&&b| b == b':').count() == 5 {
            d.mac = Some(t.to_ascii_lowercase());
        } else {
            d.client_id = Some(t.to_vec());
        }
        r = after;
    }
    let text = trim_end(trim_start(r));
    if !text.is_empty() {
        // dnsmasq prints the client's name after an ACK, a reason ("wrong address") otherwise.
        if matches!(ty, b"DHCPACK" | b"DHCPREPLY") {
            d.host_name = Some(text.to_vec());
        } else {
            d.message = Some(text.to_vec());
        }
    }
    Some(d)
}

/// `aa:bb:cc:dd:ee:ff`, a DUID or a client id: hex digits with `:` or `-`.
fn is_hex_id(t: &[u8]) -> bool {
    t.len() >= 5
        && t.iter()
            .all(|b| b.is_ascii_hexdigit() || *b == b':' || *b == b'-')
        && t.iter().any(|&b| b == b':' || b == b'-')
}

/// `sent size:  4 option: 51 lease-time  12h` → seconds.
fn parse_lease_option(s: &[u8]) -> Option<f64> {
    let r = s.strip_prefix(b"sent size:")?;
    let i = memchr::memmem::find(r, b"option:")?;
    let r = trim_start(r.get(i + 7..)?);
    let (num, r) = split_token(r);
    let (name, r) = split_token(trim_start(r));
    if num != b"51" && name != b"lease-time" {
        return None;
    }
    parse_duration(trim_end(trim_start(r)))
}

/// dnsmasq's durations: `3600`, `12h`, `1d`, `1h30m`, `2m15s`. `infinite` has no number.
fn parse_duration(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let mut total = 0u64;
    let mut n: Option<u64> = None;
    for &b in s {
        if b.is_ascii_digit() {
            n = Some(
                n.unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(b - b'0'))?,
            );
            continue;
        }
        let unit = match b {
            b'd' => 86_400,
            b'h' => 3600,
            b'm' => 60,
            b's' => 1,
            _ => return None,
        };
        total = total.checked_add(n.take()?.checked_mul(unit)?)?;
    }
    if let Some(n) = n {
        total = total.checked_add(n)?;
    }
    Some(total as f64)
}

// ---- byte helpers (no indexing that could panic) ----

/// The token before the first space and what follows that space.
fn split_token(s: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b' ', s) {
        Some(i) => (s.get(..i).unwrap_or(s), s.get(i + 1..).unwrap_or(&[])),
        None => (s, &[]),
    }
}

fn trim_start(s: &[u8]) -> &[u8] {
    let i = s.iter().position(|&b| b != b' ').unwrap_or(s.len());
    s.get(i..).unwrap_or(&[])
}

fn trim_end(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .rposition(|&b| !matches!(b, b' ' | b'\r' | b'\n'))
        .map_or(0, |i| i + 1);
    s.get(..n).unwrap_or(&[])
}

fn is_digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

fn is_digits_or_empty(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_digit)
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    if !is_digits(s) || s.len() > 20 {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn parse_ip(s: &[u8]) -> Option<IpAddr> {
    if s.is_empty() || s.len() > 45 {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-06-30T00:00:00Z: a reference for the June test lines.
    const REF: Nanos = 1_719_705_600 * NANOS;

    fn run(reference: Nanos, text: &str) -> (Vec<Record<'static>>, Vec<Problem>, DnsmasqReader) {
        let mut r = DnsmasqReader::new(reference);
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        for (i, l) in text.lines().enumerate() {
            r.push(
                i as u64 + 1,
                l.trim_start().as_bytes(),
                &mut out,
                &mut problems,
            );
        }
        r.finish(&mut out);
        (out, problems, r)
    }

    fn dns<'a>(recs: &'a [Record<'static>]) -> Vec<&'a Record<'static>> {
        recs.iter().filter(|r| r.path == "dns").collect()
    }

    fn text(r: &Record, f: &str) -> Option<String> {
        match r.get(f)? {
            Value::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
            Value::Unset => None,
            v => {
                let mut o = Vec::new();
                v.write_text(&mut o);
                Some(String::from_utf8_lossy(&o).into_owned())
            }
        }
    }

    fn answers(r: &Record) -> Vec<String> {
        match r.get("answers") {
            Some(Value::List(l)) => l
                .iter()
                .map(|v| match v {
                    Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
                    _ => String::new(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn ts_of(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Nanos {
        (days_from_civil(y, mo, d) * DAY + h * 3600 + mi * 60 + s) * NANOS
    }

    #[test]
    fn syslog_forms_and_heads() {
        for l in [
            "Jun 19 21:30:43 dnsmasq[830]: query[A] example.com from 192.168.1.5",
            "Jun 19 21:30:43 myhost dnsmasq[830]: query[A] example.com from 192.168.1.5",
            "Jun  9 21:30:43 myhost dnsmasq[830]: query[A] example.com from 192.168.1.5",
            "2026-11-23T13:29:12.123456+00:00 myhost dnsmasq[830]: query[A] example.com from 192.168.1.5",
            "<30>Jun 19 21:30:43 dnsmasq[830]: query[A] example.com from 192.168.1.5",
            "<30>Jun 19 21:30:43 myhost dnsmasq[830]: query[A] example.com from 192.168.1.5",
            "<30>1 2026-11-23T13:29:12.123Z host dnsmasq 830 - - query[A] example.com from 192.168.1.5",
            "<30>1 2026-11-23T13:29:12.123Z host dnsmasq 830 - [x@1 a=\"]\"] query[A] example.com from 192.168.1.5",
            "dnsmasq: query[A] example.com from 192.168.1.5",
            "dnsmasq[1234]: 12 192.168.1.5/51234 query[A] example.com from 192.168.1.5",
        ] {
            assert!(DnsmasqReader::looks_like(l.as_bytes()), "{l}");
            let (recs, problems, _) = run(REF, l);
            assert!(problems.is_empty(), "{l}");
            let d = dns(&recs);
            assert_eq!(d.len(), 1, "{l}");
            assert_eq!(text(d[0], "query").as_deref(), Some("example.com"));
            assert_eq!(text(d[0], "qtype_name").as_deref(), Some("A"));
            assert_eq!(text(d[0], "id.orig_h").as_deref(), Some("192.168.1.5"));
            assert_eq!(text(d[0], "rcode_name"), None);
        }
        let (recs, ..) = run(
            REF,
            "2026-11-23T13:29:12.5Z myhost dnsmasq[830]: query[A] a from 10.0.0.1",
        );
        assert_eq!(
            recs[0].get("ts"),
            Some(&Value::Time(ts_of(2026, 11, 23, 13, 29, 12) + NANOS / 2))
        );
        assert_eq!(text(&recs[0], "dnsmasq.host").as_deref(), Some("myhost"));
        assert_eq!(recs[0].get("dnsmasq.pid"), Some(&Value::Count(830)));
        let (recs, ..) = run(REF, "dnsmasq: query[A] a from 10.0.0.1");
        assert_eq!(recs[0].get("ts"), Some(&Value::Unset));
        let (recs, ..) = run(
            REF,
            "<30>1 2026-11-23T13:29:12.123Z host dnsmasq 830 - - query[A] a from 10.0.0.1",
        );
        assert_eq!(recs[0].get("dnsmasq.pid"), Some(&Value::Count(830)));
        for l in [
            "",
            "Jun 19 21:30:43 myhost systemd[1]: Started dnsmasq.",
            "Jun 19 21:30:43 dnsmasqx[1]: query[A] a from 1.2.3.4",
            "myhost dnsmasq[1]: query[A] a from 1.2.3.4",
            "Jun 31 21:30:43 dnsmasq[1]: query[A] a from 1.2.3.4",
            "<999999>dnsmasq: x",
        ] {
            assert!(!DnsmasqReader::looks_like(l.as_bytes()), "{l}");
            let mut r = DnsmasqReader::new(REF);
            let (mut recs, mut problems) = (Vec::new(), Vec::new());
            let kind = r.push(7, l.as_bytes(), &mut recs, &mut problems);
            r.finish(&mut recs);
            assert_eq!(kind, LineKind::NotDnsmasq);
            assert!(recs.is_empty());
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].line, 7);
            assert_eq!(r.stats().not_dnsmasq_lines, 1);
        }
    }

    #[test]
    fn forwarded_reply_and_cname_chain() {
        let (recs, problems, r) = run(
            REF,
            "Jun 19 22:26:09 dnsmasq[14240]: query[AAAA] detectportal.firefox.com from 192.168.4.3
             Jun 19 22:26:09 dnsmasq[14240]: forwarded detectportal.firefox.com to 2a02:8100:c0:2b1::4:1101
             Jun 19 22:26:09 dnsmasq[14240]: forwarded detectportal.firefox.com to 2a02:8100:c0:2b9::4:1101
             Jun 19 22:26:09 dnsmasq[14240]: reply detectportal.firefox.com is <CNAME>
             Jun 19 22:26:09 dnsmasq[14240]: reply detectportal.prod.mozaws.net is <CNAME>
             Jun 19 22:26:09 dnsmasq[14240]: reply prod.detectportal.prod.cloudops.mozgcp.net is 2600:1901:0:38d7::
             Jun 19 22:26:09 dnsmasq[14240]: reply prod.detectportal.prod.cloudops.mozgcp.net is 2600:1901:0:38d7::1",
        );
        assert!(problems.is_empty());
        let d = dns(&recs);
        assert_eq!(d.len(), 1);
        assert_eq!(
            answers(d[0]),
            [
                "detectportal.prod.mozaws.net",
                "prod.detectportal.prod.cloudops.mozgcp.net",
                "2600:1901:0:38d7::",
                "2600:1901:0:38d7::1"
            ]
        );
        assert_eq!(text(d[0], "rcode_name").as_deref(), Some("NOERROR"));
        assert_eq!(
            text(d[0], "dnsmasq.forwarded_to").as_deref(),
            Some("2a02:8100:c0:2b1::4:1101")
        );
        assert_eq!(text(d[0], "dnsmasq.source").as_deref(), Some("reply"));
        assert_eq!(d[0].get("dnsmasq.nodata"), Some(&Value::Bool(false)));
        assert_eq!(
            d[0].get("ts"),
            Some(&Value::Time(ts_of(2024, 6, 19, 22, 26, 9)))
        );
        assert_eq!(r.stats().dns_lines, 7);
    }

    #[test]
    fn config_answers_the_newest_and_reply_the_forwarded_one() {
        // As in the real log: an AAAA query is forwarded, an A query of the same name is
        // answered from config in between, then the AAAA reply arrives.
        let (recs, ..) = run(
            REF,
            "Jun 19 22:26:08 dnsmasq[14240]: query[AAAA] p.skype.com from 192.168.4.3
             Jun 19 22:26:08 dnsmasq[14240]: forwarded p.skype.com to 2a02:8100:c0:2b1::4:1101
             Jun 19 22:26:08 dnsmasq[14240]: query[A] p.skype.com from 192.168.4.3
             Jun 19 22:26:08 dnsmasq[14240]: config p.skype.com is 192.168.0.164
             Jun 19 22:26:08 dnsmasq[14240]: reply p.skype.com is <CNAME>
             Jun 19 22:26:08 dnsmasq[14240]: reply q.office.net is 2603:1020:1300:e::68
             Jun 19 22:26:08 dnsmasq[14240]: query[A] teams.example from 192.168.4.3",
        );
        let d = dns(&recs);
        assert_eq!(d.len(), 3);
        assert_eq!(text(d[0], "qtype_name").as_deref(), Some("AAAA"));
        assert_eq!(answers(d[0]), ["q.office.net", "2603:1020:1300:e::68"]);
        assert_eq!(text(d[1], "qtype_name").as_deref(), Some("A"));
        assert_eq!(answers(d[1]), ["192.168.0.164"]);
        assert_eq!(text(d[1], "dnsmasq.source").as_deref(), Some("config"));
        assert_eq!(text(d[1], "dnsmasq.forwarded_to"), None);
        assert_eq!(text(d[2], "rcode_name"), None);
    }

    #[test]
    fn cached_chain_then_config() {
        let (recs, ..) = run(
            REF,
            "Jun 19 22:26:09 dnsmasq[1]: query[A] detectportal.firefox.com from 192.168.4.3
             Jun 19 22:26:09 dnsmasq[1]: cached detectportal.firefox.com is <CNAME>
             Jun 19 22:26:09 dnsmasq[1]: cached detectportal.prod.mozaws.net is <CNAME>
             Jun 19 22:26:09 dnsmasq[1]: config detectportal.firefox.com is 192.168.0.164
             Jun 19 22:26:09 dnsmasq[1]: query[A] detectportal.firefox.com from 192.168.4.3
             Jun 19 22:26:09 dnsmasq[1]: cached detectportal.firefox.com is 1.2.3.4",
        );
        let d = dns(&recs);
        assert_eq!(d.len(), 2);
        assert_eq!(
            answers(d[0]),
            ["detectportal.prod.mozaws.net", "<CNAME>", "192.168.0.164"]
        );
        assert_eq!(text(d[0], "dnsmasq.source").as_deref(), Some("config"));
        assert_eq!(answers(d[1]), ["1.2.3.4"]);
        assert_eq!(text(d[1], "dnsmasq.source").as_deref(), Some("cached"));
    }

    #[test]
    fn nxdomain_nodata_markers_hosts_and_ptr() {
        let (recs, ..) = run(
            REF,
            "dnsmasq[5]: query[A] xkqjzvbwpt.example from 10.0.0.2
             dnsmasq[5]: forwarded xkqjzvbwpt.example to 8.8.8.8
             dnsmasq[5]: reply xkqjzvbwpt.example is NXDOMAIN
             dnsmasq[5]: query[AAAA] merino.services.mozilla.com from 10.0.0.2
             dnsmasq[5]: forwarded merino.services.mozilla.com to 8.8.8.8
             dnsmasq[5]: reply merino.services.mozilla.com is NODATA-IPv6
             dnsmasq[5]: query[HTTPS] cloudflare-dns.com from 10.0.0.2
             dnsmasq[5]: forwarded cloudflare-dns.com to 8.8.8.8#5353
             dnsmasq[5]: reply cloudflare-dns.com is <HTTPS>
             dnsmasq[5]: query[SRV] _ldap._tcp.example from 10.0.0.2
             dnsmasq[5]: forwarded _ldap._tcp.example to 8.8.8.8
             dnsmasq[5]: reply _ldap._tcp.example is <SRV>
             dnsmasq[5]: query[A] nas.lan from 10.0.0.2
             dnsmasq[5]: /etc/hosts nas.lan is 10.0.0.9
             dnsmasq[5]: query[PTR] 9.0.0.10.in-addr.arpa from 10.0.0.2
             dnsmasq[5]: /etc/hosts 10.0.0.9 is nas.lan
             dnsmasq[5]: query[A] bad.example from 10.0.0.2
             dnsmasq[5]: forwarded bad.example to 8.8.8.8
             dnsmasq[5]: reply bad.example is SERVFAIL (EDE: network error)
             dnsmasq[5]: query[A] ads.example from 10.0.0.2
             dnsmasq[5]: config ads.example is NXDOMAIN",
        );
        let d = dns(&recs);
        assert_eq!(d.len(), 8);
        let f = |i: usize, n: &str| text(d[i], n);
        assert_eq!(f(0, "rcode_name").as_deref(), Some("NXDOMAIN"));
        assert_eq!(d[0].get("answers"), Some(&Value::Unset));
        assert_eq!(f(1, "rcode_name").as_deref(), Some("NOERROR"));
        assert_eq!(d[1].get("dnsmasq.nodata"), Some(&Value::Bool(true)));
        assert!(answers(d[1]).is_empty());
        assert_eq!(answers(d[2]), ["<HTTPS>"]);
        assert_eq!(f(2, "dnsmasq.forwarded_to").as_deref(), Some("8.8.8.8"));
        assert_eq!(answers(d[3]), ["<SRV>"]);
        assert_eq!(answers(d[4]), ["10.0.0.9"]);
        assert_eq!(f(4, "dnsmasq.source").as_deref(), Some("/etc/hosts"));
        assert_eq!(answers(d[5]), ["nas.lan"]);
        assert_eq!(f(6, "rcode_name").as_deref(), Some("SERVFAIL"));
        assert_eq!(f(7, "rcode_name").as_deref(), Some("NXDOMAIN"));
        assert_eq!(f(7, "dnsmasq.source").as_deref(), Some("config"));
    }

    #[test]
    fn cached_chain_cut_short_is_forwarded() {
        let (recs, _, r) = run(
            REF,
            "Jun 19 22:27:39 dnsmasq[1]: query[AAAA] go.trouter.skype.com from 192.168.4.3
             Jun 19 22:27:39 dnsmasq[1]: cached go.trouter.skype.com is <CNAME>
             Jun 19 22:27:39 dnsmasq[1]: forwarded go.trouter.skype.com to 2a02:8100:c0:2b1::4:1101
             Jun 19 22:27:39 dnsmasq[1]: query[A] go.trouter.skype.com from 192.168.4.3
             Jun 19 22:27:39 dnsmasq[1]: config go.trouter.skype.com is 192.168.0.164
             Jun 19 22:27:39 dnsmasq[1]: reply go.trouter.skype.com is <CNAME>
             Jun 19 22:27:39 dnsmasq[1]: reply trouter-atm-pub-csm.trafficmanager.net is <CNAME>
             Jun 19 22:27:39 dnsmasq[1]: reply t.office.net is 2603:1020:c01:11::",
        );
        let d = dns(&recs);
        assert_eq!(
            answers(d[0]),
            [
                "trouter-atm-pub-csm.trafficmanager.net",
                "t.office.net",
                "2603:1020:c01:11::"
            ]
        );
        assert_eq!(text(d[0], "dnsmasq.source").as_deref(), Some("reply"));
        assert_eq!(answers(d[1]), ["192.168.0.164"]);
        assert_eq!(r.stats().orphans, 0);
    }

    #[test]
    fn cname_chain_to_nodata() {
        let (recs, ..) = run(
            REF,
            "dnsmasq: query[HTTPS] teams.live.com from 192.168.4.3
             dnsmasq: forwarded teams.live.com to 1.1.1.1
             dnsmasq: reply teams.live.com is <CNAME>
             dnsmasq: reply s-0005.s-msedge.net is NODATA",
        );
        assert_eq!(answers(&recs[0]), ["s-0005.s-msedge.net"]);
        assert_eq!(text(&recs[0], "rcode_name").as_deref(), Some("NOERROR"));
        assert_eq!(recs[0].get("dnsmasq.nodata"), Some(&Value::Bool(true)));
    }

    #[test]
    fn extra_form_joins_by_serial() {
        let (recs, problems, _) = run(
            REF,
            "Jun 19 21:30:43 dnsmasq[1234]: 12 192.168.1.5/51234 query[A] example.com from 192.168.1.5
             Jun 19 21:30:43 dnsmasq[1234]: 13 192.168.1.6/40000 query[A] example.com from 192.168.1.6
             Jun 19 21:30:43 dnsmasq[1234]: 12 192.168.1.5/51234 forwarded example.com to 9.9.9.9
             Jun 19 21:30:43 dnsmasq[1234]: 14 fe80::1/5353 query[AAAA] example.org from fe80::1
             Jun 19 21:30:43 dnsmasq[1234]: 13 192.168.1.6/40000 forwarded example.com to 1.1.1.1
             Jun 19 21:30:43 dnsmasq[1234]: 13 192.168.1.6/40000 reply example.com is <CNAME>
             Jun 19 21:30:43 dnsmasq[1234]: 13 192.168.1.6/40000 reply edge.example.net is 5.6.7.8
             Jun 19 21:30:43 dnsmasq[1234]: 12 192.168.1.5/51234 reply example.com is 1.2.3.4
             Jun 19 21:30:43 dnsmasq[1234]: 14 fe80::1/5353 cached example.org is NODATA-IPv6",
        );
        assert!(problems.is_empty());
        let d = dns(&recs);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].get("dnsmasq.serial"), Some(&Value::Count(12)));
        assert_eq!(d[0].get("id.orig_p"), Some(&Value::Port(51234)));
        assert_eq!(answers(d[0]), ["1.2.3.4"]);
        assert_eq!(
            text(d[0], "dnsmasq.forwarded_to").as_deref(),
            Some("9.9.9.9")
        );
        assert_eq!(d[1].get("dnsmasq.serial"), Some(&Value::Count(13)));
        assert_eq!(answers(d[1]), ["edge.example.net", "5.6.7.8"]);
        assert_eq!(
            text(d[1], "dnsmasq.forwarded_to").as_deref(),
            Some("1.1.1.1")
        );
        assert_eq!(text(d[2], "id.orig_h").as_deref(), Some("fe80::1"));
        assert_eq!(d[2].get("dnsmasq.nodata"), Some(&Value::Bool(true)));
        assert_eq!(text(d[2], "dnsmasq.source").as_deref(), Some("cached"));
    }

    #[test]
    fn unanswered_queries_leave_the_window() {
        let mut log =
            String::from("Jun 19 21:30:00 dnsmasq[1]: query[A] lost.example from 10.0.0.1\n");
        log.push_str("Jun 19 21:30:01 dnsmasq[1]: forwarded lost.example to 1.1.1.1\n");
        log.push_str("Jun 19 21:30:40 dnsmasq[1]: query[A] b.example from 10.0.0.1\n");
        let mut r = DnsmasqReader::new(REF);
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        for (i, l) in log.lines().enumerate() {
            r.push(i as u64 + 1, l.as_bytes(), &mut out, &mut problems);
        }
        // 39 s later the first query is emitted without an rcode; the second still waits.
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].get("rcode_name"), Some(&Value::Unset));
        assert_eq!(out[0].get("dnsmasq.nodata"), Some(&Value::Unset));
        for i in 0..1100u64 {
            r.push(
                4 + i,
                b"dnsmasq: reading /etc/resolv.conf",
                &mut out,
                &mut problems,
            );
        }
        assert_eq!(out.len(), 2);
        let s = r.stats();
        assert_eq!(
            (s.queries, s.dns_records, s.unanswered, s.info_lines),
            (2, 2, 2, 1100)
        );
        assert!(problems.is_empty());
    }

    #[test]
    fn dhcp_without_ids() {
        let (recs, problems, r) = run(
            REF,
            "Jun 19 22:26:07 dnsmasq-dhcp[14240]: DHCPDISCOVER(wlan0) f8:e4:e3:45:08:1c 
             Jun 19 22:26:07 dnsmasq-dhcp[14240]: DHCPOFFER(wlan0) 192.168.4.3 f8:e4:e3:45:08:1c 
             Jun 19 22:26:07 dnsmasq-dhcp[14240]: DHCPREQUEST(wlan0) 192.168.4.3 f8:e4:e3:45:08:1c 
             Jun 19 22:26:07 dnsmasq-dhcp[14240]: DHCPACK(wlan0) 192.168.4.3 f8:e4:e3:45:08:1c DESKTOP-EEHQFER
             Jun 19 22:40:07 dnsmasq-dhcp[14240]: DHCPRELEASE(wlan0) 192.168.4.3 f8:e4:e3:45:08:1c
             Jun 19 22:26:07 dnsmasq-dhcp[14240]: DHCP, IP range 192.168.4.2 -- 192.168.4.20, lease time 1d
             Jun 19 22:26:07 dnsmasq-dhcp[14240]: no address range available for DHCP request via wlan0",
        );
        assert!(problems.is_empty());
        assert_eq!(recs.len(), 5);
        assert!(recs.iter().all(|r| r.path == "dhcp"));
        let t = |i: usize, f: &str| text(&recs[i], f);
        assert_eq!(
            recs[0].get("msg_types"),
            Some(&Value::List(vec![s(b"DISCOVER".to_vec())]))
        );
        assert_eq!(t(0, "mac").as_deref(), Some("f8:e4:e3:45:08:1c"));
        assert_eq!(t(1, "assigned_addr").as_deref(), Some("192.168.4.3"));
        assert_eq!(t(2, "requested_addr").as_deref(), Some("192.168.4.3"));
        assert_eq!(t(3, "host_name").as_deref(), Some("DESKTOP-EEHQFER"));
        assert_eq!(t(3, "dnsmasq.interface").as_deref(), Some("wlan0"));
        assert_eq!(t(4, "client_addr").as_deref(), Some("192.168.4.3"));
        assert_eq!(recs[3].get("lease_time"), Some(&Value::Unset));
        let s = r.stats();
        assert_eq!((s.dhcp_lines, s.info_lines, s.dhcp_records), (5, 2, 5));
    }

    #[test]
    fn dhcp_with_ids_names_and_lease() {
        let (recs, problems, _) = run(
            REF,
            "dnsmasq-dhcp: 1608555111 available DHCP range: 192.168.50.10 -- 192.168.50.50
             dnsmasq-dhcp: 1608555111 client provides name: iPhone
             dnsmasq-dhcp: 1608555111 DHCPREQUEST(wlx0) 172.20.10.9 62:dc:06:5e:1e:d7 
             dnsmasq-dhcp: 1608555111 DHCPNAK(wlx0) 172.20.10.9 62:dc:06:5e:1e:d7 wrong address
             dnsmasq-dhcp: 1608555111 sent size:  1 option: 53 message-type  6
             dnsmasq-dhcp: 1608555113 client provides name: iPhone
             dnsmasq-dhcp: 1608555113 DHCPREQUEST(wlx0) 192.168.50.29 62:dc:06:5e:1e:d7 
             dnsmasq-dhcp: 1608555113 DHCPACK(wlx0) 192.168.50.29 62:dc:06:5e:1e:d7 iPhone
             dnsmasq-dhcp: 1608555113 sent size:  4 option: 51 lease-time  12h
             dnsmasq-dhcp: 1608555113 sent size:  4 option: 58 T1  6h
             dnsmasq: query[A] a.example from 192.168.50.29",
        );
        assert!(problems.is_empty());
        let dh: Vec<_> = recs.iter().filter(|r| r.path == "dhcp").collect();
        assert_eq!(dh.len(), 4);
        assert_eq!(text(dh[0], "host_name").as_deref(), Some("iPhone"));
        assert_eq!(dh[0].get("dnsmasq.xid"), Some(&Value::Count(1_608_555_111)));
        assert_eq!(
            text(dh[1], "dnsmasq.message").as_deref(),
            Some("wrong address")
        );
        assert_eq!(
            text(dh[1], "requested_addr").as_deref(),
            Some("172.20.10.9")
        );
        assert_eq!(dh[2].get("lease_time"), Some(&Value::Unset));
        assert_eq!(
            text(dh[3], "assigned_addr").as_deref(),
            Some("192.168.50.29")
        );
        assert_eq!(dh[3].get("lease_time"), Some(&Value::Interval(43_200.0)));
        assert_eq!(recs.iter().filter(|r| r.path == "dns").count(), 1);
    }

    #[test]
    fn info_lines_are_counted_not_kept() {
        let (recs, problems, r) = run(
            REF,
            "Jun 19 21:30:43 dnsmasq[830]: started, version 2.90 cachesize 150
             Jun 19 21:30:43 dnsmasq[830]: compile time options: IPv6 GNU-getopt DBus
             Jun 19 21:30:48 dnsmasq[830]: reading /etc/resolv.conf
             Jun 19 21:30:48 dnsmasq[830]: using nameserver 192.168.0.1#53
             Jun 19 21:30:48 dnsmasq[830]: read /etc/hosts - 7 names
             Jun 19 21:30:48 dnsmasq-tftp[830]: sent /srv/tftp/pxelinux.0 to 10.0.0.5
             dnsmasq[830]: validation example.com is SECURE",
        );
        assert!(recs.is_empty() && problems.is_empty());
        assert_eq!((r.stats().info_lines, r.stats().dns_lines), (6, 1));
    }

    #[test]
    fn year_inference_across_new_year() {
        // A file written on 2 January 2026: December lines belong to 2025.
        let reference = ts_of(2026, 1, 2, 8, 0, 0);
        let (recs, ..) = run(
            reference,
            "Dec 31 23:59:59 dnsmasq[1]: query[A] a.example from 10.0.0.1
             Jan  1 00:00:01 dnsmasq[1]: query[A] b.example from 10.0.0.1
             Jan  3 07:00:00 dnsmasq[1]: query[A] c.example from 10.0.0.1",
        );
        assert_eq!(
            recs[0].get("ts"),
            Some(&Value::Time(ts_of(2025, 12, 31, 23, 59, 59)))
        );
        assert_eq!(
            recs[1].get("ts"),
            Some(&Value::Time(ts_of(2026, 1, 1, 0, 0, 1)))
        );
        // Up to a day after the reference (clock skew) stays in the reference's year.
        assert_eq!(
            recs[2].get("ts"),
            Some(&Value::Time(ts_of(2026, 1, 3, 7, 0, 0)))
        );
        // A reference on 31 December: a 1 January line is the next day, the next year.
        let reference = ts_of(2025, 12, 31, 12, 0, 0);
        let (recs, ..) = run(
            reference,
            "Jan  1 00:10:00 dnsmasq[1]: query[A] a from 10.0.0.1",
        );
        assert_eq!(
            recs[0].get("ts"),
            Some(&Value::Time(ts_of(2026, 1, 1, 0, 10, 0)))
        );
        // 29 February goes to the last leap year.
        let (recs, ..) = run(
            reference,
            "Feb 29 10:00:00 dnsmasq[1]: query[A] a from 10.0.0.1",
        );
        assert_eq!(
            recs[0].get("ts"),
            Some(&Value::Time(ts_of(2024, 2, 29, 10, 0, 0)))
        );
    }

    #[test]
    fn every_query_line_gives_one_record() {
        let (recs, _, r) = run(
            REF,
            "dnsmasq: query[A] a from 1.1.1.1
             dnsmasq: query[A] a from 1.1.1.1
             dnsmasq: query[A]
             dnsmasq: query[A] a from 1.1.1.1
             dnsmasq: reply a is 1.2.3.4
             dnsmasq: reply zzz is 1.2.3.4",
        );
        assert_eq!(dns(&recs).len(), 4);
        assert!(recs.iter().all(|r| r.get("query").is_some()));
        assert_eq!(r.stats().orphans, 1);
    }

    #[test]
    fn garbage_never_panics() {
        let mut r = DnsmasqReader::new(i64::MAX);
        let (mut out, mut p) = (Vec::new(), Vec::new());
        for l in [
            &b"<"[..],
            b"<1>",
            b"<1>1 ",
            b"<1>1 - - dnsmasq - - [",
            b"<1>1 - - dnsmasq - - [a \"\\",
            b"Jun",
            b"Jun 1",
            b"Jun 19 21:30:43.",
            b"Jun 19 21:30:43.x dnsmasq: a",
            b"9999-",
            b"dnsmasq[",
            b"dnsmasq[]:",
            b"dnsmasq: 1",
            b"dnsmasq: 1 /",
            b"dnsmasq: 99999999999999999999999 1/2 query[A",
            b"dnsmasq-dhcp: DHCPACK(",
            b"dnsmasq-dhcp: 1 sent size: option: 51 lease-time 99999999999999999999d",
            b"dnsmasq: reply \xff is \xfe",
        ] {
            r.push(1, l, &mut out, &mut p);
        }
        let mut r = DnsmasqReader::new(i64::MIN);
        r.push(
            1,
            b"Feb 29 00:00:00 dnsmasq: query[A] a from ::1",
            &mut out,
            &mut p,
        );
        r.finish(&mut out);
    }
}

#[cfg(test)]
mod relay_tests {
    use super::*;

    #[test]
    fn rfc5424_from_a_3164_relay_keeps_its_record() {
        let mut d = DnsmasqReader::new(1_763_900_000_000_000_000);
        let (mut out, mut probs) = (Vec::new(), Vec::new());
        let lines: [&[u8]; 2] = [
            b"<30>1 2026-11-23T13:29:12.123Z host dnsmasq 830 - -  7 127.0.0.1/4455 query[A] a.test from 127.0.0.1",
            b"<30>1 2026-11-23T13:29:12.124Z host dnsmasq 830 - -  7 127.0.0.1/4455 config a.test is 10.0.0.1",
        ];
        for (i, l) in lines.iter().enumerate() {
            assert_ne!(
                d.push(i as u64 + 1, l, &mut out, &mut probs),
                LineKind::Info
            );
        }
        d.finish(&mut out);
        assert_eq!(out.len(), 1, "{probs:?}");
    }
}
