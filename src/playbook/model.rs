//! The validated playbook model. The loader turns spanned YAML into these types; the executor
//! only ever sees these, never raw YAML. Static imports (`import_tasks`, `import_role`, play
//! `roles:`, role `meta` dependencies) are already expanded here; dynamic includes are kept as
//! items and loaded by the executor at run time (pre-validated when their path is static).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::diagnostic::Span;
use crate::shell::BecomeMethod;

#[derive(Clone, Debug)]
pub struct Playbook {
    pub path: PathBuf,
    pub plays: Vec<Play>,
}

/// A Jinja expression as written, with its position (for `when`, `changed_when`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct Cond {
    pub expr: String,
    pub span: Span,
}

/// A string that may be templated, with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Text {
    pub value: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    #[default]
    Linear,
    Free,
}

/// One step of `serial:`. A list of these cycles the last value, as in Ansible.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Serial {
    Count(u32),
    Percent(f64),
}

#[derive(Clone, Debug)]
pub struct Play {
    pub name: String,
    pub span: Span,
    /// Host pattern, possibly templated (with extra vars only, before any host is touched).
    pub hosts: Text,
    /// Play `vars`, in order, still untemplated.
    pub vars: Map<String, Value>,
    /// `vars_files` contents, already loaded and merged in order.
    pub vars_files: Map<String, Value>,
    pub gather_facts: bool,
    pub become_: Option<bool>,
    pub become_user: Option<String>,
    pub become_method: Option<BecomeMethod>,
    pub become_flags: Option<String>,
    pub environment: Option<Value>,
    pub tags: Vec<String>,
    pub serial: Vec<Serial>,
    pub strategy: Strategy,
    pub max_fail_percentage: Option<f64>,
    pub any_errors_fatal: bool,
    pub check_mode: Option<bool>,
    pub diff: Option<bool>,
    pub ignore_errors: Option<bool>,
    pub no_log: Option<bool>,
    /// Play-level `run_once`, `throttle`, `timeout` and `ignore_unreachable`, which every
    /// task inherits.
    pub common: Common,
    pub order: HostOrder,
    pub vars_prompt: Vec<VarPrompt>,
    /// The play's directory: relative `files/`, `templates/` and includes resolve from here.
    pub base_dir: PathBuf,
    pub pre_tasks: Vec<Item>,
    /// Play `roles:` expanded to one `Item::Block` per role (dependencies first), then `tasks:`.
    pub tasks: Vec<Item>,
    pub post_tasks: Vec<Item>,
    /// Play handlers followed by the handlers of every role the play uses.
    pub handlers: Vec<Handler>,
    /// Variables at play-`vars` precedence that differ per host: a stack event gives each
    /// instance its own `stack.instance` and its layers' merged attributes, which one play
    /// `vars` mapping cannot express.
    pub host_vars: HashMap<String, Arc<Map<String, Value>>>,
    /// Roles whose variables every task of the play sees (Ansible's public `play.roles`):
    /// `roles:` entries and `import_role`s, known at load time, in the order they were met.
    pub public_roles: Vec<Arc<RoleCtx>>,
}

impl Play {
    /// A play with Ansible's defaults (facts gathered, linear strategy) and nothing to do.
    pub fn new(span: Span, base_dir: PathBuf) -> Play {
        Play {
            name: String::new(),
            hosts: Text {
                value: String::new(),
                span: span.clone(),
            },
            span,
            vars: Map::new(),
            vars_files: Map::new(),
            gather_facts: true,
            become_: None,
            become_user: None,
            become_method: None,
            become_flags: None,
            environment: None,
            tags: Vec::new(),
            serial: Vec::new(),
            strategy: Strategy::Linear,
            max_fail_percentage: None,
            any_errors_fatal: false,
            check_mode: None,
            diff: None,
            ignore_errors: None,
            no_log: None,
            common: Common::default(),
            order: HostOrder::Inventory,
            vars_prompt: Vec::new(),
            base_dir,
            pre_tasks: Vec::new(),
            tasks: Vec::new(),
            post_tasks: Vec::new(),
            handlers: Vec::new(),
            host_vars: HashMap::new(),
            public_roles: Vec::new(),
        }
    }
}

/// A role as used by a play or include: where its files are and the variables it brings.
/// The maps are already combined the way ansible-core's `Role.get_default_vars`,
/// `get_vars` and `get_role_params` combine them, so the executor only layers them.
#[derive(Clone, Debug, Default)]
pub struct RoleCtx {
    pub name: String,
    /// `role_path`.
    pub path: PathBuf,
    /// What this role's own files and use declare, before any combining.
    pub own: Arc<RoleOwn>,
    /// The roles that brought this one in (a meta dependency's dependents, or the role whose
    /// tasks include or import it), outermost first: Ansible's dependency chain.
    pub parents: Vec<Arc<RoleOwn>>,
    /// Defaults the role's tasks see, lowest precedence: its dependencies' defaults, then its
    /// parents', then its own.
    pub defaults: Map<String, Value>,
    /// `vars/` the role's tasks see, above play vars: the parents', the dependencies', its own.
    pub vars: Map<String, Value>,
    /// Parameters given where the role is used (`roles: [{role: x, a: 1}]`, include_role
    /// `vars`), the parents' first.
    pub params: Map<String, Value>,
    /// What the role shows every task of the play when it is public (a `roles:` entry, an
    /// `import_role`, an `include_role` with `public: true`): its and its dependencies'
    /// defaults, and its and its dependencies' `vars/`, without any parent's.
    pub public_defaults: Map<String, Value>,
    pub public_vars: Map<String, Value>,
}

