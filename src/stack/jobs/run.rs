//! `strata jobs run NAME`: one run of a job, supervised.
//!
//! The run is the event `strata stack -f FILE run EVENT --layer L...` in a **child process**
//! of its own process group, its output going straight to the run's log file. A child
//! rather than the event in this process, because "killed past `timeout`" must be true:
//! killing a process group ends every task, connection and helper of the event, and the
//! kernel releases the stack lock the child holds, whereas cancelling futures in-process
//! cannot stop a blocking call and would leave the log with whatever the reporter had
//! buffered. At the deadline the group gets SIGINT (the event records itself
//! `interrupted`), then SIGKILL after [`KILL_GRACE`]. The child dies with this process
//! (`PR_SET_PDEATHSIG`), so a SIGKILLed supervisor leaves neither an orphaned event holding
//! the stack lock nor a held job lock; its `running` row becomes `aborted` at the next run.
//!
//! The per-host recap is read back from the event row the child wrote: the child's command
//! line carries `-e strata_job_run=<id>`, which makes it unique and lets the tasks know the
//! run they belong to.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use super::spec::{Job, Overlap, Targets};
use crate::stack::clock;
use crate::stack::file::StackFile;
use crate::stack::state::{EventResult, Holder, JobResult, LockGuard, StateError, StateStore};

/// Logs kept per job; older ones are removed after each run.
pub const KEEP_LOGS: usize = 50;
/// `strata jobs run`'s exit code for a run killed at its timeout, as timeout(1).
pub const TIMED_OUT_EXIT: i32 = 124;
/// For a run stopped by a signal to the supervisor: strata's "interrupted".
const INTERRUPTED_EXIT: i32 = crate::exit::ExitCode::Interrupted as i32;
/// Between SIGINT and SIGKILL at the timeout: long enough for the event to record itself.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// "Wait for ever" for a lock, in a form `Duration` arithmetic and `--wait` both accept.
const FOREVER: Duration = Duration::from_secs(10 * 365 * 86_400);
const POLL: Duration = Duration::from_millis(100);

/// How a run ended, for the adapter to print and turn into an exit code.
#[derive(Debug)]
pub struct Outcome {
    pub id: i64,
    pub result: JobResult,
    pub exit_code: i32,
    pub log: Option<PathBuf>,
    /// Why it was skipped, one line.
    pub note: Option<String>,
    /// Runs of this job left `running` by a supervisor that died, now `aborted`.
    pub aborted: Vec<i64>,
    /// The event the child recorded.
    pub event: Option<i64>,
    /// `on_failure`'s exit status, when it ran.
    pub hook: Option<Result<ExitStatus, String>>,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{0}")]
    Io(String),
}

/// Where a job's logs go: `<state dir>/jobs/<stack>/<job>/`.
pub fn log_dir(file: &StackFile, job: &str) -> PathBuf {
    file.state_dir.join("jobs").join(&file.name).join(job)
}

/// The `strata stack` arguments of the event a run starts (after the binary).
pub fn child_args(file: &StackFile, job: &Job, run_id: i64) -> Vec<String> {
    let abs = std::path::absolute(&file.path).unwrap_or_else(|_| file.path.clone());
    let mut a: Vec<String> = vec![
        "stack".into(),
        "-f".into(),
        abs.to_string_lossy().into_owned(),
        "run".into(),
        job.event.clone(),
    ];
    let (flag, names) = match &job.targets {
        Targets::Layers(l) => ("--layer", l),
        Targets::Hosts(h) => ("--host", h),
    };
    for n in names {
        a.push(flag.into());
        a.push(n.clone());
    }
    // The stack lock is waited for within the job's timeout (the supervisor kills the run
    // at the deadline anyway); without a timeout, as long as it takes.
    let wait = job.timeout.unwrap_or(FOREVER).as_secs().max(1);
    a.extend([
        "--wait".into(),
        wait.to_string(),
        "-e".into(),
        format!("strata_job={}", job.name),
        "-e".into(),
        format!("strata_job_run={run_id}"),
    ]);
    a
}

