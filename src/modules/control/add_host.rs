//! `add_host`: adds a host (or updates one) in the run's inventory, with groups and host
//! variables, as Ansible's action plugin does: `name` (or `host`, `hostname`) may carry a
//! `:port`, which becomes `ansible_ssh_port`; `groups` (or `group`, `groupname`) is a list or
//! a comma-separated string; every other argument is a host variable (Ansible keeps `group`
//! and `host` among them too). The result carries `add_host`; the executor changes the
//! inventory and sets `changed`. Like Ansible, the task runs once per play, not per host.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::values::to_str;

pub struct AddHost;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "add_host",
    params: &[
        // `host`/`hostname` and `group`/`groupname` are read by the module itself, not
        // declared as aliases: Ansible keeps `host` and `group` as host variables too.
        Param::new("name", T::Raw),
        Param::new("groups", T::Raw),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    // Every other argument is a host variable.
    any_params: true,
};

impl Module for AddHost {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn run<'a>(
        &'a self,
        _ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(async move { Ok(run(args)) })
    }
}

fn run(args: &Args) -> ModuleResult {
    let a = &args.0;
    let Some(given) = ["name", "hostname", "host"]
        .iter()
        .find_map(|k| a.get(*k).filter(|v| !v.is_null()))
        .map(|v| to_str(v).unwrap_or_else(|| v.to_string()))
    else {
        return ModuleResult::failed("name, host or hostname needs to be provided");
    };
    let (name, port) = split_port(&given);
    let mut vars = Map::new();
    for (k, v) in a {
        if !["name", "hostname", "groupname", "groups"].contains(&k.as_str()) {
            vars.insert(k.clone(), v.clone());
        }
    }
    if let Some(p) = port {
        vars.insert("ansible_ssh_port".into(), json!(p));
    }
    let groups = ["groupname", "groups", "group"]
        .iter()
        .find_map(|k| a.get(*k));
    let mut names: Vec<String> = Vec::new();
    let listed: Vec<String> = match groups {
        None | Some(Value::Null) => vec![],
        Some(Value::String(s)) if s.is_empty() => vec![],
        Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
        Some(Value::Array(l)) => l.iter().filter_map(to_str).collect(),
        Some(_) => return ModuleResult::failed("Groups must be specified as a list."),
    };
    for g in listed {
        let g = g.trim().to_string();
        if !names.contains(&g) {
            names.push(g);
        }
    }
    ModuleResult::ok().with(
        "add_host",
        json!({"host_name": name, "groups": names, "host_vars": vars}),
    )
}

/// Ansible's `parse_address` for one host: `name:port`, `[v6]:port`; a bare IPv6 address
/// has no port.
fn split_port(s: &str) -> (String, Option<u16>) {
    if let Some(rest) = s.strip_prefix('[')
        && let Some((host, tail)) = rest.split_once(']')
    {
        let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
        return (host.to_string(), port);
    }
    if s.matches(':').count() == 1
        && let Some((host, port)) = s.split_once(':')
        && let Ok(p) = port.parse::<u16>()
    {
        return (host.to_string(), Some(p));
    }
    (s.to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Harness, get};

    #[tokio::test]
    async fn name_port_groups_and_vars() {
        let h = Harness::new();
        let r = h
            .run(
                &AddHost,
                json!({"name": "db1:2222", "groups": "db, primary,db", "ansible_user": "root", "group": "x"}),
            )
            .await;
        assert!(!r.failed && !r.changed, "{r:?}");
        assert_eq!(
            get(&r, "add_host"),
            &json!({"host_name": "db1", "groups": ["db", "primary"], "host_vars": {"ansible_user": "root", "group": "x", "ansible_ssh_port": 2222}})
        );
        let r = h
            .run(&AddHost, json!({"hostname": "[::1]:22", "group": ["a"]}))
            .await;
        assert_eq!(get(&r, "add_host")["host_name"], json!("::1"));
        assert_eq!(get(&r, "add_host")["groups"], json!(["a"]));
        let r = h.run(&AddHost, json!({"groups": "a"})).await;
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some("name, host or hostname needs to be provided")
        );
    }
}
