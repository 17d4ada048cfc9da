//! Async jobs on the host, as Ansible's `async_wrapper` runs them, without Python: the job's
//! script is written beside its status file in the async directory (`~/.ansible_async` by
//! default) and started by a runner in a session of its own (`setsid`), so it does not hang
//! on the SSH channel and survives the connection and strata itself. The status file holds
//! Ansible's JSON: `{"started": true, "finished": false, "ansible_job_id": ...}` while the job
//! runs, then the module's result (built on the host by `async_run.sh`, since nobody is there
//! to read the output when `poll: 0`), or `Timeout exceeded` once the time limit killed it.
//! `async_status` reads that file.

use serde_json::{Map, Value};

use crate::modules::{ModuleCtx, ModuleError, ModuleResult};
use crate::shell::sh_quote;

const LAUNCH: &str = include_str!("async_launch.sh");
const RUN: &str = include_str!("async_run.sh");

/// Ansible's default `async_dir` (`ansible_async_dir`, `ANSIBLE_ASYNC_DIR`).
pub const DEFAULT_DIR: &str = "~/.ansible_async";

/// Where and for how long one async task's job runs.
#[derive(Clone, Debug)]
pub struct AsyncJob {
    /// Seconds before the job is killed (`async:`).
    pub limit: u64,
    /// The async directory as configured; `~` is the remote user's home.
    pub dir: String,
}

/// What the host runs and how it turns the job's output into the module's result.
pub struct Detached {
    /// The module's script, as it would run in the foreground.
    pub script: String,
    pub stdin: Option<Vec<u8>>,
    /// When the job prints exactly this text, its result is this (a module's prelude
    /// reporting a `creates` skip, a failed `chdir`, ...).
    pub stops: Vec<(String, ModuleResult)>,
    /// The keys of a command that ran, besides those the host adds (`rc`, `start`, `end`,
    /// `delta`, `msg`, `failed`, `stdout`, `stderr`).
    pub ran: Map<String, Value>,
    /// Trailing newlines are stripped from stdout and stderr (`strip_empty_ends`).
    pub strip: bool,
}

/// The async directory for a task: `ansible_async_dir`, else `$ANSIBLE_ASYNC_DIR` on the
/// controller, else `~/.ansible_async`, as Ansible's shell plugin option resolves it.
pub fn async_dir(vars: &minijinja::Value) -> String {
    vars.get_attr("ansible_async_dir")
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_none())
        .map(|v| v.to_string())
        .or_else(|| std::env::var("ANSIBLE_ASYNC_DIR").ok())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| DEFAULT_DIR.into())
}

/// The directory as a shell word: a leading `~/` is the remote user's `$HOME`.
pub fn dir_word(dir: &str) -> String {
    match dir.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", sh_quote(rest)),
        None if dir == "~" => "\"$HOME\"".into(),
        None => sh_quote(dir),
    }
}

/// The result's JSON text, as the status file holds it.
fn result_json(r: &ModuleResult) -> String {
    r.to_value().to_string()
}

/// The runner script for one job: its settings, then `async_run.sh`.
fn runner(job: &AsyncJob, d: &Detached) -> String {
    let mut ran = serde_json::to_string(&Value::Object(d.ran.clone())).unwrap_or_default();
    // The host appends its own keys to the object: `{"changed": true, ` + `"rc": ...}`.
    ran.pop();
    if ran.len() > 1 {
        ran.push_str(", ");
    }
    let mut s = format!(
        "__limit={}\n__strip={}\n__ran={}\n__nstop={}\n",
        job.limit,
        u8::from(d.strip),
        sh_quote(&ran),
        d.stops.len()
    );
    for (i, (text, r)) in d.stops.iter().enumerate() {
        s.push_str(&format!(
            "__stop_{n}={}\n__res_{n}={}\n",
            sh_quote(text),
            sh_quote(&result_json(r)),
            n = i + 1
        ));
    }
    s.push_str(RUN);
    s
}

/// The launch script: settings, then `async_launch.sh`.
fn launch_script(job: &AsyncJob, d: &Detached, jid: &str) -> String {
    format!(
        "__dir={}\n__jid={}\n__job={}\n__runner={}\n__stdin={}\n{LAUNCH}",
        dir_word(&job.dir),
        sh_quote(jid),
        sh_quote(&d.script),
        sh_quote(&runner(job, d)),
        u8::from(d.stdin.is_some()),
    )
}

/// Starts the job and returns at once with Ansible's launch result: `started`, not
/// `finished`, the job id (`j<random>.<pid>`, as Ansible's) and the status file.
pub async fn launch(
    ctx: &ModuleCtx<'_>,
    job: &AsyncJob,
    d: Detached,
) -> Result<ModuleResult, ModuleError> {
    let jid = format!("j{}", rand::random::<u64>() % 999_999_999_999);
    let out = ctx
        .run(&launch_script(job, &d, &jid), d.stdin.as_deref())
        .await?;
    let text = out.stdout_str();
    let line = text.lines().last().unwrap_or_default();
    if let Some(rest) = line.strip_prefix("started ")
        && let Some((jid, file)) = rest.split_once(' ')
    {
        return Ok(ModuleResult::changed(true)
            .with("started", true)
            .with("finished", false)
            .with("ansible_job_id", jid)
            .with("results_file", file));
    }
    Ok(match line.strip_prefix("mkdir ") {
        Some(dir) => ModuleResult::failed(format!("could not create directory: {dir}")),
        None => ModuleResult::failed(format!(
            "could not start the async job (rc {}): {}",
            out.rc,
            out.stderr_str().trim()
        )),
    })
}

#[cfg(test)]
mod tests;
