//! A scanner for one line of flat Zeek JSON: finds the wanted top-level keys and where their
//! values are, skipping the others by scanning, without building anything. It gives up
//! (returns false) on anything it does not handle so the caller can use the full parser.

use crate::json::{JVal, Parser};

/// The kind of a value found by [`scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string, quotes included.
    Str,
    /// An array, brackets included.
    Arr,
    /// A number, `true`, `false`, `null` or a bare token.
    Tok,
}

/// Where a wanted value is on the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
    /// A string holding backslash escapes.
    pub escaped: bool,
}

/// Finds the values of `cols` among the top-level keys of the object starting at `s[0]`.
/// Absent keys leave `None`. Returns false if the line needs the full parser: a wanted
/// nested object, a `tag_json` wrapper, an escaped key, or malformed or unfinished JSON.
/// Stops as soon as every wanted key is found (the rest of the line is not checked).
pub fn scan(s: &[u8], cols: &[String], spans: &mut [Option<Span>]) -> bool {
    spans.iter_mut().for_each(|x| *x = None);
    let mut filled = 0;
    let mut i = ws(s, 1);
    if s.get(i) == Some(&b'}') {
        return only_ws(s, i + 1);
    }
    let mut first = true;
    loop {
        if s.get(i) != Some(&b'"') {
            return false;
        }
        let ks = i + 1;
        let Some(kl) = s.get(ks..).and_then(|r| memchr::memchr2(b'"', b'\\', r)) else {
            return false;
        };
        if s[ks + kl] != b'"' {
            return false;
        }
        let key = &s[ks..ks + kl];
        i = ws(s, ks + kl + 1);
        if s.get(i) != Some(&b':') {
            return false;
        }
        i = ws(s, i + 1);
        let start = i;
        let (end, kind, escaped) = match s.get(i) {
            Some(b'"') => match string_end(s, i) {
                Some((e, esc)) => (e, Kind::Str, esc),
                None => return false,
            },
            Some(b'[') => match nested_end(s, i) {
                Some(e) => (e, Kind::Arr, false),
                None => return false,
            },
            Some(b'{') => {
                // A lone first object may be tag_json; a wanted `key.x` needs flattening.
                if first || cols.iter().any(|c| is_prefix_of(key, c)) {
                    return false;
                }
                match nested_end(s, i) {
                    Some(e) => {
                        i = e;
                        first = false;
                        match next(s, i) {
                            Some(j) => {
                                i = j;
                                continue;
                            }
                            None => return only_end(s, i),
                        }
                    }
                    None => return false,
                }
            }
            Some(_) => {
                let e = token_end(s, i);
                if e == i {
                    return false;
                }
                (e, Kind::Tok, false)
            }
            None => return false,
        };
        first = false;
        for (k, c) in cols.iter().enumerate() {
            if spans[k].is_none() && c.as_bytes() == key {
                spans[k] = Some(Span {
                    start,
                    end,
                    kind,
                    escaped,
                });
                filled += 1;
            }
        }
        if filled == cols.len() {
            return true;
        }
        match next(s, end) {
            Some(j) => i = j,
            None => return only_end(s, end),
        }
    }
}

fn is_prefix_of(key: &[u8], col: &str) -> bool {
    col.as_bytes().starts_with(key) && col.as_bytes().get(key.len()) == Some(&b'.')
}

/// After a value: the start of the next key, or `None` at `}` (or anything else).
fn next(s: &[u8], from: usize) -> Option<usize> {
    let i = ws(s, from);
    (s.get(i) == Some(&b',')).then(|| ws(s, i + 1))
}

/// Whether the object closes at `from` with only white space after.
fn only_end(s: &[u8], from: usize) -> bool {
    let i = ws(s, from);
    s.get(i) == Some(&b'}') && only_ws(s, i + 1)
}

fn only_ws(s: &[u8], from: usize) -> bool {
    ws(s, from) >= s.len()
}

fn ws(s: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r' | b'\n') = s.get(i) {
        i += 1;
    }
    i
}

/// End (past the closing quote) of the JSON string opening at `i`, and whether it has
/// escapes; `None` if it is unfinished.
pub fn string_end(s: &[u8], i: usize) -> Option<(usize, bool)> {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        let k = memchr::memchr2(b'"', b'\\', s.get(j..)?)?;
        j += k;
        if s[j] == b'"' {
            return Some((j + 1, escaped));
        }
        escaped = true;
        j += 2;
    }
}

