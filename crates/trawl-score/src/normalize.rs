//! Name normalisation and the public-suffix split.
//!
//! Everything here works on a caller-provided stack buffer ([`NameBuf`]), so normalising an
//! ASCII name allocates nothing. Unicode input goes through IDNA (UTS #46) first, which
//! allocates; DNS logs carry names in punycode form, so that path is rare.

use crate::error::NameError;
use std::net::IpAddr;

#[cfg(test)]
mod reference;
mod scan;

use scan::fast_copy;

/// Longest name accepted, in bytes of its ASCII (punycode) form.
pub const MAX_NAME_LEN: usize = 253;
/// Longest label accepted.
pub const MAX_LABEL_LEN: usize = 63;

/// Leading host labels that say nothing about a name's intent; they are stripped (while a
/// subdomain is left) so `www.example.com` and `example.com` score alike.
pub const HOST_LABELS: &[&str] = &[
    "www",
    "www1",
    "www2",
    "www3",
    "ww",
    "mail",
    "webmail",
    "cpanel",
    "webdisk",
    "whm",
    "autodiscover",
    "autoconfig",
    "cpcalendars",
    "cpcontacts",
    "ftp",
    // Auto-discovery names that stub resolvers ask under every search domain.
    "wpad",
    "isatap",
];

/// Free-hosting platforms that are not (or no longer) on the Public Suffix List but host
/// user sites as subdomains; treated like PRIVATE-section suffixes.
pub const EXTRA_PLATFORMS: &[&str] = &[
    "000webhostapp.com",
    "weebly.com",
    "weeblysite.com",
    "glitch.me",
    "godaddysites.com",
    "filesusr.com",
    "16mb.com",
    "webcindario.com",
    "bero-webspace.de",
    "zap-webspace.com",
    "home.pl",
    "cloudwaysapps.com",
    "umbler.net",
    "sharepoint.com",
    "htmlpasta.com",
    "ic0.app",
    "codeanyapp.com",
    "mystrikingly.com",
    "beget.tech",
    "webwave.dev",
    "secureserver.net",
    "netlify.com",
    "easywp.com",
    "tripod.com",
    "ubpages.com",
    "regruhosting.ru",
    "appdomain.cloud",
    "wcomhost.com",
    "yolasite.com",
    "jimdosite.com",
    "site123.me",
    "wordpress.com",
    // Dynamic-DNS providers missing from the list (FreeDNS, ChangeIP and the like).
    "mooo.com",
    "afraid.org",
    "dynserv.com",
    "changeip.com",
    "chickenkiller.com",
    "strangled.net",
    "us.to",
    "linkpc.net",
    "publicvm.com",
    "serveo.net",
];

/// A stack buffer that holds one normalised name.
#[derive(Clone)]
pub struct NameBuf {
    buf: [u8; 256],
}

impl NameBuf {
    /// An empty buffer.
    pub const fn new() -> Self {
        Self { buf: [0; 256] }
    }
}

impl Default for NameBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for NameBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NameBuf")
    }
}

/// What kind of thing a (valid) name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A host name: it gets scores.
    Domain,
    /// An IPv4 or IPv6 literal: not scored.
    IpLiteral,
    /// A name under `in-addr.arpa` or `ip6.arpa`: not scored.
    ReverseDns,
    /// A service-record name: one of its labels starts with `_` (DNS-SD and SRV names such
    /// as `_ldap._tcp.dc._msdcs.corp.example`, `_vlmcs._tcp`, TXT policy names such as
    /// `_dmarc.example.com`), or an auto-discovery lookup (`wpad.corp.example`,
    /// `isatap.corp.example`: a client asking for its proxy or tunnel under its own search
    /// domain). Nobody registers these for what they are: not scored by name.
    Service,
    /// A single-label name (NetBIOS or LLMNR names, `wpad`, a bare host name): not scored.
    SingleLabel,
    /// A name under a suffix that is not public: a TLD that is not on the Public Suffix List
    /// (`lan`, `corp`, `home`, an Active Directory zone such as `factory.oompa.loompa`; the
    /// special-use `local` for mDNS, `internal`, `test`, `localhost`) other than an
    /// alternative root's (`bit`, `bazar`), or a name under `arpa` other than the reverse
    /// zones (`home.arpa`). Nobody can register these: not scored.
    NonPublic,
    /// A name in one of the organisation's own zones (`[networks] local_domains`, see
    /// [`crate::Site`]): not scored. [`normalize`] never gives this kind; the [`crate::Model`]
    /// methods that take a [`crate::Site`] do.
    OwnZone,
}

