//! Cron's side of a schedule: a 5-field expression (or `@daily` and friends) read into a
//! [`Calendar`], and a calendar written back as cron fields for a crontab install. Apart from
//! the calendar syntax because the two differ where it matters: cron ORs day-of-month and
//! day-of-week and numbers Sunday 0, systemd ANDs every field.

use super::{Calendar, Comp, DAY, Field, HOUR, MINUTE, MONTH, MONTHS, number};

/// A 5-field cron expression (minute hour day-of-month month day-of-week) or `@daily` and
/// friends, as a calendar. Cron ORs day-of-month and day-of-week when both are restricted;
/// systemd ANDs every field, so that combination is refused rather than silently changed.
pub fn parse_cron(text: &str) -> Result<Calendar, String> {
    let t = text.trim();
    if let Some(name) = t.strip_prefix('@') {
        return match name {
            "hourly" => parse_cron("0 * * * *"),
            "daily" | "midnight" => parse_cron("0 0 * * *"),
            "weekly" => parse_cron("0 0 * * 0"),
            "monthly" => parse_cron("0 0 1 * *"),
            "yearly" | "annually" => parse_cron("0 0 1 1 *"),
            _ => Err(format!(
                "`{t}` is not a schedule strata can run (`@{name}`)"
            )),
        };
    }
    let f: Vec<&str> = t.split_whitespace().collect();
    let [min, hour, dom, mon, dow] = f.as_slice() else {
        return Err(format!("`{t}` is not a 5-field cron expression"));
    };
    if *dom != "*" && *dow != "*" {
        return Err(format!(
            "`{t}` restricts both the day of month and the day of week, which cron ORs and \
             systemd ANDs; use a systemd calendar event instead"
        ));
    }
    let mut weekdays = [true; 7];
    if *dow != "*" {
        weekdays = [false; 7];
        for v in expand_cron(dow, (0, 7), &cron_weekday)? {
            // cron: 0 and 7 are Sunday; ours: Monday = 0.
            weekdays[((v + 6) % 7) as usize] = true;
        }
    }
    let cal = Calendar {
        weekdays,
        years: Field::default(),
        months: cron_field(mon, MONTH, &cron_month)?,
        days: cron_field(dom, DAY, &|_| None)?,
        hours: cron_field(hour, HOUR, &|_| None)?,
        minutes: cron_field(min, MINUTE, &|_| None)?,
        seconds: Field(vec![Comp {
            start: 0,
            end: None,
            step: None,
        }]),
    };
    cal.check_possible()?;
    Ok(cal)
}

fn cron_month(s: &str) -> Option<u32> {
    let l = s.to_ascii_lowercase();
    MONTHS.iter().position(|m| *m == l).map(|i| i as u32 + 1)
}

fn cron_weekday(s: &str) -> Option<u32> {
    let l = s.to_ascii_lowercase();
    ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        .iter()
        .position(|d| *d == l)
        .map(|i| i as u32)
}

fn cron_value(
    s: &str,
    lim: (&str, u32, u32),
    names: &dyn Fn(&str) -> Option<u32>,
) -> Result<u32, String> {
    match names(s) {
        Some(v) => Ok(v),
        None => number(s, lim),
    }
}

/// A cron field as a systemd field: `a-b` becomes `a..b`, `*/n` becomes `min/n`.
fn cron_field(
    s: &str,
    lim: (&str, u32, u32),
    names: &dyn Fn(&str) -> Option<u32>,
) -> Result<Field, String> {
    if s == "*" {
        return Ok(Field::default());
    }
    let mut comps = Vec::new();
    for part in s.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => (
                r,
                Some(
                    st.parse::<u32>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("`{st}` is not a cron step"))?,
                ),
            ),
            None => (part, None),
        };
        let (start, end) = match range.split_once('-') {
            Some((a, b)) => (cron_value(a, lim, names)?, Some(cron_value(b, lim, names)?)),
            None if range == "*" => (lim.1, step.map(|_| lim.2)),
            None => (cron_value(range, lim, names)?, step.map(|_| lim.2)),
        };
        if end.is_some_and(|e| e < start) {
            return Err(format!("`{range}`: a range must go upwards"));
        }
        // `*/n` over the whole range is systemd's `min/n`.
        let end = if end == Some(lim.2) && step.is_some() {
            None
        } else {
            end
        };
        comps.push(Comp { start, end, step });
    }
    Ok(Field(comps))
}

/// Every value a cron field allows (for the day of week, which becomes a list of names).
fn expand_cron(
    s: &str,
    lim: (u32, u32),
    names: &dyn Fn(&str) -> Option<u32>,
) -> Result<Vec<u32>, String> {
    let f = cron_field(s, ("day of week", lim.0, lim.1), names)?;
    Ok((lim.0..=lim.1).filter(|v| f.matches(*v, lim.1)).collect())
}

impl Calendar {
    /// The five cron fields, or why cron cannot say this schedule.
    pub fn to_cron(&self) -> Result<String, String> {
        if self.seconds
            != Field(vec![Comp {
                start: 0,
                end: None,
                step: None,
            }])
        {
            return Err("cron runs at whole minutes; the schedule names seconds".into());
        }
        if !self.years.is_any() {
            return Err("cron has no year field".into());
        }
        let restricted_dow = self.weekdays.iter().any(|w| !w);
        if restricted_dow && !self.days.is_any() {
            return Err(
                "the schedule restricts both the day of month and the weekday, which cron ORs"
                    .into(),
            );
        }
        let cron = |f: &Field, max: u32| -> String {
            if f.is_any() {
                return "*".into();
            }
            f.0.iter()
                .map(|c| match (c.end, c.step) {
                    (None, None) => c.start.to_string(),
                    (Some(e), None) => format!("{}-{e}", c.start),
                    (e, Some(st)) => format!("{}-{}/{st}", c.start, e.unwrap_or(max)),
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        let dow = if restricted_dow {
            (0..7)
                .filter(|i| self.weekdays[*i])
                .map(|i| ((i + 1) % 7).to_string())
                .collect::<Vec<_>>()
                .join(",")
        } else {
            "*".into()
        };
        Ok(format!(
            "{} {} {} {} {dow}",
            cron(&self.minutes, 59),
            cron(&self.hours, 23),
            cron(&self.days, 31),
            cron(&self.months, 12),
        ))
    }
}
