//! Task parsing: keyword dispatch, the single module (or loader action) key, loops and the
//! per-task keywords. Blocks, includes and imports are delegated to their own files.

use serde_json::{Map, Value};

use super::action_kw::{ACTION_KEYS, split_action};
use super::keywords::{COMMON_KEYWORDS, int_kw, parse_common};
use super::loader::{Loader, Scope, is_var_name};
use super::loops::{lookup_loop, loop_name, parse_loop, parse_loop_control};
use super::model::{AsyncKw, Common, Cond, Handler, IntKw, Item, LoopSpec, Task, Text};
use super::module_args::task_args;
use super::module_table::{AsyncSupport, ModuleSpec, Refusal, async_refusal, async_support};
use super::srcfile;
use super::suggest::did_you_mean;
use super::template_options;
use crate::yaml::{Node, Yaml};

/// Task-only keywords, on top of [`COMMON_KEYWORDS`].
pub const TASK_KEYWORDS: &[&str] = &[
    "name",
    "args",
    "loop",
    "with_items",
    "with_dict",
    "with_list",
    "loop_control",
    "register",
    "notify",
    "changed_when",
    "failed_when",
    "retries",
    "until",
    "delay",
    "listen",
    "async",
    "poll",
];

const LOOP_KEYWORDS: &[&str] = &[
    "loop",
    "with_items",
    "with_dict",
    "with_list",
    "loop_control",
];

/// Actions the loader handles itself instead of a module.
pub const LOADER_ACTIONS: &[&str] = &[
    "block",
    "include_tasks",
    "import_tasks",
    "include_role",
    "import_role",
    "meta",
];

fn short_name(name: &str) -> &str {
    name.strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name)
}

fn is_keyword(name: &str) -> bool {
    COMMON_KEYWORDS.contains(&name)
        || TASK_KEYWORDS.contains(&name)
        || name == "rescue"
        || name == "always"
}

