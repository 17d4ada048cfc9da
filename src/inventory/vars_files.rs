//! `group_vars/` and `host_vars/` directories, as Ansible's `host_group_vars` vars plugin reads
//! them: beside each inventory source (inside it for a directory source) and beside the
//! playbook. For an entity `web` the first of `web`, `web.yml`, `web.yaml`, `web.json` that
//! exists is used; if it is a directory, every file in it (recursively, sorted, skipping hidden
//! and `~` files, only YAML/JSON extensions or none) is merged in order.
//!
//! Files are read once, up front, for every group and host of the built inventory, so a
//! malformed vars file is a located input error before any host is contacted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Span};

use super::{Inventory, LOCALHOST_NAMES};

const EXTENSIONS: [&str; 3] = [".yml", ".yaml", ".json"];

/// The variables one directory's `group_vars/` and `host_vars/` give each entity.
#[derive(Clone, Debug, Default)]
pub struct VarsDir {
    pub dir: PathBuf,
    groups: HashMap<String, Map<String, Value>>,
    hosts: HashMap<String, Map<String, Value>>,
}

impl VarsDir {
    pub fn group(&self, name: &str) -> Option<&Map<String, Value>> {
        self.groups.get(name)
    }

    pub fn host(&self, name: &str) -> Option<&Map<String, Value>> {
        self.hosts.get(name)
    }
}

/// Reads `dir/group_vars` and `dir/host_vars` for every group and host of `inv` (and the
/// localhost names, which may be the implicit localhost).
pub fn load_vars_dir(dir: &Path, inv: &Inventory) -> Result<VarsDir, Diagnostic> {
    let mut out = VarsDir {
        dir: dir.to_path_buf(),
        ..Default::default()
    };
    let gdir = dir.join("group_vars");
    if gdir.is_dir() {
        for g in inv.groups() {
            if let Some(vars) = entity_vars(&gdir, &g.name)? {
                out.groups.insert(g.name.clone(), vars);
            }
        }
    }
    let hdir = dir.join("host_vars");
    if hdir.is_dir() {
        let names = inv.hosts().map(|h| h.name.as_str()).chain(
            LOCALHOST_NAMES
                .into_iter()
                .filter(|n| !inv.contains_host(n)),
        );
        for name in names {
            if let Some(vars) = entity_vars(&hdir, name)? {
                out.hosts.insert(name.to_string(), vars);
            }
        }
    }
    Ok(out)
}

/// The merged variables of one entity, `None` when it has no vars file.
fn entity_vars(base: &Path, name: &str) -> Result<Option<Map<String, Value>>, Diagnostic> {
    // Ansible skips names that are absolute paths (chroot-style hosts).
    if name.starts_with('/') || name.is_empty() {
        return Ok(None);
    }
    let Some(found) = [""]
        .into_iter()
        .chain(EXTENSIONS)
        .map(|ext| base.join(format!("{name}{ext}")))
        .find(|p| p.exists())
    else {
        return Ok(None);
    };
    let files = if found.is_dir() {
        dir_files(&found)?
    } else {
        vec![found]
    };
    let mut vars = Map::new();
    for f in files {
        // Later files replace whole top-level keys (Ansible's default `hash_behaviour`).
        vars.extend(read_vars_file(&f)?);
    }
    Ok(Some(vars))
}

fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let unreadable =
        |e: std::io::Error| Diagnostic::new(Span::file_only(dir), format!("cannot read: {e}"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && !n.ends_with('~'))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for n in names {
        let p = dir.join(&n);
        let ext = Path::new(&n)
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()));
        match ext {
            None if p.is_dir() => out.extend(dir_files(&p)?),
            None => out.push(p),
            Some(e) if p.is_file() && EXTENSIONS.contains(&e.as_str()) => out.push(p),
            Some(_) => {}
        }
    }
    Ok(out)
}

/// One vars file: a YAML (or JSON) mapping; an empty file contributes nothing.
fn read_vars_file(path: &Path) -> Result<Map<String, Value>, Diagnostic> {
    let doc = crate::yaml::load_file(path)?;
    if doc.is_null() {
        return Ok(Map::new());
    }
    let Some(entries) = doc.as_map() else {
        return Err(doc
            .error(format!(
                "variables file must be a mapping of variable names, found {}",
                doc.kind()
            ))
            .label("expected `name: value` pairs"));
    };
    let mut vars = Map::new();
    for (k, v) in entries {
        let Some(name) = k.scalar_string() else {
            return Err(k
                .error("variable names must be strings")
                .label("variable name"));
        };
        vars.insert(name, v.to_json());
    }
    Ok(vars)
}
