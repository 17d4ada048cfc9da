//! `delegate_to`: one invocation of a task runs over another host's connection while
//! keeping the original host's variables, as in Ansible. The delegated host is named per
//! invocation (so `delegate_to: "{{ item }}"` works in loops), looked up among the run's
//! hosts, and reached with its own connection variables (`ansible_host`, `ansible_user`,
//! key, port, ProxyJump...) as the play and task see them for that host. Its connection is
//! opened on first use and kept in the play's connection pool for the rest of the run.

use std::sync::Arc;

use minijinja::Value as JValue;
use serde_json::{Map, Value};

use super::context::{Inherited, LazyConn, PlayCtx, connection_override};
use super::scope::{OMIT, scope_of};
use super::vars::HostStore;
use crate::playbook::model::{Task, Text};
use crate::transport::Transport;

/// Names that mean the controller when the inventory does not define them, as Ansible's
/// implicit localhost.
const LOCALHOST: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// Where one invocation of a delegated task runs.
pub struct Delegated {
    /// The name `delegate_to` rendered to.
    pub name: String,
    /// The run's variables of that host, when the inventory (or `add_host`) knows it: where
    /// `delegate_facts` puts facts.
    pub store: Option<Arc<HostStore>>,
    /// That host's variables in the task's scope, where its `ansible_become*` are read.
    pub vars: Option<JValue>,
    pub conn: Via,
}

/// The connection a delegated invocation uses.
pub enum Via {
    /// The controller itself (implicit localhost).
    Local(Arc<dyn Transport>),
    /// A pooled connection made from the delegated host's variables.
    Pooled(Arc<LazyConn>),
}

impl Delegated {
    pub fn transport(&self) -> &dyn Transport {
        match &self.conn {
            Via::Local(t) => t.as_ref(),
            Via::Pooled(c) => c.as_ref(),
        }
    }
}

/// Renders `delegate_to` with the invocation's variables: `None` when it is omitted.
pub fn render_name(pc: &PlayCtx, d: &Text, sc: &JValue) -> Result<Option<String>, String> {
    let v = pc
        .templar
        .render_str(&d.value, sc, &d.span)
        .map_err(|e| e.message)?;
    let name = match v {
        Value::String(s) if s == OMIT => return Ok(None),
        Value::String(s) => s,
        Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(format!(
                "delegate_to must be a host name, got {}",
                crate::values::to_str(&other).unwrap_or_else(|| other.to_string())
            ));
        }
    };
    if name.trim().is_empty() {
        return Err(format!(
            "Empty hostname produced from delegate_to: \"{}\"",
            d.value
        ));
    }
    Ok(Some(name))
}

/// The host `name` and how to reach it. `None` when the task is delegated to the host it
/// runs for: nothing changes then.
pub fn resolve(
    pc: &PlayCtx,
    host: &str,
    t: &Task,
    inh: &Inherited,
    name: String,
) -> Option<Delegated> {
    if name == host {
        return None;
    }
    let store = pc.world.host(&name);
    let (conn, vars) = match &store {
        None if LOCALHOST.contains(&name.as_str()) => (Via::Local(pc.local.clone()), None),
        // A name the inventory does not know is dialled as it is, with the command line's
        // defaults, as Ansible makes a host of it.
        None => (Via::Pooled(pc.other_conns.get(&name, Map::new())), None),
        Some(s) => {
            let sc = scope_of(&name, s, pc, t, inh, &[]);
            let inventory = s.inventory();
            let conn_vars =
                connection_override(&inventory, &sc).unwrap_or_else(|| inventory.as_ref().clone());
            (Via::Pooled(pc.other_conns.get(&name, conn_vars)), Some(sc))
        }
    };
    Some(Delegated {
        name,
        store,
        vars,
        conn,
    })
}
