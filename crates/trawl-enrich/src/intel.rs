//! Indicators from files in Zeek's intel-framework format, matched against records.
//!
//! A file is Zeek TSV (a `#fields` line naming at least `indicator` and `indicator_type`;
//! `meta.source` is optional), read with [`trawl_zeek::LogReader`], so Zeek JSON works too.
//! Text indicators match case-insensitively; the same indicator from several files or
//! sources is one indicator with several sources.
//!
//! What is looked at (one pass over a record's fields):
//!
//! | fields | indicator types |
//! |---|---|
//! | `query`, `host`, `server_name` | `Intel::DOMAIN`: the name itself, or any parent domain of it |
//! | `answers` | `Intel::DOMAIN` (names, parents too) and `Intel::ADDR`/`SUBNET` (addresses) |
//! | `id.orig_h`, `id.resp_h`, `client_addr`, `assigned_addr`, `tx_hosts`, `rx_hosts` | `Intel::ADDR` exactly, `Intel::SUBNET` by prefix |
//! | `md5`, `sha1`, `sha256` | `Intel::FILE_HASH` |
//! | `fingerprint`, `cert_chain_fps` | `Intel::CERT_HASH` |
//! | `mailfrom`, `rcptto`, `from`, `to`, `cc`, `reply_to` | `Intel::EMAIL` (the part in `<...>` if any) |
//! | `username`, `user` | `Intel::USER_NAME` |
//! | `filename` | `Intel::FILE_NAME` |
//! | `host` + `uri` (http) | `Intel::URL`, written as Zeek does: without the scheme |
//! | `name` (software.log) | `Intel::SOFTWARE` |

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

use trawl_zeek::{Item, LogReader, Record, Value};

use crate::fields::{addr_value, text_of};

/// An indicator type (`Intel::DOMAIN` ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `Intel::ADDR`
    Addr,
    /// `Intel::SUBNET`
    Subnet,
    /// `Intel::DOMAIN`
    Domain,
    /// `Intel::URL`
    Url,
    /// `Intel::FILE_HASH`
    FileHash,
    /// `Intel::FILE_NAME`
    FileName,
    /// `Intel::EMAIL`
    Email,
    /// `Intel::SOFTWARE`
    Software,
    /// `Intel::USER_NAME`
    UserName,
    /// `Intel::CERT_HASH`
    CertHash,
    /// Any other type (e.g. `Intel::PUBKEY_HASH`): loaded, matched against nothing.
    Other(Box<str>),
}

impl Kind {
    /// Parses `Intel::X` (or bare `X`).
    pub fn parse(s: &str) -> Kind {
        match s.strip_prefix("Intel::").unwrap_or(s) {
            "ADDR" => Kind::Addr,
            "SUBNET" => Kind::Subnet,
            "DOMAIN" => Kind::Domain,
            "URL" => Kind::Url,
            "FILE_HASH" => Kind::FileHash,
            "FILE_NAME" => Kind::FileName,
            "EMAIL" => Kind::Email,
            "SOFTWARE" => Kind::Software,
            "USER_NAME" => Kind::UserName,
            "CERT_HASH" => Kind::CertHash,
            _ => Kind::Other(s.into()),
        }
    }

    /// The Zeek name, `Intel::X`.
    pub fn name(&self) -> &str {
        match self {
            Kind::Addr => "Intel::ADDR",
            Kind::Subnet => "Intel::SUBNET",
            Kind::Domain => "Intel::DOMAIN",
            Kind::Url => "Intel::URL",
            Kind::FileHash => "Intel::FILE_HASH",
            Kind::FileName => "Intel::FILE_NAME",
            Kind::Email => "Intel::EMAIL",
            Kind::Software => "Intel::SOFTWARE",
            Kind::UserName => "Intel::USER_NAME",
            Kind::CertHash => "Intel::CERT_HASH",
            Kind::Other(s) => s,
        }
    }
}

/// One indicator with everyone who reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// As written in the file.
    pub indicator: Box<str>,
    /// Its type.
    pub kind: Kind,
    /// `meta.source` values, in the order first seen.
    pub sources: Vec<Box<str>>,
}

/// One match of a record against an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit<'a> {
    /// The indicator matched.
    pub indicator: &'a Indicator,
    /// The record field it was seen in.
    pub field: &'a str,
    /// Whether a name matched as a subdomain of a `DOMAIN` indicator (`a.evil.com` for
    /// `evil.com`), not exactly.
    pub parent: bool,
}

