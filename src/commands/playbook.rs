//! `strata playbook`: the CLI's options become one [`RunRequest`], then the run library plans
//! it (every input error found before any host is contacted) and runs it, unless the options
//! only ask for a syntax check or a listing.

use crate::cli::PlaybookArgs;
use crate::exit::ExitCode;
use crate::run::{self, Output, RunRequest};

/// The one place CLI options become a request; defaults live with the request.
fn request(args: &PlaybookArgs) -> RunRequest {
    RunRequest {
        inventory: args.inventory.clone(),
        playbooks: args.playbooks.clone(),
        limit: args.limit.clone(),
        tags: args.tags.clone(),
        skip_tags: args.skip_tags.clone(),
        extra_vars: args.extra_vars.clone(),
        check: args.check,
        diff: args.diff,
        forks: args.forks as usize,
        verbosity: args.verbose,
        connect: super::connect_options(&args.ssh),
        flush_cache: args.flush_cache,
    }
}

pub async fn run(args: PlaybookArgs) -> ExitCode {
    let mut req = request(&args);
    let plan = match run::plan(&req) {
        Ok(p) => p,
        Err(e) => {
            eprint!("{}", e.render());
            return ExitCode::BadInput;
        }
    };
    plan.print_warnings();
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
