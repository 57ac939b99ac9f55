//! The embedded store: one SQLite file.
//!
//! Facts are keyed by (name, rrtype, rdata) with the name's labels reversed
//! (`com.example.www`), so adding a batch is one upsert a distinct fact and every name under
//! a domain is one range of the key. Each fact is in one secondary index besides: A/AAAA
//! facts by address as 16 bytes (IPv4 mapped into IPv6), so a network is one range too, the
//! others by their data (the names CNAMEs point at); NXDOMAIN and NODATA facts in none.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::fact::Batch;

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("passive DNS store {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("passive DNS store {path}: cannot create its folder: {source}")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// What to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Facts of this name, and the facts whose data is this name (what pointed at it).
    Name(String),
    /// Facts of this name and of every name under it (`*.example.com`).
    Domain(String),
    /// Names that resolved to this address.
    Addr(IpAddr),
    /// Names that resolved to an address in this network.
    Net(IpAddr, u8),
    /// Everything.
    All,
    /// Facts of this name only (a hop of a followed chain).
    #[doc(hidden)]
    Owner(String),
}

impl Target {
    /// Reads `NAME`, `*.DOMAIN`, an address, `ADDR/LEN` or `*`.
    pub fn parse(s: &str) -> Result<Target, String> {
        let s = s.trim();
        if s == "*" {
            return Ok(Target::All);
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Target::Addr(ip));
        }
        if let Some((a, len)) = s.split_once('/') {
            let ip: IpAddr = a
                .parse()
                .map_err(|_| format!("{s:?}: not an address/length"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len: u8 = len
                .parse()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?;
            return Ok(Target::Net(ip, len));
        }
        let norm = |n: &str| n.trim_end_matches('.').to_ascii_lowercase();
        match s.strip_prefix("*.") {
            Some(d) if !d.is_empty() => Ok(Target::Domain(norm(d))),
            _ if s.is_empty() || s.contains(['*', ' ', '/']) => Err(format!(
                "{s:?}: give a name, *.domain, an address, a network (10.0.0.0/8) or *"
            )),
            _ => Ok(Target::Name(norm(s))),
        }
    }
}

/// A lookup: a target within an optional time window (epoch seconds; a fact is in it when it
/// was seen at some time inside).
#[derive(Debug, Clone)]
pub struct Lookup {
    pub target: Target,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Most rows returned (newest last-seen first).
    pub limit: usize,
}

/// One fact as the Common Output Format names its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub rrname: String,
    pub rrtype: String,
    pub rdata: String,
    pub time_first: i64,
    pub time_last: i64,
    pub count: u64,
    /// Clients that asked (capped), when kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<String>,
    /// The sensor the store belongs to, when one is named (COF's `sensor_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensor_id: Option<String>,
}

/// A file's identity for idempotent imports: path, size, modification time and a hash of
/// its first 64 KiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub path: String,
    pub size: u64,
    pub mtime: i64,
    pub head: u64,
}

impl Fingerprint {
    /// The fingerprint of a file on disk.
    pub fn of(path: &Path) -> std::io::Result<Fingerprint> {
        use std::io::Read;
        let meta = std::fs::metadata(path)?;
        let mtime = meta
            .modified()?
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        let mut head = Vec::with_capacity(64 << 10);
        std::fs::File::open(path)?
            .take(64 << 10)
            .read_to_end(&mut head)?;
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        Ok(Fingerprint {
            path: canonical.display().to_string(),
            size: meta.len(),
            mtime,
            head: fnv1a(&head),
        })
    }
}

