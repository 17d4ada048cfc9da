//! `strata playbook`: the CLI's options over `ansible.cfg` become one [`RunRequest`], then the
//! run library plans it (every input error found before any host is contacted) and runs it,
//! unless the options only ask for a syntax check or a listing.

use std::path::PathBuf;

use crate::cli::PlaybookArgs;
use crate::config::Settings;
use crate::diagnostic::{Diagnostic, InputErrors, Span};
use crate::exit::ExitCode;
use crate::run::{self, Output, RunRequest};

/// Ansible's inventory when neither `-i` nor the configuration names one.
const DEFAULT_INVENTORY: &str = "/etc/ansible/hosts";

/// `-i`, else the configured inventory, else Ansible's default file when it exists.
fn inventory(args: &PlaybookArgs, s: &Settings) -> Result<Vec<PathBuf>, InputErrors> {
    inventory_of(&args.inventory, s)
}

/// The inventory sources of `-i` (`cli`), else the configured ones, else Ansible's default
/// file when it exists: shared with `strata run`.
pub(super) fn inventory_of(cli: &[PathBuf], s: &Settings) -> Result<Vec<PathBuf>, InputErrors> {
    if !cli.is_empty() {
        return Ok(cli.to_vec());
    }
    if let Some(i) = &s.inventory {
        return Ok(i.clone());
    }
    let default = PathBuf::from(DEFAULT_INVENTORY);
    if default.exists() {
        return Ok(vec![default]);
    }
    Err(InputErrors(vec![
        Diagnostic::new(Span::unknown(), "no inventory given")
            .help("pass -i, or set `inventory` in ansible.cfg ([defaults]) or ANSIBLE_INVENTORY"),
    ]))
}

/// The one place CLI options become a request: each option over its `ansible.cfg` setting,
/// over the default that lives with the request.
fn request(args: &PlaybookArgs, s: &Settings) -> Result<RunRequest, InputErrors> {
    Ok(RunRequest {
        inventory: inventory(args, s)?,
        playbooks: args.playbooks.clone(),
        limit: args.limit.clone(),
        tags: args.tags.clone(),
        skip_tags: args.skip_tags.clone(),
        extra_vars: args.extra_vars.clone(),
        check: args.check,
        diff: args.diff,
        forks: args
            .forks
            .map(|f| f as usize)
            .or(s.forks)
            .unwrap_or(RunRequest::DEFAULT_FORKS),
        verbosity: args.verbose,
        connect: super::connect_options(&args.ssh, s),
        flush_cache: args.flush_cache,
        roles_path: s.roles_path.clone(),
        become_defaults: s.become_.clone(),
        gathering: s.gathering,
        strict: args.strict,
        show_custom_stats: s.show_custom_stats,
    })
}

pub async fn run(args: PlaybookArgs) -> ExitCode {
    let Some(config) = super::config() else {
        return ExitCode::BadInput;
    };
    let mut req = match request(&args, &config.settings) {
        Ok(r) => r,
        Err(e) => {
            eprint!("{}", e.render());
            return ExitCode::BadInput;
        }
    };
    let mut plan = match run::plan(&req) {
        Ok(p) => p,
        Err(e) => {
            eprint!("{}", e.render());
            return ExitCode::BadInput;
        }
    };
    if args.syntax_check || args.list_hosts || args.list_tasks {
        // A run sends these to its reporter; nothing runs here, so they are printed now.
        plan.print_warnings();
        for w in plan.refusal_warnings() {
            eprintln!("[WARNING]: {w}");
        }
    }
    if args.syntax_check {
        for p in &args.playbooks {
            println!("\nplaybook: {}", p.display());
        }
        return ExitCode::Ok;
    }
    if args.list_hosts || args.list_tasks {
        let listing = run::Listing {
            hosts: args.list_hosts,
            tasks: args.list_tasks,
            only: &args.tags,
            skip: &args.skip_tags,
        };
        print!("{}", listing.render(&plan));
        return ExitCode::Ok;
    }
    if let Err(e) = super::ask_passwords(&args.ssh, &mut req.connect) {
        eprintln!("error: cannot read the password: {e}");
        return ExitCode::Error;
    }
    let targets = match plan.targets(&req.connect) {
        Ok(t) => t,
        Err(e) => {
            eprint!("{}", e.render());
            return ExitCode::BadInput;
        }
    };
    let outcome = run::run_plan(plan, targets, &req, Output::Stdout { json: args.json }).await;
    outcome.exit_code()
}
