//! Variable scopes. A task's Jinja context is a [`Scope`]: a stack of variable layers in
//! Ansible's precedence order, resolved lazily on lookup. Nothing is merged or deep-copied up
//! front, and a variable whose value is itself a template is rendered when it is read, as
//! Ansible does, so `vars: {url: "http://{{ host }}:{{ port }}"}` works in any order.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use minijinja::value::{Enumerator, Object, Value as JValue};
use serde_json::{Map, Value};

use crate::diagnostic::Span;
use crate::template::Templar;

pub type Layer = Arc<Map<String, Value>>;

/// Per-host state that outlives a play: facts, `include_vars` values, `set_fact` values and
/// registered results.
#[derive(Default)]
pub struct HostStore {
    /// Inventory variables; `group_by` and `add_host` change them at run time.
    pub inventory: RwLock<Layer>,
    pub facts: RwLock<Layer>,
    /// `include_vars` (Ansible's "include_vars" level, below `set_fact`).
    pub included: RwLock<Layer>,
    /// `set_fact` and `register` (Ansible's "set_facts / registered vars" level).
    pub vars: RwLock<Layer>,
    /// A play's own fact gathering succeeded on this host during the run: `gathering = smart`
    /// does not ask it again (Ansible's `_ansible_facts_gathered`).
    pub facts_gathered: std::sync::atomic::AtomicBool,
}

impl HostStore {
    pub fn new(inventory: Map<String, Value>) -> Self {
        HostStore {
            inventory: RwLock::new(Arc::new(inventory)),
            ..Default::default()
        }
    }
    pub fn inventory(&self) -> Layer {
        self.inventory.read().unwrap().clone()
    }
    pub fn set_inventory(&self, vars: Map<String, Value>) {
        *self.inventory.write().unwrap() = Arc::new(vars);
    }
    pub fn included(&self) -> Layer {
        self.included.read().unwrap().clone()
    }
    pub fn set_included(&self, k: &str, v: Value) {
        let mut g = self.included.write().unwrap();
        Arc::make_mut(&mut g).insert(k.to_string(), v);
    }
    pub fn facts(&self) -> Layer {
        self.facts.read().unwrap().clone()
    }
    pub fn vars(&self) -> Layer {
        self.vars.read().unwrap().clone()
    }
    pub fn set_var(&self, k: &str, v: Value) {
        let mut g = self.vars.write().unwrap();
        Arc::make_mut(&mut g).insert(k.to_string(), v);
    }
    /// Facts are exposed both as `ansible_facts.x` and as top-level `ansible_x`.
    pub fn merge_facts(&self, facts: &Map<String, Value>) {
        let mut g = self.facts.write().unwrap();
        let m = Arc::make_mut(&mut g);
        let af = m
            .entry("ansible_facts")
            .or_insert_with(|| Value::Object(Map::new()));
        for (k, v) in facts {
            if let Value::Object(o) = af {
                o.insert(
                    k.strip_prefix("ansible_").unwrap_or(k).to_string(),
                    v.clone(),
                );
            }
        }
        for (k, v) in facts {
            m.insert(k.clone(), v.clone());
        }
    }
}

/// Every host's store, shared by all host tasks so `hostvars` sees other hosts' facts, and
/// the run-time inventory (`group_by` and `add_host` change it; see `runtime_inventory.rs`).
#[derive(Default)]
pub struct World {
    pub hosts: RwLock<HashMap<String, Arc<HostStore>>>,
    pub membership: RwLock<Membership>,
    pub extra_vars: Layer,
}

/// The inventory as the run sees it now, and what the magic variables derive from it.
#[derive(Default)]
pub struct Membership {
    pub inventory: crate::inventory::Inventory,
    /// `group_vars`/`host_vars` beside the playbook.
    pub playbook_vars: Option<crate::inventory::VarsDir>,
    /// Host names in inventory order, for `groups` and iteration.
    pub order: Vec<String>,
    pub groups: Value,
    pub group_names: HashMap<String, Value>,
    /// Hosts whose connection target was computed before the run; others (added at run
    /// time, or first targeted through a group made at run time) connect from their
    /// inventory variables.
    pub planned: std::collections::HashSet<String>,
    /// How many run-time changes the inventory has had: later plays choose their hosts again
    /// when it is not zero.
    pub generation: u64,
}

impl World {
    pub fn host(&self, name: &str) -> Option<Arc<HostStore>> {
        self.hosts.read().unwrap().get(name).cloned()
    }
    pub fn order(&self) -> Vec<String> {
        self.membership.read().unwrap().order.clone()
    }
}

