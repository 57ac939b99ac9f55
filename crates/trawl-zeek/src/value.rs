//! Typed Zeek values, parsed on demand from a field's bytes.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::escape::{escape_all_into, escape_into, unescape};
use crate::time::{parse_epoch, write_epoch, Nanos};
use crate::types::{Scalar, ZeekType};

/// One value of a Zeek record.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// The field is unset (`-` in TSV, absent or `null` in JSON).
    Unset,
    Bool(bool),
    Count(u64),
    Int(i64),
    Double(f64),
    /// Nanoseconds since the epoch.
    Time(Nanos),
    /// Seconds.
    Interval(f64),
    /// string, enum, pattern and types trawl does not interpret; bytes, not necessarily UTF-8.
    Str(Cow<'a, [u8]>),
    Addr(IpAddr),
    Subnet(IpAddr, u8),
    Port(u16),
    /// set, vector or table; an empty list is Zeek's `(empty)`.
    List(Vec<Value<'a>>),
    /// A value that did not match its declared type, kept verbatim (escapes decoded).
    Invalid(Cow<'a, [u8]>),
}

/// Why a field's text did not parse as its declared type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is not a valid {ty}")]
pub struct ValueError {
    /// The offending text (lossily decoded, shortened).
    pub what: String,
    /// The declared type.
    pub ty: String,
}

/// The markers of a TSV header block that shape how a field is read.
#[derive(Debug, Clone, Copy)]
pub struct Markers<'h> {
    pub set_separator: &'h [u8],
    pub empty_field: &'h [u8],
    pub unset_field: &'h [u8],
}

impl Markers<'static> {
    /// Zeek's defaults: `,`, `(empty)`, `-`.
    pub const DEFAULT: Markers<'static> = Markers {
        set_separator: b",",
        empty_field: b"(empty)",
        unset_field: b"-",
    };
}

fn err(raw: &[u8], ty: &ZeekType) -> ValueError {
    let mut what = String::from_utf8_lossy(&raw[..raw.len().min(64)]).into_owned();
    if raw.len() > 64 {
        what.push('…');
    }
    ValueError {
        what: format!("{what:?}"),
        ty: ty.to_string(),
    }
}

/// Parses a TSV field (still escaped) as `ty`.
pub fn parse_tsv<'a>(raw: &'a [u8], ty: ZeekType, m: &Markers) -> Result<Value<'a>, ValueError> {
    if raw == m.unset_field {
        return Ok(Value::Unset);
    }
    if ty.is_container() {
        if raw == m.empty_field {
            return Ok(Value::List(Vec::new()));
        }
        let mut items = Vec::new();
        let sep = m.set_separator;
        let mut rest = raw;
        loop {
            let (item, next) = match find(rest, sep) {
                Some(i) => (&rest[..i], Some(&rest[i + sep.len()..])),
                None => (rest, None),
            };
            // Inside a container, an element equal to the unset marker is an unset element.
            items.push(if item == m.unset_field {
                Value::Unset
            } else {
                parse_scalar(item, ty.scalar).map_err(|_| err(raw, &ty))?
            });
            match next {
                Some(n) => rest = n,
                None => break,
            }
        }
        return Ok(Value::List(items));
    }
    if ty.scalar == Scalar::String && raw == m.empty_field {
        // A string that reads `(empty)` is an empty string, as Zeek writes it.
        return Ok(Value::Str(Cow::Borrowed(&b""[..])));
    }
    parse_scalar(raw, ty.scalar).map_err(|_| err(raw, &ty))
}

/// Whether `raw` reads as a value of `ty`, without building it: [`parse_tsv`]'s verdict at a
/// fraction of its cost (strings are never wrong, lists are not collected). What every
/// reader uses to report type problems of rows it keeps raw.
pub fn check_tsv(raw: &[u8], ty: ZeekType, m: &Markers) -> Result<(), ValueError> {
    if ty.never_wrong() || is(raw, m.unset_field) {
        return Ok(());
    }
    if ty.is_container() {
        if raw == m.empty_field {
            return Ok(());
        }
        let sep = m.set_separator;
        let mut rest = raw;
        loop {
            let (item, next) = match find(rest, sep) {
                Some(i) => (&rest[..i], Some(&rest[i + sep.len()..])),
                None => (rest, None),
            };
            if !is(item, m.unset_field) && !scalar_ok(item, ty.scalar) {
                return Err(err(raw, &ty));
            }
            match next {
                Some(n) => rest = n,
                None => return Ok(()),
            }
        }
    }
    if scalar_ok(raw, ty.scalar) {
        Ok(())
    } else {
        Err(err(raw, &ty))
    }
}

