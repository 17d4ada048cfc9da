//! Python methods on template values (`d.items()`, `s.split(',')`, `s.startswith(...)`).
//! The common ones are implemented here with Python's exact semantics (`split()` without a
//! separator, `startswith` with a tuple, `keys()` as a real list); the rest fall back to
//! minijinja-contrib's pycompat.

use minijinja::value::{ValueKind, from_args};
use minijinja::{Environment, Error, ErrorKind, State, Value};

use super::filters::support::{items, pairs, py_split};
use super::pyrepr::py_str;
use super::undefined::lookup;

pub fn register(env: &mut Environment<'static>) {
    env.set_unknown_method_callback(call);
}

fn call(state: &mut State, value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    let handled = match value.kind() {
        ValueKind::String => string_method(value.as_str().unwrap_or_default(), method, args)?,
        ValueKind::Map => map_method(value, method, args)?,
        ValueKind::Seq => seq_method(value, method, args)?,
        _ => None,
    };
    match handled {
        Some(v) => Ok(v),
        None => minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
            .map_err(|e| {
                if e.kind() == ErrorKind::UnknownMethod {
                    Error::new(
                        ErrorKind::UnknownMethod,
                        format!(
                            "'{}' object has no attribute '{method}'",
                            super::pyrepr::py_type(value)
                        ),
                    )
                } else {
                    e
                }
            }),
    }
}

/// Accepts a string or a list/tuple of strings, as `str.startswith` does.
fn prefixes(v: &Value) -> Result<Vec<String>, Error> {
    Ok(match v.kind() {
        ValueKind::Seq => items(v)?.iter().map(py_str).collect(),
        _ => vec![py_str(v)],
    })
}

fn strip_chars(args: &[Value]) -> Result<Option<Vec<char>>, Error> {
    let (chars,): (Option<Value>,) = from_args(args)?;
    Ok(chars
        .filter(|c| !c.is_none())
        .map(|c| py_str(&c).chars().collect()))
}

fn string_method(s: &str, method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    Ok(Some(match method {
        "split" | "rsplit" => {
            let (sep, maxsplit): (Option<Value>, Option<i64>) = from_args(args)?;
            let sep = sep.filter(|v| !v.is_none()).map(|v| py_str(&v));
            let max = maxsplit.unwrap_or(-1);
            if method == "rsplit" && max >= 0 {
                // Split from the right: reverse, split, reverse back.
                let rev: String = s.chars().rev().collect();
                let rsep: Option<String> = sep.map(|x| x.chars().rev().collect());
                let mut parts: Vec<String> = py_split(&rev, rsep.as_deref(), max)?
                    .into_iter()
                    .map(|p| p.chars().rev().collect())
                    .collect();
                parts.reverse();
                Value::from(parts)
            } else {
                Value::from(py_split(s, sep.as_deref(), max)?)
            }
        }
        "strip" => Value::from(match strip_chars(args)? {
            Some(cs) => s.trim_matches(&cs[..]),
            None => s.trim(),
        }),
        "lstrip" => Value::from(match strip_chars(args)? {
            Some(cs) => s.trim_start_matches(&cs[..]),
            None => s.trim_start(),
        }),
        "rstrip" => Value::from(match strip_chars(args)? {
            Some(cs) => s.trim_end_matches(&cs[..]),
            None => s.trim_end(),
        }),
        "startswith" | "endswith" => {
            let (p,): (Value,) = from_args(args)?;
            let ps = prefixes(&p)?;
            Value::from(ps.iter().any(|p| {
                if method == "startswith" {
                    s.starts_with(p.as_str())
                } else {
                    s.ends_with(p.as_str())
                }
            }))
        }
        "lower" => Value::from(s.to_lowercase()),
        "upper" => Value::from(s.to_uppercase()),
        "title" => {
            // `str.title()` as with minijinja 2, close to Python's: a word starts after
            // whitespace or ASCII punctuation, so `"it's".title()` is `It'S`. pycompat calls the
            // `title` filter, which minijinja 3 made split words like Jinja2's (`It's`).
            let () = from_args(args)?;
            let mut out = String::with_capacity(s.len());
            let mut start = true;
            for c in s.chars() {
                if c.is_ascii_punctuation() || c.is_whitespace() {
                    out.push(c);
                    start = true;
                } else if start {
                    out.extend(c.to_uppercase());
                    start = false;
                } else {
                    out.extend(c.to_lowercase());
                }
            }
            Value::from(out)
        }
        "replace" => {
            let (old, new, count): (Value, Value, Option<i64>) = from_args(args)?;
            let (old, new) = (py_str(&old), py_str(&new));
            Value::from(match count {
                Some(n) if n >= 0 => s.replacen(&old, &new, n as usize),
                _ => s.replace(&old, &new),
            })
        }
        "join" => {
            let (xs,): (Value,) = from_args(args)?;
            let parts: Vec<String> = items(&xs)?.iter().map(py_str).collect();
            Value::from(parts.join(s))
        }
        "index" => {
            let (sub,): (Value,) = from_args(args)?;
            let sub = py_str(&sub);
            match s.find(&sub) {
                Some(i) => Value::from(s[..i].chars().count()),
                None => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "substring not found",
                    ));
                }
            }
        }
        _ => return Ok(None),
    }))
}

fn map_method(v: &Value, method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    Ok(Some(match method {
        "items" => {
            let () = from_args(args)?;
            Value::from(
                pairs(v)?
                    .into_iter()
                    .map(|(k, x)| Value::from(vec![k, x]))
                    .collect::<Vec<_>>(),
            )
        }
        "keys" => {
            let () = from_args(args)?;
            Value::from(pairs(v)?.into_iter().map(|(k, _)| k).collect::<Vec<_>>())
        }
        "values" => {
            let () = from_args(args)?;
            Value::from(pairs(v)?.into_iter().map(|(_, x)| x).collect::<Vec<_>>())
        }
        "get" => {
            let (key, default): (Value, Option<Value>) = from_args(args)?;
            let found = lookup(v, &key);
            if found.is_undefined() {
                default.unwrap_or(Value::from(()))
            } else {
                found
            }
        }
        "copy" => {
            let () = from_args(args)?;
            Value::from_pairs(pairs(v)?)
        }
        _ => return Ok(None),
    }))
}

fn seq_method(v: &Value, method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    Ok(Some(match method {
        "index" => {
            let (x,): (Value,) = from_args(args)?;
            match items(v)?.iter().position(|i| *i == x) {
                Some(i) => Value::from(i),
                None => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("{} is not in list", py_str(&x)),
                    ));
                }
            }
        }
        "count" => {
            let (x,): (Value,) = from_args(args)?;
            Value::from(items(v)?.iter().filter(|i| **i == x).count())
        }
        _ => return Ok(None),
    }))
}
