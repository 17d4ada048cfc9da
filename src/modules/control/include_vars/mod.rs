//! `include_vars`: variables from YAML/JSON files on the controller, for the host, at
//! Ansible's include_vars precedence (above task vars, below `set_fact`). One file (`file`
//! or the free form, found in the role's `vars/`, then as Ansible searches), or every file of
//! a directory (`dir`, walked in sorted order to `depth`, filtered by `files_matching`,
//! `ignore_files` and `extensions`). `name` puts them all under one variable;
//! `hash_behaviour: merge` merges dictionaries with the values the host already has. The
//! executor stores the result's `ansible_facts` in the host's include_vars layer.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct IncludeVars;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "include_vars",
    params: &[
        Param::new("file", T::Str),
        Param::new("dir", T::Str),
        Param::new("name", T::Str),
        Param::new("depth", T::Int),
        Param::new("files_matching", T::Str),
        Param::new("ignore_files", T::Raw),
        Param::new("extensions", T::Raw),
        Param::new("ignore_unknown_extensions", T::Bool),
        Param::new("hash_behaviour", T::Str).choices(&["replace", "merge"]),
    ],
    free_form: FreeForm::Raw("file"),
    // Ansible: "You are mixing file only and dir only arguments, these are incompatible".
    mutually_exclusive: &[
        &["file", "dir"],
        &["file", "depth"],
        &["file", "files_matching"],
        &["file", "ignore_files"],
        &["file", "extensions"],
        &["file", "ignore_unknown_extensions"],
    ],
    required_one_of: &[],
    any_params: false,
};

impl Module for IncludeVars {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(async move { run(ctx, args) })
    }
}

fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let role_path = ctx
        .vars
        .get_attr("role_path")
        .ok()
        .and_then(|v| v.as_str().map(PathBuf::from));
    let mut files = Vec::new();
    let loaded = match args.str("dir") {
        Some(dir) => load_dir(ctx, args, role_path.as_deref(), &dir, &mut files)?,
        None => {
            let file = args.str("file").unwrap_or_default();
            let file = file.trim_end_matches('\n');
            match ctx.search.find_local("vars", file) {
                Ok(p) => load_file(&p, None).inspect(|_| files.push(p.display().to_string())),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    let mut results = match loaded {
        Ok(m) => m,
        Err(message) => {
            let mut r = ModuleResult::ok()
                .with("ansible_included_var_files", Value::Array(vec![]))
                .with("message", message);
            r.failed = true;
            r.facts = Map::new();
            return Ok(r);
        }
    };
    if let Some(name) = args.str("name") {
        let mut scoped = Map::new();
        scoped.insert(name, Value::Object(results));
        results = scoped;
    }
    if args.str("hash_behaviour").as_deref() == Some("merge") {
        for (k, v) in results.iter_mut() {
            let existing = ctx
                .vars
                .get_attr(k)
                .ok()
                .filter(|x| !x.is_undefined())
                .and_then(|x| crate::template::jinja_to_json(&x).ok());
            if let Some(old) = existing {
                *v = merge(old, v.clone());
            }
        }
    }
    let files = files.into_iter().map(Value::from).collect();
    Ok(ModuleResult {
        facts: results,
        ..ModuleResult::ok()
    }
    .with("ansible_included_var_files", Value::Array(files)))
}

/// Ansible's recursive `merge_hash`: dictionaries merge key by key, anything else replaces.
fn merge(old: Value, new: Value) -> Value {
    match (old, new) {
        (Value::Object(mut a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(prev) => *prev = merge(std::mem::take(prev), v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
            Value::Object(a)
        }
        (_, new) => new,
    }
}

/// One vars file: a mapping (an empty file is an empty mapping).
fn load_file(path: &Path, extensions: Option<&[String]>) -> Result<Map<String, Value>, String> {
    if let Some(exts) = extensions {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if path.extension().is_none() || !exts.iter().any(|e| e == ext) {
            return Err(format!(
                "{} does not have a valid extension: {}",
                path.display(),
                exts.join(", ")
            ));
        }
    }
    let node = crate::yaml::load_file(path).map_err(|d| d.message)?;
    match node.to_json() {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m),
        _ => Err(format!(
            "{} must be stored as a dictionary/hash",
            path.display()
        )),
    }
}

/// Ansible's `_set_root_dir`: in a role, under its `vars/`; otherwise beside the task file.
fn root_dir(ctx: &ModuleCtx<'_>, role: Option<&Path>, dir: &str) -> PathBuf {
    if Path::new(dir).is_absolute() {
        return PathBuf::from(dir);
    }
    match role {
        Some(r) if dir.split('/').next() == Some("vars") => {
            let p = r.join(dir);
            if p.exists() { p } else { PathBuf::from(dir) }
        }
        Some(r) => r.join("vars").join(dir),
        None => ctx
            .search
            .roots
            .first()
            .cloned()
            .unwrap_or_default()
            .join(dir),
    }
}

fn string_list(v: Option<&Value>, split_chars: bool) -> Result<Vec<String>, String> {
    Ok(match v {
        None | Some(Value::Null) => vec![],
        // Python's `list("yml")` for `extensions`, `str.split()` for `ignore_files`.
        Some(Value::String(s)) if split_chars => s.chars().map(String::from).collect(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| crate::values::to_str(x).unwrap_or_else(|| x.to_string()))
            .collect(),
        Some(other) => return Err(format!("{other} must be a list")),
    })
}

fn load_dir(
    ctx: &ModuleCtx<'_>,
    args: &Args,
    role: Option<&Path>,
    dir: &str,
    included: &mut Vec<String>,
) -> Result<Result<Map<String, Value>, String>, ModuleError> {
    let root = root_dir(ctx, role, dir);
    if !root.exists() {
        return Ok(Err(format!("{} directory does not exist", root.display())));
    }
    if !root.is_dir() {
        return Ok(Err(format!("{} is not a directory", root.display())));
    }
    let depth = args.int("depth")?.unwrap_or(0).max(0) as usize;
    let matcher = match args.str("files_matching") {
        Some(p) => Some(
            fancy_regex::Regex::new(&p)
                .map_err(|e| ModuleError::Args(format!("files_matching: {e}")))?,
        ),
        None => None,
    };
    let ignore = match string_list(args.get("ignore_files"), false) {
        Ok(l) => l,
        Err(e) => return Ok(Err(e)),
    };
    let ignore: Vec<fancy_regex::Regex> = ignore
        .iter()
        .map(|p| {
            fancy_regex::Regex::new(&format!("{p}$"))
                .map_err(|_| ModuleError::Args(format!("Invalid regular expression: {p}")))
        })
        .collect::<Result<_, _>>()?;
    let exts = match args.get("extensions") {
        None => vec!["yaml".into(), "yml".into(), "json".into()],
        Some(v) => match string_list(Some(v), true) {
            Ok(l) => l,
            Err(_) => {
                return Err(ModuleError::Args(
                    "Invalid type for \"extensions\" option, it must be a list".into(),
                ));
            }
        },
    };
    let skip_unknown = args.bool_or("ignore_unknown_extensions", false)?;
    let mut dirs = Vec::new();
    walk(&root, 1, depth, &mut dirs);
    dirs.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    let mut results = Map::new();
    for (d, mut names) in dirs {
        names.sort();
        for name in names {
            if matcher
                .as_ref()
                .is_some_and(|m| !m.is_match(&name).unwrap_or(false))
            {
                continue;
            }
            if ignore.iter().any(|r| r.is_match(&name).unwrap_or(false)) {
                continue;
            }
            let path = d.join(&name);
            if skip_unknown {
                let ext = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or_default();
                if path.extension().is_none() || !exts.iter().any(|e| e == ext) {
                    continue;
                }
            }
            match load_file(&path, Some(&exts)) {
                Ok(m) => {
                    included.push(path.display().to_string());
                    results.extend(m);
                }
                Err(e) => return Ok(Err(e)),
            }
        }
    }
    Ok(Ok(results))
}

/// `os.walk(followlinks=True)`: every directory with its file names, to `depth` (0: all).
fn walk(dir: &Path, level: usize, depth: usize, out: &mut Vec<(PathBuf, Vec<String>)>) {
    if depth != 0 && level > depth {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files = Vec::new();
    let mut subdirs = Vec::new();
    for e in rd.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            subdirs.push(p);
        } else if let Ok(n) = e.file_name().into_string() {
            files.push(n);
        }
    }
    out.push((dir.to_path_buf(), files));
    for s in subdirs {
        walk(&s, level + 1, depth, out);
    }
}

#[cfg(test)]
mod tests;
