//! Roles: finding a role directory, reading its defaults, vars, meta dependencies, tasks and
//! handlers, and expanding one role use into blocks whose tasks carry the role context.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::keywords::{COMMON_KEYWORDS, heritable, inherit, parse_common};
use super::loader::{Loader, Scope, canonical, is_var_name};
use super::model::{Block, Common, Handler, Item, RoleCtx, RoleOwn};
use crate::diagnostic::{Diagnostic, Span};
use crate::yaml::{Node, Yaml};

const META_KEYS: &[&str] = &[
    "dependencies",
    "allow_duplicates",
    "galaxy_info",
    "collections",
    "argument_specs",
];

/// One use of a role: a `roles:` entry, a meta dependency, or an import/include.
#[derive(Clone, Debug)]
pub struct RoleUse {
    pub name: String,
    pub span: Span,
    pub tasks_from: Option<String>,
    pub defaults_from: Option<String>,
    pub vars_from: Option<String>,
    pub handlers_from: Option<String>,
    pub params: Map<String, Value>,
    /// The parameters as written, where a `roles:` entry gives them: literal ones are checked
    /// against the role's argument spec at load time, at their place.
    pub param_nodes: Vec<(String, Node)>,
    pub common: Common,
    /// `roles:` entries and dependencies run once per play for the same parameters;
    /// explicit imports and includes always run.
    pub dedupe: bool,
    /// Handlers go to the play's handler list (static uses) instead of being returned.
    pub to_play: bool,
}

/// Parses a `roles:` entry or a `dependencies:` entry: a name, or a mapping with `role` (or
/// `name`), keywords, `vars`, and role parameters.
pub fn parse_role_entry(ld: &mut Loader, node: &Node, to_play: bool) -> Option<RoleUse> {
    let mut u = RoleUse {
        name: String::new(),
        span: node.span.clone(),
        tasks_from: None,
        defaults_from: None,
        vars_from: None,
        handlers_from: None,
        params: Map::new(),
        param_nodes: Vec::new(),
        common: Common::default(),
        dedupe: true,
        to_play,
    };
    match &node.value {
        Yaml::Str(_) => u.name = ld.render_static(node, "a role name")?,
        Yaml::Map(m) => {
            let mut name = None;
            for (k, v) in m {
                let key = k.as_str().unwrap_or_default();
                match key {
                    "role" | "name" => {
                        u.span = v.span.clone();
                        name = ld.render_static(v, "a role name");
                    }
                    "vars" => {
                        let vars = ld.vars_kw(v, "role `vars`");
                        u.params.extend(vars);
                        for (vk, vv) in v.as_map().unwrap_or_default() {
                            if let Some(name) = vk.as_str() {
                                u.param_nodes.push((name.to_string(), vv.clone()));
                            }
                        }
                    }
                    _ if COMMON_KEYWORDS.contains(&key) => {
                        parse_common(ld, key, v, &mut u.common);
                    }
                    _ if is_var_name(key) => {
                        ld.check_tree(v);
                        u.params.insert(key.to_string(), v.to_json());
                        u.param_nodes.push((key.to_string(), v.clone()));
                    }
                    _ => ld.err(k.error(format!("`{key}` is not a valid role parameter name"))),
                }
            }
            match name {
                Some(n) => u.name = n,
                None => {
                    ld.err(node.error("a role entry needs `role: <name>`"));
                    return None;
                }
            }
        }
        _ => {
            ld.err(node.error(format!(
                "a role entry must be a name or a mapping, found {}",
                node.kind()
            )));
            return None;
        }
    }
    Some(u)
}

/// `dir/<stem>.yml`, `.yaml` or the bare name, as Ansible accepts for role files.
fn role_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    [
        format!("{stem}.yml"),
        format!("{stem}.yaml"),
        stem.to_string(),
    ]
    .into_iter()
    .map(|f| dir.join(f))
    .find(|p| p.is_file())
}

/// Loads a role's `defaults/` or `vars/` file: a mapping (or empty).
fn load_vars_file(
    ld: &mut Loader,
    dir: &Path,
    stem: &str,
    explicit: bool,
    at: &Span,
) -> Map<String, Value> {
    let Some(path) = role_file(dir, stem) else {
        if explicit {
            ld.err(Diagnostic::new(
                at.clone(),
                format!("{}/{stem}.yml not found", dir.display()),
            ));
        }
        return Map::new();
    };
    let Some(node) = ld.load_yaml(&path) else {
        return Map::new();
    };
    if node.is_null() {
        return Map::new();
    }
    ld.vars_kw(&node, &format!("{}", path.display()))
}

