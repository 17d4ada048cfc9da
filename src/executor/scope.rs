//! The Jinja context of a task on a host: every variable layer in Ansible's precedence order,
//! plus magic variables and `hostvars`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::Value as JValue;
use serde_json::json;

use super::context::{HostCtx, Inherited, PlayCtx};
use super::vars::{HostStore, HostVars, Layer, Scope, magic_vars};
use crate::playbook::model::{RoleCtx, Task};
use crate::template::lookup::HOST_PATTERNS;

/// Ansible's placeholder for `{{ omit }}`: arguments equal to it are dropped.
pub const OMIT: &str = "__omit_place_holder__strata";

/// ansible-core's `ansible_search_path`: the task's role and the roles that brought it in
/// (nearest first), the directory of the task's file, then the playbook directory. Relative
/// templates and their includes are searched there.
fn search_path(pc: &PlayCtx, t: &Task, role: Option<&Arc<RoleCtx>>) -> Vec<PathBuf> {
    let mut v = role.map(|r| r.search_roots()).unwrap_or_default();
    let task_dir = t
        .span
        .file
        .as_ref()
        .and_then(|f| f.parent().map(Path::to_path_buf));
    for mut d in task_dir.into_iter().chain([pc.opts.playbook_dir.clone()]) {
        if d.as_os_str().is_empty() {
            d = PathBuf::from(".");
        }
        if !v.contains(&d) {
            v.push(d);
        }
    }
    v
}

/// Builds the Jinja context for a task on a host, in Ansible's precedence order.
pub fn scope(h: &HostCtx, pc: &PlayCtx, t: &Task, inh: &Inherited, extra: &[Layer]) -> JValue {
    scope_of(&h.name, &h.store, pc, t, inh, extra)
}

/// The same context for any host of the world: a delegated task's connection variables
/// are read from the delegated host's variables in the task's play, role and blocks, as
/// Ansible computes them.
pub fn scope_of(
    host: &str,
    store: &HostStore,
    pc: &PlayCtx,
    t: &Task,
    inh: &Inherited,
    extra: &[Layer],
) -> JValue {
    let role = t.role.as_ref().or(inh.role.as_ref());
    let mut layers: Vec<Layer> = Vec::with_capacity(18);
    let (public_defaults, public_vars) = pc.public_roles.layers();
    layers.push(public_defaults);
    if let Some(r) = role {
        layers.push(Arc::new(r.defaults.clone()));
    }
    layers.push(store.inventory());
    layers.push(store.facts());
    layers.push(pc.play_vars.clone());
    if let Some(v) = pc.play.host_vars.get(host) {
        layers.push(v.clone());
    }
    layers.push(pc.vars_files.clone());
    layers.push(public_vars);
    if let Some(r) = role {
        layers.push(Arc::new(r.vars.clone()));
    }
    layers.extend(inh.vars.iter().cloned());
    if !t.common.vars.is_empty() {
        layers.push(Arc::new(t.common.vars.clone()));
    }
    layers.push(store.included());
    layers.push(store.vars());
    if let Some(r) = role {
        layers.push(Arc::new(r.params.clone()));
    }
    layers.extend(inh.params.iter().cloned());
    layers.extend(extra.iter().cloned());
    let mut magic = magic_vars(&pc.world, host);
    magic.insert("ansible_play_hosts".into(), json!(pc.play_hosts_ordered));
    magic.insert("ansible_play_batch".into(), json!(pc.play_hosts));
    magic.insert("play_hosts".into(), json!(pc.play_hosts));
    magic.insert("ansible_play_hosts_all".into(), json!(pc.play_hosts_all));
    magic.insert("ansible_play_name".into(), json!(pc.play.name));
    magic.insert("ansible_check_mode".into(), json!(pc.opts.check));
    magic.insert("ansible_diff_mode".into(), json!(pc.opts.diff));
    magic.insert("ansible_verbosity".into(), json!(pc.opts.verbosity));
    magic.insert(
        "playbook_dir".into(),
        json!(pc.opts.playbook_dir.display().to_string()),
    );
    magic.insert(
        "ansible_run_tags".into(),
        json!(if pc.opts.tags.is_empty() {
            vec!["all".to_string()]
        } else {
            pc.opts.tags.clone()
        }),
    );
    magic.insert("ansible_skip_tags".into(), json!(pc.opts.skip_tags));
    magic.insert("omit".into(), json!(OMIT));
    magic.insert(
        "ansible_search_path".into(),
        json!(
            search_path(pc, t, role)
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        ),
    );
    if let Some(r) = role {
        // Absolute, as Ansible's: tasks use it to name files beside the role from any cwd.
        let path = std::path::absolute(&r.path).unwrap_or_else(|_| r.path.clone());
        magic.insert("role_path".into(), json!(path.display().to_string()));
        magic.insert("role_name".into(), json!(r.name));
        magic.insert("ansible_role_name".into(), json!(r.name));
    }
    layers.push(Arc::new(magic));
    layers.push(pc.world.extra_vars.clone());
    let hostvars = HostVars {
        world: pc.world.clone(),
        templar: pc.templar.clone(),
    };
    Scope {
        layers,
        objects: vec![
            ("hostvars", JValue::from_object(hostvars)),
            (HOST_PATTERNS, super::runtime_inventory::host_patterns()),
        ],
        templar: pc.templar.clone(),
    }
    .into_value()
}
