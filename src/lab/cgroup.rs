//! A cgroup subtree of its own for each systemd host.
//!
//! `unshare --cgroup` roots a host's cgroup namespace at the cgroup its init is in. Left in the
//! controller's cgroup, every systemd host manages the same `system.slice/<unit>` directories:
//! `systemctl status` on one host counts the same unit's processes on the others, a stop kills
//! them on every host (and logs "Failed to kill control group ... Input/output error", since
//! another host's PIDs read as 0 from inside), and two hosts starting a unit of the same name
//! race for its directory (219/CGROUP).
//!
//! So each boot gets fresh directories, `<controller's cgroup>/strata-lab/<netns>-<random>` in
//! each hierarchy (fresh, so that no boot meets what an earlier one left), and the host's PID 1
//! moves itself there just before it unshares its cgroup namespace ([`join_script`]). The
//! `unshare` process that waits outside stays where it was: the namespace root then holds the
//! host's own processes only, so its systemd can move all of them into `init.scope`, and on a
//! cgroup2-only machine enable controllers below it (cgroup2 allows no process beside them).
//!
//! Hierarchies whose controller shares a resource out by weight (cpu, blkio/io) or refuses
//! processes until it is configured (cpuset) are left alone. Joined, cpu put every lab host of
//! every lab in one group that the scheduler weighs like a single process of the controller:
//! under a loaded test suite the hosts got a fraction of the CPU, and playbooks on them ran
//! markedly slower.

use std::fs::File;
use std::io::Write;
use std::os::unix::io::RawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::LabError;

/// The directory below the controller's own cgroup that holds every host's cgroup.
const PARENT: &str = "strata-lab";

/// v1 controllers, and cgroup2 controllers, that a host must not be grouped under: the
/// scheduler would weigh all lab hosts together like one process (cpu, blkio, io), or a new
/// cgroup takes no process until its CPUs and memory nodes are set (cpuset).
const LEFT_ALONE: &[&str] = &["cpu", "cpuset", "blkio", "io"];

/// Where the hosts' cgroups go in each hierarchy the controller can reach: the controller's own
/// cgroup there, joined with [`PARENT`]. From `/proc/self/mountinfo` and `/proc/self/cgroup`
/// text; a hierarchy the controller's cgroup is not visible in (mounted from a subtree that does
/// not hold it) is skipped, and so is one that carries a [`LEFT_ALONE`] controller.
fn parents(mountinfo: &str, proc_cgroup: &str) -> Vec<PathBuf> {
    let mounts: Vec<Mount> = mountinfo.lines().filter_map(Mount::parse).collect();
    let mut out = Vec::new();
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let v2 = id == "0" && ctrls.is_empty();
        let ctrls: Vec<&str> = ctrls.split(',').filter(|c| !c.is_empty()).collect();
        if !v2 && (ctrls.is_empty() || ctrls.iter().any(|c| LEFT_ALONE.contains(c))) {
            continue;
        }
        let found = mounts.iter().find_map(|m| {
            let same = if v2 {
                m.fstype == "cgroup2"
            } else {
                m.fstype == "cgroup" && ctrls.iter().all(|c| m.opts.split(',').any(|o| o == *c))
            };
            let rel = Path::new(path).strip_prefix(&m.root).ok()?;
            same.then(|| m.point.join(rel).join(PARENT))
        });
        out.extend(found);
    }
    out
}

/// A cgroup filesystem mount, from one `/proc/self/mountinfo` line.
struct Mount {
    /// The cgroup the mount shows as its top, relative to our cgroup namespace.
    root: PathBuf,
    point: PathBuf,
    fstype: String,
    /// The superblock options, e.g. `rw,memory` or `rw,xattr,name=systemd`: what names a v1
    /// hierarchy.
    opts: String,
}

impl Mount {
    fn parse(line: &str) -> Option<Mount> {
        let (left, right) = line.split_once(" - ")?;
        let mut l = left.split(' ');
        let root = l.nth(3)?;
        let point = l.next()?;
        let mut r = right.split(' ');
        let fstype = r.next()?;
        let opts = r.nth(1)?;
        matches!(fstype, "cgroup" | "cgroup2").then(|| Mount {
            root: PathBuf::from(root),
            point: PathBuf::from(point),
            fstype: fstype.to_string(),
            opts: opts.to_string(),
        })
    }
}

/// Creates a fresh cgroup for one boot of the host in every hierarchy [`parents`] names, and
/// returns their directories (recorded in the lab's state, for [`remove`]).
pub fn prepare(netns: &str) -> Result<Vec<PathBuf>, LabError> {
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| LabError::io("cannot read", p, e));
    let name = format!("{netns}-{:08x}", rand::random::<u32>());
    let mut dirs = Vec::new();
    for parent in parents(&read("/proc/self/mountinfo")?, &read("/proc/self/cgroup")?) {
        let dir = parent.join(&name);
        create(&parent, &dir)?;
        dirs.push(dir);
    }
    Ok(dirs)
}

/// Creates `parent` and `dir` below it. Another lab's teardown removes `parent` once it is
/// empty, which can happen between the two steps; then they are simply made again.
fn create(parent: &Path, dir: &Path) -> Result<(), LabError> {
    let mut attempts = 0;
    loop {
        std::fs::create_dir_all(parent)
            .map_err(|e| LabError::io("cannot create the lab's cgroup", parent, e))?;
        enable_controllers(parent);
        match std::fs::create_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempts < 10 => attempts += 1,
            Err(e) => return Err(LabError::io("cannot create the host's cgroup", dir, e)),
        }
    }
}