impl NameKind {
    /// Why a name of this kind is not scored, in words (`None` for [`NameKind::Domain`]).
    /// `p` is the parsed name, for the suffix or label the reason names.
    pub fn unscored_reason(self, p: &Parsed<'_>) -> Option<String> {
        Some(match self {
            NameKind::Domain => return None,
            NameKind::IpLiteral => "IP literal: not scored".into(),
            NameKind::ReverseDns => "reverse-DNS name: not scored".into(),
            NameKind::Service => {
                let Some(label) = p.name.split('.').find(|l| l.starts_with('_')) else {
                    return Some(
                        "auto-discovery lookup (WPAD proxy or ISATAP tunnel) under the client's own search domain: not scored"
                            .into(),
                    );
                };
                format!(
                    "service-record name (label {label}: DNS-SD, SRV or TXT policy), which nobody registers: not scored"
                )
            }
            NameKind::SingleLabel => {
                "single-label name (NetBIOS, LLMNR or a bare host name): not scored".into()
            }
            NameKind::NonPublic if p.suffix.is_empty() => {
                "name under .arpa (infrastructure such as home.arpa), which nobody registers: not scored".into()
            }
            NameKind::NonPublic => {
                let sfx = p.suffix;
                format!(
                    "suffix .{sfx} is not a public suffix (an internal or special-use zone), so nobody registers names under it: not scored"
                )
            }
            NameKind::OwnZone => "in one of this network's own zones: not scored".into(),
        })
    }
}

/// Which section of the Public Suffix List the suffix came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuffixKind {
    /// ICANN section (`com`, `co.uk`, ...).
    Icann,
    /// PRIVATE section: a hosting platform or dynamic-DNS provider (`github.io`, `duckdns.org`).
    Private,
    /// Not on the list (`corp`, `internal`, a typo...).
    Unknown,
    /// Single-label name: no suffix at all.
    None,
}

/// A normalised name split into its parts; all slices borrow the [`NameBuf`].
#[derive(Debug, Clone, Copy)]
pub struct Parsed<'a> {
    /// What the name is.
    pub kind: NameKind,
    /// The full normalised name (lower case, ASCII/punycode, no trailing dot).
    pub name: &'a str,
    /// The registered domain: registered label plus suffix (or the whole name when there is
    /// no registrable part).
    pub registered: &'a str,
    /// The label left of the public suffix (`paypal` in `www.paypal.co.uk`).
    pub label: &'a str,
    /// The public suffix (`co.uk`, `github.io`); empty for single-label names.
    pub suffix: &'a str,
    /// Which list section the suffix came from.
    pub suffix_kind: SuffixKind,
    /// Subdomain labels left of the registered domain, after common host labels
    /// ([`HOST_LABELS`]) were stripped from the left; may be empty.
    pub subdomain: &'a str,
    /// How many host labels were stripped.
    pub stripped: u8,
}

impl<'a> Parsed<'a> {
    /// Whether this name gets scores (it is neither an IP literal nor a reverse-DNS name).
    pub fn is_scorable(&self) -> bool {
        self.kind == NameKind::Domain
    }

    /// The registered domain alone, as if it had been the whole name.
    pub fn registered_only(&self) -> Parsed<'a> {
        Parsed {
            name: self.registered,
            subdomain: "",
            stripped: 0,
            ..*self
        }
    }

    /// A registered domain `d` (at least two labels, valid and normalised) as a name of
    /// its own, split at its first dot.
    pub(crate) fn bare(d: &'a str) -> Parsed<'a> {
        let (label, suffix) = d.split_once('.').unwrap_or((d, ""));
        Parsed {
            kind: NameKind::Domain,
            name: d,
            registered: d,
            label,
            suffix,
            suffix_kind: SuffixKind::Icann,
            subdomain: "",
            stripped: 0,
        }
    }

    /// Number of labels in [`Parsed::subdomain`].
    pub fn subdomain_labels(&self) -> usize {
        if self.subdomain.is_empty() {
            0
        } else {
            self.subdomain.bytes().filter(|&b| b == b'.').count() + 1
        }
    }
}

/// Normalise `input` into `buf` and split it.
///
/// Trims white space, a leading `*.` and one trailing dot; lower-cases; converts Unicode to
/// punycode (IDNA); checks lengths and characters (letters, digits, `-`, `_`); recognises IP
/// literals and reverse-DNS names; splits off the public suffix (ICANN and PRIVATE sections);
/// and strips common host labels such as `www` from the left of the subdomain.
pub fn normalize<'b>(input: &str, buf: &'b mut NameBuf) -> Result<Parsed<'b>, NameError> {
    let mut s = trim(input);
    if let Some(rest) = s.strip_prefix("*.") {
        s = rest;
    }
    if let Some(rest) = s.strip_suffix('.') {
        s = rest;
    }
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some((len, dots)) = fast_copy(s.as_bytes(), &mut buf.buf) {
        // SAFETY: `fast_copy` wrote only bytes of [a-z0-9._-] into `buf[..len]`.
        let name = unsafe { std::str::from_utf8_unchecked(&buf.buf[..len]) };
        return Ok(finish(name, dots));
    }
    if let Some(ip) = ip_literal(s) {
        return Ok(copy_plain(ip, buf, NameKind::IpLiteral));
    }
    let len = if s.is_ascii() {
        let len = copy_lower(s.as_bytes(), &mut buf.buf)?;
        if !quick_valid(&buf.buf[..len]) {
            validate(&buf.buf[..len])?;
        }
        len
    } else {
        // Rare path (logs carry punycode): IDNA allocates.
        let ascii = idna::domain_to_ascii(s).map_err(|_| NameError::Idna)?;
        let ascii = ascii.strip_suffix('.').unwrap_or(&ascii);
        if ascii.is_empty() {
            return Err(NameError::Empty);
        }
        let len = copy_lower(ascii.as_bytes(), &mut buf.buf)?;
        validate(&buf.buf[..len])?;
        len
    };
    let name = std::str::from_utf8(&buf.buf[..len]).map_err(|_| NameError::IllegalChar('?'))?;
    Ok(finish(name, Dots::SCAN))
}

