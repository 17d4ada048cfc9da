//! The collection's decisions for `archive`, over the probe: source paths, the archive root,
//! whether to archive or only compress, the destination, the entries and their names, and
//! the result.

use std::collections::HashMap;

use serde_json::Value;

use super::super::tree::Tree;
use super::path_info;
use crate::fnmatch::fnmatch;
use crate::modules::{Args, ModuleError, ModuleResult};
use crate::shell::sh_quote;

/// What a source path is on the host.
#[derive(Clone, Debug)]
pub enum Source {
    Missing,
    File,
    Dir(Tree),
}

/// The probe's findings: expanded paths in order, and expanded exclude paths.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    pub expanded: Vec<(String, Source)>,
    pub excludes: Vec<String>,
}

/// One archive member: the host path and its name in the archive.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub path: String,
    pub name: String,
}

pub struct Plan {
    pub format: String,
    pub dest: String,
    root: String,
    must_archive: bool,
    /// Some source exists: something is written.
    pub act: bool,
    pub remove: bool,
    pub entries: Vec<Member>,
    /// Source paths that exist, sorted (`self.targets`), and the sorted `self.paths`.
    targets: Vec<String>,
    not_found: Vec<String>,
    expanded: Vec<String>,
    expanded_excludes: Vec<String>,
    sorted_paths: Vec<(String, bool)>,
    check: bool,
}

/// Python's `os.path.dirname`.
fn dirname(p: &str) -> &str {
    match p.rfind('/') {
        None => "",
        Some(i) => {
            let head = &p[..=i];
            if head.bytes().all(|b| b == b'/') {
                head
            } else {
                head.trim_end_matches('/')
            }
        }
    }
}

/// `os.path.join(p, '')`.
fn with_slash(p: &str) -> String {
    if p.is_empty() || p.ends_with('/') {
        p.to_string()
    } else {
        format!("{p}/")
    }
}

/// The collection's `common_path`.
pub fn common_path(paths: &[String]) -> String {
    let dirs: Vec<String> = paths.iter().map(|p| with_slash(dirname(p))).collect();
    let first = dirs.first().cloned().unwrap_or_default();
    let mut n = first.len();
    for d in &dirs[1..] {
        n = first
            .bytes()
            .zip(d.bytes())
            .take(n)
            .take_while(|(a, b)| a == b)
            .count();
    }
    let mut cut = n;
    while !first.is_char_boundary(cut) {
        cut -= 1;
    }
    with_slash(dirname(&first[..cut]))
}

fn strip_prefix<'a>(prefix: &str, s: &'a str) -> &'a str {
    s.strip_prefix(prefix).unwrap_or(s)
}

/// The collection's `is_archive` on the destination's name.
fn is_archive(dest: &str) -> bool {
    let base = dest.rsplit('/').next().unwrap_or("").to_lowercase();
    [
        ".tar", ".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".zip",
    ]
    .iter()
    .any(|s| base.ends_with(s))
}

