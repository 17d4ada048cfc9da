//! `strata inventory`: what `ansible-inventory` prints for the same sources (`--list`,
//! `--host`, `--graph`); the views themselves live in `inventory::view`.

use crate::cli::InventoryArgs;
use crate::exit::ExitCode;
use crate::inventory::LoadOptions;
use crate::inventory::view::{Show, render};

pub fn run(args: &InventoryArgs) -> ExitCode {
    let show = match (&args.host, args.graph) {
        (Some(pattern), _) => Show::Host(pattern.clone()),
        (None, true) => Show::Graph {
            group: args.group.clone(),
            vars: args.vars,
        },
        (None, false) => Show::List {
            limit: args.limit.clone(),
        },
    };
    let opts = LoadOptions {
        flush_cache: args.flush_cache,
    };
    match render(
        &args.inventory,
        &opts,
        args.playbook_dir.as_deref(),
        &show,
        args.yaml,
    ) {
        Ok((out, warnings)) => {
            for w in warnings {
                eprintln!("[WARNING]: {w}");
            }
            println!("{out}");
            ExitCode::Ok
        }
        Err(d) => {
            eprint!("{}", d.render());
            ExitCode::BadInput
        }
    }
}