/// [`parse_scalar`]'s verdict without building the value: the common spellings (plain
/// decimals, dotted IPv4) are recognised by hand, anything else goes to the parser, so the
/// verdict is always the parser's.
#[inline]
fn scalar_ok(raw: &[u8], s: Scalar) -> bool {
    let fast = match s {
        Scalar::Bool => return raw == b"T" || raw == b"F",
        Scalar::Count => return parse_u64(raw).is_some(),
        // Seconds below 9,223,372,036 cannot overflow the nanosecond count.
        Scalar::Time => {
            let d = raw.strip_prefix(b"-").unwrap_or(raw);
            let int = &d[..memchr::memchr(b'.', d).unwrap_or(d.len())];
            plain_decimal(raw)
                && (int.len() < 10
                    || (int.len() == 10 && parse_u64(int).is_some_and(|v| v < 9_223_372_036)))
        }
        Scalar::Double | Scalar::Interval => plain_decimal(raw),
        Scalar::Int => {
            let d = raw.strip_prefix(b"-").unwrap_or(raw);
            !d.is_empty() && d.len() <= 18 && d.iter().all(u8::is_ascii_digit)
        }
        Scalar::Port => parse_u64(raw).is_some_and(|p| p <= 65_535),
        Scalar::Addr => dotted_ipv4(raw),
        _ => false,
    };
    fast || parse_scalar(raw, s).is_ok()
}

/// `raw == marker`, without a `memcmp` call for the usual one-byte markers.
#[inline]
fn is(raw: &[u8], marker: &[u8]) -> bool {
    match (raw, marker) {
        ([a], [b]) => a == b,
        _ => raw == marker,
    }
}

/// `-?digits[.digits]` with a digit somewhere: always a valid double.
#[inline]
fn plain_decimal(raw: &[u8]) -> bool {
    let d = raw.strip_prefix(b"-").unwrap_or(raw);
    let mut dots = 0;
    let mut digits = 0;
    for &b in d {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            _ => return false,
        }
    }
    digits > 0 && dots <= 1
}

/// Four decimal octets up to 255 without leading zeros: always a valid IPv4 address.
fn dotted_ipv4(raw: &[u8]) -> bool {
    let mut parts = 0;
    for part in raw.split(|&b| b == b'.') {
        parts += 1;
        let ok = matches!(part.len(), 1..=3)
            && part.iter().all(u8::is_ascii_digit)
            && (part.len() == 1 || part[0] != b'0')
            && parse_u64(part).is_some_and(|v| v <= 255);
        if !ok || parts > 4 {
            return false;
        }
    }
    parts == 4
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    match needle.len() {
        0 => None,
        1 => memchr::memchr(needle[0], hay),
        _ => memchr::memmem::find(hay, needle),
    }
}

/// Parses one scalar from escaped TSV text (the caller knows the type it asked for).
#[allow(clippy::result_unit_err)]
pub fn parse_scalar(raw: &[u8], s: Scalar) -> Result<Value<'_>, ()> {
    let text = |raw| -> Result<&str, ()> { std::str::from_utf8(raw).map_err(|_| ()) };
    Ok(match s {
        Scalar::Bool => match raw {
            b"T" => Value::Bool(true),
            b"F" => Value::Bool(false),
            _ => return Err(()),
        },
        Scalar::Count => Value::Count(parse_u64(raw).ok_or(())?),
        Scalar::Int => Value::Int(text(raw)?.parse().map_err(|_| ())?),
        Scalar::Double => Value::Double(parse_f64(raw)?),
        Scalar::Interval => Value::Interval(parse_f64(raw)?),
        Scalar::Time => Value::Time(parse_epoch(raw).ok_or(())?),
        Scalar::Port => Value::Port(text(raw)?.parse().map_err(|_| ())?),
        Scalar::Addr => Value::Addr(parse_addr(raw)?),
        Scalar::Subnet => {
            let t = text(raw)?;
            let (a, n) = t.split_once('/').ok_or(())?;
            let a: IpAddr = a.trim_matches(['[', ']']).parse().map_err(|_| ())?;
            let n: u8 = n.parse().map_err(|_| ())?;
            if n > if a.is_ipv4() { 32 } else { 128 } {
                return Err(());
            }
            Value::Subnet(a, n)
        }
        Scalar::String | Scalar::Enum | Scalar::Pattern | Scalar::Other => {
            Value::Str(unescape(raw).0)
        }
    })
}

