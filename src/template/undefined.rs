//! Explains undefined-value errors the way Ansible does (`'nope' is undefined`, `object of
//! type 'dict' has no attribute 'y'`). minijinja only reports "undefined value" with the
//! position of the failing instruction, so we look at the references the user wrote in the
//! failing expression and resolve them against the context to find the first one missing.

use minijinja::Value;
use minijinja::value::ValueKind;

use super::pyrepr::py_type;
use super::source::{Kind, Ref};

/// Result of a diagnosis: message and byte offset (in the original text) to point at.
pub struct Explained {
    pub message: String,
    pub offset: usize,
    /// The reference as written (`a.b`).
    pub name: String,
}

/// Finds the reference that explains an undefined error at `offset` of `src`. Names bound
/// inside the template (`for` targets, `set`) and globals cannot be resolved from the
/// context and are skipped.
pub fn explain(
    src: &str,
    kind: Kind,
    offset: usize,
    ctx: &Value,
    is_global: &dyn Fn(&str) -> bool,
) -> Option<Explained> {
    let refs = super::source::refs(src, kind).ok()?;
    let mut candidates: Vec<&Ref> = refs
        .iter()
        .filter(|r| !r.soft && r.top.0 <= offset && offset <= r.top.1)
        .collect();
    if candidates.is_empty() {
        candidates = refs.iter().filter(|r| !r.soft).collect();
    }
    // References at the failing position first, then in source order.
    candidates.sort_by_key(|r| (!(r.start <= offset && offset <= r.end), r.start));
    let locals = super::source::locals(src, kind);
    let name = |r: &Ref| src.get(r.start..r.end).unwrap_or(&r.root).to_string();
    for r in candidates {
        if locals.contains(&r.root) || is_global(&r.root) {
            continue;
        }
        let mut cur = lookup(ctx, &Value::from(r.root.as_str()));
        if cur.is_undefined() {
            return Some(Explained {
                message: format!("'{}' is undefined", r.root),
                offset: r.start,
                name: name(r),
            });
        }
        for k in &r.keys {
            let Some(k) = k else { break };
            let next = lookup(&cur, k);
            if next.is_undefined() {
                let what = if k.kind() == ValueKind::String {
                    "attribute"
                } else {
                    "item"
                };
                let key = k
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| k.to_string());
                return Some(Explained {
                    message: format!("object of type '{}' has no {what} '{key}'", py_type(&cur)),
                    offset: r.start,
                    name: name(r),
                });
            }
            cur = next;
        }
    }
    None
}

/// Attribute-or-item lookup as Jinja does it for `a.b` and `a['b']`, including integer
/// indexes written as attributes (`xs.0`).
pub fn lookup(v: &Value, key: &Value) -> Value {
    if v.is_undefined() || v.is_none() {
        return Value::UNDEFINED;
    }
    if let Ok(x) = v.get_item(key)
        && !x.is_undefined()
    {
        return x;
    }
    if v.kind() == ValueKind::Seq
        && let Some(i) = key.as_str().and_then(|s| s.parse::<i64>().ok())
    {
        return v.get_item(&Value::from(i)).unwrap_or(Value::UNDEFINED);
    }
    if let Some(name) = key.as_str() {
        return v.get_attr(name).unwrap_or(Value::UNDEFINED);
    }
    Value::UNDEFINED
}

/// The chain-lookup function behind rewritten `a.b.c | default(...)`: any missing link
/// yields undefined instead of an error.
pub fn soft_chain(args: minijinja::value::Rest<Value>) -> Value {
    let mut it = args.0.into_iter();
    let mut cur = it.next().unwrap_or(Value::UNDEFINED);
    for k in it {
        cur = lookup(&cur, &k);
        if cur.is_undefined() {
            return Value::UNDEFINED;
        }
    }
    cur
}
