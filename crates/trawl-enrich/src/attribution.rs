//! Host attribution: which device (MAC, host name, owner) held an IP address at a given time.
//!
//! Learned from DHCP records (Zeek's `dhcp.log`, Bro 2.x's, trawl's dnsmasq-derived ones) and
//! Zeek's `known_devices.log`, complemented by a static [`Inventory`].
//!
//! Lease model: per IP, a short list of non-overlapping intervals `[start, end)` sorted by
//! start, each with the MAC that held it. An ACK at `ts` with `lease_time` L gives
//! `[ts, ts + L)`; an ACK for the same MAC that overlaps or touches the previous interval
//! extends it (a renewal); a lease for another MAC ends whatever interval it overlaps at its
//! own start; a RELEASE ends the interval at its `ts`. Records may arrive out of order: the
//! list is kept consistent whatever order they come in. Intervals that ended more than
//! `horizon` before the newest observed time are dropped, so memory follows the number of
//! active addresses, not the length of the stream.
//!
//! MAC to name: Zeek's `known_devices` name wins over the DHCP `host_name`; each keeps a short
//! history of (time, name) so a lookup uses the name as of the record's time.
//!
//! State persists in one SQLite file ([`Attribution::save`], [`Attribution::load`]): after the
//! first save only what changed since the previous save is written, in one transaction.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, Row};
use trawl_zeek::time::Nanos;
use trawl_zeek::Record;

use crate::fields::{addr_of, normalize_mac, seconds_of, strings_of, text_of, time_of};
use crate::inventory::Inventory;

const SEC: i64 = 1_000_000_000;
/// Names remembered per MAC and source.
const NAME_HISTORY: usize = 8;
/// A lease longer than this (Bro's 0xffffffff "infinite") is clamped to it.
const MAX_LEASE: i64 = 366 * 86_400 * SEC;

/// Tuning of [`Attribution`].
#[derive(Debug, Clone)]
pub struct AttributionConfig {
    /// Lease length when a DHCP record gives none (dnsmasq logs often do not).
    pub default_lease: Duration,
    /// Leases that ended this long before the newest observed time are forgotten.
    pub lease_horizon: Duration,
    /// MACs not seen for this long are forgotten (with their names).
    pub mac_horizon: Duration,
}

impl Default for AttributionConfig {
    fn default() -> Self {
        AttributionConfig {
            default_lease: Duration::from_secs(86_400),
            lease_horizon: Duration::from_secs(7 * 86_400),
            mac_horizon: Duration::from_secs(90 * 86_400),
        }
    }
}

/// What is known of the host that held an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Host<'a> {
    /// Its MAC (lower case, colons).
    pub mac: Option<&'a str>,
    /// Its name.
    pub workstation: Option<&'a str>,
    /// Who owns it (inventory only).
    pub owner: Option<&'a str>,
}