/// Why an intel file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum IntelError {
    /// The file could not be opened or read.
    #[error("intel {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A row (1-based line) without an indicator or type, or with a bad address/subnet.
    #[error("intel {path} line {line}: {reason}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
}

/// What a field name means to the matcher.
#[derive(Clone, Copy)]
enum Role {
    Name,
    NameOrAddr,
    Addr,
    Text(u8),
}

const TEXT_HASH: u8 = 0;
const TEXT_CERT: u8 = 1;
const TEXT_EMAIL: u8 = 2;
const TEXT_USER: u8 = 3;
const TEXT_FILE: u8 = 4;

fn role(field: &str) -> Option<Role> {
    Some(match field {
        "query" | "host" | "server_name" => Role::Name,
        "answers" => Role::NameOrAddr,
        "id.orig_h" | "id.resp_h" | "client_addr" | "assigned_addr" | "tx_hosts" | "rx_hosts" => {
            Role::Addr
        }
        "md5" | "sha1" | "sha256" => Role::Text(TEXT_HASH),
        "fingerprint" | "cert_chain_fps" => Role::Text(TEXT_CERT),
        "mailfrom" | "rcptto" | "from" | "to" | "cc" | "reply_to" => Role::Text(TEXT_EMAIL),
        "username" | "user" => Role::Text(TEXT_USER),
        "filename" => Role::Text(TEXT_FILE),
        _ => return None,
    })
}

fn text_kind(k: &Kind) -> Option<u8> {
    Some(match k {
        Kind::FileHash => TEXT_HASH,
        Kind::CertHash => TEXT_CERT,
        Kind::Email => TEXT_EMAIL,
        Kind::UserName => TEXT_USER,
        Kind::FileName => TEXT_FILE,
        _ => return None,
    })
}

/// All indicators loaded, indexed for matching.
#[derive(Debug, Default, Clone)]
pub struct Intel {
    indicators: Vec<Indicator>,
    addrs: HashMap<IpAddr, u32>,
    /// By (prefix length, IPv6?): masked network to indicator.
    subnets: Vec<((u8, bool), HashMap<u128, u32>)>,
    domains: HashMap<Box<str>, u32>,
    texts: HashMap<(u8, Box<str>), u32>,
    urls: HashMap<Box<str>, u32>,
    software: HashMap<Box<str>, u32>,
    by_key: HashMap<(Kind, Box<str>), u32>,
}

fn bits(a: IpAddr) -> (u128, bool) {
    match a {
        IpAddr::V4(v) => (u128::from(u32::from(v)), false),
        IpAddr::V6(v) => (u128::from(v), true),
    }
}

fn mask(x: u128, prefix: u8, v6: bool) -> u128 {
    let width = if v6 { 128 } else { 32 };
    let host = width - u32::from(prefix.min(width as u8));
    if host >= 128 {
        0
    } else {
        x & !((1u128 << host) - 1)
    }
}

