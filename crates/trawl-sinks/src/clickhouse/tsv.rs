//! Values in ClickHouse's TabSeparated format: what the server parses at a fraction of
//! JSONEachRow's cost, and what a Zeek TSV field mostly already is.
//!
//! Strings escape `\`, tab, newline and other control bytes (`\xNN` for those and for bytes
//! that are not UTF-8, so a row is always text); `\N` is null; arrays are `['a','b']` or
//! `[1,2]`, their strings quoted with `'` escaped.

use serde_json::Value as Json;
use trawl_zeek::escape::unescape;
use trawl_zeek::time::write_epoch;
use trawl_zeek::value::{check_tsv, parse_tsv, write_int, Markers};
use trawl_zeek::{Scalar, Value, ZeekType};

use super::schema::{ChType, Kind};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes bytes as a TabSeparated string, escaped (quoted inside an array when `quoted`).
pub(crate) fn write_str(out: &mut Vec<u8>, s: &[u8], quoted: bool) {
    if quoted {
        out.push(b'\'');
    }
    // Nearly every value is printable ASCII without `\` or `'`: copied in one go. The test
    // folds every byte without stopping early, so the compiler vectorises it.
    let special = |b: u8| (b.wrapping_sub(0x20) >= 0x5f) | (b == b'\\') | (b == b'\'');
    if !s.iter().fold(false, |any, &b| any | special(b)) {
        out.extend_from_slice(s);
    } else {
        let utf8 = std::str::from_utf8(s).is_ok();
        for &b in s {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\'' => out.extend_from_slice(b"\\'"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                0x20..=0x7e => out.push(b),
                0x80.. if utf8 => out.push(b),
                _ => out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 15)],
                ]),
            }
        }
    }
    if quoted {
        out.push(b'\'');
    }
}

/// What an unset value (or one that did not fit) is written as.
pub(crate) fn write_missing(out: &mut Vec<u8>, ty: &ChType) {
    out.extend_from_slice(if ty.array {
        b"[]"
    } else if ty.nullable {
        b"\\N"
    } else {
        match ty.kind {
            Kind::Str | Kind::Other => b"",
            _ => b"0",
        }
    });
}

/// Writes a value for a column; false (and nothing written) when it does not fit.
pub(crate) fn write_value(out: &mut Vec<u8>, v: &Value<'_>, ty: &ChType) -> bool {
    let start = out.len();
    let ok = match (v, ty.array) {
        (Value::Unset, _) => {
            write_missing(out, ty);
            true
        }
        (Value::List(items), true) => {
            out.push(b'[');
            let mut ok = true;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // An unset element has no place in a plain array: the type's default.
                if matches!(item, Value::Unset) {
                    out.extend_from_slice(if ty.kind == Kind::Str { b"''" } else { b"0" });
                } else if !write_scalar(out, item, ty.kind, true) {
                    ok = false;
                    break;
                }
            }
            out.push(b']');
            ok
        }
        (_, true) => {
            out.push(b'[');
            let ok = write_scalar(out, v, ty.kind, true);
            out.push(b']');
            ok
        }
        (Value::List(_), false) if !matches!(ty.kind, Kind::Str | Kind::Other) => false,
        _ => write_scalar(out, v, ty.kind, false),
    };
    if !ok {
        out.truncate(start);
    }
    ok
}

fn write_scalar(out: &mut Vec<u8>, v: &Value<'_>, kind: Kind, quoted: bool) -> bool {
    match (kind, v) {
        (Kind::Str | Kind::Other, Value::Str(s) | Value::Invalid(s)) => write_str(out, s, quoted),
        (Kind::Str | Kind::Other, v) => {
            let mut text = Vec::new();
            v.write_text(&mut text);
            write_str(out, &text, quoted);
        }
        (_, Value::Bool(b)) => out.push(if *b { b'1' } else { b'0' }),
        (Kind::UInt | Kind::Float, Value::Count(n)) => write_int(out, *n),
        (Kind::Int, Value::Count(n)) if *n <= i64::MAX as u64 => write_int(out, *n),
        (Kind::Int | Kind::Float, Value::Int(n)) => write_int(out, *n),
        (Kind::UInt, Value::Int(n)) if *n >= 0 => write_int(out, *n),
        (_, Value::Port(p)) => write_int(out, *p),
        (Kind::Float, Value::Double(d) | Value::Interval(d)) if d.is_finite() => {
            out.extend_from_slice(ryu::Buffer::new().format_finite(*d).as_bytes());
        }
        (Kind::Float, Value::Time(t)) => write_epoch(out, *t),
        _ => return false,
    }
    true
}