/// Why attribution state could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (open, query, write).
    #[error("attribution store {path}: {source}")]
    Sqlite {
        /// The store file.
        path: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A row that this code did not write.
    #[error("attribution store {path}: bad row: {what}")]
    BadRow {
        /// The store file.
        path: String,
        /// The row.
        what: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Lease {
    start: Nanos,
    end: Nanos,
    mac: Box<str>,
}

#[derive(Debug, Clone, Default)]
struct MacInfo {
    /// From known_devices, sorted by time.
    known: Vec<(Nanos, Box<str>)>,
    /// From DHCP host_name, sorted by time.
    dhcp: Vec<(Nanos, Box<str>)>,
    last_seen: Nanos,
}

/// Learns leases and names; answers who held an address when.
pub struct Attribution {
    config: AttributionConfig,
    leases: HashMap<IpAddr, Vec<Lease>>,
    macs: HashMap<Box<str>, MacInfo>,
    inventory: Option<Inventory>,
    newest: Nanos,
    last_prune: Nanos,
    /// Pruning waits (a batch is being learned before it is looked up).
    hold: bool,
    dirty_ips: HashSet<IpAddr>,
    dirty_macs: HashSet<Box<str>>,
    store: Option<(PathBuf, Connection)>,
}

impl std::fmt::Debug for Attribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attribution")
            .field("ips", &self.leases.len())
            .field("macs", &self.macs.len())
            .field("newest", &self.newest)
            .finish()
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl Attribution {
    /// Empty state.
    pub fn new(config: AttributionConfig) -> Self {
        Attribution {
            config,
            leases: HashMap::new(),
            macs: HashMap::new(),
            inventory: None,
            newest: i64::MIN,
            last_prune: i64::MIN,
            hold: false,
            dirty_ips: HashSet::new(),
            dirty_macs: HashSet::new(),
            store: None,
        }
    }

    /// Adds a static inventory (replacing any previous one).
    pub fn set_inventory(&mut self, inv: Inventory) {
        self.inventory = Some(inv);
    }

    /// Whether a static inventory is set (the only source of owners).
    pub fn has_inventory(&self) -> bool {
        self.inventory.is_some()
    }

    /// Number of addresses with leases held.
    pub fn addresses(&self) -> usize {
        self.leases.len()
    }

    /// Learns from a record if it is a `dhcp` or `known_devices` record; says whether it was.
    pub fn observe(&mut self, rec: &Record<'_>) -> bool {
        match &*rec.path {
            "dhcp" => {
                self.observe_dhcp(rec);
                true
            }
            "known_devices" => {
                self.observe_known(rec);
                true
            }
            _ => false,
        }
    }

    fn observe_known(&mut self, rec: &Record<'_>) {
        let (Some(ts), Some(mac)) = (time_of(rec, "ts"), text_of(rec, "mac")) else {
            return;
        };
        let Some(mac) = normalize_mac(mac) else {
            return;
        };
        let name = text_of(rec, "dhcp_host_name").or_else(|| text_of(rec, "host_name"));
        self.saw(ts);
        self.touch_mac(&mac, ts, name, true);
        self.maybe_prune();
    }

    fn observe_dhcp(&mut self, rec: &Record<'_>) {
        let Some(ts) = time_of(rec, "ts") else {
            return;
        };
        let Some(mac) = text_of(rec, "mac").and_then(normalize_mac) else {
            return;
        };
        self.saw(ts);
        self.touch_mac(&mac, ts, text_of(rec, "host_name"), false);
        let (mut ack, mut release, mut any) = (false, false, false);
        for t in strings_of(rec, "msg_types") {
            any = true;
            let t = t.strip_prefix(b"DHCP").unwrap_or(t);
            match t.to_ascii_uppercase().as_slice() {
                b"ACK" | b"REPLY" | b"BOOTP" => ack = true,
                b"RELEASE" => release = true,
                _ => {}
            }
        }
        // Bro 2.x logs had no msg_types and only logged ACKs.
        let ack = ack || !any;
        let ip = addr_of(rec, "assigned_addr")
            .or_else(|| addr_of(rec, "assigned_ip"))
            .or_else(|| addr_of(rec, "client_addr"));
        if let Some(ip) = ip {
            if release {
                self.release(ip, &mac, ts);
            } else if ack {
                let secs = seconds_of(rec, "lease_time")
                    .filter(|s| *s > 0.0)
                    .map_or(nanos(self.config.default_lease), |s| {
                        (s * 1e9).min(MAX_LEASE as f64) as i64
                    });
                self.add_lease(ip, mac.into(), ts, ts.saturating_add(secs));
            }
        }
        self.maybe_prune();
    }

    fn saw(&mut self, ts: Nanos) {
        self.newest = self.newest.max(ts);
    }

    fn touch_mac(&mut self, mac: &str, ts: Nanos, name: Option<&str>, known: bool) {
        let info = match self.macs.get_mut(mac) {
            Some(i) => i,
            None => self.macs.entry(mac.into()).or_default(),
        };
        let mut changed = ts > info.last_seen;
        info.last_seen = info.last_seen.max(ts);
        if let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) {
            let list = if known {
                &mut info.known
            } else {
                &mut info.dhcp
            };
            changed |= remember_name(list, ts, name);
        }
        if changed {
            self.dirty_macs.insert(mac.into());
        }
    }

    fn add_lease(&mut self, ip: IpAddr, mac: Box<str>, start: Nanos, end: Nanos) {
        if end <= start {
            return;
        }
        let list = self.leases.entry(ip).or_default();
        let before = list.clone();
        let at = list.partition_point(|l| l.start <= start);
        list.insert(at, Lease { start, end, mac });
        settle(list);
        if *list != before {
            self.dirty_ips.insert(ip);
        }
    }

    fn release(&mut self, ip: IpAddr, mac: &str, ts: Nanos) {
        let Some(list) = self.leases.get_mut(&ip) else {
            return;
        };
        if let Some(l) = list
            .iter_mut()
            .find(|l| l.start <= ts && ts < l.end && &*l.mac == mac)
        {
            l.end = ts;
            list.retain(|l| l.end > l.start);
            self.dirty_ips.insert(ip);
        }
    }

    /// Holds pruning back while `on`, and catches up when it is turned off: a batch learned
    /// as a whole before its records are looked up must not lose the leases of its older
    /// records to the newer ones (captures of different years read in one pass).
    pub fn hold_pruning(&mut self, on: bool) {
        self.hold = on;
        if !on {
            self.maybe_prune();
        }
    }

    /// Forgets old leases and MACs once an hour of observed time.
    fn maybe_prune(&mut self) {
        if self.hold || self.newest < self.last_prune.saturating_add(3600 * SEC) {
            return;
        }
        self.last_prune = self.newest;
        self.prune();
    }

    /// Forgets leases that ended before the lease horizon and MACs unseen for the MAC horizon.
    pub fn prune(&mut self) {
        let lease_cut = self.newest.saturating_sub(nanos(self.config.lease_horizon));
        let dirty = &mut self.dirty_ips;
        self.leases.retain(|ip, list| {
            let n = list.len();
            list.retain(|l| l.end >= lease_cut);
            if list.len() != n {
                dirty.insert(*ip);
            }
            !list.is_empty()
        });
        let mac_cut = self.newest.saturating_sub(nanos(self.config.mac_horizon));
        let dirty = &mut self.dirty_macs;
        self.macs.retain(|mac, info| {
            let keep = info.last_seen >= mac_cut;
            if !keep {
                dirty.insert(mac.clone());
            }
            keep
        });
    }

    /// The MAC that held `ip` at `ts`, from learned leases only.
    pub fn mac_at(&self, ip: IpAddr, ts: Nanos) -> Option<&str> {
        let list = self.leases.get(&ip)?;
        let i = list.partition_point(|l| l.start <= ts).checked_sub(1)?;
        let l = &list[i];
        (ts < l.end).then_some(&*l.mac)
    }

    /// The name of a MAC as of `ts`: known_devices, else DHCP host_name.
    pub fn name_of(&self, mac: &str, ts: Nanos) -> Option<&str> {
        let info = self.macs.get(mac)?;
        name_at(&info.known, ts).or_else(|| name_at(&info.dhcp, ts))
    }

    /// Who held `ip` at `ts` (the record's time, not now). Inventory entries by MAC override
    /// learned names; entries by IP complement them (static addresses, no DHCP).
    pub fn lookup(&self, ip: IpAddr, ts: Nanos) -> Option<Host<'_>> {
        let inv = self.inventory.as_ref();
        let by_ip = inv.and_then(|i| i.by_ip(ip));
        let mac = self
            .mac_at(ip, ts)
            .or_else(|| by_ip.and_then(|e| e.mac.as_deref()));
        let by_mac = mac.and_then(|m| inv.and_then(|i| i.by_mac(m)));
        let host = Host {
            mac,
            workstation: by_mac
                .and_then(|e| e.hostname.as_deref())
                .or_else(|| mac.and_then(|m| self.name_of(m, ts)))
                .or_else(|| by_ip.and_then(|e| e.hostname.as_deref())),
            owner: by_mac
                .and_then(|e| e.owner.as_deref())
                .or_else(|| by_ip.and_then(|e| e.owner.as_deref())),
        };
        (host != Host::default()).then_some(host)
    }

    /// Opens (or creates) a store file and loads its state.
    pub fn load(path: impl AsRef<Path>, config: AttributionConfig) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let conn = open_store(path)?;
        let mut a = Attribution::new(config);
        a.read_store(path, &conn)?;
        a.store = Some((path.to_path_buf(), conn));
        Ok(a)
    }

    /// Writes the state to a store file; returns the number of addresses and MACs written.
    /// To the file this state was loaded from or last saved to, only changes since the last
    /// save are written; to another file, everything (and that file is used from then on).
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<usize, StoreError> {
        let path = path.as_ref();
        let full = self.store.as_ref().map_or(true, |(p, _)| p != path);
        if full {
            self.store = Some((path.to_path_buf(), open_store(path)?));
            self.dirty_ips = self.leases.keys().copied().collect();
            self.dirty_macs = self.macs.keys().cloned().collect();
        }
        let n = self.write_store(full)?;
        self.dirty_ips.clear();
        self.dirty_macs.clear();
        Ok(n)
    }

    fn write_store(&mut self, full: bool) -> Result<usize, StoreError> {
        let Some((path, conn)) = self.store.as_mut() else {
            return Ok(0);
        };
        let err = |e| StoreError::Sqlite {
            path: path.display().to_string(),
            source: e,
        };
        let tx = conn.transaction().map_err(err)?;
        {
            if full {
                tx.execute_batch("DELETE FROM leases; DELETE FROM names; DELETE FROM macs;")
                    .map_err(err)?;
            }
            let mut del = tx
                .prepare_cached("DELETE FROM leases WHERE ip = ?1")
                .map_err(err)?;
            let mut ins = tx
                .prepare_cached("INSERT INTO leases (ip, start, end_, mac) VALUES (?1, ?2, ?3, ?4)")
                .map_err(err)?;
            for ip in &self.dirty_ips {
                let key = ip.to_string();
                del.execute([&key]).map_err(err)?;
                for l in self.leases.get(ip).into_iter().flatten() {
                    ins.execute(params![key, l.start, l.end, &*l.mac])
                        .map_err(err)?;
                }
            }
            let mut del_names = tx
                .prepare_cached("DELETE FROM names WHERE mac = ?1")
                .map_err(err)?;
            let mut del_mac = tx
                .prepare_cached("DELETE FROM macs WHERE mac = ?1")
                .map_err(err)?;
            let mut ins_mac = tx
                .prepare_cached("INSERT INTO macs (mac, last_seen) VALUES (?1, ?2)")
                .map_err(err)?;
            let mut ins_name = tx
                .prepare_cached("INSERT INTO names (mac, known, ts, name) VALUES (?1, ?2, ?3, ?4)")
                .map_err(err)?;
            for mac in &self.dirty_macs {
                del_names.execute([&**mac]).map_err(err)?;
                del_mac.execute([&**mac]).map_err(err)?;
                let Some(info) = self.macs.get(mac) else {
                    continue;
                };
                ins_mac
                    .execute(params![&**mac, info.last_seen])
                    .map_err(err)?;
                for (known, list) in [(true, &info.known), (false, &info.dhcp)] {
                    for (ts, name) in list {
                        ins_name
                            .execute(params![&**mac, known, ts, &**name])
                            .map_err(err)?;
                    }
                }
            }
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('newest', ?1)",
                [self.newest],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(self.dirty_ips.len() + self.dirty_macs.len())
    }

    fn read_store(&mut self, path: &Path, conn: &Connection) -> Result<(), StoreError> {
        let p = || path.display().to_string();
        let err = |e| StoreError::Sqlite {
            path: p(),
            source: e,
        };
        let bad = |what: String| StoreError::BadRow { path: p(), what };
        let leases = "SELECT ip, start, end_, mac FROM leases ORDER BY ip, start";
        for_each_row(
            conn,
            leases,
            &err,
            |(ip, start, end, mac): (String, i64, i64, String)| {
                let ip: IpAddr = ip.parse().map_err(|_| bad(format!("lease ip {ip:?}")))?;
                self.leases.entry(ip).or_default().push(Lease {
                    start,
                    end,
                    mac: mac.into(),
                });
                Ok(())
            },
        )?;
        let macs = "SELECT mac, last_seen FROM macs";
        for_each_row(conn, macs, &err, |(mac, last_seen): (String, i64)| {
            self.macs.entry(mac.into()).or_default().last_seen = last_seen;
            Ok(())
        })?;
        let names = "SELECT mac, known, ts, name FROM names ORDER BY mac, known, ts";
        for_each_row(
            conn,
            names,
            &err,
            |(mac, known, ts, name): (String, bool, i64, String)| {
                let info = self.macs.entry(mac.into()).or_default();
                let list = if known {
                    &mut info.known
                } else {
                    &mut info.dhcp
                };
                list.push((ts, name.into()));
                Ok(())
            },
        )?;
        self.newest = conn
            .query_row("SELECT value FROM meta WHERE key = 'newest'", [], |r| {
                r.get(0)
            })
            .unwrap_or(i64::MIN);
        self.last_prune = self.newest;
        Ok(())
    }
}

