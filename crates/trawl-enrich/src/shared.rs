//! Attribution shared by every instance of a Kafka consumer group through Redis.
//!
//! Each instance sees only its partitions' records, so the DHCP lease of a workstation may
//! reach one instance while its DNS lookups reach another. With a shared stream, every
//! instance publishes the `dhcp` and `known_devices` records it reads (the fields attribution
//! uses) to one Redis stream and, before it attributes a batch, learns what the others
//! published. Attribution is by each record's own time and is the same whatever order leases
//! come in, so every instance ends up with the same leases and attributes alike.
//!
//! A lease is seen by the others from their next batch on: a lookup made before the instance
//! that reads the lease's partition has published it does not know it (Zeek writes a lease
//! before the lookups that follow it, so a group that keeps up attributes alike). While Redis
//! is down, records to publish wait in memory (at most [`MAX_WAITING`]) and are sent when it
//! is back.

use std::borrow::Cow;

use trawl_zeek::{Container, Record, Scalar, Value, ZeekType};

use crate::cache::{RedisConfig, RedisConfigError, RedisLink};

/// Records kept while Redis is down; the oldest are dropped beyond this (and counted).
pub const MAX_WAITING: usize = 100_000;
/// Stream entries kept in Redis (approximately): leases older than this many records are
/// in every instance's own store by then.
const MAX_LEN: usize = 1_000_000;
/// Entries read per XREAD.
const READ_COUNT: usize = 10_000;

/// Counters for logs and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SharedStats {
    /// Records this instance published.
    pub published: u64,
    /// Records learned from the other instances.
    pub learned: u64,
    /// Failed Redis operations (retried; never fatal).
    pub errors: u64,
    /// Records dropped while Redis was down ([`MAX_WAITING`]).
    pub dropped: u64,
}

/// The shared lease stream of one instance.
pub struct SharedLeases {
    link: RedisLink,
    key: String,
    /// This instance, to skip its own entries when reading.
    me: String,
    /// The last entry read.
    last_id: String,
    waiting: std::collections::VecDeque<String>,
    stats: SharedStats,
}

impl std::fmt::Debug for SharedLeases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLeases")
            .field("key", &self.key)
            .field("last_id", &self.last_id)
            .field("stats", &self.stats)
            .finish()
    }
}

