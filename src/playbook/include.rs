//! Loader-handled actions: `meta`, `include_tasks`/`import_tasks` and
//! `include_role`/`import_role`. Imports are expanded now; includes stay dynamic but are
//! preloaded (and so validated) whenever their target is static.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::freeform::parse_kv;
use super::keywords::{heritable, include_heritable, inherit};
use super::loader::{Loader, Scope, canonical, parent_dir};
use super::model::{Block, Common, IncludeRole, IncludeTasks, Item};
use super::role::{self, RoleUse};
use super::task::{loader_task, parse_kws};
use crate::template::is_template;
use crate::yaml::{Node, Yaml};

const META_ACTIONS: &[&str] = &[
    "flush_handlers",
    "end_play",
    "end_host",
    "noop",
    "clear_host_errors",
];
const LOOPS: &[&str] = &[
    "loop",
    "with_items",
    "with_list",
    "with_dict",
    "loop_control",
];
const ROLE_ARGS: &[&str] = &[
    "name",
    "tasks_from",
    "vars_from",
    "defaults_from",
    "handlers_from",
    "allow_duplicates",
    "public",
    "rolespec_validate",
];

impl Loader<'_> {
    /// A task whose action the loader handles itself (`meta`, includes, imports).
    #[allow(clippy::too_many_arguments)]
    pub fn parse_action(
        &mut self,
        node: &Node,
        key: &Node,
        value: &Node,
        action: &str,
        kws: &[(&Node, &Node)],
        scope: &Scope,
        out: &mut Vec<Item>,
    ) {
        let ld = self;
        match action {
            "meta" => {
                let kw = parse_kws(ld, kws, Some(("meta", &[])), scope);
                match value.as_str() {
                    Some(m) if META_ACTIONS.contains(&m) => {
                        let mut args = Map::new();
                        args.insert("_raw_params".into(), Value::from(m));
                        out.push(Item::Task(Box::new(loader_task(
                            node, key, "meta", args, kw, scope,
                        ))));
                    }
                    _ => {
                        let mut d = value
                            .error(format!(
                                "unsupported meta action `{}`",
                                value.scalar_string().unwrap_or_else(|| value.kind().into())
                            ))
                            .help(format!("supported: {}", META_ACTIONS.join(", ")));
                        if let Some(h) = value.as_str().and_then(|s| {
                            super::suggest::did_you_mean(s, META_ACTIONS.iter().copied())
                        }) {
                            d = d.help(h);
                        }
                        ld.err(d);
                    }
                }
            }
            "include_tasks" => {
                let kw = parse_kws(ld, kws, Some(("include_tasks", LOOPS)), scope);
                let Some(file) = file_arg(ld, "include_tasks", value) else {
                    return;
                };
                let Some(text) = ld.text_kw(file, "include_tasks") else {
                    return;
                };
                let mut preloaded = None;
                let inherited = include_heritable(&kw.common);
                if !is_template(&text.value) {
                    match resolve_task_file(scope, &text.value) {
                        // A recursive include (guarded by a condition) is loaded at run time.
                        Ok(path) if ld.stack.contains(&canonical(&path)) => {}
                        Ok(path) => {
                            preloaded = ld.load_task_file(&path, scope, file);
                            if let Some(p) = &mut preloaded {
                                inherit(p, &inherited);
                            }
                        }
                        Err(tried) => {
                            not_found(ld, file, "included tasks file", &text.value, &tried)
                        }
                    }
                }
                let base_dir = match &scope.role {
                    Some(r) => r.path.join("tasks"),
                    None => scope.file_dir.clone(),
                };
                out.push(Item::IncludeTasks(Box::new(IncludeTasks {
                    name: kw.name,
                    span: node.span.clone(),
                    file: text,
                    common: kw.common,
                    loop_: kw.loop_,
                    role: scope.role.clone(),
                    base_dir,
                    preloaded,
                    inherited,
                })));
            }
            "import_tasks" => {
                let kw = parse_kws(ld, kws, Some(("import_tasks", &[])), scope);
                let Some(file) = file_arg(ld, "import_tasks", value) else {
                    return;
                };
                let Some(rel) = ld.render_static(file, "an `import_tasks` file name") else {
                    return;
                };
                let path = match resolve_task_file(scope, &rel) {
                    Ok(p) => p,
                    Err(tried) => return not_found(ld, file, "imported tasks file", &rel, &tried),
                };
                let Some(mut items) = ld.load_task_file(&path, scope, file) else {
                    return;
                };
                inherit(&mut items, &heritable(&kw.common));
                out.push(Item::Block(Box::new(Block {
                    name: kw.name,
                    span: node.span.clone(),
                    block: items,
                    rescue: Vec::new(),
                    always: Vec::new(),
                    common: kw.common,
                    role: scope.role.clone(),
                })));
            }
            "include_role" | "import_role" => {
                let dynamic = action == "include_role";
                let kw = parse_kws(
                    ld,
                    kws,
                    Some((action, if dynamic { LOOPS } else { &[] })),
                    scope,
                );
                let Some(ra) = role_args(ld, action, value) else {
                    return;
                };
                // include_role `vars:` become the role's parameters, as in Ansible.
                let params = kw.common.vars.clone();
                let u = |name: String, common: Common, to_play: bool| RoleUse {
                    name,
                    span: ra.name.span.clone(),
                    tasks_from: ra.tasks_from.clone(),
                    defaults_from: ra.defaults_from.clone(),
                    vars_from: ra.vars_from.clone(),
                    handlers_from: ra.handlers_from.clone(),
                    params: params.clone(),
                    param_nodes: Vec::new(),
                    common,
                    dedupe: false,
                    to_play,
                };
                if dynamic {
                    let Some(name) = ld.text_kw(&ra.name, "name") else {
                        return;
                    };
                    let mut preloaded = None;
                    let inherited = include_heritable(&kw.common);
                    let static_from = ra.tasks_from.as_deref().is_none_or(|t| !is_template(t));
                    if !is_template(&name.value) && static_from {
                        let u = u(name.value.clone(), inherited.clone(), false);
                        preloaded = role::expand(ld, &u, scope);
                    }
                    out.push(Item::IncludeRole(Box::new(IncludeRole {
                        name: kw.name,
                        span: node.span.clone(),
                        role_name: name,
                        tasks_from: ra.tasks_from.clone(),
                        common: kw.common,
                        loop_: kw.loop_,
                        preloaded,
                        base_dir: scope.playbook_dir.clone(),
                        inherited,
                        public: ra.public.unwrap_or(false),
                    })));
                } else {
                    let Some(name) = ld.render_static(&ra.name, "an `import_role` name") else {
                        return;
                    };
                    if let Some(x) = role::expand_with_ctx(ld, &u(name, kw.common, true), scope) {
                        out.extend(x.items);
                        // An import is public from the moment the play is parsed.
                        if ra.public.unwrap_or(true) {
                            ld.play.public_roles.push(x.ctx);
                        }
                    }
                }
            }
            other => ld.err(key.error(format!("`{other}` is not valid here"))),
        }
    }
}

