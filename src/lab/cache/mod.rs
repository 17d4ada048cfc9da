//! `strata lab cache`: the package caches lab hosts install from, since they have no route
//! out. Built on the controller (which reaches Debian's mirrors and PyPI) under
//! `/var/cache/strata/` and served read-only to the hosts by `strata lab serve`:
//!
//! - `apt/`: a flat apt repository (`Packages`, `Packages.gz`, debs) of [`APT_PACKAGES`] and
//!   the dependencies this machine lacks (a lab host is an overlay of this machine);
//! - `python/wheels/` and `python/wheelhouse.tar`: every wheel the Plone project, ZEO and
//!   buildout need, resolved with Debian's `/usr/bin/python3` (the hosts' Python);
//! - `apps/plone-project.tar.gz`: the app source, `stacks/apps/plone-project/`;
//! - `tools/`: the venv (of `/usr/bin/python3`, with a recent pip) that downloads the wheels.
//!
//! Each of those four directories is a *part*, built in a temporary directory beside it and
//! swapped into place in one rename, with a `.strata-key` file naming the inputs it was built
//! from (a hash of the package list, or of the requirements and constraints). A part whose key
//! matches is reused; a changed input rebuilds that part only. A lock per part makes a
//! concurrent builder (parallel test processes) wait and then reuse the first one's result.

mod parts;

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use sha2::{Digest, Sha256};

/// Debian packages the Plone stack installs on lab hosts.
pub const APT_PACKAGES: &[&str] = &["nginx", "varnish", "haproxy", "rsync", "socat"];

/// Bump when a part's build changes in a way its inputs do not show, so old caches rebuild.
const LAYOUT_VERSION: &str = "strata-lab-cache-1";

/// The file in each part naming the inputs it was built from.
const KEY_FILE: &str = ".strata-key";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheOptions {
    /// The cache root, served as the document root by `strata lab serve`.
    pub dir: PathBuf,
    /// The Plone project (requirements.txt, constraints.txt, ...), relative to the checkout.
    pub project: PathBuf,
}

impl CacheOptions {
    pub const DEFAULT_DIR: &'static str = "/var/cache/strata";
    /// Relative to the working directory, a checkout's root, as the stack files are.
    pub const DEFAULT_PROJECT: &'static str = "stacks/apps/plone-project";
}

impl Default for CacheOptions {
    fn default() -> CacheOptions {
        CacheOptions {
            dir: Self::DEFAULT_DIR.into(),
            project: Self::DEFAULT_PROJECT.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(
        "building the lab cache: `{command}` failed ({status}); it needs `apt-get update`, \
         dpkg-dev, python3-venv and access to Debian's mirrors and PyPI. Its stderr ends with:\n{stderr}"
    )]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("building the lab cache: {context}: {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the Plone project {0} is missing or has no requirements.txt and constraints.txt: run \
         strata from the root of its checkout"
    )]
    MissingProject(PathBuf),
}

