//! Timestamps as the destinations want them.

use trawl_zeek::time::{civil_from_days, civil_time, Nanos};
use trawl_zeek::Value;

/// The record's `ts`, if it has a time there.
pub(crate) fn record_ts(ts: Option<Value<'_>>) -> Option<Nanos> {
    match ts {
        Some(Value::Time(t)) => Some(t),
        _ => None,
    }
}

/// Now, in nanoseconds since the epoch.
pub(crate) fn now() -> Nanos {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_nanos().min(i64::MAX as u128) as Nanos
}

/// (year, month, day) in UTC.
pub(crate) fn ymd(t: Nanos) -> (i64, i64, i64) {
    civil_from_days(t.div_euclid(1_000_000_000).div_euclid(86_400))
}

/// ISO 8601 in UTC with microseconds: `2026-11-20T08:01:02.123456Z`.
pub(crate) fn iso8601(t: Nanos) -> String {
    let secs = t.div_euclid(1_000_000_000);
    let micros = t.rem_euclid(1_000_000_000) / 1000;
    let (y, m, d, hh, mm, ss) = civil_time(secs);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{micros:06}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        let t = 1_700_000_000_123_456_000;
        assert_eq!(iso8601(t), "2023-11-14T22:13:20.123456Z");
        assert_eq!(ymd(t), (2023, 11, 14));
        assert_eq!(iso8601(-1_000), "1969-12-31T23:59:59.999999Z");
    }
}
