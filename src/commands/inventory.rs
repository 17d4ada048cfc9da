//! `strata inventory`: what `ansible-inventory` prints for the same sources (`--list`,
//! `--host`, `--graph`); the views themselves live in `inventory::view`.

use serde_json::Value;

use crate::cli::InventoryArgs;
use crate::diagnostic::Diagnostic;
use crate::exit::ExitCode;
use crate::inventory::view::{View, json, yaml};
use crate::inventory::{limit_from_arg, load_vars_dir};

pub fn run(args: &InventoryArgs) -> ExitCode {
    match render(args) {
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

/// The text to print and the warnings to show, or the input error.
fn render(args: &InventoryArgs) -> Result<(String, Vec<String>), Diagnostic> {
    let opts = crate::inventory::LoadOptions {
        flush_cache: args.flush_cache,
    };
    let inv = crate::inventory::load(&args.inventory, &opts)?;
    let playbook = match &args.playbook_dir {
        Some(d) => Some(load_vars_dir(d, &inv)?),
        None => None,
    };
    let view = View {
        inv: &inv,
        playbook: playbook.as_ref(),
    };
    let mut warnings = inv.warnings().to_vec();
    let bad = |msg: String| Diagnostic::new(Default::default(), msg);
    if let Some(pattern) = &args.host {
        let sel = inv.select(pattern).map_err(|e| bad(e.to_string()))?;
        let [host] = sel.hosts.as_slice() else {
            return Err(bad(
                "You must pass a single valid host to --host parameter".into()
            ));
        };
        let vars = Value::Object(view.host_vars(host));
        let out = if args.yaml { yaml(&vars)? } else { json(&vars) };
        return Ok((out, warnings));
    }
    if args.graph {
        let name = args.group.as_deref().unwrap_or("all");
        let Some(g) = inv.group(name) else {
            return Err(
                bad("Pattern must be valid group name when using --graph".into()).help(format!(
                    "`{name}` is not a group of this inventory; `strata inventory --list` shows them"
                )),
            );
        };
        let mut lines = Vec::new();
        view.graph(g, 0, args.vars, &mut lines);
        return Ok((lines.join("\n"), warnings));
    }
    let hosts: Vec<String> = match &args.limit {
        Some(l) => {
            let pattern = limit_from_arg(l).map_err(|e| bad(format!("--limit: {e}")))?;
            let all = inv.select("all").map_err(|e| bad(e.to_string()))?.hosts;
            let sel = inv
                .select_limited("all", Some(&pattern))
                .map_err(|e| bad(format!("--limit: {e}")))?;
            warnings.extend(sel.warnings);
            all.into_iter().filter(|h| sel.hosts.contains(h)).collect()
        }
        None => inv.hosts().map(|h| h.name.clone()).collect(),
    };
    let out = if args.yaml {
        yaml(&view.yaml_list(&hosts))?
    } else {
        json(&view.list(&hosts))
    };
    Ok((out, warnings))
}
