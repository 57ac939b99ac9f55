//! Score caches: what a name scored, kept so the model runs once per name.
//!
//! [`LocalCache`] is in-process and bounded (CLOCK-Pro eviction from `quick_cache`);
//! [`RedisCache`] is shared by many instances. Both implement [`ScoreCache`], whose calls take
//! a whole batch so Redis costs one round trip per batch (one `MGET`, one pipeline of
//! `SET ... EX`).
//!
//! Redis keys are `trawl:score:v1:{model fingerprint, 16 hex digits}:{name}`: a new model never
//! reads scores of an old one, and old keys expire by their TTL. Values are short text:
//! `s {phish} {dga}`, `u` (not scored: IP literal, reverse-DNS name) or `x` (not a valid name),
//! then, when reasons were computed, one reason a line. Reasons are a few dozen bytes a name,
//! so they travel too: an instance asking for reasons treats an entry without them as a miss.
//!
//! Redis failures never fail the caller: they are counted ([`CacheStats::errors`]), the batch
//! is scored without the cache, and the connection is retried after a back-off so a dead server
//! costs one connect timeout per back-off period, not one per batch.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// What scoring one name gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// Scored: each score in [0, 1].
    Scored {
        /// Phishing likelihood.
        phish: f32,
        /// DGA likelihood.
        dga: f32,
    },
    /// A valid name deliberately not scored (IP literal, reverse-DNS name).
    Unscored,
    /// Not a valid DNS name (empty, illegal characters, too long ...).
    Invalid,
}

/// A cached result: the outcome and, when asked for, the reasons in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The scores, if any.
    pub outcome: Outcome,
    /// Why, strongest first; `None` when reasons were not computed.
    pub reasons: Option<Arc<[Box<str>]>>,
}

/// Counters of a cache, cumulative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Names found.
    pub hits: u64,
    /// Names not found (or found without the reasons asked for).
    pub misses: u64,
    /// Names written.
    pub writes: u64,
    /// Failed operations (connection refused, timeout, bad reply); never fatal.
    pub errors: u64,
}

/// A store of scores by name, queried a batch at a time.
pub trait ScoreCache: Send {
    /// Looks up `names`; `out` is cleared and gets one slot per name, in order. An entry
    /// without reasons counts as a miss when `want_reasons`.
    fn get_many(&mut self, names: &[&str], want_reasons: bool, out: &mut Vec<Option<Entry>>);
    /// Stores entries (best effort).
    fn put_many(&mut self, items: &[(&str, &Entry)]);
    /// Counters so far.
    fn stats(&self) -> CacheStats;
}

// quick_cache's default hasher is foldhash: fast on short keys, seeded per process.
type Local = quick_cache::unsync::Cache<Box<str>, Entry>;

/// The in-process cache: bounded to a number of names, evicting the least useful.
pub struct LocalCache {
    cache: Local,
    stats: CacheStats,
}

impl std::fmt::Debug for LocalCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCache")
            .field("len", &self.cache.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl LocalCache {
    /// A cache of at most `capacity` names (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        LocalCache {
            cache: Local::new(capacity),
            stats: CacheStats::default(),
        }
    }

    /// The entry of one name, if cached (with reasons when `want_reasons`).
    #[inline]
    pub fn get(&mut self, name: &str, want_reasons: bool) -> Option<&Entry> {
        match self.cache.get(name) {
            Some(e) if !want_reasons || e.reasons.is_some() => {
                self.stats.hits += 1;
                Some(e)
            }
            _ => {
                self.stats.misses += 1;
                None
            }
        }
    }

    /// The entry of one name without counting a hit or miss.
    pub fn peek(&self, name: &str) -> Option<&Entry> {
        self.cache.peek(name)
    }

    /// Stores one entry.
    pub fn put(&mut self, name: &str, entry: Entry) {
        self.stats.writes += 1;
        self.cache.insert(name.into(), entry);
    }

    /// Names held.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

impl ScoreCache for LocalCache {
    fn get_many(&mut self, names: &[&str], want_reasons: bool, out: &mut Vec<Option<Entry>>) {
        out.clear();
        for n in names {
            let e = self.get(n, want_reasons).cloned();
            out.push(e);
        }
    }

    fn put_many(&mut self, items: &[(&str, &Entry)]) {
        for (n, e) in items {
            self.put(n, (*e).clone());
        }
    }

    fn stats(&self) -> CacheStats {
        self.stats
    }
}

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://host:port/db` (or `rediss://`, `redis+unix://`).
    pub url: String,
    /// Lifetime of a stored score; `None` keeps them until Redis evicts them.
    pub ttl: Option<Duration>,
    /// Connect, read and write timeout.
    pub timeout: Duration,
    /// How long to wait after a failure before trying to connect again.
    pub retry_after: Duration,
}