/// A lookup context. `layers` are lowest precedence first.
pub struct Scope {
    pub layers: Vec<Layer>,
    /// Values that are not plain data (`hostvars`): checked before the layers' magic level.
    pub objects: Vec<(&'static str, JValue)>,
    pub templar: Arc<Templar>,
}

thread_local! {
    /// Variables being resolved on this thread: a variable whose template refers back to
    /// itself (`a: "{{ a }}"`) is undefined instead of recursing, as Ansible reports a loop.
    static RESOLVING: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

impl Scope {
    pub fn lookup(&self, key: &str) -> Option<&Value> {
        self.layers.iter().rev().find_map(|l| l.get(key))
    }

    pub fn into_value(self) -> JValue {
        JValue::from_object(self)
    }
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<vars>")
    }
}

impl Object for Scope {
    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let key = key.as_str()?;
        if let Some((_, v)) = self.objects.iter().find(|(k, _)| *k == key) {
            return Some(v.clone());
        }
        // Ansible's `vars`: every variable visible to the task, e.g. `vars['app_' + name]`.
        if key == "vars" && self.lookup("vars").is_none() {
            return Some(JValue::from_dyn_object(self.clone()));
        }
        let v = self.lookup(key)?;
        if !contains_template(v) {
            return Some(JValue::from(minijinja::value::Serde(v)));
        }
        if RESOLVING.with(|r| r.borrow().iter().any(|k| k == key)) {
            return None;
        }
        RESOLVING.with(|r| r.borrow_mut().push(key.to_string()));
        let ctx = JValue::from_dyn_object(self.clone());
        let out = self
            .templar
            .render_value(v, &ctx, &Span::unknown())
            .ok()
            .map(|r| JValue::from(minijinja::value::Serde(&r)));
        RESOLVING.with(|r| r.borrow_mut().pop());
        out
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<JValue> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (k, _) in &self.objects {
            if seen.insert(k.to_string()) {
                keys.push(JValue::from(*k));
            }
        }
        for l in self.layers.iter().rev() {
            for k in l.keys() {
                if seen.insert(k.clone()) {
                    keys.push(JValue::from(k.as_str()));
                }
            }
        }
        Enumerator::Values(keys)
    }
}

fn contains_template(v: &Value) -> bool {
    match v {
        Value::String(s) => crate::template::is_template(s),
        Value::Array(a) => a.iter().any(contains_template),
        Value::Object(m) => m.values().any(contains_template),
        _ => false,
    }
}

/// `hostvars`: each host's inventory vars, facts, set_facts and magic variables.
pub struct HostVars {
    pub world: Arc<World>,
    pub templar: Arc<Templar>,
}

impl std::fmt::Debug for HostVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<hostvars>")
    }
}

impl HostVars {
    /// The scope another host's variables are read through.
    pub fn host_scope(&self, host: &str) -> Option<Scope> {
        let store = self.world.host(host)?;
        Some(Scope {
            layers: vec![
                store.inventory(),
                store.facts(),
                store.included(),
                store.vars(),
                Arc::new(magic_vars(&self.world, host)),
                self.world.extra_vars.clone(),
            ],
            objects: vec![],
            templar: self.templar.clone(),
        })
    }
}

impl Object for HostVars {
    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        self.host_scope(key.as_str()?).map(Scope::into_value)
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.world
                .order()
                .iter()
                .map(|h| JValue::from(h.as_str()))
                .collect(),
        )
    }
}

/// The per-host magic variables that do not depend on the play.
pub fn magic_vars(world: &World, host: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("inventory_hostname".into(), host.into());
    m.insert(
        "inventory_hostname_short".into(),
        host.split('.').next().unwrap_or(host).into(),
    );
    let members = world.membership.read().unwrap();
    m.insert("groups".into(), members.groups.clone());
    m.insert(
        "group_names".into(),
        members
            .group_names
            .get(host)
            .cloned()
            .unwrap_or(Value::Array(vec![])),
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layer(v: Value) -> Layer {
        Arc::new(v.as_object().unwrap().clone())
    }

    #[test]
    fn higher_layers_win_and_templates_resolve_lazily() {
        let t = Arc::new(Templar::new());
        let s = Scope {
            layers: vec![
                layer(json!({"a": 1, "url": "http://{{ host }}:{{ port }}"})),
                layer(json!({"a": 2, "host": "h", "port": 80})),
            ],
            objects: vec![],
            templar: t.clone(),
        };
        let ctx = s.into_value();
        assert_eq!(
            t.render_str("{{ a }} {{ url }}", &ctx, &Span::unknown())
                .unwrap(),
            json!("2 http://h:80")
        );
    }

    #[test]
    fn self_reference_is_undefined_not_a_hang() {
        let t = Arc::new(Templar::new());
        let s = Scope {
            layers: vec![layer(json!({"a": "{{ a }}"}))],
            objects: vec![],
            templar: t.clone(),
        };
        assert!(
            t.render_str("{{ a }}", &s.into_value(), &Span::unknown())
                .is_err()
        );
    }
}
