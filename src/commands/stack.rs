//! `strata stack`: options in, one library call per command, the closing summary and an
//! exit code out. Read-only commands (`status`, `history`) never take the lock.

use std::time::Duration;

use crate::cli::{EngineArgs, StackArgs, StackCommand, StateCommand};
use crate::config::Settings;
use crate::exit::ExitCode;
use crate::run::{Output, RunRequest};
use crate::stack::control::{self, AppAction};
use crate::stack::report::Report;
use crate::stack::{Stack, StackError, StackRequest, status, sync, transfer};

/// The one place stack options become a request. From `ansible.cfg` a stack takes
/// `roles_path`, `[privilege_escalation]` and the connection settings (`remote_user`,
/// `private_key_file`, `host_key_checking`, `timeout`, `[ssh_connection]`) and `forks`; its
/// hosts come from its instance source and its plays never gather facts, so `inventory` and
/// `gathering` do not apply.
fn request(file: &std::path::Path, e: Option<&EngineArgs>, s: &Settings) -> StackRequest {
    let mut req = StackRequest::new(file.to_path_buf(), command_line());
    req.run.roles_path = s.roles_path.clone();
    req.run.become_defaults = s.become_.clone();
    req.run.show_custom_stats = s.show_custom_stats;
    if let Some(e) = e {
        let mut run = req.run.clone();
        run.extra_vars = e.extra_vars.clone();
        run.check = e.check;
        run.diff = e.diff;
        run.tags = e.tags.clone();
        run.skip_tags = e.skip_tags.clone();
        run.forks = e
            .forks
            .map(|f| f as usize)
            .or(s.forks)
            .unwrap_or(RunRequest::DEFAULT_FORKS);
        run.verbosity = e.verbose;
        run.connect = super::connect_options(&e.ssh, s);
        run.flush_cache = e.flush_cache;
        run.strict = e.strict;
        req.run = run;
        req.attributes = e.attributes.clone();
        req.wait = Duration::from_secs(e.wait);
        req.output = Output::Stdout { json: e.json };
    }
    req
}

/// `strata stack ...` as typed, for the event log and the lock holder.
fn command_line() -> String {
    let mut args = std::env::args();
    let _ = args.next();
    let rest: Vec<String> = args.collect();
    format!("strata {}", rest.join(" "))
}

pub async fn run(args: StackArgs) -> ExitCode {
    match dispatch(args).await {
        Ok(code) => code,
        Err(e) => {
            match &e {
                StackError::Input(i) => eprint!("{}", i.render()),
                other => eprintln!("error: {other}"),
            }
            e.exit_code()
        }
    }
}

fn engine_of(c: &StackCommand) -> Option<&EngineArgs> {
    match c {
        StackCommand::Sync { engine, .. }
        | StackCommand::Configure { engine }
        | StackCommand::Run { engine, .. }
        | StackCommand::Start { engine, .. }
        | StackCommand::Stop { engine, .. }
        | StackCommand::Deploy { engine, .. }
        | StackCommand::Rollback { engine, .. }
        | StackCommand::Undeploy { engine, .. } => Some(engine),
        StackCommand::Status { .. } | StackCommand::History { .. } | StackCommand::State { .. } => {
            None
        }
    }
}