/// The file of `include_tasks`/`import_tasks`: a string, or `file:` in a mapping.
fn file_arg<'a>(ld: &mut Loader, action: &str, value: &'a Node) -> Option<&'a Node> {
    match &value.value {
        Yaml::Str(_) => Some(value),
        Yaml::Map(m) => {
            let mut file = None;
            for (k, v) in m {
                match k.as_str().unwrap_or_default() {
                    "file" | "_raw_params" => file = Some(v),
                    "apply" => ld.err(k.error(format!("`apply` is not supported on `{action}`")).help(
                        "put the keywords on a block around the included tasks, or on the tasks themselves",
                    )),
                    _ => ld.unknown_key(k, &["file"], action),
                }
            }
            if file.is_none() {
                ld.err(value.error(format!("`{action}` needs a `file`")));
            }
            file
        }
        _ => {
            ld.err(value.error(format!(
                "`{action}` needs a file name, found {}",
                value.kind()
            )));
            None
        }
    }
}

/// Where Ansible looks for a tasks file: the role's `tasks/` first, then next to the file
/// doing the including, then the playbook directory.
pub fn resolve_task_file(scope: &Scope, rel: &str) -> Result<PathBuf, Vec<PathBuf>> {
    let rel = rel.strip_prefix("file=").unwrap_or(rel);
    let p = Path::new(rel);
    let mut tried = Vec::new();
    if p.is_absolute() {
        tried.push(p.to_path_buf());
    } else {
        if let Some(r) = &scope.role {
            tried.push(r.path.join("tasks").join(p));
        }
        tried.push(scope.file_dir.join(p));
        if scope.role.is_none() {
            tried.push(scope.playbook_dir.join(p));
        }
    }
    tried.dedup();
    tried.iter().find(|c| c.is_file()).cloned().ok_or(tried)
}