/// `s.trim()`. A name's first and last bytes are nearly always printable ASCII, which is
/// never white space, and then the Unicode-aware scan is skipped.
#[inline(always)]
fn trim(s: &str) -> &str {
    let graphic = |b: Option<&u8>| b.is_some_and(|&b| b.wrapping_sub(0x21) < 0x5e);
    if graphic(s.as_bytes().first()) && graphic(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

/// Reverse-DNS names aside, split a valid, lower-case name.
#[inline]
fn finish(name: &str, dots: Dots) -> Parsed<'_> {
    if let Some(kind) = arpa_kind(name) {
        return plain(name, kind);
    }
    classify(split(name, dots))
}

/// Names under `arpa`: reverse-DNS zones are their own kind, the rest of `arpa`
/// (`home.arpa`, `ipv4only.arpa`, `e164.arpa`...) is infrastructure nobody registers.
#[inline]
pub(super) fn arpa_kind(name: &str) -> Option<NameKind> {
    if !name.ends_with("arpa") || !(name.len() == 4 || name.ends_with(".arpa")) {
        return None;
    }
    if name == "in-addr.arpa"
        || name == "ip6.arpa"
        || name.ends_with(".in-addr.arpa")
        || name.ends_with(".ip6.arpa")
    {
        Some(NameKind::ReverseDns)
    } else {
        Some(NameKind::NonPublic)
    }
}

/// The kind of a split name: service-record names, single-label names and names under
/// suffixes that are not public are not registered by anybody, so they are not scored.
#[inline]
pub(super) fn classify(mut p: Parsed<'_>) -> Parsed<'_> {
    let b = p.name.as_bytes();
    // A label that starts with `_`: the first byte, or a `_` right after a dot.
    let service = b.first() == Some(&b'_')
        || (b.contains(&b'_') && b.windows(2).any(|w| w[0] == b'.' && w[1] == b'_'))
        || b.starts_with(b"wpad.")
        || b.starts_with(b"isatap.");
    let unknown = p.suffix_kind == SuffixKind::Unknown;
    p.kind = if unknown && is_alt_root(p.suffix) {
        // Names in alternative roots are registered, by whoever runs a blockchain wallet.
        NameKind::Domain
    } else if service {
        NameKind::Service
    } else if p.suffix_kind == SuffixKind::None {
        NameKind::SingleLabel
    } else if unknown {
        NameKind::NonPublic
    } else {
        NameKind::Domain
    };
    p
}

/// TLDs of alternative DNS roots (Namecoin, EmerDNS, OpenNIC): not on the Public Suffix
/// List, yet names under them are registered by anybody and malware uses them for its
/// command servers (BazarLoader's `.bazar`, Namecoin's `.bit`), so they are scored. Every
/// other TLD that is not on the list (`lan`, `corp`, `home`, `local`, `internal`, an Active
/// Directory forest's own) is a private zone.
fn is_alt_root(suffix: &str) -> bool {
    const ALT_ROOTS: &[&str] = &[
        "bit", "bazar", "bazaar", "coin", "emc", "lib", "bbs", "chan", "cyb", "dyn", "free", "fur",
        "geek", "gopher", "indy", "libre", "neo", "null", "o", "oss", "oz", "parody", "pirate",
    ];
    let tld = suffix.rsplit('.').next().unwrap_or(suffix);
    ALT_ROOTS.contains(&tld)
}

/// Where the dots of a name are: a bit per byte for names of up to 64 bytes (found while
/// checking the labels), so finding a label boundary costs one instruction; longer names
/// are scanned.
#[derive(Clone, Copy)]
struct Dots {
    /// Bit `i` set when byte `i` is a dot (valid when `exact`).
    mask: u64,
    /// Whether `mask` holds all dots (the name has at most 64 bytes).
    exact: bool,
}

impl Dots {
    /// Scan the bytes.
    const SCAN: Dots = Dots {
        mask: 0,
        exact: false,
    };

    /// The last dot of `name` before `end`.
    #[inline(always)]
    fn last_before(self, name: &[u8], end: usize) -> Option<usize> {
        if self.exact {
            let m = self.mask & 1u64.checked_shl(end as u32).map_or(u64::MAX, |b| b - 1);
            (m != 0).then(|| 63 - m.leading_zeros() as usize)
        } else {
            name.get(..end)?.iter().rposition(|&b| b == b'.')
        }
    }

    /// The first dot of `name` at or after `start`.
    #[inline(always)]
    fn first_from(self, name: &[u8], start: usize) -> Option<usize> {
        if self.exact {
            let m = self.mask & u64::MAX.checked_shl(start as u32).unwrap_or(0);
            (m != 0).then(|| m.trailing_zeros() as usize)
        } else {
            Some(start + name.get(start..)?.iter().position(|&b| b == b'.')?)
        }
    }
}

/// `s` as an IP literal (brackets allowed around IPv6), if it is one.
fn ip_literal(s: &str) -> Option<&str> {
    let inner = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    // Cheap pre-check before parsing: IPv6 has a ':', IPv4 only digits and dots.
    let b = inner.as_bytes();
    let v6 = b.contains(&b':');
    if b.is_empty() || (!v6 && !b.iter().all(|&c| c.is_ascii_digit() || c == b'.')) {
        return None;
    }
    inner.parse::<IpAddr>().ok().map(|_| inner)
}

fn copy_plain<'b>(s: &str, buf: &'b mut NameBuf, kind: NameKind) -> Parsed<'b> {
    let n = s.len().min(buf.buf.len());
    for (d, b) in buf.buf[..n].iter_mut().zip(s.bytes()) {
        *d = b.to_ascii_lowercase();
    }
    // An IP literal is ASCII, so the slice is valid UTF-8.
    let name = std::str::from_utf8(&buf.buf[..n]).unwrap_or("");
    plain(name, kind)
}

