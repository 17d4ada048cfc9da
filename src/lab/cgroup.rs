//! A cgroup of its own for each systemd host.
//!
//! `unshare --cgroup` roots the host's cgroup namespace at whatever cgroup the launcher is in,
//! and the `/sys` the host gets shows the controller's whole hierarchies. Left like that, every
//! systemd host manages the same `system.slice/<unit>` directories: stopping `cron` on one host
//! kills cron on all of them, and two hosts starting a unit of the same name race (`219/CGROUP`).
//! So the launcher joins a fresh cgroup per host in every hierarchy (below the one it is in, so
//! the controller's own limits still apply). The host's `/sys` comes from `ip netns exec`, with no
//! cgroup mounts, so systemd mounts the hierarchies itself inside the namespace, rooted there.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::LabError;

/// One mounted cgroup hierarchy of the controller.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Hierarchy {
    /// Where the controller has it mounted, e.g. `/sys/fs/cgroup/memory`.
    mount: PathBuf,
    /// `cgroup` (v1) or `cgroup2`.
    fstype: String,
    /// The superblock options, e.g. `rw,memory` or `rw,name=systemd`: what names a v1 hierarchy.
    opts: String,
}

impl Hierarchy {
    fn controllers(&self) -> Vec<&str> {
        self.opts
            .split(',')
            .filter(|o| !matches!(*o, "rw" | "ro" | "xattr") && !o.starts_with("release_agent"))
            .collect()
    }
}

/// The cgroup hierarchies mounted under `/sys/fs/cgroup`, from `/proc/self/mountinfo` text.
fn parse_mountinfo(text: &str) -> Vec<Hierarchy> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mount = left.split(' ').nth(4)?;
            let mut r = right.split(' ');
            let fstype = r.next()?;
            let opts = r.nth(1)?;
            let under = mount == "/sys/fs/cgroup" || mount.starts_with("/sys/fs/cgroup/");
            (under && matches!(fstype, "cgroup" | "cgroup2")).then(|| Hierarchy {
                mount: PathBuf::from(mount),
                fstype: fstype.to_string(),
                opts: opts.to_string(),
            })
        })
        .collect()
}

/// The launcher's cgroup path in `h`, from `/proc/self/cgroup` text (`id:controllers:path`).
fn current_path<'a>(h: &Hierarchy, proc_cgroup: &'a str) -> Option<&'a str> {
    let want = h.controllers();
    proc_cgroup.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (id, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let hit = if h.fstype == "cgroup2" {
            id == "0" && ctrls.is_empty()
        } else {
            !ctrls.is_empty() && ctrls.split(',').all(|c| want.contains(&c))
        };
        hit.then_some(path)
    })
}

fn hierarchies() -> Vec<Hierarchy> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mountinfo(&t))
        .unwrap_or_default()
}

/// Creates the host's cgroup in every hierarchy and returns their directories, for
/// [`join_before_exec`] and [`remove`]. cpuset is left out: a new cpuset cgroup cannot take
/// processes until its CPUs and memory nodes are set, and systemd does not use it.
pub fn prepare(netns: &str) -> Result<Vec<PathBuf>, LabError> {
    let proc_cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    // A fresh name per boot: a host that reuses a namespace name never inherits cgroups (or
    // stragglers) of an earlier host.
    let name = format!("{netns}-{:08x}", rand::random::<u32>());
    let mut dirs = Vec::new();
    for h in hierarchies() {
        if h.controllers().contains(&"cpuset") {
            continue;
        }
        let Some(current) = current_path(&h, &proc_cgroup) else {
            continue;
        };
        let dir = h
            .mount
            .join(current.trim_start_matches('/'))
            .join("strata-lab")
            .join(&name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| LabError::io("cannot create the host's cgroup", &dir, e))?;
        dirs.push(dir);
    }
    Ok(dirs)
}

/// `cgroup.procs` paths to write `0` (this process) into, prepared before `fork`.
pub fn procs_files(dirs: &[PathBuf]) -> Vec<CString> {
    dirs.iter()
        .filter_map(|d| CString::new(d.join("cgroup.procs").to_string_lossy().as_bytes()).ok())
        .collect()
}

/// Moves the calling process into the host's cgroups. Runs between `fork` and `exec`, so it
/// only makes raw system calls; a hierarchy that refuses is left as it was.
pub fn join_before_exec(files: &[CString]) {
    for f in files {
        // SAFETY: open/write/close on a NUL-terminated path are async-signal-safe.
        unsafe {
            let fd = libc::open(f.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
            }
        }
    }
}

/// Every process in the host's cgroups: the host's own, including those outside its network
/// namespace (services with `PrivateNetwork=yes`, such as systemd-hostnamed).
fn member_pids(dirs: &[PathBuf]) -> Vec<i32> {
    fn walk(dir: &Path, out: &mut Vec<i32>) {
        if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
            out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&e.path(), out);
                }
            }
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        walk(d, &mut out);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Ends what is left of the host's processes, then removes its cgroups: children first
/// (systemd made them), retrying briefly while killed processes exit.
pub fn remove(dirs: &[PathBuf]) -> Result<(), LabError> {
    for pid in member_pids(dirs) {
        // SAFETY: plain kill(2) of a process that is in this host's own cgroup.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    fn post_order(dir: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    post_order(&e.path(), out);
                }
            }
        }
        out.push(dir.to_path_buf());
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    for top in dirs {
        let mut order = Vec::new();
        post_order(top, &mut order);
        for d in order {
            loop {
                match std::fs::remove_dir(&d) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(_) if Instant::now() < deadline => {
                        for pid in member_pids(std::slice::from_ref(&d)) {
                            // SAFETY: as above; a process that joined the cgroup since.
                            unsafe {
                                libc::kill(pid, libc::SIGKILL);
                            }
                        }
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    Err(e) => return Err(LabError::io("cannot remove the host's cgroup", &d, e)),
                }
            }
        }
        // The shared parent goes when the last host of any lab does.
        if let Some(parent) = top.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
        32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n\
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n\
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
        22 1 0:20 / /proc rw - proc proc rw\n";

    #[test]
    fn hierarchies_and_current_paths() {
        let hs = parse_mountinfo(HYBRID);
        assert_eq!(hs.len(), 4);
        assert_eq!(hs[0].controllers(), ["memory"]);
        assert_eq!(hs[2].controllers(), ["name=systemd"]);
        let proc = "4:memory:/sandbox/x\n1:cpu,cpuacct:/\n9:name=systemd:/\n0::/init.scope\n";
        assert_eq!(current_path(&hs[0], proc), Some("/sandbox/x"));
        assert_eq!(current_path(&hs[1], proc), Some("/"));
        assert_eq!(current_path(&hs[2], proc), Some("/"));
        assert_eq!(current_path(&hs[3], proc), Some("/init.scope"));
        let v2 = parse_mountinfo(
            "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
        );
        assert_eq!(
            current_path(&v2[0], "0::/user.slice\n"),
            Some("/user.slice")
        );
    }
}