fn fnv1a(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What the store knows of a file imported before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// Never imported.
    No,
    /// Imported, and unchanged since.
    Same,
    /// Imported, and changed since (epoch seconds of that import).
    Changed(i64),
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -65536;
CREATE TABLE IF NOT EXISTS facts (
    rrname_rev TEXT NOT NULL,
    rrtype TEXT NOT NULL,
    rdata TEXT NOT NULL,
    time_first INTEGER NOT NULL,
    time_last INTEGER NOT NULL,
    count INTEGER NOT NULL,
    ip BLOB,
    PRIMARY KEY (rrname_rev, rrtype, rdata)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS facts_by_name_data ON facts (rdata)
    WHERE ip IS NULL AND rdata NOT IN ('NXDOMAIN', 'NODATA');
CREATE INDEX IF NOT EXISTS facts_by_ip ON facts (ip) WHERE ip IS NOT NULL;
CREATE TABLE IF NOT EXISTS clients (
    rrname_rev TEXT NOT NULL,
    rrtype TEXT NOT NULL,
    rdata TEXT NOT NULL,
    client TEXT NOT NULL,
    PRIMARY KEY (rrname_rev, rrtype, rdata, client)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS imports (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime INTEGER NOT NULL,
    head INTEGER NOT NULL,
    at INTEGER NOT NULL
);
";

/// The passive DNS store.
pub struct Store {
    conn: Connection,
    path: String,
}

/// `www.example.com` -> `com.example.www`.
fn reversed(name: &str) -> String {
    name.rsplit('.').collect::<Vec<_>>().join(".")
}

fn ip_key(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The first and last address of a network, as keys.
fn net_range(ip: IpAddr, len: u8) -> ([u8; 16], [u8; 16]) {
    let (bits, len) = match ip {
        IpAddr::V4(_) => (u128::from_be_bytes(ip_key(ip)), 96 + u32::from(len)),
        IpAddr::V6(v6) => (u128::from(v6), u32::from(len)),
    };
    let host = u128::MAX.checked_shr(len).unwrap_or(0);
    let lo = Ipv6Addr::from(bits & !host).octets();
    let hi = Ipv6Addr::from(bits | host).octets();
    (lo, hi)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Store {
    /// The earliest time (epoch seconds) each of `names` was seen in any answer, for the names
    /// the store holds (reports: which names are new).
    pub fn first_seen(&self, names: &[&str]) -> Result<HashMap<String, i64>, StoreError> {
        let e = |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let mut st = self
            .conn
            .prepare_cached("SELECT min(time_first) FROM facts WHERE rrname_rev = ?1")
            .map_err(e)?;
        let mut out = HashMap::new();
        for n in names {
            let t: Option<i64> = st.query_row([reversed(n)], |r| r.get(0)).map_err(e)?;
            if let Some(t) = t {
                out.insert(n.to_string(), t);
            }
        }
        Ok(out)
    }

    /// Opens (creating it and its folder if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let name = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                path: name.clone(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: name.clone(),
            source,
        })?;
        let store = Store { conn, path: name };
        store.conn.execute_batch(SCHEMA).map_err(|e| store.err(e))?;
        Ok(store)
    }

    /// A store in memory (tests, dry runs).
    pub fn in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Sqlite {
            path: ":memory:".into(),
            source,
        })?;
        let store = Store {
            conn,
            path: ":memory:".into(),
        };
        store.conn.execute_batch(SCHEMA).map_err(|e| store.err(e))?;
        Ok(store)
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Adds a batch in one transaction; with `file`, also records that file as imported, so
    /// the facts and the mark land together or not at all.
    pub fn add(&mut self, batch: &Batch, file: Option<&Fingerprint>) -> Result<(), StoreError> {
        let mut w = self.writer()?;
        w.add(batch)?;
        w.commit(file)
    }

    /// A transaction to add several batches in (a large file's, folded a part at a time).
    pub fn writer(&mut self) -> Result<Writer<'_>, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|source| StoreError::Sqlite {
                path: path.clone(),
                source,
            })?;
        Ok(Writer { tx, path })
    }

    /// Whether a file was imported before, and whether it changed since.
    pub fn imported(&self, f: &Fingerprint) -> Result<Imported, StoreError> {
        let row: Option<(i64, i64, i64, i64)> = self
            .conn
            .query_row(
                "SELECT size, mtime, head, at FROM imports WHERE path = ?1",
                [&f.path],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(match row {
            None => Imported::No,
            Some((size, mtime, head, _))
                if size == f.size as i64 && mtime == f.mtime && head == f.head as i64 =>
            {
                Imported::Same
            }
            Some((.., at)) => Imported::Changed(at),
        })
    }

    /// The facts matching `q`, most recently seen first. For a name, the CNAME chain is
    /// followed: the facts of each name it points to come after (up to 8 hops).
    pub fn lookup(&self, q: &Lookup) -> Result<Vec<Row>, StoreError> {
        let mut rows = self.lookup_inner(q).map_err(|e| self.err(e))?;
        let Target::Name(first) = &q.target else {
            return Ok(rows);
        };
        let mut seen = vec![first.clone()];
        let mut at = 0;
        for _ in 0..8 {
            let next: Vec<String> = rows[at..]
                .iter()
                .filter(|r| r.rrtype == "CNAME" && seen.contains(&r.rrname))
                .map(|r| r.rdata.clone())
                .filter(|n| !seen.contains(n))
                .collect();
            if next.is_empty() || rows.len() >= q.limit {
                break;
            }
            at = rows.len();
            for name in next {
                let hop = Lookup {
                    target: Target::Owner(name.clone()),
                    limit: q.limit - rows.len().min(q.limit),
                    ..q.clone()
                };
                rows.extend(self.lookup_inner(&hop).map_err(|e| self.err(e))?);
                seen.push(name);
            }
        }
        Ok(rows)
    }

    fn lookup_inner(&self, q: &Lookup) -> rusqlite::Result<Vec<Row>> {
        use rusqlite::types::Value as Sql;
        let (cond, mut args): (&str, Vec<Sql>) = match &q.target {
            Target::Name(n) => (
                // The index's own condition, so the planner may use it.
                "(rrname_rev = ?1 OR (rdata = ?2 AND ip IS NULL \
                  AND rdata NOT IN ('NXDOMAIN', 'NODATA')))",
                vec![Sql::Text(reversed(n)), Sql::Text(n.clone())],
            ),
            Target::Owner(n) => ("rrname_rev = ?1", vec![Sql::Text(reversed(n))]),
            Target::Domain(d) => {
                let rev = reversed(d);
                (
                    "(rrname_rev = ?1 OR (rrname_rev > ?2 AND rrname_rev < ?3))",
                    vec![
                        Sql::Text(rev.clone()),
                        Sql::Text(format!("{rev}.")),
                        Sql::Text(format!("{rev}/")),
                    ],
                )
            }
            Target::Addr(ip) => ("ip = ?1", vec![Sql::Blob(ip_key(*ip).to_vec())]),
            Target::Net(ip, len) => {
                let (lo, hi) = net_range(*ip, *len);
                (
                    "ip BETWEEN ?1 AND ?2",
                    vec![Sql::Blob(lo.to_vec()), Sql::Blob(hi.to_vec())],
                )
            }
            Target::All => ("1", Vec::new()),
        };
        let mut sql = format!(
            "SELECT rrname_rev, rrtype, rdata, time_first, time_last, count FROM facts WHERE {cond}"
        );
        if let Some(s) = q.since {
            args.push(Sql::Integer(s));
            sql.push_str(&format!(" AND time_last >= ?{}", args.len()));
        }
        if let Some(u) = q.until {
            args.push(Sql::Integer(u));
            sql.push_str(&format!(" AND time_first <= ?{}", args.len()));
        }
        args.push(Sql::Integer(q.limit.min(i64::MAX as usize) as i64));
        sql.push_str(&format!(
            " ORDER BY time_last DESC, rrname_rev, rrtype, rdata LIMIT ?{}",
            args.len()
        ));
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            Ok(Row {
                rrname: reversed(&r.get::<_, String>(0)?),
                rrtype: r.get(1)?,
                rdata: r.get(2)?,
                time_first: r.get(3)?,
                time_last: r.get(4)?,
                count: r.get::<_, i64>(5)? as u64,
                clients: Vec::new(),
                sensor_id: None,
            })
        })?;
        rows.collect()
    }

    /// Fills in the clients kept for each row.
    pub fn with_clients(&self, rows: &mut [Row]) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT client FROM clients WHERE rrname_rev = ?1 AND rrtype = ?2 AND rdata = ?3
                 ORDER BY client",
            )
            .map_err(|e| self.err(e))?;
        for r in rows {
            r.clients = stmt
                .query_map(params![reversed(&r.rrname), r.rrtype, r.rdata], |x| {
                    x.get(0)
                })
                .and_then(|m| m.collect())
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Distinct facts held.
    pub fn len(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM facts", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Whether the store holds no fact.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }
}

/// Batches added in one transaction ([`Store::writer`]); nothing is kept unless
/// [`Writer::commit`] is called.
pub struct Writer<'s> {
    tx: rusqlite::Transaction<'s>,
    path: String,
}