/// What the one non-keyword key of a task is.
#[derive(Clone)]
pub enum Action {
    Module(&'static ModuleSpec),
    Loader(&'static str),
    /// An Ansible module strata does not implement: the task loads, and fails only on the
    /// hosts where it runs (`refused.rs`), unless `--strict` refuses it here.
    Refused(Refusal),
}

/// Keyword values of one task-like item, parsed but not yet attached to a model type.
#[derive(Default)]
pub struct TaskKw<'a> {
    pub name: Option<String>,
    pub common: Common,
    pub loop_: Option<LoopSpec>,
    pub register: Option<String>,
    pub notify: Vec<String>,
    pub changed_when: Option<Vec<Cond>>,
    pub failed_when: Option<Vec<Cond>>,
    pub until: Option<Vec<Cond>>,
    pub retries: Option<u32>,
    pub delay: Option<f64>,
    pub args: Option<&'a Node>,
    pub listen: Vec<String>,
    /// `async:` (with its node, for a refusal's location) and `poll:`.
    pub async_: Option<(IntKw, &'a Node)>,
    pub poll: Option<IntKw>,
}

impl Loader<'_> {
    /// A list of tasks, blocks, includes and imports (`tasks:`, `block:`, a tasks file).
    pub fn parse_items(&mut self, node: &Node, scope: &Scope, what: &str) -> Vec<Item> {
        let ld = self;
        let mut out = Vec::new();
        match &node.value {
            Yaml::Null => {}
            Yaml::Seq(items) => items
                .iter()
                .for_each(|n| parse_item(ld, n, scope, &mut out)),
            _ => ld.err(node.error(format!(
                "{what} must be a list of tasks, found {}",
                node.kind()
            ))),
        }
        out
    }
}

/// Parses one list entry, appending the resulting item(s): an `import_role` expands to the
/// role's dependencies plus the role itself.
fn parse_item(ld: &mut Loader, node: &Node, scope: &Scope, out: &mut Vec<Item>) {
    let Some(map) = node.as_map() else {
        ld.err(node.error(format!("a task must be a mapping, found {}", node.kind())));
        return;
    };
    if node.get("block").is_some() {
        if let Some(b) = ld.parse_block(node, scope) {
            out.push(b);
        }
        return;
    }
    // `action:` / `local_action:` name their module inside the value; the module key and
    // value they stand for are made first so the loop below can borrow them.
    let mut old_style: Vec<(&Node, Option<(Node, Node)>)> = Vec::new();
    for (k, v) in map {
        if let Some(name) = k.as_str().filter(|n| ACTION_KEYS.contains(n)) {
            if let Some((first, _)) = old_style.first() {
                ld.err(
                    k.error(format!(
                        "`{}` and `{name}` are mutually exclusive",
                        first.as_str().unwrap_or_default()
                    ))
                    .label("second action"),
                );
                return;
            }
            old_style.push((k, split_action(ld, k, v)));
        }
    }
    let local = old_style
        .first()
        .filter(|(k, _)| k.as_str() == Some("local_action"))
        .map(|(k, _)| k.span.clone());
    let mut action: Option<(&Node, &Node, Action)> = None;
    let mut kws: Vec<(&Node, &Node)> = Vec::new();
    let mut ok = true;
    let entries = map.iter().map(|(k, v)| (k, v)).filter_map(|(k, v)| {
        match old_style.iter().find(|(ak, _)| std::ptr::eq(*ak, k)) {
            Some((_, Some((mk, mv)))) => Some((mk, mv)),
            Some((_, None)) => None,
            None => Some((k, v)),
        }
    });
    if old_style.iter().any(|(_, s)| s.is_none()) {
        ok = false;
    }
    for (k, v) in entries {
        let Some(name) = k.as_str() else {
            ld.err(k.error(format!("task keys must be strings, found {}", k.kind())));
            ok = false;
            continue;
        };
        if is_keyword(name) || name.starts_with("with_") {
            kws.push((k, v));
            continue;
        }
        let short = short_name(name);
        let found = match LOADER_ACTIONS.iter().find(|a| **a == short) {
            Some(a) => Some(Action::Loader(a)),
            None => (ld.modules.lookup)(name).map(Action::Module),
        };
        let found = match found {
            Some(a) => Some(a),
            None => match super::refused::classify(ld, k, name) {
                Err(()) => {
                    ok = false;
                    continue;
                }
                Ok(r) => r.map(Action::Refused),
            },
        };
        let Some(a) = found else {
            let names = (ld.modules.names)();
            let candidates = COMMON_KEYWORDS
                .iter()
                .chain(TASK_KEYWORDS)
                .chain(LOADER_ACTIONS)
                .copied()
                .chain(names)
                .chain(super::module_table::builtin_names());
            let mut d = k
                .error(format!("unknown module or keyword `{name}`"))
                .label("not a module or task keyword");
            if let Some(h) = did_you_mean(name, candidates) {
                d = d.help(h);
            }
            ld.err(d);
            ok = false;
            continue;
        };
        if let Some((first, _, _)) = &action {
            let first = first.scalar_string().unwrap_or_default();
            ld.err(
                k.error(format!(
                    "conflicting actions in one task: `{first}` and `{name}`"
                ))
                .label("second action")
                .help("a task runs exactly one module; split it into two tasks"),
            );
            ok = false;
            continue;
        }
        action = Some((k, v, a));
    }
    let Some((key, value, action)) = action else {
        if ok {
            let d = node
                .error("task has no module or action")
                .label("this task");
            let d = match node.get("name").and_then(Node::as_str) {
                Some(n) => d.help(format!(
                    "task `{n}` needs one module key such as `command:` or `copy:`"
                )),
                None => d.help("add one module key such as `command:` or `copy:`"),
            };
            ld.err(d);
        }
        return;
    };
    match action {
        Action::Module(spec) => {
            let mut kw = parse_kws(ld, &kws, None, scope);
            if let Some(span) = local {
                kw.common.delegate_to = Some(Text {
                    value: "localhost".into(),
                    span,
                });
            }
            let t = module_task(ld, node, key, value, spec, kw, scope);
            out.push(Item::Task(Box::new(t)));
        }
        Action::Refused(r) => {
            let mut kw = parse_kws(ld, &kws, None, scope);
            if let Some(span) = local {
                kw.common.delegate_to = Some(Text {
                    value: "localhost".into(),
                    span,
                });
            }
            let t = super::refused::task(ld, node, key, value, &r, kw, scope);
            out.push(Item::Task(Box::new(t)));
        }
        Action::Loader(a) if !old_style.is_empty() => ld.err(
            key.error(format!(
                "`{a}` cannot be given through `action` or `local_action`"
            ))
            .help(format!("write `{a}:` as the task's key")),
        ),
        Action::Loader(a) => ld.parse_action(node, key, value, a, &kws, scope, out),
    }
}

/// Parses keywords. `allowed` limits them for actions that take only some (includes, meta);
/// the caller names the action for the error.
pub fn parse_kws<'a>(
    ld: &mut Loader,
    kws: &[(&'a Node, &'a Node)],
    allowed: Option<(&str, &[&str])>,
    scope: &Scope,
) -> TaskKw<'a> {
    let mut kw = TaskKw::default();
    let mut loop_ctl: Option<&Node> = None;
    for &(k, v) in kws {
        let name = k.as_str().unwrap_or_default();
        if let Some((action, allowed)) = allowed
            && !allowed.contains(&name)
            && name != "name"
            && !COMMON_KEYWORDS.contains(&name)
            && !(allowed.contains(&"loop") && lookup_loop(name).is_some())
        {
            ld.err(
                k.error(format!("`{name}` cannot be used with `{action}`"))
                    .label("not allowed here"),
            );
            continue;
        }
        if parse_common(ld, name, v, &mut kw.common) {
            continue;
        }
        match name {
            "name" => {
                kw.name = ld.text_kw(v, name).map(|t| t.value);
            }
            "args" => kw.args = Some(v),
            l if matches!(l, "loop" | "with_items" | "with_list" | "with_dict")
                || lookup_loop(l).is_some() =>
            {
                if let Some(prev) = &kw.loop_ {
                    ld.err(k.error(format!(
                        "a task can have only one loop, and it already has `{}`",
                        loop_name(&prev.kind)
                    )));
                    continue;
                }
                kw.loop_ = parse_loop(ld, name, v);
            }
            "loop_control" => loop_ctl = Some(v),
            // YAML 1.1 reads `register: off` as a boolean; Ansible refuses it rather than
            // registering under some spelling of false, and so do we.
            "register" if !matches!(v.value, Yaml::Str(_)) => ld.err(
                v.error(format!(
                    "`register` needs a variable name, found {}",
                    v.kind()
                ))
                .help("quote the name if it is a YAML 1.1 word such as `off`, `no` or `yes`"),
            ),
            "register" => match ld.string_kw(v, name) {
                Some(r) if is_var_name(&r) => kw.register = Some(r),
                Some(r) => {
                    ld.err(v.error(format!("`{r}` is not a valid variable name for `register`")))
                }
                None => {}
            },
            "notify" => kw.notify = string_list(ld, v, name),
            "listen" if scope.handlers => kw.listen = string_list(ld, v, name),
            "listen" => ld.err(k.error("`listen` is only valid in handlers")),
            "changed_when" => kw.changed_when = Some(ld.conds_kw(v, name)),
            "failed_when" => kw.failed_when = Some(ld.conds_kw(v, name)),
            "until" => kw.until = Some(ld.conds_kw(v, name)),
            "retries" => kw.retries = ld.u32_kw(v, name),
            "delay" => kw.delay = ld.f64_kw(v, name),
            "async" => kw.async_ = int_kw(ld, v, name).map(|i| (i, v)),
            "poll" => kw.poll = int_kw(ld, v, name),
            "rescue" | "always" => {
                ld.err(k.error(format!("`{name}` is only valid together with `block`")))
            }
            other => {
                let mut d = k
                    .error(format!("unsupported loop `{other}`"))
                    .label(format!(
                        "strata has no `{}` lookup",
                        other.strip_prefix("with_").unwrap_or(other)
                    ));
                let withs: Vec<String> = crate::template::lookup::LOOKUPS
                    .iter()
                    .map(|(l, _)| format!("with_{l}"))
                    .collect();
                let candidates = LOOP_KEYWORDS
                    .iter()
                    .copied()
                    .chain(withs.iter().map(String::as_str));
                if let Some(h) = did_you_mean(other, candidates) {
                    d = d.help(h);
                } else {
                    d = d.help("use `loop:` with a Jinja expression instead");
                }
                ld.err(d);
            }
        }
    }
    if let Some(lc) = loop_ctl {
        match &mut kw.loop_ {
            Some(l) => parse_loop_control(ld, lc, l),
            None => ld.err(lc.error("`loop_control` needs a loop (`loop:` or `with_*:`)")),
        }
    }
    kw
}