/// On cgroup2, hands the hosts whatever controllers the controller's cgroup makes available to
/// `parent` (a host's systemd counts a unit's tasks with pids, its memory with memory), except
/// [`LEFT_ALONE`] ones. Best effort: without them, hosts are isolated all the same.
fn enable_controllers(parent: &Path) {
    let Ok(available) = std::fs::read_to_string(parent.join("cgroup.controllers")) else {
        return;
    };
    let wanted: Vec<String> = available
        .split_whitespace()
        .filter(|c| !LEFT_ALONE.contains(c))
        .map(|c| format!("+{c}"))
        .collect();
    if !wanted.is_empty() {
        let _ = std::fs::write(parent.join("cgroup.subtree_control"), wanted.join(" "));
    }
}

/// The host's cgroup directories, opened so that its init can join them from inside its own
/// mount namespace, where the controller's cgroup filesystems are not mounted.
pub fn open(dirs: &[PathBuf]) -> Result<Vec<File>, LabError> {
    dirs.iter()
        .map(|d| File::open(d).map_err(|e| LabError::io("cannot open the host's cgroup", d, e)))
        .collect()
}

/// Shell lines for the host's PID 1, before it unshares its cgroup namespace: move itself into
/// each cgroup passed as an open directory (`fds`, inherited from the launcher). Under `set -e`
/// a refusal ends the host's start with the shell's message in its log, rather than letting
/// it share the controller's cgroup.
pub fn join_script(fds: &[RawFd]) -> String {
    if fds.is_empty() {
        return String::new();
    }
    let list: Vec<String> = fds.iter().map(|fd| fd.to_string()).collect();
    format!(
        "for fd in {}; do echo 0 > /proc/self/fd/$fd/cgroup.procs; done\n",
        list.join(" ")
    )
}

/// Every process in `dir` and below, as the controller's PID namespace numbers them.
fn member_pids(dir: &Path, out: &mut Vec<i32>) {
    if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    for sub in subdirs(dir) {
        member_pids(&sub, out);
    }
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// SIGKILLs whatever is left in the host's cgroups: processes the network namespace's kill
/// missed (a service with a network namespace of its own, something entered with `nsenter`).
/// cgroup2's `cgroup.kill` takes the whole subtree at once, forks included; the listing covers
/// v1 hierarchies and kernels without it.
fn kill_members(dirs: &[PathBuf]) {
    for d in dirs {
        if let Ok(mut kill) = std::fs::OpenOptions::new()
            .write(true)
            .open(d.join("cgroup.kill"))
        {
            let _ = kill.write_all(b"1");
        }
        let mut pids = Vec::new();
        member_pids(d, &mut pids);
        for pid in pids.into_iter().filter(|&p| p > 0) {
            // SAFETY: plain kill(2) of a process listed in this host's own cgroup.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// Ends what is left in the host's cgroups, then removes them, innermost first (the host's
/// systemd made the ones below), retrying while killed processes exit. The shared
/// [`PARENT`] goes when it is empty, that is with the last host of any lab.
pub fn remove(dirs: &[PathBuf]) -> Result<(), LabError> {
    fn post_order(dir: &Path, out: &mut Vec<PathBuf>) {
        for sub in subdirs(dir) {
            post_order(&sub, out);
        }
        out.push(dir.to_path_buf());
    }
    kill_members(dirs);
    let deadline = Instant::now() + Duration::from_secs(10);
    for top in dirs {
        let mut order = Vec::new();
        post_order(top, &mut order);
        for d in order {
            loop {
                match std::fs::remove_dir(&d) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(_) if Instant::now() < deadline => {
                        kill_members(std::slice::from_ref(&d));
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(e) => return Err(LabError::io("cannot remove the host's cgroup", &d, e)),
                }
            }
        }
        if let Some(parent) = top.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine kind: cgroup v1 controllers, systemd's named hierarchy and an empty cgroup2
    /// beside them, the controller in a memory cgroup of its own.
    const HYBRID: &str = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n\
        34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n\
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
        38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n\
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n\
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n\
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
        22 1 0:20 / /proc rw - proc proc rw\n";
    const HYBRID_PROCS: &str = "9:name=systemd:/\n8:pids:/\n7:blkio:/\n4:memory:/sandbox/x\n\
        3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";

    #[test]
    fn hosts_join_every_hierarchy_but_the_weighted_ones() {
        let got: Vec<String> = parents(HYBRID, HYBRID_PROCS)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            got,
            [
                "/sys/fs/cgroup/systemd/strata-lab",
                "/sys/fs/cgroup/pids/strata-lab",
                "/sys/fs/cgroup/memory/sandbox/x/strata-lab",
                "/sys/fs/cgroup/cpuacct/strata-lab",
                "/sys/fs/cgroup/unified/strata-lab",
            ]
        );
    }

    #[test]
    fn comounted_cpu_is_left_alone_and_mount_roots_are_stripped() {
        let info = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
            35 31 0:32 /lab /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
            36 31 0:33 /elsewhere /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
        let procs = "2:cpu,cpuacct:/\n4:memory:/lab/x\n5:pids:/lab/x\n";
        assert_eq!(
            parents(info, procs),
            [PathBuf::from("/sys/fs/cgroup/memory/x/strata-lab")]
        );
    }

    #[test]
    fn cgroup2_only() {
        let info =
            "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";
        assert_eq!(
            parents(info, "0::/user.slice/session-1.scope\n"),
            [PathBuf::from(
                "/sys/fs/cgroup/user.slice/session-1.scope/strata-lab"
            )]
        );
    }

    #[test]
    fn the_init_joins_through_its_inherited_descriptors() {
        assert_eq!(join_script(&[]), "");
        assert_eq!(
            join_script(&[5, 12]),
            "for fd in 5 12; do echo 0 > /proc/self/fd/$fd/cgroup.procs; done\n"
        );
    }
}
