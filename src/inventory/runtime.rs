//! Changes a play makes to the inventory while it runs, as Ansible's `add_dynamic_host` and
//! `add_dynamic_group` make them: `add_host` creates or updates a host, `group_by` puts a
//! host in a (new) group. Each says whether anything changed, which is the task's `changed`.
//! `group_vars`/`host_vars` are read again for the new names, as Ansible's vars plugins read
//! them for every host and group on each lookup.

use serde_json::{Map, Value};

use super::{Inventory, VarsDir, load_vars_dir};
use crate::diagnostic::{Diagnostic, Span};

impl Inventory {
    /// `add_host`: the host (new ones join `all`, then `ungrouped` if in no group), its
    /// variables merged over its existing ones, and its groups.
    pub fn add_dynamic_host(
        &mut self,
        name: &str,
        groups: &[String],
        vars: &Map<String, Value>,
    ) -> bool {
        let mut changed = false;
        if !self.hosts.contains_key(name) {
            self.add_host(name, None, Span::unknown(), None);
            changed = true;
        }
        for (k, v) in vars {
            if self.hosts[name].vars.get(k) != Some(v) {
                self.set_host_var(name, k, v.clone());
                changed = true;
            }
        }
        for g in groups {
            if !self.groups.contains_key(g.as_str()) {
                self.add_group(g, Span::unknown());
                changed = true;
            }
            if !self.groups[g.as_str()].hosts.iter().any(|h| h == name) {
                self.add_host(name, Some(g), Span::unknown(), None);
                changed = true;
            }
        }
        if changed {
            self.reconcile();
        }
        changed
    }

    /// `group_by`: `host` joins `group`, which becomes a child of each of `parents` (all of
    /// them created as needed).
    pub fn add_dynamic_group(
        &mut self,
        host: &str,
        group: &str,
        parents: &[String],
    ) -> Result<bool, String> {
        if !self.hosts.contains_key(host) {
            return Err(format!("{host} cannot be matched in inventory"));
        }
        let mut changed = false;
        if !self.groups.contains_key(group) {
            self.add_group(group, Span::unknown());
        }
        for p in parents {
            if !self.groups.contains_key(p.as_str()) {
                self.add_group(p, Span::unknown());
                changed = true;
            }
        }
        for p in parents {
            if !self.groups[p.as_str()].children.iter().any(|c| c == group) {
                self.add_child(p, group)?;
                changed = true;
            }
        }
        if !self.groups[group].hosts.iter().any(|h| h == host) {
            self.add_host(host, Some(group), Span::unknown(), None);
            changed = true;
        }
        if changed {
            self.reconcile();
        }
        Ok(changed)
    }

    /// Reads the inventory's `group_vars`/`host_vars` again, for names added at run time.
    pub fn reload_vars_dirs(&mut self) -> Result<(), Diagnostic> {
        let dirs: Vec<_> = self.vars_dirs.iter().map(|d| d.dir.clone()).collect();
        let mut fresh = Vec::with_capacity(dirs.len());
        for d in dirs {
            fresh.push(load_vars_dir(&d, self)?);
        }
        self.vars_dirs = fresh;
        Ok(())
    }

    /// A playbook's adjacent vars read again for this inventory's current names.
    pub fn reload_vars_dir(&self, dir: &VarsDir) -> Result<VarsDir, Diagnostic> {
        load_vars_dir(&dir.dir, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inv() -> Inventory {
        let mut inv = Inventory::new();
        inv.add_host("a", Some("web"), Span::unknown(), None);
        inv.add_host("b", None, Span::unknown(), None);
        inv.reconcile();
        inv
    }

    #[test]
    fn group_by_changes_once_and_links_parents() {
        let mut inv = inv();
        let parents = vec!["numbered".to_string()];
        assert_eq!(inv.add_dynamic_group("b", "odd", &parents), Ok(true));
        assert_eq!(inv.group_names_of("b"), vec!["numbered", "odd"]);
        assert_eq!(inv.group_hosts("numbered"), vec!["b"]);
        // Already there: nothing changes.
        assert_eq!(inv.add_dynamic_group("b", "odd", &parents), Ok(false));
        // A new parent link alone is a change.
        assert_eq!(
            inv.add_dynamic_group("b", "odd", &["all".to_string(), "extra".to_string()]),
            Ok(true)
        );
        assert!(inv.add_dynamic_group("nope", "odd", &parents).is_err());
    }

    #[test]
    fn add_host_merges_vars_and_groups() {
        let mut inv = inv();
        let vars = json!({"ansible_host": "10.0.0.9", "color": "blue"});
        let vars = vars.as_object().unwrap();
        assert!(inv.add_dynamic_host("c", &[], vars));
        assert_eq!(inv.group_names_of("c"), vec!["ungrouped"]);
        assert!(!inv.add_dynamic_host("c", &[], vars));
        assert!(inv.add_dynamic_host("c", &["db".to_string()], &Map::new()));
        assert_eq!(inv.group_names_of("c"), vec!["db"]);
        assert_eq!(inv.host_vars("c")["color"], json!("blue"));
        let more = json!({"color": "red"});
        assert!(inv.add_dynamic_host("c", &[], more.as_object().unwrap()));
        assert_eq!(inv.host_vars("c")["color"], json!("red"));
        assert_eq!(inv.host_vars("c")["ansible_host"], json!("10.0.0.9"));
    }
}