fn parse_u64(raw: &[u8]) -> Option<u64> {
    if raw.is_empty() || raw.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in raw {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

fn parse_f64(raw: &[u8]) -> Result<f64, ()> {
    let t = std::str::from_utf8(raw).map_err(|_| ())?;
    // Rust accepts "inf"/"nan" spellings Zeek never writes; keep them but only as Zeek spells them.
    if t.is_empty() || t.starts_with(['i', 'I', 'n', 'N', '+']) {
        return Err(());
    }
    t.parse().map_err(|_| ())
}

fn parse_addr(raw: &[u8]) -> Result<IpAddr, ()> {
    let t = std::str::from_utf8(raw).map_err(|_| ())?;
    t.trim_matches(['[', ']']).parse().map_err(|_| ())
}

impl<'a> Value<'a> {
    /// The same value borrowing this one's text (a cheap copy, but for lists).
    pub fn borrowed(&self) -> Value<'_> {
        match self {
            Value::Str(s) => Value::Str(Cow::Borrowed(s)),
            Value::Invalid(s) => Value::Invalid(Cow::Borrowed(s)),
            Value::List(v) => Value::List(v.iter().map(Value::borrowed).collect()),
            Value::Unset => Value::Unset,
            Value::Bool(b) => Value::Bool(*b),
            Value::Count(v) => Value::Count(*v),
            Value::Int(v) => Value::Int(*v),
            Value::Double(v) => Value::Double(*v),
            Value::Time(v) => Value::Time(*v),
            Value::Interval(v) => Value::Interval(*v),
            Value::Addr(a) => Value::Addr(*a),
            Value::Subnet(a, n) => Value::Subnet(*a, *n),
            Value::Port(p) => Value::Port(*p),
        }
    }

    /// Detaches the value from the buffer it was read from.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Unset => Value::Unset,
            Value::Bool(b) => Value::Bool(b),
            Value::Count(v) => Value::Count(v),
            Value::Int(v) => Value::Int(v),
            Value::Double(v) => Value::Double(v),
            Value::Time(v) => Value::Time(v),
            Value::Interval(v) => Value::Interval(v),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Addr(a) => Value::Addr(a),
            Value::Subnet(a, n) => Value::Subnet(a, n),
            Value::Port(p) => Value::Port(p),
            Value::List(v) => Value::List(v.into_iter().map(Value::into_owned).collect()),
            Value::Invalid(s) => Value::Invalid(Cow::Owned(s.into_owned())),
        }
    }

    /// Converts a value read without types (JSON) to a declared Zeek type where the text or
    /// number allows it: `"10.0.0.1"` to an address, `53` to a port, a float to a time ...
    /// What does not convert is returned unchanged.
    pub fn coerce(self, ty: ZeekType) -> Value<'a> {
        if ty.is_container() {
            return match self {
                Value::List(items) => Value::List(
                    items
                        .into_iter()
                        .map(|v| v.coerce(ZeekType::single(ty.scalar)))
                        .collect(),
                ),
                v => v,
            };
        }
        let s = ty.scalar;
        match (self, s) {
            (
                Value::Str(t),
                Scalar::Addr | Scalar::Subnet | Scalar::Port | Scalar::Count | Scalar::Int,
            ) => match parse_scalar(&t, s) {
                Ok(v) => v.into_owned(),
                Err(()) => Value::Str(t),
            },
            (Value::Str(t), Scalar::Time) => {
                match crate::time::parse_iso8601(&t).or_else(|| parse_epoch(&t)) {
                    Some(ns) => Value::Time(ns),
                    None => Value::Str(t),
                }
            }
            (Value::Count(c), Scalar::Port) if c <= 65535 => Value::Port(c as u16),
            (Value::Count(c), Scalar::Int) => i64::try_from(c).map_or(Value::Count(c), Value::Int),
            (Value::Count(c), Scalar::Double) => Value::Double(c as f64),
            (Value::Count(c), Scalar::Interval) => Value::Interval(c as f64),
            (Value::Count(c), Scalar::Time) => Value::Time(c as i64 * 1_000_000_000),
            (Value::Int(i), Scalar::Double) => Value::Double(i as f64),
            (Value::Int(i), Scalar::Interval) => Value::Interval(i as f64),
            (Value::Double(d), Scalar::Interval) => Value::Interval(d),
            (Value::Double(d), Scalar::Time) => match crate::time::from_secs_f64(d) {
                Some(t) => Value::Time(t),
                None => Value::Double(d),
            },
            (v, _) => v,
        }
    }

    /// Whether the value is unset.
    pub fn is_unset(&self) -> bool {
        matches!(self, Value::Unset)
    }

    /// Writes the value as a Zeek TSV field: escaped, with the block's markers.
    pub fn write_tsv(&self, out: &mut Vec<u8>, sep: &[u8], m: &Markers) {
        match self {
            Value::Unset => out.extend_from_slice(m.unset_field),
            Value::List(items) if items.is_empty() => out.extend_from_slice(m.empty_field),
            Value::List(items) => {
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(m.set_separator);
                    }
                    v.write_scalar_tsv(out, &[sep, m.set_separator], m);
                }
            }
            v => v.write_scalar_tsv(out, &[sep], m),
        }
    }

    fn write_scalar_tsv(&self, out: &mut Vec<u8>, seps: &[&[u8]], m: &Markers) {
        match self {
            Value::Str(s) | Value::Invalid(s) => {
                if s.is_empty() {
                    out.extend_from_slice(m.empty_field);
                } else if s.as_ref() == m.unset_field || s.as_ref() == m.empty_field {
                    escape_all_into(out, s);
                } else {
                    escape_into(out, s, seps);
                }
            }
            Value::Unset => out.extend_from_slice(m.unset_field),
            other => other.write_text(out),
        }
    }

    /// Writes a scalar as plain text, the way Zeek's ASCII writer prints it (no escaping).
    pub fn write_text(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        match self {
            Value::Unset => out.push(b'-'),
            Value::Bool(b) => out.push(if *b { b'T' } else { b'F' }),
            Value::Count(v) => write_int(out, *v),
            Value::Int(v) => write_int(out, *v),
            Value::Double(v) | Value::Interval(v) => write_fixed6(out, *v),
            Value::Time(t) => write_epoch(out, *t),
            Value::Str(s) | Value::Invalid(s) => out.extend_from_slice(s),
            Value::Addr(a) => write_addr(out, a),
            Value::Subnet(a, n) => {
                let _ = write!(out, "{a}/{n}");
            }
            Value::Port(p) => write_int(out, *p),
            Value::List(items) => {
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    v.write_text(out);
                }
            }
        }
    }

    /// Writes the value as JSON the way Zeek's JSON writer does: times as epoch seconds,
    /// addresses and subnets as strings, lists as arrays, non-UTF-8 bytes as `\\xNN`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        match self {
            Value::Unset => out.extend_from_slice(b"null"),
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Count(_) | Value::Int(_) | Value::Port(_) => self.write_text(out),
            Value::Double(v) | Value::Interval(v) => {
                // Zeek writes whole doubles with a decimal point (`60.0`), as JSON readers expect.
                if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
                    let _ = write!(out, "{v:.1}");
                } else if v.is_finite() {
                    write_shortest(out, *v);
                } else {
                    out.extend_from_slice(b"null");
                }
            }
            Value::Time(t) => write_epoch(out, *t),
            Value::Addr(_) | Value::Subnet(..) => {
                out.push(b'"');
                self.write_text(out);
                out.push(b'"');
            }
            Value::Str(s) | Value::Invalid(s) => write_json_str(out, s),
            Value::List(items) => {
                out.push(b'[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    v.write_json(out);
                }
                out.push(b']');
            }
        }
    }
}

