//! Playbooks and plays: play keywords, `vars_files`, `roles:`, task sections, handlers and
//! `import_playbook`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::keywords::{inherit, int_kw, merge_into};
use super::loader::{Loader, PlayState, Scope, parent_dir};
use super::model::{Common, HOST_ORDERS, HostOrder, Item, Play, Serial, Strategy, Text};
use super::role::{expand_with_ctx, parse_role_entry};
use super::vars_prompt::parse_vars_prompt;
use crate::yaml::{Node, Yaml};

const PLAY_KEYWORDS: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "roles",
    "pre_tasks",
    "tasks",
    "post_tasks",
    "handlers",
    "gather_facts",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "environment",
    "tags",
    "serial",
    "strategy",
    "max_fail_percentage",
    "any_errors_fatal",
    "check_mode",
    "diff",
    "ignore_errors",
    "no_log",
    "run_once",
    "throttle",
    "timeout",
    "ignore_unreachable",
    "order",
    "vars_prompt",
];

const IMPORT_PLAYBOOK_KEYWORDS: &[&str] = &["import_playbook", "name", "vars", "tags"];

/// Loads a playbook file's plays, splicing imported playbooks in place.
pub fn load_plays(ld: &mut Loader, path: &Path, at: &Node) -> Vec<Play> {
    let mut plays = Vec::new();
    if ld.enter(path, &at.span).is_none() {
        return plays;
    }
    let dir = parent_dir(path);
    if let Some(root) = ld.load_yaml(path) {
        match &root.value {
            Yaml::Seq(entries) => {
                for e in entries {
                    let import = e
                        .get("import_playbook")
                        .or_else(|| e.get("ansible.builtin.import_playbook"));
                    match import {
                        Some(target) => plays.extend(import_playbook(ld, e, target, &dir)),
                        None => plays.extend(parse_play(ld, e, &dir)),
                    }
                }
            }
            Yaml::Null => {}
            _ => ld.err(root.error(format!(
                "a playbook must be a list of plays, found {}",
                root.kind()
            ))),
        }
    }
    ld.leave();
    plays
}

fn import_playbook(ld: &mut Loader, entry: &Node, target: &Node, dir: &Path) -> Vec<Play> {
    let mut vars = Map::new();
    let mut tags = Vec::new();
    for (k, v) in entry.as_map().unwrap_or_default() {
        match k.as_str().unwrap_or_default() {
            "import_playbook" | "ansible.builtin.import_playbook" | "name" => {}
            "vars" => vars = ld.vars_kw(v, "`vars`"),
            "tags" => tags = ld.tags_kw(v),
            _ => ld.unknown_key(k, IMPORT_PLAYBOOK_KEYWORDS, "import_playbook"),
        }
    }
    let Some(rel) = ld.render_static(target, "an `import_playbook` path") else {
        return Vec::new();
    };
    let path = dir.join(&rel);
    if !path.is_file() {
        ld.err(
            target
                .error(format!("imported playbook `{rel}` not found"))
                .help(format!("looked for {}", path.display())),
        );
        return Vec::new();
    }
    let mut plays = load_plays(ld, &path, target);
    for p in &mut plays {
        let mut merged = vars.clone();
        merged.extend(std::mem::take(&mut p.vars));
        p.vars = merged;
        // The import's tags act like extra play tags on every imported play.
        let import_tags = Common {
            tags: tags.clone(),
            ..Common::default()
        };
        let mut own = Common {
            tags: std::mem::take(&mut p.tags),
            ..Common::default()
        };
        merge_into(&mut own, &import_tags);
        p.tags = own.tags;
        for items in [&mut p.pre_tasks, &mut p.tasks, &mut p.post_tasks] {
            inherit(items, &import_tags);
        }
    }
    plays
}

