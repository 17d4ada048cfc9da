//! The controller's environment and commands: `env`, `pipe` (a command's output) and `lines`
//! (its lines). Commands run with `/bin/sh` in the playbook's directory, as Ansible's do.

use std::process::Command;

use minijinja::State;
use minijinja::value::{Kwargs, Value};

use super::{fail, paths, term_str};

/// `env`: each term's first word names a variable; unset gives `default` (`''`).
pub fn env(
    _state: &State,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, minijinja::Error> {
    let default = kwargs
        .get::<Option<Value>>("default")?
        .unwrap_or_else(|| Value::from(""));
    Ok(terms
        .iter()
        .map(|t| {
            let term = term_str(t);
            let name = term.split_whitespace().next().unwrap_or_default();
            std::env::var(name).map_or_else(|_| default.clone(), Value::from)
        })
        .collect())
}

fn output(state: &State, kind: &str, command: &str) -> Result<String, minijinja::Error> {
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .current_dir(paths::basedir(state))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| fail(format!("lookup_plugin.{kind}({command}): {e}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "lookup_plugin.{kind}({command}) returned {}",
            out.status.code().unwrap_or(-1)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `pipe`: the command's standard output, trailing whitespace removed.
pub fn pipe(state: &State, terms: &[Value], _: &Kwargs) -> Result<Vec<Value>, minijinja::Error> {
    terms
        .iter()
        .map(|t| Ok(Value::from(output(state, "pipe", &term_str(t))?.trim_end())))
        .collect()
}

/// `lines`: every line of every command's output (Python's `splitlines`).
pub fn lines(state: &State, terms: &[Value], _: &Kwargs) -> Result<Vec<Value>, minijinja::Error> {
    let mut out = Vec::new();
    for t in terms {
        let text = output(state, "lines", &term_str(t))?;
        for l in crate::values::splitlines(&text) {
            out.push(Value::from(l.as_str().unwrap_or_default()));
        }
    }
    Ok(out)
}
