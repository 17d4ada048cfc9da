//! Module arguments: turning a task's module value (mapping, `k=v` string or raw command) plus
//! its `args:` keyword into one argument map, validated against the module's [`ModuleSpec`]
//! before any host is touched.

use serde_json::{Map, Value};

use super::freeform::parse_kv;
use super::module_table::{FreeForm, ModuleSpec, Param, ParamType};
use super::suggest::did_you_mean;
use crate::diagnostic::{Diagnostic, Span};
use crate::template::is_template;
use crate::values::to_bool;
use crate::yaml::{Node, Yaml};

/// Options Ansible extracts from a raw command string (`parse_kv(check_raw=True)`); only
/// those the module actually declares are taken out of the command.
const RAW_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// Points inside a scalar when possible: for a single-line scalar whose span width shows it
/// is plain (or quoted), `offset` characters in is an exact column.
pub fn inner_span(node: &Node, s: &str, offset: usize, len: usize) -> Span {
    let width = s.chars().count() as u32;
    let sp = &node.span;
    let shift = if s.contains('\n') {
        None
    } else if sp.len == width {
        Some(0)
    } else if sp.len == width + 2 {
        Some(1)
    } else {
        None
    };
    match shift {
        Some(d) if sp.line > 0 => sp.shifted(0, d + offset as u32).with_len(len as u32),
        _ => sp.clone(),
    }
}

fn str_node(s: String, span: Span) -> Node {
    Node {
        value: Yaml::Str(s),
        span,
    }
}

/// Converts a module's value into `(key, value)` pairs: a mapping as is, a free-form string
/// split into `k=v` options (and, for command-like modules, the raw command put under the
/// module's raw parameter), null as no arguments.
pub fn module_pairs(
    spec: &ModuleSpec,
    key: &Node,
    value: &Node,
) -> Result<Vec<(Node, Node)>, Vec<Diagnostic>> {
    let raw_name = match spec.free_form {
        FreeForm::Raw(name) => Some(name),
        FreeForm::KeyValue => None,
    };
    match &value.value {
        Yaml::Null => Ok(Vec::new()),
        Yaml::Map(m) => Ok(m
            .iter()
            .map(|(k, v)| match (k.as_str(), raw_name) {
                (Some("_raw_params"), Some(name)) => {
                    (str_node(name.to_string(), k.span.clone()), v.clone())
                }
                _ => (k.clone(), v.clone()),
            })
            .collect()),
        Yaml::Str(_) | Yaml::Int(_) | Yaml::Float(_) | Yaml::Bool(_) => {
            let s = value.scalar_string().unwrap_or_default();
            let raw_keys: Option<Vec<&str>> = raw_name.map(|_| {
                RAW_OPTIONS
                    .iter()
                    .copied()
                    .filter(|o| {
                        spec.params
                            .iter()
                            .any(|p| p.name == *o || p.aliases.contains(o))
                    })
                    .collect()
            });
            // A module none of whose options are command-like (`include_vars`) reads its
            // free form as Ansible's plain `parse_kv`: `k=v` words are options.
            let raw_keys = raw_keys.filter(|ks| !ks.is_empty());
            let parsed = parse_kv(&s, raw_keys.as_deref()).map_err(|e| {
                vec![value.error(format!(
                    "cannot split the arguments of `{}`: {e}",
                    spec.name
                ))]
            })?;
            let mut pairs = Vec::new();
            for o in parsed.options {
                let ksp = inner_span(value, &s, o.offset, o.key.len());
                let vsp = inner_span(value, &s, o.offset + o.key.len() + 1, o.value.len().max(1));
                pairs.push((str_node(o.key, ksp), str_node(o.value, vsp)));
            }
            if let Some(raw) = parsed.raw {
                let Some(name) = raw_name else {
                    let sp = inner_span(
                        value,
                        &s,
                        parsed.raw_offset,
                        raw.split_whitespace().next().map_or(1, str::len),
                    );
                    return Err(vec![
                        Diagnostic::new(
                            sp,
                            format!("module `{}` does not take free-form arguments", spec.name),
                        )
                        .label("expected `key=value`")
                        .help(format!(
                            "write the arguments as a mapping under `{}:` or as `key=value` pairs",
                            key_name(key)
                        )),
                    ]);
                };
                pairs.push((
                    str_node(name.to_string(), key.span.clone()),
                    str_node(raw, value.span.clone()),
                ));
            }
            Ok(pairs)
        }
        Yaml::Seq(_) => Err(vec![value.error(format!(
            "arguments of `{}` must be a mapping or a string, found a list",
            spec.name
        ))]),
    }
}

