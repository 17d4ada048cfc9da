//! systemd time spans (`systemd.time(7)`): `90s`, `30min`, `2h`, `1d`, `1h 30min`, or a bare
//! number of seconds. The stack file writes `timeout` and `jitter` this way because the same
//! values end up in systemd units (`RandomizedDelaySec=`), and an operator reading one should
//! not have to translate the other.

use std::time::Duration;

/// Units and their length in seconds; the longest spelling first is not needed since a unit
/// is the whole alphabetic run after a number.
const UNITS: &[(&[&str], u64)] = &[
    (&["s", "sec", "secs", "second", "seconds"], 1),
    (&["m", "min", "mins", "minute", "minutes"], 60),
    (&["h", "hr", "hrs", "hour", "hours"], 3600),
    (&["d", "day", "days"], 86_400),
    (&["w", "week", "weeks"], 7 * 86_400),
];

/// Parses a span; the error says what is wrong, for a located diagnostic.
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("an empty time span".into());
    }
    if let Ok(n) = t.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let mut total: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(format!(
                "`{t}` is not a time span: expected a number at `{rest}`"
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{t}`: number too large"))?;
        rest = rest[digits..].trim_start();
        let letters = rest.len()
            - rest
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let unit = &rest[..letters];
        rest = &rest[letters..];
        let secs = if unit.is_empty() {
            1
        } else {
            UNITS
                .iter()
                .find(|(names, _)| names.contains(&unit))
                .map(|(_, s)| *s)
                .ok_or_else(|| {
                    format!("`{t}`: unknown time unit `{unit}` (use s, min, h, d or w)")
                })?
        };
        total = n
            .checked_mul(secs)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("`{t}`: time span too large"))?;
    }
    Ok(Duration::from_secs(total))
}

/// A span as systemd and people read it back: `1h 30min`, `45s`, `0`.
pub fn render(d: Duration) -> String {
    let mut s = d.as_secs();
    if s == 0 {
        return "0".into();
    }
    let mut parts = Vec::new();
    for (unit, len) in [("d", 86_400), ("h", 3600), ("min", 60), ("s", 1)] {
        if s >= len {
            parts.push(format!("{}{unit}", s / len));
            s %= len;
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_as_systemd_writes_them() {
        let secs = |t: &str| parse(t).unwrap().as_secs();
        assert_eq!(secs("90s"), 90);
        assert_eq!(secs("90"), 90);
        assert_eq!(secs("30min"), 1800);
        assert_eq!(secs("2h"), 7200);
        assert_eq!(secs("1d"), 86_400);
        assert_eq!(secs("1h 30min"), 5400);
        assert_eq!(secs("1h30m"), 5400);
        assert_eq!(secs("2 weeks"), 14 * 86_400);
        for bad in ["", "h", "5 parsecs", "1h x", "-5s", "1.5h"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(render(Duration::from_secs(5400)), "1h 30min");
        assert_eq!(render(Duration::from_secs(90_061)), "1d 1h 1min 1s");
        assert_eq!(render(Duration::ZERO), "0");
    }
}
