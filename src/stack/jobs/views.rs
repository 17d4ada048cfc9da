//! The read-only views: `strata jobs list` (each job, its schedule, next and last run) and
//! `strata jobs history` (the recorded runs). Neither takes a lock.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::spec::{Job, Targets};
use crate::stack::clock;
use crate::stack::file::StackFile;
use crate::stack::state::{JobRun, StateError, StateStore};
use crate::stack::status::table;

fn targets(j: &Job) -> (&'static str, &[String]) {
    match &j.targets {
        Targets::Layers(l) => ("layers", l),
        Targets::Hosts(h) => ("hosts", h),
    }
}

/// One object per job, in the stack file's order.
pub fn list(file: &StackFile, store: &dyn StateStore) -> Result<Vec<Value>, StateError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut out = Vec::new();
    for j in &file.jobs {
        let last = store.job_runs(Some(&j.name), 1)?.into_iter().next();
        let next = j
            .calendar
            .next_after(now)
            .map(|t| clock::format_rfc3339(UNIX_EPOCH + std::time::Duration::from_secs(t as u64)));
        let (kind, names) = targets(j);
        out.push(json!({
            "name": j.name,
            "run": j.event,
            kind: names,
            "schedule": j.schedule,
            "on_calendar": j.calendar.on_calendar(),
            "timeout": j.timeout.map(|t| t.as_secs()),
            "overlap": j.overlap.as_str(),
            "next_run": next,
            "last_run": last.as_ref().map(|r| json!({
                "id": r.id, "started": r.started, "ended": r.ended,
                "result": r.result, "exit_code": r.exit_code,
            })),
            "running": store.job_holder(&j.name)?.map(|h| json!({"pid": h.pid, "host": h.host, "since": h.since})),
        }));
    }
    Ok(out)
}

pub fn render_list(jobs: &[Value]) -> String {
    let mut rows = vec![
        [
            "JOB",
            "RUNS",
            "ON",
            "SCHEDULE",
            "NEXT RUN (UTC)",
            "LAST RUN",
            "RESULT",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    for j in jobs {
        let on = j
            .get("layers")
            .or_else(|| j.get("hosts"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let result = if j["running"].is_object() {
            "running".to_string()
        } else {
            s(&j["last_run"]["result"])
        };
        rows.push(vec![
            s(&j["name"]),
            s(&j["run"]),
            on,
            s(&j["schedule"]),
            s(&j["next_run"]),
            s(&j["last_run"]["started"]),
            result,
        ]);
    }
    if jobs.is_empty() {
        return "no jobs: add a `jobs:` section to the stack file\n".into();
    }
    table(&rows, "")
}

/// Hosts by outcome from a recap, e.g. `maint1 ok`, `zeo1 failed`.
fn hosts_summary(recap: &Value) -> String {
    let Some(m) = recap.as_object() else {
        return "-".into();
    };
    if m.is_empty() {
        return "-".into();
    }
    m.iter()
        .map(|(h, s)| {
            let n = |k: &str| s.get(k).and_then(Value::as_u64).unwrap_or(0);
            let word = if n("failures") + n("failed") > 0 {
                "failed"
            } else if n("unreachable") > 0 {
                "unreachable"
            } else {
                "ok"
            };
            format!("{h} {word}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn render_history(runs: &[JobRun]) -> String {
    let mut rows = vec![
        [
            "ID", "JOB", "RESULT", "EXIT", "STARTED", "ENDED", "HOSTS", "LOG",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in runs {
        rows.push(vec![
            format!("#{}", r.id),
            r.job.clone(),
            r.result.as_str().to_string(),
            r.exit_code.map_or("-".into(), |c| c.to_string()),
            r.started.clone(),
            r.ended.clone().unwrap_or_else(|| "-".into()),
            hosts_summary(&r.recap),
            r.log.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    table(&rows, "")
}
