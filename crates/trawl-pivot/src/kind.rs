//! What a pivot value is (uid, file id, hash, address, DNS name), and the tokens of a log line
//! that can be one.
//!
//! Indexing and matching share one tokenizer, so a line is found exactly when one of its tokens
//! *is* the value, never when the value is merely a substring of a longer token (`grep` finds
//! `10.0.0.1` inside `10.0.0.12`; trawl does not). Tokens are split on the separators of Zeek
//! TSV, sets, JSON and x509 subjects; JSON keys are skipped. The tokenizer needs no header, so
//! TSV, JSON and dnsmasq lines are indexed the same way.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// The kinds of value a pivot follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A Zeek connection uid: `C` and 11 to 23 letters and digits (`CTn2DuaYw4sKLdZuTV`).
    Uid,
    /// A Zeek file id: `F` and 11 to 23 letters and digits (`F0FDvMOu66bu8yCST`).
    Fuid,
    /// An MD5, SHA-1 or SHA-256 digest in hex (32, 40 or 64 digits), any case.
    Hash,
    /// An IPv4 or IPv6 address, compared as an address (`::1` equals `0:0::1`).
    Addr,
    /// A DNS name with at least two labels and an alphabetic top label, any case, a trailing dot
    /// ignored.
    Name,
}

impl Kind {
    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Uid => "uid",
            Kind::Fuid => "fuid",
            Kind::Hash => "hash",
            Kind::Addr => "address",
            Kind::Name => "name",
        }
    }

    fn tag(self) -> u64 {
        match self {
            Kind::Uid => 1,
            Kind::Fuid => 2,
            Kind::Hash => 3,
            Kind::Addr => 4,
            Kind::Name => 5,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value to pivot on, normalized.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PivotValue {
    /// What it is.
    pub kind: Kind,
    /// Its normalized text: addresses in canonical form, hashes and names in lower case.
    pub text: String,
    norm: Norm,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Norm {
    Bytes(Vec<u8>),
    Addr(IpAddr),
}

/// A value that is none of the kinds a pivot follows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{value:?} is not a connection uid (C...), file id (F...), MD5/SHA-1/SHA-256 hash, \
     IP address or DNS name"
)]
pub struct KindError {
    /// The value as given.
    pub value: String,
}

impl PivotValue {
    /// Recognises `s` (surrounding blanks ignored).
    pub fn parse(s: &str) -> Result<PivotValue, KindError> {
        let t = s.trim();
        match classify(t.as_bytes()) {
            Some(tok) => Ok(PivotValue::from_token(&tok)),
            None => Err(KindError { value: s.into() }),
        }
    }

    fn from_token(tok: &Token<'_>) -> PivotValue {
        let (text, norm) = match tok.norm {
            TokNorm::Exact(b) => (
                String::from_utf8_lossy(b).into_owned(),
                Norm::Bytes(b.to_vec()),
            ),
            TokNorm::Lower(b) => {
                let lower = b.to_ascii_lowercase();
                (
                    String::from_utf8_lossy(&lower).into_owned(),
                    Norm::Bytes(lower),
                )
            }
            TokNorm::Addr(a) => (a.to_string(), Norm::Addr(a)),
        };
        PivotValue {
            kind: tok.kind,
            text,
            norm,
        }
    }

    /// The 64-bit key the index files postings under.
    pub fn key(&self) -> u64 {
        match &self.norm {
            Norm::Bytes(b) => hash_bytes(self.kind, b, false),
            Norm::Addr(a) => hash_addr(*a),
        }
    }

    /// Whether `tok` is this value.
    pub(crate) fn is(&self, tok: &Token<'_>) -> bool {
        if tok.kind != self.kind {
            return false;
        }
        match (&self.norm, tok.norm) {
            (Norm::Bytes(v), TokNorm::Exact(b)) => v.as_slice() == b,
            (Norm::Bytes(v), TokNorm::Lower(b)) => v.eq_ignore_ascii_case(b),
            (Norm::Addr(v), TokNorm::Addr(a)) => *v == a,
            _ => false,
        }
    }

    /// Whether one of the tokens of `line` is this value.
    pub fn in_line(&self, line: &[u8]) -> bool {
        let mut found = false;
        for_each_token(line, |tok| {
            if !found && self.is(&tok) {
                found = true;
            }
        });
        found
    }
}

impl fmt::Display for PivotValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One token of a line that is a pivotable value.
#[derive(Debug, Clone, Copy)]
pub struct Token<'a> {
    /// Its kind.
    pub kind: Kind,
    norm: TokNorm<'a>,
}

