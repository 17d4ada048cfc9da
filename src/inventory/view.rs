//! An inventory as `ansible-inventory` prints it (`--list`, `--host`, `--graph`), so an
//! operator can check that strata reads an inventory exactly as Ansible would before running
//! anything against it. JSON keys are sorted and indented by four spaces like
//! ansible-inventory's, so the two outputs can be diffed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Group, Inventory, LoadOptions, VarsDir, limit_from_arg, load_vars_dir};
use crate::diagnostic::Diagnostic;

/// What `strata inventory` was asked to show, as `ansible-inventory`'s options say it.
#[derive(Clone, Debug)]
pub enum Show {
    /// `--list`, optionally `--limit`ed.
    List { limit: Option<String> },
    /// `--host PATTERN`: the pattern must name exactly one host.
    Host(String),
    /// `--graph [GROUP] [--vars]`.
    Graph { group: Option<String>, vars: bool },
}

/// The text `ansible-inventory` would print for `show` (YAML instead of JSON with `yaml`), and
/// the warnings to show, after loading `sources` (and `playbook_dir`'s vars), or the input
/// error.
pub fn render(
    sources: &[PathBuf],
    opts: &LoadOptions,
    playbook_dir: Option<&Path>,
    show: &Show,
    as_yaml: bool,
) -> Result<(String, Vec<String>), Diagnostic> {
    let inv = super::load(sources, opts)?;
    let playbook = match playbook_dir {
        Some(d) => Some(load_vars_dir(d, &inv)?),
        None => None,
    };
    let view = View {
        inv: &inv,
        playbook: playbook.as_ref(),
    };
    let mut warnings = inv.warnings().to_vec();
    let bad = |msg: String| Diagnostic::new(Default::default(), msg);
    let limit = match show {
        Show::Host(pattern) => {
            let sel = inv.select(pattern).map_err(|e| bad(e.to_string()))?;
            let [host] = sel.hosts.as_slice() else {
                return Err(bad(
                    "You must pass a single valid host to --host parameter".into()
                ));
            };
            let vars = Value::Object(view.host_vars(host));
            let out = if as_yaml { yaml(&vars)? } else { json(&vars) };
            return Ok((out, warnings));
        }
        Show::Graph { group, vars } => {
            let name = group.as_deref().unwrap_or("all");
            let Some(g) = inv.group(name) else {
                return Err(
                    bad("Pattern must be valid group name when using --graph".into()).help(
                        format!(
                            "`{name}` is not a group of this inventory; `strata inventory --list` shows them"
                        ),
                    ),
                );
            };
            let mut lines = Vec::new();
            view.graph(g, 0, *vars, &mut lines);
            return Ok((lines.join("\n"), warnings));
        }
        Show::List { limit } => limit,
    };
    let hosts: Vec<String> = match limit {
        Some(l) => {
            let pattern = limit_from_arg(l).map_err(|e| bad(format!("--limit: {e}")))?;
            let all = inv.select("all").map_err(|e| bad(e.to_string()))?.hosts;
            let sel = inv
                .select_limited("all", Some(&pattern))
                .map_err(|e| bad(format!("--limit: {e}")))?;
            warnings.extend(sel.warnings);
            all.into_iter().filter(|h| sel.hosts.contains(h)).collect()
        }
        None => inv.hosts().map(|h| h.name.clone()).collect(),
    };
    let out = if as_yaml {
        yaml(&view.yaml_list(&hosts))?
    } else {
        json(&view.list(&hosts))
    };
    Ok((out, warnings))
}

/// Variables Ansible computes itself and ansible-inventory leaves out (`INTERNAL_STATIC_VARS`
/// as far as inventory variables can hold them).
const INTERNAL: [&str; 6] = [
    "inventory_dir",
    "inventory_file",
    "inventory_hostname",
    "inventory_hostname_short",
    "group_names",
    "groups",
];

