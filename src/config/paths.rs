//! Paths in settings resolved as ansible-core's `unfrackpath(follow=False)` resolves them:
//! `$VAR` and `${VAR}` expanded (unknown ones left as written), then `~`, then a relative path
//! joined to its base (the config file's directory for a value from the file, the working
//! directory for one from the environment), then `.` and `..` removed without touching the
//! disk.

use std::path::{Component, Path, PathBuf};

/// Python's `os.path.expandvars` on POSIX.
fn expand_vars(s: &str, var: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match (!name.is_empty()).then(|| var(name)).flatten() {
            Some(v) => {
                out.push_str(&v);
                rest = &after[len..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Lexical `os.path.normpath`: `.` dropped, `..` taken back where there is something to take.
fn normpath(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// `unfrackpath(path, follow=False, basedir=base)`.
pub fn unfrack(
    path: &str,
    base: &Path,
    var: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> PathBuf {
    let expanded = expand_vars(path, var);
    let p = match (expanded.as_str(), home) {
        ("~", Some(h)) => h.to_path_buf(),
        (s, Some(h)) if s.starts_with("~/") => h.join(&s[2..]),
        (s, _) => PathBuf::from(s),
    };
    normpath(&base.join(p))
}

/// `resolve_path`: `{{CWD}}` is the working directory, whatever the base.
pub fn resolve(
    path: &str,
    base: &Path,
    cwd: &Path,
    var: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> PathBuf {
    let path = path.replace("{{CWD}}", &cwd.to_string_lossy());
    unfrack(&path, base, var, home)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        (k == "PROJ").then(|| "/srv/proj".to_string())
    }

    #[test]
    fn variables_home_and_relative_paths() {
        let base = Path::new("/etc/proj");
        let home = Some(Path::new("/home/op"));
        let u = |p: &str| unfrack(p, base, &env, home);
        assert_eq!(u("$PROJ/roles"), PathBuf::from("/srv/proj/roles"));
        assert_eq!(u("${PROJ}/x"), PathBuf::from("/srv/proj/x"));
        assert_eq!(u("$NOPE/x"), PathBuf::from("/etc/proj/$NOPE/x"));
        assert_eq!(
            u("~/.ansible/roles"),
            PathBuf::from("/home/op/.ansible/roles")
        );
        assert_eq!(u("../shared/./roles"), PathBuf::from("/etc/shared/roles"));
        assert_eq!(u("/abs/../x"), PathBuf::from("/x"));
        assert_eq!(u("/.."), PathBuf::from("/"));
        assert_eq!(
            resolve("{{CWD}}/r", base, Path::new("/work"), &env, home),
            PathBuf::from("/work/r")
        );
    }
}
