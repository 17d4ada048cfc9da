//! A host's copy-on-write root: overlayfs with the base machine's `/` as the lower layer. The
//! host's own files (sshd config, authorized key, hostname, an empty shell profile) are written
//! straight into the upper directory before mounting, so they shadow the base machine's.
//! All mounts happen inside the host's private mount namespace and vanish with its processes;
//! the controller's mount table never sees them.

use std::net::Ipv4Addr;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use super::LabError;
use super::state::{HostKind, HostState};
use crate::shell::sh_quote;

/// Creates the host's directories (kept across stop/start: the upper layer is the host's disk).
pub fn create_dirs(h: &HostState) -> Result<(), LabError> {
    for d in [&h.upper, &h.work, &h.root] {
        std::fs::create_dir_all(d)
            .map_err(|e| LabError::io("cannot create host directory", d, e))?;
    }
    Ok(())
}

pub fn remove_dirs(h: &HostState) -> Result<(), LabError> {
    match std::fs::remove_dir_all(&h.dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(LabError::io("cannot remove host directory", &h.dir, e))
        }
        _ => Ok(()),
    }
}

/// Files every lab host gets, whatever runs as its PID 1.
pub fn write_common_files(
    h: &HostState,
    authorized_key: &str,
    sshd_config: &str,
    peers: &[(String, Ipv4Addr)],
) -> Result<(), LabError> {
    let u = &h.upper;
    // The base machine's profile may be slow (pyenv init costs ~200 ms per session) and is not
    // what a fresh server has: a plain root home.
    write_file(u, "root/.bashrc", "", 0o644)?;
    write_file(u, "root/.profile", "", 0o644)?;
    write_file(u, "root/.ssh/authorized_keys", authorized_key, 0o600)?;
    write_file(u, "etc/ssh/sshd_config", sshd_config, 0o644)?;
    write_file(u, "etc/hostname", &format!("{}\n", h.name), 0o644)?;
    write_file(u, "etc/hosts", &hosts_file(peers), 0o644)?;
    // A machine id of its own, as every installed server has (journald and dbus key off it).
    if !u.join("etc/machine-id").exists() {
        write_file(
            u,
            "etc/machine-id",
            &format!("{:032x}\n", rand::random::<u128>()),
            0o444,
        )?;
    }
    Ok(())
}

/// `/etc/hosts` naming every host of the lab.
fn hosts_file(peers: &[(String, Ipv4Addr)]) -> String {
    let mut hosts =
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for (name, addr) in peers {
        hosts.push_str(&format!("{addr}\t{name}\n"));
    }
    hosts
}

/// Rewrites a running host's `/etc/hosts` when hosts join the lab. The file lives in the upper
/// layer (written before the first boot), and it is rewritten in place, keeping its inode:
/// the mounted overlay keeps serving the inode it looked up, so a replaced file would stay
/// invisible to the host.
pub fn update_hosts_file(h: &HostState, peers: &[(String, Ipv4Addr)]) -> Result<(), LabError> {
    let path = h.upper.join("etc/hosts");
    std::fs::write(&path, hosts_file(peers))
        .map_err(|e| LabError::io("cannot update the host's /etc/hosts", &path, e))
}

/// Writes `upper/rel`, creating parent directories with the base machine's owner and mode so
/// the merged view keeps e.g. `/root` at 0700 (sshd's StrictModes checks it).
pub fn write_file(upper: &Path, rel: &str, content: &str, mode: u32) -> Result<(), LabError> {
    let path = upper.join(rel);
    if let Some(parent) = Path::new(rel).parent() {
        mkdir_like_base(upper, parent)?;
    }
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, content).map_err(|e| LabError::io("cannot write host file", &path, e))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| LabError::io("cannot chmod host file", &path, e))
}

/// `upper/rel -> target`, replacing whatever was there (used to mask systemd units).
pub fn write_symlink(upper: &Path, rel: &str, target: &str) -> Result<(), LabError> {
    let path = upper.join(rel);
    if let Some(parent) = Path::new(rel).parent() {
        mkdir_like_base(upper, parent)?;
    }
    let _ = std::fs::remove_file(&path);
    symlink(target, &path).map_err(|e| LabError::io("cannot create symlink", &path, e))
}