#[derive(Debug, Clone, Copy)]
enum TokNorm<'a> {
    /// Compared byte for byte (uids).
    Exact(&'a [u8]),
    /// Compared ignoring ASCII case (hashes, names; a trailing dot already cut).
    Lower(&'a [u8]),
    Addr(IpAddr),
}

impl Token<'_> {
    /// The index key, equal to [`PivotValue::key`] of the same value.
    pub fn key(&self) -> u64 {
        match self.norm {
            TokNorm::Exact(b) => hash_bytes(self.kind, b, false),
            TokNorm::Lower(b) => hash_bytes(self.kind, b, true),
            TokNorm::Addr(a) => hash_addr(a),
        }
    }
}

/// Bytes that end a token: TSV and set separators, JSON punctuation, blanks, x509 subject
/// separators, URL slashes. Not `:` (IPv6) and not `.`/`-`/`_` (names).
const fn delimiters() -> [bool; 256] {
    let mut t = [false; 256];
    let d = b"\t\n\r ,\"'[]{}()<>;=|/";
    let mut i = 0;
    while i < d.len() {
        t[d[i] as usize] = true;
        i += 1;
    }
    t
}
static DELIM: [bool; 256] = delimiters();

/// Calls `f` for every token of `line` that is a uid, file id, hash, address or name.
/// JSON object keys (a quoted token followed by `:`) are skipped.
pub fn for_each_token<'a>(line: &'a [u8], mut f: impl FnMut(Token<'a>)) {
    let n = line.len();
    let mut i = 0;
    while i < n {
        while i < n && DELIM[line[i] as usize] {
            i += 1;
        }
        let start = i;
        while i < n && !DELIM[line[i] as usize] {
            i += 1;
        }
        if i - start < 2 {
            continue;
        }
        // `"key":` in JSON.
        if i + 1 < n && line[i] == b'"' && line[i + 1] == b':' {
            continue;
        }
        if let Some(tok) = classify(&line[start..i]) {
            f(tok);
        }
    }
}

// Character classes seen in a token.
const LOWER: u8 = 1;
const UPPER: u8 = 2;
const DIGIT: u8 = 4;
const DOT: u8 = 8;
const COLON: u8 = 16;
const NAMEPUNCT: u8 = 32; // '-', '_', '*'
const OTHER: u8 = 64;
const NONHEX: u8 = 128; // a letter beyond a-f/A-F

const fn classes() -> [u8; 256] {
    let mut t = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_lowercase() {
            LOWER | if c > b'f' { NONHEX } else { 0 }
        } else if c.is_ascii_uppercase() {
            UPPER | if c > b'F' { NONHEX } else { 0 }
        } else if c.is_ascii_digit() {
            DIGIT
        } else if c == b'.' {
            DOT
        } else if c == b':' {
            COLON
        } else if c == b'-' || c == b'_' || c == b'*' {
            NAMEPUNCT
        } else {
            OTHER
        };
        b += 1;
    }
    t
}
static CLASS: [u8; 256] = classes();

