//! `lookup()` and `query()`/`q()` for the lookups playbooks use most: `env`, `file`, `pipe`
//! and `items`. They run on the controller, as in Ansible. Of Ansible's keyword arguments,
//! `wantlist=True` (a list, as `query` gives) and `env`'s `default=` are understood; any other
//! keyword is an error rather than being ignored.

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State};

fn one(kind: &str, term: &Value) -> Result<Value, Error> {
    let arg = term
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| term.to_string());
    match kind {
        "env" => Ok(Value::from(std::env::var(&arg).unwrap_or_default())),
        "file" => std::fs::read_to_string(&arg)
            .map(|t| Value::from(t.strip_suffix('\n').unwrap_or(&t).to_string()))
            .map_err(|e| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("lookup('file'): could not read {arg}: {e}"),
                )
            }),
        "pipe" => {
            let out = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(&arg)
                .output()
                .map_err(|e| {
                    Error::new(ErrorKind::InvalidOperation, format!("lookup('pipe'): {e}"))
                })?;
            if !out.status.success() {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("lookup('pipe'): command `{arg}` failed with {}", out.status),
                ));
            }
            let s = String::from_utf8_lossy(&out.stdout);
            Ok(Value::from(s.trim_end_matches('\n').to_string()))
        }
        "items" => Ok(term.clone()),
        other => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "lookup plugin `{other}` is not supported (supported: env, file, pipe, items, template)"
            ),
        )),
    }
}

fn run(kind: &str, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        if kind == "items"
            && let Ok(it) = t.try_iter()
        {
            out.extend(it);
            continue;
        }
        out.push(one(kind, t)?);
    }
    Ok(out)
}

/// `lookup('env', 'HOME')`: one term gives a value, several give a comma-joined string;
/// `wantlist=True` gives the list.
fn lookup(state: &State, kind: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let wantlist = kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    let mut vals = match kind.as_str() {
        "template" => super::lookup_template::run(state, &terms, &kwargs)?,
        _ => run(&kind, &terms)?,
    };
    if kind == "env"
        && let Some(default) = kwargs.get::<Option<Value>>("default")?
    {
        for (v, t) in vals.iter_mut().zip(terms.iter()) {
            let name = t.as_str().map_or_else(|| t.to_string(), str::to_string);
            if std::env::var_os(name).is_none() {
                *v = default.clone();
            }
        }
    }
    kwargs.assert_all_used()?;
    if wantlist {
        return Ok(Value::from(vals));
    }
    Ok(match vals.len() {
        1 => vals.into_iter().next().unwrap_or_default(),
        _ if kind == "items" => Value::from(vals),
        _ => Value::from(
            vals.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
    })
}

/// `query('env', 'A', 'B')` / `q(...)`: always a list.
fn query(state: &State, kind: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let vals = match kind.as_str() {
        "template" => super::lookup_template::run(state, &terms, &kwargs)?,
        _ => run(&kind, &terms)?,
    };
    kwargs.assert_all_used()?;
    Ok(Value::from(vals))
}

pub fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Span;
    use crate::template::Templar;
    use serde_json::json;

    #[test]
    fn env_file_pipe_and_query() {
        let t = Templar::new();
        let c = minijinja::Value::from(minijinja::value::Serde(json!({})));
        let f = std::env::temp_dir().join(format!("strata-lookup-{}", std::process::id()));
        std::fs::write(&f, "secret\n").unwrap();
        let s = |e: &str| t.render_str(e, &c, &Span::unknown()).unwrap();
        assert_eq!(
            s(&format!("{{{{ lookup('file', '{}') }}}}", f.display())),
            json!("secret")
        );
        assert_eq!(s("{{ lookup('pipe', 'echo hi') }}"), json!("hi"));
        assert_eq!(s("{{ query('items', [1, 2]) }}"), json!([1, 2]));
        assert_eq!(
            s("{{ lookup('env', 'STRATA_SURELY_UNSET_VAR') }}"),
            json!("")
        );
        assert!(
            t.render_str("{{ lookup('nope', 'x') }}", &c, &Span::unknown())
                .is_err()
        );
    }

    #[test]
    fn wantlist_and_env_default() {
        let t = Templar::new();
        let c = minijinja::Value::from(minijinja::value::Serde(json!({})));
        let s = |e: &str| t.render_str(e, &c, &Span::unknown());
        assert_eq!(
            s("{{ lookup('pipe', 'echo hi', wantlist=True) }}").unwrap(),
            json!(["hi"])
        );
        assert_eq!(
            s("{{ lookup('env', 'STRATA_SURELY_UNSET_VAR', default='d') }}").unwrap(),
            json!("d")
        );
        assert!(s("{{ lookup('pipe', 'true', bogus=1) }}").is_err());
    }
}
