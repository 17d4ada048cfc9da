//! Role argument specs checked when a stack is loaded, before any host is contacted: every
//! role entry of every layer, for every event it runs in, against the values the role will
//! see. A refused value is an input error at the node that set it (the stack file's
//! `attributes`, a layer's, `--attributes`, a role entry, or the role's own vars or
//! defaults), explained by the option's `description`.
//!
//! What a role sees, highest first, as the engine gives it: `-e`; the role entry's
//! parameters (`vars:` and bare keys); the role's `vars/main.yml`; the merged custom JSON
//! (stack, then the layer, then `--attributes`, mappings merged key by key); the role's
//! `defaults/main.yml`. Inventory variables are not read here (they sit below attributes,
//! and the instance source is read later); an app's `attributes`, merged only into a deploy,
//! are not either.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::file::{LIFECYCLE_EVENTS, Layer, StackFile};
use crate::argspec::{self, ArgSpecs, Violation, node_from_json};
use crate::diagnostic::{Diagnostic, InputErrors, Span};
use crate::playbook::{COMMON_KEYWORDS, LoadOptions, has_tasks_file, role_search};
use crate::yaml::{Node, Yaml};

/// `--attributes` as nodes, for locating: a file keeps its positions; inline JSON is read
/// as YAML (JSON is YAML) so that a column points into it, shown as `--attributes:1:COL`.
pub fn cli_nodes(args: &[String]) -> Vec<Node> {
    args.iter()
        .map(|a| match a.strip_prefix('@') {
            Some(path) => crate::yaml::load_file(Path::new(path))
                .unwrap_or_else(|_| node_from_json(&Value::Null, &Span::unknown())),
            None => crate::yaml::parse_str(a, Path::new("--attributes")).unwrap_or_else(|_| {
                let v = serde_json::from_str(a).unwrap_or(Value::Null);
                node_from_json(&v, &Span::file_only(Path::new("--attributes")))
            }),
        })
        .collect()
}

/// Merges `over` into `base` as the custom JSON merges: mappings key by key, anything else
/// replaced (with the replacing node's position).
fn merge(base: &mut Vec<(Node, Node)>, over: &Node) {
    let Some(m) = over.as_map() else {
        return;
    };
    for (k, v) in m {
        let key = k.scalar_string();
        match base.iter_mut().find(|(bk, _)| bk.scalar_string() == key) {
            Some((_, bv)) => match (&mut bv.value, &v.value) {
                (Yaml::Map(b), Yaml::Map(_)) => merge(b, v),
                _ => *bv = v.clone(),
            },
            None => base.push((k.clone(), v.clone())),
        }
    }
}

/// Where a winning value came from, for the message.
#[derive(Clone, Copy)]
enum Source {
    ExtraVar,
    Param,
    RoleVar,
    Attribute,
    Default,
}

impl Source {
    fn what(self) -> &'static str {
        match self {
            Source::ExtraVar => "extra variable (-e)",
            Source::Param => "role parameter",
            Source::RoleVar => "role variable",
            Source::Attribute => "attribute",
            Source::Default => "role default",
        }
    }
}

/// A role's specs and its own vars and defaults, read once per role directory.
struct RoleFiles {
    specs: Option<ArgSpecs>,
    vars: Vec<(Node, Node)>,
    defaults: Vec<(Node, Node)>,
}

fn vars_file(dir: &Path) -> Vec<(Node, Node)> {
    ["main.yml", "main.yaml", "main"]
        .into_iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
        .and_then(|p| crate::yaml::load_file(&p).ok())
        .and_then(|n| n.as_map().map(<[_]>::to_vec))
        .unwrap_or_default()
}

fn get<'a>(m: &'a [(Node, Node)], key: &str) -> Option<&'a Node> {
    m.iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// A violation, the role it was found for, and the entry points that refused it.
struct Found {
    v: Violation,
    what: &'static str,
    role: String,
    dir: PathBuf,
    entry_points: Vec<String>,
}

