//! Variables by name: `vars` (values of variables named by data, `default=` for missing
//! ones) and `varnames` (names matching regular expressions).

use minijinja::State;
use minijinja::value::{Kwargs, Value};

use super::fail;

/// Functions and globals of the environment (`range`, `lookup`) are not variables.
fn is_global(state: &State, name: &str) -> bool {
    state.env().globals().any(|(g, _)| g == name)
}

pub fn vars(
    state: &State,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, minijinja::Error> {
    let default = kwargs.get::<Option<Value>>("default")?;
    let mut out = Vec::new();
    for t in terms {
        let Some(name) = t.as_str() else {
            return Err(fail(format!(
                "Variable name must be 'str' not '{}'.",
                crate::template::pyrepr::py_type(t)
            )));
        };
        match (state.lookup(name).filter(|v| !v.is_undefined()), &default) {
            (Some(v), _) => out.push(v),
            (None, Some(d)) if !d.is_none() => out.push(d.clone()),
            (None, _) => {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::UndefinedError,
                    format!("No variable named '{name}' was found."),
                ));
            }
        }
    }
    Ok(out)
}

pub fn varnames(
    state: &State,
    terms: &[Value],
    _: &Kwargs,
) -> Result<Vec<Value>, minijinja::Error> {
    let mut names: Vec<String> = state
        .known_variables()
        .into_iter()
        .map(|n| n.into_owned())
        .filter(|n| !n.starts_with("__strata_") && !is_global(state, n))
        .collect();
    names.dedup();
    let mut out = Vec::new();
    for t in terms {
        let Some(term) = t.as_str() else {
            return Err(fail(format!(
                "Invalid setting identifier, \"{t}\" is not a string, it is a {}",
                crate::template::pyrepr::py_type(t)
            )));
        };
        let re = fancy_regex::Regex::new(term).map_err(|e| {
            fail(format!(
                "Unable to use \"{term}\" as a search parameter: {e}"
            ))
        })?;
        for n in &names {
            if re.is_match(n).unwrap_or(false) {
                out.push(Value::from(n.as_str()));
            }
        }
    }
    Ok(out)
}