impl SharedLeases {
    /// The stream `{prefix}:leases` on the Redis of `config` (connected on first use).
    pub fn new(config: &RedisConfig, prefix: &str) -> Result<Self, RedisConfigError> {
        let me = format!(
            "{}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
            hostname()
        );
        Ok(SharedLeases {
            link: RedisLink::new(config)?,
            key: format!("{prefix}:leases"),
            me,
            last_id: "0".into(),
            waiting: Default::default(),
            stats: SharedStats::default(),
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> SharedStats {
        self.stats
    }

    /// The last Redis failure, for logs.
    pub fn last_error(&self) -> Option<&str> {
        self.link.last_error.as_deref()
    }

    /// Publishes records this instance learned from (only `dhcp` and `known_devices` ones go).
    pub fn publish<'a, 'r: 'a>(&mut self, recs: impl IntoIterator<Item = &'a Record<'r>>) {
        for r in recs {
            if matches!(&*r.path, "dhcp" | "known_devices") {
                if self.waiting.len() >= MAX_WAITING {
                    self.waiting.pop_front();
                    self.stats.dropped += 1;
                }
                self.waiting.push_back(encode(r));
            }
        }
        if self.waiting.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for w in &self.waiting {
            pipe.cmd("XADD")
                .arg(&self.key)
                .arg("MAXLEN")
                .arg("~")
                .arg(MAX_LEN)
                .arg("*")
                .arg("i")
                .arg(&self.me)
                .arg("r")
                .arg(w)
                .ignore();
        }
        let Some(conn) = self.link.get() else {
            return;
        };
        match pipe.query::<()>(conn) {
            Ok(()) => {
                self.stats.published += self.waiting.len() as u64;
                self.waiting.clear();
            }
            Err(e) => {
                self.stats.errors += 1;
                self.link.failed(e);
            }
        }
    }

    /// What the other instances published since the last call, as records to learn from.
    pub fn poll(&mut self) -> Vec<Record<'static>> {
        let mut out = Vec::new();
        loop {
            let key = self.key.clone();
            let last = self.last_id.clone();
            let Some(conn) = self.link.get() else {
                return out;
            };
            let reply: Result<redis::Value, _> = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(READ_COUNT)
                .arg("STREAMS")
                .arg(&key)
                .arg(&last)
                .query(conn);
            let entries = match reply {
                Ok(v) => entries(&v),
                Err(e) => {
                    self.stats.errors += 1;
                    self.link.failed(e);
                    return out;
                }
            };
            let n = entries.len();
            for (id, fields) in entries {
                self.last_id = id;
                let mut who = None;
                let mut body = None;
                for (k, v) in fields {
                    match k.as_slice() {
                        b"i" => who = Some(v),
                        b"r" => body = Some(v),
                        _ => {}
                    }
                }
                if who.as_deref() == Some(self.me.as_bytes()) {
                    continue;
                }
                if let Some(r) = body.and_then(|b| decode(&b)) {
                    self.stats.learned += 1;
                    out.push(r);
                }
            }
            if n < READ_COUNT {
                return out;
            }
        }
    }
}

/// Registered domains seen by any instance (for `first_seen` alert rules): one Redis key a
/// name, `{prefix}:seen:{name}`, set only if missing, so exactly one instance learns that a
/// domain is new.
pub struct SharedNames {
    link: RedisLink,
    prefix: String,
}

impl std::fmt::Debug for SharedNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedNames")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl SharedNames {
    /// Names under `{prefix}:seen:` on the Redis of `config` (connected on first use).
    pub fn new(config: &RedisConfig, prefix: &str) -> Result<Self, RedisConfigError> {
        Ok(SharedNames {
            link: RedisLink::new(config)?,
            prefix: format!("{prefix}:seen:"),
        })
    }

