//! Every module name Ansible resolves (ansible-core's modules, its routing redirects such as
//! `seboolean` → `ansible.posix.seboolean` and `yum` → `ansible.builtin.dnf`, and the modules
//! of the `ansible` bundle's collections), so that a playbook written for Ansible loads even
//! when it names a module strata does not implement: such a task is refused only when it would
//! actually run on a host (a RHEL branch skipped by `when:` on Debian hosts never fails).
//!
//! `modules.txt` is generated and checked in. Regenerate it with the venv `tests/run`
//! installs (ansible-core 2.19, `ansible` 12):
//!
//! ```text
//! /opt/strata-venv/bin/python3 tools/known_modules.py > src/modules/known/modules.txt
//! ```
//!
//! Which known names strata implements is always [`super::lookup`]'s answer at run time; no
//! list of unimplemented modules is kept anywhere.

mod reasons;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use reasons::REASONS;

/// The generated list: `[collection]` sections of `name`, `name -> FQCN` or `name ! message`.
const LIST: &str = include_str!("modules.txt");

/// What Ansible makes of one fully qualified name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Known {
    /// A module: the FQCN it resolves to, redirects followed.
    Module(&'static str),
    /// A tombstone: Ansible refuses the name at load time with this message.
    Removed(&'static str),
}

/// FQCN → entry. Module files map to their own name; the FQCN strings of module files are
/// built once and leaked, since the table lives as long as the process.
fn table() -> &'static HashMap<&'static str, Known> {
    static TABLE: OnceLock<HashMap<&'static str, Known>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = HashMap::new();
        let mut collection = "";
        for line in LIST.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(c) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                collection = c;
                continue;
            }
            let (name, entry) = match line.split_once(' ') {
                None => (line, None),
                Some((n, rest)) => (n, Some(rest)),
            };
            let fq: &'static str = Box::leak(format!("{collection}.{name}").into_boxed_str());
            let known = match entry {
                None => Known::Module(fq),
                Some(e) => match (e.strip_prefix("-> "), e.strip_prefix("! ")) {
                    (Some(target), _) => Known::Module(target),
                    (_, Some(msg)) => Known::Removed(msg),
                    _ => continue,
                },
            };
            t.insert(fq, known);
        }
        t
    })
}

/// The fully qualified name Ansible looks `name` up as: a short name (and `ansible.legacy.`)
/// is ansible.builtin's, whose routing carries the short names of modules that moved to
/// collections.
fn qualified(name: &str) -> String {
    if let Some(short) = name.strip_prefix("ansible.legacy.") {
        format!("ansible.builtin.{short}")
    } else if name.contains('.') {
        name.to_string()
    } else {
        format!("ansible.builtin.{name}")
    }
}

/// What Ansible resolves a task's action name to, if it resolves at all.
pub fn resolve(name: &str) -> Option<Known> {
    table().get(qualified(name).as_str()).copied()
}

/// ansible.builtin's short names (modules and redirects, not tombstones), for "did you mean".
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    table().iter().filter_map(|(fq, k)| match k {
        Known::Module(_) => fq.strip_prefix("ansible.builtin."),
        Known::Removed(_) => None,
    })
}

/// A known Ansible module strata does not implement, as a task names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The name as the task wrote it (`yum`, `ansible.posix.seboolean`).
    pub name: String,
    /// What Ansible would run (`ansible.builtin.dnf` for `yum`).
    pub fqcn: &'static str,
    /// Why strata does not implement it, when there is more to say than "not yet".
    pub reason: Option<&'static str>,
}

/// `Some` when `name` is an Ansible module that strata's registry does not answer to.
pub fn refusal(name: &str) -> Option<Refusal> {
    if super::lookup(name).is_some() {
        return None;
    }
    let Known::Module(fqcn) = resolve(name)? else {
        return None;
    };
    Some(Refusal {
        name: name.to_string(),
        fqcn,
        reason: reason(fqcn),
    })
}

/// The reason [`REASONS`] gives for a module, by FQCN or by its collection (`ns.coll.`).
pub fn reason(fqcn: &str) -> Option<&'static str> {
    REASONS
        .iter()
        .find(|(k, _)| *k == fqcn || (k.ends_with('.') && fqcn.starts_with(k)))
        .map(|(_, r)| *r)
}

#[cfg(test)]
mod tests;
