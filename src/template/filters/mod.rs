//! Ansible's scalar filters (conversions, strings, numbers) and the registry of every filter.
//! Where minijinja's builtin differs from Jinja2/Ansible (Python `str()` of booleans, `int`
//! with a default and base, `bool` with YAML words) the builtin is replaced.

mod collections;
mod data;
pub(crate) mod regex;
pub(crate) mod support;
mod yaml_dump;

use minijinja::value::{Rest, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, Value};

use crate::template::pyrepr::{py_str, py_type};
use support::{FArgs, err, py_split, strict};

/// Registers every Ansible filter, replacing minijinja builtins where semantics differ.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("default", default);
    env.add_filter("d", default);
    env.add_filter("mandatory", mandatory);
    env.add_filter("bool", to_bool);
    env.add_filter("int", int);
    env.add_filter("float", float);
    env.add_filter("string", |v: &Value| -> Result<Value, Error> {
        strict(v).map(|_| Value::from(py_str(v)))
    });
    env.add_filter("join", join);
    env.add_filter("split", split);
    env.add_filter("replace", replace);
    env.add_filter("ternary", ternary);
    env.add_filter("quote", |v: &Value| -> Result<String, Error> {
        strict(v)?;
        Ok(shell_quote(&if v.is_none() {
            String::new()
        } else {
            py_str(v)
        }))
    });
    env.add_filter("round", round);
    env.add_filter("type_debug", |v: &Value| py_type(v).to_string());
    env.add_filter("log", |v: f64, base: Option<f64>| -> f64 {
        base.map(|b| v.ln() / b.ln()).unwrap_or(v.ln())
    });
    env.add_filter("pow", |v: f64, e: f64| -> f64 { v.powf(e) });
    env.add_filter("root", |v: f64, n: Option<f64>| -> f64 {
        v.powf(1.0 / n.unwrap_or(2.0))
    });
    collections::register(env);
    data::register(env);
    regex::register(env);
}

/// `default(value='', boolean=False)`.
fn default(v: &Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let a = FArgs::new(&args)?;
    let other = a
        .get(0, "default_value")?
        .unwrap_or_else(|| Value::from(""));
    let boolean = a.bool(1, "boolean", false)?;
    a.done()?;
    Ok(if v.is_undefined() || (boolean && !v.is_true()) {
        other
    } else {
        v.clone()
    })
}

/// Detail of the error raised by `mandatory` without a message; the templar names the
/// variable when it sees it.
pub const MANDATORY: &str = "Mandatory variable not defined.";

/// `mandatory(msg=None)`: the undefined error is explained (and the variable named) by the
/// templar's diagnosis; a custom message replaces it.
fn mandatory(v: &Value, msg: Option<String>) -> Result<Value, Error> {
    if !v.is_undefined() {
        return Ok(v.clone());
    }
    match msg {
        Some(m) => Err(err(m)),
        None => Err(Error::new(
            ErrorKind::UndefinedError,
            "Mandatory variable not defined.",
        )),
    }
}

/// Ansible's `bool`: `yes/on/1/true` (any case) and `1` are true, everything else false.
fn to_bool(v: &Value) -> Result<bool, Error> {
    strict(v)?;
    Ok(match v.kind() {
        ValueKind::Bool => v.is_true(),
        ValueKind::String => {
            matches!(
                v.as_str()
                    .unwrap_or_default()
                    .trim()
                    .to_lowercase()
                    .as_str(),
                "yes" | "on" | "1" | "true"
            )
        }
        ValueKind::Number => f64::try_from(v.clone()).map(|f| f == 1.0).unwrap_or(false),
        _ => false,
    })
}

/// Jinja2's `int(default=0, base=10)`: strings may carry `0x`/`0o`/`0b` prefixes for
/// non-decimal bases, float strings are truncated, and failures yield the default.
fn int(v: &Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    strict(v)?;
    let a = FArgs::new(&args)?;
    let default = a.get(0, "default")?.unwrap_or(Value::from(0));
    let base = a.int(1, "base")?.unwrap_or(10);
    a.done()?;
    Ok(match v.kind() {
        ValueKind::Bool => Value::from(v.is_true() as i64),
        ValueKind::Number if v.is_integer() => v.clone(),
        ValueKind::Number => f64::try_from(v.clone())
            .map(|f| Value::from(f.trunc() as i64))
            .unwrap_or(default),
        ValueKind::String => parse_int(v.as_str().unwrap_or_default(), base as u32)
            .map(Value::from)
            .unwrap_or(default),
        _ => default,
    })
}

