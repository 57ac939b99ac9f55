//! `--since` / `--until` bounds: dates, date-times, RFC 3339, epoch seconds, `-2h`.

use crate::civil::{self, digits, NANOS_PER_SEC, SECS_PER_DAY};
use crate::{InputError, Nanos};

/// Parses a time bound into nanoseconds since the Unix epoch.
///
/// Accepted forms (UTC unless an offset is written):
/// - `2024-04-12` (midnight), `2024-04-12T09:00`, `2024-04-12 09:00:00`, with an
///   optional fraction `.123` and offset `Z`, `+02:00`, `-0500` or `+02`;
/// - epoch seconds `1521911720` or `1521911720.5`;
/// - `now`, and relative amounts meaning *that long before `now`*: `-2h`, `30m`,
///   `1d`, `90s`, `1w`, `1.5h` (the leading `-` is optional).
///
/// ```
/// # use trawl_input::parse_time_bound;
/// let now = 1_712_912_400_000_000_000;
/// assert_eq!(parse_time_bound("-1h", now).unwrap(), now - 3_600_000_000_000);
/// assert_eq!(parse_time_bound("2024-04-12T09:00Z", 0).unwrap(), now);
/// ```
pub fn parse_time_bound(s: &str, now: Nanos) -> Result<Nanos, InputError> {
    let t = s.trim();
    let err = |reason| InputError::time(s, reason);
    if t.is_empty() {
        return Err(err("empty"));
    }
    if t.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    let b = t.as_bytes();
    if let Some(unit) = unit_nanos(b[b.len() - 1]) {
        let amount = b[..b.len() - 1]
            .strip_prefix(b"-")
            .unwrap_or(&b[..b.len() - 1]);
        let ago =
            decimal(amount, unit).ok_or_else(|| err("expected an amount such as -2h, 30m, 1d"))?;
        return now.checked_sub(ago).ok_or_else(|| err("out of range"));
    }
    if b.iter()
        .all(|&c| c.is_ascii_digit() || c == b'.' || c == b'-')
        && !b[1..].contains(&b'-')
    {
        let (neg, digits) = match b.strip_prefix(b"-") {
            Some(rest) => (true, rest),
            None => (false, b),
        };
        let n = decimal(digits, NANOS_PER_SEC).ok_or_else(|| err("expected epoch seconds"))?;
        return Ok(if neg { -n } else { n });
    }
    datetime(b).map_err(err)
}

fn unit_nanos(c: u8) -> Option<i64> {
    let secs = match c {
        b's' => 1,
        b'm' => 60,
        b'h' => 3600,
        b'd' => SECS_PER_DAY,
        b'w' => 7 * SECS_PER_DAY,
        _ => return None,
    };
    Some(secs * NANOS_PER_SEC)
}

/// `123` or `123.45` times `unit` nanoseconds, without floating point or overflow.
fn decimal(b: &[u8], unit: i64) -> Option<i64> {
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[..0]),
    };
    let all_digits = |x: &[u8]| x.iter().all(u8::is_ascii_digit);
    if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let whole = int.iter().try_fold(0i64, |acc, &c| {
        acc.checked_mul(10)?.checked_add(i64::from(c - b'0'))
    })?;
    let mut total = whole.checked_mul(unit)?;
    // Digits past nanosecond precision of the unit add nothing.
    let mut scale = unit;
    for &c in frac {
        scale /= 10;
        if scale == 0 {
            break;
        }
        total = total.checked_add(i64::from(c - b'0') * scale)?;
    }
    Some(total)
}

fn datetime(b: &[u8]) -> Result<Nanos, &'static str> {
    const FORMS: &str =
        "expected 2024-04-12, 2024-04-12T09:00[:00][Z|+02:00], epoch seconds or -2h";
    let days = b.get(..10).and_then(civil::parse_date).ok_or(FORMS)?;
    let mut rest = &b[10..];
    let (mut secs, mut nanos, mut offset) = (0i64, 0i64, 0i64);
    if let Some((&sep, tail)) = rest.split_first() {
        if !matches!(sep, b'T' | b't' | b' ') {
            return Err(FORMS);
        }
        let hh = tail.get(..2).and_then(digits::<2>).ok_or(FORMS)?;
        let mm = match tail.get(2..5) {
            Some([b':', m @ ..]) => digits::<2>(m).ok_or(FORMS)?,
            _ => return Err(FORMS),
        };
        rest = &tail[5..];
        let mut ss = 0;
        if let Some([b':', s @ ..]) = rest.get(..3) {
            ss = digits::<2>(s).ok_or(FORMS)?;
            rest = &rest[3..];
        }
        if hh > 23 || mm > 59 || ss > 60 {
            return Err("hour, minute or second out of range");
        }
        secs = i64::from(hh * 3600 + mm * 60 + ss);
        if let Some(frac) = rest.strip_prefix(b".") {
            let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return Err(FORMS);
            }
            nanos = decimal(&frac[..n.min(9)], 1).map_or(0, |v| v * 10i64.pow(9 - n.min(9) as u32));
            rest = &frac[n..];
        }
        offset = zone(rest).ok_or("expected Z or an offset such as +02:00 after the time")?;
    }
    civil::to_nanos(days, secs - offset, nanos).ok_or("out of range")
}

