//! Ansible's collection filters: `combine`, `dict2items`, `items2dict`, `flatten`, set
//! operations, `zip`, `product`, `subelements`, and Jinja2's `min`/`max`/`sum` with `attribute`.

use minijinja::value::{Rest, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, Value};

use super::support::{FArgs, err, items, pairs, strict};
use crate::template::pyrepr::{py_str, py_type};
use crate::template::undefined::lookup;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("flatten", flatten);
    env.add_filter("union", |a: Value, b: Value| set_op(a, b, SetOp::Union));
    env.add_filter("intersect", |a: Value, b: Value| {
        set_op(a, b, SetOp::Intersect)
    });
    env.add_filter("difference", |a: Value, b: Value| {
        set_op(a, b, SetOp::Difference)
    });
    env.add_filter("symmetric_difference", |a: Value, b: Value| {
        set_op(a, b, SetOp::Symmetric)
    });
    env.add_filter("zip", |a: Value, rest: Rest<Value>| zip(a, rest.0, None));
    env.add_filter("zip_longest", zip_longest);
    env.add_filter("product", product);
    env.add_filter("min", |v: Value, args: Rest<ValueOrKwargs>| {
        min_max(v, &args.into_values(), true)
    });
    env.add_filter("max", |v: Value, args: Rest<ValueOrKwargs>| {
        min_max(v, &args.into_values(), false)
    });
    env.add_filter("sum", sum);
    env.add_filter("subelements", subelements);
    env.add_filter("extract", extract);
    env.add_function("dict", dict);
}

/// Follows a dotted attribute path (`a.b.0`), as Jinja2's `attribute=` arguments do.
pub(crate) fn attr_path(v: &Value, path: &str) -> Value {
    path.split('.')
        .fold(v.clone(), |cur, part| lookup(&cur, &Value::from(part)))
}

/// `combine(*dicts, recursive=False, list_merge='replace')`.
fn combine(v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let a = FArgs::new(&args)?;
    let recursive = a.bool(usize::MAX, "recursive", false)?;
    let list_merge = a
        .str(usize::MAX, "list_merge")?
        .unwrap_or_else(|| "replace".into());
    a.done()?;
    if ![
        "replace",
        "keep",
        "append",
        "prepend",
        "append_rp",
        "prepend_rp",
    ]
    .contains(&list_merge.as_str())
    {
        return Err(err(format!(
            "'{list_merge}' is not a valid list_merge value"
        )));
    }
    let mut dicts = Vec::new();
    // `[d1, d2] | combine` merges the list's dicts; arguments may also be lists of dicts.
    for x in std::iter::once(&v).chain(a.positional()) {
        strict(x)?;
        match x.kind() {
            ValueKind::Map => dicts.push(x.clone()),
            ValueKind::Seq | ValueKind::Iterable => dicts.extend(items(x)?),
            _ => {
                return Err(err(format!(
                    "combine expects dictionaries, got {}",
                    py_type(x)
                )));
            }
        }
    }
    let mut acc = Value::from_pairs(Vec::<(Value, Value)>::new());
    for d in dicts {
        acc = merge(&acc, &d, recursive, &list_merge)?;
    }
    Ok(acc)
}

fn merge(a: &Value, b: &Value, recursive: bool, list_merge: &str) -> Result<Value, Error> {
    let mut out = pairs(a)?;
    for (k, bv) in pairs(b)? {
        let pos = out.iter().position(|(x, _)| *x == k);
        let new = match pos.map(|i| &out[i].1) {
            Some(av) if recursive && av.kind() == ValueKind::Map && bv.kind() == ValueKind::Map => {
                merge(av, &bv, recursive, list_merge)?
            }
            Some(av) if av.kind() == ValueKind::Seq && bv.kind() == ValueKind::Seq => {
                merge_lists(av, &bv, list_merge)?
            }
            _ => bv,
        };
        match pos {
            Some(i) => out[i].1 = new,
            None => out.push((k, new)),
        }
    }
    Ok(Value::from_pairs(out))
}

