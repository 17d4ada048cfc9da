//! UTC timestamps for the state and release ids.
//!
//! Hand-rolled on [`SystemTime`] because strata only ever needs UTC in two fixed formats;
//! a calendar crate would be a large dependency for two `format!` calls. Always UTC, so
//! times recorded on different bastions compare as plain strings.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as RFC 3339 UTC, e.g. `2026-12-04T10:15:00Z`.
pub fn now_rfc3339() -> String {
    format_rfc3339(SystemTime::now())
}

/// RFC 3339 UTC with whole seconds: sub-second precision would only make the state's times
/// harder to read, and they sort correctly as strings as long as every writer uses this.
pub fn format_rfc3339(t: SystemTime) -> String {
    let c = Civil::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// A release id for a deploy happening now, e.g. `20261204T101500Z`, later than every id in
/// `taken`: two deploys within one second (a sync's deploy, then `deploy --revision`) must
/// not share a release, or the second would overwrite the first's directory and record.
pub fn release_id(taken: &[&str]) -> String {
    let mut t = SystemTime::now();
    loop {
        let id = release_id_at(t);
        if taken.iter().all(|x| *x < id.as_str()) {
            return id;
        }
        t += std::time::Duration::from_secs(1);
    }
}

/// The compact ISO 8601 form, because release ids become directory names on the instances
/// (no `:` in them) and must sort by time.
pub fn release_id_at(t: SystemTime) -> String {
    let c = Civil::from(t);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// A broken-down UTC time.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl From<SystemTime> for Civil {
    fn from(t: SystemTime) -> Civil {
        let secs = unix_seconds(t);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
        }
    }
}

/// Whole seconds since the epoch, rounded down so that a time before 1970 still lands in
/// the right second.
fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => {
            let d = e.duration();
            -(d.as_secs() as i64) - i64::from(d.subsec_nanos() > 0)
        }
    }
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day) in the
/// proleptic Gregorian calendar. Eras of 400 years make the leap-year rule exact without
/// tables. See <https://howardhinnant.github.io/date_algorithms.html#civil_from_days>.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], from March 1st
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn epoch() {
        assert_eq!(format_rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(release_id_at(UNIX_EPOCH), "19700101T000000Z");
    }

    #[test]
    fn known_dates() {
        // date -u -d 2026-12-04T10:15:00Z +%s
        assert_eq!(format_rfc3339(at(1_796_379_300)), "2026-12-04T10:15:00Z");
        assert_eq!(release_id_at(at(1_796_379_300)), "20261204T101500Z");
        assert_eq!(format_rfc3339(at(1_000_000_000)), "2001-09-09T01:46:40Z");
        assert_eq!(format_rfc3339(at(2_147_483_647)), "2038-01-19T03:14:07Z");
        assert_eq!(format_rfc3339(at(1_703_980_799)), "2023-12-30T23:59:59Z");
        assert_eq!(format_rfc3339(at(1_704_067_199)), "2023-12-31T23:59:59Z");
    }

    #[test]
    fn leap_years() {
        // 2024 is a leap year: Feb 29 exists and Mar 1 follows it.
        assert_eq!(format_rfc3339(at(1_709_164_800)), "2024-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(at(1_709_251_200)), "2024-03-01T00:00:00Z");
        // 2000 is a leap year (divisible by 400).
        assert_eq!(format_rfc3339(at(951_782_400)), "2000-02-29T00:00:00Z");
        // 2100 is not (divisible by 100, not 400): Feb 28 is followed by Mar 1.
        assert_eq!(format_rfc3339(at(4_107_456_000)), "2100-02-28T00:00:00Z");
        assert_eq!(format_rfc3339(at(4_107_542_400)), "2100-03-01T00:00:00Z");
        // The last second of a leap year is day 366.
        assert_eq!(format_rfc3339(at(1_735_689_599)), "2024-12-31T23:59:59Z");
    }

    #[test]
    fn before_epoch_rounds_down() {
        let t = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(format_rfc3339(t), "1969-12-31T23:59:59Z");
        let t = UNIX_EPOCH - Duration::from_secs(86_400);
        assert_eq!(format_rfc3339(t), "1969-12-31T00:00:00Z");
    }

    #[test]
    fn now_is_well_formed() {
        let s = now_rfc3339();
        assert_eq!(s.len(), 20, "{s}");
        assert!(s.ends_with('Z') && s.as_bytes()[10] == b'T', "{s}");
        let r = release_id(&[]);
        assert!(release_id(&[&r]) > r, "a taken id is skipped");
        assert_eq!(r.len(), 16, "{r}");
        assert!(r.ends_with('Z') && r.as_bytes()[8] == b'T', "{r}");
    }
}
