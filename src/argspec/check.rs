//! Checking values against an entry point's options as ansible-core's
//! `ArgumentSpecValidator` does: each value converted to its option's type (`"8080"` is an
//! int, `"yes"` a bool, `"a,b"` a list), then `choices`, list `elements`, and the sub-options
//! of dicts (unknown keys refused, required ones present). Values are YAML nodes so that a
//! refusal points at the value itself, wherever it was written.
//!
//! A templated string (`{{ }}`, `{% %}`) is skipped with everything below it: its value is
//! only known per host, when it is rendered. A null value is skipped too, as Ansible skips
//! the type check of an option set to None.

use serde_json::Value;

use super::{EntryPoint, Opt, OptType};
use crate::diagnostic::Span;
use crate::yaml::{Node, Yaml};

/// One refused value.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The full path of the value: `plone_instances.nfs_blobs`, `servers[1].port`.
    pub path: String,
    /// Where the value (or, for a missing one, its parent) was written.
    pub span: Span,
    /// What is wrong: `true is not one of the allowed values`.
    pub problem: String,
    /// What the spec allows: `one of: false`, `an int`.
    pub allowed: String,
    /// The option's `description`, the role author's reason.
    pub description: Option<String>,
}

/// Whether `n` is a string Jinja will render: its value is not known before a host runs it.
pub fn is_templated(n: &Node) -> bool {
    n.as_str()
        .is_some_and(|s| s.contains("{{") || s.contains("{%"))
}

/// A JSON value as a node, every part at `span` (values that come without positions, such
/// as `-e` or a template's result).
pub fn node_from_json(v: &Value, span: &Span) -> Node {
    let value = match v {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Int(i),
            None => Yaml::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Yaml::Str(s.clone()),
        Value::Array(a) => Yaml::Seq(a.iter().map(|x| node_from_json(x, span)).collect()),
        Value::Object(m) => Yaml::Map(
            m.iter()
                .map(|(k, x)| {
                    let key = Node {
                        value: Yaml::Str(k.clone()),
                        span: span.clone(),
                    };
                    (key, node_from_json(x, span))
                })
                .collect(),
        ),
    };
    Node {
        value,
        span: span.clone(),
    }
}

/// Checks the values a role use will see (`values`: top-level name → the value that wins)
/// against `entry`. Top-level names the spec does not list are not its business (they are
/// other roles' variables); a required option with no value is reported at `missing_at`
/// when `check_required` (a caller that cannot see every variable source passes false).
pub fn check_entry(
    entry: &EntryPoint,
    values: &[(String, Node)],
    check_required: bool,
    missing_at: &Span,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for opt in &entry.options {
        match values.iter().find(|(k, _)| *k == opt.name) {
            Some((_, v)) => option(opt, v, &opt.name, &mut out),
            None if check_required && opt.required => out.push(Violation {
                path: opt.name.clone(),
                span: missing_at.clone(),
                problem: format!("required variable `{}` is not set", opt.name),
                allowed: allowed(opt),
                description: opt.description.clone(),
            }),
            None => {}
        }
    }
    out
}

