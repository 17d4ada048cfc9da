//! The inventory: hosts, groups and their variables, whatever source they came from.
//!
//! Every source format (YAML, INI, directories of them; cloud sources later) feeds
//! the same small set of building operations on [`Inventory`], mirroring Ansible's
//! `InventoryData`, and [`load`] is the single entry point that picks the format. Everything
//! downstream (host patterns, variable layering, magic variables) only sees the built model.

use std::path::PathBuf;
use std::sync::OnceLock;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::diagnostic::Span;

mod address;
pub mod constructed;
pub mod ec2;
mod hostvars;
mod ini;
mod load;
pub mod pattern;
mod pyliteral;
mod runtime;
mod vars_files;
pub mod view;
mod yaml;

pub use load::{LoadOptions, load};
pub use pattern::{PatternError, Selection, limit_from_arg, split_host_pattern};
pub use vars_files::{VarsDir, load_vars_dir};

/// Names Ansible resolves to an implicit `localhost` when the inventory does not define them.
pub const LOCALHOST_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

#[derive(Clone, Debug)]
pub struct Host {
    pub name: String,
    /// The host's own variables, in the order they were set.
    pub vars: Map<String, Value>,
    /// Groups the host was put in directly, in order (ancestors are derived).
    pub groups: Vec<String>,
    /// Where the host was first defined.
    pub span: Span,
    /// The inventory source the host was first seen in (Ansible's `inventory_file`).
    pub source: Option<PathBuf>,
    /// True only for the implicit localhost, which belongs to no group and is not in `all`.
    pub implicit: bool,
}

impl Host {
    fn new(name: &str, span: Span, source: Option<PathBuf>) -> Self {
        Host {
            name: name.to_string(),
            vars: Map::new(),
            groups: Vec::new(),
            span,
            source,
            implicit: false,
        }
    }

    /// Ansible's implicit localhost: runs through the local connection.
    fn implicit_localhost(name: &str) -> Self {
        let mut h = Host::new(name, Span::unknown(), None);
        h.implicit = true;
        h.vars
            .insert("ansible_connection".into(), Value::from("local"));
        h
    }
}

#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub vars: Map<String, Value>,
    /// Hosts added directly to this group, in order.
    pub hosts: Vec<String>,
    pub children: Vec<String>,
    pub parents: Vec<String>,
    /// `ansible_group_priority`: breaks ties between groups of equal depth (higher wins).
    pub priority: i64,
    /// Longest distance from `all`, computed by [`Inventory::reconcile`]. Deeper groups' vars win.
    pub depth: u32,
    pub span: Span,
}

impl Group {
    fn new(name: &str, span: Span) -> Self {
        Group {
            name: name.to_string(),
            vars: Map::new(),
            hosts: Vec::new(),
            children: Vec::new(),
            parents: Vec::new(),
            priority: 1,
            depth: 0,
            span,
        }
    }
}

/// Hosts and groups in definition order. Always has the `all` and `ungrouped` groups.
#[derive(Clone, Debug)]
pub struct Inventory {
    hosts: IndexMap<String, Host>,
    groups: IndexMap<String, Group>,
    /// Created on first reference (pattern or lookup) to a localhost name, as Ansible does; the
    /// first name used sticks, later aliases resolve to the same host.
    implicit_localhost: OnceLock<Host>,
    warnings: Vec<String>,
    /// `group_vars`/`host_vars` beside each inventory source, in `-i` order.
    vars_dirs: Vec<VarsDir>,
}

impl Default for Inventory {
    fn default() -> Self {
        Inventory::new()
    }
}

impl Inventory {
    /// An empty inventory: only `all` with its child `ungrouped`.
    pub fn new() -> Self {
        let mut inv = Inventory {
            hosts: IndexMap::new(),
            groups: IndexMap::new(),
            implicit_localhost: OnceLock::new(),
            warnings: Vec::new(),
            vars_dirs: Vec::new(),
        };
        inv.add_group("all", Span::unknown());
        inv.add_group("ungrouped", Span::unknown());
        inv.add_child("all", "ungrouped")
            .expect("fresh groups cannot form a loop");
        inv
    }