fn plain(name: &str, kind: NameKind) -> Parsed<'_> {
    Parsed {
        kind,
        name,
        registered: name,
        label: name,
        suffix: "",
        suffix_kind: SuffixKind::None,
        subdomain: "",
        stripped: 0,
    }
}

fn copy_lower(src: &[u8], dst: &mut [u8; 256]) -> Result<usize, NameError> {
    if src.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong(src.len()));
    }
    for (d, &b) in dst.iter_mut().zip(src) {
        *d = b.to_ascii_lowercase();
    }
    Ok(src.len())
}

/// Bytes allowed in a label (after lower-casing).
const LABEL_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_';
        b += 1;
    }
    t
};

/// What [`validate`] accepts, without the error details: the common case in one cheap pass.
#[inline]
fn quick_valid(name: &[u8]) -> bool {
    let mut label = 0usize;
    let mut ok = true;
    for &b in name {
        if b == b'.' {
            ok &= label != 0;
            label = 0;
        } else {
            label += 1;
            ok &= LABEL_BYTE[usize::from(b)];
        }
        ok &= label <= MAX_LABEL_LEN;
    }
    ok && label != 0
}

fn validate(name: &[u8]) -> Result<(), NameError> {
    let mut label = 0usize;
    for &b in name {
        match b {
            b'.' => {
                if label == 0 {
                    return Err(NameError::EmptyLabel);
                }
                label = 0;
            }
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => {
                label += 1;
                if label > MAX_LABEL_LEN {
                    return Err(NameError::LabelTooLong(label_len_from(name, b)));
                }
            }
            _ => return Err(NameError::IllegalChar(char::from(b))),
        }
    }
    if label == 0 {
        return Err(NameError::EmptyLabel);
    }
    Ok(())
}

/// Length of the longest label (only computed on the error path).
fn label_len_from(name: &[u8], _b: u8) -> usize {
    name.split(|&c| c == b'.')
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0)
}

/// Bit `n` set when some string of `list` is `n` bytes long (n < 64).
const fn lengths(list: &[&str]) -> u64 {
    let mut m = 0u64;
    let mut i = 0;
    while i < list.len() {
        if list[i].len() < 64 {
            m |= 1 << list[i].len();
        }
        i += 1;
    }
    m
}

/// Filter key of a string: its length, first and last bytes.
const fn filter_key(s: &[u8]) -> usize {
    if s.is_empty() {
        return 0;
    }
    (s.len() * 7 + s[0] as usize * 3 + s[s.len() - 1] as usize) & 255
}

/// For each filter key, the set of indices into `list` (at most 64 strings) with that key.
const fn by_key(list: &[&str]) -> [u64; 256] {
    assert!(list.len() <= 64, "one_of takes lists of at most 64 strings");
    let mut m = [0u64; 256];
    let mut i = 0;
    while i < list.len() {
        m[filter_key(list[i].as_bytes())] |= 1 << i;
        i += 1;
    }
    m
}

/// Whether `s` is one of `list`: a filter on length, then only the strings with the same
/// length, first and last byte key are compared.
#[inline(always)]
fn one_of(s: &str, list: &[&str], lens: u64, keys: &[u64; 256]) -> bool {
    let n = s.len();
    if n >= 64 || lens & (1 << n) == 0 {
        return false;
    }
    let mut m = keys[filter_key(s.as_bytes())];
    while m != 0 {
        if list.get(m.trailing_zeros() as usize) == Some(&s) {
            return true;
        }
        m &= m - 1;
    }
    false
}

