//! Reading record fields whatever format they came from: TSV gives typed values, JSON gives
//! strings and numbers (an address is a string, a time may be a number of seconds).

use std::net::IpAddr;

use trawl_zeek::time::{from_secs_f64, parse_epoch, parse_iso8601, Nanos};
use trawl_zeek::{Record, Value};

/// A field's bytes if it is a non-empty string.
pub fn str_of<'r>(rec: &'r Record<'_>, name: &str) -> Option<&'r [u8]> {
    match rec.get(name)? {
        Value::Str(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// A field's text if it is a non-empty UTF-8 string.
pub fn text_of<'r>(rec: &'r Record<'_>, name: &str) -> Option<&'r str> {
    std::str::from_utf8(str_of(rec, name)?).ok()
}

/// An address: typed, or a string that parses as one. The unspecified address is `None`.
pub fn addr_of(rec: &Record<'_>, name: &str) -> Option<IpAddr> {
    rec.get(name).and_then(addr_value)
}

/// An address from one value.
pub fn addr_value(v: &Value<'_>) -> Option<IpAddr> {
    let a = match v {
        Value::Addr(a) => *a,
        Value::Str(s) => std::str::from_utf8(s)
            .ok()?
            .trim_matches(['[', ']'])
            .parse()
            .ok()?,
        _ => return None,
    };
    (!a.is_unspecified()).then_some(a)
}

/// A time: typed, seconds as a number, or epoch/ISO 8601 text.
pub fn time_of(rec: &Record<'_>, name: &str) -> Option<Nanos> {
    time_value(rec.get(name)?)
}

/// A time from one value: typed, seconds as a number, or epoch/ISO 8601 text.
pub fn time_value(v: &Value<'_>) -> Option<Nanos> {
    match v {
        Value::Time(t) => Some(*t),
        Value::Double(d) => from_secs_f64(*d),
        Value::Count(c) => i64::try_from(*c).ok()?.checked_mul(1_000_000_000),
        Value::Int(i) => i.checked_mul(1_000_000_000),
        Value::Str(s) | Value::Invalid(s) => parse_epoch(s).or_else(|| parse_iso8601(s)),
        _ => None,
    }
}

/// An interval in seconds: typed or as a number.
pub fn seconds_of(rec: &Record<'_>, name: &str) -> Option<f64> {
    let s = match rec.get(name)? {
        Value::Interval(s) | Value::Double(s) => *s,
        Value::Count(c) => *c as f64,
        Value::Int(i) => *i as f64,
        Value::Str(s) => std::str::from_utf8(s).ok()?.parse().ok()?,
        _ => return None,
    };
    s.is_finite().then_some(s)
}

/// The strings of a list field (or a single string), skipping other values.
pub fn strings_of<'r>(rec: &'r Record<'_>, name: &str) -> impl Iterator<Item = &'r [u8]> {
    let (one, many): (Option<&[u8]>, &[Value<'_>]) = match rec.get(name) {
        Some(Value::Str(s)) => (Some(s), &[]),
        Some(Value::List(items)) => (None, items),
        _ => (None, &[]),
    };
    one.into_iter().chain(many.iter().filter_map(|v| match v {
        Value::Str(s) => Some(&**s),
        _ => None,
    }))
}

/// Normalises a MAC address to lower case with colons (`AA-BB-...` → `aa:bb:...`);
/// `None` if it is not six (or eight, EUI-64) hex pairs.
pub fn normalize_mac(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let hex: Vec<u8> = raw
        .bytes()
        .filter(|b| !matches!(b, b':' | b'-' | b'.'))
        .collect();
    if !(hex.len() == 12 || hex.len() == 16) || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = String::with_capacity(hex.len() / 2 * 3);
    for (i, pair) in hex.chunks(2).enumerate() {
        if i > 0 {
            out.push(':');
        }
        for &b in pair {
            out.push(b.to_ascii_lowercase() as char);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_normalise() {
        assert_eq!(
            normalize_mac(" AA-BB-CC-00-00-1f ").as_deref(),
            Some("aa:bb:cc:00:00:1f")
        );
        assert_eq!(
            normalize_mac("aabb.cc00.001f").as_deref(),
            Some("aa:bb:cc:00:00:1f")
        );
        assert_eq!(normalize_mac("aa:bb:cc"), None);
        assert_eq!(normalize_mac("zz:bb:cc:00:00:1f"), None);
    }
}
