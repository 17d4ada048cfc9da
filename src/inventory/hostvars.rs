//! Variable layering for one host and the inventory-derived magic variables (`groups`,
//! `group_names`, `inventory_hostname`, ...). Precedence follows Ansible's VariableManager for
//! the inventory part: `all` vars, then the host's other groups ordered by (depth, priority,
//! name) so children beat parents, then the host's own vars.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value};

use super::{Group, Host, Inventory, VarsDir};

impl Inventory {
    /// Inventory variables of a host with Ansible's precedence, without playbook-adjacent
    /// vars (what `ansible-inventory` shows without `--playbook-dir`).
    pub fn host_vars(&self, host: &str) -> Map<String, Value> {
        self.host_vars_with(host, None)
    }

    /// Inventory variables of a host, `playbook` being the `group_vars`/`host_vars` beside the
    /// playbook. Ansible's default `VARIABLE_PRECEDENCE`, lowest first: `all` from inventory
    /// files, the host's other groups from inventory files, `group_vars/all` beside the
    /// inventory then beside the playbook, the other groups' `group_vars` beside the inventory
    /// then the playbook, the host's inventory-file vars, then `host_vars` likewise. So a
    /// `group_vars/all.yml` beats `[web:vars]`, as in Ansible. Unknown hosts get an empty map;
    /// the implicit localhost gets only the `all` layers and its own.
    pub fn host_vars_with(&self, host: &str, playbook: Option<&VarsDir>) -> Map<String, Value> {
        let mut out = Map::new();
        let Some(h) = self.host(host) else {
            return out;
        };
        let groups = if h.implicit {
            Vec::new()
        } else {
            self.sorted_groups_of(h)
        };
        let dirs: Vec<&VarsDir> = self.vars_dirs.iter().chain(playbook).collect();
        merge(&mut out, &self.groups["all"].vars);
        for g in &groups {
            merge(&mut out, &g.vars);
        }
        for d in &dirs {
            if let Some(v) = d.group("all") {
                merge(&mut out, v);
            }
        }
        // Per directory, then per group: a later source's parent group beats an earlier
        // source's child group, exactly as Ansible iterates its sources.
        for d in &dirs {
            for v in groups.iter().filter_map(|g| d.group(&g.name)) {
                merge(&mut out, v);
            }
        }
        // Ansible sets these on the host when it is first created, so the host's own
        // variables (and nothing else) can override them.
        if !h.implicit {
            let file = h.source.as_ref().map(|p| p.display().to_string());
            let dir = h
                .source
                .as_ref()
                .and_then(|p| p.parent())
                .map(|p| p.display().to_string());
            out.insert(
                "inventory_file".into(),
                file.map_or(Value::Null, Value::from),
            );
            out.insert("inventory_dir".into(), dir.map_or(Value::Null, Value::from));
        }
        merge(&mut out, &h.vars);
        for v in dirs.iter().filter_map(|d| d.host(&h.name)) {
            merge(&mut out, v);
        }
        out
    }

    /// A group's own variables: inventory-file vars, then its `group_vars` files beside each
    /// source and the playbook (what `ansible-inventory --graph --vars` shows for a group).
    pub fn group_vars_with(&self, group: &str, playbook: Option<&VarsDir>) -> Map<String, Value> {
        let mut out = Map::new();
        let Some(g) = self.groups.get(group) else {
            return out;
        };
        merge(&mut out, &g.vars);
        for v in self
            .vars_dirs
            .iter()
            .chain(playbook)
            .filter_map(|d| d.group(group))
        {
            merge(&mut out, v);
        }
        out
    }

    /// The host's groups other than `all`, in the order their vars apply (Ansible's
    /// `sort_groups`: depth, then `ansible_group_priority`, then name).
    fn sorted_groups_of(&self, h: &Host) -> Vec<&Group> {
        let mut gs: Vec<&Group> = self
            .groups_of(&h.name)
            .into_iter()
            .filter(|g| g.name != "all")
            .collect();
        gs.sort_by(|a, b| (a.depth, a.priority, &a.name).cmp(&(b.depth, b.priority, &b.name)));
        gs
    }

    /// Ansible's `group_names`: every group the host is in, directly or through a child
    /// group, sorted, without `all`. Like Ansible it does include `ungrouped` for hosts that
    /// are in no other group.
    pub fn group_names_of(&self, host: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .groups_of(host)
            .into_iter()
            .filter(|g| g.name != "all")
            .map(|g| g.name.clone())
            .collect();
        names.sort();
        names
    }

    /// Ansible's `groups` magic variable: every group (in definition order, `all` and
    /// `ungrouped` first) to the names of its hosts including those of child groups.
    pub fn groups_map(&self) -> Map<String, Value> {
        self.groups
            .keys()
            .map(|g| {
                let hosts = self.group_hosts(g).into_iter().map(Value::from).collect();
                (g.clone(), Value::Array(hosts))
            })
            .collect()
    }

    /// Per-host magic variables that come from the inventory: `inventory_hostname`,
    /// `inventory_hostname_short` and `group_names`.
    pub fn magic_vars(&self, host: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("inventory_hostname".into(), Value::from(host));
        m.insert(
            "inventory_hostname_short".into(),
            Value::from(short_name(host)),
        );
        let names = self
            .group_names_of(host)
            .into_iter()
            .map(Value::from)
            .collect();
        m.insert("group_names".into(), Value::Array(names));
        m
    }
}

/// The first DNS label, except that IP addresses are kept whole (ansible-core >= 2.16).
fn short_name(host: &str) -> &str {
    if host.parse::<Ipv4Addr>().is_ok() || host.parse::<Ipv6Addr>().is_ok() {
        host
    } else {
        host.split('.').next().unwrap_or(host)
    }
}

/// Ansible's default `hash_behaviour = replace`: a later layer replaces whole top-level keys.
fn merge(into: &mut Map<String, Value>, layer: &Map<String, Value>) {
    for (k, v) in layer {
        into.insert(k.clone(), v.clone());
    }
}
