//! Ansible's INI inventory format: `[group]` sections of host lines (`web[01:03] k=v`),
//! `[group:vars]` of `k = v` lines and `[group:children]` of group names. Lines before any
//! section are hosts of `ungrouped`. Values go through Python's `literal_eval`
//! ([`super::pyliteral`]) as in Ansible, so `port=80` is a number and `x=yes` a string.
//!
//! Ansible lets a group be named by `[g:vars]` or `[p:children]` before it is declared and only
//! complains at the end of the file if it never is; we keep those pending references the same
//! way, but report every problem as a located error instead of a warning, since a half-parsed
//! inventory means running against the wrong hosts.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use indexmap::IndexMap;
use regex::Regex;

use crate::diagnostic::{Diagnostic, Span};
use crate::shell::shlex::{self, Comments, ShlexError, Word};

use super::Inventory;
use super::address::expand_host_entry;
use super::pyliteral::ini_value;

/// `[name]` or `[name:kind]`, optionally followed by a `#` comment.
static SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").expect("static regex"));
static GROUP_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").expect("static regex"));

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Hosts,
    Vars,
    Children,
}

/// A reference to a group that has not been declared (yet): `[g:vars]`, or `g` listed under
/// `[p:children]` (with every parent that listed it).
struct Pending {
    span: Span,
    children_of: Vec<String>,
}

/// Adds the hosts and groups of an INI inventory file.
pub fn populate(inv: &mut Inventory, text: &str, source: &Path) -> Result<(), Diagnostic> {
    let file = Arc::new(source.to_path_buf());
    let abs: PathBuf = std::path::absolute(source).unwrap_or_else(|_| source.to_path_buf());
    let mut group = "ungrouped".to_string();
    let mut state = State::Hosts;
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        let indent = raw[..raw.len() - raw.trim_start().len()].chars().count();
        let at = |col: usize, len: usize| {
            Span::new(
                &file,
                n as u32 + 1,
                (indent + col) as u32 + 1,
                len.max(1) as u32,
            )
        };
        let whole = at(0, line.chars().count());
        if let Some(c) = SECTION.captures(line) {
            let kind = c.get(2).map_or("hosts", |m| m.as_str());
            state = match kind {
                "hosts" => State::Hosts,
                "vars" => State::Vars,
                "children" => State::Children,
                _ => {
                    let m = c.get(2).expect("kind matched");
                    return Err(Diagnostic::new(
                        at(m.start(), m.len()),
                        format!("Section [{}:{kind}] has unknown type: {kind}", &c[1]),
                    )
                    .label("unknown section type")
                    .help("a section is `[group]`, `[group:vars]` or `[group:children]`"));
                }
            };
            group = c[1].to_string();
            if inv.group(&group).is_none() {
                if state == State::Vars && !pending.contains_key(&group) {
                    pending.insert(
                        group.clone(),
                        Pending {
                            span: whole.clone(),
                            children_of: Vec::new(),
                        },
                    );
                }
                inv.add_group(&group, whole.clone());
            }
            if state != State::Vars
                && let Some(p) = pending.shift_remove(&group)
            {
                add_pending_children(inv, &group, p, &mut pending)?;
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(Diagnostic::new(
                whole,
                format!("Invalid section entry: '{line}'. Please make sure that there are no spaces in the section entry, and that there are no other invalid characters"),
            )
            .label("not a valid section header"));
        }
        match state {
            State::Hosts => host_line(inv, &group, line, &at, &abs)?,
            State::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(
                        Diagnostic::new(whole, format!("Expected key=value, got: {line}"))
                            .label("expected `name = value`")
                            .help(format!(
                                "lines under [{group}:vars] set variables of group `{group}`"
                            )),
                    );
                };
                inv.set_group_var(&group, k.trim(), ini_value(v.trim()));
            }
            State::Children => {
                let Some(c) = GROUP_NAME.captures(line) else {
                    return Err(Diagnostic::new(
                        whole,
                        format!("Expected group name, got: {line}"),
                    )
                    .label("expected one group name")
                    .help(format!("list the child groups of `{group}` one per line")));
                };
                let child = &c[1];
                let span = at(0, child.chars().count());
                if inv.group(child).is_some() {
                    inv.add_child(&group, child)
                        .map_err(|e| Diagnostic::new(span, e).label("child group"))?;
                } else {
                    pending
                        .entry(child.to_string())
                        .or_insert(Pending {
                            span,
                            children_of: Vec::new(),
                        })
                        .children_of
                        .push(group.clone());
                }
            }
        }
    }
    if let Some((name, p)) = pending.into_iter().next() {
        let msg = match p.children_of.last() {
            None => format!("Section [{name}:vars] not valid for undefined group '{name}'."),
            Some(parent) => {
                format!("Section [{parent}:children] includes undefined group '{name}'.")
            }
        };
        return Err(Diagnostic::new(p.span, msg)
            .label("group never declared")
            .help(format!(
                "declare the group with a `[{name}]` or `[{name}:children]` section"
            )));
    }
    Ok(())
}