#[inline]
fn is_extra_platform(s: &str) -> bool {
    const LENS: u64 = lengths(EXTRA_PLATFORMS);
    const KEYS: [u64; 256] = by_key(EXTRA_PLATFORMS);
    one_of(s, EXTRA_PLATFORMS, LENS, &KEYS)
}

#[inline]
fn is_host_label(s: &str) -> bool {
    const LENS: u64 = lengths(HOST_LABELS);
    const KEYS: [u64; 256] = by_key(HOST_LABELS);
    one_of(s, HOST_LABELS, LENS, &KEYS)
}

/// The labels of a name from the right, as `psl` walks them (what `rsplit('.')` yields).
struct RevLabels<'a> {
    name: &'a [u8],
    /// End of the labels not yet returned; `None` when done.
    end: Option<usize>,
    dots: Dots,
}

impl<'a> Iterator for RevLabels<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let end = self.end?;
        match self.dots.last_before(self.name, end) {
            Some(p) => {
                self.end = Some(p);
                self.name.get(p + 1..end)
            }
            None => {
                self.end = None;
                self.name.get(..end)
            }
        }
    }
}

/// What `psl::suffix` says about a name without a trailing dot: the length of its public
/// suffix (0: none) and the list section. Calls the list directly, without the `Suffix`
/// and `Domain` wrappers.
#[inline]
fn suffix_of(name: &[u8], dots: Dots) -> (usize, SuffixKind) {
    use psl::Psl;
    let info = psl::List.find(RevLabels {
        name,
        end: Some(name.len()),
        dots,
    });
    let kind = match info.typ {
        Some(psl::Type::Icann) => SuffixKind::Icann,
        Some(psl::Type::Private) => SuffixKind::Private,
        None => SuffixKind::Unknown,
    };
    (info.len.min(name.len()), kind)
}

/// Length of the registrable domain of `name` given its suffix length, as `psl::domain`
/// computes it (`None` when the name has no label left of its suffix).
#[inline]
fn registrable_len(name: &[u8], sfx_len: usize, dots: Dots) -> Option<usize> {
    if sfx_len == 0 || name.len() < sfx_len + 2 {
        return None;
    }
    let head = name.len() - 1 - sfx_len;
    let root = match dots.last_before(name, head) {
        Some(p) => head - p - 1,
        None => head,
    };
    Some(root + 1 + sfx_len)
}

/// `name[name.len() - n..]`, or the whole name if `n` is too long (it never is).
#[inline(always)]
fn tail(name: &str, n: usize) -> &str {
    name.get(name.len().saturating_sub(n)..).unwrap_or(name)
}