pub(crate) fn io(
    context: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> CacheError {
    let path = path.into();
    move |source| CacheError::Io {
        context,
        path,
        source,
    }
}

/// What [`build`] did with one part.
#[derive(Clone, Debug, PartialEq)]
pub struct PartReport {
    pub name: &'static str,
    /// Reused as it was (its key matched).
    pub reused: bool,
    pub secs: f64,
}

/// Builds every part that is missing or stale, reusing the others; `progress` gets one line
/// per step.
pub fn build(
    opts: &CacheOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<PartReport>, CacheError> {
    let project = &opts.project;
    for f in ["requirements.txt", "constraints.txt"] {
        if !project.join(f).is_file() {
            return Err(CacheError::MissingProject(project.clone()));
        }
    }
    std::fs::create_dir_all(&opts.dir).map_err(io("cannot create the cache", &opts.dir))?;
    let root = opts
        .dir
        .canonicalize()
        .map_err(io("cannot resolve", &opts.dir))?;
    let project = project
        .canonicalize()
        .map_err(io("cannot resolve", project))?;
    let mut reports = Vec::new();
    let parts: [(&'static str, String); 4] = [
        ("apt", parts::apt_key()),
        ("tools", parts::tools_key()),
        ("python", parts::python_key(&project)?),
        ("apps", parts::apps_key(&project)?),
    ];
    for (name, key) in parts {
        let start = Instant::now();
        let reused = ensure(&root, name, &key, progress, |tmp, progress| match name {
            "apt" => parts::build_apt(tmp, progress),
            "tools" => parts::build_tools(tmp, progress),
            "python" => parts::build_python(tmp, &root.join("tools"), &project, progress),
            _ => parts::build_apps(tmp, &project, progress),
        })?;
        let secs = start.elapsed().as_secs_f64();
        progress(&if reused {
            format!("cache {name}: up to date ({})", root.join(name).display())
        } else {
            format!("cache {name}: built in {secs:.1}s")
        });
        reports.push(PartReport { name, reused, secs });
    }
    Ok(reports)
}

/// The parts [`build`] makes, for callers that want a cold cache (`strata bench --case demo`).
pub const PARTS: &[&str] = &["apt", "tools", "python", "apps"];

/// Removes every part, so the next [`build`] downloads everything again.
pub fn clear(dir: &Path) -> Result<(), CacheError> {
    for name in PARTS {
        let p = dir.join(name);
        match std::fs::remove_dir_all(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io("cannot remove a cache part", p)(e));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Reuses `root/name` when its key is `key`; otherwise builds it in a temporary directory and
/// swaps it in. Returns whether it was reused.
fn ensure(
    root: &Path,
    name: &str,
    key: &str,
    progress: &mut dyn FnMut(&str),
    build: impl FnOnce(&Path, &mut dyn FnMut(&str)) -> Result<(), CacheError>,
) -> Result<bool, CacheError> {
    let dest = root.join(name);
    if read_key(&dest).as_deref() == Some(key) {
        return Ok(true);
    }
    let _lock = lock(&root.join(format!(".{name}.lock")))?;
    // Another process may have built it while this one waited for the lock.
    if read_key(&dest).as_deref() == Some(key) {
        return Ok(true);
    }
    let tmp = root.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(io("cannot create", &tmp))?;
    let built = build(&tmp, progress).and_then(|()| {
        let key_path = tmp.join(KEY_FILE);
        std::fs::write(&key_path, format!("{key}\n")).map_err(io("cannot write", key_path))
    });
    if let Err(e) = built {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    swap_into_place(&tmp, &dest)?;
    Ok(false)
}

fn read_key(part: &Path) -> Option<String> {
    std::fs::read_to_string(part.join(KEY_FILE))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Moves the finished `tmp` to `dest` in one step: a plain rename when `dest` is absent, an
/// atomic exchange when it exists (a reader never finds the part missing), then removes the
/// old copy, now at `tmp`.
fn swap_into_place(tmp: &Path, dest: &Path) -> Result<(), CacheError> {
    if !dest.exists() {
        return std::fs::rename(tmp, dest).map_err(io("cannot move the part into place", dest));
    }
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("no NUL");
    let (from, to) = (c(tmp), c(dest));
    // SAFETY: both are valid NUL-terminated paths; renameat2 does not retain them.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc != 0 {
        return Err(io("cannot swap the part into place", dest)(
            std::io::Error::last_os_error(),
        ));
    }
    std::fs::remove_dir_all(tmp).map_err(io("cannot remove the old part", tmp))
}

/// An exclusive lock held until the returned file is dropped.
fn lock(path: &Path) -> Result<File, CacheError> {
    let file = File::options()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io("cannot open the cache lock", path))?;
    // SAFETY: flock on a descriptor we own; released when the file is closed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io("cannot lock", path)(std::io::Error::last_os_error()));
    }
    Ok(file)
}

/// A short hex digest of `parts`, each length-prefixed so that ("ab","c") and ("a","bc")
/// differ.
fn digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    h.update(LAYOUT_VERSION.as_bytes());
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs `program args` in `cwd`, with stdout captured and returned; on failure the error names
/// the command and the end of its stderr. `progress` gets the command line first.
fn run(
    cwd: &Path,
    program: &str,
    args: &[&str],
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<u8>, CacheError> {
    let line = describe(program, args);
    progress(&format!("  $ {line}"));
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PYTHONNOUSERSITE", "1")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| CacheError::Command {
            command: line.clone(),
            status: "could not start".into(),
            stderr: e.to_string(),
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        return Err(CacheError::Command {
            command: line,
            status: out.status.to_string(),
            stderr: lines[lines.len().saturating_sub(30)..].join("\n"),
        });
    }
    Ok(out.stdout)
}

fn describe(program: &str, args: &[&str]) -> String {
    let mut s = String::from(program);
    for a in args {
        s.push(' ');
        s.push_str(&crate::shell::sh_quote(a));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = crate::scratch::root().join(format!("strata-cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_part_is_reused_while_its_key_matches_and_rebuilt_in_place_when_it_changes() {
        let root = scratch("ensure");
        let mut progress = |_: &str| {};
        let make = |content: &'static str| {
            move |tmp: &Path, _: &mut dyn FnMut(&str)| {
                std::fs::write(tmp.join("f"), content).map_err(io("w", tmp))
            }
        };
        assert!(!ensure(&root, "p", "k1", &mut progress, make("one")).unwrap());
        assert!(ensure(&root, "p", "k1", &mut progress, make("unused")).unwrap());
        assert_eq!(std::fs::read_to_string(root.join("p/f")).unwrap(), "one");
        assert!(!ensure(&root, "p", "k2", &mut progress, make("two")).unwrap());
        assert_eq!(std::fs::read_to_string(root.join("p/f")).unwrap(), "two");
        assert_eq!(read_key(&root.join("p")).as_deref(), Some("k2"));
        // Nothing is left beside the part but its lock.
        let mut names: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".p.lock", "p"]);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_failed_build_leaves_the_previous_part_alone() {
        let root = scratch("fail");
        let mut progress = |_: &str| {};
        ensure(&root, "p", "k1", &mut progress, |tmp, _| {
            std::fs::write(tmp.join("f"), "ok").map_err(io("w", tmp))
        })
        .unwrap();
        let err = ensure(&root, "p", "k2", &mut progress, |tmp, p| {
            run(tmp, "sh", &["-c", "echo boom >&2; exit 3"], p).map(drop)
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`sh -c 'echo boom >&2; exit 3'` failed") && msg.contains("boom"),
            "{msg}"
        );
        assert_eq!(std::fs::read_to_string(root.join("p/f")).unwrap(), "ok");
        assert_eq!(read_key(&root.join("p")).as_deref(), Some("k1"));
        assert!(!root.join(format!(".p.tmp-{}", std::process::id())).exists());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn digests_tell_inputs_apart() {
        assert_ne!(digest(&[b"ab", b"c"]), digest(&[b"a", b"bc"]));
        assert_eq!(digest(&[b"x"]), digest(&[b"x"]));
        assert_eq!(digest(&[b"x"]).len(), 24);
    }
}
