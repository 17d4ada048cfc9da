//! `lookup()` and `query()`/`q()`, and the lookups behind them, one file per lookup or
//! family. They run on the controller, as in Ansible, and see the task's variables through
//! the template state (`ansible_search_path`, `playbook_dir`, `role_path`, `groups`, ...).
//! A `with_X:` loop is `query('X', *terms)`, so the executor runs loops through
//! [`query_expr`]. Every keyword argument a lookup does not read is an error rather than
//! being ignored, and so is an unknown lookup.
//!
//! Adding a lookup: a file with `pub fn run(&State, &[Value], &Kwargs)`, and one line in
//! [`LOOKUPS`].

mod collections;
mod files;
mod inventory_hostnames;
mod password;
mod paths;
mod pipe;
mod pyrandom;
mod sequence;
mod template;
mod vars;

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State};

/// A lookup: the terms as given, the keyword arguments it understands (the dispatcher
/// refuses the others once it returns), and the task's variables through `state`.
pub type Run = fn(&State, &[Value], &Kwargs) -> Result<Vec<Value>, Error>;

/// Every lookup strata implements, by name.
pub const LOOKUPS: &[(&str, Run)] = &[
    ("env", pipe::env),
    ("pipe", pipe::pipe),
    ("lines", pipe::lines),
    ("file", files::file),
    ("fileglob", files::fileglob),
    ("first_found", files::first_found),
    ("items", collections::items),
    ("list", collections::list),
    ("dict", collections::dict),
    ("nested", collections::nested),
    ("together", collections::together),
    ("subelements", collections::subelements),
    ("indexed_items", collections::indexed_items),
    ("random_choice", collections::random_choice),
    ("sequence", sequence::run),
    ("vars", vars::vars),
    ("varnames", vars::varnames),
    ("inventory_hostnames", inventory_hostnames::run),
    ("password", password::run),
    ("template", template::run),
];

/// The context variable through which the executor provides host pattern matching (the
/// inventory lives above the templates): a [`HostPatterns`].
pub const HOST_PATTERNS: &str = "__strata_host_patterns";

pub use inventory_hostnames::{HostMatcher, HostPatterns};

/// The expression a `with_X:` loop evaluates: `query('X', *terms)`, the terms bound to
/// [`LOOP_TERMS`] in the context.
pub fn query_expr(name: &str) -> String {
    format!("query({}, *{LOOP_TERMS})", pyrepr_str(name))
}

/// The context variable holding a `with_X:` loop's listified terms.
pub const LOOP_TERMS: &str = "__strata_loop_terms";

/// The context variable naming the action of a `with_X:` loop's task: `with_first_found`
/// searches `templates/`, `vars/` or `files/` after it, as Ansible does.
pub const LOOP_ACTION: &str = "__strata_loop_action";

fn pyrepr_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Whether strata knows the lookup `name` (with or without `ansible.builtin.`).
pub fn is_known(name: &str) -> bool {
    find(name).is_some()
}

fn find(name: &str) -> Option<Run> {
    let short = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name);
    LOOKUPS.iter().find(|(n, _)| *n == short).map(|(_, r)| *r)
}

/// An error a lookup raises: the task fails with it.
pub fn fail(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn run(state: &State, kind: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let Some(f) = find(kind) else {
        let names: Vec<&str> = LOOKUPS.iter().map(|(n, _)| *n).collect();
        return Err(fail(format!(
            "lookup plugin `{kind}` is not supported (supported: {})",
            names.join(", ")
        )));
    };
    f(state, terms, kwargs).map_err(|e| {
        fail(format!(
            "The lookup plugin '{kind}' failed: {}",
            e.detail().unwrap_or_default()
        ))
    })
}

/// Ansible's `errors=` keyword: `strict` (default) fails, `warn` and `ignore` give `None`
/// (or `[]` with `wantlist`).
fn invoke(
    state: &State,
    kind: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Option<Vec<Value>>, Error> {
    let errors = kwargs
        .get::<Option<String>>("errors")?
        .unwrap_or_else(|| "strict".into());
    if !["strict", "warn", "ignore"].contains(&errors.as_str()) {
        return Err(fail(format!(
            "Invalid value '{errors}' for 'errors', valid values are: strict, warn, ignore"
        )));
    }
    let out = match run(state, kind, terms, kwargs) {
        Ok(v) => Some(v),
        Err(_) if errors != "strict" => None,
        Err(e) => return Err(e),
    };
    kwargs.assert_all_used()?;
    Ok(out)
}

/// `lookup('env', 'HOME')`: no result is `[]`, one is the value, several strings are joined
/// with commas, anything else stays a list; `wantlist=True` gives the list.
fn lookup(state: &State, kind: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let wantlist = kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    let Some(vals) = invoke(state, &kind, &terms, &kwargs)? else {
        return Ok(if wantlist {
            Value::from(Vec::<Value>::new())
        } else {
            Value::from(())
        });
    };
    if wantlist {
        return Ok(Value::from(vals));
    }
    Ok(match vals.len() {
        1 => vals.into_iter().next().unwrap_or_default(),
        n if n > 1 && vals.iter().all(|v| v.as_str().is_some()) => Value::from(
            vals.iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => Value::from(vals),
    })
}

/// `query('env', 'A', 'B')` / `q(...)`: always a list.
fn query(state: &State, kind: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    // `wantlist` is implied; Ansible accepts it here too.
    let _ = kwargs.get::<Option<bool>>("wantlist")?;
    Ok(Value::from(
        invoke(state, &kind, &terms, &kwargs)?.unwrap_or_default(),
    ))
}

pub fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

/// Python's `str()` of a term used as a name or path.
fn term_str(term: &Value) -> String {
    term.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| super::pyrepr::py_str(term))
}

#[cfg(test)]
mod tests;