/// UTC offset in seconds: empty, `Z`, `±HH:MM`, `±HHMM` or `±HH`.
fn zone(b: &[u8]) -> Option<i64> {
    let (sign, hm) = match b {
        [] | [b'Z' | b'z'] => return Some(0),
        [b'+', hm @ ..] => (1, hm),
        [b'-', hm @ ..] => (-1, hm),
        _ => return None,
    };
    let (h, m) = match hm {
        [h1, h2] => (digits::<2>(&[*h1, *h2])?, 0),
        [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
            (digits::<2>(&[*h1, *h2])?, digits::<2>(&[*m1, *m2])?)
        }
        _ => return None,
    };
    (h < 24 && m < 60).then(|| sign * i64::from(h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Nanos = 1_712_912_400 * NANOS_PER_SEC; // 2024-04-12T09:00:00Z
    const DAY0: Nanos = 1_712_880_000 * NANOS_PER_SEC; // 2024-04-12T00:00:00Z

    fn p(s: &str) -> Result<Nanos, InputError> {
        parse_time_bound(s, T0)
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(p("2024-04-12").unwrap(), DAY0);
        assert_eq!(p("2024-04-12T09:00").unwrap(), T0);
        assert_eq!(p("2024-04-12 09:00:00").unwrap(), T0);
        assert_eq!(p(" 2024-04-12t09:00:00Z ").unwrap(), T0);
        assert_eq!(p("2024-04-12T11:00:00+02:00").unwrap(), T0);
        assert_eq!(p("2024-04-12T04:00:00-0500").unwrap(), T0);
        assert_eq!(p("2024-04-12T10:00+01").unwrap(), T0);
        assert_eq!(p("2024-04-12T09:00:00.25Z").unwrap(), T0 + 250_000_000);
        assert_eq!(
            p("2024-04-12T09:00:00.1234567891Z").unwrap(),
            T0 + 123_456_789
        );
    }

    #[test]
    fn epoch_and_relative() {
        assert_eq!(p("1521911720.5").unwrap(), 1_521_911_720_500_000_000);
        assert_eq!(p("0").unwrap(), 0);
        assert_eq!(p("-1.5").unwrap(), -1_500_000_000);
        assert_eq!(p("now").unwrap(), T0);
        assert_eq!(p("-2h").unwrap(), T0 - 7200 * NANOS_PER_SEC);
        assert_eq!(p("30m").unwrap(), T0 - 1800 * NANOS_PER_SEC);
        assert_eq!(p("1d").unwrap(), T0 - 86_400 * NANOS_PER_SEC);
        assert_eq!(p("1.5h").unwrap(), T0 - 5400 * NANOS_PER_SEC);
        assert_eq!(p("2w").unwrap(), T0 - 14 * 86_400 * NANOS_PER_SEC);
    }

    #[test]
    fn rejects_without_panicking() {
        for bad in [
            "",
            " ",
            "h",
            "-h",
            "2024-04",
            "2024-04-31",
            "2024-04-12T",
            "2024-04-12T9:00",
            "2024-04-12T25:00",
            "2024-04-12T09:00+2",
            "2024-04-12T09:00:00.",
            "2024-04-12X",
            "1.2.3",
            "--1",
            "1-2",
            "99999999999999999999",
            "999999999999999d",
            "1e9",
            "ä",
            "-",
            "2024-04-12T09:00 Z",
            "..",
            ".",
            "-.",
        ] {
            assert!(p(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse_time_bound("1d", i64::MIN).is_err());
    }

    #[test]
    fn never_panics_on_junk() {
        let alphabet = b"0123456789-:.TZz+ hmsdwn\xc3";
        for s in crate::civil::tests::junk(7, alphabet).take(200_000) {
            let _ = parse_time_bound(&s, T0);
            let _ = parse_time_bound(&s, i64::MIN);
            let _ = parse_time_bound(&s, i64::MAX);
        }
    }
}
