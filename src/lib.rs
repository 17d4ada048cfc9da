//! strata: an agentless, SSH push-based orchestrator that runs Ansible-style playbooks.
//!
//! The flow is one-way: load + validate (`yaml`, `playbook`, `template`) → resolve
//! (`inventory`, `transport` targets) → plan (`run::plan`) → execute (`run::execute` on the
//! `executor`, one tokio task per host over `transport`) → `events` → `reporter`. `commands`
//! are thin adapters over `run`. See docs/architecture.md.
pub mod adhoc;
pub mod argspec;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod diagnostic;
pub mod events;
pub mod executor;
pub mod exit;
pub mod extra_vars;
pub mod fnmatch;
pub mod inventory;
pub mod lab;
pub mod modules;
pub mod playbook;
pub mod prompt;
pub mod reporter;
pub mod run;
pub mod scratch;
pub mod secret;
pub mod shell;
pub mod stack;
pub mod template;
pub mod transport;
pub mod values;
pub mod yaml;

use std::ffi::OsString;

use clap::Parser;

use cli::{Cli, Command};
use exit::ExitCode;

/// Entry point for the binary and for tests: parses `args` (including argv[0]) and runs.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                ExitCode::BadInput as i32
            } else {
                0
            };
            let _ = e.print();
            return code;
        }
    };
    // `strata jobs` needs no async runtime, and its exit code can be the supervised event's
    // or 124 (timed out), which `ExitCode` does not name.
    if let Command::Jobs(a) = cli.command {
        return commands::jobs::run(a);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::Error as i32;
        }
    };
    let code = rt.block_on(async move {
        match cli.command {
            Command::Playbook(a) => commands::playbook::run(a).await,
            Command::Inventory(a) => commands::inventory::run(&a),
            Command::Lab(a) => commands::lab::run(a).await,
            Command::Bench(a) => commands::bench::run(a).await,
            Command::Stack(a) => commands::stack::run(a).await,
            Command::Run(a) => commands::run::run(a).await,
            Command::Jobs(_) => unreachable!("run before the runtime starts"),
        }
    });
    code as i32
}
