//! Timestamps: Zeek's epoch decimals, ISO 8601 (JSON-streaming logs) and milliseconds.

/// Nanoseconds since the Unix epoch (negative before it).
pub type Nanos = i64;

/// Parses a decimal number of seconds such as `1521911720.865716` or `-1.5` exactly.
pub fn parse_epoch(s: &[u8]) -> Option<Nanos> {
    let (neg, s) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = match memchr::memchr(b'.', s) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &b""[..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut secs: i64 = 0;
    for &b in int {
        if !b.is_ascii_digit() {
            return parse_float_secs(s, neg);
        }
        secs = secs.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    let mut nanos: i64 = 0;
    for (k, &b) in frac.iter().enumerate() {
        if !b.is_ascii_digit() {
            return parse_float_secs(s, neg);
        }
        if k < 9 {
            nanos += i64::from(b - b'0') * 10i64.pow(8 - k as u32);
        }
    }
    let t = secs.checked_mul(1_000_000_000)?.checked_add(nanos)?;
    Some(if neg { -t } else { t })
}

/// Exponent forms such as `4.294967e+09` (Bro 2.x wrote intervals that way).
fn parse_float_secs(s: &[u8], neg: bool) -> Option<Nanos> {
    let f: f64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    let t = from_secs_f64(f)?;
    Some(if neg { -t } else { t })
}

/// Converts float seconds to nanoseconds, rounding to the microsecond Zeek logs carry.
pub fn from_secs_f64(f: f64) -> Option<Nanos> {
    if !f.is_finite() || f.abs() > 9.0e9 {
        return None;
    }
    Some(((f * 1e6).round() as i64) * 1000)
}

/// Parses ISO 8601 / RFC 3339 as written by json-streaming-logs: `2018-03-24T17:15:20.865716Z`,
/// with an optional offset such as `+02:00` or `-0800`.
pub fn parse_iso8601(s: &[u8]) -> Option<Nanos> {
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = s.get(r)?;
        let mut v = 0i64;
        for &b in d {
            if !b.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(b - b'0');
        }
        Some(v)
    };
    if s.len() < 19 || s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b' ') {
        return None;
    }
    if s[13] != b':' || s[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0i64;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            if i - start < 9 {
                nanos += i64::from(s[i] - b'0') * 10i64.pow(8 - (i - start) as u32);
            }
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match s.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == s.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let rest = &s[i + 1..];
            let (oh, om) = match rest.len() {
                2 => (num(i + 1..i + 3)?, 0),
                4 => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                5 if rest[2] == b':' => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                _ => return None,
            };
            let o = (oh * 60 + om) * 60;
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset;
    Some(secs * 1_000_000_000 + nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Writes nanoseconds as seconds with six decimals, Zeek's `%.6f` for time values.
pub fn write_epoch(out: &mut Vec<u8>, t: Nanos) {
    use std::io::Write;
    let micros = if t >= 0 {
        (t + 500) / 1000
    } else {
        (t - 500) / 1000
    };
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    let _ = write!(out, "{sign}{}.{:06}", m / 1_000_000, m % 1_000_000);
}

/// The inverse of [`days_from_civil`]: (year, month, day) of a day number.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day, hour, minute, second) in UTC of epoch seconds.
pub fn civil_time(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    (y, m, d, s / 3600, s / 60 % 60, s % 60)
}

/// Zeek's `#open`/`#close` stamp: `%Y-%m-%d-%H-%M-%S` (UTC) of epoch seconds.
pub fn format_open_stamp(secs: i64) -> String {
    let (y, m, d, hh, mm, ss) = civil_time(secs);
    format!("{y:04}-{m:02}-{d:02}-{hh:02}-{mm:02}-{ss:02}")
}

/// A time as people read it at a terminal, in UTC: `2025-11-20 10:10:00`, with `.123456`
/// when it has a fraction of a second.
pub fn format_utc(t: Nanos) -> String {
    let micros = t.div_euclid(1000) + i64::from(t.rem_euclid(1000) >= 500);
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let (y, m, d, hh, mm, ss) = civil_time(secs);
    let mut out = format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}");
    if frac != 0 {
        out.push_str(&format!(".{frac:06}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_for_people() {
        assert_eq!(format_utc(1_763_633_400_000_000_000), "2025-11-20 10:10:00");
        assert_eq!(
            format_utc(1_521_911_720_865_716_000),
            "2018-03-24 17:15:20.865716"
        );
        assert_eq!(format_utc(-1_500_000_000), "1969-12-31 23:59:58.500000");
    }

    #[test]
    fn epoch_round_trips() {
        for s in ["1521911720.865716", "0.000000", "-1.500000", "-0.000001"] {
            let t = parse_epoch(s.as_bytes()).unwrap();
            let mut out = Vec::new();
            write_epoch(&mut out, t);
            assert_eq!(String::from_utf8(out).unwrap(), s);
        }
        assert_eq!(
            parse_epoch(b"4.294967e+09"),
            Some(4_294_967_000_000_000_000)
        );
        assert_eq!(parse_epoch(b"XXXXXXXXXX.XXXXXX"), None);
        assert_eq!(parse_epoch(b""), None);
    }

    #[test]
    fn iso_matches_epoch() {
        let a = parse_iso8601(b"2018-03-24T17:15:20.865716Z").unwrap();
        assert_eq!(a, parse_epoch(b"1521911720.865716").unwrap());
        let b = parse_iso8601(b"2012-02-21T08:52:55-0800").unwrap();
        assert_eq!(b, parse_epoch(b"1329843175").unwrap());
        assert_eq!(parse_iso8601(b"1969-12-31T23:59:59Z"), Some(-1_000_000_000));
        assert_eq!(parse_iso8601(b"2018-13-24T17:15:20Z"), None);
    }
}