async fn dispatch(args: StackArgs) -> Result<ExitCode, StackError> {
    let engine = engine_of(&args.command);
    let json = engine.is_some_and(|e| e.json);
    let check = engine.is_some_and(|e| e.check);
    let Some(config) = super::config() else {
        return Ok(ExitCode::BadInput);
    };
    let mut req = request(&args.file, engine, &config.settings);
    if let StackCommand::State {
        command: StateCommand::Import { wait, .. },
    } = &args.command
    {
        req.wait = Duration::from_secs(*wait);
    }
    if let Some(e) = engine
        && let Err(err) = super::ask_passwords(&e.ssh, &mut req.run.connect)
    {
        eprintln!("error: cannot read the password: {err}");
        return Ok(ExitCode::Error);
    }
    let mut stack = Stack::open(req)?;
    let (title, report) = match &args.command {
        StackCommand::Status { json } => {
            let v = status::status(&stack.ctx.file, &stack.store)?;
            if *json {
                println!("{v}");
            } else {
                print!("{}", status::render_status(&v, &stack.ctx.file));
            }
            return Ok(ExitCode::Ok);
        }
        StackCommand::State { command } => {
            match command {
                StateCommand::Export { output } => {
                    let text = transfer::to_json(&transfer::export(&stack)?);
                    match output {
                        Some(p) => transfer::write_atomic(p, &text)?,
                        None => print!("{text}"),
                    }
                }
                StateCommand::Import {
                    dump: path, force, ..
                } => {
                    let dump = transfer::read(path)?;
                    transfer::import(&mut stack, &dump, *force)?;
                    eprintln!(
                        "imported {} instances, {} events, {} releases, {} job runs into {}",
                        dump.instances.len(),
                        dump.events.len(),
                        dump.releases.len(),
                        dump.job_runs.len(),
                        stack.store.describe()
                    );
                }
            }
            return Ok(ExitCode::Ok);
        }
        StackCommand::History { limit, json } => {
            let events = status::history(&stack.store, *limit)?;
            if *json {
                println!("{}", serde_json::to_string(&events).unwrap_or_default());
            } else {
                print!("{}", status::render_history(&events));
            }
            return Ok(ExitCode::Ok);
        }
        StackCommand::Sync { dry_run, watch, .. } => {
            let watch = watch.map(Duration::from_secs);
            let r = sync::sync(&mut stack, *dry_run, watch, |r| {
                if watch.is_some() {
                    print_summary("sync", r, json);
                }
            })
            .await?;
            if watch.is_some() {
                return Ok(r.exit_code());
            }
            ("sync", r)
        }
        StackCommand::Configure { .. } => {
            let d = stack.discover(false)?;
            ("configure", control::configure(&mut stack, &d).await?)
        }
        StackCommand::Run {
            event,
            layers,
            hosts,
            ..
        } => {
            let d = stack.discover(false)?;
            (
                "run",
                control::run(&mut stack, &d, event, layers, hosts).await?,
            )
        }
        StackCommand::Start { host, .. } => {
            let d = stack.discover(false)?;
            ("start", control::start(&mut stack, &d, host).await?)
        }
        StackCommand::Stop { host, .. } => {
            let d = stack.discover(false)?;
            ("stop", control::stop(&mut stack, &d, host).await?)
        }
        StackCommand::Deploy {
            app,
            revision,
            hosts,
            ..
        } => {
            let d = stack.discover(false)?;
            let r = control::app(
                &mut stack,
                &d,
                AppAction::Deploy,
                app,
                revision.as_deref(),
                hosts,
            );
            ("deploy", r.await?)
        }
        StackCommand::Rollback { app, .. } => {
            let d = stack.discover(false)?;
            (
                "rollback",
                control::app(&mut stack, &d, AppAction::Rollback, app, None, &[]).await?,
            )
        }
        StackCommand::Undeploy { app, .. } => {
            let d = stack.discover(false)?;
            (
                "undeploy",
                control::app(&mut stack, &d, AppAction::Undeploy, app, None, &[]).await?,
            )
        }
    };
    print_summary(title, &report, json);
    if check && !json {
        println!("(check mode: ran on a copy of the state; the stack's state is unchanged)");
    }
    Ok(report.exit_code())
}

fn print_summary(title: &str, r: &Report, json: bool) {
    if json {
        let mut v = serde_json::to_value(r).unwrap_or_default();
        v["event"] = serde_json::json!("stack_summary");
        v["command"] = serde_json::json!(title);
        println!("{v}");
    } else {
        print!("{}", r.render(title));
    }
}