fn merge_lists(a: &Value, b: &Value, mode: &str) -> Result<Value, Error> {
    let (a, b) = (items(a)?, items(b)?);
    let out: Vec<Value> = match mode {
        "keep" => a,
        "append" => a.into_iter().chain(b).collect(),
        "prepend" => b.into_iter().chain(a).collect(),
        "append_rp" => {
            let kept: Vec<Value> = a.into_iter().filter(|x| !b.contains(x)).collect();
            kept.into_iter().chain(b).collect()
        }
        "prepend_rp" => {
            let rest: Vec<Value> = a.into_iter().filter(|x| !b.contains(x)).collect();
            b.into_iter().chain(rest).collect()
        }
        _ => b,
    };
    Ok(Value::from(out))
}

/// `dict2items(key_name='key', value_name='value')`.
fn dict2items(v: &Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let a = FArgs::new(&args)?;
    let kn = a.str(0, "key_name")?.unwrap_or_else(|| "key".into());
    let vn = a.str(1, "value_name")?.unwrap_or_else(|| "value".into());
    a.done()?;
    if v.kind() != ValueKind::Map {
        return Err(err(format!(
            "dict2items requires a dictionary, got {} instead.",
            py_type(v)
        )));
    }
    Ok(Value::from(
        pairs(v)?
            .into_iter()
            .map(|(k, x)| Value::from_pairs([(kn.clone(), k), (vn.clone(), x)]))
            .collect::<Vec<_>>(),
    ))
}

/// `items2dict(key_name='key', value_name='value')`.
fn items2dict(v: &Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let a = FArgs::new(&args)?;
    let kn = Value::from(a.str(0, "key_name")?.unwrap_or_else(|| "key".into()));
    let vn = Value::from(a.str(1, "value_name")?.unwrap_or_else(|| "value".into()));
    a.done()?;
    let mut out = Vec::new();
    for item in items(v)? {
        let (k, x) = (lookup(&item, &kn), lookup(&item, &vn));
        if k.is_undefined() || x.is_undefined() {
            return Err(err(format!(
                "items2dict requires each item to have '{kn}' and '{vn}' keys"
            )));
        }
        out.push((k, x));
    }
    Ok(Value::from_pairs(out))
}