/// Hands `each` every row `sql` selects, as a tuple of its columns; `err` names the store
/// in errors.
fn for_each_row<T>(
    conn: &Connection,
    sql: &str,
    err: &impl Fn(rusqlite::Error) -> StoreError,
    mut each: impl FnMut(T) -> Result<(), StoreError>,
) -> Result<(), StoreError>
where
    T: for<'r> TryFrom<&'r Row<'r>, Error = rusqlite::Error>,
{
    let mut q = conn.prepare(sql).map_err(err)?;
    for row in q.query_map([], |r| T::try_from(r)).map_err(err)? {
        each(row.map_err(err)?)?;
    }
    Ok(())
}

fn open_store(path: &Path) -> Result<Connection, StoreError> {
    let err = |e| StoreError::Sqlite {
        path: path.display().to_string(),
        source: e,
    };
    let conn = Connection::open(path).map_err(err)?;
    // WAL + NORMAL: a commit per batch stays cheap and a crash loses at most the last batch.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         CREATE TABLE IF NOT EXISTS leases (ip TEXT NOT NULL, start INTEGER NOT NULL,
             end_ INTEGER NOT NULL, mac TEXT NOT NULL, PRIMARY KEY (ip, start));
         CREATE TABLE IF NOT EXISTS macs (mac TEXT PRIMARY KEY, last_seen INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS names (mac TEXT NOT NULL, known INTEGER NOT NULL,
             ts INTEGER NOT NULL, name TEXT NOT NULL, PRIMARY KEY (mac, known, ts));
         CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);",
    )
    .map_err(err)?;
    Ok(conn)
}