/// A finite double as `Display` writes it (the shortest text that reads back the same, no
/// exponent; of two such texts equally close, possibly the other one), through ryu where
/// ryu writes no exponent: scores are written this way on every record, and `fmt`'s float
/// code showed in profiles.
fn write_shortest(out: &mut Vec<u8>, v: f64) {
    use std::io::Write;
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(v);
    if text.contains('e') {
        let _ = write!(out, "{v}");
    } else {
        // ryu spells whole numbers `60.0`, `Display` `60`.
        out.extend_from_slice(text.strip_suffix(".0").unwrap_or(text).as_bytes());
    }
}

/// An integer in decimal, without `fmt`'s machinery (it shows in profiles of every writer).
pub fn write_int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// An address as `Display` writes it; IPv4 (nearly all of them) without `fmt`.
fn write_addr(out: &mut Vec<u8>, a: &IpAddr) {
    match a {
        IpAddr::V4(v4) => {
            for (i, o) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                write_int(out, o);
            }
        }
        IpAddr::V6(_) => {
            use std::io::Write;
            let _ = write!(out, "{a}");
        }
    }
}

/// Writes bytes as a JSON string the way Zeek does: `\n`, `\r`, `\t` as JSON escapes, other
/// control bytes and bytes that are not UTF-8 as the text `\xNN` (JSON `\\xNN`).
pub fn write_json_str(out: &mut Vec<u8>, s: &[u8]) {
    use std::io::Write;
    out.push(b'"');
    // Most strings are printable ASCII without quotes or backslashes: one copy.
    if s.iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.extend_from_slice(s);
        out.push(b'"');
        return;
    }
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    let _ = write!(out, "\\\\x{:02x}", c as u32);
                }
                c => {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            let _ = write!(out, "\\\\x{b:02x}");
        }
    }
    out.push(b'"');
}

