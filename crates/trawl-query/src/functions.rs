//! The functions of the query language, and a few helpers other crates use directly.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::net::IpAddr;
use std::sync::OnceLock;

use trawl_score::{Model, NameBuf, Site};
use trawl_zeek::Value;

/// A function of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `registered_domain(name)`: `example.co.uk` of `a.b.example.co.uk` (Public Suffix List).
    RegisteredDomain,
    /// `tld(name)`: the public suffix, `co.uk`.
    Tld,
    /// `subdomain(name)`: what is left of the registered domain, `a.b`.
    Subdomain,
    /// `lower(s)`.
    Lower,
    /// `upper(s)`.
    Upper,
    /// `len(s)`: bytes of a string, elements of a set or vector.
    Len,
    /// `entropy(s)`: Shannon entropy in bits per byte.
    Entropy,
    /// `cidr_match(subnet, addr)` (either order): whether the address is in the subnet.
    CidrMatch,
    /// `version_lt(a, b)`: Zeek software versions, `1.7.0_10 < 1.7.0_11`, `9.9 < 10.2`.
    VersionLt,
    /// `strftime(format, time)`: a time as text, `%Y-%m-%d %H:%M:%S` (UTC).
    Strftime,
    /// `bucket(x, size)`: a time (or number) rounded down to a multiple of size (`1h`, `1000`).
    Bucket,
    /// `score(name).phish`, `score(name).dga`: the domain scorer.
    Score,
    /// `phish_score(name)`.
    PhishScore,
    /// `dga_score(name)`.
    DgaScore,
    /// `ago(interval)`: now minus the interval, a time.
    Ago,
    /// `now()`.
    Now,
    /// `str(x)`: any value as text.
    Str,
    /// `num(x)`: a number from text (`"42"` -> 42), unset if it is none.
    Num,
    /// `coalesce(a, b, ...)`: the first value that is set.
    Coalesce,
    /// `local(addr)`: whether the address is in a local network.
    Local,
    /// `network(addr)`: the name of the local network holding the address, unset if none.
    Network,
    /// `direction(orig, resp)`, or `direction()` for `id.orig_h`, `id.resp_h`: `outbound`,
    /// `inbound`, `internal` or `external`.
    Direction,
}

/// Every function: name, arity (min, max), one-line help.
pub const FUNCTIONS: &[(&str, Func, usize, usize, &str)] = &[
    (
        "registered_domain",
        Func::RegisteredDomain,
        1,
        1,
        "registered_domain(name)",
    ),
    ("tld", Func::Tld, 1, 1, "tld(name)"),
    ("subdomain", Func::Subdomain, 1, 1, "subdomain(name)"),
    ("lower", Func::Lower, 1, 1, "lower(s)"),
    ("upper", Func::Upper, 1, 1, "upper(s)"),
    ("len", Func::Len, 1, 1, "len(s or set)"),
    ("entropy", Func::Entropy, 1, 1, "entropy(s)"),
    (
        "cidr_match",
        Func::CidrMatch,
        2,
        2,
        "cidr_match(subnet, addr)",
    ),
    ("version_lt", Func::VersionLt, 2, 2, "version_lt(a, b)"),
    (
        "strftime",
        Func::Strftime,
        2,
        2,
        "strftime(\"%Y-%m-%d %H:%M\", ts)",
    ),
    ("bucket", Func::Bucket, 2, 2, "bucket(ts, 1h)"),
    (
        "score",
        Func::Score,
        1,
        1,
        "score(name).phish or score(name).dga",
    ),
    ("phish_score", Func::PhishScore, 1, 1, "phish_score(name)"),
    ("dga_score", Func::DgaScore, 1, 1, "dga_score(name)"),
    ("ago", Func::Ago, 1, 1, "ago(1h)"),
    ("now", Func::Now, 0, 0, "now()"),
    ("str", Func::Str, 1, 1, "str(x)"),
    ("num", Func::Num, 1, 1, "num(x)"),
    ("coalesce", Func::Coalesce, 1, 16, "coalesce(a, b, ...)"),
    ("local", Func::Local, 1, 1, "local(id.resp_h)"),
    ("network", Func::Network, 1, 1, "network(id.orig_h)"),
    (
        "direction",
        Func::Direction,
        0,
        2,
        "direction() or direction(orig, resp)",
    ),
];

impl Func {
    /// Looks a function up by name.
    pub fn by_name(name: &str) -> Option<(Func, usize, usize)> {
        FUNCTIONS
            .iter()
            .find(|f| f.0 == name)
            .map(|f| (f.1, f.2, f.3))
    }

    /// The function's name.
    pub fn name(self) -> &'static str {
        FUNCTIONS.iter().find(|f| f.1 == self).map_or("?", |f| f.0)
    }
}

/// Zeek software versions: numbers compare as numbers, words as text, a word after a common
/// prefix is a pre-release (`1.0rc1 < 1.0`). `"1.7.0_10" < "1.7.0_11"`, `"9.9" < "10.2"`.
pub fn version_lt(a: &str, b: &str) -> bool {
    version_cmp(a, b) == Ordering::Less
}