/// Restores the invariants of a lease list sorted by start: same-MAC intervals that overlap or
/// touch are merged (a renewal), an interval is cut where the next one (another MAC) starts.
fn settle(list: &mut Vec<Lease>) {
    let mut out: Vec<Lease> = Vec::with_capacity(list.len());
    for l in list.drain(..) {
        if let Some(prev) = out.last_mut() {
            if prev.mac == l.mac && prev.end >= l.start {
                prev.end = prev.end.max(l.end);
                continue;
            }
            if prev.end > l.start {
                prev.end = l.start;
            }
            if prev.end <= prev.start {
                out.pop();
            }
        }
        out.push(l);
    }
    *list = out;
}

/// Adds a name seen at `ts` unless the history already says so; keeps it short.
fn remember_name(list: &mut Vec<(Nanos, Box<str>)>, ts: Nanos, name: &str) -> bool {
    let at = list.partition_point(|(t, _)| *t <= ts);
    if at > 0 && &*list[at - 1].1 == name {
        return false;
    }
    if at < list.len() && &*list[at].1 == name {
        // The same name, now known from earlier.
        list[at].0 = ts;
        return true;
    }
    list.insert(at, (ts, name.into()));
    if list.len() > NAME_HISTORY {
        list.remove(0);
    }
    true
}