/// End (past the closing bracket) of the array or object opening at `i`.
fn nested_end(s: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = i;
    while let Some(&b) = s.get(j) {
        match b {
            b'"' => {
                j = string_end(s, j)?.0;
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// End of the JSON scalar (number, `true`, `null`...) starting at `i`: the first separator,
/// bracket or white space.
pub fn token_end(s: &[u8], i: usize) -> usize {
    let mut j = i;
    while let Some(&b) = s.get(j) {
        if matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
            break;
        }
        j += 1;
    }
    j
}

/// Writes a JSON string (quotes included) as Zeek TSV text: `(empty)` when empty, escapes
/// decoded, control bytes and separators as `\xNN`. Zeek's own `\xNN` escapes are kept.
pub fn write_str(v: &[u8], escaped: bool, ofs: &[u8], in_set: bool, out: &mut Vec<u8>) {
    let body = v.get(1..v.len().saturating_sub(1)).unwrap_or_default();
    if !escaped {
        write_text(body, ofs, in_set, out);
        return;
    }
    match Parser::new(v).parse_document() {
        Ok(JVal::Str(s)) => write_text(&s, ofs, in_set, out),
        _ => write_text(body, ofs, in_set, out),
    }
}

fn write_text(s: &[u8], ofs: &[u8], in_set: bool, out: &mut Vec<u8>) {
    if s.is_empty() {
        out.extend_from_slice(b"(empty)");
        return;
    }
    // A value equal to a marker is written escaped, as Zeek's writer does.
    if s == b"-" || s == b"(empty)" {
        for &b in s {
            push_hex(out, b);
        }
        return;
    }
    let plain = |b: u8| b >= 0x20 && b != 0x7f && !(in_set && b == b',');
    if ofs.len() == 1 {
        let o = ofs[0];
        if s.iter().all(|&b| plain(b) && b != o) {
            out.extend_from_slice(s);
            return;
        }
        for &b in s {
            if plain(b) && b != o {
                out.push(b);
            } else {
                push_hex(out, b);
            }
        }
        return;
    }
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if !plain(b) || (!ofs.is_empty() && s[i..].starts_with(ofs)) {
            push_hex(out, b);
        } else {
            out.push(b);
        }
        i += 1;
    }
}

fn push_hex(out: &mut Vec<u8>, b: u8) {
    const H: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[b'\\', b'x', H[(b >> 4) as usize], H[(b & 15) as usize]]);
}

/// Writes a token: `T`/`F` for booleans, `-` for null, decimals with six places (Zeek's
/// `%.6f` for intervals and doubles), integers and bare tokens as they are.
pub fn write_token(v: &[u8], out: &mut Vec<u8>) {
    match v {
        b"true" => out.push(b'T'),
        b"false" => out.push(b'F'),
        b"null" => out.push(b'-'),
        _ if v.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) => {
            match std::str::from_utf8(v)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
            {
                Some(f) if f.is_finite() => {
                    use std::io::Write;
                    let _ = write!(out, "{f:.6}");
                }
                _ => out.extend_from_slice(v),
            }
        }
        _ => out.extend_from_slice(v),
    }
}

/// Writes an array (brackets included) as a Zeek set: items joined by `,`, `(empty)` when
/// empty. Nested arrays and objects go through the full parser.
pub fn write_array(v: &[u8], ofs: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let mut n = 0;
    let mut i = ws(v, 1);
    while let Some(&b) = v.get(i) {
        if b == b']' {
            break;
        }
        if n > 0 {
            out.push(b',');
        }
        n += 1;
        let end = match b {
            b'"' => match string_end(v, i) {
                Some((e, esc)) => {
                    write_str(&v[i..e], esc, ofs, true, out);
                    e
                }
                None => break,
            },
            b'[' | b'{' => {
                out.truncate(start);
                write_array_slow(v, ofs, out);
                return;
            }
            _ => {
                let e = token_end(v, i);
                write_token(&v[i..e], out);
                e
            }
        };
        // Malformed input (`[:`, `[}`) makes no progress: stop rather than loop for ever.
        if end <= i {
            break;
        }
        i = ws(v, end);
        if v.get(i) == Some(&b',') {
            i = ws(v, i + 1);
        }
    }
    if n == 0 {
        out.extend_from_slice(b"(empty)");
    }
}

