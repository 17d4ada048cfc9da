//! Plays the engine makes itself from a stack event: one layer's roles, each run with
//! `tasks_from: EVENT`, on that layer's target instances. The role entries are the stack
//! file's own nodes, so a missing role or tasks file is reported at its place in the stack
//! file, through the same loader (and the same validation) as a playbook's `roles:`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::LoadOptions;
use super::loader::{Loader, PlayState, Scope};
use super::model::{Play, Text};
use super::module_table::ModuleTable;
use super::role::{expand_with_ctx, has_tasks_file, locate, parse_role_entry};
use crate::diagnostic::{Diagnostic, Span};
use crate::template::Templar;
use crate::yaml::{Node, Yaml};

/// What one layer contributes to one event.
pub struct EventPlaySpec<'a> {
    /// Shown in the PLAY header.
    pub name: String,
    /// The layer's node in the stack file.
    pub span: Span,
    /// The stack file's directory: `roles/` beside it is searched first.
    pub base_dir: &'a Path,
    /// Role entries as written: a name, or `{role: x, tasks_from: y, vars..., tags...}`.
    pub roles: &'a [Node],
    /// The task file each role runs unless its entry names `tasks_from`.
    pub event: &'a str,
    /// An entry without `tasks_from` whose role lacks `tasks/EVENT.yml` is skipped (OpsWorks
    /// runs only the recipes a layer has for the event); with `strict`, e.g. for roles named
    /// in a layer's `events:` override, that is an error.
    pub strict: bool,
    pub hosts: Vec<String>,
    /// Per-host variables at play-`vars` precedence.
    pub host_vars: HashMap<String, Arc<Map<String, Value>>>,
}

/// The play for `spec`, and how many roles have something for the event (0: nothing to run).
pub fn event_play(
    spec: EventPlaySpec,
    opts: &LoadOptions,
    templar: &Templar,
) -> Result<(Play, usize), Vec<Diagnostic>> {
    let modules = ModuleTable::registry();
    let mut ld = Loader::new(opts, templar, &modules);
    ld.play = PlayState::default();
    let scope = Scope::play(spec.base_dir);
    let mut play = Play::new(spec.span.clone(), spec.base_dir.to_path_buf());
    play.name = spec.name;
    play.hosts = Text {
        value: spec.hosts.join(","),
        span: spec.span,
    };
    play.gather_facts = false;
    play.host_vars = spec.host_vars;
    let mut used = 0;
    for node in spec.roles {
        // `tasks_from` is not a `roles:` keyword in a playbook (there it would be a role
        // parameter); in a stack file it picks the tasks file, as `import_role` does.
        let (node, tasks_from) = split_tasks_from(&mut ld, node);
        let Some(mut u) = parse_role_entry(&mut ld, &node, true) else {
            continue;
        };
        if tasks_from.is_some() {
            u.tasks_from = tasks_from;
        }
        let Some(dir) = locate(&mut ld, &u, &scope) else {
            continue;
        };
        if u.tasks_from.is_none() {
            if !spec.strict && !has_tasks_file(&dir, spec.event) {
                continue;
            }
            u.tasks_from = Some(spec.event.to_string());
        }
        if let Some(x) = expand_with_ctx(&mut ld, &u, &scope) {
            play.tasks.extend(x.items);
            play.public_roles.push(x.ctx);
            used += 1;
        }
    }
    play.handlers.append(&mut ld.play.handlers);
    ld.finish((play, used))
}

/// The entry without its `tasks_from`, and that value.
fn split_tasks_from(ld: &mut Loader, node: &Node) -> (Node, Option<String>) {
    let Yaml::Map(m) = &node.value else {
        return (node.clone(), None);
    };
    let mut tasks_from = None;
    let mut rest = Vec::new();
    for (k, v) in m {
        if k.as_str() == Some("tasks_from") {
            tasks_from = ld.render_static(v, "`tasks_from`");
        } else {
            rest.push((k.clone(), v.clone()));
        }
    }
    let node = Node {
        value: Yaml::Map(rest),
        span: node.span.clone(),
    };
    (node, tasks_from)
}
