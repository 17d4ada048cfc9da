//! A job's `schedule`: a systemd calendar event (`OnCalendar=`, `systemd.time(7)`) or a
//! 5-field cron expression, both parsed into one [`Calendar`].
//!
//! One model for both so that a schedule is checked at load time (a typo must not wait for
//! the timer that never fires), a cron expression can become a systemd timer, an OnCalendar
//! one a crontab line where cron can say it, and `strata jobs list` can show the next run.
//! Times are UTC, like every time strata records: the timer gets an explicit `UTC` zone.
//! The subset of systemd's syntax is what schedules use: weekdays, `*`, values, lists `a,b`,
//! ranges `a..b`, repetitions `a/n` and `a..b/n`, and the named shorthands (`daily`...).
//! Fractional seconds and `~` (last days of the month) are refused with a message.

use std::fmt::Write as _;

mod cron;

pub use cron::parse_cron;

/// The weekday names systemd writes, Monday first (systemd's order).
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// One comma-separated part of a field: `start[..end][/step]`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Comp {
    start: u32,
    end: Option<u32>,
    step: Option<u32>,
}

impl Comp {
    fn matches(&self, v: u32, max: u32) -> bool {
        let end = match (self.end, self.step) {
            (Some(e), _) => e,
            (None, Some(_)) => max,
            (None, None) => self.start,
        };
        v >= self.start && v <= end && (v - self.start).is_multiple_of(self.step.unwrap_or(1))
    }
}

/// A field: empty means `*`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
struct Field(Vec<Comp>);

impl Field {
    fn matches(&self, v: u32, max: u32) -> bool {
        self.0.is_empty() || self.0.iter().any(|c| c.matches(v, max))
    }

    fn is_any(&self) -> bool {
        self.0.is_empty()
    }

    fn render(&self, width: usize, sep: &str) -> String {
        if self.0.is_empty() {
            return "*".into();
        }
        let mut out = Vec::new();
        for c in &self.0 {
            let mut s = format!("{:0width$}", c.start);
            if let Some(e) = c.end {
                let _ = write!(s, "{sep}{e:0width$}");
            }
            if let Some(st) = c.step {
                let _ = write!(s, "/{st}");
            }
            out.push(s);
        }
        out.join(",")
    }
}

/// A parsed schedule. Fields AND together, as in systemd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    /// Allowed weekdays, Monday = 0; all true when unrestricted.
    weekdays: [bool; 7],
    years: Field,
    months: Field,
    days: Field,
    hours: Field,
    minutes: Field,
    seconds: Field,
}

/// Field limits: (name, min, max).
const YEAR: (&str, u32, u32) = ("year", 1970, 2199);
const MONTH: (&str, u32, u32) = ("month", 1, 12);
const DAY: (&str, u32, u32) = ("day", 1, 31);
const HOUR: (&str, u32, u32) = ("hour", 0, 23);
const MINUTE: (&str, u32, u32) = ("minute", 0, 59);
const SECOND: (&str, u32, u32) = ("second", 0, 59);

/// The named shorthands of systemd.time(7).
fn shorthand(s: &str) -> Option<&'static str> {
    Some(match s {
        "minutely" => "*-*-* *:*:00",
        "hourly" => "*-*-* *:00:00",
        "daily" => "*-*-* 00:00:00",
        "weekly" => "Mon *-*-* 00:00:00",
        "monthly" => "*-*-01 00:00:00",
        "yearly" | "annually" => "*-01-01 00:00:00",
        "quarterly" => "*-01,04,07,10-01 00:00:00",
        "semiannually" => "*-01,07-01 00:00:00",
        _ => return None,
    })
}

/// Whether `text` looks like cron (five whitespace-separated fields, no `:`, or `@daily`).
pub fn is_cron(text: &str) -> bool {
    let t = text.trim();
    t.starts_with('@') || (t.split_whitespace().count() == 5 && !t.contains(':'))
}

/// Parses either form: cron when [`is_cron`], else a systemd calendar event.
pub fn parse(text: &str) -> Result<Calendar, String> {
    if is_cron(text) {
        parse_cron(text)
    } else {
        parse_calendar(text)
    }
}

/// A systemd calendar event.
pub fn parse_calendar(text: &str) -> Result<Calendar, String> {
    let cal = read_calendar(text)?;
    cal.check_possible()?;
    Ok(cal)
}