fn option(opt: &Opt, v: &Node, path: &str, out: &mut Vec<Violation>) {
    if is_templated(v) || v.is_null() {
        return;
    }
    let refuse = |out: &mut Vec<Violation>, problem: String, allowed: String| {
        out.push(Violation {
            path: path.to_string(),
            span: v.span.clone(),
            problem,
            allowed,
            description: opt.description.clone(),
        })
    };
    let Some(converted) = convert(opt.ty, v) else {
        let problem = format!("{} is not {}", shown(v), a_type(opt.ty));
        return refuse(out, problem, allowed(opt));
    };
    if let Some(choices) = &opt.choices {
        let choices: Vec<Value> = choices.iter().map(Node::to_json).collect();
        let picked: Vec<&Node> = match (&opt.ty, &converted.value) {
            (OptType::List, Yaml::Seq(items)) => items.iter().collect(),
            _ => vec![&converted],
        };
        for p in picked {
            if is_templated(p) {
                continue;
            }
            let pv = p.to_json();
            if !choices.iter().any(|c| py_eq(c, &pv)) {
                let problem = format!("{} is not one of the allowed values", shown(p));
                refuse(out, problem, allowed(opt));
                return;
            }
        }
    }
    match (&opt.ty, &converted.value) {
        (OptType::List, Yaml::Seq(items)) => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("{path}[{i}]");
                if let Some(t) = opt.elements {
                    let elem = Opt {
                        ty: t,
                        choices: None,
                        elements: None,
                        ..opt.clone()
                    };
                    let before = out.len();
                    element(&elem, item, &at, out);
                    if out.len() > before {
                        continue;
                    }
                }
                if opt.elements == Some(OptType::Dict) && !opt.options.is_empty() {
                    let item = convert(OptType::Dict, item).unwrap_or_else(|| item.clone());
                    sub_options(opt, &item, &at, out);
                }
            }
        }
        (OptType::Dict, Yaml::Map(_)) if !opt.options.is_empty() => {
            sub_options(opt, &converted, path, out)
        }
        _ => {}
    }
}

/// A list element against the option's `elements` type.
fn element(elem: &Opt, item: &Node, at: &str, out: &mut Vec<Violation>) {
    if is_templated(item) || item.is_null() || convert(elem.ty, item).is_some() {
        return;
    }
    out.push(Violation {
        path: at.to_string(),
        span: item.span.clone(),
        problem: format!("{} is not {}", shown(item), a_type(elem.ty)),
        allowed: format!("a list of {}s", elem.ty.name()),
        description: elem.description.clone(),
    });
}