fn parse_play(ld: &mut Loader, node: &Node, dir: &Path) -> Option<Play> {
    let Some(map) = node.as_map() else {
        ld.err(node.error(format!("a play must be a mapping, found {}", node.kind())));
        return None;
    };
    ld.play = PlayState::default();
    let scope = Scope::play(dir);
    let mut play = Play::new(node.span.clone(), dir.to_path_buf());
    play.gather_facts = ld.opts.gathering != crate::config::Gathering::Explicit;
    let mut hosts = None;
    let mut name = None;
    let (mut roles, mut tasks, mut handlers) = (Vec::new(), Vec::new(), Vec::new());
    // Sections are parsed after the keywords so that `roles:` precede `tasks:` regardless of
    // the order they were written in.
    let mut sections: Vec<(&str, &Node)> = Vec::new();
    for (k, v) in map {
        let key = k.as_str().unwrap_or_default();
        match key {
            "name" => name = ld.text_kw(v, key),
            "hosts" => hosts = parse_hosts(ld, v),
            "vars" => play.vars = ld.vars_kw(v, "play `vars`"),
            "vars_files" => sections.push((key, v)),
            "roles" | "pre_tasks" | "tasks" | "post_tasks" | "handlers" => sections.push((key, v)),
            "gather_facts" => play.gather_facts = ld.bool_kw(v, key).unwrap_or(true),
            "become" => play.become_ = ld.bool_kw(v, key),
            "become_user" => play.become_user = ld.string_kw(v, key),
            "become_method" => play.become_method = ld.become_method(v),
            "become_flags" => play.become_flags = ld.string_kw(v, key),
            "environment" => play.environment = ld.env_kw(v),
            "tags" => play.tags = ld.tags_kw(v),
            "serial" => play.serial = parse_serial(ld, v),
            "strategy" => match v.as_str() {
                Some("linear") => play.strategy = Strategy::Linear,
                Some("free") => play.strategy = Strategy::Free,
                _ => ld.err(
                    v.error("`strategy` must be `linear` or `free`")
                        .label("unsupported strategy"),
                ),
            },
            "max_fail_percentage" => play.max_fail_percentage = ld.f64_kw(v, key),
            "any_errors_fatal" => play.any_errors_fatal = ld.bool_kw(v, key).unwrap_or(false),
            "check_mode" => play.check_mode = ld.bool_kw(v, key),
            "diff" => play.diff = ld.bool_kw(v, key),
            "ignore_errors" => play.ignore_errors = ld.bool_kw(v, key),
            "no_log" => play.no_log = ld.bool_kw(v, key),
            "run_once" => play.common.run_once = ld.bool_kw(v, key).unwrap_or(false),
            "throttle" => play.common.throttle = int_kw(ld, v, key),
            "timeout" => play.common.timeout = int_kw(ld, v, key),
            "ignore_unreachable" => play.common.ignore_unreachable = ld.bool_kw(v, key),
            "order" => match v.as_str().and_then(HostOrder::parse) {
                Some(o) => play.order = o,
                None => {
                    let found = v.scalar_string().unwrap_or_else(|| v.kind().to_string());
                    ld.err(
                        v.error(format!(
                            "Invalid 'order' specified for inventory hosts: {found}"
                        ))
                        .label("unknown order")
                        .help(format!("use one of: {}", HOST_ORDERS.join(", "))),
                    )
                }
            },
            "vars_prompt" => play.vars_prompt = parse_vars_prompt(ld, v),
            _ => ld.unknown_key(k, PLAY_KEYWORDS, "play"),
        }
    }
    for (key, v) in sections {
        match key {
            "vars_files" => play.vars_files = vars_files(ld, v, dir),
            "roles" => roles = play_roles(ld, v, &scope),
            "pre_tasks" => play.pre_tasks = ld.parse_items(v, &scope, "`pre_tasks`"),
            "tasks" => tasks = ld.parse_items(v, &scope, "`tasks`"),
            "post_tasks" => play.post_tasks = ld.parse_items(v, &scope, "`post_tasks`"),
            _ => handlers = ld.parse_handlers(v, &scope),
        }
    }
    match hosts {
        Some(h) => play.hosts = h,
        None => ld.err(
            node.error("play has no `hosts`")
                .label("this play")
                .help("add `hosts: all` or a host pattern"),
        ),
    }
    play.name = name
        .map(|n| n.value)
        .unwrap_or_else(|| play.hosts.value.clone());
    play.tasks = roles;
    play.tasks.extend(tasks);
    play.handlers = handlers;
    play.handlers.append(&mut ld.play.handlers);
    play.public_roles = std::mem::take(&mut ld.play.public_roles);
    let play_tags = Common {
        tags: play.tags.clone(),
        ..play.common.clone()
    };
    for items in [&mut play.pre_tasks, &mut play.tasks, &mut play.post_tasks] {
        inherit(items, &play_tags);
    }
    Some(play)
}

