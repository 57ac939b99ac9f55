//! Durations as people write them in a configuration or on the command line: `90s`, `5m`,
//! `2h`, `7d`, `1h30m`, or a bare number of seconds.

use std::time::Duration;

/// Parses `30s`, `5m`, `2h`, `7d`, `1w`, `1h30m` or `45` (seconds).
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("an empty duration".into());
    }
    if let Ok(secs) = t.parse::<f64>() {
        return seconds(secs, text);
    }
    let mut total = 0f64;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            'd' => 86_400.0,
            'w' => 604_800.0,
            ' ' if num.is_empty() => continue,
            _ => {
                return Err(format!(
                    "{text:?} is not a duration such as 30s, 5m, 2h or 7d"
                ))
            }
        };
        let n: f64 = num
            .parse()
            .map_err(|_| format!("{text:?} is not a duration such as 30s, 5m, 2h or 7d"))?;
        total += n * unit;
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!("{text:?}: a number without a unit (s, m, h, d)"));
    }
    seconds(total, text)
}

fn seconds(secs: f64, text: &str) -> Result<Duration, String> {
    if !secs.is_finite() || !(0.0..=1e10).contains(&secs) {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Writes a duration the short way (`1h30m`, `45s`).
pub fn format(d: Duration) -> String {
    let mut s = d.as_secs();
    if s == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= len {
            out.push_str(&format!("{}{unit}", s / len));
            s %= len;
        }
    }
    out
}

/// A duration in a serde configuration: a string like `5m` or a number of seconds.
pub(crate) mod serde_opt {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(f64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<Raw>::deserialize(d)? {
            None => Ok(None),
            Some(Raw::Secs(s)) => super::seconds(s, &s.to_string())
                .map(Some)
                .map_err(serde::de::Error::custom),
            Some(Raw::Text(t)) => super::parse(&t).map(Some).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_add_up() {
        assert_eq!(parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("7d").unwrap(), Duration::from_secs(604_800));
        assert_eq!(parse("45").unwrap(), Duration::from_secs(45));
        assert!(parse("5x").is_err());
        assert!(parse("5").is_ok());
        assert!(parse("1h5").is_err());
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
    }
}