/// What `tok` is, if it is one of the kinds a pivot follows.
pub fn classify(tok: &[u8]) -> Option<Token<'_>> {
    let len = tok.len();
    if !(2..=253).contains(&len) {
        return None;
    }
    let mut seen = 0u8;
    for &b in tok {
        seen |= CLASS[b as usize];
    }
    if seen & OTHER != 0 {
        return None;
    }
    let alnum_only = seen & (DOT | COLON | NAMEPUNCT) == 0;
    if alnum_only && seen & NONHEX == 0 && matches!(len, 32 | 40 | 64) {
        return Some(Token {
            kind: Kind::Hash,
            norm: TokNorm::Lower(tok),
        });
    }
    if alnum_only && (12..=24).contains(&len) {
        let kind = match tok[0] {
            b'C' => Some(Kind::Uid),
            b'F' => Some(Kind::Fuid),
            _ => None,
        };
        if let Some(kind) = kind {
            return Some(Token {
                kind,
                norm: TokNorm::Exact(tok),
            });
        }
        return None;
    }
    if seen & !(DIGIT | DOT) == 0 {
        return ipv4(tok).map(|a| Token {
            kind: Kind::Addr,
            norm: TokNorm::Addr(IpAddr::V4(a)),
        });
    }
    if seen & COLON != 0 {
        if seen & (NONHEX | NAMEPUNCT) != 0 {
            return None;
        }
        let s = std::str::from_utf8(tok).ok()?;
        return Ipv6Addr::from_str(s).ok().map(|a| Token {
            kind: Kind::Addr,
            norm: TokNorm::Addr(IpAddr::V6(a)),
        });
    }
    if seen & DOT != 0 && seen & (LOWER | UPPER) != 0 {
        return name(tok).map(|n| Token {
            kind: Kind::Name,
            norm: TokNorm::Lower(n),
        });
    }
    None
}

fn ipv4(tok: &[u8]) -> Option<Ipv4Addr> {
    if !(7..=15).contains(&tok.len()) {
        return None;
    }
    let s = std::str::from_utf8(tok).ok()?;
    Ipv4Addr::from_str(s).ok()
}