/// The name as of `ts`: the last one given at or before it, else the first one given after
/// (a device's name learned later is still its name).
fn name_at(list: &[(Nanos, Box<str>)], ts: Nanos) -> Option<&str> {
    let at = list.partition_point(|(t, _)| *t <= ts);
    list.get(at.saturating_sub(1)).map(|(_, n)| &**n)
}

/// A file of zat's sample data in the corpus under `$TRAWL_SHARED`, for unit tests that
/// read it; `None` (the test skips, and says so) when the variable is unset.
#[cfg(test)]
pub(crate) fn shared_corpus(name: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("TRAWL_SHARED") else {
        println!("skipped: TRAWL_SHARED unset");
        return None;
    };
    Some(
        Path::new(&dir)
            .join("corpus/SuperCowPowers-zat/data")
            .join(name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use trawl_zeek::{Scalar, Value, ZeekType};

    const T0: Nanos = 1_763_629_200 * SEC;

    fn dhcp(
        ts_s: i64,
        ip: &str,
        mac: &str,
        name: &str,
        lease_s: Option<f64>,
        msgs: &str,
    ) -> Record<'static> {
        let mut r = Record::new("dhcp");
        let st = ZeekType::single(Scalar::String);
        r.push(
            "ts",
            ZeekType::single(Scalar::Time),
            Value::Time(T0 + ts_s * SEC),
        );
        r.push(
            "assigned_addr",
            ZeekType::single(Scalar::Addr),
            Value::Addr(ip.parse().unwrap()),
        );
        r.push("mac", st, Value::Str(mac.as_bytes().to_vec().into()));
        r.push("host_name", st, Value::Str(name.as_bytes().to_vec().into()));
        r.push(
            "lease_time",
            ZeekType::single(Scalar::Interval),
            lease_s.map_or(Value::Unset, Value::Interval),
        );
        if !msgs.is_empty() {
            let list = msgs
                .split(',')
                .map(|m| Value::Str(m.as_bytes().to_vec().into()))
                .collect();
            r.push("msg_types", st, Value::List(list));
        }
        r
    }

    fn known(ts_s: i64, mac: &str, name: &str) -> Record<'static> {
        let mut r = Record::new("known_devices");
        let st = ZeekType::single(Scalar::String);
        r.push(
            "ts",
            ZeekType::single(Scalar::Time),
            Value::Time(T0 + ts_s * SEC),
        );
        r.push("mac", st, Value::Str(mac.as_bytes().to_vec().into()));
        r.push(
            "dhcp_host_name",
            st,
            Value::Str(name.as_bytes().to_vec().into()),
        );
        r
    }

    fn who(a: &Attribution, ip: &str, ts_s: i64) -> Option<String> {
        a.lookup(ip.parse().unwrap(), T0 + ts_s * SEC)
            .and_then(|h| h.workstation.map(String::from))
    }

    const IP: &str = "192.168.1.11";
    const BOB: &str = "AA:BB:CC:00:00:11";
    const CAROL: &str = "aa-bb-cc-00-00-33";

    #[test]
    fn an_address_changing_hands_is_attributed_by_record_time() {
        let mut a = Attribution::new(AttributionConfig::default());
        a.observe(&dhcp(
            0,
            IP,
            BOB,
            "bob-dhcp",
            Some(3600.0),
            "DISCOVER,OFFER,REQUEST,ACK",
        ));
        a.observe(&known(0, BOB, "bob-desktop"));
        a.observe(&dhcp(
            300 * 60,
            IP,
            CAROL,
            "carol-phone",
            Some(3600.0),
            "REQUEST,ACK",
        ));
        assert_eq!(who(&a, IP, -1), None);
        assert_eq!(who(&a, IP, 30 * 60).as_deref(), Some("bob-desktop"));
        assert_eq!(who(&a, IP, 59 * 60).as_deref(), Some("bob-desktop"));
        // Bob's lease expired at 60 min; Carol's starts at 300 min.
        assert_eq!(who(&a, IP, 100 * 60), None);
        // No known_devices for Carol: the DHCP host name.
        assert_eq!(who(&a, IP, 310 * 60).as_deref(), Some("carol-phone"));
        let h = a.lookup(IP.parse().unwrap(), T0 + 310 * 60 * SEC).unwrap();
        assert_eq!(h.mac, Some("aa:bb:cc:00:00:33"));
    }

    #[test]
    fn a_new_mac_ends_the_previous_lease_and_renewals_extend() {
        let mut a = Attribution::new(AttributionConfig::default());
        a.observe(&dhcp(0, IP, BOB, "bob", Some(3600.0), "ACK"));
        a.observe(&dhcp(3000, IP, BOB, "bob", Some(3600.0), "REQUEST,ACK"));
        assert_eq!(who(&a, IP, 6000).as_deref(), Some("bob"));
        a.observe(&dhcp(5000, IP, CAROL, "carol", Some(3600.0), "ACK"));
        assert_eq!(who(&a, IP, 4999).as_deref(), Some("bob"));
        assert_eq!(who(&a, IP, 5000).as_deref(), Some("carol"));
        assert_eq!(who(&a, IP, 6000).as_deref(), Some("carol"));
        // An OFFER is not a lease; a RELEASE ends one.
        a.observe(&dhcp(
            20_000,
            "192.168.1.50",
            BOB,
            "bob",
            Some(3600.0),
            "OFFER",
        ));
        assert_eq!(who(&a, "192.168.1.50", 20_001), None);
        a.observe(&dhcp(5500, IP, CAROL, "carol", None, "RELEASE"));
        assert_eq!(who(&a, IP, 5400).as_deref(), Some("carol"));
        assert_eq!(who(&a, IP, 5600), None);
    }

    #[test]
    fn out_of_order_records_settle_the_same() {
        let recs = [
            dhcp(0, IP, BOB, "bob", Some(3600.0), "ACK"),
            dhcp(3000, IP, BOB, "bob", Some(3600.0), "ACK"),
            dhcp(5000, IP, CAROL, "carol", Some(3600.0), "ACK"),
        ];
        let mut a = Attribution::new(AttributionConfig::default());
        let mut b = Attribution::new(AttributionConfig::default());
        for r in &recs {
            a.observe(r);
        }
        for r in recs.iter().rev() {
            b.observe(r);
        }
        assert_eq!(a.leases, b.leases);
        assert_eq!(a.leases[&IP.parse().unwrap()].len(), 2);
    }

    #[test]
    fn default_lease_when_unset_and_expiry() {
        let cfg = AttributionConfig {
            default_lease: Duration::from_secs(600),
            ..Default::default()
        };
        let mut a = Attribution::new(cfg);
        a.observe(&dhcp(0, IP, BOB, "bob", None, "ACK"));
        assert_eq!(who(&a, IP, 599).as_deref(), Some("bob"));
        assert_eq!(who(&a, IP, 600), None);
    }

    #[test]
    fn old_leases_are_pruned() {
        let cfg = AttributionConfig {
            lease_horizon: Duration::from_secs(86_400),
            ..Default::default()
        };
        let mut a = Attribution::new(cfg);
        a.observe(&dhcp(0, IP, BOB, "bob", Some(60.0), "ACK"));
        for i in 1..=50 {
            a.observe(&dhcp(
                i * 3600,
                &format!("10.0.0.{i}"),
                CAROL,
                "carol",
                Some(60.0),
                "ACK",
            ));
        }
        assert!(!a.leases.contains_key(&IP.parse().unwrap()));
        assert!(a.addresses() <= 26, "{}", a.addresses());
    }

    #[test]
    fn leases_learned_with_pruning_held_stay_until_it_is_released() {
        let cfg = AttributionConfig {
            lease_horizon: Duration::from_secs(86_400),
            ..Default::default()
        };
        let mut a = Attribution::new(cfg);
        a.hold_pruning(true);
        // A capture from a year later is learned first, in the same batch.
        let later = 365 * 86_400;
        a.observe(&dhcp(later, "10.0.0.9", CAROL, "carol", Some(60.0), "ACK"));
        a.observe(&dhcp(0, IP, BOB, "bob", Some(3600.0), "ACK"));
        let ts = T0 + 10 * SEC;
        assert!(a.lookup(IP.parse().unwrap(), ts).is_some());
        a.hold_pruning(false);
        assert!(a.lookup(IP.parse().unwrap(), ts).is_none());
    }

    #[test]
    fn state_survives_save_and_load_between_the_two_macs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts.sqlite");
        let mut a = Attribution::new(AttributionConfig::default());
        a.observe(&dhcp(0, IP, BOB, "bob-dhcp", Some(3600.0), "ACK"));
        a.observe(&known(0, BOB, "bob-desktop"));
        assert_eq!(a.save(&path).unwrap(), 2);
        // Nothing changed: nothing written.
        assert_eq!(a.save(&path).unwrap(), 0);
        drop(a);

        let mut b = Attribution::load(&path, AttributionConfig::default()).unwrap();
        assert_eq!(who(&b, IP, 1800).as_deref(), Some("bob-desktop"));
        b.observe(&dhcp(1200, IP, CAROL, "carol-phone", Some(3600.0), "ACK"));
        assert_eq!(b.save(&path).unwrap(), 2, "one address, one new MAC");
        drop(b);

        let c = Attribution::load(&path, AttributionConfig::default()).unwrap();
        assert_eq!(who(&c, IP, 600).as_deref(), Some("bob-desktop"));
        assert_eq!(who(&c, IP, 1800).as_deref(), Some("carol-phone"));
        assert_eq!(c.newest, T0 + 1200 * SEC);
    }

    #[test]
    fn names_as_of_the_record_time_and_inventory_overrides() {
        let mut a = Attribution::new(AttributionConfig::default());
        a.observe(&dhcp(0, IP, BOB, "old-name", Some(86_400.0), "ACK"));
        a.observe(&dhcp(1000, IP, BOB, "new-name", Some(86_400.0), "ACK"));
        assert_eq!(who(&a, IP, 500).as_deref(), Some("old-name"));
        assert_eq!(who(&a, IP, 1500).as_deref(), Some("new-name"));
        let inv = Inventory::from_reader(
            "mac,ip,hostname,owner\naa:bb:cc:00:00:11,,bob-ws,bob\n,10.9.9.9,printer,it\n"
                .as_bytes(),
        )
        .unwrap();
        a.set_inventory(inv);
        let h = a.lookup(IP.parse().unwrap(), T0 + 1500 * SEC).unwrap();
        assert_eq!((h.workstation, h.owner), (Some("bob-ws"), Some("bob")));
        let h = a.lookup("10.9.9.9".parse().unwrap(), T0).unwrap();
        assert_eq!(
            (h.mac, h.workstation, h.owner),
            (None, Some("printer"), Some("it"))
        );
    }

    #[test]
    fn bro2_dhcp_log_is_understood() {
        let Some(p) = shared_corpus("dhcp.log") else {
            return;
        };
        let mut r = trawl_zeek::LogReader::new(std::fs::File::open(p).unwrap());
        let mut a = Attribution::new(AttributionConfig::default());
        let mut probs = Vec::new();
        while let Some(ev) = r.next_event().unwrap() {
            if let trawl_zeek::Event::Row(row) = ev {
                a.observe(&row.to_record(&mut probs));
            }
        }
        let t = 1_379_288_700 * SEC;
        assert_eq!(
            a.mac_at("192.168.33.10".parse().unwrap(), t),
            Some("00:20:18:eb:ca:21")
        );
    }
}