/// `{v:.6}` (Zeek's ASCII format for doubles and intervals), without `fmt` for the common
/// case: a value whose millionths are a whole number far from a rounding tie (scores with four
/// decimals, RTTs in microseconds). Others go through `fmt`.
fn write_fixed6(out: &mut Vec<u8>, v: f64) {
    use std::io::Write;
    let m = v * 1e6;
    let k = m.round();
    // Below 2^40 the product is off by less than 2^-12 of a unit, so a product within 1e-3 of
    // a whole number k means the exact value rounds to k too; -0.0 keeps its sign through fmt.
    let exact = m.abs() < (1u64 << 40) as f64 && (m - k).abs() < 1e-3;
    if !exact || (k == 0.0 && v.is_sign_negative()) {
        let _ = write!(out, "{v:.6}");
        return;
    }
    if k < 0.0 {
        out.push(b'-');
    }
    // Digits from the right: six decimals, the point, then the whole part (at least "0").
    let mut n = k.abs() as u64;
    let mut buf = [0u8; 24];
    let mut i = buf.len();
    for _ in 0..6 {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    i -= 1;
    buf[i] = b'.';
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    #[test]
    fn doubles_read_as_display_writes_them() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for i in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = match i % 4 {
                0 => (x >> 11) as f64 / (1u64 << 53) as f64,
                1 => ((x >> 11) as f64 / (1u64 << 53) as f64 * 1e4).round() / 1e4,
                2 => f64::from_bits(x) % 1e12,
                _ => (x % 1_000_000) as f64 / 1e6 + (x >> 40) as f64,
            };
            if !v.is_finite() {
                continue;
            }
            let mut out = Vec::new();
            write_shortest(&mut out, v);
            let text = String::from_utf8(out).unwrap();
            // As short as `Display`'s and read back the same; where two texts are as short
            // and as close (a tie), ryu and `Display` may pick different ones.
            assert_eq!(text.parse::<f64>().unwrap(), v, "{v:e}");
            assert_eq!(text.len(), format!("{v}").len(), "{v:e}");
        }
    }

    use super::*;

    fn p(raw: &str, ty: &str) -> Result<Value<'static>, ValueError> {
        parse_tsv(raw.as_bytes(), ZeekType::parse(ty), &Markers::DEFAULT).map(Value::into_owned)
    }

    #[test]
    fn unset_and_empty_differ() {
        assert_eq!(p("-", "set[string]").unwrap(), Value::Unset);
        assert_eq!(p("(empty)", "set[string]").unwrap(), Value::List(vec![]));
        assert_eq!(
            p("(empty)", "string").unwrap(),
            Value::Str(Cow::Borrowed(b""))
        );
    }

    #[test]
    fn typed_values() {
        assert_eq!(p("T", "bool").unwrap(), Value::Bool(true));
        assert_eq!(p("80", "port").unwrap(), Value::Port(80));
        assert!(matches!(
            p("10.0.0.0/8", "subnet").unwrap(),
            Value::Subnet(_, 8)
        ));
        assert!(matches!(p("fe80::1", "addr").unwrap(), Value::Addr(_)));
        assert_eq!(
            p("1,2", "vector[count]").unwrap(),
            Value::List(vec![Value::Count(1), Value::Count(2)])
        );
        assert_eq!(
            p("a\\x2cb", "string").unwrap(),
            Value::Str(Cow::Borrowed(b"a,b"))
        );
        assert!(p("XXXXXXXXXX.XXXXXX", "time").is_err());
        assert!(p("nan", "double").is_err());
        assert!(p("99999", "port").is_err());
    }

    #[test]
    fn json_strings_keep_bad_bytes_visible() {
        let mut out = Vec::new();
        write_json_str(&mut out, b"a\"\xffb");
        assert_eq!(out, b"\"a\\\"\\\\xffb\"");
    }

    fn fixed6(v: f64) -> String {
        let mut out = Vec::new();
        write_fixed6(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn doubles_print_like_fmt() {
        for v in [
            0.0,
            -0.0,
            0.5,
            1.0,
            -1.0,
            0.0001,
            0.00015,
            0.0000005,
            0.0000015,
            -0.0000004,
            1e-7,
            123456.789012,
            2230.0,
            0.00087,
            1e12,
            1e300,
            -3.25,
            f64::NAN,
            f64::INFINITY,
        ] {
            assert_eq!(fixed6(v), format!("{v:.6}"), "{v:e}");
        }
        // Scores as written (four decimals) and a spread of others.
        for k in 0..=10_000 {
            let v = (f64::from(k) / 10_000.0 * 10_000.0).round() / 10_000.0;
            assert_eq!(fixed6(v), format!("{v:.6}"));
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            let scaled = (x % 2_000_000_000) as f64 / 1e6 - 1000.0;
            for v in [v, scaled, scaled / 1e3] {
                assert_eq!(fixed6(v), format!("{v:.6}"), "{v:e}");
            }
        }
    }

    #[test]
    fn the_fast_check_gives_the_parsers_verdict() {
        let cases: &[&[u8]] = &[
            b"0",
            b"-0",
            b"1.5",
            b"-1.5",
            b".5",
            b"5.",
            b".",
            b"-",
            b"",
            b"1.2.3",
            b"+1",
            b"inf",
            b"-inf",
            b"nan",
            b"1e5",
            b"007",
            b"65535",
            b"65536",
            b"255.255.255.255",
            b"256.1.1.1",
            b"01.2.3.4",
            b"0.0.0.0",
            b"1.2.3",
            b"1.2.3.4.5",
            b"1..3.4",
            b"::1",
            b"[fe80::1]",
            b"T",
            b"F",
            b"t",
            b"-9223372036854775808",
            b"99999999999999999999",
            b"1763629200.123456",
            b"1.2.3.4 ",
            b"12345678901.5",
            b"123456789012.5",
            b"99999999999999999999.1",
            b"-1763629200.5",
        ];
        let scalars = [
            Scalar::Bool,
            Scalar::Count,
            Scalar::Int,
            Scalar::Double,
            Scalar::Interval,
            Scalar::Time,
            Scalar::Port,
            Scalar::Addr,
            Scalar::Subnet,
        ];
        for raw in cases {
            for s in scalars {
                assert_eq!(
                    scalar_ok(raw, s),
                    parse_scalar(raw, s).is_ok(),
                    "{s:?} {:?}",
                    String::from_utf8_lossy(raw)
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn the_fast_check_agrees_on_any_input(raw in "[-+.0-9a-f:]{0,24}") {
            for s in [Scalar::Int, Scalar::Double, Scalar::Port, Scalar::Addr, Scalar::Time] {
                proptest::prop_assert_eq!(scalar_ok(raw.as_bytes(), s), parse_scalar(raw.as_bytes(), s).is_ok());
            }
        }
    }
}