/// A pending child group got declared: link it to the parents that listed it, recursively for
/// parents that were themselves pending children.
fn add_pending_children(
    inv: &mut Inventory,
    group: &str,
    p: Pending,
    pending: &mut IndexMap<String, Pending>,
) -> Result<(), Diagnostic> {
    for parent in &p.children_of {
        inv.add_child(parent, group)
            .map_err(|e| Diagnostic::new(p.span.clone(), e).label("child group"))?;
        if pending
            .get(parent)
            .is_some_and(|pp| !pp.children_of.is_empty())
        {
            let pp = pending.shift_remove(parent).expect("checked");
            add_pending_children(inv, parent, pp, pending)?;
        }
    }
    Ok(())
}

/// `host[:port] [k=v ...]`: the host entry may be a range; values are Python literals.
fn host_line(
    inv: &mut Inventory,
    group: &str,
    line: &str,
    at: &dyn Fn(usize, usize) -> Span,
    source: &Path,
) -> Result<(), Diagnostic> {
    let words = shlex_split(line).map_err(|(why, col)| {
        Diagnostic::new(
            at(col, 1),
            format!("Error parsing host definition '{line}': {why}"),
        )
        .label(why)
    })?;
    let Some((first, rest)) = words.split_first() else {
        return Ok(());
    };
    let span = at(first.col, first.len);
    let (names, port) = expand_host_entry(&first.text)
        .map_err(|e| Diagnostic::new(span.clone(), e).label("host"))?;
    let mut vars = Vec::new();
    for w in rest {
        let Some((k, v)) = w.text.split_once('=') else {
            return Err(Diagnostic::new(
                at(w.col, w.len),
                format!("Expected key=value host variable assignment, got: {}", w.text),
            )
            .label("expected `name=value`")
            .help("host variables follow the host name as `name=value` words; comments start with `#`"));
        };
        vars.push((k.to_string(), ini_value(v)));
    }
    for name in names {
        let known = inv.contains_host(&name);
        inv.add_host(&name, Some(group), span.clone(), Some(source.to_path_buf()));
        if let (Some(p), false) = (port, known) {
            inv.set_host_var(&name, "ansible_port", serde_json::Value::from(p));
        }
        for (k, v) in &vars {
            inv.set_host_var(&name, k, v.clone());
        }
    }
    Ok(())
}

/// Python's `shlex.split(line, comments=True)`, as Ansible reads host lines; errors carry
/// Python's message and the column of the offending character.
fn shlex_split(line: &str) -> Result<Vec<Word>, (&'static str, usize)> {
    shlex::words(line, Comments::EndLine).map_err(|e| {
        let why = match e.error {
            ShlexError::NoClosingQuotation => "No closing quotation",
            ShlexError::NoEscapedCharacter => "No escaped character",
        };
        (why, e.col)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        shlex_split(s)
            .unwrap()
            .into_iter()
            .map(|w| w.text)
            .collect()
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            split("h a=1 b='x y'  c=\"q\\\"z\""),
            ["h", "a=1", "b=x y", "c=q\"z"]
        );
        assert_eq!(split("h a=1#c d=2"), ["h", "a=1"]);
        assert_eq!(split("h a=\\ b"), ["h", "a= b"]);
        assert_eq!(split("h e=''"), ["h", "e="]);
        assert_eq!(
            shlex_split("h a='x").err(),
            Some(("No closing quotation", 4))
        );
        let w = shlex_split("h  k=v").unwrap();
        assert_eq!((w[1].col, w[1].len), (3, 3));
    }
}