/// Orders two software versions (see [`version_lt`]).
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (version_parts(a), version_parts(b));
    for (x, y) in ta.iter().zip(&tb) {
        let o = match (x, y) {
            (Part::Num(x), Part::Num(y)) => x.cmp(y),
            (Part::Word(x), Part::Word(y)) => x.cmp(y),
            (Part::Num(_), Part::Word(_)) => Ordering::Greater,
            (Part::Word(_), Part::Num(_)) => Ordering::Less,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    let longer_is_pre = |rest: &[Part]| matches!(rest.first(), Some(Part::Word(_)));
    match ta.len().cmp(&tb.len()) {
        Ordering::Equal => Ordering::Equal,
        Ordering::Less if longer_is_pre(&tb[ta.len()..]) => Ordering::Greater,
        Ordering::Less => Ordering::Less,
        Ordering::Greater if longer_is_pre(&ta[tb.len()..]) => Ordering::Less,
        Ordering::Greater => Ordering::Greater,
    }
}

#[derive(Debug, PartialEq)]
enum Part {
    Num(u128),
    Word(String),
}

fn version_parts(s: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i].is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            // Long digit runs (build stamps) saturate rather than fail.
            out.push(Part::Num(s[start..i].parse().unwrap_or(u128::MAX)));
        } else if b[i].is_ascii_alphabetic() {
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push(Part::Word(s[start..i].to_ascii_lowercase()));
        } else {
            i += 1;
        }
    }
    out
}

/// Shannon entropy of bytes, in bits per byte.
pub fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &c in s {
        counts[c as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// The parts of a DNS name by the Public Suffix List: (registered domain, suffix, subdomain).
/// `None` for what is not a valid name (an IP literal gives itself as registered domain).
pub fn name_parts(name: &str) -> Option<(String, String, String)> {
    let mut buf = NameBuf::new();
    let p = trawl_score::normalize(name, &mut buf).ok()?;
    // The scorer strips host labels (`www`) from its subdomain; the whole left part is wanted here.
    let sub = p
        .name
        .strip_suffix(p.registered)
        .map_or("", |s| s.strip_suffix('.').unwrap_or(s));
    Some((
        p.registered.to_string(),
        p.suffix.to_string(),
        sub.to_string(),
    ))
}

fn model() -> Option<&'static Model> {
    static MODEL: OnceLock<Option<&'static Model>> = OnceLock::new();
    *MODEL.get_or_init(|| Model::builtin().ok())
}

static SITE: OnceLock<Site> = OnceLock::new();

/// The network's own zones for the rest of the process: names in them are not scored by
/// [`scores`]. Only the first call counts (the CLI makes it once, before a query runs).
pub fn set_site(site: Site) {
    let _ = SITE.set(site);
}

/// The scorer's (phish, dga) scores of a name; `None` for names it does not score.
pub fn scores(name: &str) -> Option<(f64, f64)> {
    static NONE: Site = Site::EMPTY;
    let site = SITE.get().unwrap_or(&NONE);
    let s = model()?.score_in(name, site).ok()?.scores()?;
    Some((f64::from(s.phish), f64::from(s.dga)))
}

/// Whether `a` is inside `net/bits`; v4-mapped IPv6 addresses count as IPv4.
pub fn in_subnet(a: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (canonical(a), canonical(net)) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = u32::from(bits.min(32));
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = u32::from(bits.min(128));
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// An address with IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as IPv4.
pub fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

/// Formats a time (ns since the epoch) with a strftime format, UTC. `None` for a bad format.
pub fn strftime(fmt: &str, t: i64) -> Option<String> {
    use chrono::format::{Item, StrftimeItems};
    use std::fmt::Write;
    let items: Vec<Item> = StrftimeItems::new(fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return None;
    }
    let dt = chrono::DateTime::from_timestamp_nanos(t);
    let mut s = String::new();
    write!(s, "{}", dt.format_with_items(items.into_iter())).ok()?;
    Some(s)
}

/// Whether a strftime format is valid.
pub fn strftime_ok(fmt: &str) -> bool {
    strftime(fmt, 0).is_some()
}

/// A value's text (strings as they are, other values as Zeek prints them).
pub fn text<'a>(v: &'a Value<'_>) -> Option<Cow<'a, [u8]>> {
    match v {
        Value::Unset => None,
        Value::Str(s) | Value::Invalid(s) => Some(Cow::Borrowed(s.as_ref())),
        other => {
            let mut out = Vec::new();
            other.write_text(&mut out);
            Some(Cow::Owned(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(version_lt("1.7.0_10", "1.7.0_11"));
        assert!(!version_lt("10.2", "9.9"));
        assert!(version_lt("9.9", "10.2"));
        assert!(version_lt("1.0rc1", "1.0"));
        assert!(version_lt("1.0", "1.0.1"));
        assert!(!version_lt("1.0", "1.0"));
        assert!(version_lt("OpenSSH_7.4", "OpenSSH_8.9p1"));
        assert!(version_lt("2.4.6", "2.4.58"));
    }

    #[test]
    fn parts_of_names() {
        let (r, t, s) = name_parts("a.b.Example.co.uk.").unwrap();
        assert_eq!(
            (r.as_str(), t.as_str(), s.as_str()),
            ("example.co.uk", "co.uk", "a.b")
        );
        let (r, _, s) = name_parts("www.example.com").unwrap();
        assert_eq!((r.as_str(), s.as_str()), ("example.com", "www"));
    }

    #[test]
    fn subnets_and_entropy() {
        let a: IpAddr = "10.1.2.3".parse().unwrap();
        assert!(in_subnet(a, "10.0.0.0".parse().unwrap(), 8));
        assert!(!in_subnet(a, "11.0.0.0".parse().unwrap(), 8));
        assert!(in_subnet(
            "::ffff:10.1.2.3".parse().unwrap(),
            "10.0.0.0".parse().unwrap(),
            8
        ));
        assert!(in_subnet(
            "fe80::1".parse().unwrap(),
            "fe80::".parse().unwrap(),
            10
        ));
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert_eq!(
            strftime("%Y-%m-%d %H:%M", 1_712_912_400_000_000_000).unwrap(),
            "2024-04-12 09:00"
        );
        assert!(strftime("%Q", 0).is_none());
    }
}