/// Writes a Zeek TSV field of type `zt` for its column `ty` (the type trawl made for `zt`)
/// straight from its text where the text is already what ClickHouse reads, else through the
/// typed value. False (nothing written) when the field does not fit its type.
pub(crate) fn write_raw(
    out: &mut Vec<u8>,
    raw: &[u8],
    zt: ZeekType,
    ty: &ChType,
    m: &Markers<'_>,
) -> bool {
    if raw == m.unset_field {
        write_missing(out, ty);
        return true;
    }
    let start = out.len();
    let copied = if zt.is_container() {
        raw == m.empty_field && {
            out.extend_from_slice(b"[]");
            true
        } || raw_list(out, raw, zt.scalar, m)
    } else if zt.scalar == Scalar::String && raw == m.empty_field {
        true
    } else {
        raw_scalar(out, raw, zt.scalar, false)
    };
    if copied {
        return true;
    }
    out.truncate(start);
    match parse_tsv(raw, zt, m) {
        Ok(v) => write_value(out, &v, ty),
        // As a record keeps it: a string column takes the text as it is.
        Err(_) => write_value(out, &Value::Invalid(unescape(raw).0), ty),
    }
}

/// A set or vector whose elements all copy as they are (see [`raw_scalar`]).
fn raw_list(out: &mut Vec<u8>, raw: &[u8], scalar: Scalar, m: &Markers<'_>) -> bool {
    let sep = m.set_separator;
    if sep.is_empty() {
        return false;
    }
    out.push(b'[');
    for (i, item) in trawl_zeek::header::split(raw, sep).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if item == m.unset_field {
            // An unset element has no place in a plain array: the type's default.
            let string = matches!(scalar, Scalar::String | Scalar::Enum | Scalar::Pattern);
            out.extend_from_slice(if string { b"''" } else { b"0" });
        } else if !raw_scalar(out, item, scalar, true) {
            return false;
        }
    }
    out.push(b']');
    true
}

/// Writes a Zeek scalar's text where it already reads as ClickHouse wants it (strings
/// re-escaped, plain decimals, T/F, lower-case addresses); false where it needs the typed
/// road (which also decides whether it fits at all).
#[inline]
fn raw_scalar(out: &mut Vec<u8>, raw: &[u8], scalar: Scalar, quoted: bool) -> bool {
    let zt = ZeekType::single(scalar);
    let m = &Markers::DEFAULT;
    match scalar {
        Scalar::String | Scalar::Enum | Scalar::Pattern | Scalar::Other => {
            write_str(out, &unescape(raw).0, quoted);
            true
        }
        Scalar::Bool if raw == b"T" || raw == b"F" => {
            out.push(if raw == b"T" { b'1' } else { b'0' });
            true
        }
        Scalar::Count
        | Scalar::Int
        | Scalar::Port
        | Scalar::Double
        | Scalar::Interval
        | Scalar::Time
            if raw.iter().all(|&b| matches!(b, b'0'..=b'9' | b'.' | b'-'))
                && check_tsv(raw, zt, m).is_ok() =>
        {
            out.extend_from_slice(raw);
            true
        }
        Scalar::Addr
            if raw
                .iter()
                .all(|&b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'.' | b':'))
                && check_tsv(raw, zt, m).is_ok() =>
        {
            if quoted {
                out.push(b'\'');
            }
            out.extend_from_slice(raw);
            if quoted {
                out.push(b'\'');
            }
            true
        }
        _ => false,
    }
}

/// Reads back a field this module wrote for a column of type `ty`, as JSON (to convert it
/// for a column of another type). `None` if it does not read.
pub(crate) fn parse(field: &[u8], ty: &ChType) -> Option<Json> {
    if ty.array {
        let inner = field.strip_prefix(b"[")?.strip_suffix(b"]")?;
        let mut items = Vec::new();
        let mut rest = inner;
        while !rest.is_empty() {
            let (item, next) = if rest[0] == b'\'' {
                let (s, used) = unquote(rest)?;
                items.push(Json::String(s));
                (None, &rest[used..])
            } else {
                let end = rest.iter().position(|&b| b == b',').unwrap_or(rest.len());
                (Some(&rest[..end]), &rest[end..])
            };
            if let Some(item) = item {
                items.push(number(item)?);
            }
            rest = match next {
                [] => next,
                [b',', tail @ ..] => tail,
                _ => return None,
            };
        }
        return Some(Json::Array(items));
    }
    if field == b"\\N" {
        return Some(Json::Null);
    }
    match ty.kind {
        Kind::Str | Kind::Other => Some(Json::String(unescape_tsv(field))),
        _ => number(field),
    }
}

fn number(text: &[u8]) -> Option<Json> {
    let text = std::str::from_utf8(text).ok()?;
    if let Ok(n) = text.parse::<u64>() {
        return Some(Json::from(n));
    }
    if let Ok(n) = text.parse::<i64>() {
        return Some(Json::from(n));
    }
    text.parse::<f64>()
        .ok()
        .and_then(|d| serde_json::Number::from_f64(d).map(Json::Number))
}

/// A quoted array element starting at `s[0] == '\''`: its text and the bytes it took.
fn unquote(s: &[u8]) -> Option<(String, usize)> {
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'\'' => return Some((unescape_tsv(&s[1..i]), i + 1)),
            _ => i += 1,
        }
    }
    None
}