    /// Inventory hosts in definition order (never the implicit localhost).
    pub fn hosts(&self) -> impl Iterator<Item = &Host> {
        self.hosts.values()
    }

    /// Looks a host up; a localhost name not in the inventory yields the implicit localhost.
    pub fn host(&self, name: &str) -> Option<&Host> {
        if let Some(h) = self.hosts.get(name) {
            return Some(h);
        }
        if LOCALHOST_NAMES.contains(&name) {
            return Some(self.implicit_localhost(name));
        }
        None
    }

    /// Whether the inventory itself defines the host (the implicit localhost does not count).
    pub fn contains_host(&self, name: &str) -> bool {
        self.hosts.contains_key(name)
    }

    /// Groups in definition order, starting with `all` and `ungrouped`.
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values()
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.get(name)
    }

    /// Non-fatal problems found while loading (Ansible prints these as warnings).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub(crate) fn warn(&mut self, msg: String) {
        self.warnings.push(msg);
    }

    fn implicit_localhost(&self, name: &str) -> &Host {
        self.implicit_localhost
            .get_or_init(|| Host::implicit_localhost(name))
    }

    /// Adds a group if it does not exist yet; referencing a group again merges into it.
    pub fn add_group(&mut self, name: &str, span: Span) -> &mut Group {
        self.groups
            .entry(name.to_string())
            .or_insert_with(|| Group::new(name, span))
    }

    /// Adds a host (if new) and puts it in `group` (if given and not already there). `source` is
    /// only recorded the first time the host is seen.
    pub fn add_host(
        &mut self,
        name: &str,
        group: Option<&str>,
        span: Span,
        source: Option<PathBuf>,
    ) -> &mut Host {
        if !self.hosts.contains_key(name) {
            self.hosts
                .insert(name.to_string(), Host::new(name, span.clone(), source));
        }
        if let Some(g) = group {
            let grp = self.add_group(g, span);
            if !grp.hosts.iter().any(|h| h == name) {
                grp.hosts.push(name.to_string());
            }
            let host = &mut self.hosts[name];
            if !host.groups.iter().any(|x| x == g) {
                host.groups.push(g.to_string());
            }
        }
        &mut self.hosts[name]
    }

    /// Makes `child` a child of `parent` (both must exist). Refuses self-membership and loops
    /// with Ansible's wording.
    pub fn add_child(&mut self, parent: &str, child: &str) -> Result<(), String> {
        for g in [parent, child] {
            if !self.groups.contains_key(g) {
                return Err(format!("group '{g}' is not in the inventory"));
            }
        }
        if parent == child {
            return Err(format!("can't add group '{child}' to itself"));
        }
        // Every group descends from `all`, so `all` under anything is a loop.
        if child == "all" {
            return Err(format!(
                "Adding group 'all' as child to '{parent}' creates a recursive dependency loop."
            ));
        }
        if self.groups[parent].children.iter().any(|c| c == child) {
            return Ok(());
        }
        if self.ancestors(parent).iter().any(|a| a == child) {
            return Err(format!(
                "Adding group '{child}' as child to '{parent}' creates a recursive dependency loop."
            ));
        }
        self.groups[parent].children.push(child.to_string());
        self.groups[child].parents.push(parent.to_string());
        Ok(())
    }

    pub fn set_group_var(&mut self, group: &str, key: &str, value: Value) {
        let g = &mut self.groups[group];
        if key == "ansible_group_priority" {
            // Ansible stores this as the group's priority, not as a variable.
            if let Some(p) = value
                .as_i64()
                .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
            {
                g.priority = p;
            }
            return;
        }
        g.vars.insert(key.to_string(), value);
    }

    pub fn set_host_var(&mut self, host: &str, key: &str, value: Value) {
        self.hosts[host].vars.insert(key.to_string(), value);
    }

    /// All ancestor group names of a group, nearest first, without duplicates.
    fn ancestors(&self, group: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut frontier = vec![group.to_string()];
        while let Some(g) = frontier.pop() {
            for p in &self.groups[&g].parents {
                if !out.contains(p) {
                    out.push(p.clone());
                    frontier.push(p.clone());
                }
            }
        }
        out
    }

    /// Every group a host belongs to, directly or through a child group (Ansible's
    /// `host.get_groups()`), direct groups first.
    pub fn groups_of(&self, host: &str) -> Vec<&Group> {
        let Some(h) = self.hosts.get(host) else {
            return Vec::new();
        };
        let mut names: Vec<String> = Vec::new();
        for g in &h.groups {
            if !names.contains(g) {
                names.push(g.clone());
            }
            for a in self.ancestors(g) {
                if !names.contains(&a) {
                    names.push(a);
                }
            }
        }
        names.iter().map(|n| &self.groups[n]).collect()
    }

    /// Hosts of a group including its descendants, in Ansible's order: the group's own hosts,
    /// then its descendants' breadth first. This is the order of `groups['x']` and of `x[0]`.
    pub fn group_hosts(&self, group: &str) -> Vec<&str> {
        let Some(g) = self.groups.get(group) else {
            return Vec::new();
        };
        let mut ordered: indexmap::IndexSet<&str> = indexmap::IndexSet::new();
        ordered.insert(&g.name);
        let mut frontier = vec![g];
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for f in frontier {
                for c in &f.children {
                    if ordered.insert(c) {
                        next.push(&self.groups[c]);
                    }
                }
            }
            frontier = next;
        }
        let ordered = ordered.into_iter().map(|n| &self.groups[n]);
        let mut out: indexmap::IndexSet<&str> = indexmap::IndexSet::new();
        for g in ordered {
            out.extend(g.hosts.iter().map(String::as_str));
        }
        out.into_iter().collect()
    }

    /// Ansible's `reconcile_inventory`: parentless groups become children of `all`, hosts with
    /// no group but `all` land in `ungrouped` (and leave it once they have a real group), and
    /// group depths are recomputed. Call after loading and after any runtime change.
    pub fn reconcile(&mut self) {
        let orphans: Vec<String> = self
            .groups
            .values()
            .filter(|g| g.name != "all" && g.parents.is_empty())
            .map(|g| g.name.clone())
            .collect();
        for g in orphans {
            self.add_child("all", &g).expect("`all` has no ancestors");
        }
        let names: Vec<String> = self.hosts.keys().cloned().collect();
        for name in names {
            let groups: Vec<String> = self
                .groups_of(&name)
                .iter()
                .map(|g| g.name.clone())
                .collect();
            let real = groups.iter().any(|g| g != "all" && g != "ungrouped");
            if groups.iter().any(|g| g == "ungrouped") {
                if real {
                    self.groups["ungrouped"].hosts.retain(|h| h != &name);
                    self.hosts[&name].groups.retain(|g| g != "ungrouped");
                }
            } else if !real {
                self.add_host(&name, Some("ungrouped"), Span::unknown(), None);
            }
        }
        self.compute_depths();
        let clashes: Vec<String> = self
            .hosts
            .keys()
            .filter(|h| self.groups.contains_key(*h))
            .map(|h| format!("Found both group and host with same name: {h}"))
            .filter(|w| !self.warnings.contains(w))
            .collect();
        self.warnings.extend(clashes);
    }

    /// depth(all) = 0, otherwise one more than the deepest parent (Ansible propagates
    /// `max(parent.depth + 1, depth)` on every edge, which amounts to the same).
    fn compute_depths(&mut self) {
        let mut depth: IndexMap<String, u32> = IndexMap::new();
        fn visit(inv: &Inventory, g: &str, memo: &mut IndexMap<String, u32>) -> u32 {
            if let Some(d) = memo.get(g) {
                return *d;
            }
            let d = inv.groups[g]
                .parents
                .iter()
                .map(|p| visit(inv, p, memo) + 1)
                .max()
                .unwrap_or(0);
            memo.insert(g.to_string(), d);
            d
        }
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for n in &names {
            visit(self, n, &mut depth);
        }
        for (n, d) in depth {
            self.groups[&n].depth = d;
        }
    }
}

#[cfg(test)]
mod tests;
