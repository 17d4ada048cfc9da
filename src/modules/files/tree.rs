//! A directory tree listed on the host by one `find` (entries in directory order) plus one
//! `stat` per entry, and Python's `os.walk` order over it. `find` and `archive` report their
//! results in the order `os.walk` visits entries, which is the host's `readdir` order, so the
//! host lists and this file orders.

use std::collections::HashMap;

use crate::modules::toolkit::remote_stat::{STAT_FORMAT, StatInfo};
use crate::shell::sh_quote;

/// One listed entry below a root.
#[derive(Clone, Debug)]
pub struct Entry {
    /// As `find` printed it: the root as given, `/`, the names below it.
    pub path: String,
    /// The entry's own metadata (`lstat`).
    pub stat: StatInfo,
    /// Whether it is a directory once links are followed (`os.walk` puts those in `dirs`).
    pub is_dir: bool,
    /// Seconds since the epoch as CPython's `st_*time` computes them (`sec + nsec * 1e-9`).
    pub atime: f64,
    pub mtime: f64,
    pub ctime: f64,
}

/// A root's listing: its entries in `find`'s order and the errors `find` met.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    pub entries: Vec<Entry>,
    /// Directory (as printed) to the indexes of its entries, in directory order.
    children: HashMap<String, Vec<usize>>,
    /// Paths `find` could not read, with Python's text for the error.
    pub errors: Vec<(String, String)>,
}

/// Shell that lists `root_expr` (a quoted word or `"$var"`): `D\0`, then `%Y\0%p\0` per entry,
/// `S\0`, the `stat` lines, `W\0` and find's errors, `E\0`; or `X\0` when it is no directory.
/// `max_depth` bounds the listing (`None`: the whole tree); `follow` descends into links.
pub fn list_snippet(root_expr: &str, follow: bool, max_depth: Option<u32>) -> String {
    // `os.walk(top)` lists a top that is a link to a directory: `-H` follows the root only.
    let l = if follow { "-L " } else { "-H " };
    let depth = max_depth.map_or(String::new(), |d| format!(" -maxdepth {d}"));
    format!(
        "if [ -d {r} ]; then printf 'D\\0'\n\
         __e=$(LC_ALL=C find {l}{r} -mindepth 1{depth} -printf '%Y\\0%p\\0' 2>&1 >&3)\n\
         printf 'S\\0'\n\
         LC_ALL=C find {l}{r} -mindepth 1{depth} -print0 2>/dev/null | xargs -0r stat -c {fmt} -- 2>/dev/null\n\
         printf 'W\\0%s\\0E\\0' \"$__e\"\n\
         else printf 'X\\0'; fi\n",
        r = root_expr,
        fmt = sh_quote(STAT_FORMAT),
    )
}

/// CPython's float for a `%.9X`-style `sec.nsec` field.
fn py_time(s: &str) -> f64 {
    match s.split_once('.') {
        Some((sec, ns)) => {
            sec.parse::<f64>().unwrap_or(0.0) + ns.parse::<f64>().unwrap_or(0.0) * 1e-9
        }
        None => s.parse().unwrap_or(0.0),
    }
}

/// Python's `str(OSError)` for a `find: 'PATH': REASON` line.
fn python_error(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("find: '")?;
    let (path, reason) = rest.rsplit_once("': ")?;
    let errno = match reason {
        "Permission denied" => 13,
        "No such file or directory" => 2,
        "Not a directory" => 20,
        _ => 5,
    };
    Some((
        path.to_string(),
        format!("[Errno {errno}] {reason}: '{path}'"),
    ))
}