/// Decodes this module's escapes (lossily where the bytes are not UTF-8).
fn unescape_tsv(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' || i + 1 == s.len() {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        match s[i + 1] {
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'x' if i + 3 < s.len() => match (hex(s[i + 2]), hex(s[i + 3])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 4;
                    continue;
                }
                _ => out.push(b'x'),
            },
            b => out.push(b),
        }
        i += 2;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes a JSON value for a column of type `ty` (after [`super::row::convert`] made it fit).
pub(crate) fn write_json(out: &mut Vec<u8>, v: &Json, ty: &ChType) {
    match v {
        Json::Null => write_missing(out, ty),
        Json::Array(items) if ty.array => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_scalar(out, item, ty.kind, true);
            }
            out.push(b']');
        }
        v => write_json_scalar(out, v, ty.kind, false),
    }
}

fn write_json_scalar(out: &mut Vec<u8>, v: &Json, kind: Kind, quoted: bool) {
    match v {
        Json::String(s) => write_str(out, s.as_bytes(), quoted),
        Json::Bool(b) => out.push(if *b { b'1' } else { b'0' }),
        Json::Null => out.extend_from_slice(if kind == Kind::Str { b"''" } else { b"0" }),
        Json::Number(n) if kind == Kind::Str => write_str(out, n.to_string().as_bytes(), quoted),
        Json::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        other => write_str(out, other.to_string().as_bytes(), quoted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> ChType {
        ChType::parse(s)
    }

    #[test]
    fn strings_are_escaped_for_the_server() {
        let mut out = Vec::new();
        write_str(&mut out, b"a\tb\\c'\x01\xff", false);
        assert_eq!(out, b"a\\tb\\\\c\\'\\x01\\xff");
        out.clear();
        write_str(&mut out, "é'".as_bytes(), true);
        assert_eq!(out, "'é\\''".as_bytes());
    }

    #[test]
    fn zeek_fields_become_server_fields() {
        let m = Markers::DEFAULT;
        let w = |raw: &[u8], zt: &str, ct: &str| {
            let mut out = Vec::new();
            let ok = write_raw(&mut out, raw, ZeekType::parse(zt), &ty(ct), &m);
            ok.then(|| String::from_utf8(out).unwrap())
        };
        assert_eq!(w(b"-", "count", "Nullable(UInt64)").as_deref(), Some("\\N"));
        assert_eq!(w(b"42", "count", "Nullable(UInt64)").as_deref(), Some("42"));
        assert_eq!(w(b"x1", "count", "Nullable(UInt64)"), None);
        assert_eq!(w(b"T", "bool", "Nullable(UInt8)").as_deref(), Some("1"));
        assert_eq!(
            w(b"a\\x09b", "string", "Nullable(String)").as_deref(),
            Some("a\\tb")
        );
        assert_eq!(
            w(b"(empty)", "string", "Nullable(String)").as_deref(),
            Some("")
        );
        assert_eq!(
            w(b"(empty)", "vector[string]", "Array(String)").as_deref(),
            Some("[]")
        );
        assert_eq!(
            w(b"a.b,it's,-", "vector[string]", "Array(String)").as_deref(),
            Some("['a.b','it\\'s','']")
        );
        assert_eq!(
            w(b"60.000000,1.5", "vector[interval]", "Array(Float64)").as_deref(),
            Some("[60.000000,1.5]")
        );
        assert_eq!(
            w(b"1e5", "double", "Nullable(Float64)").as_deref(),
            Some("100000.0")
        );
        assert_eq!(w(b"nan", "double", "Nullable(Float64)"), None);
        assert_eq!(
            w(b"2001:DB8::1", "addr", "Nullable(String)").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            w(b"10.0.0.1", "addr", "Nullable(String)").as_deref(),
            Some("10.0.0.1")
        );
        assert_eq!(
            w(b"10.0.0.300", "addr", "Nullable(String)").as_deref(),
            Some("10.0.0.300")
        );
    }

    #[test]
    fn fields_read_back_as_written() {
        let mut out = Vec::new();
        write_str(&mut out, b"x\t'y\\", true);
        let field = [b"[".as_slice(), &out, b",'z']"].concat();
        assert_eq!(
            parse(&field, &ty("Array(String)")),
            Some(serde_json::json!(["x\t'y\\", "z"]))
        );
        assert_eq!(
            parse(b"[1,2.5]", &ty("Array(Float64)")),
            Some(serde_json::json!([1, 2.5]))
        );
        assert_eq!(parse(b"\\N", &ty("Nullable(UInt64)")), Some(Json::Null));
        assert_eq!(
            parse(b"a\\x41", &ty("String")),
            Some(Json::String("aA".into()))
        );
        let mut back = Vec::new();
        write_json(&mut back, &serde_json::json!(["a'b"]), &ty("Array(String)"));
        assert_eq!(back, b"['a\\'b']");
    }
}
