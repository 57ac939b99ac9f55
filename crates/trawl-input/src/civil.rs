//! Proleptic Gregorian calendar maths in UTC: enough for dated folders and time bounds,
//! without a calendar dependency.

use crate::Nanos;

pub(crate) const NANOS_PER_SEC: i64 = 1_000_000_000;
pub(crate) const SECS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a valid civil date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses exactly `N` ASCII digits.
pub(crate) fn digits<const N: usize>(b: &[u8]) -> Option<u32> {
    if b.len() != N {
        return None;
    }
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// `YYYY-MM-DD` to days since the epoch; `None` unless it is exactly a valid date.
pub(crate) fn parse_date(s: &[u8]) -> Option<i64> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let y = i64::from(digits::<4>(&s[..4])?);
    let m = digits::<2>(&s[5..7])?;
    let d = digits::<2>(&s[8..10])?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `HH<sep>MM<sep>SS` to seconds of the day.
pub(crate) fn parse_hms(s: &[u8], sep: u8) -> Option<i64> {
    if s.len() != 8 || s[2] != sep || s[5] != sep {
        return None;
    }
    let h = digits::<2>(&s[..2])?;
    let m = digits::<2>(&s[3..5])?;
    let sec = digits::<2>(&s[6..8])?;
    (h < 24 && m < 60 && sec < 61).then(|| i64::from(h * 3600 + m * 60 + sec))
}

/// `YYYY-MM-DD-HH-MM-SS` (Zeek's default rotation date format) to nanoseconds.
pub(crate) fn parse_dashed_datetime(s: &[u8]) -> Option<Nanos> {
    if s.len() != 19 || s[10] != b'-' {
        return None;
    }
    let days = parse_date(&s[..10])?;
    let secs = parse_hms(&s[11..], b'-')?;
    to_nanos(days, secs, 0)
}

/// Combines days, seconds and nanoseconds, failing instead of overflowing.
pub(crate) fn to_nanos(days: i64, secs: i64, nanos: i64) -> Option<Nanos> {
    days.checked_mul(SECS_PER_DAY)?
        .checked_add(secs)?
        .checked_mul(NANOS_PER_SEC)?
        .checked_add(nanos)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Random short strings over the characters these parsers care about.
    pub(crate) fn junk(seed: u64, alphabet: &[u8]) -> impl Iterator<Item = String> + '_ {
        let mut x = seed | 1;
        std::iter::repeat_with(move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 24) as usize;
            (0..len)
                .map(|i| alphabet[((x >> (i % 8 * 8)) as usize + i) % alphabet.len()] as char)
                .collect()
        })
    }

    #[test]
    fn known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(parse_date(b"2024-04-12"), Some(19_825));
        assert_eq!(parse_date(b"2024-02-29"), Some(19_782));
        assert_eq!(parse_date(b"2023-02-29"), None);
        assert_eq!(parse_date(b"2024-13-01"), None);
        assert_eq!(parse_date(b"1969-12-31"), Some(-1));
        assert_eq!(parse_date(b"2024-4-12x"), None);
    }

    #[test]
    fn times() {
        assert_eq!(parse_hms(b"09:00:00", b':'), Some(9 * 3600));
        assert_eq!(parse_hms(b"23:59:59", b':'), Some(86_399));
        assert_eq!(parse_hms(b"24:00:00", b':'), None);
        assert_eq!(parse_hms(b"09-00-00", b':'), None);
        assert_eq!(
            parse_dashed_datetime(b"2024-04-12-09-00-00"),
            Some(1_712_912_400 * NANOS_PER_SEC)
        );
    }
}