/// What [`list_snippet`] printed, from just after its `D\0`, or `None` for `X\0` (no
/// directory); also returns the rest of the output.
pub fn parse(out: &[u8]) -> Result<(Option<Tree>, &[u8]), String> {
    if let Some(rest) = out.strip_prefix(b"X\0") {
        return Ok((None, rest));
    }
    let bad = || "unexpected listing from the host".to_string();
    let mut rest = out.strip_prefix(b"D\0").ok_or_else(bad)?;
    let mut kinds: Vec<(bool, String)> = Vec::new();
    loop {
        if let Some(r) = rest.strip_prefix(b"S\0") {
            rest = r;
            break;
        }
        let mut it = rest.splitn(3, |b| *b == 0);
        let (Some(y), Some(p), Some(r)) = (it.next(), it.next(), it.next()) else {
            return Err(bad());
        };
        kinds.push((y == b"d", String::from_utf8_lossy(p).into_owned()));
        rest = r;
    }
    let w = rest
        .windows(2)
        .position(|x| x == b"W\0")
        .filter(|i| *i == 0 || rest[i - 1] == b'\n')
        .ok_or_else(bad)?;
    let stats = String::from_utf8_lossy(&rest[..w]).into_owned();
    rest = &rest[w + 2..];
    let e = rest.iter().position(|b| *b == 0).ok_or_else(bad)?;
    let errs = String::from_utf8_lossy(&rest[..e]).into_owned();
    rest = rest[e + 1..].strip_prefix(b"E\0").ok_or_else(bad)?;
    let lines: Vec<&str> = stats.lines().collect();
    if lines.len() != kinds.len() {
        return Err("the directory changed while it was listed".into());
    }
    let mut tree = Tree::default();
    for ((is_dir, path), line) in kinds.into_iter().zip(lines) {
        let stat = StatInfo::parse(line).ok_or_else(bad)?;
        let f: Vec<&str> = line.split_whitespace().collect();
        let parent = path.rsplit_once('/').map_or("", |(p, _)| p).to_string();
        tree.children
            .entry(parent)
            .or_default()
            .push(tree.entries.len());
        tree.entries.push(Entry {
            path,
            stat,
            is_dir,
            atime: py_time(f[7]),
            mtime: py_time(f[8]),
            ctime: py_time(f[9]),
        });
    }
    tree.errors = errs.lines().filter_map(python_error).collect();
    Ok((Some(tree), rest))
}

impl Tree {
    /// The entries directly in `dir` (a root as given, or an entry's path), in directory order.
    pub fn children(&self, dir: &str) -> &[usize] {
        let key = if dir == "/" {
            ""
        } else {
            dir.trim_end_matches('/')
        };
        self.children.get(key).map_or(&[], |v| v.as_slice())
    }

    /// One `os.walk` step on `dir`: its entries split into `(files, dirs)` as Python splits
    /// them (a link to a directory is in `dirs`).
    pub fn split(&self, dir: &str) -> (Vec<usize>, Vec<usize>) {
        self.children(dir)
            .iter()
            .partition(|i| !self.entries[**i].is_dir)
    }
}

/// Python's `os.path.normpath` for absolute and relative POSIX paths.
pub fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let abs = p.starts_with('/');
    // POSIX keeps exactly two leading slashes, and collapses three or more into one.
    let lead = if p.starts_with("//") && !p.starts_with("///") {
        "//"
    } else if abs {
        "/"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." if !parts.is_empty() && parts.last() != Some(&"..") => {
                parts.pop();
            }
            ".." if abs => {}
            c => parts.push(c),
        }
    }
    let s = format!("{lead}{}", parts.join("/"));
    if s.is_empty() { ".".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normpath_as_python() {
        for (a, b) in [
            ("/a//b/./c/", "/a/b/c"),
            ("/../a", "/a"),
            ("a/../../b", "../b"),
            ("", "."),
            ("//x", "//x"),
            ("///x", "/x"),
        ] {
            assert_eq!(normpath(a), b, "{a}");
        }
    }

    #[test]
    fn find_errors_read_as_python_oserrors() {
        assert_eq!(
            python_error("find: '/r/x': Permission denied"),
            Some(("/r/x".into(), "[Errno 13] Permission denied: '/r/x'".into()))
        );
    }

    #[test]
    fn times_add_up_as_cpython() {
        assert_eq!(py_time("1700000000.500000000"), 1700000000.5);
    }
}
