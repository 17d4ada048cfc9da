//! `strata lab ...`: thin wrappers over `crate::lab`, plus `demo`, which brings hosts up and
//! runs a playbook on them in one command.

use crate::cli::{LabArgs, LabCommand};
use crate::exit::ExitCode;
use crate::lab::{self, LabOptions};
use crate::run::{self, Output, RunRequest};

pub async fn run(args: LabArgs) -> ExitCode {
    let opts = LabOptions {
        name: args.name.clone(),
        dir: args.dir.clone(),
    };
    let res: Result<ExitCode, lab::LabError> = match args.command {
        LabCommand::Up { n, systemd } => {
            let o = opts.clone();
            match tokio::task::spawn_blocking(move || lab::up(&o, n, systemd)).await {
                Ok(Ok(state)) => {
                    println!("{state}");
                    println!(
                        "inventory: {}",
                        opts.lab_dir().join("inventory.yml").display()
                    );
                    Ok(ExitCode::Ok)
                }
                Ok(Err(e)) => Err(e),
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
        LabCommand::Down => lab::down(&opts).map(|_| ExitCode::Ok),
        LabCommand::Status => lab::status(&opts).map(|s| {
            println!("{s}");
            ExitCode::Ok
        }),
        LabCommand::Inventory { output } => lab::inventory_yaml(&opts).and_then(|y| match output {
            Some(p) => std::fs::write(&p, y)
                .map(|_| ExitCode::Ok)
                .map_err(|e| lab::LabError::Io {
                    context: "cannot write the inventory",
                    path: p.clone(),
                    source: e,
                }),
            None => {
                print!("{y}");
                Ok(ExitCode::Ok)
            }
        }),
        LabCommand::Stop { host } => lab::stop_host(&opts, &host).map(|_| ExitCode::Ok),
        LabCommand::Start { host } => lab::start_host(&opts, &host).map(|_| ExitCode::Ok),
        LabCommand::Demo { hosts, playbook } => return demo(&opts, hosts, playbook).await,
    };
    match res {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::Error
        }
    }
}

/// Brings up `n` hosts (reusing a running lab of that size) and runs `playbook` on them.
async fn demo(opts: &LabOptions, n: usize, playbook: std::path::PathBuf) -> ExitCode {
    let running = lab::status(opts).map(|s| s.hosts.len()).unwrap_or(0);
    if running != n {
        let _ = lab::down(opts);
        let o = opts.clone();
        match tokio::task::spawn_blocking(move || lab::up(&o, n, false)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                eprintln!("error: {e}");
                return ExitCode::Error;
            }
            Err(e) => std::panic::resume_unwind(e.into_panic()),
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