fn string_list(ld: &mut Loader, v: &Node, kw: &str) -> Vec<String> {
    match &v.value {
        Yaml::Seq(items) => items.iter().filter_map(|i| ld.string_kw(i, kw)).collect(),
        Yaml::Null => Vec::new(),
        _ => ld.string_kw(v, kw).into_iter().collect(),
    }
}

fn module_task(
    ld: &mut Loader,
    node: &Node,
    key: &Node,
    value: &Node,
    spec: &'static ModuleSpec,
    kw: TaskKw,
    scope: &Scope,
) -> Task {
    ld.check_tree(value);
    let args = match task_args(spec, key, value, kw.args) {
        Ok(a) => a,
        Err(d) => {
            ld.diags.extend(d);
            Map::new()
        }
    };
    if let Some(a) = kw.args {
        ld.check_tree(a);
    }
    srcfile::check(ld, spec, &args, key, value, kw.args, scope);
    template_options::check(ld, spec, &args, key, value, kw.args);
    let written = key.scalar_string().unwrap_or_else(|| spec.name.to_string());
    // Like a module strata does not implement, `async` on a module strata cannot detach loads
    // (a warning, `refused.rs`) and fails only where it runs (`executor/async_task.rs`);
    // `--strict` refuses it here.
    if let Some((IntKw::Int(n), at)) = &kw.async_
        && *n > 0
        && ld.opts.strict
        && async_support(spec.name) == AsyncSupport::NotInStrata
    {
        ld.err(
            at.error(async_refusal(spec.name, &written))
                .label("`async` on this module, refused by --strict")
                .help("drop `async`/`poll` to run the task in the foreground"),
        );
    }
    let async_ = async_kw(&kw, written);
    Task {
        name: kw.name,
        span: node.span.clone(),
        action: spec.name.to_string(),
        action_span: key.span.clone(),
        args,
        common: kw.common,
        loop_: kw.loop_,
        register: kw.register,
        notify: kw.notify,
        changed_when: kw.changed_when,
        failed_when: kw.failed_when,
        until: kw.until,
        retries: kw.retries,
        delay: kw.delay,
        async_,
        role: scope.role.clone(),
        base_dir: scope.base_dir.clone(),
    }
}

