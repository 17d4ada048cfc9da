//! `strata lab ...`: thin wrappers over `crate::lab`, plus `demo` (`demo.rs`), which brings
//! hosts up and runs the Plone stack (or a playbook) on them in one command.

use std::path::PathBuf;

use crate::cli::{LabArgs, LabCommand};
use crate::demo::{self, DemoOptions};
use crate::exit::ExitCode;
use crate::lab::cache::{self, CacheOptions};
use crate::lab::{self, Demo, LabOptions, serve};
use crate::run::{self, Output, RunRequest};

pub async fn run(args: LabArgs) -> ExitCode {
    let opts = LabOptions {
        name: args.name.clone(),
        dir: args.dir.clone(),
    };
    let res: Result<ExitCode, Box<dyn std::error::Error>> = match args.command {
        LabCommand::Up { n, hosts, systemd } => {
            let names = if hosts.is_empty() {
                lab::default_names(0, n.unwrap_or(0))
            } else {
                hosts
            };
            let o = opts.clone();
            blocking(move || lab::up_named(&o, &names, systemd))
                .await
                .map(|state| print_lab(&state))
        }
        LabCommand::Add { n, hosts } => {
            let o = opts.clone();
            blocking(move || {
                let names = if hosts.is_empty() {
                    let existing = lab::status(&o)?.hosts.len();
                    lab::default_names(existing, n.unwrap_or(0))
                } else {
                    hosts
                };
                lab::add(&o, &names)
            })
            .await
            .map(|state| print_lab(&state))
        }
        LabCommand::Down => lab::down(&opts).map(|_| ExitCode::Ok).map_err(Into::into),
        LabCommand::Status => lab::status(&opts)
            .map(|s| {
                println!("{s}");
                ExitCode::Ok
            })
            .map_err(Into::into),
        LabCommand::Inventory { output } => match output {
            Some(p) => lab::inventory_to(&opts, &p).map(|_| ExitCode::Ok),
            None => lab::inventory_yaml(&opts).map(|y| {
                print!("{y}");
                ExitCode::Ok
            }),
        }
        .map_err(Into::into),
        LabCommand::Stop { host } => lab::stop_host(&opts, &host)
            .map(|_| ExitCode::Ok)
            .map_err(Into::into),
        LabCommand::Start { host } => lab::start_host(&opts, &host)
            .map(|_| ExitCode::Ok)
            .map_err(Into::into),
        LabCommand::Cache { cache_dir } => {
            let c = CacheOptions {
                dir: cache_dir,
                ..CacheOptions::default()
            };
            blocking(move || cache::build(&c, &mut |line| println!("{line}")))
                .await
                .map(|_| ExitCode::Ok)
        }
        LabCommand::Serve {
            cache_dir,
            foreground: true,
        } => serve::foreground(&opts, &cache_dir)
            .await
            .map(|_| ExitCode::Ok)
            .map_err(Into::into),
        LabCommand::Serve { cache_dir, .. } => start_server(&opts, cache_dir).await,
        LabCommand::Demo {
            playbook: Some(book),
            hosts,
            ..
        } => {
            return demo_playbook(&opts, hosts.unwrap_or(Demo::PLAYBOOK_HOSTS), book).await;
        }
        LabCommand::Demo {
            playbook: None,
            cache_dir,
            ..
        } => return demo_stack(opts, cache_dir).await,
    };
    match res {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::Error
        }
    }
}

fn print_lab(state: &lab::LabState) -> ExitCode {
    println!("{state}");
    ExitCode::Ok
}

/// Blocking lab work (waiting for hosts, downloading packages) off the async runtime.
async fn blocking<T: Send + 'static, E: Into<Box<dyn std::error::Error>> + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, Box<dyn std::error::Error>> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(Into::into),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// `lab serve`: starts the background server (this binary) and says where it is.
async fn start_server(
    opts: &LabOptions,
    cache_dir: PathBuf,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let o = opts.clone();
    let dir = cache_dir.clone();
    let pid = blocking(move || serve::start(&o, &exe, &dir)).await?;
    let state = lab::status(opts)?;
    println!(
        "serving {} at {} (pid {pid}, until `strata lab down`)",
        cache_dir.display(),
        serve::url(&state)
    );
    Ok(ExitCode::Ok)
}

/// The README's first command (see `demo.rs`).
async fn demo_stack(lab: LabOptions, cache_dir: PathBuf) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot find the strata binary: {e}");
            return ExitCode::Error;
        }
    };
    let opts = DemoOptions {
        lab,
        cache: CacheOptions {
            dir: cache_dir,
            ..CacheOptions::default()
        },
        exe,
        verbose_sync: true,
    };
    match demo::plone(&opts).await {
        Ok(outcome) => {
            demo::print_outcome(&outcome, &opts.lab);
            ExitCode::Ok
        }
        Err(e) => {
            e.report();
            e.exit_code()
        }
    }
}

/// `lab demo --playbook`: brings up `n` hosts (reusing a running lab of that size) and runs
/// `playbook` on them.
async fn demo_playbook(opts: &LabOptions, n: usize, playbook: PathBuf) -> ExitCode {
    let running = lab::status(opts).map(|s| s.hosts.len()).unwrap_or(0);
    if running != n {
        let _ = lab::down(opts);
        let o = opts.clone();
        if let Err(e) = blocking(move || lab::up(&o, n, false)).await {
            eprintln!("error: {e}");
            return ExitCode::Error;
        }
    }
    if let Err(e) = lab::inventory_yaml(opts) {
        eprintln!("error: {e}");
        return ExitCode::Error;
    }
    let req = RunRequest::new(vec![opts.lab_dir().join("inventory.yml")], vec![playbook]);
    match run::playbooks(&req, Output::Stdout { json: false }).await {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            eprint!("{}", e.render());
            ExitCode::BadInput
        }
    }
}