/// Takes the job's lock as `overlap` says; `Err(note)` when this run is to be skipped.
fn acquire(
    store: &dyn StateStore,
    job: &Job,
    holder: &Holder,
) -> Result<Result<Box<dyn LockGuard>, String>, StateError> {
    let busy = |h: &Holder| {
        format!(
            "job `{}` is already running (pid {} on {}, since {})",
            job.name, h.pid, h.host, h.since
        )
    };
    let first = match job.overlap {
        Overlap::Wait => FOREVER,
        Overlap::Skip | Overlap::Queue => Duration::ZERO,
    };
    let running = match store.job_lock(&job.name, holder, first) {
        Ok(g) => return Ok(Ok(g)),
        Err(StateError::Busy(h)) => h,
        Err(e) => return Err(e),
    };
    if job.overlap == Overlap::Skip {
        return Ok(Err(format!("{}; skipped (overlap: skip)", busy(&running))));
    }
    // queue: one run may wait behind the running one; whoever holds `<job>.queue` is it.
    let queue = match store.job_lock(&format!("{}.queue", job.name), holder, Duration::ZERO) {
        Ok(q) => q,
        Err(StateError::Busy(_)) => {
            return Ok(Err(format!(
                "{} and another run is queued; skipped (overlap: queue)",
                busy(&running)
            )));
        }
        Err(e) => return Err(e),
    };
    let g = store.job_lock(&job.name, holder, FOREVER)?;
    drop(queue);
    Ok(Ok(g))
}

/// Runs `job` now: lock, record, supervise the event, record the end, `on_failure`, prune.
pub fn run(
    file: &StackFile,
    store: &mut dyn StateStore,
    job: &Job,
    exe: &Path,
    command: &str,
) -> Result<Outcome, RunError> {
    let holder = Holder {
        pid: std::process::id(),
        command: command.to_string(),
        since: clock::now_rfc3339(),
        host: crate::stack::open::hostname(),
    };
    let started = Instant::now();
    let guard = match acquire(store, job, &holder)? {
        Ok(g) => g,
        Err(note) => {
            let id = store.begin_job_run(&job.name, None, &holder)?;
            store.finish_job_run(
                id,
                JobResult::Skipped,
                Some(0),
                &Value::Object(Default::default()),
                None,
            )?;
            return Ok(Outcome {
                id,
                result: JobResult::Skipped,
                exit_code: 0,
                log: None,
                note: Some(note),
                aborted: Vec::new(),
                event: None,
                hook: None,
                elapsed: started.elapsed(),
            });
        }
    };
    // Skipped-run notes and `holder()` name when this run started running, not when it began
    // to wait for the lock.
    let holder = Holder {
        since: clock::now_rfc3339(),
        ..holder
    };
    let aborted = store.abort_running_jobs(&job.name)?;
    // The timeout counts from here: waiting for another run of the job (`wait`, `queue`) is
    // not this run's time, waiting for the stack lock is.
    let started = Instant::now();
    let dir = log_dir(file, &job.name);
    fs::create_dir_all(&dir)
        .map_err(|e| RunError::Io(format!("creating {}: {e}", dir.display())))?;
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let log = dir.join(format!(
        "{}-{}.log",
        clock::release_id_at(SystemTime::now()),
        holder.pid
    ));
    // Private: the event's output may show what its tasks read and wrote.
    let mut logf = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&log)
        .map_err(|e| RunError::Io(format!("creating {}: {e}", log.display())))?;
    let id = store.begin_job_run(&job.name, Some(&log.to_string_lossy()), &holder)?;
    let args = child_args(file, job, id);
    let child_command = format!("strata {}", args.join(" "));
    let _ = writeln!(
        logf,
        "# strata jobs run {} (run #{id}) at {}: {child_command}",
        job.name, holder.since
    );
    let newest_before = store.events(1)?.first().map_or(0, |e| e.id);

    let (status, ending) = match supervise(exe, &args, &logf, job.timeout) {
        Ok(x) => x,
        Err(e) => {
            let _ = writeln!(logf, "# {e}");
            store.finish_job_run(
                id,
                JobResult::Failed,
                Some(1),
                &Value::Object(Default::default()),
                None,
            )?;
            return Err(RunError::Io(e));
        }
    };
    let event = store
        .events(50)?
        .into_iter()
        .find(|e| e.id > newest_before && e.command == child_command);
    if ending != Ending::Finished
        && event
            .as_ref()
            .is_some_and(|e| e.result == EventResult::Running)
    {
        // Killed before it could record its end: mark it aborted now, as the next stack
        // command would. If another command took the stack lock meanwhile, it did so.
        if let Ok(g) = store.lock(&holder, Duration::from_secs(2)) {
            let _ = store.abort_running();
            drop(g);
        }
    }
    let (result, exit_code) = match ending {
        Ending::TimedOut => {
            let _ = writeln!(
                logf,
                "# killed: past the job's timeout of {}",
                super::span::render(job.timeout.unwrap_or_default())
            );
            (JobResult::TimedOut, TIMED_OUT_EXIT)
        }
        Ending::Interrupted(sig) => {
            let _ = writeln!(logf, "# stopped: strata jobs run received signal {sig}");
            (JobResult::Interrupted, INTERRUPTED_EXIT)
        }
        Ending::Finished => match status.code() {
            Some(0) => (JobResult::Ok, 0),
            Some(c) => (JobResult::Failed, c),
            None => (JobResult::Failed, 1),
        },
    };
    let recap = event
        .as_ref()
        .map_or_else(|| Value::Object(Default::default()), |e| e.recap.clone());
    let event_id = event.as_ref().map(|e| e.id);
    store.finish_job_run(id, result, Some(exit_code), &recap, event_id)?;
    drop(logf);
    prune(&dir, KEEP_LOGS);
    // The lock goes before the hook: a hook that hangs (a mail command waiting on its MTA)
    // must not turn every later run into a silent `skip`.
    drop(guard);
    let hook = match (&job.on_failure, result) {
        (Some(cmd), JobResult::Failed | JobResult::TimedOut | JobResult::Interrupted) => {
            Some(on_failure(cmd, &job.name, exit_code, &log))
        }
        _ => None,
    };
    Ok(Outcome {
        id,
        result,
        exit_code,
        log: Some(log),
        note: None,
        aborted,
        event: event_id,
        hook,
        elapsed: started.elapsed(),
    })
}

