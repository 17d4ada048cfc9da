//! Playbook loading and validation: spanned YAML in, [`model`] out, with every error located.
//! Everything that can be checked without a host is checked here — keywords, module names
//! and parameters, Jinja syntax, referenced files — and all problems are reported at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Span};
use crate::template::Templar;
use crate::yaml::{Node, Yaml};

mod action_kw;
mod block;
mod event_play;
pub mod freeform;
mod include;
mod keywords;
mod load;
mod loader;
mod loops;
pub mod model;
mod module_args;
mod module_table;
pub mod refused;
mod role;
pub mod role_search;
mod srcfile;
pub mod suggest;
pub mod tags;
mod task;
mod task_play;
mod template_options;
#[cfg(test)]
mod tests;
mod vars_prompt;

pub use event_play::{EventPlaySpec, event_play};
pub use keywords::{COMMON_KEYWORDS, include_heritable, inherit};
pub use module_args::validate_args;
pub use role::has_tasks_file;
pub use tags::selected;
pub use task_play::play_with_tasks;

use loader::{Loader, Scope, parent_dir};
use model::{Handler, Item, Playbook, RoleCtx};
use module_table::ModuleTable;

#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `-e` variables: the only variables usable in paths resolved at load time.
    pub extra_vars: Map<String, Value>,
    /// `roles_path`: searched after `<playbook_dir>/roles` (see `role_search.rs`).
    pub roles_path: Vec<PathBuf>,
    /// `gathering` from `ansible.cfg`: whether a play without `gather_facts` gathers.
    pub gathering: crate::config::Gathering,
    /// The playbook directory, for tasks files loaded at run time by `include_tasks` outside
    /// a role: their tasks' `base_dir` (for `files/`, `templates/`). Defaults to the tasks
    /// file's own directory when unset.
    pub playbook_dir: Option<PathBuf>,
    /// `--strict`: a known Ansible module strata does not implement is a load-time error
    /// instead of a task that fails where it runs (see `refused.rs`).
    pub strict: bool,
}

fn at_file(path: &Path) -> Node {
    Node {
        value: Yaml::Null,
        span: Span::file_only(path),
    }
}

pub(crate) fn load_playbook_with(
    path: &Path,
    opts: &LoadOptions,
    templar: &Templar,
    modules: &ModuleTable,
) -> Result<Playbook, Vec<Diagnostic>> {
    let mut ld = Loader::new(opts, templar, modules);
    let plays = load::load_plays(&mut ld, path, &at_file(path));
    ld.finish(Playbook {
        path: path.to_path_buf(),
        plays,
    })
}

/// Loads and validates a playbook (and everything it imports statically).
pub fn load_playbook(
    path: &Path,
    opts: &LoadOptions,
    templar: &Templar,
) -> Result<Playbook, Vec<Diagnostic>> {
    load_playbook_with(path, opts, templar, &ModuleTable::registry())
}

pub(crate) fn load_tasks_file_with(
    path: &Path,
    role: Option<Arc<RoleCtx>>,
    opts: &LoadOptions,
    templar: &Templar,
    modules: &ModuleTable,
) -> Result<Vec<Item>, Vec<Diagnostic>> {
    let mut ld = Loader::new(opts, templar, modules);
    let file_dir = parent_dir(path);
    let playbook_dir = opts
        .playbook_dir
        .clone()
        .unwrap_or_else(|| file_dir.clone());
    let base_dir = role
        .as_ref()
        .map_or_else(|| playbook_dir.clone(), |r| r.path.clone());
    let scope = Scope {
        role,
        base_dir,
        file_dir,
        playbook_dir,
        handlers: false,
    };
    let items = ld
        .load_task_file(path, &scope, &at_file(path))
        .unwrap_or_default();
    ld.finish(items)
}

/// Loads a tasks file at run time (`include_tasks` with a templated name). The caller applies
/// the include's inherited keywords with [`inherit`].
pub fn load_tasks_file(
    path: &Path,
    role: Option<Arc<RoleCtx>>,
    opts: &LoadOptions,
    templar: &Templar,
) -> Result<Vec<Item>, Vec<Diagnostic>> {
    load_tasks_file_with(path, role, opts, templar, &ModuleTable::registry())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn load_role_with(
    name: &str,
    tasks_from: Option<&str>,
    params: Map<String, Value>,
    base_dir: &Path,
    parent: Option<Arc<RoleCtx>>,
    opts: &LoadOptions,
    templar: &Templar,
    modules: &ModuleTable,
) -> Result<(Vec<Item>, Vec<Handler>), Vec<Diagnostic>> {
    let mut ld = Loader::new(opts, templar, modules);
    let u = role::RoleUse {
        name: name.to_string(),
        span: Span::unknown(),
        tasks_from: tasks_from.map(str::to_string),
        defaults_from: None,
        vars_from: None,
        handlers_from: None,
        params,
        param_nodes: Vec::new(),
        common: model::Common::default(),
        dedupe: false,
        to_play: false,
    };
    // Included from a role's tasks, the role is in that role's dependency chain.
    let scope = Scope {
        role: parent,
        ..Scope::play(base_dir)
    };
    let out = role::expand(&mut ld, &u, &scope).unwrap_or_default();
    ld.finish(out)
}

/// Loads a role by name (searched from `base_dir`, the playbook directory) as
/// `include_role` does: its dependencies' blocks, then its own block, plus its handlers.
/// `parent` is the role whose tasks include it, if any.
pub fn load_role(
    name: &str,
    tasks_from: Option<&str>,
    params: Map<String, Value>,
    base_dir: &Path,
    parent: Option<Arc<RoleCtx>>,
    opts: &LoadOptions,
    templar: &Templar,
) -> Result<(Vec<Item>, Vec<Handler>), Vec<Diagnostic>> {
    load_role_with(
        name,
        tasks_from,
        params,
        base_dir,
        parent,
        opts,
        templar,
        &ModuleTable::registry(),
    )
}