impl RedisConfig {
    /// Defaults for a URL: a 7-day TTL, 250 ms timeouts, retry after 5 s.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            ttl: Some(Duration::from_secs(7 * 86_400)),
            timeout: Duration::from_millis(250),
            retry_after: Duration::from_secs(5),
        }
    }
}

/// A bad Redis configuration (the only Redis error that reaches the caller).
#[derive(Debug, thiserror::Error)]
#[error("bad Redis URL {url:?}: {source}")]
pub struct RedisConfigError {
    /// The URL given.
    pub url: String,
    /// Why it was refused.
    #[source]
    pub source: redis::RedisError,
}

/// Scores shared through Redis by every instance that uses the same model.
pub struct RedisCache {
    link: RedisLink,
    config: RedisConfig,
    prefix: String,
    stats: CacheStats,
}

/// A Redis connection made on first use and again after a failure (not before `retry_after`
/// has passed): a server that is down costs one timeout, then nothing until it may be back.
pub(crate) struct RedisLink {
    client: redis::Client,
    timeout: Duration,
    retry_after: Duration,
    conn: Option<redis::Connection>,
    retry_at: Option<Instant>,
    /// The last failure, for logs.
    pub(crate) last_error: Option<String>,
    /// Connections that could not be made.
    pub(crate) connect_errors: u64,
}

impl RedisLink {
    /// Checks the URL only; nothing is connected yet.
    pub(crate) fn new(config: &RedisConfig) -> Result<Self, RedisConfigError> {
        let client = redis::Client::open(config.url.as_str()).map_err(|e| RedisConfigError {
            url: config.url.clone(),
            source: e,
        })?;
        Ok(RedisLink {
            client,
            timeout: config.timeout,
            retry_after: config.retry_after,
            conn: None,
            retry_at: None,
            last_error: None,
            connect_errors: 0,
        })
    }

    /// The connection, or `None` while Redis is down (the failure is remembered).
    pub(crate) fn get(&mut self) -> Option<&mut redis::Connection> {
        if self.conn.is_none() {
            if self.retry_at.is_some_and(|t| Instant::now() < t) {
                return None;
            }
            let t = Some(self.timeout);
            match self
                .client
                .get_connection_with_timeout(self.timeout)
                .and_then(|c| {
                    c.set_read_timeout(t)?;
                    c.set_write_timeout(t)?;
                    Ok(c)
                }) {
                Ok(c) => {
                    self.conn = Some(c);
                    self.retry_at = None;
                }
                Err(e) => {
                    self.connect_errors += 1;
                    self.failed(e);
                    return None;
                }
            }
        }
        self.conn.as_mut()
    }

    /// Drops the connection after an error; the next try waits `retry_after`.
    pub(crate) fn failed(&mut self, e: redis::RedisError) {
        self.last_error = Some(e.to_string());
        self.conn = None;
        self.retry_at = Some(Instant::now() + self.retry_after);
    }

    /// Whether a connection is open.
    pub(crate) fn connected(&self) -> bool {
        self.conn.is_some()
    }
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("prefix", &self.prefix)
            .field("connected", &self.link.connected())
            .field("stats", &self.stats)
            .finish()
    }
}

impl RedisCache {
    /// A cache for the model with this fingerprint. Only the URL is checked here; the
    /// connection is made on first use, and a server that is down is not an error.
    pub fn new(config: RedisConfig, model_fingerprint: u64) -> Result<Self, RedisConfigError> {
        Ok(RedisCache {
            link: RedisLink::new(&config)?,
            prefix: key_prefix(model_fingerprint),
            config,
            stats: CacheStats::default(),
        })
    }

    /// The key a name is stored under.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The last failure, for logs.
    pub fn last_error(&self) -> Option<&str> {
        self.link.last_error.as_deref()
    }

    fn connection(&mut self) -> Option<&mut redis::Connection> {
        self.link.get()
    }

    fn failed(&mut self, e: redis::RedisError) {
        self.stats.errors += 1;
        self.link.failed(e);
    }
}

/// `trawl:score:v1:{fingerprint}:`
pub fn key_prefix(model_fingerprint: u64) -> String {
    format!("trawl:score:v1:{model_fingerprint:016x}:")
}

