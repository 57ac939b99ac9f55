//! Normalisation as it was before it was made faster, kept as the reference that
//! [`super::normalize`] must agree with exactly. Helpers the rewrite left unchanged (IP
//! literals, validation, the filter keys) come from the parent module.

use super::{
    arpa_kind, classify, copy_lower, copy_plain, filter_key, ip_literal, lengths, plain,
    quick_valid, validate, NameBuf, NameKind, Parsed, SuffixKind, EXTRA_PLATFORMS, HOST_LABELS,
    MAX_LABEL_LEN, MAX_NAME_LEN,
};
use crate::error::NameError;

/// Normalise `input` into `buf` and split it.
///
/// Trims white space, a leading `*.` and one trailing dot; lower-cases; converts Unicode to
/// punycode (IDNA); checks lengths and characters (letters, digits, `-`, `_`); recognises IP
/// literals and reverse-DNS names; splits off the public suffix (ICANN and PRIVATE sections);
/// and strips common host labels such as `www` from the left of the subdomain.
pub(super) fn normalize<'b>(input: &str, buf: &'b mut NameBuf) -> Result<Parsed<'b>, NameError> {
    let mut s = input.trim();
    if let Some(rest) = s.strip_prefix("*.") {
        s = rest;
    }
    if let Some(rest) = s.strip_suffix('.') {
        s = rest;
    }
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(len) = fast_copy(s.as_bytes(), &mut buf.buf) {
        // SAFETY: `fast_copy` wrote only bytes of [a-z0-9._-] into `buf[..len]`.
        let name = unsafe { std::str::from_utf8_unchecked(&buf.buf[..len]) };
        return Ok(finish(name));
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
    Ok(finish(name))
}

/// Reverse-DNS names aside, split a valid, lower-case name.
#[inline]
fn finish(name: &str) -> Parsed<'_> {
    if let Some(kind) = arpa_kind(name) {
        return plain(name, kind);
    }
    classify(split(name))
}

/// Byte -> its lower-case form if it may appear in a name (`.` included), else 0.
const LOWER_OK: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = (b as u8).to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_' || c == b'.' {
            t[b] = c;
        }
        b += 1;
    }
    t
};

/// The common case in one pass: an ASCII name of letters, digits, `-`, `_` and dots, with
/// no empty or over-long label and at least one byte that is neither a digit nor a dot (so
/// it cannot be an IP literal), lower-cased into `dst`. Returns its length, or `None` for
/// anything else, which then takes the careful path (same result, plus the reasons).
#[inline]
fn fast_copy(src: &[u8], dst: &mut [u8; 256]) -> Option<usize> {
    if src.len() > MAX_NAME_LEN {
        return None;
    }
    let mut ok = true;
    let mut label = 0usize;
    let mut not_ip = false;
    for (d, &b) in dst.iter_mut().zip(src) {
        let c = LOWER_OK[usize::from(b)];
        *d = c;
        ok &= c != 0;
        not_ip |= !(c.is_ascii_digit() || c == b'.');
        if c == b'.' {
            ok &= label != 0 && label <= MAX_LABEL_LEN;
            label = 0;
        } else {
            label += 1;
        }
    }
    (ok && not_ip && label != 0 && label <= MAX_LABEL_LEN).then_some(src.len())
}

/// 256-bit filter of the keys of `list`.
const fn filter(list: &[&str]) -> [u64; 4] {
    let mut m = [0u64; 4];
    let mut i = 0;
    while i < list.len() {
        let k = filter_key(list[i].as_bytes());
        m[k >> 6] |= 1 << (k & 63);
        i += 1;
    }
    m
}

/// Whether `s` is one of `list`, with a filter on length, first and last byte first: most
/// names are rejected without a string comparison.
#[inline(always)]
fn one_of(s: &str, list: &[&str], lens: u64, keys: &[u64; 4]) -> bool {
    let n = s.len();
    if n >= 64 || lens & (1 << n) == 0 {
        return false;
    }
    let k = filter_key(s.as_bytes());
    if keys[k >> 6] & (1 << (k & 63)) == 0 {
        return false;
    }
    let b = s.as_bytes();
    list.iter()
        .any(|p| p.len() == n && p.as_bytes()[0] == b[0] && p.as_bytes() == b)
}

#[inline]
fn is_extra_platform(s: &str) -> bool {
    const LENS: u64 = lengths(EXTRA_PLATFORMS);
    const KEYS: [u64; 4] = filter(EXTRA_PLATFORMS);
    one_of(s, EXTRA_PLATFORMS, LENS, &KEYS)
}

#[inline]
fn is_host_label(s: &str) -> bool {
    const LENS: u64 = lengths(HOST_LABELS);
    const KEYS: [u64; 4] = filter(HOST_LABELS);
    one_of(s, HOST_LABELS, LENS, &KEYS)
}

/// Split a valid, lower-case, ASCII name with the Public Suffix List.
fn split(name: &str) -> Parsed<'_> {
    let bytes = name.as_bytes();
    let (registered, suffix, suffix_kind) = match psl::domain(bytes) {
        Some(d) => {
            let sfx = d.suffix();
            let kind = suffix_kind(&sfx);
            let reg_len = d.as_bytes().len();
            let sfx_len = sfx.as_bytes().len();
            (
                &name[name.len() - reg_len..],
                &name[name.len() - sfx_len..],
                kind,
            )
        }
        None => match name.find('.') {
            // The name is itself a suffix (`github.io`, `co.uk`): its first label stands in
            // for the registered label.
            Some(dot) => {
                let rest = &name[dot + 1..];
                let kind = psl::suffix(rest.as_bytes())
                    .map(|s| suffix_kind(&s))
                    .unwrap_or(SuffixKind::Unknown);
                (name, rest, kind)
            }
            None => (name, "", SuffixKind::None),
        },
    };
    // A platform missing from the list: its whole registered domain becomes the suffix.
    let (registered, suffix, suffix_kind) = match is_extra_platform(registered) {
        true if registered.len() < name.len() => {
            let head = &name[..name.len() - registered.len() - 1];
            let start = head.rfind('.').map_or(0, |i| i + 1);
            (&name[start..], registered, SuffixKind::Private)
        }
        _ => (registered, suffix, suffix_kind),
    };
    let label = if suffix.is_empty() {
        registered
    } else {
        &registered[..registered.len() - suffix.len() - 1]
    };
    let mut sub = if registered.len() < name.len() {
        &name[..name.len() - registered.len() - 1]
    } else {
        ""
    };
    let mut stripped = 0u8;
    while !sub.is_empty() {
        let (first, rest) = match sub.find('.') {
            Some(i) => (&sub[..i], &sub[i + 1..]),
            None => (sub, ""),
        };
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

fn suffix_kind(s: &psl::Suffix<'_>) -> SuffixKind {
    if !s.is_known() {
        return SuffixKind::Unknown;
    }
    match s.typ() {
        Some(psl::Type::Private) => SuffixKind::Private,
        Some(psl::Type::Icann) => SuffixKind::Icann,
        None => SuffixKind::Unknown,
    }
}