impl Plan {
    pub fn new(
        args: &Args,
        given: &[String],
        probe: Probe,
    ) -> Result<Result<Plan, ModuleResult>, ModuleError> {
        let format = args.str("format").unwrap_or_else(|| "gz".into());
        let exclusion: Vec<String> = args.str_list("exclusion_patterns")?.unwrap_or_default();
        let expanded: Vec<String> = probe.expanded.iter().map(|(p, _)| p.clone()).collect();
        let mut sorted: Vec<&(String, Source)> = probe
            .expanded
            .iter()
            .filter(|(p, _)| !probe.excludes.contains(p))
            .collect();
        sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        sorted.dedup_by(|a, b| a.0 == b.0);
        if sorted.is_empty() {
            return Ok(Err(ModuleResult::failed(
                "Error, no source paths were found",
            )
            .with("path", given.join(", "))
            .with("expanded_paths", expanded.join(", "))
            .with("expanded_exclude_paths", probe.excludes.join(", "))));
        }
        let paths: Vec<String> = sorted.iter().map(|(p, _)| p.clone()).collect();
        let root = common_path(&paths);
        let has_globs = given.iter().any(|p| super::globby(p));
        let is_dir = |s: &Source| matches!(s, Source::Dir(_));
        let must_archive = args.bool_or("force_archive", false)?
            || has_globs
            || is_dir(&sorted[0].1)
            || paths.len() > 1;
        let dest = match args.str("dest") {
            Some(d) => d,
            None if !must_archive => format!("{}.{format}", paths[0]),
            None => {
                return Ok(Err(ModuleResult::failed(
                    "Error, must specify \"dest\" when archiving multiple files or trees",
                )
                .with("dest", Value::Null)
                .with("path", given.join(", "))));
            }
        };
        let remove = args.bool_or("remove", false)?;
        if remove
            && sorted
                .iter()
                .any(|(p, s)| is_dir(s) && dest.starts_with(&with_slash(p)))
        {
            return Ok(Err(ModuleResult::failed(
                "Error, created archive can not be contained in source paths when remove=true",
            )
            .with("path", paths.join(", "))));
        }
        let mut targets = Vec::new();
        let mut not_found = Vec::new();
        let mut entries = Vec::new();
        let tar = format != "zip";
        let add = |path: &str, entries: &mut Vec<Member>| {
            let name = strip_prefix(&root, path).to_string();
            // tarfile filters on the member name (no leading `/`), zipfile on the path.
            let excluded = if tar {
                exclusion
                    .iter()
                    .any(|p| fnmatch(name.trim_start_matches('/'), p))
            } else {
                exclusion.iter().any(|p| fnmatch(path, p))
            };
            if !excluded {
                entries.push(Member {
                    path: path.to_string(),
                    name,
                });
            }
        };
        for (p, s) in &sorted {
            match s {
                Source::Missing => not_found.push(p.clone()),
                _ => targets.push(p.clone()),
            }
        }
        if must_archive {
            for (p, s) in &sorted {
                match s {
                    Source::Missing => {}
                    Source::File => add(p, &mut entries),
                    Source::Dir(t) => walk(t, p, &mut |x| add(x, &mut entries)),
                }
            }
        } else if !targets.is_empty() && (format == "zip" || format == "tar") {
            add(&paths[0], &mut entries);
        }
        Ok(Ok(Plan {
            format,
            dest,
            root,
            must_archive,
            act: !targets.is_empty(),
            remove,
            entries,
            targets,
            not_found,
            expanded,
            expanded_excludes: probe.excludes,
            sorted_paths: sorted.iter().map(|(p, s)| (p.clone(), is_dir(s))).collect(),
            check: false,
        }))
    }

    /// Whether only one file is compressed (no archive).
    fn compress_only(&self) -> bool {
        !(self.must_archive || self.format == "zip" || self.format == "tar")
    }

    /// The shell that writes the archive; names of the members are on stdin. The archive is
    /// built in a private directory beside `dest` and renamed over it, so a failed or
    /// interrupted write never leaves a truncated archive where the old one was (the
    /// collection writes in place); a new file gets the mode the umask gives, a replaced one
    /// keeps its mode and owner, as an in-place write would.
    pub fn create_cmd(&self) -> String {
        let write = self.write_cmd();
        format!(
            "__td=$(mktemp -d \"$(dirname -- \"$d\")/.strata-archive.XXXXXX\") || \
             {{ printf '__strata_err=Unable to write to %s: cannot create a temporary directory beside it\\n' \"$d\"; exit 0; }}\n\
             case $__td in /*) ;; *) __td=$PWD/$__td;; esac\n\
             trap 'rm -rf -- \"$__td\"' EXIT\n\
             __t=$__td/archive\n\
             {write}\
             if [ -e \"$d\" ]; then chmod --reference=\"$d\" -- \"$__t\" && chown --reference=\"$d\" -- \"$__t\" 2>/dev/null; \
             else chmod \"$(printf '%o' $((0666 & ~$(umask))))\" -- \"$__t\"; fi\n\
             mv -f -- \"$__t\" \"$d\" || {{ printf '__strata_err=Unable to write to %s\\n' \"$d\"; exit 0; }}\n\
             rm -rf -- \"$__td\"\n"
        )
    }

