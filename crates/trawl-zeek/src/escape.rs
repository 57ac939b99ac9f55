//! Zeek's `\xNN` escapes: decoding values read from TSV, encoding values written to it.

use std::borrow::Cow;

/// A `\x` that is not followed by two hex digits; the text is kept as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadEscape {
    /// Byte offset of the backslash inside the value.
    pub at: usize,
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `\xNN` escapes and `\\` (Zeek doubles a literal backslash). Borrows when there is
/// nothing to decode (the common case).
/// A malformed escape is kept literally and reported.
pub fn unescape(s: &[u8]) -> (Cow<'_, [u8]>, Option<BadEscape>) {
    unescape_inner(s)
}

fn unescape_inner(s: &[u8]) -> (Cow<'_, [u8]>, Option<BadEscape>) {
    let Some(first) = memchr::memchr(b'\\', s) else {
        return (Cow::Borrowed(s), None);
    };
    let mut out = Vec::with_capacity(s.len());
    out.extend_from_slice(&s[..first]);
    let mut bad = None;
    let mut i = first;
    while i < s.len() {
        let b = s[i];
        if b == b'\\' && s.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
            continue;
        }
        if b == b'\\' && s.get(i + 1) == Some(&b'x') {
            if let (Some(h), Some(l)) = (
                s.get(i + 2).copied().and_then(hex),
                s.get(i + 3).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 4;
                continue;
            }
            bad.get_or_insert(BadEscape { at: i });
        }
        out.push(b);
        i += 1;
    }
    (Cow::Owned(out), bad)
}

/// Decodes a header directive value such as `\x09` or `\xc2\xae`; bad escapes stay literal.
pub fn unescape_lossy(s: &[u8]) -> Vec<u8> {
    unescape(s).0.into_owned()
}

/// Appends `v` escaped as Zeek's ASCII writer does: a backslash is doubled; control bytes, DEL
/// and any occurrence of the separators become `\xNN`. Valid UTF-8 is written as it is.
pub fn escape_into(out: &mut Vec<u8>, v: &[u8], seps: &[&[u8]]) {
    let mut i = 0;
    while i < v.len() {
        let b = v[i];
        // Escaping every byte that can begin a separator (not only whole occurrences) keeps a
        // value ending in `|` from merging with a `||` separator into an earlier match.
        let at_sep = seps.iter().any(|s| s.first() == Some(&b));
        let needs = b < 0x20 || b == 0x7f || at_sep || (b >= 0x80 && utf8_len_at(v, i).is_none());
        if b == b'\\' {
            out.extend_from_slice(b"\\\\");
            i += 1;
        } else if needs {
            push_hex(out, b);
            i += 1;
        } else if b >= 0x80 {
            let n = utf8_len_at(v, i).unwrap_or(1);
            out.extend_from_slice(&v[i..i + n]);
            i += n;
        } else {
            out.push(b);
            i += 1;
        }
    }
}

/// Writes every byte of `v` as `\xNN` (how Zeek protects a value equal to a marker like `-`).
pub fn escape_all_into(out: &mut Vec<u8>, v: &[u8]) {
    for &b in v {
        push_hex(out, b);
    }
}

fn push_hex(out: &mut Vec<u8>, b: u8) {
    const H: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[b'\\', b'x', H[(b >> 4) as usize], H[(b & 15) as usize]]);
}

/// Length of the valid UTF-8 sequence starting at `i`, if there is one.
fn utf8_len_at(v: &[u8], i: usize) -> Option<usize> {
    let n = match v[i] {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let seq = v.get(i..i + n)?;
    std::str::from_utf8(seq).ok().map(|_| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_keeps_bad_escapes() {
        assert_eq!(unescape(b"a\\x09b").0.as_ref(), b"a\tb");
        assert_eq!(unescape(b"plain").0.as_ref(), b"plain");
        let (v, bad) = unescape(b"x\\xZZ");
        assert_eq!(v.as_ref(), b"x\\xZZ");
        assert_eq!(bad, Some(BadEscape { at: 1 }));
        assert_eq!(unescape(b"\\x").0.as_ref(), b"\\x");
        assert_eq!(unescape(br"\\srv\c$").0.as_ref(), br"\srv\c$".as_slice());
    }

    #[test]
    fn escapes_separators_and_controls() {
        let mut out = Vec::new();
        escape_into(&mut out, "a\tb,c\u{e9}\x01\\x".as_bytes(), &[b"\t", b","]);
        assert_eq!(out, "a\\x09b\\x2cc\u{e9}\\x01\\\\x".as_bytes());
        let (back, _) = unescape(&out);
        assert_eq!(back.as_ref(), "a\tb,c\u{e9}\x01\\x".as_bytes());
    }
}