/// Why the supervised event ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// On its own.
    Finished,
    /// Stopped at the job's timeout.
    TimedOut,
    /// Stopped because the supervisor received this signal.
    Interrupted(i32),
}

/// Starts the event and waits for it, stopping its process group past `timeout` or when this
/// process is told to stop; returns its status and why it ended.
fn supervise(
    exe: &Path,
    args: &[String],
    log: &File,
    timeout: Option<Duration>,
) -> Result<(ExitStatus, Ending), String> {
    let io = |e: std::io::Error| format!("cannot start {}: {e}", exe.display());
    let parent = std::process::id();
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(io)?)
        .stderr(log.try_clone().map_err(io)?)
        .process_group(0);
    // SAFETY: only async-signal-safe calls (prctl, getppid, raise) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Die with the supervisor, whatever kills it.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() as u32 != parent {
                libc::raise(libc::SIGKILL);
            }
            Ok(())
        });
    }
    super::signals::catch();
    let mut child = cmd.spawn().map_err(io)?;
    let pgid = child.id() as libc::pid_t;
    let deadline = timeout.map(|t| Instant::now() + t);
    let ending = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok((st, Ending::Finished));
        }
        if let Some(sig) = super::signals::received() {
            break Ending::Interrupted(sig);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break Ending::TimedOut;
        }
        sleep(POLL);
    };
    signal_group(pgid, libc::SIGINT);
    let grace = Instant::now() + KILL_GRACE;
    while Instant::now() < grace {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            // Whatever it left in its group goes too.
            signal_group(pgid, libc::SIGKILL);
            return Ok((st, ending));
        }
        sleep(POLL);
    }
    signal_group(pgid, libc::SIGKILL);
    let st = child.wait().map_err(|e| e.to_string())?;
    Ok((st, ending))
}

fn signal_group(pgid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill takes plain integers; a group that is gone gives ESRCH, which is fine.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

/// `on_failure` through `/bin/sh -c`, with the job's name, exit code and log in its
/// environment; its own output goes where `strata jobs run`'s goes (the journal under
/// systemd).
fn on_failure(cmd: &str, job: &str, exit: i32, log: &Path) -> Result<ExitStatus, String> {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .env("STRATA_JOB", job)
        .env("STRATA_JOB_EXIT", exit.to_string())
        .env("STRATA_JOB_LOG", log)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run /bin/sh: {e}"))
}

/// Keeps the newest `keep` `.log` files of a job's directory (names sort by start time).
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut logs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    let extra = logs.len().saturating_sub(keep);
    for p in &logs[..extra] {
        let _ = fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_the_newest_logs() {
        let dir = crate::scratch::root().join(format!("strata-prune-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for i in 0..55 {
            fs::write(dir.join(format!("20261204T1000{i:02}Z-1.log")), "x").unwrap();
        }
        fs::write(dir.join("notes.txt"), "kept").unwrap();
        prune(&dir, KEEP_LOGS);
        let mut left: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), 51);
        assert_eq!(left[0], "20261204T100005Z-1.log");
        assert!(left.contains(&"notes.txt".to_string()));
        let _ = fs::remove_dir_all(&dir);
    }
}