    /// Whether `name` is new to every instance; records when and by whom it was seen if so.
    pub fn first_seen(&mut self, name: &str, ts: f64, host: Option<&str>) -> Result<bool, String> {
        let key = format!("{}{name}", self.prefix);
        let Some(conn) = self.link.get() else {
            return Err(self
                .link
                .last_error
                .clone()
                .unwrap_or_else(|| "Redis is down".into()));
        };
        let reply: Result<redis::Value, _> = redis::cmd("SET")
            .arg(&key)
            .arg(format!("{ts} {}", host.unwrap_or("-")))
            .arg("NX")
            .query(conn);
        match reply {
            Ok(redis::Value::Nil) => Ok(false),
            Ok(_) => Ok(true),
            Err(e) => {
                let msg = e.to_string();
                self.link.failed(e);
                Err(msg)
            }
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// One stream entry: its id and (field, value) pairs.
type Entry = (String, Vec<(Vec<u8>, Vec<u8>)>);

/// The entries in an XREAD reply (RESP2 arrays or RESP3 maps).
fn entries(v: &redis::Value) -> Vec<Entry> {
    use redis::Value as V;
    let bytes = |v: &V| match v {
        V::BulkString(b) => Some(b.clone()),
        V::SimpleString(s) => Some(s.clone().into_bytes()),
        _ => None,
    };
    // The reply: one (key, entries) pair per stream asked.
    let streams: Vec<&V> = match v {
        V::Array(items) => items.iter().collect(),
        V::Map(pairs) => pairs.iter().map(|(_, e)| e).collect(),
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for s in streams {
        let list = match s {
            V::Array(kv) if kv.len() == 2 => &kv[1],
            other => other,
        };
        let V::Array(items) = list else { continue };
        for e in items {
            let V::Array(parts) = e else { continue };
            if parts.len() != 2 {
                continue;
            }
            let Some(id) = bytes(&parts[0]).and_then(|b| String::from_utf8(b).ok()) else {
                continue;
            };
            let fields = match &parts[1] {
                V::Array(f) => f
                    .chunks(2)
                    .filter_map(|c| Some((bytes(c.first()?)?, bytes(c.get(1)?)?)))
                    .collect(),
                V::Map(m) => m
                    .iter()
                    .filter_map(|(k, v)| Some((bytes(k)?, bytes(v)?)))
                    .collect(),
                _ => Vec::new(),
            };
            out.push((id, fields));
        }
    }
    out
}

/// A record as one JSON object: `_path` and each set field as text (lists as arrays).
pub fn encode(r: &Record<'_>) -> String {
    let mut m = serde_json::Map::new();
    m.insert("_path".into(), serde_json::Value::from(r.path.as_ref()));
    let text = |v: &Value<'_>| {
        let mut b = Vec::new();
        v.write_text(&mut b);
        String::from_utf8_lossy(&b).into_owned()
    };
    for f in &r.fields {
        let v = match &f.value {
            Value::Unset => continue,
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(|x| text(x).into()).collect())
            }
            Value::Str(s) | Value::Invalid(s) => String::from_utf8_lossy(s).into_owned().into(),
            v => text(v).into(),
        };
        m.insert(f.name.to_string(), v);
    }
    serde_json::Value::Object(m).to_string()
}

/// A record from [`encode`]'s JSON: values are strings (attribution reads addresses, times and
/// durations from text as well as typed).
pub fn decode(json: &[u8]) -> Option<Record<'static>> {
    let v: serde_json::Value = serde_json::from_slice(json).ok()?;
    let obj = v.as_object()?;
    let path = obj.get("_path")?.as_str()?.to_string();
    let mut r = Record::new(path);
    let s = |x: &str| Value::Str(Cow::Owned(x.as_bytes().to_vec()));
    for (k, v) in obj {
        if k == "_path" {
            continue;
        }
        match v {
            serde_json::Value::String(x) => {
                r.push(k.clone(), ZeekType::single(Scalar::String), s(x))
            }
            serde_json::Value::Array(items) => r.push(
                k.clone(),
                ZeekType {
                    container: Container::Vector,
                    scalar: Scalar::String,
                },
                Value::List(items.iter().filter_map(|i| i.as_str()).map(s).collect()),
            ),
            _ => {}
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Attribution, AttributionConfig};

    #[test]
    fn a_lease_learned_from_its_encoding_attributes_as_the_record_does() {
        let mut r = Record::new("dhcp");
        let t = |s| ZeekType::single(s);
        r.push(
            "ts",
            t(Scalar::Time),
            Value::Time(1_700_000_000_000_000_000),
        );
        r.push(
            "assigned_addr",
            t(Scalar::Addr),
            Value::Addr("10.0.0.5".parse().unwrap()),
        );
        r.push(
            "mac",
            t(Scalar::String),
            Value::Str(Cow::Borrowed(b"AA:bb:cc:00:00:01")),
        );
        r.push(
            "host_name",
            t(Scalar::String),
            Value::Str(Cow::Borrowed(b"ws-7")),
        );
        r.push("lease_time", t(Scalar::Interval), Value::Interval(3600.0));
        r.push(
            "msg_types",
            ZeekType {
                container: Container::Vector,
                scalar: Scalar::String,
            },
            Value::List(vec![Value::Str(Cow::Borrowed(b"ACK"))]),
        );
        let back = decode(encode(&r).as_bytes()).unwrap();
        let (mut a, mut b) = (
            Attribution::new(AttributionConfig::default()),
            Attribution::new(AttributionConfig::default()),
        );
        assert!(a.observe(&r));
        assert!(b.observe(&back));
        for dt in [0, 1_000_000_000_000, 3_601_000_000_000] {
            let ts = 1_700_000_000_000_000_000 + dt;
            let ip = "10.0.0.5".parse().unwrap();
            assert_eq!(a.lookup(ip, ts), b.lookup(ip, ts), "at +{dt}");
        }
        assert_eq!(
            b.lookup("10.0.0.5".parse().unwrap(), 1_700_000_000_000_000_001)
                .and_then(|h| h.workstation),
            Some("ws-7")
        );
    }
}