/// A role's own variables, as its dependents pass them down the dependency chain.
#[derive(Clone, Debug, Default)]
pub struct RoleOwn {
    pub path: PathBuf,
    pub defaults: Map<String, Value>,
    pub vars: Map<String, Value>,
    pub params: Map<String, Value>,
}

impl RoleCtx {
    /// The role directories a task of this role searches for files and templates: its own,
    /// then its parents' from the nearest (Ansible's `ansible_search_path` begins so).
    pub fn search_roots(&self) -> Vec<PathBuf> {
        let mut v = vec![self.path.clone()];
        for p in self.parents.iter().rev() {
            if !v.contains(&p.path) {
                v.push(p.path.clone());
            }
        }
        v
    }
}

/// Keywords shared by tasks, blocks and includes. Inherited keywords (`become`, `tags`, `when`
/// of imports) are already merged into the children by the loader, except `when` of a block,
/// which the executor evaluates per child task as Ansible does.
#[derive(Clone, Debug, Default)]
pub struct Common {
    pub when: Vec<Cond>,
    /// Effective tags, including those inherited from play, role, block and import.
    pub tags: Vec<String>,
    pub vars: Map<String, Value>,
    pub become_: Option<bool>,
    pub become_user: Option<Text>,
    pub become_method: Option<BecomeMethod>,
    pub become_flags: Option<String>,
    pub environment: Option<Value>,
    pub ignore_errors: Option<Cond>,
    pub no_log: Option<bool>,
    pub check_mode: Option<bool>,
    pub diff: Option<bool>,
    pub delegate_to: Option<Text>,
    /// Facts a delegated task gathers or sets go to the delegated host instead.
    pub delegate_facts: Option<bool>,
    pub run_once: bool,
    pub any_errors_fatal: Option<bool>,
    /// At most this many hosts run the task at once; 0 is no limit. A template is rendered
    /// when the task starts, as Ansible's strategy does.
    pub throttle: Option<IntKw>,
    /// Seconds one attempt of the module may take before it fails as timed out.
    pub timeout: Option<IntKw>,
    /// An unreachable result does not remove the host from the play.
    pub ignore_unreachable: Option<bool>,
}

/// An integer keyword: a literal checked at load time, or a template rendered at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum IntKw {
    Int(i64),
    Template(Text),
}

/// The values of play `order`.
pub const HOST_ORDERS: &[&str] = &[
    "inventory",
    "reverse_inventory",
    "sorted",
    "reverse_sorted",
    "shuffle",
];

/// Play `order`: how the play's hosts are ordered before batching.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HostOrder {
    #[default]
    Inventory,
    ReverseInventory,
    Sorted,
    ReverseSorted,
    Shuffle,
}

impl HostOrder {
    pub fn parse(s: &str) -> Option<HostOrder> {
        Some(match s {
            "inventory" => HostOrder::Inventory,
            "reverse_inventory" => HostOrder::ReverseInventory,
            "sorted" => HostOrder::Sorted,
            "reverse_sorted" => HostOrder::ReverseSorted,
            "shuffle" => HostOrder::Shuffle,
            _ => return None,
        })
    }
}