    /// The commands that write the archive to `$__t`.
    fn write_cmd(&self) -> String {
        if self.compress_only() {
            let tool = match &self.format[..] {
                "bz2" => "bzip2",
                "xz" => "xz",
                _ => "gzip",
            };
            return format!(
                "if ! __e=$({tool} -c < {src} 2>&1 > \"$__t\"); then printf '__strata_err=Unable to write to compressed file: %s\\n' \"$__e\"; exit 0; fi\n",
                src = sh_quote(&self.targets[0])
            );
        }
        let kind = if self.format == "zip" || self.format == "tar" {
            self.format.clone()
        } else {
            format!("tar.{}", self.format)
        };
        let fail = format!(
            "{{ printf '__strata_err=Error when writing {kind} archive at %s: %s\\n' \"$d\" \"$(printf '%s' \"$__e\" | tr '\\n' ' ')\"; exit 0; }}"
        );
        let root = sh_quote(if self.root.is_empty() {
            "."
        } else {
            &self.root
        });
        if self.format == "zip" {
            // zip names a file without a suffix NAME.zip.
            format!(
                "__e=$(cd {root} && zip -q -X -@ \"$__t.zip\" 2>&1) || {fail}\nmv -f -- \"$__t.zip\" \"$__t\"\n"
            )
        } else {
            let z = match &self.format[..] {
                "gz" => "z",
                "bz2" => "j",
                "xz" => "J",
                _ => "",
            };
            format!(
                "__e=$(tar --null --verbatim-files-from --no-recursion -C {root} -c{z}f \"$__t\" -T - 2>&1) || {fail}\n"
            )
        }
    }

    /// What `remove` deletes: the archived members, then the source directories.
    pub fn removals(&self) -> Vec<String> {
        let mut v: Vec<String> = if self.compress_only() {
            self.targets.clone()
        } else {
            self.entries.iter().map(|e| e.path.clone()).collect()
        };
        v.extend(
            self.sorted_paths
                .iter()
                .filter(|(_, d)| *d)
                .map(|(p, _)| p.clone()),
        );
        v
    }

    pub fn in_check_mode(mut self, check: bool) -> Self {
        self.check = check;
        self
    }

    /// The collection's result, from what the action script reported.
    pub fn result(&self, k: &HashMap<String, String>) -> ModuleResult {
        let existed = k.contains_key("existed");
        let exists_now = k.contains_key("st");
        let mut changed = false;
        let mut state = "absent";
        let mut archived: Vec<Value> = Vec::new();
        if !self.act {
            if exists_now {
                state = if is_archive(&self.dest) {
                    "archive"
                } else {
                    "compress"
                };
            }
        } else if self.check {
            changed = self.must_archive || !existed;
        } else {
            changed = differs(k.get("before"), k.get("after"));
            state = if self.compress_only() {
                "compress"
            } else if self.must_archive && !self.not_found.is_empty() {
                "incomplete"
            } else {
                "archive"
            };
            archived = if self.compress_only() {
                vec![self.targets[0].clone().into()]
            } else {
                self.entries.iter().map(|e| e.path.clone().into()).collect()
            };
        }
        if k.contains_key("rmerr") {
            let files: Vec<Value> = k
                .get("rmerr")
                .into_iter()
                .map(|s| s.clone().into())
                .collect();
            return ModuleResult::failed("Error deleting some source files: ")
                .with("dest", self.dest.clone())
                .with("files", Value::Array(files));
        }
        changed |= k.contains_key("attrs");
        let list = |v: &[String]| Value::Array(v.iter().map(|s| s.clone().into()).collect());
        let mut r = ModuleResult::changed(changed)
            .with("archived", Value::Array(archived))
            .with("dest", self.dest.clone())
            .with("dest_state", state)
            .with("arcroot", self.root.clone())
            .with("missing", list(&self.not_found))
            .with("expanded_paths", list(&self.expanded))
            .with("expanded_exclude_paths", list(&self.expanded_excludes));
        if let Some(info) = path_info(k) {
            r.data.extend(info);
        }
        r
    }
}

/// `changed` as the collection computes it: member signatures when the archive existed and
/// was readable before, else its size.
fn differs(before: Option<&String>, after: Option<&String>) -> bool {
    let words = |s: Option<&String>| -> Vec<String> {
        s.map(|s| s.split_whitespace().map(String::from).collect())
            .unwrap_or_default()
    };
    let (b, a) = (words(before), words(after));
    if b.first().map(String::as_str) == Some("none") || b.is_empty() {
        return b.last() != a.last();
    }
    b[..b.len() - 1] != a[..a.len().saturating_sub(1)]
}

/// `os.walk(top)` as the collection adds members: each directory's subdirectories, then its
/// files, then the walk below each subdirectory (not into links).
fn walk(t: &Tree, dir: &str, add: &mut impl FnMut(&str)) {
    let (files, dirs) = t.split(dir);
    for &i in dirs.iter().chain(files.iter()) {
        add(&t.entries[i].path);
    }
    for &i in &dirs {
        let e = &t.entries[i];
        if e.stat.kind != crate::modules::toolkit::remote_stat::FileKind::Link {
            walk(t, &e.path, add);
        }
    }
}
