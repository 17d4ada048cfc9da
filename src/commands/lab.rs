//! `strata lab ...`: thin wrappers over `crate::lab`, plus `demo`, which brings hosts up and
//! runs the example stack (or a playbook) on them in one command.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{LabArgs, LabCommand};
use crate::exit::ExitCode;
use crate::lab::{self, Demo, LabOptions};
use crate::run::{self, Output, RunRequest};
use crate::stack::state::SqliteState;
use crate::stack::{Stack, StackError, StackRequest, file, status, sync};

pub async fn run(args: LabArgs) -> ExitCode {
    let opts = LabOptions {
        name: args.name.clone(),
        dir: args.dir.clone(),
    };
    let res: Result<ExitCode, lab::LabError> = match args.command {
        LabCommand::Up { n, systemd } => up(&opts, n, systemd).await.map(|state| {
            println!("{state}");
            println!(
                "inventory: {}",
                opts.lab_dir().join("inventory.yml").display()
            );
            ExitCode::Ok
        }),
        LabCommand::Down => lab::down(&opts).map(|_| ExitCode::Ok),
        LabCommand::Status => lab::status(&opts).map(|s| {
            println!("{s}");
            ExitCode::Ok
        }),
        LabCommand::Inventory { output } => match output {
            Some(p) => lab::inventory_to(&opts, &p).map(|_| ExitCode::Ok),
            None => lab::inventory_yaml(&opts).map(|y| {
                print!("{y}");
                ExitCode::Ok
            }),
        },
        LabCommand::Stop { host } => lab::stop_host(&opts, &host).map(|_| ExitCode::Ok),
        LabCommand::Start { host } => lab::start_host(&opts, &host).map(|_| ExitCode::Ok),
        LabCommand::Demo {
            playbook: Some(book),
            hosts,
        } => {
            return demo_playbook(&opts, hosts.unwrap_or(Demo::PLAYBOOK_HOSTS), book).await;
        }
        LabCommand::Demo { playbook: None, .. } => return demo_stack(&opts).await,
    };
    match res {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::Error
        }
    }
}

/// `lab::up` off the async runtime: it waits for every host's sshd.
async fn up(opts: &LabOptions, n: usize, systemd: bool) -> Result<lab::LabState, lab::LabError> {
    let o = opts.clone();
    match tokio::task::spawn_blocking(move || lab::up(&o, n, systemd)).await {
        Ok(r) => r,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The README's first command: fresh hosts, their inventory where the example stack reads
/// it, a fresh stack state, then `strata stack -f stacks/demo.yml sync` and `status`. The
/// hosts stay up, so the stack commands can go on from there.
async fn demo_stack(opts: &LabOptions) -> ExitCode {
    let stack_file = Path::new(Demo::STACK);
    if !stack_file.is_file() {
        eprintln!(
            "error: {} not found: run `strata lab demo` from the root of strata's checkout",
            stack_file.display()
        );
        return ExitCode::BadInput;
    }
    // New hosts every run: a lab of this name goes first, and so does the state that
    // remembers its hosts as instances (they would not be set up again).
    if opts.state_path().exists()
        && let Err(e) = lab::down(opts)
    {
        eprintln!("error: {e}");
        return ExitCode::Error;
    }
    match up(opts, Demo::HOSTS, false).await {
        Ok(state) => println!("{state}"),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::Error;
        }
    }
    if let Err(e) = lab::inventory_to(opts, Path::new(Demo::INVENTORY)) {
        eprintln!("error: {e}");
        return ExitCode::Error;
    }
    println!(
        "wrote {}: the lab's inventory for {}",
        Demo::INVENTORY,
        Demo::STACK
    );
    match sync_and_status(stack_file).await {
        Ok(code) => {
            let lab = if opts.name == LabOptions::DEFAULT_NAME {
                String::new()
            } else {
                format!(" --name {}", opts.name)
            };
            println!(
                "\nThe hosts stay up. Go on with `strata stack -f {0} deploy web --revision v2`, \
                 `strata lab{lab} stop lab03` then `strata stack -f {0} sync`, ...; \
                 end with `strata lab{lab} down`.",
                Demo::STACK
            );
            code
        }
        Err(e) => {
            match &e {
                StackError::Input(i) => eprint!("{}", i.render()),
                other => eprintln!("error: {other}"),
            }
            e.exit_code()
        }
    }
}

/// `strata stack -f FILE sync` from an empty state, then `status`.
async fn sync_and_status(stack_file: &Path) -> Result<ExitCode, StackError> {
    SqliteState::remove(&file::load(stack_file)?.db_path())?;
    let req = StackRequest {
        file: stack_file.to_path_buf(),
        run: RunRequest::new(Vec::new(), Vec::new()),
        attributes: Vec::new(),
        wait: Duration::ZERO,
        output: Output::Stdout { json: false },
        command: "strata lab demo".into(),
    };
    let mut stack = Stack::open(req)?;
    let report = sync::sync(&mut stack, false, None, |_| {}).await?;
    print!("{}", report.render("sync"));
    let v = status::status(&stack.ctx.file, &stack.store)?;
    print!("\n{}", status::render_status(&v, &stack.ctx.file));
    Ok(report.exit_code())
}

/// `lab demo --playbook`: brings up `n` hosts (reusing a running lab of that size) and runs
/// `playbook` on them.
async fn demo_playbook(opts: &LabOptions, n: usize, playbook: PathBuf) -> ExitCode {
    let running = lab::status(opts).map(|s| s.hosts.len()).unwrap_or(0);
    if running != n {
        let _ = lab::down(opts);
        if let Err(e) = up(opts, n, false).await {
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
