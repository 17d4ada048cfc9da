//! What every filter needs: Python-style positional-or-keyword arguments, errors, Jinja's
//! strict undefined, iterating values and mappings, and Python's `str.split`.

use minijinja::value::{Kwargs, ValueKind, from_args};
use minijinja::{Error, ErrorKind, Value};

use crate::template::pyrepr::{py_str, py_type};

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

/// Errors on an undefined input, naming nothing: the caller's diagnosis names the variable.
pub(crate) fn strict(v: &Value) -> Result<(), Error> {
    if v.is_undefined() {
        Err(Error::from(ErrorKind::UndefinedError))
    } else {
        Ok(())
    }
}

/// Iterates a value, failing (strictly) on undefined like Jinja's StrictUndefined.
pub(crate) fn items(v: &Value) -> Result<Vec<Value>, Error> {
    strict(v)?;
    Ok(v.try_iter()?.collect())
}

/// Key/value pairs of a mapping, in order.
pub(crate) fn pairs(v: &Value) -> Result<Vec<(Value, Value)>, Error> {
    strict(v)?;
    if v.kind() != ValueKind::Map {
        return Err(err(format!("expected a dict, got {}", py_type(v))));
    }
    Ok(v.try_iter()?
        .map(|k| {
            let x = v.get_item(&k).unwrap_or_default();
            (k, x)
        })
        .collect())
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
