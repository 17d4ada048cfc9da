//! Ansible's scalar filters (conversions, strings, numbers) and the registry of every filter.
//! Where minijinja's builtin differs from Jinja2/Ansible (Python `str()` of booleans, `int`
//! with a default and base, `bool` with YAML words) the builtin is replaced.

use minijinja::value::{Kwargs, Rest, ValueKind, ValueOrKwargs, from_args};
use minijinja::{Environment, Error, ErrorKind, Value};

use super::pyrepr::{py_str, py_type};

/// Positional-or-keyword arguments of a filter, as Python functions accept them. Filters take
/// `Rest<ValueOrKwargs>` and pass its `into_values()` here: minijinja 3 hands the keyword
/// arguments only to parameters of that type.
pub(crate) struct FArgs<'a> {
    pos: &'a [Value],
    kw: Kwargs,
}

impl<'a> FArgs<'a> {
    pub fn new(rest: &'a [Value]) -> Result<Self, Error> {
        let (pos, kw): (&[Value], Kwargs) = from_args(rest)?;
        Ok(FArgs { pos, kw })
    }

    /// Argument `i` (0-based, after the filtered value) or keyword `name`.
    pub fn get(&self, i: usize, name: &str) -> Result<Option<Value>, Error> {
        if let Some(v) = self.pos.get(i) {
            return Ok(Some(v.clone()));
        }
        self.kw.get::<Option<Value>>(name)
    }

    pub fn bool(&self, i: usize, name: &str, default: bool) -> Result<bool, Error> {
        Ok(self.get(i, name)?.map(|v| v.is_true()).unwrap_or(default))
    }

    pub fn str(&self, i: usize, name: &str) -> Result<Option<String>, Error> {
        Ok(self
            .get(i, name)?
            .filter(|v| !v.is_none())
            .map(|v| py_str(&v)))
    }

    pub fn int(&self, i: usize, name: &str) -> Result<Option<i64>, Error> {
        match self.get(i, name)? {
            None => Ok(None),
            Some(v) if v.is_none() => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| err(format!("argument '{name}' must be an integer"))),
        }
    }

    pub fn positional(&self) -> &'a [Value] {
        self.pos
    }

    pub fn done(&self) -> Result<(), Error> {
        self.kw.assert_all_used()
    }
}

pub(crate) fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

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
    super::filters_coll::register(env);
    super::filters_data::register(env);
    super::filters_regex::register(env);
}

/// Errors on an undefined input, naming nothing: the caller's diagnosis names the variable.
pub(crate) fn strict(v: &Value) -> Result<(), Error> {
    if v.is_undefined() {
        Err(Error::from(ErrorKind::UndefinedError))
    } else {
        Ok(())
    }
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
            Some(path) => super::filters_coll::attr_path(&item, path),
            None => item,
        };
        strict(&item)?;
        parts.push(py_str(&item));
    }
    Ok(parts.join(&sep))
}

/// Python `str.split(sep=None, maxsplit=-1)`.
pub(crate) fn py_split(s: &str, sep: Option<&str>, maxsplit: i64) -> Result<Vec<String>, Error> {
    let max = if maxsplit < 0 {
        usize::MAX
    } else {
        maxsplit as usize
    };
    match sep {
        Some("") => Err(err("empty separator")),
        Some(sep) => {
            let mut out = Vec::new();
            let mut rest = s;
            while out.len() < max {
                match rest.find(sep) {
                    Some(i) => {
                        out.push(rest[..i].to_string());
                        rest = &rest[i + sep.len()..];
                    }
                    None => break,
                }
            }
            out.push(rest.to_string());
            Ok(out)
        }
        None => {
            let mut out = Vec::new();
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if out.len() == max {
                    out.push(rest.trim_end().to_string());
                    break;
                }
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                out.push(rest[..end].to_string());
                rest = rest[end..].trim_start();
            }
            Ok(out)
        }
    }
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