/// `hosts`: a pattern string or a list of patterns (joined with `,`).
fn parse_hosts(ld: &mut Loader, v: &Node) -> Option<Text> {
    let value = match &v.value {
        Yaml::Seq(items) => items
            .iter()
            .filter_map(|i| ld.string_kw(i, "hosts"))
            .collect::<Vec<_>>()
            .join(","),
        _ => ld.string_kw(v, "hosts")?,
    };
    if value.trim().is_empty() {
        ld.err(v.error("`hosts` is empty"));
        return None;
    }
    if let Err(d) = ld.templar.check_syntax(&value, &v.span) {
        ld.err(d);
    }
    Some(Text {
        value,
        span: v.span.clone(),
    })
}

/// `serial`: a count, a percentage, or a list of those (the last one repeats).
fn parse_serial(ld: &mut Loader, v: &Node) -> Vec<Serial> {
    let items: Vec<&Node> = match &v.value {
        Yaml::Seq(s) => s.iter().collect(),
        _ => vec![v],
    };
    let mut out = Vec::new();
    for i in items {
        let parsed = match &i.value {
            Yaml::Int(n) => u32::try_from(*n).ok().map(Serial::Count),
            Yaml::Str(s) => match s.trim().strip_suffix('%') {
                Some(p) => p
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|p| *p >= 0.0)
                    .map(Serial::Percent),
                None => s.trim().parse::<u32>().ok().map(Serial::Count),
            },
            _ => None,
        };
        match parsed {
            Some(s) => out.push(s),
            None => ld.err(i.error(
                "`serial` must be a number of hosts, a percentage like \"30%\", or a list of those",
            )),
        }
    }
    out
}

fn play_roles(ld: &mut Loader, v: &Node, scope: &Scope) -> Vec<Item> {
    let entries = match &v.value {
        Yaml::Seq(s) => &s[..],
        Yaml::Null => &[][..],
        _ => {
            ld.err(v.error(format!("`roles` must be a list, found {}", v.kind())));
            return Vec::new();
        }
    };
    let mut items = Vec::new();
    let mut public = Vec::new();
    for e in entries {
        if let Some(u) = parse_role_entry(ld, e, true)
            && let Some(x) = expand_with_ctx(ld, &u, scope)
        {
            items.extend(x.items);
            public.push(x.ctx);
        }
    }
    // ansible-core puts `roles:` before the roles any `import_role` added to the play.
    ld.play.public_roles.splice(0..0, public);
    items
}

/// Loads `vars_files` now, relative to the playbook. An entry that is a list is Ansible's
/// "first found" form. Templated paths may use extra vars only.
fn vars_files(ld: &mut Loader, v: &Node, dir: &Path) -> Map<String, Value> {
    let mut out = Map::new();
    let entries: Vec<&Node> = match &v.value {
        Yaml::Seq(s) => s.iter().collect(),
        Yaml::Null => Vec::new(),
        _ => vec![v],
    };
    for e in entries {
        let options: Vec<&Node> = match &e.value {
            Yaml::Seq(s) => s.iter().collect(),
            _ => vec![e],
        };
        let mut tried: Vec<PathBuf> = Vec::new();
        let mut found = None;
        for o in options {
            let Some(rel) = ld.render_static(o, "a `vars_files` path") else {
                continue;
            };
            let p = dir.join(&rel);
            if p.is_file() {
                found = Some(p);
                break;
            }
            tried.push(p);
        }
        let Some(path) = found else {
            if !tried.is_empty() {
                let list = tried
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                ld.err(
                    e.error("vars file not found")
                        .label("no such file")
                        .help(format!("looked for {list}")),
                );
            }
            continue;
        };
        let Some(node) = ld.load_yaml(&path) else {
            continue;
        };
        if node.is_null() {
            continue;
        }
        if node.as_map().is_none() {
            ld.err(node.error(format!(
                "a vars file must be a mapping, found {}",
                node.kind()
            )));
            continue;
        }
        out.extend(ld.vars_kw(&node, "a vars file"));
    }
    out
}