pub fn not_found(ld: &mut Loader, at: &Node, what: &str, name: &str, tried: &[PathBuf]) {
    let list = tried
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    ld.err(
        at.error(format!("{what} `{name}` not found"))
            .label("no such file")
            .help(format!("looked in: {list}")),
    );
}

impl Loader<'_> {
    /// Loads a tasks file as items, in the including scope but relative to its own directory.
    pub fn load_task_file(&mut self, path: &Path, scope: &Scope, at: &Node) -> Option<Vec<Item>> {
        let ld = self;
        ld.enter(path, &at.span)?;
        let file_scope = Scope {
            file_dir: parent_dir(path),
            handlers: false,
            ..scope.clone()
        };
        let items = ld
            .load_yaml(path)
            .map(|n| ld.parse_items(&n, &file_scope, "a tasks file"));
        ld.leave();
        items
    }
}

/// Arguments of `include_role`/`import_role`.
struct RoleArgs {
    name: Node,
    tasks_from: Option<String>,
    vars_from: Option<String>,
    defaults_from: Option<String>,
    handlers_from: Option<String>,
    /// `public`, when given: imports default to public, includes to private.
    public: Option<bool>,
}

fn role_args(ld: &mut Loader, action: &str, value: &Node) -> Option<RoleArgs> {
    let pairs: Vec<(Node, Node)> = match &value.value {
        Yaml::Map(m) => m.clone(),
        Yaml::Str(s) => match parse_kv(s, None) {
            Ok(p) => {
                let str_node = |s: String| Node {
                    value: Yaml::Str(s),
                    span: value.span.clone(),
                };
                let mut pairs: Vec<(Node, Node)> = p
                    .options
                    .into_iter()
                    .map(|o| (str_node(o.key), str_node(o.value)))
                    .collect();
                if let Some(raw) = p.raw {
                    // `include_role: myrole` is not Ansible syntax, but the intent is plain.
                    pairs.push((str_node("name".into()), str_node(raw)));
                }
                pairs
            }
            Err(e) => {
                ld.err(value.error(format!("cannot split the arguments of `{action}`: {e}")));
                return None;
            }
        },
        _ => {
            ld.err(value.error(format!(
                "`{action}` needs a mapping with `name`, found {}",
                value.kind()
            )));
            return None;
        }
    };
    let mut name = None;
    let mut ra = RoleArgs {
        name: value.clone(),
        tasks_from: None,
        vars_from: None,
        defaults_from: None,
        handlers_from: None,
        public: None,
    };
    for (k, v) in &pairs {
        let key = k.as_str().unwrap_or_default();
        match key {
            "name" => name = Some(v.clone()),
            "tasks_from" => ra.tasks_from = ld.string_kw(v, key),
            "vars_from" => ra.vars_from = ld.string_kw(v, key),
            "defaults_from" => ra.defaults_from = ld.string_kw(v, key),
            "handlers_from" => ra.handlers_from = ld.string_kw(v, key),
            "public" => ra.public = ld.bool_kw(v, key),
            "allow_duplicates" => {
                // ansible-core's default for include/import_role; `false` would skip the role
                // when an equal include already completed on the host, which strata does not
                // track, so it is refused rather than ignored.
                if ld.bool_kw(v, key) == Some(false) {
                    ld.err(
                        v.error(format!(
                            "`allow_duplicates: false` is not supported on `{action}`"
                        ))
                        .label("not supported")
                        .help("list the role under the play's `roles:` to run it once per play"),
                    );
                }
            }
            "rolespec_validate" => {
                ld.bool_kw(v, key);
            }
            "apply" => ld.err(k.error(format!("`apply` is not supported on `{action}`"))),
            _ => ld.unknown_key(k, ROLE_ARGS, action),
        }
    }
    match name {
        Some(n) => {
            ra.name = n;
            Some(ra)
        }
        None => {
            ld.err(value.error(format!("`{action}` needs a role `name`")));
            None
        }
    }
}