struct Meta {
    deps: Vec<RoleUse>,
    allow_duplicates: bool,
}

fn load_meta(ld: &mut Loader, dir: &Path, to_play: bool) -> Meta {
    let mut meta = Meta {
        deps: Vec::new(),
        allow_duplicates: false,
    };
    let Some(path) = role_file(&dir.join("meta"), "main") else {
        return meta;
    };
    let Some(node) = ld.load_yaml(&path) else {
        return meta;
    };
    let Some(map) = node.as_map() else {
        if !node.is_null() {
            ld.err(node.error(format!(
                "role meta must be a mapping, found {}",
                node.kind()
            )));
        }
        return meta;
    };
    for (k, v) in map {
        match k.as_str().unwrap_or_default() {
            "dependencies" => match &v.value {
                Yaml::Seq(items) => {
                    meta.deps = items
                        .iter()
                        .filter_map(|i| parse_role_entry(ld, i, to_play))
                        .collect();
                }
                Yaml::Null => {}
                _ => ld.err(v.error(format!("`dependencies` must be a list, found {}", v.kind()))),
            },
            "allow_duplicates" => {
                meta.allow_duplicates = ld.bool_kw(v, "allow_duplicates").unwrap_or(false)
            }
            "galaxy_info" | "collections" | "argument_specs" => {}
            _ => ld.unknown_key(k, META_KEYS, "role meta"),
        }
    }
    meta
}

/// The directory of the role `u` names, or a located "not found" error listing the places
/// searched.
pub fn locate(ld: &mut Loader, u: &RoleUse, scope: &Scope) -> Option<PathBuf> {
    let candidates = super::role_search::candidates(
        &u.name,
        &scope.playbook_dir,
        &ld.opts.roles_path,
        scope.role.as_ref().and_then(|r| r.path.parent()),
    );
    let found = candidates.iter().find(|c| c.is_dir()).cloned();
    if found.is_none() {
        let list = candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        ld.err(
            Diagnostic::new(u.span.clone(), format!("role `{}` not found", u.name))
                .label("no such role")
                .help(format!("looked in: {list}")),
        );
    }
    found
}

/// Whether the role in `dir` has `tasks/<stem>.yml` (or `.yaml`, or the bare name).
pub fn has_tasks_file(dir: &Path, stem: &str) -> bool {
    role_file(&dir.join("tasks"), stem).is_some()
}

/// Expands one role use into its dependencies' blocks followed by its own block. Returns the
/// items and, unless `to_play`, the handlers (which otherwise join the play's handlers).
/// `None` when the role could not be loaded (the error is recorded).
pub fn expand(ld: &mut Loader, u: &RoleUse, scope: &Scope) -> Option<(Vec<Item>, Vec<Handler>)> {
    expand_with_ctx(ld, u, scope).map(|e| (e.items, e.handlers))
}

/// One expanded role use: its items and handlers (none when it already ran in this play),
/// and its context, whose public variables its dependents and the play may see.
pub struct Expansion {
    pub items: Vec<Item>,
    pub handlers: Vec<Handler>,
    pub ctx: Arc<RoleCtx>,
}

/// [`expand`], also giving the role's context.
pub fn expand_with_ctx(ld: &mut Loader, u: &RoleUse, scope: &Scope) -> Option<Expansion> {
    let dir = locate(ld, u, scope)?;
    let id = canonical(&dir);
    ld.enter(&id, &u.span)?;
    let out = expand_found(ld, u, scope, &dir, &id);
    ld.leave();
    out
}

/// What makes two uses of a role the same use, as ansible-core's role equality: the tasks
/// file, parameters, `when` and `tags`.
fn use_key(id: &Path, u: &RoleUse) -> (PathBuf, String) {
    let when: Vec<&str> = u.common.when.iter().map(|c| c.expr.as_str()).collect();
    (
        id.to_path_buf(),
        format!(
            "{}|{}|{}|{}",
            u.tasks_from.as_deref().unwrap_or("main"),
            Value::Object(u.params.clone()),
            Value::from(when),
            Value::from(u.common.tags.clone()),
        ),
    )
}