fn key_name(key: &Node) -> String {
    key.scalar_string().unwrap_or_default()
}

fn find_param<'a>(spec: &'a ModuleSpec, name: &str) -> Option<&'a Param> {
    spec.params
        .iter()
        .find(|p| p.name == name || p.aliases.contains(&name))
}

/// Whether a value (or any string inside it) is templated: such values are only checked once
/// rendered, at run time.
fn templated(n: &Node) -> bool {
    match &n.value {
        Yaml::Str(s) => is_template(s),
        Yaml::Seq(s) => s.iter().any(templated),
        Yaml::Map(m) => m.iter().any(|(k, v)| templated(k) || templated(v)),
        _ => false,
    }
}

/// Checked by the parser the modules use at run time, so load time accepts exactly what runs.
fn is_mode_string(s: &str) -> bool {
    ParamType::valid_mode(s)
}

/// The load-time type check of one non-templated value, as Ansible's `check_type_*`.
fn type_error(ty: ParamType, n: &Node) -> Option<String> {
    let bad = |what: &str| Some(format!("expected {what}, found {}", n.kind()));
    match (&n.value, ty) {
        (Yaml::Null, _) | (_, ParamType::Raw) => None,
        (Yaml::Str(s), _) if is_template(s) => None,
        (Yaml::Seq(_) | Yaml::Map(_), ParamType::Str) => bad("a string"),
        (_, ParamType::Str) => None,
        (v, ParamType::Bool) => {
            let ok = match v {
                Yaml::Bool(_) => true,
                Yaml::Int(i) => *i == 0 || *i == 1,
                Yaml::Float(f) => *f == 0.0 || *f == 1.0,
                Yaml::Str(s) => to_bool(&Value::String(s.clone())).is_some(),
                _ => false,
            };
            if ok {
                None
            } else if let Yaml::Str(s) = v {
                Some(format!("`{s}` is not a boolean (use true/false or yes/no)"))
            } else {
                bad("a boolean")
            }
        }
        (Yaml::Int(_) | Yaml::Bool(_), ParamType::Int) => None,
        (Yaml::Float(f), ParamType::Int) if f.fract() == 0.0 => None,
        (Yaml::Str(s), ParamType::Int) if s.trim().parse::<i64>().is_ok() => None,
        (Yaml::Str(s), ParamType::Int) => Some(format!("`{s}` is not an integer")),
        (_, ParamType::Int) => bad("an integer"),
        (Yaml::Int(_) | Yaml::Float(_) | Yaml::Bool(_), ParamType::Float) => None,
        (Yaml::Str(s), ParamType::Float) if s.trim().parse::<f64>().is_ok() => None,
        (Yaml::Str(s), ParamType::Float) => Some(format!("`{s}` is not a number")),
        (_, ParamType::Float) => bad("a number"),
        (Yaml::Map(_), ParamType::List) => bad("a list"),
        (_, ParamType::List) => None,
        (Yaml::Map(_), ParamType::Dict) => None,
        (_, ParamType::Dict) => bad("a mapping"),
        (Yaml::Int(_), ParamType::Mode) => None,
        (Yaml::Str(s), ParamType::Mode) if is_mode_string(s) => None,
        (Yaml::Str(s), ParamType::Mode) => Some(format!(
            "`{s}` is not a file mode (octal like '0644' or symbolic like 'u+rw,g-w')"
        )),
        (_, ParamType::Mode) => bad("a file mode (quote octal modes: '0644')"),
    }
}

