//! Small helpers over values: their Zeek type, numbers, and a byte key for grouping.

use trawl_zeek::{Scalar, Value, ZeekType};

/// The Zeek type a computed value is written with.
pub fn type_of(v: &Value) -> ZeekType {
    let s = |x| ZeekType::single(x);
    match v {
        Value::Unset | Value::Str(_) | Value::Invalid(_) => s(Scalar::String),
        Value::Bool(_) => s(Scalar::Bool),
        Value::Count(_) => s(Scalar::Count),
        Value::Int(_) => s(Scalar::Int),
        Value::Double(_) => s(Scalar::Double),
        Value::Time(_) => s(Scalar::Time),
        Value::Interval(_) => s(Scalar::Interval),
        Value::Addr(_) => s(Scalar::Addr),
        Value::Subnet(..) => s(Scalar::Subnet),
        Value::Port(_) => s(Scalar::Port),
        Value::List(items) => ZeekType {
            container: trawl_zeek::Container::Set,
            scalar: items
                .iter()
                .find(|i| !i.is_unset())
                .map_or(Scalar::String, |i| type_of(i).scalar),
        },
    }
}

/// A number of any kind as a float (text that reads as a number too).
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Count(c) => Some(*c as f64),
        Value::Int(i) => Some(*i as f64),
        Value::Double(d) | Value::Interval(d) => Some(*d),
        Value::Port(p) => Some(f64::from(*p)),
        Value::Time(t) => Some(*t as f64 / 1e9),
        Value::Str(s) => std::str::from_utf8(s)
            .ok()?
            .trim()
            .parse()
            .ok()
            .filter(|f: &f64| f.is_finite()),
        _ => None,
    }
}

/// Whether text may be an IP address, cheaply: names and most words fail at the first or
/// last byte, so only likely candidates are parsed.
fn looks_like_addr(s: &[u8]) -> bool {
    match (s.first(), s.last()) {
        (Some(f), Some(l)) if s.len() <= 45 => {
            (f.is_ascii_digit() && l.is_ascii_digit() && s.len() >= 7)
                || memchr::memchr(b':', s).is_some()
        }
        _ => false,
    }
}

/// Appends a byte key for grouping: equal values give equal keys (addresses canonical,
/// whole numbers of any kind alike). An address written as text (JSON logs have no types)
/// keys as the address, so TSV and JSON records of one host group together.
pub fn key_bytes(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Unset => out.push(0),
        Value::Str(s) if looks_like_addr(s) => match std::str::from_utf8(s)
            .ok()
            .and_then(|t| t.parse::<std::net::IpAddr>().ok())
        {
            Some(a) => key_bytes(&Value::Addr(a), out),
            None => key_str(s, out),
        },
        Value::Str(s) | Value::Invalid(s) => key_str(s, out),
        Value::Count(c) => put_tagged(out, 2, &i128::from(*c).to_le_bytes()),
        Value::Int(i) => put_tagged(out, 2, &i128::from(*i).to_le_bytes()),
        Value::Port(p) => put_tagged(out, 2, &i128::from(*p).to_le_bytes()),
        Value::Double(d) | Value::Interval(d) => {
            if d.fract() == 0.0 && d.abs() < 1e30 {
                put_tagged(out, 2, &(*d as i128).to_le_bytes());
            } else {
                put_tagged(out, 3, &d.to_bits().to_le_bytes());
            }
        }
        Value::Bool(b) => out.extend_from_slice(&[4, u8::from(*b)]),
        Value::Time(t) => put_tagged(out, 5, &t.to_le_bytes()),
        Value::Addr(a) => {
            out.push(6);
            put_octets(&crate::functions::canonical(*a), out);
        }
        Value::Subnet(a, n) => {
            out.push(7);
            out.push(*n);
            put_octets(a, out);
        }
        Value::List(items) => {
            out.push(8);
            for i in items {
                key_bytes(i, out);
                out.push(0xfe);
            }
        }
    }
}

/// A length-prefixed string key.
fn key_str(s: &[u8], out: &mut Vec<u8>) {
    put_tagged(out, 1, &(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s);
}

/// An address's bytes (4 or 16, no family tag).
fn put_octets(a: &std::net::IpAddr, out: &mut Vec<u8>) {
    match a {
        std::net::IpAddr::V4(v) => out.extend_from_slice(&v.octets()),
        std::net::IpAddr::V6(v) => out.extend_from_slice(&v.octets()),
    }
}

/// A tag byte, then `bytes`: how key and spill encodings write a value.
pub(crate) fn put_tagged(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn key(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        key_bytes(v, &mut out);
        out
    }

    #[test]
    fn an_address_as_text_keys_as_the_address() {
        let text = |s: &str| Value::Str(Cow::Owned(s.as_bytes().to_vec()));
        let typed = Value::Addr("10.47.6.10".parse().unwrap());
        assert_eq!(key(&text("10.47.6.10")), key(&typed));
        assert_eq!(
            key(&text("fe80::1")),
            key(&Value::Addr("fe80::1".parse().unwrap()))
        );
        assert_ne!(key(&text("10.47.6.1")), key(&typed));
        assert_ne!(key(&text("10.47.6.10.in-addr")), key(&typed));
        assert_eq!(key(&text("example.com")), key(&text("example.com")));
    }
}