/// Later maps override earlier ones key by key (Ansible's default `hash_behaviour: replace`).
fn combined<'a>(maps: impl IntoIterator<Item = &'a Map<String, Value>>) -> Map<String, Value> {
    let mut out = Map::new();
    for m in maps {
        out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    out
}

fn expand_found(
    ld: &mut Loader,
    u: &RoleUse,
    scope: &Scope,
    dir: &Path,
    id: &Path,
) -> Option<Expansion> {
    let meta = load_meta(ld, dir, u.to_play);
    let key = use_key(id, u);
    if u.dedupe && !meta.allow_duplicates {
        if ld.play.roles_run.contains(&key) {
            // It runs once, but whoever depends on it again still sees its variables.
            let ctx = ld
                .play
                .role_ctxs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, c)| c.clone())?;
            return Some(Expansion {
                items: Vec::new(),
                handlers: Vec::new(),
                ctx,
            });
        }
        ld.play.roles_run.push(key.clone());
    }
    let name = Path::new(&u.name)
        .file_name()
        .map_or(u.name.clone(), |n| n.to_string_lossy().into_owned());
    let own = Arc::new(RoleOwn {
        path: dir.to_path_buf(),
        defaults: load_vars_file(
            ld,
            &dir.join("defaults"),
            u.defaults_from.as_deref().unwrap_or("main"),
            u.defaults_from.is_some(),
            &u.span,
        ),
        vars: load_vars_file(
            ld,
            &dir.join("vars"),
            u.vars_from.as_deref().unwrap_or("main"),
            u.vars_from.is_some(),
            &u.span,
        ),
        params: u.params.clone(),
    });
    // The chain a role inherits: whoever brought the current scope's role in, then that role.
    let parents: Vec<Arc<RoleOwn>> = match &scope.role {
        Some(p) => p.parents.iter().cloned().chain([p.own.clone()]).collect(),
        None => Vec::new(),
    };
    // Dependencies are parsed in a scope whose role is this one (for their chain and the
    // sibling role search); its combined variables are only known once they are loaded.
    let pending = Arc::new(RoleCtx {
        name: name.clone(),
        path: dir.to_path_buf(),
        own: own.clone(),
        parents: parents.clone(),
        ..RoleCtx::default()
    });
    let dep_scope = Scope {
        role: Some(pending),
        base_dir: dir.to_path_buf(),
        file_dir: dir.join("tasks"),
        playbook_dir: scope.playbook_dir.clone(),
        handlers: false,
    };

    let mut items = Vec::new();
    let mut handlers = Vec::new();
    let mut deps = Vec::new();
    for dep in &meta.deps {
        if let Some(e) = expand_with_ctx(ld, dep, &dep_scope) {
            items.extend(e.items);
            handlers.extend(e.handlers);
            deps.push(e.ctx);
        }
    }
    let dep_defaults = combined(deps.iter().map(|d| &d.public_defaults));
    let dep_vars = combined(deps.iter().map(|d| &d.public_vars));
    let ctx = Arc::new(RoleCtx {
        name,
        path: dir.to_path_buf(),
        defaults: combined(
            [&dep_defaults]
                .into_iter()
                .chain(parents.iter().map(|p| &p.defaults))
                .chain([&own.defaults]),
        ),
        vars: combined(
            parents
                .iter()
                .map(|p| &p.vars)
                .chain([&dep_vars, &own.vars]),
        ),
        params: combined(parents.iter().map(|p| &p.params).chain([&own.params])),
        public_defaults: combined([&dep_defaults, &own.defaults]),
        public_vars: combined([&dep_vars, &own.vars]),
        own,
        parents,
    });
    ld.play.role_ctxs.push((key, ctx.clone()));
    let role_scope = Scope {
        role: Some(ctx.clone()),
        ..dep_scope
    };
    // The using role's keywords (tags, become, when...) cover its dependencies too.
    for item in &mut items {
        if let Item::Block(b) = item {
            let mut when = u.common.when.clone();
            when.append(&mut b.common.when);
            b.common.when = when;
        }
    }
    inherit(&mut items, &heritable(&u.common));

    let tasks_stem = u.tasks_from.as_deref().unwrap_or("main");
    let mut tasks = match role_file(&dir.join("tasks"), tasks_stem) {
        Some(path) => {
            let at = Node {
                value: Yaml::Null,
                span: u.span.clone(),
            };
            ld.load_task_file(&path, &role_scope, &at)
                .unwrap_or_default()
        }
        None if u.tasks_from.is_some() => {
            ld.err(Diagnostic::new(
                u.span.clone(),
                format!(
                    "role `{}` has no tasks file `tasks/{tasks_stem}.yml`",
                    ctx.name
                ),
            ));
            Vec::new()
        }
        None => Vec::new(),
    };
    if let Some(task) = argument_spec_task(ld, u, dir, &ctx) {
        tasks.insert(0, Item::Task(Box::new(task)));
    }
    inherit(&mut tasks, &heritable(&u.common));

    let handlers_stem = u.handlers_from.as_deref().unwrap_or("main");
    let hkey = (id.to_path_buf(), handlers_stem.to_string());
    let already = u.to_play && ld.play.role_handlers_loaded.contains(&hkey);
    if !already {
        if let Some(path) = role_file(&dir.join("handlers"), handlers_stem) {
            if let Some(node) = ld.load_yaml(&path) {
                let hscope = Scope {
                    file_dir: dir.join("handlers"),
                    ..role_scope.clone()
                };
                handlers.extend(ld.parse_handlers(&node, &hscope));
            }
        } else if u.handlers_from.is_some() {
            ld.err(Diagnostic::new(
                u.span.clone(),
                format!(
                    "role `{}` has no handlers file `handlers/{handlers_stem}.yml`",
                    ctx.name
                ),
            ));
        }
        if u.to_play {
            ld.play.role_handlers_loaded.push(hkey);
        }
    }

    items.push(Item::Block(Box::new(Block {
        name: None,
        span: u.span.clone(),
        block: tasks,
        rescue: Vec::new(),
        always: Vec::new(),
        common: u.common.clone(),
        role: Some(ctx.clone()),
    })));
    if u.to_play {
        ld.play.handlers.append(&mut handlers);
    }
    Some(Expansion {
        items,
        handlers,
        ctx,
    })
}