/// A dict's keys against the option's sub-options.
fn sub_options(opt: &Opt, dict: &Node, path: &str, out: &mut Vec<Violation>) {
    let Some(m) = dict.as_map() else {
        return;
    };
    for (k, v) in m {
        let key = k.scalar_string().unwrap_or_default();
        let at = format!("{path}.{key}");
        match opt.options.iter().find(|o| o.name == key) {
            Some(sub) => option(sub, v, &at, out),
            None => out.push(Violation {
                path: at,
                span: k.span.clone(),
                problem: format!("`{key}` is not an option of `{path}`"),
                allowed: format!(
                    "the keys {}",
                    opt.options
                        .iter()
                        .map(|o| format!("`{}`", o.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                description: opt.description.clone(),
            }),
        }
    }
    for sub in opt.options.iter().filter(|o| o.required) {
        if !m.iter().any(|(k, _)| k.as_str() == Some(&sub.name)) {
            out.push(Violation {
                path: format!("{path}.{}", sub.name),
                span: dict.span.clone(),
                problem: format!("required key `{}` is missing from `{path}`", sub.name),
                allowed: allowed(sub),
                description: sub.description.clone(),
            });
        }
    }
}

/// The value converted as ansible-core converts it for `ty`, or `None` when it refuses.
fn convert(ty: OptType, v: &Node) -> Option<Node> {
    let to = |value: Yaml| {
        Some(Node {
            value,
            span: v.span.clone(),
        })
    };
    match (ty, &v.value) {
        (OptType::Raw, _) => Some(v.clone()),
        // `str` converts anything (Python's `str()`); so does `path`.
        (OptType::Str | OptType::Path, Yaml::Str(_)) => Some(v.clone()),
        (OptType::Str | OptType::Path, _) => to(Yaml::Str(
            v.scalar_string().unwrap_or_else(|| v.to_json().to_string()),
        )),
        (OptType::Int, Yaml::Int(_)) => Some(v.clone()),
        (OptType::Int, Yaml::Bool(b)) => to(Yaml::Int(i64::from(*b))),
        (OptType::Int, Yaml::Float(f)) if f.fract() == 0.0 => to(Yaml::Int(*f as i64)),
        (OptType::Int, Yaml::Str(s)) => s.trim().parse::<i64>().ok().and_then(|i| to(Yaml::Int(i))),
        (OptType::Float, Yaml::Float(_)) => Some(v.clone()),
        (OptType::Float, Yaml::Int(i)) => to(Yaml::Float(*i as f64)),
        (OptType::Float, Yaml::Bool(b)) => to(Yaml::Float(f64::from(u8::from(*b)))),
        (OptType::Float, Yaml::Str(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|f| to(Yaml::Float(f))),
        (OptType::Bool, Yaml::Bool(_)) => Some(v.clone()),
        (OptType::Bool, _) => boolean(v).and_then(|b| to(Yaml::Bool(b))),
        (OptType::List, Yaml::Seq(_)) => Some(v.clone()),
        (OptType::List, Yaml::Str(s)) => to(Yaml::Seq(
            s.split(',')
                .map(|p| Node {
                    value: Yaml::Str(p.to_string()),
                    span: v.span.clone(),
                })
                .collect(),
        )),
        (OptType::List, Yaml::Int(_) | Yaml::Float(_) | Yaml::Bool(_)) => {
            to(Yaml::Seq(vec![Node {
                value: Yaml::Str(v.scalar_string().unwrap_or_default()),
                span: v.span.clone(),
            }]))
        }
        (OptType::Dict, Yaml::Map(_)) => Some(v.clone()),
        (OptType::Dict, Yaml::Str(s)) => dict_from_str(s).map(|j| node_from_json(&j, &v.span)),
        _ => None,
    }
}

/// Ansible's `check_type_dict` for a string: JSON when it starts with `{`, else `k=v` words.
fn dict_from_str(s: &str) -> Option<Value> {
    let s = s.trim();
    if s.starts_with('{') {
        return serde_json::from_str::<Value>(s)
            .ok()
            .filter(Value::is_object);
    }
    let words = crate::shell::shlex::split(s).ok()?;
    let mut m = serde_json::Map::new();
    for w in words {
        let (k, v) = w.split_once('=')?;
        m.insert(k.to_string(), Value::from(v));
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

/// Ansible's `BOOLEANS_TRUE` / `BOOLEANS_FALSE`.
fn boolean(v: &Node) -> Option<bool> {
    match &v.value {
        Yaml::Bool(b) => Some(*b),
        Yaml::Int(1) => Some(true),
        Yaml::Int(0) => Some(false),
        Yaml::Float(f) if *f == 1.0 => Some(true),
        Yaml::Float(f) if *f == 0.0 => Some(false),
        Yaml::Str(s) => match s.to_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" => Some(true),
            "n" | "no" | "off" | "0" | "false" | "f" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Python's `==` between JSON values: `1 == 1.0` and `True == 1`, as a choice is compared.
fn py_eq(a: &Value, b: &Value) -> bool {
    let num = |v: &Value| match v {
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Number(n) => n.as_f64(),
        _ => None,
    };
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn a_type(t: OptType) -> &'static str {
    match t {
        OptType::Str => "a string",
        OptType::Path => "a path",
        OptType::Int => "an int",
        OptType::Float => "a float",
        OptType::Bool => "a bool (true/false, yes/no, on/off, 1/0)",
        OptType::List => "a list",
        OptType::Dict => "a dict",
        OptType::Raw => "a value",
    }
}

/// A value as the user wrote it, for messages.
fn shown(v: &Node) -> String {
    match &v.value {
        Yaml::Str(s) => format!("{s:?}"),
        Yaml::Map(_) => "a mapping".into(),
        Yaml::Seq(_) => "a list".into(),
        _ => v.to_json().to_string(),
    }
}

/// What an option allows, in words: its type, choices and elements.
fn allowed(opt: &Opt) -> String {
    let mut s = match &opt.choices {
        Some(c) => format!(
            "one of: {}",
            c.iter()
                .map(|n| n.to_json().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => a_type(opt.ty).to_string(),
    };
    if let (OptType::List, Some(e)) = (opt.ty, opt.elements) {
        s = format!("{s} of {}s", e.name());
    }
    if opt.ty == OptType::Dict && !opt.options.is_empty() {
        let keys: Vec<&str> = opt.options.iter().map(|o| o.name.as_str()).collect();
        s = format!("{s} with keys {}", keys.join(", "));
    }
    s
}
