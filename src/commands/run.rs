//! `strata run`: the CLI's options over `ansible.cfg` become one [`AdhocRequest`], which the
//! ad-hoc library validates and plans before any host is contacted, then runs.

use crate::adhoc::{self, AdhocError, AdhocOutput, AdhocRequest, HostSource};
use crate::cli::AdhocArgs;
use crate::config::Settings;
use crate::exit::ExitCode;
use crate::run::RunRequest;

/// The one place CLI options become a request: each option over its `ansible.cfg` setting,
/// over the default that lives with the request. With `-s` the stack's instance source is
/// the inventory, so `ansible.cfg`'s `inventory` does not apply.
fn request(a: &AdhocArgs, s: &Settings) -> Result<AdhocRequest, AdhocError> {
    let source = match &a.stack {
        Some(file) => HostSource::Stack {
            file: file.clone(),
            attributes: a.attributes.clone(),
        },
        None => HostSource::Inventory,
    };
    let inventory = match source {
        HostSource::Inventory => super::playbook::inventory_of(&a.inventory, s)?,
        HostSource::Stack { .. } => Vec::new(),
    };
    let mut run = RunRequest::new(inventory, Vec::new());
    run.limit = a.limit.clone();
    run.extra_vars = a.extra_vars.clone();
    run.check = a.check;
    run.diff = a.diff;
    run.forks = a
        .forks
        .map(|f| f as usize)
        .or(s.forks)
        .unwrap_or(RunRequest::DEFAULT_FORKS);
    run.verbosity = a.verbose;
    run.connect = super::connect_options(&a.ssh, s);
    run.flush_cache = a.flush_cache;
    run.roles_path = s.roles_path.clone();
    run.become_defaults = s.become_.clone();
    run.gathering = s.gathering;
    run.strict = a.strict;
    Ok(AdhocRequest {
        pattern: a.pattern.clone(),
        module: a.module.clone(),
        args: a.args.clone(),
        source,
        run,
        become_: a.become_,
        become_user: a.become_user.clone(),
        output: AdhocOutput {
            one_line: a.one_line,
            json: a.json,
            tree: a.tree.clone(),
        },
        list_hosts: a.list_hosts,
    })
}

pub async fn run(args: AdhocArgs) -> ExitCode {
    match go(args).await {
        Ok(code) => code,
        Err(e) => {
            eprint!("{}", e.render());
            e.exit_code()
        }
    }
}

async fn go(args: AdhocArgs) -> Result<ExitCode, AdhocError> {
    let Some(config) = super::config() else {
        return Ok(ExitCode::BadInput);
    };
    let mut req = request(&args, &config.settings)?;
    let prepared = adhoc::prepare(&req)?;
    for w in &prepared.warnings {
        eprintln!("[WARNING]: {w}");
    }
    if req.list_hosts {
        print!("{}", adhoc::list_hosts(&prepared));
        return Ok(ExitCode::Ok);
    }
    if let Err(e) = super::ask_passwords(&args.ssh, &mut req.run.connect) {
        eprintln!("error: cannot read the password: {e}");
        return Ok(ExitCode::Error);
    }
    adhoc::execute(prepared, &req).await
}