/// One `vars_prompt` entry: the variable is asked for on the terminal before the play runs,
/// unless `-e` already gives it.
#[derive(Clone, Debug)]
pub struct VarPrompt {
    pub name: String,
    pub prompt: String,
    pub private: bool,
    pub default: Option<Value>,
    pub confirm: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LoopKind {
    /// `loop:` and `with_list:`: the list as given.
    Loop,
    /// `with_items:`: flattened one level.
    Items,
    /// `with_dict:`: `{key, value}` items.
    Dict,
    /// `with_<lookup>:` (`with_sequence`, `with_fileglob`, ...): Ansible runs the lookup on
    /// the listified terms, as `query('<lookup>', *terms)`.
    Lookup(String),
}

#[derive(Clone, Debug)]
pub struct LoopSpec {
    pub kind: LoopKind,
    /// Untemplated value: a list, or a string expression producing one.
    pub value: Value,
    pub span: Span,
    pub loop_var: String,
    pub index_var: Option<String>,
    pub label: Option<String>,
    /// Seconds to pause between items (`loop_control.pause`).
    pub pause: Option<f64>,
}

/// A task's `async:` and `poll:` (Ansible's `async_val` and `poll`).
#[derive(Clone, Debug, PartialEq)]
pub struct AsyncKw {
    /// Seconds the job may run; 0 runs the task in the foreground, as Ansible does.
    pub limit: IntKw,
    /// Seconds between status checks, 0 for fire-and-forget; `None` is Ansible's default
    /// (`ANSIBLE_POLL_INTERVAL`, else 15).
    pub poll: Option<IntKw>,
    /// The module as the task names it (`ansible.builtin.copy`), for Ansible's refusal text.
    pub written: String,
}

#[derive(Clone, Debug)]
pub struct Task {
    pub name: Option<String>,
    pub span: Span,
    /// Canonical short module name (`copy`, not `ansible.builtin.copy`), or `meta`.
    pub action: String,
    pub action_span: Span,
    /// Module arguments, untemplated. Free-form strings were already split by the loader.
    pub args: Map<String, Value>,
    pub common: Common,
    pub loop_: Option<LoopSpec>,
    pub register: Option<String>,
    pub notify: Vec<String>,
    pub changed_when: Option<Vec<Cond>>,
    pub failed_when: Option<Vec<Cond>>,
    pub until: Option<Vec<Cond>>,
    pub retries: Option<u32>,
    pub delay: Option<f64>,
    /// `async:` and `poll:`, when the task has `async`.
    pub async_: Option<AsyncKw>,
    pub role: Option<Arc<RoleCtx>>,
    /// Directory for relative lookups (`files/`, `templates/`): the role or play directory.
    pub base_dir: PathBuf,
}

impl Task {
    /// A task the engine makes itself (fact gathering, an include's stand-in for its
    /// conditions): no arguments, no loop, nothing registered.
    pub fn internal(
        name: &str,
        action: &str,
        span: &Span,
        common: Common,
        role: Option<Arc<RoleCtx>>,
    ) -> Task {
        Task {
            name: Some(name.to_string()),
            span: span.clone(),
            action: action.to_string(),
            action_span: span.clone(),
            args: Map::new(),
            common,
            loop_: None,
            register: None,
            notify: vec![],
            changed_when: None,
            failed_when: None,
            until: None,
            retries: None,
            delay: None,
            async_: None,
            role,
            base_dir: PathBuf::new(),
        }
    }

    /// The name shown in headers: Ansible's `role : name`, or the action when unnamed.
    pub fn display_name(&self) -> String {
        self.display_as(self.name.as_deref().unwrap_or(&self.action))
    }

    /// `name` (the task's name once templated) shown as [`Task::display_name`] shows it.
    pub fn display_as(&self, name: &str) -> String {
        match &self.role {
            Some(r) => format!("{} : {name}", r.name),
            None => name.to_string(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Block {
    pub name: Option<String>,
    pub span: Span,
    pub block: Vec<Item>,
    pub rescue: Vec<Item>,
    pub always: Vec<Item>,
    pub common: Common,
    pub role: Option<Arc<RoleCtx>>,
}

/// `include_tasks` (dynamic): the file is chosen and loaded per host at run time.
#[derive(Clone, Debug)]
pub struct IncludeTasks {
    pub name: Option<String>,
    pub span: Span,
    pub file: Text,
    pub common: Common,
    pub loop_: Option<LoopSpec>,
    pub role: Option<Arc<RoleCtx>>,
    /// Where a relative `file` resolves: the including file's directory (or the role's `tasks/`).
    pub base_dir: PathBuf,
    /// The parsed file when `file` is static, so it is validated before any host is touched.
    /// Already has `inherited` applied.
    pub preloaded: Option<Vec<Item>>,
    /// What the included tasks inherit: the enclosing play/role/block keywords and this
    /// include's own keywords except its `tags` and `when` (which, as in Ansible, apply to the
    /// include itself only). Apply with `playbook::inherit` to tasks loaded at run time.
    pub inherited: Common,
}

/// `include_role` (dynamic).
#[derive(Clone, Debug)]
pub struct IncludeRole {
    pub name: Option<String>,
    pub span: Span,
    pub role_name: Text,
    pub tasks_from: Option<String>,
    pub common: Common,
    pub loop_: Option<LoopSpec>,
    /// The role loaded at load time when `role_name` is static: its tasks (as one block whose
    /// tasks carry the role context) and handlers.
    pub preloaded: Option<(Vec<Item>, Vec<Handler>)>,
    /// As [`IncludeTasks::inherited`]: apply to the role's items loaded at run time.
    pub inherited: Common,
    pub base_dir: PathBuf,
    /// `public: true`: once included, the role's defaults and vars are visible to the rest of
    /// the play (include_role is private by default, as with `private_role_vars: false`).
    pub public: bool,
}

#[derive(Clone, Debug)]
pub enum Item {
    Task(Box<Task>),
    Block(Box<Block>),
    IncludeTasks(Box<IncludeTasks>),
    IncludeRole(Box<IncludeRole>),
}

#[derive(Clone, Debug)]
pub struct Handler {
    pub task: Task,
    /// The handler's name plus its `listen` topics: a `notify` matching any of these runs it.
    pub listen: Vec<String>,
}