fn parse_int(s: &str, base: u32) -> Option<i64> {
    let t = s.trim().replace('_', "");
    let (neg, digits) = match t.strip_prefix('-') {
        Some(r) => (true, r.to_string()),
        None => (false, t.strip_prefix('+').unwrap_or(&t).to_string()),
    };
    let lower = digits.to_lowercase();
    let body = match base {
        16 => lower.strip_prefix("0x").unwrap_or(&lower),
        8 => lower.strip_prefix("0o").unwrap_or(&lower),
        2 => lower.strip_prefix("0b").unwrap_or(&lower),
        _ => &lower,
    };
    let n = match i64::from_str_radix(body, base) {
        Ok(n) => n,
        Err(_) if base == 10 => body.parse::<f64>().ok().filter(|f| f.is_finite())?.trunc() as i64,
        Err(_) => return None,
    };
    Some(if neg { -n } else { n })
}

/// Jinja2's `float(default=0.0)`. `default` is `ValueOrKwargs` to keep minijinja 2's binding of
/// a keyword-argument map to it, which minijinja 3 rejects: `'1.5' | float(default=0)` is 1.5
/// (though an unconvertible value still yields the map, not the keyword's value).
fn float(v: &Value, default: Option<ValueOrKwargs>) -> Result<Value, Error> {
    strict(v)?;
    let default = default.map(Value::from).unwrap_or(Value::from(0.0));
    Ok(match v.kind() {
        ValueKind::Bool => Value::from(if v.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(v.clone()).map(Value::from).unwrap_or(default),
        ValueKind::String => v
            .as_str()
            .unwrap_or_default()
            .trim()
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or(default),
        _ => default,
    })
}

/// Jinja2's `join(d='', attribute=None)`, stringifying items like Python.
fn join(v: &Value, args: Rest<ValueOrKwargs>) -> Result<String, Error> {
    let args = args.into_values();
    strict(v)?;
    let a = FArgs::new(&args)?;
    let sep = a.str(0, "d")?.unwrap_or_default();
    let attr = a.str(1, "attribute")?;
    a.done()?;
    if let Some(s) = v.as_str() {
        return Ok(s.chars().map(String::from).collect::<Vec<_>>().join(&sep));
    }
    let mut parts = Vec::new();
    for item in v.try_iter()? {
        let item = match &attr {
            Some(path) => collections::attr_path(&item, path),
            None => item,
        };
        strict(&item)?;
        parts.push(py_str(&item));
    }
    Ok(parts.join(&sep))
}

fn split(v: &Value, sep: Option<Value>, maxsplit: Option<i64>) -> Result<Value, Error> {
    strict(v)?;
    let s = py_str(v);
    let sep = sep.filter(|s| !s.is_none()).map(|s| py_str(&s));
    Ok(Value::from(py_split(
        &s,
        sep.as_deref(),
        maxsplit.unwrap_or(-1),
    )?))
}

/// Python `str.replace(old, new, count=-1)`.
fn replace(v: &Value, old: String, new: String, count: Option<i64>) -> Result<String, Error> {
    strict(v)?;
    let s = py_str(v);
    Ok(match count {
        Some(n) if n >= 0 => s.replacen(&old, &new, n as usize),
        _ => s.replace(&old, &new),
    })
}

/// `ternary(true_val, false_val, none_val=None)`. `ValueOrKwargs` for the same reason as in
/// [`float`]: `ternary('a', 'b', none_val='c')` gives 'a' or 'b' (and the map for None).
fn ternary(
    v: &Value,
    t: ValueOrKwargs,
    f: ValueOrKwargs,
    none_val: Option<ValueOrKwargs>,
) -> Result<Value, Error> {
    strict(v)?;
    if v.is_none()
        && let Some(n) = none_val.filter(|n| !n.is_none())
    {
        return Ok(n.into());
    }
    Ok(if v.is_true() { t } else { f }.into())
}

/// Python's `shlex.quote`.
pub fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

/// Jinja2's `round(precision=0, method='common')`; `common` rounds half to even like Python.
fn round(v: &Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    strict(v)?;
    let a = FArgs::new(&args)?;
    let precision = a.int(0, "precision")?.unwrap_or(0) as i32;
    let method = a.str(1, "method")?.unwrap_or_else(|| "common".into());
    a.done()?;
    let x = f64::try_from(v.clone())
        .map_err(|_| err(format!("cannot round a value of type {}", py_type(v))))?;
    let m = 10f64.powi(precision);
    let r = match method.as_str() {
        "common" => {
            if v.is_integer() && precision >= 0 {
                return Ok(v.clone());
            }
            (x * m).round_ties_even() / m
        }
        "ceil" => (x * m).ceil() / m,
        "floor" => (x * m).floor() / m,
        _ => return Err(err("method must be common, ceil or floor")),
    };
    Ok(Value::from(r))
}