fn choice_error(p: &Param, n: &Node) -> Option<Diagnostic> {
    if p.choices.is_empty() || templated(n) {
        return None;
    }
    // A list parameter checks each element; a string given for it is comma-separated.
    let values: Vec<(String, &Node)> = match &n.value {
        Yaml::Seq(s) if p.ty == ParamType::List => s
            .iter()
            .map(|v| {
                (
                    v.scalar_string().unwrap_or_else(|| v.to_json().to_string()),
                    v,
                )
            })
            .collect(),
        Yaml::Str(s) if p.ty == ParamType::List => {
            s.split(',').map(|x| (x.trim().to_string(), n)).collect()
        }
        Yaml::Null => Vec::new(),
        _ => vec![(
            n.scalar_string().unwrap_or_else(|| n.to_json().to_string()),
            n,
        )],
    };
    for (s, v) in values {
        if !p.choices.contains(&s.as_str()) {
            // Control characters (template's `newline_sequence`) are shown escaped.
            let shown = |c: &str| c.escape_debug().to_string();
            let mut d = v
                .error(format!(
                    "value of `{}` must be one of: {}; got `{}`",
                    p.name,
                    p.choices
                        .iter()
                        .map(|c| shown(c))
                        .collect::<Vec<_>>()
                        .join(", "),
                    shown(&s)
                ))
                .label("not an allowed value");
            if let Some(h) = did_you_mean(&s, p.choices.iter().copied())
                .filter(|_| !p.choices.iter().any(|c| c.contains(char::is_control)))
            {
                d = d.help(h);
            }
            return Some(d);
        }
    }
    None
}