/// A DNS name: labels of letters, digits, `-`, `_`, `*`; at least two; the last alphabetic
/// (or punycode `xn--...`). The trailing root dot is cut.
fn name(tok: &[u8]) -> Option<&[u8]> {
    let tok = tok.strip_suffix(b".").unwrap_or(tok);
    if tok.first() == Some(&b'.') {
        return None;
    }
    let dot = memchr::memrchr(b'.', tok)?;
    let top = &tok[dot + 1..];
    let alphabetic = top.len() >= 2 && top.iter().all(u8::is_ascii_alphabetic);
    let puny = top.len() > 4 && top[..4].eq_ignore_ascii_case(b"xn--");
    if !(alphabetic || puny) || tok.windows(2).any(|w| w == b"..") {
        return None;
    }
    Some(tok)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn finish(h: u64) -> u64 {
    // FNV's low bits mix poorly; the index keys on the high 32 bits after this.
    let mut x = h;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

fn hash_bytes(kind: Kind, b: &[u8], lower: bool) -> u64 {
    let mut h = FNV_OFFSET ^ kind.tag();
    for &c in b {
        let c = if lower { c.to_ascii_lowercase() } else { c };
        h = (h ^ u64::from(c)).wrapping_mul(FNV_PRIME);
    }
    finish(h)
}

fn hash_addr(a: IpAddr) -> u64 {
    let mut h = FNV_OFFSET ^ Kind::Addr.tag();
    let v6 = match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    for c in v6.octets() {
        h = (h ^ u64::from(c)).wrapping_mul(FNV_PRIME);
    }
    finish(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<Kind> {
        PivotValue::parse(s).ok().map(|v| v.kind)
    }

    #[test]
    fn kinds_are_recognised() {
        assert_eq!(kind("CTn2DuaYw4sKLdZuTV"), Some(Kind::Uid));
        assert_eq!(kind(" CTn2DuaYw4sKLdZuTV\n"), Some(Kind::Uid));
        assert_eq!(kind("F0FDvMOu66bu8yCST"), Some(Kind::Fuid));
        assert_eq!(kind("af74211aa2e9b4aeeba42ef495e5c182"), Some(Kind::Hash));
        assert_eq!(
            kind("114b7914c2fe2bd7708b8d47e9fdbf26b4fd0e59"),
            Some(Kind::Hash)
        );
        assert_eq!(
            kind("66748F472B41DE76787D1653DC9851AE0DC3AD08B81CAA9BB9775BF091F60569"),
            Some(Kind::Hash)
        );
        assert_eq!(kind("203.0.113.50"), Some(Kind::Addr));
        assert_eq!(kind("fe80::1"), Some(Kind::Addr));
        assert_eq!(kind("2001:db8::ff00:42:8329"), Some(Kind::Addr));
        assert_eq!(kind("updates.example-cdn.net"), Some(Kind::Name));
        assert_eq!(kind("WWW.Example.COM."), Some(Kind::Name));
        assert_eq!(kind("_ldap._tcp.dc.xn--bcher-kva"), Some(Kind::Name));
        for not in [
            "",
            "C",
            "Connection",
            "1763631001.200000",
            "10.0",
            "1.2.3",
            "256.1.1.1",
            "17:15:20",
            "/dl/invoice.exe",
            "a..b.com",
            "example.c0m",
            "af74211aa2e9b4aeeba42ef495e5c18", // 31 digits
            "Mozilla/5.0",
        ] {
            assert_eq!(kind(not), None, "{not:?}");
        }
    }

    #[test]
    fn values_normalize() {
        let a = PivotValue::parse("2001:DB8:0:0::1").unwrap();
        assert_eq!(a.text, "2001:db8::1");
        assert_eq!(a.key(), PivotValue::parse("2001:db8::1").unwrap().key());
        let n = PivotValue::parse("WWW.Example.COM.").unwrap();
        assert_eq!(n.text, "www.example.com");
        // Uids are case-sensitive.
        let u = PivotValue::parse("CTn2DuaYw4sKLdZuTV").unwrap();
        assert_ne!(
            u.key(),
            PivotValue::parse("Ctn2DuaYw4sKLdZuTV").unwrap().key()
        );
        // The same text as different kinds never shares a key.
        assert_ne!(
            hash_bytes(Kind::Uid, b"x", false),
            hash_bytes(Kind::Fuid, b"x", false)
        );
    }

    fn tokens(line: &str) -> Vec<(Kind, String)> {
        let mut out = Vec::new();
        for_each_token(line.as_bytes(), |t| {
            let v = PivotValue::from_token(&t);
            assert_eq!(v.key(), t.key());
            out.push((t.kind, v.text));
        });
        out
    }

    #[test]
    fn tsv_line_tokens() {
        let line = "1763631001.200000\tF0FDvMOu66bu8yCST\tCTn2DuaYw4sKLdZuTV\t203.0.113.50\t80\t\
                    192.168.1.11\t54129\tHTTP\t0\tMD5,SHA1\tapplication/x-dosexec\tinvoice.exe\t\
                    af74211aa2e9b4aeeba42ef495e5c182\t-\t(empty)";
        assert_eq!(
            tokens(line),
            vec![
                (Kind::Fuid, "F0FDvMOu66bu8yCST".into()),
                (Kind::Uid, "CTn2DuaYw4sKLdZuTV".into()),
                (Kind::Addr, "203.0.113.50".into()),
                (Kind::Addr, "192.168.1.11".into()),
                (Kind::Name, "invoice.exe".into()),
                (Kind::Hash, "af74211aa2e9b4aeeba42ef495e5c182".into()),
            ]
        );
    }

    #[test]
    fn json_keys_are_skipped() {
        let line = r#"{"ts":1.5,"uid":"CTn2DuaYw4sKLdZuTV","id.orig_h":"10.0.0.1","query":"a.example.org","answers":["b.example.org","10.0.0.2"]}"#;
        assert_eq!(
            tokens(line),
            vec![
                (Kind::Uid, "CTn2DuaYw4sKLdZuTV".into()),
                (Kind::Addr, "10.0.0.1".into()),
                (Kind::Name, "a.example.org".into()),
                (Kind::Name, "b.example.org".into()),
                (Kind::Addr, "10.0.0.2".into()),
            ]
        );
    }

    #[test]
    fn whole_tokens_only() {
        let v = PivotValue::parse("10.0.0.1").unwrap();
        assert!(v.in_line(b"x\t10.0.0.1\ty"));
        assert!(!v.in_line(b"x\t10.0.0.12\ty"));
        assert!(!v.in_line(b"x\t110.0.0.1\ty"));
        let n = PivotValue::parse("example.com").unwrap();
        assert!(n.in_line(b"q\tEXAMPLE.com.\t1"));
        assert!(n.in_line(b"CN=example.com,O=Ex"));
        assert!(!n.in_line(b"q\twww.example.com\t1"));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let junk: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        for_each_token(&junk, |_| {});
        for w in junk.windows(70).step_by(13) {
            let _ = classify(w);
        }
    }
}