/// Split a valid, lower-case, ASCII name with the Public Suffix List.
fn split(name: &str, dots: Dots) -> Parsed<'_> {
    let bytes = name.as_bytes();
    let (sfx_len, kind) = suffix_of(bytes, dots);
    let (registered, suffix, suffix_kind) = match registrable_len(bytes, sfx_len, dots) {
        Some(reg_len) => (tail(name, reg_len), tail(name, sfx_len), kind),
        None => match dots.first_from(bytes, 0) {
            // The name is itself a suffix (`github.io`, `co.uk`): its first label stands in
            // for the registered label.
            Some(dot) => {
                let rest = name.get(dot + 1..).unwrap_or("");
                let kind = match suffix_of(rest.as_bytes(), Dots::SCAN) {
                    (0, _) => SuffixKind::Unknown,
                    (_, k) => k,
                };
                (name, rest, kind)
            }
            None => (name, "", SuffixKind::None),
        },
    };
    // A platform missing from the list: its whole registered domain becomes the suffix.
    let (registered, suffix, suffix_kind) =
        if registered.len() < name.len() && is_extra_platform(registered) {
            let head = name.len() - registered.len() - 1;
            let start = dots.last_before(bytes, head).map_or(0, |i| i + 1);
            (
                name.get(start..).unwrap_or(name),
                registered,
                SuffixKind::Private,
            )
        } else {
            (registered, suffix, suffix_kind)
        };
    let label = if suffix.is_empty() {
        registered
    } else {
        registered
            .get(..registered.len() - suffix.len() - 1)
            .unwrap_or("")
    };
    let mut sub = if registered.len() < name.len() {
        name.get(..name.len() - registered.len() - 1).unwrap_or("")
    } else {
        ""
    };
    let mut stripped = 0u8;
    // `sub` starts at `at` in `name`.
    let mut at = 0;
    while !sub.is_empty() {
        let (first, rest) = match dots.first_from(bytes, at) {
            Some(i) if i - at < sub.len() => (&sub[..i - at], &sub[i - at + 1..]),
            _ => (sub, ""),
        };
        at += first.len() + 1;
        if !is_host_label(first) {
            break;
        }
        sub = rest;
        stripped += 1;
    }
    Parsed {
        kind: NameKind::Domain,
        name,
        registered,
        label,
        suffix,
        suffix_kind,
        subdomain: sub,
        stripped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<(NameKind, String, String, String, String, SuffixKind), NameError> {
        let mut b = NameBuf::new();
        let p = normalize(s, &mut b)?;
        Ok((
            p.kind,
            p.name.to_string(),
            p.registered.to_string(),
            p.suffix.to_string(),
            p.subdomain.to_string(),
            p.suffix_kind,
        ))
    }

    /// `name` splits into (registered domain, suffix, subdomain) under a suffix of `kind`.
    fn assert_split(name: &str, want: (&str, &str, &str), kind: SuffixKind) {
        let (_, _, reg, sfx, sub, sk) = parse(name).unwrap();
        assert_eq!((reg.as_str(), sfx.as_str(), sub.as_str()), want, "{name}");
        assert_eq!(sk, kind, "{name}");
    }

    #[test]
    fn lower_case_and_trailing_dot() {
        let (k, name, reg, sfx, sub, sk) = parse("  WWW.PayPal.COM.  ").unwrap();
        assert_eq!(k, NameKind::Domain);
        assert_eq!(name, "www.paypal.com");
        assert_eq!(reg, "paypal.com");
        assert_eq!(sfx, "com");
        assert_eq!(sub, "", "www is a host label and is stripped");
        assert_eq!(sk, SuffixKind::Icann);
    }

    #[test]
    fn host_labels_stripped_only_from_the_left() {
        let (_, _, reg, _, sub, _) = parse("cpanel.www.login.example.co.uk").unwrap();
        assert_eq!(reg, "example.co.uk");
        assert_eq!(sub, "login");
        let (_, _, _, _, sub, _) = parse("login.www.example.com").unwrap();
        assert_eq!(sub, "login.www");
        // mail.ru: `mail` is the registered label, not a host label.
        let (_, _, reg, _, sub, _) = parse("mail.ru").unwrap();
        assert_eq!((reg.as_str(), sub.as_str()), ("mail.ru", ""));
    }

    #[test]
    fn multi_label_icann_suffix() {
        assert_split(
            "a.b.bbc.co.uk",
            ("bbc.co.uk", "co.uk", "a.b"),
            SuffixKind::Icann,
        );
    }

    #[test]
    fn private_suffixes_are_platforms() {
        for (n, reg, sfx) in [
            (
                "paypal-login.000webhostapp.com",
                "paypal-login.000webhostapp.com",
                "000webhostapp.com",
            ),
            ("x.myhost.duckdns.org", "myhost.duckdns.org", "duckdns.org"),
            ("evil.github.io", "evil.github.io", "github.io"),
            ("a.b.pages.dev", "b.pages.dev", "pages.dev"),
            ("foo.bar.workers.dev", "bar.workers.dev", "workers.dev"),
            ("acme.vercel.app", "acme.vercel.app", "vercel.app"),
        ] {
            let (_, _, r, s, _, sk) = parse(n).unwrap();
            assert_eq!((r.as_str(), s.as_str()), (reg, sfx), "{n}");
            assert_eq!(sk, SuffixKind::Private, "{n}");
        }
    }

    #[test]
    fn name_that_is_a_suffix() {
        assert_split("github.io", ("github.io", "io", ""), SuffixKind::Icann);
    }

    #[test]
    fn single_label_and_unknown_tld() {
        let mut b = NameBuf::new();
        let p = normalize("localhost", &mut b).unwrap();
        assert_eq!(p.kind, NameKind::SingleLabel);
        assert_eq!(p.label, "localhost");
        assert_eq!(p.subdomain, "");
        assert!(matches!(
            p.suffix_kind,
            SuffixKind::None | SuffixKind::Unknown
        ));
        assert_split(
            "db.corp.internal",
            ("corp.internal", "internal", "db"),
            SuffixKind::Unknown,
        );
    }

    #[test]
    fn names_nobody_registers() {
        let kind = |n: &str| {
            let mut b = NameBuf::new();
            normalize(n, &mut b).unwrap().kind
        };
        let cases: [(NameKind, &[&str]); 4] = [
            (
                NameKind::Service,
                &[
                    "_ldap._tcp.dc._msdcs.factory.oompa.loompa",
                    "_vlmcs._tcp",
                    "_dmarc.example.com",
                    "selector1._domainkey.example.com",
                    "b._dns-sd._udp.local",
                    "wpad.wrccdc.black",
                    "isatap.corp.example.com",
                ],
            ),
            (
                NameKind::SingleLabel,
                &["wpad", "WORKGROUP", "fileserver", "com"],
            ),
            (
                NameKind::NonPublic,
                &[
                    "printer.local",
                    "nas.lan",
                    "dc01.corp",
                    "db.corp.internal",
                    "router.home.arpa",
                    "host.localdomain",
                    "snozberry.oompa.loompa",
                    "x.test",
                    "ipv4only.arpa",
                ],
            ),
            // Alternative roots are registered by anybody (BazarLoader's `.bazar`, Namecoin).
            (
                NameKind::Domain,
                &[
                    "bfeiikbfgiin.bazar",
                    "example.bit",
                    "_fgekkzfiekn.bazaar",
                    "www.example.com",
                    "xn--80ak6aa92e.com",
                ],
            ),
        ];
        for (want, names) in cases {
            for n in names {
                assert_eq!(kind(n), want, "{n}");
            }
        }
        assert_eq!(kind("4.3.2.1.in-addr.arpa"), NameKind::ReverseDns);
    }

    #[test]
    fn idn_to_punycode() {
        let (_, name, reg, _, _, _) = parse("Bücher.Example.DE.").unwrap();
        assert_eq!(name, "xn--bcher-kva.example.de");
        assert_eq!(reg, "example.de");
        let (_, name, reg, _, _, _) = parse("münchen.de").unwrap();
        assert_eq!(
            (name.as_str(), reg.as_str()),
            ("xn--mnchen-3ya.de", "xn--mnchen-3ya.de")
        );
        // Already punycode: kept as is.
        let (_, name, _, _, _, _) = parse("XN--80AK6AA92E.com").unwrap();
        assert_eq!(name, "xn--80ak6aa92e.com");
    }

    #[test]
    fn ip_literals_and_reverse_dns() {
        for ip in ["10.0.0.1", "::1", "[2001:db8::1]", "2001:DB8::1"] {
            assert_eq!(parse(ip).unwrap().0, NameKind::IpLiteral, "{ip}");
        }
        for r in [
            "1.0.0.10.in-addr.arpa",
            "1.0.0.10.IN-ADDR.ARPA.",
            "b.a.9.8.ip6.arpa",
        ] {
            assert_eq!(parse(r).unwrap().0, NameKind::ReverseDns, "{r}");
        }
        // A name that merely starts with digits is a name.
        assert_eq!(parse("1.2.3.4.example.com").unwrap().0, NameKind::Domain);
        assert_eq!(parse("123.com").unwrap().0, NameKind::Domain);
    }

    #[test]
    fn bad_names() {
        assert_eq!(parse("").unwrap_err(), NameError::Empty);
        assert_eq!(parse(" . ").unwrap_err(), NameError::Empty);
        assert_eq!(parse("a..b").unwrap_err(), NameError::EmptyLabel);
        assert_eq!(parse(".a.b").unwrap_err(), NameError::EmptyLabel);
        assert_eq!(parse("a b.com").unwrap_err(), NameError::IllegalChar(' '));
        assert_eq!(parse("a/b.com").unwrap_err(), NameError::IllegalChar('/'));
        let long = format!("{}.com", "a.".repeat(130));
        assert!(matches!(parse(&long).unwrap_err(), NameError::TooLong(_)));
        let label = format!("{}.com", "a".repeat(64));
        assert!(matches!(
            parse(&label).unwrap_err(),
            NameError::LabelTooLong(64)
        ));
        assert!(parse(&format!("{}.com", "a".repeat(63))).is_ok());
    }

    /// Both normalisers on one input, as comparable text.
    fn both(s: &str) -> (String, String) {
        let (mut a, mut b) = (NameBuf::new(), NameBuf::new());
        (
            format!("{:?}", normalize(s, &mut a)),
            format!("{:?}", reference::normalize(s, &mut b)),
        )
    }

    /// Suffixes that exercise the list: wildcards and exceptions, deep private rules,
    /// platforms missing from it, unknown and reverse-DNS endings.
    const SUFFIXES: &[&str] = &[
        "com",
        "net",
        "org",
        "ru",
        "de",
        "co.uk",
        "uk",
        "com.br",
        "jp",
        "kawasaki.jp",
        "city.kawasaki.jp",
        "ck",
        "www.ck",
        "bd",
        "com.bd",
        "er",
        "mm",
        "compute.amazonaws.com",
        "us-east-1.compute.amazonaws.com",
        "s3.amazonaws.com",
        "amazonaws.com",
        "github.io",
        "blogspot.com",
        "blogspot.co.uk",
        "pages.dev",
        "workers.dev",
        "duckdns.org",
        "herokuapp.com",
        "appspot.com",
        "000webhostapp.com",
        "weebly.com",
        "home.pl",
        "us.to",
        "xn--p1ai",
        "xn--fiqs8s",
        "corp",
        "internal",
        "local",
        "lan",
        "invalid",
        "zz",
        "arpa",
        "in-addr.arpa",
        "ip6.arpa",
        "10.in-addr.arpa",
        "e164.arpa",
        "gov.uk",
        "sch.uk",
        "nhs.uk",
        "k12.ca.us",
        "ca.us",
        "us",
        "ac.jp",
        "tokyo.jp",
        "xyz",
        "top",
        "io",
        "app",
        "dev",
        "cloud",
        "co",
        "ws",
        "tk",
        "ml",
        "cn",
        "com.cn",
        "cc",
        "info",
        "biz",
    ];

    /// The faster normaliser agrees exactly with the one it replaced: on names built from
    /// brands, host labels, platforms and tricky suffixes, on label and name lengths at
    /// the limits, and on random text.
    #[test]
    fn normalize_matches_reference() {
        let mut rng = crate::hash::SplitMix::new(5);
        let mut parts: Vec<String> = crate::lexicon::BRANDS
            .iter()
            .chain(HOST_LABELS)
            .chain(EXTRA_PLATFORMS)
            .chain(SUFFIXES)
            .map(|s| s.to_string())
            .collect();
        parts.extend(
            [
                "x",
                "1",
                "123",
                "a-b",
                "_dmarc",
                "*",
                "WWW",
                "Mail",
                "-",
                "xn--80ak6aa92e",
            ]
            .map(String::from),
        );
        let mut cases: Vec<String> = Vec::new();
        for sfx in SUFFIXES.iter().chain(EXTRA_PLATFORMS) {
            cases.push(sfx.to_string());
            for p in ["a", "www", "www.www", "mail.a", "a.b.c", "paypal", "10.0.0"] {
                cases.push(format!("{p}.{sfx}"));
            }
        }
        for _ in 0..60_000 {
            let mut n = String::new();
            for k in 0..1 + rng.below(5) {
                if k > 0 {
                    n.push('.');
                }
                n.push_str(&parts[rng.below(parts.len())]);
            }
            n.push('.');
            n.push_str(SUFFIXES[rng.below(SUFFIXES.len())]);
            match rng.below(8) {
                0 => n = n.to_uppercase(),
                1 => n.push('.'),
                2 => n.insert_str(0, "*."),
                3 => n = format!("  {n}\t"),
                _ => {}
            }
            cases.push(n);
        }
        // Label and name lengths at the limits, dots at every offset of an 8-byte word.
        for len in [1, 7, 8, 9, 15, 16, 17, 62, 63, 64, 65, 100] {
            for pre in 0..10 {
                let head = "b".repeat(pre);
                let lab = "a".repeat(len);
                for n in [
                    format!("{lab}.com"),
                    format!("{head}.{lab}.com"),
                    format!("{head}.{lab}"),
                    format!("{lab}.{head}"),
                    format!("{head}..{lab}.com"),
                    format!("{head}.{lab}."),
                ] {
                    cases.push(n);
                }
            }
        }
        for total in 240..260 {
            let mut n = String::new();
            while n.len() < total {
                n.push_str(&"q".repeat(1 + rng.below(63)));
                n.push('.');
            }
            n.truncate(total);
            cases.push(n.clone());
            cases.push(format!("{n}.com"));
        }
        let alpha: Vec<char> =
            "abcxyz019.-_ *[]:.AZ\u{fc}\u{430}\u{3b1}.\u{200b}%/\t\u{a0}\u{3000}\u{85}\u{1f}\u{7f}~!"
            .chars()
            .collect();
        for _ in 0..60_000 {
            let n: String = (0..rng.below(30))
                .map(|_| alpha[rng.below(alpha.len())])
                .collect();
            cases.push(n);
        }
        for _ in 0..20_000 {
            let b: Vec<u8> = (0..rng.below(40)).map(|_| rng.below(256) as u8).collect();
            cases.push(String::from_utf8_lossy(&b).into_owned());
        }
        let mut ok = 0;
        for c in &cases {
            let (got, want) = both(c);
            assert_eq!(got, want, "{c:?}");
            ok += usize::from(got.starts_with("Ok"));
        }
        assert!(ok > 60_000, "{ok}");
    }

    #[test]
    fn labels_ok_matches_validate() {
        let mut rng = crate::hash::SplitMix::new(9);
        for _ in 0..50_000 {
            let n = 1 + rng.below(MAX_NAME_LEN);
            let mut buf = [0u8; 256];
            // Bytes past the name must not matter.
            for b in buf.iter_mut() {
                *b = if rng.below(4) == 0 { b'.' } else { b'a' };
            }
            let dots = 1 + rng.below(70);
            for b in &mut buf[..n] {
                *b = if rng.below(dots) == 0 { b'.' } else { b'k' };
            }
            let got = scan::labels_ok(&buf, n);
            assert_eq!(got.is_some(), validate(&buf[..n]).is_ok());
            if let Some(d) = got.filter(|d| d.exact) {
                for i in 0..=n {
                    let want = buf[..i].iter().rposition(|&b| b == b'.');
                    assert_eq!(d.last_before(&buf, i), want);
                    let want = buf[i..n].iter().position(|&b| b == b'.').map(|p| p + i);
                    assert_eq!(d.first_from(&buf, i), want);
                }
            }
        }
    }

    #[test]
    fn wildcard_and_underscore() {
        let (_, name, reg, _, sub, _) = parse("*._dmarc.example.org").unwrap();
        assert_eq!(name, "_dmarc.example.org");
        assert_eq!((reg.as_str(), sub.as_str()), ("example.org", "_dmarc"));
    }
}