/// Validates arguments against a module's spec and returns them under canonical names.
/// Later pairs override earlier ones with the same (canonical) name, so callers pass the
/// `args:` keyword first and the inline arguments after it. `at` is where "missing
/// parameter" errors point (the module key).
pub fn validate_args(
    spec: &ModuleSpec,
    args: &[(Node, Node)],
    at: &Span,
) -> Result<Map<String, Value>, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut out: Map<String, Value> = Map::new();
    // Canonical name -> key node, for locating conflicts.
    let mut keys: Vec<(String, Node)> = Vec::new();
    for (k, v) in args {
        let Some(name) = k.as_str() else {
            diags.push(k.error(format!(
                "parameter names must be strings, found {}",
                k.kind()
            )));
            continue;
        };
        let canonical = match find_param(spec, name) {
            Some(p) => {
                if let Some(msg) = type_error(p.ty, v) {
                    diags.push(
                        v.error(format!(
                            "invalid value for parameter `{}` of `{}`: {msg}",
                            p.name, spec.name
                        ))
                        .label("wrong type"),
                    );
                } else if let Some(d) = choice_error(p, v) {
                    diags.push(d);
                } else if let Some(f) = p.only.filter(|f| !templated(v) && !f.accepts(&v.to_json()))
                {
                    let given = v.scalar_string().unwrap_or_else(|| v.to_json().to_string());
                    diags.push(
                        v.error(f.refusal(spec.name, p.name, &given))
                            .label("not supported"),
                    );
                }
                p.name.to_string()
            }
            None if spec.any_params => name.to_string(),
            None => {
                let names = spec
                    .params
                    .iter()
                    .flat_map(|p| std::iter::once(p.name).chain(p.aliases.iter().copied()));
                let mut d = k
                    .error(format!(
                        "unsupported parameter `{name}` for module `{}`",
                        spec.name
                    ))
                    .label("unknown parameter");
                d = match did_you_mean(name, names) {
                    Some(h) => d.help(h),
                    None => d.help(format!(
                        "`{}` accepts: {}",
                        spec.name,
                        spec.params
                            .iter()
                            .map(|p| p.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                diags.push(d);
                continue;
            }
        };
        out.insert(canonical.clone(), v.to_json());
        keys.retain(|(n, _)| *n != canonical);
        keys.push((canonical, k.clone()));
    }
    let present = |name: &str| out.get(name).is_some_and(|v| !v.is_null());
    // A templated value may still render to `omit`; Ansible checks exclusivity only then.
    let literal = |name: &str| {
        out.get(name)
            .is_some_and(|v| !v.as_str().is_some_and(crate::template::is_template))
    };
    for group in spec.mutually_exclusive {
        let given: Vec<&str> = group.iter().copied().filter(|n| present(n)).collect();
        if !given.iter().all(|n| literal(n)) {
            continue;
        }
        if given.len() > 1 {
            let span = keys
                .iter()
                .rev()
                .find(|(n, _)| given.contains(&n.as_str()))
                .map_or(at.clone(), |(_, k)| k.span.clone());
            diags.push(
                Diagnostic::new(
                    span,
                    format!("parameters are mutually exclusive: {}", given.join(", ")),
                )
                .label("conflicts with an earlier parameter"),
            );
        }
    }
    for group in spec.required_one_of {
        if !group.iter().any(|n| present(n)) {
            diags.push(
                Diagnostic::new(
                    at.clone(),
                    format!("`{}` requires one of: {}", spec.name, group.join(", ")),
                )
                .label("missing parameter"),
            );
        }
    }
    for p in spec
        .params
        .iter()
        .filter(|p| p.required && !present(p.name))
    {
        // A required parameter in a `required_one_of` group was already reported with its group.
        let covered = spec.required_one_of.iter().any(|g| g.contains(&p.name));
        if !covered {
            diags.push(
                Diagnostic::new(
                    at.clone(),
                    format!(
                        "missing required parameter `{}` for module `{}`",
                        p.name, spec.name
                    ),
                )
                .label("missing parameter"),
            );
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

/// The full argument pipeline for one task: module value, then `args:` merged under it.
pub fn task_args(
    spec: &ModuleSpec,
    key: &Node,
    value: &Node,
    args_kw: Option<&Node>,
) -> Result<Map<String, Value>, Vec<Diagnostic>> {
    let mut pairs = Vec::new();
    let mut diags = Vec::new();
    if let Some(a) = args_kw {
        match &a.value {
            Yaml::Map(m) => pairs.extend(m.iter().cloned()),
            Yaml::Null => {}
            _ => diags.push(a.error(format!("`args` must be a mapping, found {}", a.kind()))),
        }
    }
    match module_pairs(spec, key, value) {
        Ok(p) => pairs.extend(p),
        Err(d) => diags.extend(d),
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    validate_args(spec, &pairs, &key.span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_str;
    use serde_json::json;
    use std::path::Path;

    static SPEC: ModuleSpec = ModuleSpec {
        name: "thing",
        params: &[
            Param::new("path", ParamType::Str)
                .required()
                .aliases(&["dest", "name"]),
            Param::new("state", ParamType::Str).choices(&["present", "absent"]),
            Param::new("mode", ParamType::Mode),
            Param::new("count", ParamType::Int),
            Param::new("ratio", ParamType::Float),
            Param::new("items", ParamType::List).choices(&["a", "b"]),
            Param::new("opts", ParamType::Dict),
            Param::new("enabled", ParamType::Bool),
            Param::new("src", ParamType::Str),
            Param::new("content", ParamType::Str),
            Param::new("use_proxy", ParamType::Bool).only(crate::modules::Fixed::Bool(true)),
            Param::new("io_buffer_size", ParamType::Int).only(crate::modules::Fixed::Int(65536)),
        ],
        free_form: FreeForm::KeyValue,
        mutually_exclusive: &[&["src", "content"]],
        required_one_of: &[&["src", "content"]],
        any_params: false,
    };

    fn pairs(yaml: &str) -> Vec<(Node, Node)> {
        parse_str(yaml, Path::new("t.yml"))
            .unwrap()
            .as_map()
            .unwrap()
            .to_vec()
    }

    fn validate(yaml: &str) -> Result<Map<String, Value>, Vec<Diagnostic>> {
        validate_args(&SPEC, &pairs(yaml), &Span::unknown())
    }

    fn messages(yaml: &str) -> Vec<String> {
        validate(yaml)
            .unwrap_err()
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn parameters_supported_only_at_their_default_refuse_other_values() {
        for ok in [
            "use_proxy: yes",
            "use_proxy: true",
            "io_buffer_size: 65536",
            "io_buffer_size: '65536'",
            "use_proxy: '{{ p }}'",
        ] {
            assert!(
                validate(&format!("src: x\npath: /a\n{ok}\n")).is_ok(),
                "{ok}"
            );
        }
        let m = messages("src: x\npath: /a\nuse_proxy: no\nio_buffer_size: 1024\n");
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(
            m[0].contains("does not implement `use_proxy: False`"),
            "{m:?}"
        );
        assert!(m[0].contains("`use_proxy: true` is supported"), "{m:?}");
        assert!(m[1].contains("`io_buffer_size: 65536`"), "{m:?}");
    }

    #[test]
    fn canonical_names_and_later_pairs_win() {
        let m = validate(
            "dest: /a\nsrc: x\nname: /b\nmode: '0644'\ncount: '3'\nenabled: yes\nitems: a,b\n",
        )
        .unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"path": "/b", "src": "x", "mode": "0644", "count": "3", "enabled": true, "items": "a,b"})
        );
    }

    #[test]
    fn type_checks_skip_templates() {
        assert!(validate("path: /a\nsrc: x\ncount: '{{ n }}'\nopts: '{{ o }}'\nenabled: '{{ e }}'\nmode: '{{ m }}'\n").is_ok());
        let ms = messages(
            "path: /a\nsrc: x\ncount: abc\nratio: fast\nopts: a=b\nenabled: maybe\nmode: true\n",
        );
        assert_eq!(ms.len(), 5, "{ms:?}");
        assert!(ms[0].contains("`abc` is not an integer"));
        assert!(ms[1].contains("`fast` is not a number"));
        assert!(ms[2].contains("expected a mapping, found a string"));
        assert!(ms[3].contains("`maybe` is not a boolean"));
        assert!(ms[4].contains("expected a file mode"));
    }

    #[test]
    fn modes() {
        for ok in [
            "'0644'",
            "644",
            "0o644",
            "u+rwx,g-w",
            "a=r",
            "u=rwX,g=u",
            "preserve",
        ] {
            let r = validate(&format!("path: /a\nsrc: x\nmode: {ok}\n"));
            assert!(r.is_ok(), "{ok}: {r:?}");
        }
        for bad in ["'rw'", "'u+q'", "'0999'", "1.5", "[1]"] {
            assert!(
                validate(&format!("path: /a\nsrc: x\nmode: {bad}\n")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn choices_required_and_groups() {
        let ms = messages("state: prsent\nitems: [a, c]\n");
        assert!(
            ms.iter()
                .any(|m| m
                    .contains("value of `state` must be one of: present, absent; got `prsent`")),
            "{ms:?}"
        );
        assert!(ms.iter().any(|m| m.contains("got `c`")), "{ms:?}");
        assert!(
            ms.iter()
                .any(|m| m == "`thing` requires one of: src, content"),
            "{ms:?}"
        );
        assert!(
            ms.iter()
                .any(|m| m == "missing required parameter `path` for module `thing`"),
            "{ms:?}"
        );
        let ms = messages("path: /a\nsrc: x\ncontent: y\n");
        assert_eq!(ms, vec!["parameters are mutually exclusive: src, content"]);
    }

    #[test]
    fn unknown_parameters_are_located() {
        let ds = validate("path: /a\nsrc: x\nstte: present\n").unwrap_err();
        assert_eq!(
            ds[0].message,
            "unsupported parameter `stte` for module `thing`"
        );
        assert_eq!((ds[0].span.line, ds[0].span.col), (3, 1));
        assert_eq!(ds[0].help.as_deref(), Some("did you mean `state`?"));
    }

    #[test]
    fn free_form_strings_point_inside_the_scalar() {
        let n = parse_str("k: path=/a src=x count=many\n", Path::new("t.yml")).unwrap();
        let (key, value) = &n.as_map().unwrap()[0];
        let ds = task_args(&SPEC, key, value, None).unwrap_err();
        assert_eq!(
            (ds[0].span.line, ds[0].span.col, ds[0].span.len),
            (1, 24, 4)
        );
        let ds = task_args(
            &SPEC,
            key,
            &parse_str("path /a", Path::new("t.yml")).unwrap(),
            None,
        )
        .unwrap_err();
        assert!(ds[0].message.contains("does not take free-form arguments"));
    }
}
