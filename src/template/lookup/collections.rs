//! Lookups that reshape data, the engines of the classic `with_*` loops: `items` (flattened
//! one level), `list`, `dict` (`{key, value}` pairs), `nested` (the product), `together`
//! (zipped), `subelements` (each element with each entry of its sub-list), `indexed_items`
//! and `random_choice`.

use minijinja::State;
use minijinja::value::{Kwargs, Value, ValueKind};
use serde_json::Value as J;

use super::{fail, term_str};

type Out = Result<Vec<Value>, minijinja::Error>;

fn to_json(v: &Value) -> Result<J, minijinja::Error> {
    crate::template::jinja_to_json(v).map_err(fail)
}

fn from_json(v: &J) -> Value {
    Value::from(minijinja::value::Serde(v))
}

/// Lookup base class's `_flatten`: lists are spliced in, anything else appended.
fn flatten(terms: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for t in terms {
        if t.kind() == ValueKind::Seq {
            out.extend(t.try_iter().into_iter().flatten());
        } else {
            out.push(t);
        }
    }
    out
}

/// Ansible's `listify_lookup_plugin_terms`: a list stays, anything else is one element.
fn listify(v: &Value) -> Vec<Value> {
    if v.kind() == ValueKind::Seq {
        v.try_iter().map(|i| i.collect()).unwrap_or_default()
    } else {
        vec![v.clone()]
    }
}

pub fn items(_: &State, terms: &[Value], _: &Kwargs) -> Out {
    Ok(flatten(terms.iter().cloned()))
}

pub fn list(_: &State, terms: &[Value], _: &Kwargs) -> Out {
    Ok(terms.to_vec())
}

pub fn dict(_: &State, terms: &[Value], _: &Kwargs) -> Out {
    let mut out = Vec::new();
    for t in terms {
        let J::Object(m) = to_json(t)? else {
            return Err(fail(format!(
                "with_dict expects a dict, got {}",
                crate::template::pyrepr::py_type(t)
            )));
        };
        for (k, v) in m {
            out.push(from_json(&serde_json::json!({"key": k, "value": v})));
        }
    }
    Ok(out)
}

pub fn nested(_: &State, terms: &[Value], _: &Kwargs) -> Out {
    let mut lists = terms.iter().map(listify);
    let Some(first) = lists.next() else {
        return Err(fail(
            "with_nested requires at least one element in the nested list",
        ));
    };
    let mut result: Vec<Vec<Value>> = first.into_iter().map(|x| vec![x]).collect();
    for next in lists {
        let mut combined = Vec::new();
        for x in &result {
            for y in &next {
                // `_combine` flattens each pair, so list elements are spliced in.
                let mut row = x.clone();
                row.extend(flatten([y.clone()]));
                combined.push(row);
            }
        }
        result = combined;
    }
    Ok(result
        .into_iter()
        .map(|row| Value::from(flatten(row)))
        .collect())
}

pub fn together(_: &State, terms: &[Value], _: &Kwargs) -> Out {
    if terms.is_empty() {
        return Err(fail(
            "with_together requires at least one element in each list",
        ));
    }
    let lists: Vec<Vec<Value>> = terms.iter().map(listify).collect();
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..n)
        .map(|i| {
            let row = lists
                .iter()
                .map(|l| l.get(i).cloned().unwrap_or_else(|| Value::from(())));
            Value::from(flatten(row))
        })
        .collect())
}

pub fn indexed_items(_: &State, terms: &[Value], _: &Kwargs) -> Out {
    Ok(flatten(terms.iter().cloned())
        .into_iter()
        .enumerate()
        .map(|(i, v)| Value::from(vec![Value::from(i), v]))
        .collect())
}

pub fn random_choice(_: &State, terms: &[Value], _: &Kwargs) -> Out {
    use rand::Rng;
    if terms.is_empty() {
        return Ok(vec![]);
    }
    let i = rand::rng().random_range(0..terms.len());
    Ok(vec![terms[i].clone()])
}

/// `subelements`: `[list or dict, 'key.subkey', {skip_missing: bool}]`. As in Ansible, the
/// sub-list is taken out of the element it came from.
pub fn subelements(_: &State, terms: &[Value], _: &Kwargs) -> Out {
    let bad = |msg: &str| {
        fail(format!(
            "subelements lookup expects a list of two or three items, {msg}"
        ))
    };
    if !(2..=3).contains(&terms.len()) {
        return Err(bad(""));
    }
    let data = to_json(&terms[0])?;
    let Some(path) = terms[1].as_str() else {
        return Err(bad(
            "first a dict or a list, second a string pointing to the subkey",
        ));
    };
    let elements: Vec<J> = match data {
        J::Array(a) => a,
        J::Object(m) => {
            if m.get("skipped").is_some_and(|s| s != &J::Bool(false)) {
                return Ok(vec![]);
            }
            m.into_iter().map(|(_, v)| v).collect()
        }
        _ => {
            return Err(bad(
                "first a dict or a list, second a string pointing to the subkey",
            ));
        }
    };
    let mut skip_missing = false;
    if let Some(flags) = terms.get(2) {
        let J::Object(f) = to_json(flags)? else {
            return Err(bad(
                "the optional third item must be a dict with flags ('skip_missing',)",
            ));
        };
        for (k, v) in f {
            if k != "skip_missing" {
                return Err(bad(
                    "the optional third item must be a dict with flags ('skip_missing',)",
                ));
            }
            skip_missing = crate::values::to_bool(&v).unwrap_or(false);
        }
    }
    let keys: Vec<&str> = path.split('.').collect();
    let mut out = Vec::new();
    for mut item0 in elements {
        let J::Object(obj) = &item0 else {
            return Err(fail(format!(
                "subelements lookup expects a dictionary, got '{}'",
                term_str(&from_json(&item0))
            )));
        };
        if obj.get("skipped").is_some_and(|s| s != &J::Bool(false)) {
            continue;
        }
        let sublist = match take_sublist(&mut item0, &keys, skip_missing)? {
            Some(l) => l,
            None => continue,
        };
        for item1 in sublist {
            out.push(Value::from(vec![from_json(&item0), from_json(&item1)]));
        }
    }
    Ok(out)
}

/// Walks `keys` into `item` and removes the list at the last one. `None`: skipped.
fn take_sublist(
    item: &mut J,
    keys: &[&str],
    skip_missing: bool,
) -> Result<Option<Vec<J>>, minijinja::Error> {
    let shown = term_str(&from_json(item));
    let mut cur = item;
    for (i, key) in keys.iter().enumerate() {
        let last = i + 1 == keys.len();
        let Some(obj) = cur.as_object_mut() else {
            return Ok(None);
        };
        let Some(v) = obj.get(*key) else {
            if skip_missing {
                return Ok(None);
            }
            return Err(fail(format!(
                "could not find '{key}' key in iterated item '{shown}'"
            )));
        };
        if last {
            let J::Array(_) = v else {
                return Err(fail(format!(
                    "the key {key} should point to a list, got '{}'",
                    term_str(&from_json(v))
                )));
            };
            let Some(J::Array(l)) = obj.remove(*key) else {
                return Ok(None);
            };
            return Ok(Some(l));
        }
        if !v.is_object() {
            if skip_missing {
                return Ok(None);
            }
            return Err(fail(format!(
                "the key {key} should point to a dictionary, got '{}'",
                term_str(&from_json(v))
            )));
        }
        cur = obj.get_mut(*key).expect("checked above");
    }
    Ok(None)
}
