//! Report periods: a length (`1h`, `1d`, any whole number of seconds) and the aligned window
//! `[start, end)` it cuts out of UTC time (hours start on the hour, days at 00:00 UTC).

use std::fmt;

/// One report window, in epoch seconds, `start` included and `end` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub start: i64,
    pub end: i64,
}

/// Why a period length was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a report period: use 1h, 1d or another whole number of seconds (10m, 6h)")]
pub struct PeriodError(pub String);

/// Parses a period length (`1h`, `1d`, `15m`, `3600`) into seconds.
pub fn parse_every(text: &str) -> Result<i64, PeriodError> {
    let d = trawl_alert::duration::parse(text).map_err(|_| PeriodError(text.to_string()))?;
    let secs = d.as_secs();
    if secs == 0 || d.subsec_nanos() != 0 || secs > 366 * 86_400 {
        return Err(PeriodError(text.to_string()));
    }
    Ok(secs as i64)
}

/// A period length as people write it: `1h`, `1d`, `15m`, `90s`.
pub fn every_text(every: i64) -> String {
    match every {
        e if e % 86_400 == 0 => format!("{}d", e / 86_400),
        e if e % 3600 == 0 => format!("{}h", e / 3600),
        e if e % 60 == 0 => format!("{}m", e / 60),
        e => format!("{e}s"),
    }
}

impl Period {
    /// The period of length `every` that holds `t`.
    pub fn containing(t: i64, every: i64) -> Period {
        let start = t.div_euclid(every) * every;
        Period {
            start,
            end: start + every,
        }
    }

    /// The last period of length `every` that ended at or before `t`.
    pub fn last_complete(t: i64, every: i64) -> Period {
        let end = t.div_euclid(every) * every;
        Period {
            start: end - every,
            end,
        }
    }

    /// Its length in seconds.
    pub fn len(&self) -> i64 {
        self.end - self.start
    }

    /// Never empty (a period has a positive length); for clippy's `len` convention.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The period just before, of the same length.
    pub fn previous(&self) -> Period {
        Period {
            start: self.start - self.len(),
            end: self.start,
        }
    }

    /// The period just after, of the same length.
    pub fn next(&self) -> Period {
        Period {
            start: self.end,
            end: self.end + self.len(),
        }
    }

    /// Whether `t` (epoch seconds) is inside.
    pub fn contains(&self, t: f64) -> bool {
        t >= self.start as f64 && t < self.end as f64
    }
}

/// RFC 3339 UTC, to the second.
pub fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| t.to_string())
}

/// `t` (epoch seconds, UTC) in a chrono format; the number itself if out of range.
fn utc(t: i64, format: &str) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format(format).to_string())
        .unwrap_or_else(|| t.to_string())
}

impl fmt::Display for Period {
    /// `2025-11-20 09:00 to 10:00 UTC`, `2025-11-20 (UTC day)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let day = |t| utc(t, "%Y-%m-%d");
        if self.len() == 86_400 && self.start % 86_400 == 0 {
            return write!(f, "{} (UTC day)", day(self.start));
        }
        let clock = if self.start % 60 != 0 || self.end % 60 != 0 {
            "%H:%M:%S"
        } else {
            "%H:%M"
        };
        // A period that ends at midnight ends at 24:00 of its own day.
        let ends_at_midnight = self.end % 86_400 == 0 && self.len() < 86_400;
        if ends_at_midnight || day(self.start) == day(self.end) {
            let end = if ends_at_midnight {
                "24:00".to_string()
            } else {
                utc(self.end, clock)
            };
            return write!(
                f,
                "{} {} to {end} UTC",
                day(self.start),
                utc(self.start, clock)
            );
        }
        write!(
            f,
            "{} {} to {} UTC",
            day(self.start),
            utc(self.start, "%H:%M"),
            utc(self.end, "%Y-%m-%d %H:%M")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_align_to_utc_hours_and_days() {
        let t = 1_763_631_000; // 2025-11-20T09:30:00Z
        let h = Period::containing(t, 3600);
        assert_eq!(rfc3339(h.start), "2025-11-20T09:00:00Z");
        assert_eq!(h.to_string(), "2025-11-20 09:00 to 10:00 UTC");
        let last = Period::last_complete(t, 3600);
        assert_eq!(last.next(), h);
        assert_eq!(h.previous(), last);
        let d = Period::containing(t, 86_400);
        assert_eq!(d.to_string(), "2025-11-20 (UTC day)");
        let late = Period::containing(1_763_679_600, 3600); // 23:00
        assert_eq!(late.to_string(), "2025-11-20 23:00 to 24:00 UTC");
        assert_eq!(parse_every("1h"), Ok(3600));
        assert_eq!(parse_every("1d"), Ok(86_400));
        assert!(parse_every("0s").is_err());
        assert!(parse_every("1.5s").is_err());
        assert_eq!(every_text(86_400), "1d");
        assert_eq!(every_text(900), "15m");
    }
}