/// Hides the base machine's `rel` from the host with an overlayfs whiteout (a 0:0 character
/// device in the upper layer), as if the host never had it.
pub fn hide(upper: &Path, rel: &str) -> Result<(), LabError> {
    if !Path::new("/").join(rel).exists() {
        return Ok(());
    }
    let path = upper.join(rel);
    if let Some(parent) = Path::new(rel).parent() {
        mkdir_like_base(upper, parent)?;
    }
    let _ = std::fs::remove_file(&path);
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| LabError::io("bad path", &path, std::io::ErrorKind::InvalidInput.into()))?;
    // SAFETY: `c` is a valid NUL-terminated path; mknod does not retain it.
    if unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR, 0) } != 0 {
        return Err(LabError::io(
            "cannot create whiteout",
            &path,
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Whether package installs may start daemons, decided per host kind rather than inherited
/// from whatever the base machine happens to have: a systemd host behaves like a real server
/// (installing haproxy starts it), a plain host has no init system to run services, so it
/// declines like a container image does.
pub fn write_service_policy(upper: &Path, systemd: bool) -> Result<(), LabError> {
    const POLICY: &str = "usr/sbin/policy-rc.d";
    if systemd {
        hide(upper, POLICY)
    } else {
        write_file(
            upper,
            POLICY,
            "#!/bin/sh\n# strata lab: a plain host has no init system; do not start services.\nexit 101\n",
            0o755,
        )
    }
}

fn mkdir_like_base(upper: &Path, rel: &Path) -> Result<(), LabError> {
    let mut cur = upper.to_path_buf();
    let mut base = Path::new("/").to_path_buf();
    for comp in rel.components() {
        cur.push(comp);
        base.push(comp);
        if cur.is_dir() {
            continue;
        }
        std::fs::create_dir(&cur)
            .map_err(|e| LabError::io("cannot create host directory", &cur, e))?;
        let (mode, uid, gid) = match std::fs::metadata(&base) {
            Ok(m) => {
                use std::os::unix::fs::MetadataExt;
                (m.mode() & 0o7777, m.uid(), m.gid())
            }
            Err(_) => (0o755, 0, 0),
        };
        std::os::unix::fs::chown(&cur, Some(uid), Some(gid))
            .map_err(|e| LabError::io("cannot chown", &cur, e))?;
        std::fs::set_permissions(&cur, std::fs::Permissions::from_mode(mode))
            .map_err(|e| LabError::io("cannot chmod", &cur, e))?;
    }
    Ok(())
}

/// Shell lines, run inside the host's fresh namespaces, that build its root at `h.root`.
pub fn mount_script(h: &HostState) -> String {
    let q = |p: &Path| sh_quote(&p.to_string_lossy());
    let root = q(&h.root);
    let overlay = sh_quote(&format!(
        "lowerdir=/,upperdir={},workdir={}",
        h.upper.to_string_lossy(),
        h.work.to_string_lossy()
    ));
    // Both get the sysfs of the host's network namespace that `ip netns exec` mounted, with no
    // cgroup filesystem below it: systemd mounts the hierarchies there itself, from inside its
    // cgroup namespace, so they show its own cgroups only (see `cgroup.rs`).
    let sys = match h.kind {
        HostKind::Systemd => format!("mount --rbind /sys {root}/sys"),
        HostKind::Sshd => format!("mount -t sysfs sysfs {root}/sys"),
    };
    format!(
        "set -e\n\
         hostname {name}\n\
         mount -t overlay strata-lab -o {overlay} {root}\n\
         mount --rbind /dev {root}/dev\n\
         mount -t proc proc {root}/proc\n\
         {sys}\n\
         mount -t tmpfs -o mode=1777 tmpfs {root}/tmp\n\
         mount -t tmpfs -o mode=755 tmpfs {root}/run\n",
        name = sh_quote(&h.name),
    )
}