impl Writer<'_> {
    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Adds a batch's facts.
    pub fn add(&mut self, batch: &Batch) -> Result<(), StoreError> {
        self.add_inner(batch).map_err(|e| self.err(e))
    }

    fn add_inner(&mut self, batch: &Batch) -> rusqlite::Result<()> {
        let max_clients = batch.max_clients as i64;
        let mut upsert = self.tx.prepare_cached(
            "INSERT INTO facts (rrname_rev, rrtype, rdata, time_first, time_last, count, ip)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (rrname_rev, rrtype, rdata) DO UPDATE SET
                time_first = min(time_first, excluded.time_first),
                time_last = max(time_last, excluded.time_last),
                count = count + excluded.count",
        )?;
        let mut client = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO clients (rrname_rev, rrtype, rdata, client)
             SELECT ?1, ?2, ?3, ?4
             WHERE (SELECT count(*) FROM clients
                    WHERE rrname_rev = ?1 AND rrtype = ?2 AND rdata = ?3) < ?5",
        )?;
        // In key order: the primary key's B-tree is then written front to back.
        let mut facts: Vec<_> = batch
            .seen
            .iter()
            .map(|((rrname, rrtype, rdata), s)| (reversed(rrname), rrtype, rdata, s))
            .collect();
        facts.sort_unstable_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
        for (rev, rrtype, rdata, s) in facts {
            let ip = match rrtype.as_str() {
                "A" | "AAAA" => rdata.parse::<IpAddr>().ok().map(|ip| ip_key(ip).to_vec()),
                _ => None,
            };
            upsert.execute(params![
                rev,
                rrtype,
                rdata,
                s.first,
                s.last,
                s.count as i64,
                ip
            ])?;
            for c in &s.clients {
                client.execute(params![rev, rrtype, rdata, c.to_string(), max_clients])?;
            }
        }
        Ok(())
    }

    /// Commits what was added; with `file`, marks that file imported in the same commit.
    pub fn commit(self, file: Option<&Fingerprint>) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        if let Some(f) = file {
            self.tx
                .execute(
                    "INSERT OR REPLACE INTO imports (path, size, mtime, head, at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![f.path, f.size as i64, f.mtime, f.head as i64, unix_now()],
                )
                .map_err(&err)?;
        }
        self.tx.commit().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fact::Fact;

    fn fact(rrname: &str, rrtype: &str, rdata: &str, ts: i64, client: &str) -> Fact {
        Fact {
            rrname: rrname.into(),
            rrtype: rrtype.into(),
            rdata: rdata.into(),
            ts,
            client: Some(client.parse().unwrap()),
        }
    }

    fn look(s: &Store, target: &str) -> Vec<(String, String, i64, i64, u64)> {
        let q = Lookup {
            target: Target::parse(target).unwrap(),
            since: None,
            until: None,
            limit: 100,
        };
        let mut v: Vec<_> = s
            .lookup(&q)
            .unwrap()
            .into_iter()
            .map(|r| (r.rrname, r.rdata, r.time_first, r.time_last, r.count))
            .collect();
        v.sort();
        v
    }

    fn store() -> Store {
        let mut s = Store::in_memory().unwrap();
        let mut b = Batch::new(2);
        b.add(fact(
            "www.example.com",
            "CNAME",
            "edge.cdn.net",
            100,
            "10.0.0.1",
        ));
        b.add(fact("edge.cdn.net", "A", "192.0.2.7", 100, "10.0.0.1"));
        b.add(fact("edge.cdn.net", "A", "192.0.2.7", 300, "10.0.0.2"));
        b.add(fact("edge.cdn.net", "A", "192.0.2.7", 200, "10.0.0.3"));
        b.add(fact(
            "mail.example.com",
            "AAAA",
            "2001:db8::25",
            50,
            "10.0.0.1",
        ));
        b.add(fact("example.org", "A", "198.51.100.1", 400, "10.0.0.1"));
        s.add(&b, None).unwrap();
        s
    }

    #[test]
    fn names_domains_addresses_and_networks() {
        let s = store();
        let w = |a: &str, b: &str, f, l, c| (a.to_string(), b.to_string(), f, l, c);
        // A name: its facts and, through its CNAME, its target's.
        assert_eq!(
            look(&s, "www.example.com"),
            [
                w("edge.cdn.net", "192.0.2.7", 100, 300, 3),
                w("www.example.com", "edge.cdn.net", 100, 100, 1)
            ]
        );
        // A name: its own facts and what points at it.
        assert_eq!(
            look(&s, "edge.cdn.net"),
            [
                w("edge.cdn.net", "192.0.2.7", 100, 300, 3),
                w("www.example.com", "edge.cdn.net", 100, 100, 1)
            ]
        );
        assert_eq!(look(&s, "*.example.com").len(), 2);
        assert_eq!(look(&s, "*.com").len(), 2);
        assert_eq!(look(&s, "*.ample.com"), []);
        assert_eq!(
            look(&s, "192.0.2.7"),
            [w("edge.cdn.net", "192.0.2.7", 100, 300, 3)]
        );
        assert_eq!(look(&s, "192.0.2.0/24").len(), 1);
        assert_eq!(look(&s, "0.0.0.0/0").len(), 2);
        assert_eq!(look(&s, "2001:db8::/32").len(), 1);
        assert_eq!(look(&s, "*").len(), 4);
    }

    #[test]
    fn batches_add_up_and_clients_are_capped() {
        let mut s = store();
        let mut b = Batch::new(2);
        b.add(fact("edge.cdn.net", "A", "192.0.2.7", 50, "10.0.0.9"));
        s.add(&b, None).unwrap();
        let q = Lookup {
            target: Target::Addr("192.0.2.7".parse().unwrap()),
            since: None,
            until: None,
            limit: 10,
        };
        let mut rows = s.lookup(&q).unwrap();
        s.with_clients(&mut rows).unwrap();
        assert_eq!(
            (rows[0].time_first, rows[0].time_last, rows[0].count),
            (50, 300, 4)
        );
        assert_eq!(rows[0].clients, ["10.0.0.1", "10.0.0.2"]);
    }

    #[test]
    fn a_time_window_keeps_facts_seen_inside_it() {
        let s = store();
        let q = |since, until| Lookup {
            target: Target::All,
            since,
            until,
            limit: 100,
        };
        assert_eq!(s.lookup(&q(Some(250), None)).unwrap().len(), 2);
        assert_eq!(s.lookup(&q(None, Some(60))).unwrap().len(), 1);
        assert_eq!(s.lookup(&q(Some(150), Some(250))).unwrap().len(), 1);
    }

    #[test]
    fn targets_parse() {
        assert_eq!(
            Target::parse("WWW.Example.com.").unwrap(),
            Target::Name("www.example.com".into())
        );
        assert_eq!(
            Target::parse("*.Example.com").unwrap(),
            Target::Domain("example.com".into())
        );
        assert!(matches!(
            Target::parse("10.0.0.0/8").unwrap(),
            Target::Net(_, 8)
        ));
        assert!(Target::parse("10.0.0.0/33").is_err());
        assert!(Target::parse("a*b").is_err());
        assert_eq!(Target::parse("*").unwrap(), Target::All);
    }

    proptest::proptest! {
        /// Any text is a target or a clear error, and any target is a lookup that runs.
        #[test]
        fn any_target_text_is_read_without_panic(text in "\\PC{0,40}") {
            if let Ok(target) = Target::parse(&text) {
                let q = Lookup { target, since: None, until: None, limit: 10 };
                store().lookup(&q).unwrap();
            }
        }
    }

    #[test]
    fn imports_are_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("dns.log");
        std::fs::write(&p, "one\n").unwrap();
        let mut s = Store::open(&dir.path().join("pdns.sqlite")).unwrap();
        let f = Fingerprint::of(&p).unwrap();
        assert_eq!(s.imported(&f).unwrap(), Imported::No);
        s.add(&Batch::new(0), Some(&f)).unwrap();
        assert_eq!(s.imported(&f).unwrap(), Imported::Same);
        std::fs::write(&p, "one\ntwo\n").unwrap();
        let g = Fingerprint::of(&p).unwrap();
        assert!(matches!(s.imported(&g).unwrap(), Imported::Changed(_)));
    }
}