/// A task's `async:` and `poll:`; `poll` alone is ignored, as Ansible ignores it.
fn async_kw(kw: &TaskKw, written: String) -> Option<AsyncKw> {
    kw.async_.as_ref().map(|(limit, _)| AsyncKw {
        limit: limit.clone(),
        poll: kw.poll.clone(),
        written,
    })
}

/// Builds a task whose action the loader resolved itself (`meta`).
pub fn loader_task(
    node: &Node,
    key: &Node,
    action: &str,
    args: Map<String, Value>,
    kw: TaskKw,
    scope: &Scope,
) -> Task {
    let async_ = async_kw(&kw, action.to_string());
    Task {
        name: kw.name,
        span: node.span.clone(),
        action: action.to_string(),
        action_span: key.span.clone(),
        args,
        common: kw.common,
        loop_: kw.loop_,
        register: kw.register,
        notify: kw.notify,
        changed_when: kw.changed_when,
        failed_when: kw.failed_when,
        until: kw.until,
        retries: kw.retries,
        delay: kw.delay,
        async_,
        role: scope.role.clone(),
        base_dir: scope.base_dir.clone(),
    }
}

impl Loader<'_> {
    /// A `handlers:` section (or a role's handlers file).
    pub fn parse_handlers(&mut self, node: &Node, scope: &Scope) -> Vec<Handler> {
        let ld = self;
        let scope = Scope {
            handlers: true,
            ..scope.clone()
        };
        let mut out = Vec::new();
        let Some(entries) = (match &node.value {
            Yaml::Null => Some(&[][..]),
            Yaml::Seq(s) => Some(&s[..]),
            _ => None,
        }) else {
            ld.err(node.error(format!(
                "`handlers` must be a list of tasks, found {}",
                node.kind()
            )));
            return out;
        };
        for entry in entries {
            let mut items = Vec::new();
            let listen = entry.get("listen");
            parse_item(ld, entry, &scope, &mut items);
            for item in items {
                let Item::Task(task) = item else {
                    ld.err(entry.error(
                        "handlers must be module tasks (blocks and includes are not supported here)",
                    ));
                    continue;
                };
                let mut names: Vec<String> = task.name.iter().cloned().collect();
                if let (Some(r), Some(n)) = (&task.role, &task.name) {
                    // Ansible also accepts `notify: role_name : handler name`.
                    names.push(format!("{} : {n}", r.name));
                }
                // `listen` was already validated as a keyword; read it quietly here.
                match listen.map(|l| &l.value) {
                    Some(Yaml::Seq(items)) => {
                        names.extend(items.iter().filter_map(Node::scalar_string))
                    }
                    Some(Yaml::Null) | None => {}
                    Some(_) => names.extend(listen.and_then(Node::scalar_string)),
                }
                if names.is_empty() {
                    ld.err(
                        entry.error("a handler needs a `name` or `listen` so it can be notified"),
                    );
                }
                out.push(Handler {
                    task: *task,
                    listen: names,
                });
            }
        }
        out
    }
}