impl ScoreCache for RedisCache {
    fn get_many(&mut self, names: &[&str], want_reasons: bool, out: &mut Vec<Option<Entry>>) {
        out.clear();
        out.resize(names.len(), None);
        if names.is_empty() {
            return;
        }
        let mut cmd = redis::cmd("MGET");
        for n in names {
            cmd.arg(self.key(n));
        }
        let Some(conn) = self.connection() else {
            self.stats.misses += names.len() as u64;
            return;
        };
        let reply: Result<Vec<Option<Vec<u8>>>, _> = cmd.query(conn);
        match reply {
            Ok(values) if values.len() == names.len() => {
                for (slot, v) in out.iter_mut().zip(values) {
                    *slot = v
                        .as_deref()
                        .and_then(decode)
                        .filter(|e| !want_reasons || e.reasons.is_some());
                    if slot.is_some() {
                        self.stats.hits += 1;
                    } else {
                        self.stats.misses += 1;
                    }
                }
            }
            Ok(_) => {
                self.stats.errors += 1;
                self.stats.misses += names.len() as u64;
            }
            Err(e) => {
                self.failed(e);
                self.stats.misses += names.len() as u64;
            }
        }
    }

    fn put_many(&mut self, items: &[(&str, &Entry)]) {
        if items.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        let ttl = self.config.ttl.map(|d| d.as_secs().max(1));
        for (name, entry) in items {
            let c = pipe.cmd("SET").arg(self.key(name)).arg(encode(entry));
            if let Some(s) = ttl {
                c.arg("EX").arg(s);
            }
            c.ignore();
        }
        let Some(conn) = self.connection() else {
            return;
        };
        match pipe.query::<()>(conn) {
            Ok(()) => self.stats.writes += items.len() as u64,
            Err(e) => self.failed(e),
        }
    }

    fn stats(&self) -> CacheStats {
        CacheStats {
            errors: self.stats.errors + self.link.connect_errors,
            ..self.stats
        }
    }
}

/// The stored text of an entry.
pub fn encode(e: &Entry) -> String {
    let mut s = match e.outcome {
        Outcome::Scored { phish, dga } => format!("s {phish} {dga}"),
        Outcome::Unscored => "u".to_string(),
        Outcome::Invalid => "x".to_string(),
    };
    if let Some(r) = &e.reasons {
        s.push_str(" r");
        for reason in r.iter() {
            s.push('\n');
            s.extend(reason.chars().map(|c| if c == '\n' { ' ' } else { c }));
        }
    }
    s
}

/// Reads a stored entry; `None` for anything not written by [`encode`].
pub fn decode(b: &[u8]) -> Option<Entry> {
    let text = std::str::from_utf8(b).ok()?;
    let mut lines = text.split('\n');
    let head = lines.next()?;
    let (head, has_reasons) = match head.strip_suffix(" r") {
        Some(h) => (h, true),
        None => (head, false),
    };
    let mut parts = head.split(' ');
    let outcome = match parts.next()? {
        "s" => {
            let phish: f32 = parts.next()?.parse().ok()?;
            let dga: f32 = parts.next()?.parse().ok()?;
            if !(0.0..=1.0).contains(&phish) || !(0.0..=1.0).contains(&dga) {
                return None;
            }
            Outcome::Scored { phish, dga }
        }
        "u" => Outcome::Unscored,
        "x" => Outcome::Invalid,
        _ => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    let reasons = has_reasons.then(|| lines.map(Box::from).collect::<Arc<[Box<str>]>>());
    Some(Entry { outcome, reasons })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let e = Entry {
            outcome: Outcome::Scored {
                phish: 0.125,
                dga: 0.987_654_3,
            },
            reasons: Some(vec!["a\nb".into(), "c".into()].into()),
        };
        let d = decode(encode(&e).as_bytes()).unwrap();
        assert_eq!(d.outcome, e.outcome);
        assert_eq!(
            &*d.reasons.unwrap(),
            &[Box::<str>::from("a b"), Box::from("c")][..]
        );
        for o in [Outcome::Unscored, Outcome::Invalid] {
            let e = Entry {
                outcome: o,
                reasons: None,
            };
            assert_eq!(decode(encode(&e).as_bytes()), Some(e));
        }
        let e = Entry {
            outcome: Outcome::Unscored,
            reasons: Some(Vec::new().into()),
        };
        assert_eq!(decode(encode(&e).as_bytes()), Some(e));
        for bad in [&b""[..], b"s", b"s 1", b"s 2 0", b"q", b"s 0 0 0", b"\xff"] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn local_cache_is_bounded_and_respects_reasons() {
        let mut c = LocalCache::new(100);
        let e = Entry {
            outcome: Outcome::Unscored,
            reasons: None,
        };
        for i in 0..1000 {
            c.put(&format!("n{i}.example"), e.clone());
        }
        assert!(c.len() <= 110, "{}", c.len());
        c.put("a.example", e.clone());
        assert!(c.get("a.example", false).is_some());
        assert!(c.get("a.example", true).is_none());
    }

    #[test]
    fn key_has_the_fingerprint() {
        assert_eq!(key_prefix(0xabc), "trawl:score:v1:0000000000000abc:");
    }
}
