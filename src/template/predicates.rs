//! Predicates behind Jinja's `is` tests: Ansible's (`is version(...)`, `is changed`,
//! `is match(...)`, path tests) and the Jinja2 tests whose minijinja builtins differ from
//! Python (`sequence`, `iterable`).

use std::path::Path;

use minijinja::value::{Rest, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, Value};

use super::filters::regex::{matches, test_input};
use super::filters::support::{FArgs, err, items, strict};
use super::pyrepr::{py_str, py_type};
use super::undefined::lookup;

pub fn register(env: &mut Environment<'static>) {
    env.add_test("match", |v: &Value, args: Rest<ValueOrKwargs>| {
        regex_test(v, &args.into_values(), Some("match"))
    });
    env.add_test("search", |v: &Value, args: Rest<ValueOrKwargs>| {
        regex_test(v, &args.into_values(), Some("search"))
    });
    env.add_test("regex", |v: &Value, args: Rest<ValueOrKwargs>| {
        regex_test(v, &args.into_values(), None)
    });
    env.add_test("version", version);
    env.add_test("version_compare", version);
    env.add_test("changed", changed);
    env.add_test("change", changed);
    env.add_test("failed", |v: &Value| result_flag(v, "failed", "failed"));
    env.add_test("failure", |v: &Value| result_flag(v, "failed", "failed"));
    env.add_test("succeeded", |v: &Value| {
        result_flag(v, "failed", "succeeded").map(|f| !f)
    });
    env.add_test("success", |v: &Value| {
        result_flag(v, "failed", "success").map(|f| !f)
    });
    env.add_test("successful", |v: &Value| {
        result_flag(v, "failed", "successful").map(|f| !f)
    });
    env.add_test("skipped", |v: &Value| result_flag(v, "skipped", "skipped"));
    env.add_test("finished", |v: &Value| job_flag(v, "finished"));
    env.add_test("started", |v: &Value| job_flag(v, "started"));
    env.add_test("skip", |v: &Value| result_flag(v, "skipped", "skipped"));
    env.add_test("unreachable", |v: &Value| {
        result_flag(v, "unreachable", "unreachable")
    });
    env.add_test("reachable", |v: &Value| {
        result_flag(v, "unreachable", "reachable").map(|f| !f)
    });
    env.add_test("sequence", |v: &Value| -> Result<bool, Error> {
        strict(v)?;
        Ok(matches!(
            v.kind(),
            ValueKind::Seq | ValueKind::Map | ValueKind::String | ValueKind::Bytes
        ))
    });
    env.add_test("iterable", |v: &Value| -> Result<bool, Error> {
        strict(v)?;
        Ok(matches!(
            v.kind(),
            ValueKind::Seq
                | ValueKind::Map
                | ValueKind::String
                | ValueKind::Bytes
                | ValueKind::Iterable
        ))
    });
    env.add_test("truthy", |v: &Value, args: Rest<ValueOrKwargs>| {
        truthy(v, &args.into_values())
    });
    env.add_test("falsy", |v: &Value, args: Rest<ValueOrKwargs>| {
        truthy(v, &args.into_values()).map(|t| !t)
    });
    env.add_test("file", |v: &Value| path_test(v, |p| p.is_file()));
    env.add_test("directory", |v: &Value| path_test(v, |p| p.is_dir()));
    env.add_test("exists", |v: &Value| path_test(v, |p| p.exists()));
    env.add_test("link", |v: &Value| {
        path_test(v, |p| {
            p.symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink())
        })
    });
    env.add_test("abs", |v: &Value| path_test(v, |p| p.is_absolute()));
    env.add_test("subset", |a: &Value, b: &Value| -> Result<bool, Error> {
        let (a, b) = (items(a)?, items(b)?);
        Ok(a.iter().all(|x| b.contains(x)))
    });
    env.add_test("superset", |a: &Value, b: &Value| -> Result<bool, Error> {
        let (a, b) = (items(a)?, items(b)?);
        Ok(b.iter().all(|x| a.contains(x)))
    });
    env.add_test(
        "contains",
        |seq: &Value, x: &Value| -> Result<bool, Error> { Ok(items(seq)?.contains(x)) },
    );
    env.add_test("any", |v: &Value| -> Result<bool, Error> {
        Ok(items(v)?.iter().any(Value::is_true))
    });
    env.add_test("all", |v: &Value| -> Result<bool, Error> {
        Ok(items(v)?.iter().all(Value::is_true))
    });
}

