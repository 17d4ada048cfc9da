//! Controller files: `file` (contents), `fileglob` (names matching a wildcard) and
//! `first_found` (the first of several candidates that exists), all found through the
//! task's search path as Ansible finds them.

use std::path::{Path, PathBuf};

use minijinja::State;
use minijinja::value::{Kwargs, Value, ValueKind};

use super::{LOOP_ACTION, fail, paths, term_str};

/// `file`: each file's text, trailing whitespace stripped unless `rstrip=False`.
pub fn file(
    state: &State,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, minijinja::Error> {
    let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
    let lstrip = kwargs.get::<Option<bool>>("lstrip")?.unwrap_or(false);
    let mut out = Vec::new();
    for t in terms {
        let term = term_str(t);
        let text = paths::find(state, Some("files"), &term)
            .ok()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .ok_or_else(|| {
                fail(format!(
                    "Unable to access the file '{term}'. File not found. Use -vvvvv to see paths searched."
                ))
            })?;
        let mut s = text.as_str();
        if lstrip {
            s = s.trim_start();
        }
        if rstrip {
            s = s.trim_end();
        }
        out.push(Value::from(s));
    }
    Ok(out)
}

/// `fileglob`: files (not directories) whose name matches the term's last component, in
/// the first searched directory that has any. Names are sorted (Python's `glob` gives them
/// in directory order, which differs between filesystems).
pub fn fileglob(
    state: &State,
    terms: &[Value],
    _: &Kwargs,
) -> Result<Vec<Value>, minijinja::Error> {
    let mut out = Vec::new();
    for t in terms {
        let term = term_str(t);
        let (dir, pattern) = match term.rsplit_once('/') {
            Some((d, f)) => (Some(if d.is_empty() { "/" } else { d }), f),
            None => (None, term.as_str()),
        };
        let dirs: Vec<PathBuf> = match dir {
            Some(d) => paths::find(state, Some("files"), d)
                .ok()
                .into_iter()
                .collect(),
            None => paths::search_path(state)
                .into_iter()
                .flat_map(|p| [p.join("files"), p])
                .collect(),
        };
        for d in dirs {
            let found = glob_files(&d, pattern);
            if !found.is_empty() {
                out.extend(found.into_iter().map(Value::from));
                break;
            }
        }
    }
    Ok(out)
}

/// Python's `glob` for one path component: a leading dot must be matched explicitly.
fn glob_files(dir: &Path, pattern: &str) -> Vec<String> {
    if !crate::fnmatch::has_wildcard(pattern) {
        let p = dir.join(pattern);
        return if p.is_file() {
            vec![p.display().to_string()]
        } else {
            vec![]
        };
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let pat = crate::fnmatch::Pattern::new(pattern);
    let mut names: Vec<String> = rd
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| (!n.starts_with('.') || pattern.starts_with('.')) && pat.matches(n))
        .filter(|n| dir.join(n).is_file())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| dir.join(n).display().to_string())
        .collect()
}

/// `first_found`: terms are file names, lists of them, or `{files, paths, skip}`
/// mappings; keywords `files`, `paths` and `skip` apply to the whole call.
pub fn first_found(
    state: &State,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, minijinja::Error> {
    let mut opts = Opts {
        files: kwargs.get::<Option<Value>>("files")?,
        paths: kwargs.get::<Option<Value>>("paths")?,
        skip: kwargs.get::<Option<bool>>("skip")?.unwrap_or(false),
    };
    // Inside `with_first_found`, Ansible searches the directory the task's action suggests.
    let subdir = paths::var(state, LOOP_ACTION).map(|a| {
        let a = a.to_string();
        ["template", "var", "file"]
            .into_iter()
            .find(|s| a.contains(s))
            .map_or("files", |s| match s {
                "template" => "templates",
                "var" => "vars",
                _ => "files",
            })
    });
    let mut search = Vec::new();
    if terms.is_empty() {
        let files = opts.files.clone().unwrap_or_default();
        process(&[files], &mut opts, &mut search)?;
    } else {
        process(terms, &mut opts, &mut search)?;
    }
    for f in &search {
        if let Ok(p) = paths::find(state, subdir, f) {
            return Ok(vec![Value::from(p.display().to_string())]);
        }
    }
    if opts.skip {
        return Ok(vec![]);
    }
    Err(fail("No file was found when using first_found."))
}

struct Opts {
    files: Option<Value>,
    paths: Option<Value>,
    skip: bool,
}

fn process(
    terms: &[Value],
    opts: &mut Opts,
    out: &mut Vec<String>,
) -> Result<(), minijinja::Error> {
    for term in terms {
        let files = match term.kind() {
            ValueKind::Map => {
                for key in term.try_iter()? {
                    let k = key.as_str().unwrap_or_default().to_string();
                    if !["files", "paths", "skip"].contains(&k.as_str()) {
                        return Err(fail(format!(
                            "Invalid option for first_found: '{k}' (valid: files, paths, skip)"
                        )));
                    }
                }
                let get = |k: &str| term.get_attr(k).ok().filter(|v| !v.is_undefined());
                if let Some(p) = get("paths") {
                    opts.paths = Some(p);
                }
                if let Some(s) = get("skip") {
                    opts.skip = s.is_true();
                }
                split_on(&get("files").unwrap_or_default(), ",;")
            }
            ValueKind::String => vec![term_str(term)],
            ValueKind::Seq => {
                let inner: Vec<Value> = term.try_iter()?.collect();
                process(&inner, opts, out)?;
                continue;
            }
            ValueKind::Undefined => continue,
            _ => {
                return Err(fail(format!(
                    "Invalid term supplied. A string, dict or list is required, not '{}'.",
                    crate::template::pyrepr::py_type(term)
                )));
            }
        };
        let dirs = opts
            .paths
            .as_ref()
            .map(|p| split_on(p, ",:;"))
            .unwrap_or_default();
        if dirs.is_empty() {
            out.extend(files);
        } else {
            for d in &dirs {
                for f in &files {
                    out.push(Path::new(d).join(f).display().to_string());
                }
            }
        }
    }
    Ok(())
}

/// Ansible's (deprecated) splitting of strings on separators; lists are split per element.
fn split_on(v: &Value, seps: &str) -> Vec<String> {
    if let Some(s) = v.as_str() {
        return s.split(|c| seps.contains(c)).map(str::to_string).collect();
    }
    if v.is_undefined() || v.is_none() {
        return vec![];
    }
    match v.try_iter() {
        Ok(it) => it.flat_map(|x| split_on(&x, seps)).collect(),
        Err(_) => vec![term_str(v)],
    }
}