/// A calendar event's fields, whether or not it can ever fire.
fn read_calendar(text: &str) -> Result<Calendar, String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(s) = shorthand(&lower) {
        return read_calendar(s);
    }
    let mut tokens: Vec<&str> = t.split_whitespace().collect();
    if tokens.is_empty() {
        return Err("an empty schedule".into());
    }
    if tokens.len() > 1 && tokens.last().is_some_and(|z| z.eq_ignore_ascii_case("utc")) {
        tokens.pop();
    }
    let mut cal = Calendar {
        weekdays: [true; 7],
        years: Field::default(),
        months: Field::default(),
        days: Field::default(),
        hours: Field(vec![Comp {
            start: 0,
            end: None,
            step: None,
        }]),
        minutes: Field(vec![Comp {
            start: 0,
            end: None,
            step: None,
        }]),
        seconds: Field(vec![Comp {
            start: 0,
            end: None,
            step: None,
        }]),
    };
    let mut i = 0;
    if tokens[0].starts_with(|c: char| c.is_ascii_alphabetic()) {
        cal.weekdays = weekdays(tokens[0])?;
        i = 1;
    }
    let (mut date, mut time) = (None, None);
    for tok in &tokens[i..] {
        if tok.contains(':') && time.is_none() {
            time = Some(*tok);
        } else if tok.contains('-') && date.is_none() && time.is_none() {
            date = Some(*tok);
        } else {
            return Err(format!(
                "`{tok}` is not a date (`YYYY-MM-DD`) or a time (`HH:MM[:SS]`) of a calendar \
                 event; time zones other than UTC are not supported"
            ));
        }
    }
    if date.is_none() && time.is_none() && i == 0 {
        return Err(format!("`{t}` is not a calendar event"));
    }
    if let Some(d) = date {
        if d.contains('~') {
            return Err("`~` (days from the end of the month) is not supported".into());
        }
        let parts: Vec<&str> = d.split('-').collect();
        let (y, m, dd) = match parts.as_slice() {
            [y, m, d] => (Some(*y), *m, *d),
            [m, d] => (None, *m, *d),
            _ => return Err(format!("`{d}` is not a date: use `YYYY-MM-DD` or `MM-DD`")),
        };
        if let Some(y) = y {
            cal.years = field(y, YEAR)?;
        }
        cal.months = field(m, MONTH)?;
        cal.days = field(dd, DAY)?;
    }
    if let Some(tm) = time {
        let parts: Vec<&str> = tm.split(':').collect();
        let (h, m, s) = match parts.as_slice() {
            [h, m] => (*h, *m, "00"),
            [h, m, s] => (*h, *m, *s),
            _ => return Err(format!("`{tm}` is not a time: use `HH:MM` or `HH:MM:SS`")),
        };
        if s.contains('.') {
            return Err("fractional seconds are not supported".into());
        }
        cal.hours = field(h, HOUR)?;
        cal.minutes = field(m, MINUTE)?;
        cal.seconds = field(s, SECOND)?;
    }
    Ok(cal)
}

fn weekday_index(s: &str) -> Option<usize> {
    let l = s.to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .position(|w| w.eq_ignore_ascii_case(&l))
        .or_else(|| LONG_WEEKDAYS.iter().position(|w| *w == l))
}

fn weekdays(tok: &str) -> Result<[bool; 7], String> {
    let mut out = [false; 7];
    for part in tok.split(',') {
        let bad = || format!("`{part}` is not a weekday (Mon..Sun)");
        match part.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (
                    weekday_index(a).ok_or_else(bad)?,
                    weekday_index(b).ok_or_else(bad)?,
                );
                let mut d = a;
                loop {
                    out[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => out[weekday_index(part).ok_or_else(bad)?] = true,
        }
    }
    Ok(out)
}

fn number(s: &str, (name, min, max): (&str, u32, u32)) -> Result<u32, String> {
    let v: u32 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a valid {name}"))?;
    if v < min || v > max {
        return Err(format!("{name} {v} is out of range ({min}..{max})"));
    }
    Ok(v)
}

/// A systemd field: `*`, or comma-separated `a`, `a..b`, `a/n`, `a..b/n`, `*/n`.
fn field(s: &str, lim: (&str, u32, u32)) -> Result<Field, String> {
    if s == "*" {
        return Ok(Field::default());
    }
    let mut comps = Vec::new();
    for part in s.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => {
                let st: u32 = st
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("`{st}` is not a repetition (a positive number)"))?;
                (r, Some(st))
            }
            None => (part, None),
        };
        let (start, end) = match range.split_once("..") {
            Some((a, b)) => (number(a, lim)?, Some(number(b, lim)?)),
            None if range == "*" && step.is_some() => (lim.1, None),
            None => (number(range, lim)?, None),
        };
        if end.is_some_and(|e| e < start) {
            return Err(format!("`{range}`: a range must go upwards"));
        }
        comps.push(Comp { start, end, step });
    }
    Ok(Field(comps))
}

