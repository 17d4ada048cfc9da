//! Timestamps in the exact text forms Python's `str(datetime)` and `str(timedelta)` produce,
//! because Ansible results carry them (`start`, `end`, `delta`) and playbooks parse them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `str(datetime.datetime.now())`: local time, `2024-05-01 12:03:04.123456`, with the
/// microseconds left out when they are zero, as Python does.
pub fn local_timestamp(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as libc::time_t;
    // SAFETY: `tm` is plain data filled in by localtime_r, which is thread-safe.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    let (y, mo, d, h, mi, s) = if ok {
        (
            tm.tm_year as i64 + 1900,
            tm.tm_mon as u32 + 1,
            tm.tm_mday as u32,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec,
        )
    } else {
        let (y, mo, d) = civil_from_days(since.as_secs() as i64 / 86400);
        let sod = (since.as_secs() % 86400) as i32;
        (y, mo, d, sod / 3600, sod / 60 % 60, sod % 60)
    };
    let base = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}");
    match since.subsec_micros() {
        0 => base,
        us => format!("{base}.{us:06}"),
    }
}

/// `str(datetime.timedelta)`: `0:00:00.001234`, `1 day, 2:03:04`.
pub fn timedelta(d: Duration) -> String {
    let total = d.as_secs();
    let (days, rem) = (total / 86400, total % 86400);
    let mut out = String::new();
    if days > 0 {
        out.push_str(&format!("{days} day{}, ", if days == 1 { "" } else { "s" }));
    }
    out.push_str(&format!(
        "{}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    ));
    match d.subsec_micros() {
        0 => out,
        us => format!("{out}.{us:06}"),
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timedelta_like_python() {
        assert_eq!(timedelta(Duration::from_micros(1234)), "0:00:00.001234");
        assert_eq!(timedelta(Duration::from_secs(3723)), "1:02:03");
        assert_eq!(timedelta(Duration::from_secs(86400 + 5)), "1 day, 0:00:05");
        assert_eq!(timedelta(Duration::from_secs(2 * 86400)), "2 days, 0:00:00");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn local_timestamp_matches_date() {
        let now = SystemTime::now();
        let ours = local_timestamp(now);
        let secs = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        let out = std::process::Command::new("date")
            .arg("-d")
            .arg(format!("@{secs}"))
            .arg("+%Y-%m-%d %H:%M:%S")
            .output()
            .unwrap();
        let date = String::from_utf8(out.stdout).unwrap();
        assert!(ours.starts_with(date.trim()), "{ours} vs {date}");
    }
}
