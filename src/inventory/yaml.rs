//! Ansible's YAML inventory format: top-level keys are groups (usually just `all`), each with
//! optional `hosts`, `children` and `vars`. Groups may be mentioned in several places and are
//! merged; a host may appear in several groups. Ansible only warns about malformed structure
//! and skips it; we refuse it with a located error, since a silently dropped group means
//! running against the wrong hosts.

use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::yaml::{Node, Yaml};

use super::Inventory;
use super::address::expand_host_entry;

const SECTIONS: [&str; 3] = ["hosts", "children", "vars"];

/// Adds the groups and hosts of an already parsed YAML inventory document.
pub fn populate(inv: &mut Inventory, doc: &Node, source: &Path) -> Result<(), Diagnostic> {
    let Some(groups) = doc.as_map() else {
        return Err(doc
            .error(format!(
                "YAML inventory has invalid structure: it should be a mapping of group names, found {}",
                doc.kind()
            ))
            .label("expected a mapping such as `all: {hosts: ...}`"));
    };
    // Ansible records the normalised absolute path as `inventory_file`.
    let source = std::path::absolute(source).unwrap_or_else(|_| source.to_path_buf());
    for (key, value) in groups {
        let name = group_name(key)?;
        parse_group(inv, &name, key, value, &source, &mut Vec::new())?;
    }
    Ok(())
}

/// True when a document is plausibly meant as a YAML inventory (used to sniff files without
/// an extension): a mapping whose values are all mappings or empty.
pub fn looks_like_inventory(doc: &Node) -> bool {
    doc.as_map().is_some_and(|m| {
        !m.is_empty() && m.iter().all(|(_, v)| v.is_null() || v.as_map().is_some())
    })
}

/// Like Ansible, only a string names a group: `2024:` is an integer key, refused rather than
/// quietly becoming group `"2024"`.
fn group_name(key: &Node) -> Result<String, Diagnostic> {
    match &key.value {
        Yaml::Str(s) if !s.trim().is_empty() => Ok(s.clone()),
        _ => Err(key
            .error("invalid group name: a group name must be a non-empty string")
            .label("group name")
            .help("quote names YAML reads as numbers or booleans, such as `\"2024\":`")),
    }
}

/// `path` holds the groups being parsed above this one, so a `children` loop is reported at
/// the key that closes it rather than recursing forever.
fn parse_group(
    inv: &mut Inventory,
    name: &str,
    key: &Node,
    data: &Node,
    source: &Path,
    path: &mut Vec<String>,
) -> Result<(), Diagnostic> {
    if path.iter().any(|p| p == name) {
        return Err(key
            .error(format!(
                "group `{name}` is its own descendant ({} -> {name})",
                path.join(" -> ")
            ))
            .label("creates a recursive dependency loop"));
    }
    let entries: &[(Node, Node)] = match &data.value {
        Yaml::Null => &[],
        Yaml::Map(m) => m,
        _ => {
            return Err(data
                .error(format!(
                    "group `{name}` must be a mapping with hosts, children or vars, found {}",
                    data.kind()
                ))
                .label("not a group definition"));
        }
    };
    inv.add_group(name, key.span.clone());
    path.push(name.to_string());
    for (k, v) in entries {
        let section = k.scalar_string().unwrap_or_default();
        if !SECTIONS.contains(&section.as_str()) {
            let mut d = k
                .error(format!(
                    "unexpected key `{section}` in group `{name}`; expected hosts, children or vars"
                ))
                .label("unknown group key");
            d = match did_you_mean(&section) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!(
                    "put group variables under `vars:`, and host variables under the host in \
                     `hosts:`; if `{name}` is a host, list it under its group's `hosts:`"
                )),
            };
            return Err(d);
        }
        for (ek, ev) in section_entries(name, &section, v)? {
            match section.as_str() {
                "vars" => {
                    let var = ek.scalar_string().unwrap_or_default();
                    inv.set_group_var(name, &var, ev.map(Node::to_json).unwrap_or_default());
                }
                "children" => {
                    let child = group_name(ek)?;
                    let null = Node {
                        value: Yaml::Null,
                        span: ek.span.clone(),
                    };
                    parse_group(inv, &child, ek, ev.unwrap_or(&null), source, path)?;
                    inv.add_child(name, &child)
                        .map_err(|e| ek.error(e).label("child group"))?;
                }
                _ => parse_hosts_entry(inv, name, ek, ev, source)?,
            }
        }
    }
    path.pop();
    Ok(())
}

/// A section's entries. As in Ansible, a bare string stands for a one-key mapping with no
/// value (`hosts: web1`) and null is an empty section.
fn section_entries<'a>(
    group: &str,
    section: &str,
    v: &'a Node,
) -> Result<Vec<(&'a Node, Option<&'a Node>)>, Diagnostic> {
    match &v.value {
        Yaml::Null => Ok(Vec::new()),
        Yaml::Str(_) => Ok(vec![(v, None)]),
        Yaml::Map(m) => Ok(m.iter().map(|(k, v)| (k, Some(v))).collect()),
        _ => {
            let help = match section {
                "hosts" => {
                    "list hosts as keys, one `web1:` per line; a host's value, if any, holds its variables"
                }
                "children" => "list child groups as keys, one `web:` per line",
                _ => "write variables as `name: value` pairs",
            };
            Err(v
                .error(format!(
                    "`{section}` in group `{group}` must be a mapping, found {}",
                    v.kind()
                ))
                .label("expected a mapping")
                .help(help))
        }
    }
}

fn parse_hosts_entry(
    inv: &mut Inventory,
    group: &str,
    key: &Node,
    vars: Option<&Node>,
    source: &Path,
) -> Result<(), Diagnostic> {
    // Ansible refuses a host key YAML reads as a number (`1.10:` is the float 1.1).
    let entry = match &key.value {
        Yaml::Str(s) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(key
                .error("invalid host name: a host must be a non-empty string")
                .label("host")
                .help("quote host names YAML reads as numbers, such as `\"1.10\":`"));
        }
    };
    let (names, port) = expand_host_entry(&entry).map_err(|e| key.error(e).label("host"))?;
    let vars: &[(Node, Node)] = match vars.map(|v| &v.value) {
        None | Some(Yaml::Null) => &[],
        Some(Yaml::Map(m)) => m,
        Some(_) => {
            let v = vars.expect("matched Some");
            return Err(v
                .error(format!(
                    "variables of host `{entry}` must be a mapping, found {}",
                    v.kind()
                ))
                .label("expected `name: value` pairs"));
        }
    };
    for name in names {
        let known = inv.contains_host(&name);
        inv.add_host(
            &name,
            Some(group),
            key.span.clone(),
            Some(source.to_path_buf()),
        );
        if let (Some(p), false) = (port, known) {
            inv.set_host_var(&name, "ansible_port", serde_json::Value::from(p));
        }
        for (k, v) in vars {
            inv.set_host_var(&name, &k.scalar_string().unwrap_or_default(), v.to_json());
        }
    }
    Ok(())
}

fn did_you_mean(key: &str) -> Option<&'static str> {
    let k = key.to_ascii_lowercase();
    SECTIONS
        .into_iter()
        .find(|s| k == *s || k.trim_end_matches('s') == s.trim_end_matches('s'))
        .or(match k.as_str() {
            "child" | "groups" | "group" | "subgroups" => Some("children"),
            "var" | "variables" => Some("vars"),
            "hostname" | "host_list" | "members" => Some("hosts"),
            _ => None,
        })
}