/// `flatten(levels=None, skip_nulls=True)`.
fn flatten(v: &Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let a = FArgs::new(&args)?;
    let levels = a.int(0, "levels")?;
    let skip_nulls = a.bool(1, "skip_nulls", true)?;
    a.done()?;
    fn go(
        xs: Vec<Value>,
        levels: Option<i64>,
        skip_nulls: bool,
        out: &mut Vec<Value>,
    ) -> Result<(), Error> {
        for x in xs {
            if skip_nulls && (x.is_none() || x.as_str() == Some("None")) {
                continue;
            }
            if x.kind() == ValueKind::Seq && levels != Some(0) {
                go(items(&x)?, levels.map(|l| l - 1), skip_nulls, out)?;
            } else {
                out.push(x);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    go(items(v)?, levels, skip_nulls, &mut out)?;
    Ok(Value::from(out))
}

enum SetOp {
    Union,
    Intersect,
    Difference,
    Symmetric,
}

/// Order-preserving, case-sensitive set operations on lists.
fn set_op(a: Value, b: Value, op: SetOp) -> Result<Value, Error> {
    let (a, b) = (items(&a)?, items(&b)?);
    let picked: Vec<Value> = match op {
        SetOp::Union => a.into_iter().chain(b).collect(),
        SetOp::Intersect => a.into_iter().filter(|x| b.contains(x)).collect(),
        SetOp::Difference => a.into_iter().filter(|x| !b.contains(x)).collect(),
        SetOp::Symmetric => {
            let left: Vec<Value> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
            left.into_iter()
                .chain(b.into_iter().filter(|x| !a.contains(x)))
                .collect()
        }
    };
    let mut out: Vec<Value> = Vec::with_capacity(picked.len());
    for x in picked {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    Ok(Value::from(out))
}

fn zip(a: Value, rest: Vec<Value>, fill: Option<Value>) -> Result<Value, Error> {
    let lists = std::iter::once(&a)
        .chain(rest.iter())
        .map(items)
        .collect::<Result<Vec<_>, _>>()?;
    let n = match &fill {
        None => lists.iter().map(Vec::len).min().unwrap_or(0),
        Some(_) => lists.iter().map(Vec::len).max().unwrap_or(0),
    };
    let fill = fill.unwrap_or_default();
    Ok(Value::from(
        (0..n)
            .map(|i| {
                Value::from(
                    lists
                        .iter()
                        .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                        .collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>(),
    ))
}

/// `product(*iterables, repeat=1)`: Python's `itertools.product`, as Ansible exposes it.
fn product(a: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let f = FArgs::new(&args)?;
    let repeat = match f.get(usize::MAX, "repeat")? {
        None => 1,
        Some(v) => usize::try_from(v.clone()).map_err(|_| {
            err(format!(
                "product: repeat must be a non-negative integer, got {v}"
            ))
        })?,
    };
    f.done()?;
    let lists = std::iter::once(&a)
        .chain(f.positional().iter())
        .map(items)
        .collect::<Result<Vec<_>, _>>()?;
    let mut out: Vec<Vec<Value>> = vec![Vec::new()];
    for _ in 0..repeat {
        for list in &lists {
            out = out
                .iter()
                .flat_map(|prefix| {
                    list.iter().map(move |x| {
                        let mut next = prefix.clone();
                        next.push(x.clone());
                        next
                    })
                })
                .collect();
        }
    }
    Ok(Value::from(
        out.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
}

fn zip_longest(a: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let f = FArgs::new(&args)?;
    let fill = f.get(usize::MAX, "fillvalue")?.unwrap_or(Value::from(()));
    f.done()?;
    zip(a, f.positional().to_vec(), Some(fill))
}

/// Jinja2's `min`/`max(case_sensitive=False, attribute=None)`.
fn min_max(v: Value, args: &[Value], min: bool) -> Result<Value, Error> {
    let a = FArgs::new(args)?;
    let case_sensitive = a.bool(0, "case_sensitive", false)?;
    let attr = a.str(1, "attribute")?;
    a.done()?;
    let xs = items(&v)?;
    let key = |x: &Value| {
        let k = attr
            .as_deref()
            .map(|p| attr_path(x, p))
            .unwrap_or_else(|| x.clone());
        match k.as_str() {
            Some(s) if !case_sensitive => Value::from(s.to_lowercase()),
            _ => k,
        }
    };
    let mut best: Option<(Value, Value)> = None;
    for x in xs {
        let k = key(&x);
        let better = match &best {
            None => true,
            Some((bk, _)) => (min && k < *bk) || (!min && k > *bk),
        };
        if better {
            best = Some((k, x));
        }
    }
    Ok(best.map(|(_, x)| x).unwrap_or(Value::UNDEFINED))
}

/// Jinja2's `sum(attribute=None, start=0)`.
fn sum(v: Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let a = FArgs::new(&args)?;
    let attr = a.str(0, "attribute")?;
    let mut acc = a.get(1, "start")?.unwrap_or(Value::from(0));
    a.done()?;
    for x in items(&v)? {
        let x = attr.as_deref().map(|p| attr_path(&x, p)).unwrap_or(x);
        acc = add(&acc, &x)?;
    }
    Ok(acc)
}

fn add(a: &Value, b: &Value) -> Result<Value, Error> {
    match (a.kind(), b.kind()) {
        (ValueKind::Seq, ValueKind::Seq) => Ok(Value::from(
            items(a)?.into_iter().chain(items(b)?).collect::<Vec<_>>(),
        )),
        (ValueKind::Number | ValueKind::Bool, ValueKind::Number | ValueKind::Bool) => {
            // Both integral (bools count as 0/1): integer sum, else float.
            if let (Some(x), Some(y)) = (as_int(a), as_int(b)) {
                return Ok(Value::from(x + y));
            }
            let (x, y) = (as_float(a)?, as_float(b)?);
            Ok(Value::from(x + y))
        }
        _ => Err(err(format!(
            "unsupported operand type(s) for +: '{}' and '{}'",
            py_type(a),
            py_type(b)
        ))),
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match v.kind() {
        ValueKind::Bool => Some(v.is_true() as i64),
        _ if v.is_integer() => v.as_i64(),
        _ => None,
    }
}

fn as_float(v: &Value) -> Result<f64, Error> {
    match as_int(v) {
        Some(i) => Ok(i as f64),
        None => f64::try_from(v.clone()),
    }
}

/// `subelements(subelement, skip_missing=False)`: pairs of (item, sub-item).
fn subelements(v: Value, path: String, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let a = FArgs::new(&args)?;
    let skip_missing = match a.get(0, "skip_missing")? {
        Some(x) if x.kind() == ValueKind::Map => lookup(&x, &Value::from("skip_missing")).is_true(),
        Some(x) => x.is_true(),
        None => false,
    };
    a.done()?;
    let elements = if v.kind() == ValueKind::Map {
        pairs(&v)?.into_iter().map(|(_, x)| x).collect()
    } else {
        items(&v)?
    };
    let mut out = Vec::new();
    for e in elements {
        let sub = attr_path(&e, &path);
        if sub.is_undefined() {
            if skip_missing {
                continue;
            }
            return Err(err(format!(
                "could not find '{path}' key in iterated item '{}'",
                py_str(&e)
            )));
        }
        if sub.kind() != ValueKind::Seq {
            return Err(err(format!(
                "the key {path} should point to a list, got '{}'",
                py_str(&sub)
            )));
        }
        for s in items(&sub)? {
            out.push(Value::from(vec![e.clone(), s]));
        }
    }
    Ok(Value::from(out))
}

/// `extract(container, morekeys=None)`: `'k' | extract(d)` is `d['k']`.
fn extract(key: Value, container: Value, morekeys: Option<Value>) -> Result<Value, Error> {
    let mut cur = lookup(&container, &key);
    if let Some(mk) = morekeys {
        let keys = if mk.kind() == ValueKind::Seq {
            items(&mk)?
        } else {
            vec![mk]
        };
        for k in keys {
            cur = lookup(&cur, &k);
        }
    }
    Ok(cur)
}

/// Python's `dict(mapping_or_pairs, **kwargs)`.
fn dict(args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let a = FArgs::new(&args)?;
    let mut out: Vec<(Value, Value)> = Vec::new();
    let mut put = |k: Value, v: Value| match out.iter_mut().find(|(x, _)| *x == k) {
        Some(slot) => slot.1 = v,
        None => out.push((k, v)),
    };
    if let Some(src) = a.positional().first() {
        match src.kind() {
            ValueKind::Map => pairs(src)?.into_iter().for_each(|(k, v)| put(k, v)),
            ValueKind::Undefined | ValueKind::None => {}
            _ => {
                for p in items(src)? {
                    let kv = items(&p)?;
                    if kv.len() != 2 {
                        return Err(err(
                            "dictionary update sequence element has wrong length; 2 is required",
                        ));
                    }
                    put(kv[0].clone(), kv[1].clone());
                }
            }
        }
    }
    for (k, v) in kwargs_pairs(&args) {
        put(Value::from(k), v);
    }
    Ok(Value::from_pairs(out))
}

fn kwargs_pairs(args: &[Value]) -> Vec<(String, Value)> {
    match args.last() {
        Some(kw) if kw.is_kwargs() => kw
            .try_iter()
            .map(|it| {
                it.map(|k| (py_str(&k), kw.get_item(&k).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}