fn write_array_slow(v: &[u8], ofs: &[u8], out: &mut Vec<u8>) {
    let Ok(JVal::Arr(items)) = Parser::new(v).parse_document() else {
        out.extend_from_slice(v);
        return;
    };
    if items.is_empty() {
        out.extend_from_slice(b"(empty)");
    }
    for (k, it) in items.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        match it {
            JVal::Null => out.push(b'-'),
            JVal::Bool(b) => out.push(if *b { b'T' } else { b'F' }),
            JVal::Num(t) | JVal::Bare(t) => write_token(t, out),
            JVal::Str(s) => write_text(s, ofs, true, out),
            JVal::Arr(_) | JVal::Obj(_) => out.extend_from_slice(b"{...}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| s.to_string()).collect()
    }

    fn cut(line: &str, c: &[&str]) -> Option<Vec<String>> {
        let c = cols(c);
        let mut spans = vec![None; c.len()];
        if !scan(line.as_bytes(), &c, &mut spans) {
            return None;
        }
        Some(
            spans
                .iter()
                .map(|sp| {
                    let mut out = Vec::new();
                    match sp {
                        None => out.push(b'-'),
                        Some(sp) => {
                            let v = &line.as_bytes()[sp.start..sp.end];
                            match sp.kind {
                                Kind::Str => write_str(v, sp.escaped, b"\t", false, &mut out),
                                Kind::Arr => write_array(v, b"\t", &mut out),
                                Kind::Tok => write_token(v, &mut out),
                            }
                        }
                    }
                    String::from_utf8(out).unwrap()
                })
                .collect(),
        )
    }

    #[test]
    fn finds_keys_and_skips_others() {
        let l = r#"{"ts":1.5,"q":"a\"b,c","x":[1,{"y":"]"}],"answers":["1.2.3.4","x,y"],"AA":false,"e":[],"s":""}"#;
        assert_eq!(
            cut(l, &["answers", "q", "AA", "missing", "e", "s"]).unwrap(),
            ["1.2.3.4,x\\x2cy", "a\"b,c", "F", "-", "(empty)", "(empty)"]
        );
        assert_eq!(cut(l, &["ts"]).unwrap(), ["1.500000"]);
    }

    #[test]
    fn escapes_become_zeek_text() {
        let l = r#"{"a":"tab\there","b":"\\x07bell","c":"\u00e9","d":"-"}"#;
        assert_eq!(
            cut(l, &["a", "b", "c", "d"]).unwrap(),
            ["tab\\x09here", "\\x07bell", "é", "\\x2d"]
        );
    }

    #[test]
    fn odd_lines_need_the_parser() {
        assert!(cut(r#"{"dns":{"query":"x"}}"#, &["query"]).is_none());
        assert!(cut(r#"{"ts":1,"id":{"orig_h":"x"}}"#, &["id.orig_h"]).is_none());
        assert_eq!(
            cut(r#"{"ts":1,"id":{"orig_h":"x"},"q":"y"}"#, &["q"]).unwrap(),
            ["y"]
        );
        assert!(cut(r#"{"a":"unterminated"#, &["b"]).is_none());
        assert!(cut(r#"{"a":1} x"#, &["b"]).is_none());
        assert!(cut(r#"{"a\"b":1}"#, &["b"]).is_none());
        assert!(cut("{\"a\":", &["b"]).is_none());
        assert_eq!(cut("{ }", &["b"]).unwrap(), ["-"]);
    }

    #[test]
    fn never_panics_on_junk() {
        let junk = [
            "{",
            "{\"",
            "{\"a",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":[",
            "{\"a\":[\"",
            "{\"a\":\"\\",
            "{\"a\":]",
            "{\"a\":}}",
            "{,}",
            "{\"a\":1,}",
            "{\"a\":[1,,2]}",
        ];
        for j in junk {
            let _ = cut(j, &["a", "b"]);
        }
    }
}

#[cfg(test)]
mod fuzz_regressions {
    use super::*;

    /// Found by the `cut` fuzz target: an array holding a bare `:` looped for ever.
    #[test]
    fn malformed_arrays_end() {
        for v in [&b"[:]"[..], b"[}", b"[1,:", b"[\"a\" : ]", b"[,,]"] {
            let mut out = Vec::new();
            write_array(v, b"\t", &mut out);
            assert!(out.len() < 64, "{:?}", String::from_utf8_lossy(&out));
        }
    }
}
