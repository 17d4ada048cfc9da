//! `strata jobs`: options in, one library call per command (`stack::jobs`), a message and
//! an exit code out. `list` and `history` never take a lock.
//!
//! Exit codes of `jobs run`: 0 when the run succeeded or was skipped by its overlap policy;
//! the event's own code when it failed (2 a host failed, 4 unreachable, 5 bad input, 6 the
//! stack stayed busy); 124 when it was killed at its timeout; 5 for an unknown job or a bad
//! stack file; 1 when strata itself failed (state, log file).

use std::path::{Path, PathBuf};

use crate::cli::{JobsArgs, JobsCommand};
use crate::exit::ExitCode;
use crate::playbook::suggest::did_you_mean;
use crate::stack::file::{self, StackFile};
use crate::stack::jobs::install::{self, InstallError, Scheduler};
use crate::stack::jobs::run::{self, RunError};
use crate::stack::jobs::views;
use crate::stack::plays;
use crate::stack::state::{JobResult, StateBackend, StateError};
use crate::template::Templar;

pub fn run(args: JobsArgs) -> i32 {
    match dispatch(&args) {
        Ok(code) => code,
        Err(msg) => {
            if !msg.0.is_empty() {
                eprintln!("error: {}", msg.0);
            }
            msg.1 as i32
        }
    }
}

/// An error message and its exit code.
struct Fail(String, ExitCode);

impl From<StateError> for Fail {
    fn from(e: StateError) -> Fail {
        let code = match e {
            StateError::Busy(_) => ExitCode::Busy,
            _ => ExitCode::Error,
        };
        Fail(e.to_string(), code)
    }
}

fn load(path: &Path) -> Result<StackFile, Fail> {
    file::load(path).map_err(|e| {
        // Rendered like rustc, as every input error, which says all there is to say.
        eprint!("{}", e.render());
        Fail(String::new(), ExitCode::BadInput)
    })
}

/// The stack's state, in the backend `strata stack` would use (`state:` or
/// `$STRATA_STATE_URL`).
fn open_store(f: &StackFile) -> Result<StateBackend, Fail> {
    let loc = f
        .resolved_state_location()
        .map_err(|e| Fail(e, ExitCode::BadInput))?;
    Ok(StateBackend::open(&loc, &f.name)?)
}

/// `strata jobs ...` as typed, for the job lock's holder and the history.
fn command_line() -> String {
    let rest: Vec<String> = std::env::args().skip(1).collect();
    format!("strata {}", rest.join(" "))
}

/// This binary, by absolute path: timers and crontab lines run it without a `PATH`.
fn exe() -> Result<PathBuf, Fail> {
    std::env::current_exe().map_err(|e| {
        Fail(
            format!("cannot find the strata binary's path: {e}"),
            ExitCode::Error,
        )
    })
}

fn dispatch(args: &JobsArgs) -> Result<i32, Fail> {
    let f = load(&args.file)?;
    match &args.command {
        JobsCommand::List { json } => {
            let store = open_store(&f)?;
            let jobs = views::list(&f, &store)?;
            if *json {
                println!("{}", serde_json::Value::Array(jobs));
            } else {
                print!("{}", views::render_list(&jobs));
            }
            Ok(0)
        }
        JobsCommand::History { name, limit, json } => {
            if let Some(n) = name {
                known(&f, n)?;
            }
            let store = open_store(&f)?;
            let runs = store_runs(&store, name.as_deref(), *limit)?;
            if *json {
                println!("{}", serde_json::to_string(&runs).unwrap_or_default());
            } else {
                print!("{}", views::render_history(&runs));
            }
            Ok(0)
        }
        JobsCommand::Run { name } => {
            let job = known(&f, name)?;
            check_roles(&f)?;
            let mut store = open_store(&f)?;
            let out = match run::run(&f, &mut store, job, &exe()?, &command_line()) {
                Ok(o) => o,
                Err(RunError::State(e)) => return Err(e.into()),
                Err(RunError::Io(e)) => return Err(Fail(e, ExitCode::Error)),
            };
            for id in &out.aborted {
                eprintln!(
                    "[WARNING]: run #{id} of job {name} was left running by a process that died; marked aborted"
                );
            }
            if let Some(note) = &out.note {
                println!("{note}");
                return Ok(0);
            }
            let log = out
                .log
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            println!(
                "job {name}: {} (exit {}) in {}s, run #{}; log {log}",
                out.result,
                out.exit_code,
                out.elapsed.as_secs(),
                out.id
            );
            if out.result != JobResult::Ok
                && let Some(p) = &out.log
            {
                eprint!("{}", tail(p, 20));
            }
            match &out.hook {
                Some(Err(e)) => eprintln!("[WARNING]: on_failure of job {name}: {e}"),
                Some(Ok(st)) if !st.success() => {
                    eprintln!("[WARNING]: on_failure of job {name} exited {st}")
                }
                _ => {}
            }
            Ok(out.exit_code)
        }
        JobsCommand::Install { user } => {
            check_roles(&f)?;
            let report =
                install::install(&f, &Scheduler::detect(*user), &exe()?).map_err(install_fail)?;
            for l in report {
                println!("{l}");
            }
            Ok(0)
        }
        JobsCommand::Uninstall { user } => {
            let report = install::uninstall(&f, &Scheduler::detect(*user)).map_err(install_fail)?;
            if report.is_empty() {
                println!("nothing installed for stack {}", f.name);
            }
            for l in report {
                println!("{l}");
            }
            Ok(0)
        }
    }
}

fn store_runs(
    store: &StateBackend,
    name: Option<&str>,
    limit: usize,
) -> Result<Vec<crate::stack::state::JobRun>, Fail> {
    use crate::stack::state::StateStore;
    Ok(store.job_runs(name, limit)?)
}

fn install_fail(e: InstallError) -> Fail {
    let code = match e {
        InstallError::Unsupported(_) => ExitCode::BadInput,
        InstallError::Failed(_) => ExitCode::Error,
    };
    Fail(e.to_string(), code)
}

/// The job named on the command line, or an error naming the jobs there are.
/// The stack's roles and every job's event, checked as `strata stack` checks them, so that a
/// run that could only fail at once is refused before it is recorded, and no timer is
/// installed for a job that cannot run.
fn check_roles(f: &StackFile) -> Result<(), Fail> {
    let Some(config) = super::config() else {
        return Err(Fail(String::new(), ExitCode::BadInput));
    };
    let opts = plays::load_options(f, &config.settings.roles_path);
    plays::validate(f, &opts, &Templar::new()).map_err(|e| {
        eprint!("{}", e.render());
        Fail(String::new(), ExitCode::BadInput)
    })
}

fn known<'f>(f: &'f StackFile, name: &str) -> Result<&'f crate::stack::jobs::spec::Job, Fail> {
    if let Some(j) = f.job(name) {
        return Ok(j);
    }
    let names: Vec<&str> = f.jobs.iter().map(|j| j.name.as_str()).collect();
    let mut msg = format!(
        "the stack `{}` ({}) has no job `{name}`",
        f.name,
        f.path.display()
    );
    match did_you_mean(name, names.iter().copied()) {
        Some(h) => msg.push_str(&format!("; {h}")),
        None if names.is_empty() => msg.push_str("; it defines no `jobs:`"),
        None => msg.push_str(&format!("; jobs: {}", names.join(", "))),
    }
    Err(Fail(msg, ExitCode::BadInput))
}

/// The last `n` lines of a log, for the terminal or journal when a run fails.
fn tail(p: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(n);
    let mut out = lines[from..].join("\n");
    out.push('\n');
    out
}