/// The role's argument spec for the entry point this use runs (`tasks_from`, else `main`),
/// as ansible-core applies it: a `validate_argument_spec` task before the role's first task,
/// tagged `always`, which checks every value on every host once rendered. Literal role
/// parameters are checked here too, at load time and at their place (only `-e` can override
/// a role parameter, so their value is known now). A malformed spec file is a load error.
fn argument_spec_task(
    ld: &mut Loader,
    u: &RoleUse,
    dir: &Path,
    ctx: &Arc<RoleCtx>,
) -> Option<super::model::Task> {
    let specs = match crate::argspec::load(dir) {
        Ok(s) => s?,
        Err(errors) => {
            errors.into_iter().for_each(|d| ld.err(d));
            return None;
        }
    };
    let ep = specs.entry(u.tasks_from.as_deref())?;
    let literal: Vec<(String, Node)> = u
        .param_nodes
        .iter()
        .filter(|(k, _)| !ld.opts.extra_vars.contains_key(k))
        .cloned()
        .collect();
    for v in crate::argspec::check_entry(ep, &literal, false, &u.span) {
        let d = crate::argspec::diagnostic(
            &v,
            "role parameter",
            &ctx.name,
            &specs,
            std::slice::from_ref(&ep.name),
        );
        ld.err(d);
    }
    let mut name = format!("Validating arguments against arg spec '{}'", ep.name);
    if let Some(sd) = &ep.short_description {
        name = format!("{name} - {sd}");
    }
    let common = Common {
        tags: vec!["always".to_string()],
        ..Common::default()
    };
    let mut task = super::model::Task::internal(
        &name,
        "validate_argument_spec",
        &u.span,
        common,
        Some(ctx.clone()),
    );
    task.base_dir = dir.to_path_buf();
    task.args
        .insert("argument_spec".into(), ep.raw_options.clone());
    task.args
        .insert("provided_arguments".into(), Value::Object(u.params.clone()));
    task.args.insert(
        "validate_args_context".into(),
        serde_json::json!({
            "type": "role",
            "name": ctx.name,
            "argument_spec_name": ep.name,
            "path": dir.display().to_string(),
        }),
    );
    Some(task)
}