impl Calendar {
    /// A calendar that can never fire (`*-02-30`) is a mistake worth reporting at load time.
    fn check_possible(&self) -> Result<(), String> {
        let feb29 = self.months.matches(2, 12) && self.days.matches(29, 31);
        let possible = (1..=12).any(|m| {
            self.months.matches(m, 12)
                && (1..=days_in_month(2000, m)).any(|d| self.days.matches(d, 31))
        });
        if !possible && !feb29 {
            return Err("this schedule never fires (no such day of the month)".into());
        }
        // Years and weekdays too (`2020-01-01`, `2027-02-29`, `Mon *-02-30`): a timer that
        // never fires is a job that silently never runs.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if self.next_after(now).is_none() {
            return Err("this schedule never fires in the next five years".into());
        }
        Ok(())
    }

    /// systemd's normalised form (what `systemd-analyze calendar` prints), without the zone.
    pub fn normalized(&self) -> String {
        let mut s = String::new();
        if self.weekdays.iter().any(|w| !w) {
            let names: Vec<&str> = (0..7)
                .filter(|i| self.weekdays[*i])
                .map(|i| WEEKDAYS[i])
                .collect();
            s.push_str(&names.join(","));
            s.push(' ');
        }
        let _ = write!(
            s,
            "{}-{}-{} {}:{}:{}",
            self.years.render(4, ".."),
            self.months.render(2, ".."),
            self.days.render(2, ".."),
            self.hours.render(2, ".."),
            self.minutes.render(2, ".."),
            self.seconds.render(2, ".."),
        );
        s
    }

    /// The `OnCalendar=` value of the job's timer: the normalised form in UTC.
    pub fn on_calendar(&self) -> String {
        format!("{} UTC", self.normalized())
    }

    fn date_matches(&self, y: i64, m: u32, d: u32) -> bool {
        let wd = weekday(days_from_civil(y, m, d));
        self.weekdays[wd]
            && u32::try_from(y).is_ok_and(|y| self.years.matches(y, YEAR.2))
            && self.months.matches(m, 12)
            && self.days.matches(d, 31)
    }

    /// The first time strictly after `after` (Unix seconds, UTC) the schedule fires, looking
    /// up to about five years ahead.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        let start = after + 1;
        let first_day = start.div_euclid(86_400);
        let first_secs = start.rem_euclid(86_400) as u32;
        for day in first_day..first_day + 5 * 366 {
            let (y, m, d) = civil_from_days(day);
            if self.date_matches(y, m, d) {
                let from = if day == first_day { first_secs } else { 0 };
                if let Some(t) = self.first_time_from(from) {
                    return Some(day * 86_400 + i64::from(t));
                }
            }
        }
        None
    }

    /// The first matching second of a day at or after `from` seconds past midnight.
    fn first_time_from(&self, from: u32) -> Option<u32> {
        for h in (from / 3600)..24 {
            if !self.hours.matches(h, 23) {
                continue;
            }
            for mi in 0..60 {
                if !self.minutes.matches(mi, 59) {
                    continue;
                }
                for s in 0..60 {
                    let t = h * 3600 + mi * 60 + s;
                    if t >= from && self.seconds.matches(s, 59) {
                        return Some(t);
                    }
                }
            }
        }
        None
    }
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Monday = 0 (1970-01-01 was a Thursday).
fn weekday(days: i64) -> usize {
    (days + 3).rem_euclid(7) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(t: &str) -> String {
        parse(t).unwrap_or_else(|e| panic!("{t}: {e}")).normalized()
    }

    /// Unix seconds of a UTC time.
    fn at(y: i64, m: u32, d: u32, h: i64, mi: i64, s: i64) -> i64 {
        days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + s
    }

    #[test]
    fn calendar_events_normalise_as_systemd() {
        assert_eq!(norm("*-*-* 21:00:00"), "*-*-* 21:00:00");
        assert_eq!(norm("Sun *-*-* 01:00:00"), "Sun *-*-* 01:00:00");
        assert_eq!(norm("daily"), "*-*-* 00:00:00");
        assert_eq!(norm("weekly"), "Mon *-*-* 00:00:00");
        assert_eq!(norm("21:00"), "*-*-* 21:00:00");
        assert_eq!(norm("Mon..Fri 9:5"), "Mon,Tue,Wed,Thu,Fri *-*-* 09:05:00");
        assert_eq!(norm("*-*-* *:*:00"), "*-*-* *:*:00");
        assert_eq!(norm("*:0/15"), "*-*-* *:00/15:00");
        assert_eq!(norm("2027-1-1"), "2027-01-01 00:00:00");
        assert_eq!(norm("*-*-* 21:00:00 UTC"), "*-*-* 21:00:00");
        assert_eq!(norm("quarterly"), "*-01,04,07,10-01 00:00:00");
        for bad in [
            "*-*-* 25:00:00",
            "Funday *-*-* 01:00",
            "*-13-01",
            "*-02-30",
            "*-*-* 21:00:00 Europe/Berlin",
            "tomorrow",
            "*-*~01",
            "*-*-* 1:2:3.5",
            "*:0/0",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed as {:?}", parse(bad));
        }
    }

    #[test]
    fn cron_converts_to_on_calendar() {
        assert_eq!(norm("0 21 * * *"), "*-*-* 21:00:00");
        assert_eq!(norm("0 1 * * 0"), "Sun *-*-* 01:00:00");
        assert_eq!(norm("0 1 * * sun"), "Sun *-*-* 01:00:00");
        assert_eq!(norm("*/15 * * * *"), "*-*-* *:00/15:00");
        assert_eq!(norm("30 2 1 jan,jul *"), "*-01,07-01 02:30:00");
        assert_eq!(norm("0 9 * * 1-5"), "Mon,Tue,Wed,Thu,Fri *-*-* 09:00:00");
        assert_eq!(norm("0 0 * * 7"), "Sun *-*-* 00:00:00");
        assert_eq!(norm("@daily"), "*-*-* 00:00:00");
        assert_eq!(norm("5-10/2 * * * *"), "*-*-* *:05..10/2:00");
        for bad in [
            "0 21 1 * 1",
            "60 * * * *",
            "* * * *",
            "0 0 * * 8",
            "@reboot",
            "0 0 31 2 *",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn calendars_back_to_cron_where_cron_can_say_them() {
        let cron = |t: &str| parse(t).unwrap().to_cron();
        assert_eq!(cron("*-*-* 21:00:00").unwrap(), "0 21 * * *");
        assert_eq!(cron("Sun *-*-* 01:00:00").unwrap(), "0 1 * * 0");
        assert_eq!(cron("*:0/15").unwrap(), "0-59/15 * * * *");
        assert_eq!(cron("*-*-* *:*:00").unwrap(), "* * * * *");
        assert!(cron("*-*-* *:*:30").is_err());
        assert!(cron("2027-*-* 00:00").is_err());
        assert!(cron("Mon *-*-01 00:00").is_err());
    }

    #[test]
    fn next_run_is_the_first_match_after() {
        let daily = parse("*-*-* 21:00:00").unwrap();
        let noon = at(2026, 12, 4, 12, 0, 0);
        assert_eq!(daily.next_after(noon), Some(at(2026, 12, 4, 21, 0, 0)));
        assert_eq!(
            daily.next_after(at(2026, 12, 4, 21, 0, 0)),
            Some(at(2026, 12, 5, 21, 0, 0))
        );
        // 2026-12-04 is a Friday.
        let pack = parse("Sun *-*-* 01:00:00").unwrap();
        assert_eq!(pack.next_after(noon), Some(at(2026, 12, 6, 1, 0, 0)));
        let minutely = parse("*-*-* *:*:00").unwrap();
        assert_eq!(
            minutely.next_after(at(2026, 12, 31, 23, 59, 30)),
            Some(at(2027, 1, 1, 0, 0, 0))
        );
        let leap = parse("*-02-29 00:00").unwrap();
        assert_eq!(leap.next_after(noon), Some(at(2028, 2, 29, 0, 0, 0)));
        let past = read_calendar("2020-01-01").unwrap();
        assert_eq!(past.next_after(noon), None, "in the past");
        // A schedule that never fires again is refused when it is read.
        for never in ["2020-01-01", "2027-02-29", "Mon *-02-30"] {
            let e = parse(never).unwrap_err();
            assert!(e.contains("never fires"), "{never}: {e}");
        }
        for days in [-1000, 0, 20_000, 60_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
