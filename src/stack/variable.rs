//! The `stack` variable every event's tasks and templates see, built per host: OpsWorks'
//! stack configuration attributes (the stack, its layers with their *online* instances, the
//! apps, this instance, and the deployment being run), with the merged custom JSON both as
//! `stack.attributes` and as top-level variables.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::attributes::{deep_merge, merged};
use super::file::{App, StackFile};
use super::state::{InstanceRecord, Status};

/// What one event gives its hosts beyond the stack file and the state.
pub struct EventVars<'a> {
    pub event: &'a str,
    /// `stack.deploy` per host: app name → `{name, layers, source, deploy_to, environment,
    /// revision, release, previous_release[, rollback]}`, for deploy, undeploy and rollback.
    /// Per host, because each instance has its own previous release.
    pub deploy: &'a HashMap<String, Map<String, Value>>,
    /// `--attributes`, merged last.
    pub cli_attributes: &'a Map<String, Value>,
}

/// An instance's entry in `stack.layers.*.instances` and `stack.instance`.
pub fn entry(rec: &InstanceRecord) -> Value {
    let mut e = match &rec.details {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    e.insert("hostname".into(), json!(rec.name));
    e.insert("layers".into(), json!(rec.layers));
    e.insert("status".into(), json!(rec.status.as_str()));
    Value::Object(e)
}

fn app_entry(a: &App) -> Value {
    json!({
        "name": a.name,
        "type": a.kind(),
        "layers": a.layers,
        "source": a.source,
        "deploy_to": a.deploy_to,
        "environment": a.environment,
    })
}

/// Per-host variables (play-`vars` precedence) for `targets`: the merged attributes' keys and
/// `stack`. `records` is the whole state; only its online instances are listed in layers.
pub fn host_vars(
    stack: &StackFile,
    records: &[InstanceRecord],
    targets: &[&InstanceRecord],
    ev: &EventVars,
) -> HashMap<String, Arc<Map<String, Value>>> {
    let mut layers = Map::new();
    for l in &stack.layers {
        let instances: Map<String, Value> = records
            .iter()
            .filter(|r| r.status == Status::Online && r.layers.contains(&l.shortname))
            .map(|r| (r.name.clone(), entry(r)))
            .collect();
        layers.insert(
            l.shortname.clone(),
            json!({"name": l.name, "shortname": l.shortname, "instances": instances}),
        );
    }
    let apps: Map<String, Value> = stack
        .apps
        .iter()
        .map(|a| (a.name.clone(), app_entry(a)))
        .collect();
    let mut out = HashMap::new();
    for rec in targets {
        let deploy = ev.deploy.get(&rec.name).cloned().unwrap_or_default();
        let mut sources = vec![&stack.attributes];
        sources.extend(
            stack
                .layers
                .iter()
                .filter(|l| rec.layers.contains(&l.shortname))
                .map(|l| &l.attributes),
        );
        sources.extend(
            stack
                .apps
                .iter()
                .filter(|a| deploy.contains_key(&a.name))
                .map(|a| &a.attributes),
        );
        let mut attributes = merged(sources);
        deep_merge(&mut attributes, ev.cli_attributes);
        let mut vars = attributes.clone();
        let mut var = json!({
            "name": stack.name,
            "event": ev.event,
            "instance": entry(rec),
            "layers": layers,
            "apps": apps,
            "attributes": attributes,
        });
        if !ev.deploy.is_empty() {
            var["deploy"] = Value::Object(deploy);
        }
        vars.insert("stack".into(), var);
        out.insert(rec.name.clone(), Arc::new(vars));
    }
    out
}
