//! Play `vars_prompt`: asked on the controller's terminal when the play starts, as
//! ansible-playbook does, unless `-e` gives the variable. Without a terminal, a prompt with a
//! `default` takes it (Ansible's "Not prompting as we are not in interactive mode"); one
//! without is refused before any host is touched, where Ansible would quietly set the
//! variable to None and let the play run with it.

use std::io::IsTerminal;

use serde_json::{Map, Value};

use crate::diagnostic::Diagnostic;
use crate::playbook::model::{Play, Playbook, VarPrompt};

/// What the run will not be able to ask (errors) and the notice that prompts take their
/// defaults (warnings), for the plan.
pub fn check(
    playbooks: &[Playbook],
    extra: &Map<String, Value>,
    interactive: bool,
) -> (Vec<Diagnostic>, Vec<String>) {
    let (mut errors, mut defaulted) = (Vec::new(), false);
    if interactive {
        return (errors, Vec::new());
    }
    let prompts = playbooks
        .iter()
        .flat_map(|pb| &pb.plays)
        .flat_map(|p| &p.vars_prompt);
    for p in prompts.filter(|p| !extra.contains_key(&p.name)) {
        if p.default.is_some() {
            defaulted = true;
            continue;
        }
        errors.push(
            Diagnostic::new(
                p.span.clone(),
                format!(
                    "`vars_prompt` asks for `{}`, but stdin is not a terminal",
                    p.name
                ),
            )
            .label("cannot be asked")
            .help(format!(
                "give it on the command line: -e {}=VALUE, or give the prompt a `default`",
                p.name
            )),
        );
    }
    let warnings = if defaulted {
        vec!["Not prompting as we are not in interactive mode".to_string()]
    } else {
        Vec::new()
    };
    (errors, warnings)
}

/// Whether prompts can be asked: stdin is a terminal.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// The play with its prompted variables added to its `vars` (where Ansible puts them);
/// variables `-e` gives are not asked.
pub fn answer(play: &Play, extra: &Map<String, Value>) -> std::io::Result<Play> {
    let mut play = play.clone();
    let tty = interactive();
    for p in play.vars_prompt.clone() {
        if extra.contains_key(&p.name) {
            continue;
        }
        let v = if tty {
            ask(&p)?
        } else {
            p.default.clone().unwrap_or(Value::Null)
        };
        play.vars.insert(p.name.clone(), v);
    }
    Ok(play)
}

fn ask(p: &VarPrompt) -> std::io::Result<Value> {
    let shown = match p.default.as_ref().and_then(crate::values::to_str) {
        Some(d) => format!("{} [{d}]", p.prompt),
        None => p.prompt.clone(),
    };
    loop {
        let first = crate::prompt::read_line(&shown, !p.private)?;
        if p.confirm {
            let again = crate::prompt::read_line(&format!("confirm {}", p.prompt), !p.private)?;
            if again != first {
                eprintln!("***** VALUES ENTERED DO NOT MATCH ****");
                continue;
            }
        }
        return Ok(match (&p.default, first.is_empty()) {
            (Some(d), true) => d.clone(),
            _ => Value::String(first),
        });
    }
}