impl Intel {
    /// No indicators.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads one more file (plain, or gzip/zstd if the caller decompresses).
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<usize, IntelError> {
        let path = path.as_ref();
        let f = std::fs::File::open(path).map_err(|e| IntelError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        self.load_reader(f, &path.display().to_string())
    }

    /// Loads indicators from a stream; `name` is used in errors. Returns how many rows were
    /// read. Rows that say nothing (no indicator) are errors with their line number.
    pub fn load_reader(&mut self, r: impl Read, name: &str) -> Result<usize, IntelError> {
        let mut reader = LogReader::new(r).default_path("intel");
        let mut n = 0;
        for item in reader.records() {
            let item = item.map_err(|e| IntelError::Io {
                path: name.to_string(),
                source: e,
            })?;
            let (line, rec) = match item {
                Item::Record { line, record, .. } => (line, record),
                Item::Bad { line, reason, .. } => {
                    return Err(IntelError::Line {
                        path: name.to_string(),
                        line,
                        reason,
                    })
                }
            };
            self.add_record(&rec).map_err(|reason| IntelError::Line {
                path: name.to_string(),
                line,
                reason,
            })?;
            n += 1;
        }
        Ok(n)
    }

    fn add_record(&mut self, rec: &Record<'_>) -> Result<(), String> {
        let ind = text_of(rec, "indicator").map(str::trim).unwrap_or("");
        let ty = text_of(rec, "indicator_type").map(str::trim).unwrap_or("");
        if ind.is_empty() || ty.is_empty() {
            return Err("no indicator or indicator_type".into());
        }
        let source = text_of(rec, "meta.source").map(str::trim).unwrap_or("");
        self.add(ind, Kind::parse(ty), source)
    }

    /// Adds one indicator (merging sources with an equal one already there).
    pub fn add(&mut self, indicator: &str, kind: Kind, source: &str) -> Result<(), String> {
        let key: Box<str> = match kind {
            Kind::Domain => indicator.trim_end_matches('.').to_ascii_lowercase().into(),
            Kind::Url => {
                let s = indicator.to_ascii_lowercase();
                let s = s
                    .strip_prefix("http://")
                    .or_else(|| s.strip_prefix("https://"))
                    .unwrap_or(&s);
                s.into()
            }
            _ => indicator.to_ascii_lowercase().into(),
        };
        if let Some(&i) = self.by_key.get(&(kind.clone(), key.clone())) {
            let sources = &mut self.indicators[i as usize].sources;
            if !source.is_empty() && !sources.iter().any(|s| &**s == source) {
                sources.push(source.into());
            }
            return Ok(());
        }
        let idx = u32::try_from(self.indicators.len()).map_err(|_| "too many indicators")?;
        match &kind {
            Kind::Addr => {
                let a: IpAddr = key
                    .trim_matches(['[', ']'])
                    .parse()
                    .map_err(|_| format!("{indicator:?} is not an address"))?;
                self.addrs.insert(a, idx);
            }
            Kind::Subnet => {
                let (a, p) = key
                    .split_once('/')
                    .and_then(|(a, p)| {
                        Some((
                            a.trim_matches(['[', ']']).parse::<IpAddr>().ok()?,
                            p.parse::<u8>().ok()?,
                        ))
                    })
                    .ok_or_else(|| format!("{indicator:?} is not a subnet"))?;
                let (x, v6) = bits(a);
                if p > if v6 { 128 } else { 32 } {
                    return Err(format!("{indicator:?} is not a subnet"));
                }
                let slot = match self.subnets.iter_mut().find(|(k, _)| *k == (p, v6)) {
                    Some((_, m)) => m,
                    None => {
                        self.subnets.push(((p, v6), HashMap::new()));
                        // Longest prefix first: the most specific hit is reported first.
                        self.subnets.sort_by_key(|s| std::cmp::Reverse(s.0 .0));
                        let at = self.subnets.iter().position(|(k, _)| *k == (p, v6));
                        &mut self.subnets[at.unwrap_or(0)].1
                    }
                };
                slot.insert(mask(x, p, v6), idx);
            }
            Kind::Domain => {
                self.domains.insert(key.clone(), idx);
            }
            Kind::Url => {
                self.urls.insert(key.clone(), idx);
            }
            Kind::Software => {
                self.software.insert(key.clone(), idx);
            }
            k => {
                if let Some(t) = text_kind(k) {
                    self.texts.insert((t, key.clone()), idx);
                }
            }
        }
        self.by_key.insert((kind.clone(), key), idx);
        self.indicators.push(Indicator {
            indicator: indicator.into(),
            kind,
            sources: if source.is_empty() {
                Vec::new()
            } else {
                vec![source.into()]
            },
        });
        Ok(())
    }

    /// Number of distinct indicators.
    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    /// Whether none are loaded.
    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// Indicators matching a name: exactly, then as parent domains (nearest first).
    pub fn match_name<'s>(&'s self, name: &str, field: &'s str, out: &mut Vec<Hit<'s>>) {
        if self.domains.is_empty() {
            return;
        }
        let name = name.trim_end_matches('.');
        let lower;
        let mut name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            lower = name.to_ascii_lowercase();
            lower.as_str()
        } else {
            name
        };
        let mut parent = false;
        loop {
            if let Some(&i) = self.domains.get(name) {
                self.push(out, i, field, parent);
            }
            match name.find('.') {
                Some(dot) => name = &name[dot + 1..],
                None => break,
            }
            parent = true;
        }
    }

    /// Indicators matching an address: exactly, then by subnet (longest prefix first).
    pub fn match_addr<'s>(&'s self, a: IpAddr, field: &'s str, out: &mut Vec<Hit<'s>>) {
        if let Some(&i) = self.addrs.get(&a) {
            self.push(out, i, field, false);
        }
        let (x, v6) = bits(a);
        for ((p, sv6), m) in &self.subnets {
            if *sv6 == v6 {
                if let Some(&i) = m.get(&mask(x, *p, v6)) {
                    self.push(out, i, field, false);
                }
            }
        }
    }

    fn match_text<'s>(&'s self, t: u8, text: &[u8], field: &'s str, out: &mut Vec<Hit<'s>>) {
        let Ok(s) = std::str::from_utf8(text) else {
            return;
        };
        let mut s = s.trim();
        if t == TEXT_EMAIL {
            if let (Some(a), Some(b)) = (s.find('<'), s.rfind('>')) {
                if a < b {
                    s = &s[a + 1..b];
                }
            }
        }
        if let Some(&i) = self
            .texts
            .get(&(t, s.to_ascii_lowercase().into_boxed_str()))
        {
            self.push(out, i, field, false);
        }
    }

    fn push<'s>(&'s self, out: &mut Vec<Hit<'s>>, i: u32, field: &'s str, parent: bool) {
        let indicator = &self.indicators[i as usize];
        if !out
            .iter()
            .any(|h| std::ptr::eq(h.indicator, indicator) && h.field == field)
        {
            out.push(Hit {
                indicator,
                field,
                parent,
            });
        }
    }

    /// Every indicator the record matches, in field order.
    pub fn matches_record<'s>(&'s self, rec: &'s Record<'_>) -> Vec<Hit<'s>> {
        let mut out = Vec::new();
        self.matches_into(rec, &mut out);
        out
    }

    /// [`Intel::matches_record`] into a reused vector (cleared first).
    pub fn matches_into<'s>(&'s self, rec: &'s Record<'_>, out: &mut Vec<Hit<'s>>) {
        out.clear();
        if self.indicators.is_empty() {
            return;
        }
        for f in &rec.fields {
            let Some(role) = role(&f.name) else { continue };
            let one = std::slice::from_ref(&f.value);
            let values = match &f.value {
                Value::List(items) => items.as_slice(),
                _ => one,
            };
            for v in values {
                self.match_value(role, v, &f.name, out);
            }
        }
        if !self.urls.is_empty() && rec.path == "http" {
            if let (Some(host), Some(uri)) = (text_of(rec, "host"), text_of(rec, "uri")) {
                let url = format!("{host}{uri}").to_ascii_lowercase();
                if let Some(&i) = self.urls.get(url.as_str()) {
                    self.push(out, i, "uri", false);
                }
            }
        }
        if !self.software.is_empty() && rec.path == "software" {
            if let Some(name) = text_of(rec, "name") {
                if let Some(&i) = self.software.get(name.to_ascii_lowercase().as_str()) {
                    self.push(out, i, "name", false);
                }
            }
        }
    }

    fn match_value<'s>(
        &'s self,
        role: Role,
        v: &Value<'_>,
        field: &'s str,
        out: &mut Vec<Hit<'s>>,
    ) {
        match (role, v) {
            (Role::Addr | Role::NameOrAddr, Value::Addr(_) | Value::Str(_)) => {
                if let Some(a) = addr_value(v) {
                    return self.match_addr(a, field, out);
                }
                if let (Role::NameOrAddr, Value::Str(s)) = (role, v) {
                    if let Ok(s) = std::str::from_utf8(s) {
                        self.match_name(s, field, out);
                    }
                }
            }
            (Role::Name, Value::Str(s)) => {
                if let Ok(s) = std::str::from_utf8(s) {
                    self.match_name(s, field, out);
                }
            }
            (Role::Text(t), Value::Str(s)) if !self.texts.is_empty() => {
                self.match_text(t, s, field, out)
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trawl_zeek::{Scalar, ZeekType};

    const FILE: &str = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n\
evil.com\tIntel::DOMAIN\tfeed-a\tx\n\
EVIL.com\tIntel::DOMAIN\tfeed-b\tx\n\
198.51.100.7\tIntel::ADDR\tfeed-a\tx\n\
10.66.0.0/16\tIntel::SUBNET\tfeed-c\tx\n\
2001:db8::/32\tIntel::SUBNET\tfeed-c\tx\n\
038200634965A801C34935670A541AE5\tIntel::FILE_HASH\tfeed-d\tx\n\
bad.example/login.php\tIntel::URL\tfeed-e\tx\n\
mallory@evil.com\tIntel::EMAIL\tfeed-e\tx\n";

    fn intel() -> Intel {
        let mut i = Intel::new();
        assert_eq!(i.load_reader(FILE.as_bytes(), "t").unwrap(), 8);
        i
    }

    fn rec(path: &str, fields: &[(&str, Value<'static>)]) -> Record<'static> {
        let mut r = Record::new(path.to_string());
        for (n, v) in fields {
            r.push(n.to_string(), ZeekType::single(Scalar::String), v.clone());
        }
        r
    }

    fn s(x: &str) -> Value<'static> {
        Value::Str(x.as_bytes().to_vec().into())
    }

    #[test]
    fn names_exact_and_parent_with_merged_sources() {
        let i = intel();
        assert_eq!(i.len(), 7);
        let r = rec("dns", &[("query", s("Evil.com."))]);
        let h = i.matches_record(&r);
        assert_eq!(h.len(), 1);
        assert!(!h[0].parent);
        assert_eq!(
            h[0].indicator.sources,
            vec![Box::<str>::from("feed-a"), Box::from("feed-b")]
        );
        let r = rec("dns", &[("query", s("a.b.evil.com"))]);
        let h = i.matches_record(&r);
        assert_eq!(h.len(), 1);
        assert!(h[0].parent);
        assert_eq!(h[0].field, "query");
        let r = rec("dns", &[("query", s("notevil.com"))]);
        assert!(i.matches_record(&r).is_empty());
    }

    #[test]
    fn addresses_subnets_answers_hashes_urls_emails() {
        let i = intel();
        let r = rec(
            "conn",
            &[
                ("id.orig_h", Value::Addr("10.66.3.4".parse().unwrap())),
                ("id.resp_h", s("198.51.100.7")),
            ],
        );
        let h = i.matches_record(&r);
        let got: Vec<_> = h
            .iter()
            .map(|h| (h.field, &*h.indicator.indicator))
            .collect();
        assert_eq!(
            got,
            vec![("id.orig_h", "10.66.0.0/16"), ("id.resp_h", "198.51.100.7")]
        );
        let r = rec(
            "conn",
            &[("id.resp_h", Value::Addr("2001:db8:1::5".parse().unwrap()))],
        );
        assert_eq!(i.matches_record(&r).len(), 1);
        let r = rec(
            "conn",
            &[("id.resp_h", Value::Addr("10.67.0.1".parse().unwrap()))],
        );
        assert!(i.matches_record(&r).is_empty());
        let r = rec(
            "dns",
            &[(
                "answers",
                Value::List(vec![s("cdn.evil.com"), s("198.51.100.7")]),
            )],
        );
        assert_eq!(i.matches_record(&r).len(), 2);
        let r = rec("files", &[("md5", s("038200634965a801c34935670a541ae5"))]);
        assert_eq!(i.matches_record(&r)[0].indicator.kind, Kind::FileHash);
        let r = rec(
            "http",
            &[("host", s("bad.example")), ("uri", s("/login.php"))],
        );
        assert_eq!(i.matches_record(&r)[0].indicator.kind, Kind::Url);
        let r = rec("smtp", &[("from", s("Mallory <MALLORY@evil.com>"))]);
        assert_eq!(i.matches_record(&r)[0].indicator.kind, Kind::Email);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let mut i = Intel::new();
        let e = i
            .load_reader(
                "#fields\tindicator\tindicator_type\n1.2.3.4\tIntel::ADDR\nnope\tIntel::ADDR\n"
                    .as_bytes(),
                "f",
            )
            .unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
    }

    #[test]
    fn reads_the_corpus_example() {
        let Some(p) = crate::attribution::shared_corpus("intel_example.intel") else {
            return;
        };
        let mut i = Intel::new();
        assert_eq!(i.load(&p).unwrap(), 500);
        let r = rec(
            "files",
            &[("sha1", s("024A9229E750D1FD63A5BE6D4C6A48F4C7DDFD94"))],
        );
        assert_eq!(i.matches_record(&r).len(), 1);
        let r = rec("dns", &[("query", s("www.007airsoft.com"))]);
        assert!(i.matches_record(&r)[0].parent);
    }
}
