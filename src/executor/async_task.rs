//! `async:` and `poll:` on a task, as ansible-core's `TaskExecutor` runs them: the module's
//! work starts as a detached job on the host (see `modules::async_jobs`); with `poll: 0` the
//! launch result (`ansible_job_id`, `started`, not `finished`, `results_file`) is the task's
//! result; otherwise strata sleeps `poll` seconds between `async_status` checks until the
//! job finishes (its result, then the status file erased) or `async` seconds are used up
//! ("async task did not complete within the requested time", the job left running).

use std::time::Duration;

use minijinja::Value as JValue;
use serde_json::Value;

use super::context::PlayCtx;
use crate::modules::async_jobs;
use crate::modules::control::async_status::status;
use crate::modules::toolkit::async_job::{AsyncJob, async_dir};
use crate::modules::{Args, Module, ModuleCtx, ModuleError, ModuleResult};
use crate::playbook::model::{IntKw, Task};

/// Ansible's `DEFAULT_POLL_INTERVAL`.
const DEFAULT_POLL: u64 = 15;

/// One task's async settings, templated for this invocation.
pub struct AsyncRun {
    job: AsyncJob,
    poll: u64,
    written: String,
}

/// The task's `async` and `poll` for this invocation; `None` when the task runs in the
/// foreground (no `async`, or `async: 0`).
pub fn settings(pc: &PlayCtx, t: &Task, sc: &JValue) -> Result<Option<AsyncRun>, String> {
    let Some(a) = &t.async_ else { return Ok(None) };
    let limit = int(pc, &a.limit, sc, "async")?;
    if limit == 0 {
        return Ok(None);
    }
    let poll = match &a.poll {
        Some(p) => int(pc, p, sc, "poll")?,
        None => std::env::var("ANSIBLE_POLL_INTERVAL")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_POLL),
    };
    Ok(Some(AsyncRun {
        job: AsyncJob {
            limit,
            dir: async_dir(sc),
        },
        poll,
        written: a.written.clone(),
    }))
}

fn int(pc: &PlayCtx, kw: &IntKw, sc: &JValue, name: &str) -> Result<u64, String> {
    match kw {
        IntKw::Int(n) => Ok((*n).max(0) as u64),
        IntKw::Template(tx) => {
            let v = pc
                .templar
                .render_str(&tx.value, sc, &tx.span)
                .map_err(|e| e.message)?;
            let s = crate::values::to_str(&v).unwrap_or_else(|| v.to_string());
            s.trim()
                .parse::<u64>()
                .map_err(|_| format!("Failed to convert the {name} value to an integer: {s}"))
        }
    }
}

/// Runs `module` as an async job and, unless `poll: 0`, waits for it.
pub async fn run(
    module: &dyn Module,
    ctx: &ModuleCtx<'_>,
    args: &Args,
    a: &AsyncRun,
) -> Result<ModuleResult, ModuleError> {
    let name = module.spec().name;
    let Some(launch) = async_jobs::launch(name, ctx, args, &a.job) else {
        return Ok(ModuleResult::failed(async_jobs::refusal(name, &a.written)));
    };
    let started = launch.await?;
    if a.poll == 0 || started.failed || started.skipped {
        return Ok(started);
    }
    let Some(jid) = started.data.get("ansible_job_id").and_then(Value::as_str) else {
        return Ok(ModuleResult::failed(
            "No job id was returned by the async task",
        ));
    };
    let dir = &a.job.dir;
    let mut left = a.job.limit as i64;
    let mut last: Option<ModuleResult> = None;
    while left > 0 {
        tokio::time::sleep(Duration::from_secs(a.poll)).await;
        left -= a.poll as i64;
        match status(ctx, jid, false, dir).await {
            // A dropped connection or a rebooting host is retried until the time is up.
            Err(_) if left > 0 => continue,
            Err(e) => return Err(e),
            Ok(s) => {
                let done = finished(&s) || s.failed || s.skipped;
                last = Some(s);
                if done {
                    break;
                }
            }
        }
    }
    let last = last.unwrap_or_else(ModuleResult::ok);
    if !finished(&last) {
        let mut r = ModuleResult::failed(format!(
            "async task did not complete within the requested time - {}s",
            a.job.limit
        ));
        r.data.insert("async_result".into(), last.to_value());
        return Ok(r);
    }
    // Ansible erases the status file of a job it saw finish.
    status(ctx, jid, true, dir).await?;
    Ok(last)
}

fn finished(r: &ModuleResult) -> bool {
    r.data.get("finished") == Some(&Value::Bool(true))
}