/// Checks every role entry of every layer against its argument specs. `cli` is
/// [`cli_nodes`] of `--attributes`, `extra_vars` the parsed `-e`.
pub fn validate(
    stack: &StackFile,
    opts: &LoadOptions,
    cli: &[Node],
    extra_vars: &Map<String, Value>,
) -> Result<(), InputErrors> {
    let mut roles: HashMap<PathBuf, RoleFiles> = HashMap::new();
    let mut errors: Vec<Diagnostic> = Vec::new();
    let mut found: Vec<Found> = Vec::new();
    for layer in &stack.layers {
        let mut attributes = Vec::new();
        for n in [&stack.attributes_node, &layer.attributes_node]
            .into_iter()
            .flatten()
            .chain(cli)
        {
            merge(&mut attributes, n);
        }
        let mut events: Vec<&str> = LIFECYCLE_EVENTS.to_vec();
        events.extend(layer.events.iter().map(|(e, _)| e.as_str()));
        for event in events {
            for (entry, dir, tasks_from) in role_uses(stack, opts, layer, event) {
                let files = roles.entry(dir.clone()).or_insert_with(|| {
                    let specs = argspec::load(&dir).unwrap_or_else(|mut e| {
                        errors.append(&mut e);
                        None
                    });
                    RoleFiles {
                        specs,
                        vars: vars_file(&dir.join("vars")),
                        defaults: vars_file(&dir.join("defaults")),
                    }
                });
                let Some(specs) = &files.specs else { continue };
                let Some(ep) = specs.entry(Some(&tasks_from)) else {
                    continue;
                };
                let mut values = Vec::new();
                let mut sources = HashMap::new();
                for opt in &ep.options {
                    let Some((n, src)) = winner(&opt.name, entry, files, &attributes, extra_vars)
                    else {
                        continue;
                    };
                    values.push((opt.name.clone(), n));
                    sources.insert(opt.name.clone(), src);
                }
                for v in argspec::check_entry(ep, &values, true, &entry.span) {
                    let top = v.path.split(['.', '[']).next().unwrap_or_default();
                    let what = sources.get(top).map_or("variable", |s| s.what());
                    let same = found.iter_mut().find(|f| {
                        f.v.span == v.span && f.v.path == v.path && f.v.problem == v.problem
                    });
                    match same {
                        Some(f) if !f.entry_points.contains(&ep.name) => {
                            f.entry_points.push(ep.name.clone())
                        }
                        Some(_) => {}
                        None => found.push(Found {
                            v,
                            what,
                            role: role_name(&dir),
                            dir: dir.clone(),
                            entry_points: vec![ep.name.clone()],
                        }),
                    }
                }
            }
        }
    }
    for f in &found {
        if let Some(specs) = roles.get(&f.dir).and_then(|r| r.specs.as_ref()) {
            errors.push(argspec::diagnostic(
                &f.v,
                f.what,
                &f.role,
                specs,
                &f.entry_points,
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(InputErrors(errors))
    }
}

fn role_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The value of `name` the role will see, highest precedence first, and where it came from.
fn winner(
    name: &str,
    entry: &Node,
    files: &RoleFiles,
    attributes: &[(Node, Node)],
    extra_vars: &Map<String, Value>,
) -> Option<(Node, Source)> {
    if let Some(v) = extra_vars.get(name) {
        return Some((node_from_json(v, &Span::unknown()), Source::ExtraVar));
    }
    let param = entry.get("vars").and_then(|v| v.get(name)).or_else(|| {
        let keyword = COMMON_KEYWORDS.contains(&name)
            || ["role", "name", "vars", "tasks_from"].contains(&name);
        entry.get(name).filter(|_| !keyword)
    });
    if let Some(v) = param {
        return Some((v.clone(), Source::Param));
    }
    if let Some(v) = get(&files.vars, name) {
        return Some((v.clone(), Source::RoleVar));
    }
    if let Some(v) = get(attributes, name) {
        return Some((v.clone(), Source::Attribute));
    }
    get(&files.defaults, name).map(|v| (v.clone(), Source::Default))
}

/// The role entries of `layer` that run in `event`: the entry, the role's directory and the
/// tasks file it runs (its entry point), as the event's play chooses them. Entries the
/// loader cannot resolve are skipped: `plays::validate` reports those.
fn role_uses<'l>(
    stack: &StackFile,
    opts: &LoadOptions,
    layer: &'l Layer,
    event: &str,
) -> Vec<(&'l Node, PathBuf, String)> {
    let (entries, strict) = layer.roles_for(event);
    let mut out = Vec::new();
    for entry in entries {
        let name = match &entry.value {
            Yaml::Str(s) => Some(s.as_str()),
            Yaml::Map(_) => entry
                .get("role")
                .or_else(|| entry.get("name"))
                .and_then(Node::as_str),
            _ => None,
        };
        let Some(name) = name.filter(|n| !n.contains("{{")) else {
            continue;
        };
        let candidates = role_search::candidates(name, &stack.dir, &opts.roles_path, None);
        let Some(dir) = candidates.into_iter().find(|c| c.is_dir()) else {
            continue;
        };
        let tasks_from = match entry.get("tasks_from").and_then(Node::as_str) {
            Some(t) => t.to_string(),
            None if !strict && !has_tasks_file(&dir, event) => continue,
            None => event.to_string(),
        };
        out.push((entry, dir, tasks_from));
    }
    out
}