/// An inventory as ansible-inventory shows it, optionally with a playbook directory's
/// `group_vars`/`host_vars` (`--playbook-dir`).
pub struct View<'a> {
    pub inv: &'a Inventory,
    pub playbook: Option<&'a VarsDir>,
}

impl View<'_> {
    pub fn host_vars(&self, host: &str) -> Map<String, Value> {
        let mut v = self.inv.host_vars_with(host, self.playbook);
        v.retain(|k, _| !INTERNAL.contains(&k.as_str()));
        v
    }

    /// ansible-inventory's `json_inventory`: every group reachable from `all`, with its
    /// (selected) direct hosts and child group names; groups left with nothing are omitted
    /// but still listed as children.
    pub fn list(&self, hosts: &[String]) -> Value {
        let available: HashSet<&str> = hosts.iter().map(String::as_str).collect();
        let mut out = Map::new();
        let mut seen = HashSet::new();
        self.list_group(
            self.inv.group("all").expect("always"),
            &available,
            &mut seen,
            &mut out,
        );
        let mut hostvars = Map::new();
        for h in hosts {
            let v = self.host_vars(h);
            if !v.is_empty() {
                hostvars.insert(h.clone(), Value::Object(v));
            }
        }
        let mut meta = Map::new();
        meta.insert("hostvars".into(), Value::Object(hostvars));
        meta.insert("profile".into(), Value::from("inventory_legacy"));
        out.insert("_meta".into(), Value::Object(meta));
        Value::Object(out)
    }

    fn list_group<'g>(
        &'g self,
        g: &'g Group,
        available: &HashSet<&str>,
        seen: &mut HashSet<&'g str>,
        out: &mut Map<String, Value>,
    ) {
        let mut entry = Map::new();
        if g.name != "all" {
            let hs: Vec<Value> = g
                .hosts
                .iter()
                .filter(|h| available.contains(h.as_str()))
                .map(|h| Value::from(h.as_str()))
                .collect();
            if !hs.is_empty() {
                entry.insert("hosts".into(), Value::Array(hs));
            }
        }
        if !g.children.is_empty() {
            let kids = g.children.iter().map(|c| Value::from(c.as_str())).collect();
            entry.insert("children".into(), Value::Array(kids));
        }
        if !entry.is_empty() {
            out.insert(g.name.clone(), Value::Object(entry));
        }
        for c in &g.children {
            let child = self.inv.group(c).expect("children exist");
            if seen.insert(&child.name) {
                self.list_group(child, available, seen, out);
            }
        }
    }

    /// ansible-inventory's `--list --yaml` layout: nested `children`/`hosts` mappings from
    /// `all`, each host's variables written once, at its first appearance.
    pub fn yaml_list(&self, hosts: &[String]) -> Value {
        let available: HashSet<&str> = hosts.iter().map(String::as_str).collect();
        let mut seen_groups = HashSet::new();
        let mut seen_hosts = HashSet::new();
        let mut out = Map::new();
        let all = self.inv.group("all").expect("always");
        if let Some(v) = self.yaml_group(all, &available, &mut seen_groups, &mut seen_hosts) {
            out.insert("all".into(), v);
        }
        Value::Object(out)
    }

    fn yaml_group<'g>(
        &'g self,
        g: &'g Group,
        available: &HashSet<&str>,
        seen_groups: &mut HashSet<&'g str>,
        seen_hosts: &mut HashSet<&'g str>,
    ) -> Option<Value> {
        let mut children = Map::new();
        for c in &g.children {
            let child = self.inv.group(c).expect("children exist");
            if !seen_groups.insert(&child.name) {
                children.insert(c.clone(), Value::Object(Map::new()));
            } else if let Some(v) = self.yaml_group(child, available, seen_groups, seen_hosts) {
                children.insert(c.clone(), v);
            }
        }
        let mut hs = Map::new();
        if g.name != "all" {
            for h in g.hosts.iter().filter(|h| available.contains(h.as_str())) {
                let vars = if seen_hosts.insert(h) {
                    self.host_vars(h)
                } else {
                    Map::new()
                };
                hs.insert(h.clone(), Value::Object(vars));
            }
        }
        let mut entry = Map::new();
        if !children.is_empty() {
            entry.insert("children".into(), Value::Object(children));
        }
        if !hs.is_empty() {
            entry.insert("hosts".into(), Value::Object(hs));
        }
        (!entry.is_empty()).then_some(Value::Object(entry))
    }

    /// ansible-inventory's `--graph`: child groups first, then the group's direct hosts
    /// (none for `all`), then with `--vars` the group's variables, each in Python's `str()`.
    pub fn graph(&self, g: &Group, depth: usize, vars: bool, lines: &mut Vec<String>) {
        let name = |s: String, d: usize| {
            if d == 0 {
                s
            } else {
                format!("{}--{s}", "  |".repeat(d))
            }
        };
        lines.push(name(format!("@{}:", g.name), depth));
        for c in &g.children {
            let child = self.inv.group(c).expect("children exist");
            self.graph(child, depth + 1, vars, lines);
        }
        if g.name != "all" {
            for h in &g.hosts {
                lines.push(name(h.clone(), depth + 1));
                if vars {
                    for (k, v) in sorted(self.host_vars(h)) {
                        lines.push(name(format!("{{{k} = {}}}", py_str(&v)), depth + 2));
                    }
                }
            }
        }
        if vars {
            for (k, v) in sorted(self.group_vars(g)) {
                lines.push(name(format!("{{{k} = {}}}", py_str(&v)), depth + 1));
            }
        }
    }

    /// A group's own variables as ansible-inventory shows them: inventory-file vars, then its
    /// `group_vars` files, plus `ansible_group_priority` when it is not the default.
    fn group_vars(&self, g: &Group) -> Map<String, Value> {
        let mut v = self.inv.group_vars_with(&g.name, self.playbook);
        if g.priority != 1 {
            v.insert("ansible_group_priority".into(), Value::from(g.priority));
        }
        v
    }
}