/// `regex(pattern, ignorecase=False, multiline=False, match_type='search')` and its
/// `match`/`search` shorthands.
fn regex_test(v: &Value, args: &[Value], how: Option<&str>) -> Result<bool, Error> {
    let a = FArgs::new(args)?;
    let pattern = a.str(0, "pattern")?.unwrap_or_default();
    let ignorecase = a.bool(1, "ignorecase", false)?;
    let multiline = a.bool(2, "multiline", false)?;
    let how = match how {
        Some(h) => h.to_string(),
        None => a.str(3, "match_type")?.unwrap_or_else(|| "search".into()),
    };
    a.done()?;
    matches(&test_input(v)?, &pattern, ignorecase, multiline, &how)
}

/// `version(version, operator='eq', strict=False, version_type=None)`.
fn version(v: &Value, args: Rest<ValueOrKwargs>) -> Result<bool, Error> {
    let args = args.into_values();
    strict(v)?;
    let a = FArgs::new(&args)?;
    let other = a.str(0, "version")?.unwrap_or_default();
    let op = a.str(1, "operator")?.unwrap_or_else(|| "eq".into());
    let strict_mode = a.bool(2, "strict", false)?;
    let vtype = a.str(3, "version_type")?;
    a.done()?;
    super::version::compare(&py_str(v), &other, &op, strict_mode, vtype.as_deref()).map_err(err)
}

fn expect_result(v: &Value, test: &str) -> Result<(), Error> {
    strict(v)?;
    if v.kind() != ValueKind::Map {
        return Err(err(format!(
            "The '{test}' test expects a dictionary, got {}",
            py_type(v)
        )));
    }
    Ok(())
}

fn result_flag(v: &Value, key: &str, test: &str) -> Result<bool, Error> {
    expect_result(v, test)?;
    Ok(lookup(v, &Value::from(key)).is_true())
}

/// `finished`/`started` of an async job's result (`== 1`, so `true` too); a result without the
/// key counts as finished or started, as in Ansible.
fn job_flag(v: &Value, key: &str) -> Result<bool, Error> {
    expect_result(v, key)?;
    let f = lookup(v, &Value::from(key));
    if f.is_undefined() {
        return Ok(true);
    }
    Ok(match serde_json::to_value(&f) {
        Ok(serde_json::Value::Bool(b)) => b,
        Ok(serde_json::Value::Number(n)) => n.as_f64() == Some(1.0),
        _ => false,
    })
}

/// `changed`: the result's own flag, or any loop item's.
fn changed(v: &Value) -> Result<bool, Error> {
    expect_result(v, "changed")?;
    let own = lookup(v, &Value::from("changed"));
    if !own.is_undefined() {
        return Ok(own.is_true());
    }
    let results = lookup(v, &Value::from("results"));
    if results.kind() == ValueKind::Seq {
        return Ok(items(&results)?
            .iter()
            .any(|r| r.kind() == ValueKind::Map && lookup(r, &Value::from("changed")).is_true()));
    }
    Ok(false)
}

/// `truthy(convert_bool=False)`: Python truthiness, optionally after Ansible's boolean
/// conversion of strings like `"no"`.
fn truthy(v: &Value, args: &[Value]) -> Result<bool, Error> {
    strict(v)?;
    let a = FArgs::new(args)?;
    let convert = a.bool(0, "convert_bool", false)?;
    a.done()?;
    if convert
        && let Ok(j) = serde_json::to_value(v)
        && let Some(b) = crate::values::to_bool(&j)
    {
        return Ok(b);
    }
    Ok(v.is_true())
}

/// Controller-side path tests; `~` expands to the controller user's home like Python's
/// `os.path.expanduser`.
fn path_test(v: &Value, f: impl Fn(&Path) -> bool) -> Result<bool, Error> {
    strict(v)?;
    let s = py_str(v);
    let expanded = match (s.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{home}{rest}")
        }
        _ => s,
    };
    Ok(f(Path::new(&expanded)))
}
