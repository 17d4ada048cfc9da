//! Where lookups find controller files: Ansible's `find_file_in_search_path`, over the task's
//! `ansible_search_path` (the role, then the task file's directory) and, last, the
//! playbook's directory, each tried with the lookup's subdirectory (`files/`) and without.

use std::path::{Path, PathBuf};

use minijinja::State;
use minijinja::value::Value;

/// A variable of the task, if defined.
pub fn var(state: &State, name: &str) -> Option<Value> {
    state
        .lookup(name)
        .filter(|v| !v.is_undefined() && !v.is_none())
}

/// The loader's base directory: the playbook's (the current directory outside a play).
pub fn basedir(state: &State) -> PathBuf {
    absolute(
        var(state, "playbook_dir")
            .and_then(|v| v.as_str().map(PathBuf::from))
            .unwrap_or_default(),
    )
}

/// Ansible's paths are absolute (`unfrackpath`), and so are the names lookups return.
fn absolute(p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    }
}

/// `ansible_search_path`, or the base directory alone.
pub fn search_path(state: &State) -> Vec<PathBuf> {
    let listed: Vec<PathBuf> = var(state, "ansible_search_path")
        .and_then(|v| v.try_iter().ok().map(|it| it.collect::<Vec<_>>()))
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(|s| absolute(PathBuf::from(s))))
        .collect();
    if listed.is_empty() {
        vec![basedir(state)]
    } else {
        listed
    }
}

/// Relative paths resolve against the base directory (Ansible's `path_dwim`); `~` expands.
pub fn dwim(state: &State, p: &str) -> PathBuf {
    let p = expand_user(p);
    if p.is_absolute() {
        p
    } else {
        basedir(state).join(p)
    }
}

fn expand_user(p: &str) -> PathBuf {
    match (p.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(format!("{}{rest}", home.to_string_lossy()))
        }
        _ => PathBuf::from(p),
    }
}

/// The candidates Ansible's `path_dwim_relative_stack` tries, in order. `subdir` is `None`
/// for lookups that search without one (first_found outside a `with_` loop).
pub fn candidates(state: &State, subdir: Option<&str>, needle: &str) -> Vec<PathBuf> {
    if needle.starts_with('~') || needle.starts_with('/') {
        return vec![expand_user(needle)];
    }
    let is_role = var(state, "role_path").is_some();
    let first = needle.split('/').next().unwrap_or_default();
    let join = |base: &Path, sub: Option<&str>| {
        let mut p = base.to_path_buf();
        if let Some(s) = sub {
            p.push(s);
        }
        if !needle.is_empty() {
            p.push(needle);
        }
        p
    };
    let mut out = Vec::new();
    for path in search_path(state) {
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if is_role && parent.ends_with("tasks") {
            out.push(join(parent.parent().unwrap_or(&parent), subdir));
            out.push(join(&parent, None));
        }
        if Some(first) != subdir {
            out.push(join(&path, subdir));
        }
        out.push(join(&path, None));
    }
    let base = basedir(state);
    if Some(first) != subdir {
        out.push(join(&base, subdir));
    }
    out.push(join(&base, None));
    out
}

/// The first existing candidate, or the list searched (for the error).
pub fn find(state: &State, subdir: Option<&str>, needle: &str) -> Result<PathBuf, Vec<PathBuf>> {
    let c = candidates(state, subdir, needle);
    c.iter().find(|p| p.exists()).cloned().ok_or(c)
}
