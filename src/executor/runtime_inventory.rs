//! What `add_host` and `group_by` do to the run: their module results carry Ansible's
//! `add_host` / `add_group` requests, and here, as Ansible's strategy does, they change the
//! run-time inventory in the [`World`]: the host or group is added, `changed` says whether
//! anything was new, and the magic variables (`groups`, `group_names`, `hostvars`) and every
//! host's inventory variables (with the `group_vars` of new groups) follow. Later plays
//! choose their hosts from this inventory (`run/session.rs`). Also the host pattern matcher
//! the `inventory_hostnames` lookup borrows.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use minijinja::Value as JValue;
use serde_json::{Map, Value, json};

use super::context::{HostCtx, PlayCtx};
use super::vars::{HostStore, Membership, World};
use crate::inventory::Inventory;
use crate::modules::ModuleResult;
use crate::playbook::model::Task;
use crate::template::lookup::{HostMatcher, HostPatterns};
use crate::values::to_str;

/// Applies an `add_host` or `group_by` result to the run's inventory.
pub fn apply(h: &HostCtx, pc: &PlayCtx, t: &Task, r: &mut ModuleResult) {
    if r.failed || r.skipped {
        return;
    }
    let done = match t.action.as_str() {
        "add_host" => match r.data.get("add_host") {
            Some(info) => add_host(&pc.world, info),
            None => return,
        },
        "group_by" => match r.data.get("add_group").and_then(to_str) {
            Some(group) => {
                let parents: Vec<String> = r
                    .data
                    .get("parent_groups")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(to_str).collect())
                    .unwrap_or_default();
                change(&pc.world, |inv| {
                    inv.add_dynamic_group(&h.name, &group, &parents)
                })
            }
            None => return,
        },
        _ => return,
    };
    match done {
        Ok(changed) => r.changed = changed,
        Err(e) => {
            r.failed = true;
            r.msg = Some(e);
        }
    }
}

fn add_host(world: &World, info: &Value) -> Result<bool, String> {
    let name = info
        .get("host_name")
        .and_then(to_str)
        .ok_or("add_host: no host name")?;
    let groups: Vec<String> = info
        .get("groups")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(to_str).collect())
        .unwrap_or_default();
    let vars: Map<String, Value> = info
        .get("host_vars")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    change(world, |inv| Ok(inv.add_dynamic_host(&name, &groups, &vars)))
}

/// Runs one change on the inventory; when something changed, refreshes what derives from it.
fn change(
    world: &World,
    f: impl FnOnce(&mut Inventory) -> Result<bool, String>,
) -> Result<bool, String> {
    let mut m = world.membership.write().unwrap_or_else(|e| e.into_inner());
    let names = |inv: &Inventory| (inv.hosts().count(), inv.groups().count());
    let before = names(&m.inventory);
    if !f(&mut m.inventory)? {
        return Ok(false);
    }
    if names(&m.inventory) != before {
        m.inventory.reload_vars_dirs().map_err(|d| d.message)?;
        if let Some(pv) = &m.playbook_vars {
            let fresh = m.inventory.reload_vars_dir(pv).map_err(|d| d.message)?;
            m.playbook_vars = Some(fresh);
        }
    }
    m.generation += 1;
    refresh(world, &mut m);
    Ok(true)
}

/// Recomputes the magic variables and every host's inventory variables from the inventory.
pub fn refresh(world: &World, m: &mut Membership) {
    m.order = m.inventory.hosts().map(|h| h.name.clone()).collect();
    m.groups = Value::Object(m.inventory.groups_map());
    m.group_names = m
        .order
        .iter()
        .map(|h| (h.clone(), json!(m.inventory.group_names_of(h))))
        .collect::<HashMap<_, _>>();
    let mut hosts = world.hosts.write().unwrap_or_else(|e| e.into_inner());
    for name in &m.order {
        let vars = m.inventory.host_vars_with(name, m.playbook_vars.as_ref());
        match hosts.get(name) {
            Some(s) => s.set_inventory(vars),
            None => {
                hosts.insert(name.clone(), Arc::new(HostStore::new(vars)));
            }
        }
    }
}

/// Host patterns over an inventory rebuilt from `groups`, as Ansible's
/// `inventory_hostnames` lookup builds one.
struct GroupsMatcher;

impl HostMatcher for GroupsMatcher {
    fn select(&self, patterns: &[String], groups: &Value) -> Vec<String> {
        let mut inv = Inventory::new();
        if let Some(map) = groups.as_object() {
            for (g, hosts) in map {
                inv.add_group(g, Default::default());
                for h in hosts.as_array().into_iter().flatten().filter_map(to_str) {
                    inv.add_host(&h, Some(g), Default::default(), None);
                }
            }
        }
        inv.reconcile();
        // As in Ansible, a pattern error gives no hosts.
        inv.select_limited(&patterns.join(","), None)
            .map(|s| s.hosts)
            .unwrap_or_default()
    }
}

/// The context value the `inventory_hostnames` lookup uses.
pub fn host_patterns() -> JValue {
    static V: OnceLock<JValue> = OnceLock::new();
    V.get_or_init(|| JValue::from_object(HostPatterns(Arc::new(GroupsMatcher))))
        .clone()
}