fn sorted(m: Map<String, Value>) -> Vec<(String, Value)> {
    let mut v: Vec<(String, Value)> = m.into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The value with object keys sorted at every level, as Python's `sort_keys=True` prints them.
fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            sorted(m.clone())
                .into_iter()
                .map(|(k, v)| (k, sort_keys(&v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// Pretty JSON with sorted keys at every level, four-space indent, like `json.dumps(...,
/// sort_keys=True, indent=4)`.
pub fn json(v: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&sort_keys(v), &mut ser).expect("JSON values serialize");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// YAML with sorted keys, as PyYAML's `dump` writes it for ansible-inventory `-y`.
pub fn yaml(v: &Value) -> Result<String, Diagnostic> {
    serde_saphyr::to_string(&sort_keys(v))
        .map(|s| s.trim_end().to_string())
        .map_err(|e| Diagnostic::new(Default::default(), format!("cannot write YAML: {e}")))
}

/// Python's `str()` of a value: strings bare, containers with `repr()` items.
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        // Python's float repr: `1.5e-07`, `1e+20`, `2.0`.
        Value::Number(n) => match (n.is_f64(), n.as_f64()) {
            (true, Some(f)) => crate::template::pyrepr::py_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => {
            let q = if s.contains('\'') && !s.contains('"') {
                '"'
            } else {
                '\''
            };
            let mut out = String::from(q);
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c if c == q => {
                        out.push('\\');
                        out.push(c);
                    }
                    c => out.push(c),
                }
            }
            out.push(q);
            out
        }
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", py_repr(&Value::from(k.as_str())), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--graph --vars` prints values as Python's repr, floats included.
    #[test]
    fn graph_vars_use_python_float_repr() {
        let v = serde_json::json!([1.5e-7, 1e20, 2.0, 0.1]);
        assert_eq!(py_repr(&v), "[1.5e-07, 1e+20, 2.0, 0.1]");
    }
}
