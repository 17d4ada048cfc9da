//! Starting and stopping one host: its namespaces, its root, its init, and the wait until its
//! sshd answers.

use std::fs::File;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::state::{HostKind, HostState};
use super::{LabError, cgroup, network, rootfs, sshd, systemd};

/// Starts the host's init in fresh PID, mount and UTS namespaces inside its network namespace,
/// detached from the caller so the host outlives `strata lab up`. `--kill-child` ties the
/// host's PID 1 to the `unshare` process: killing that one ends the whole host. A systemd host's
/// PID 1 joins its cgroups (`h.cgroups`, passed down as open directories) and unshares its
/// cgroup namespace itself. Returns the `unshare` PID.
pub fn launch(h: &HostState) -> Result<u32, LabError> {
    let log =
        File::create(&h.log).map_err(|e| LabError::io("cannot create host log", &h.log, e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| LabError::io("cannot create host log", &h.log, e))?;
    let cgroups = cgroup::open(&h.cgroups)?;
    let inherited: Vec<RawFd> = cgroups.iter().map(AsRawFd::as_raw_fd).collect();
    let mut script = rootfs::mount_script(h);
    script.push_str(&match h.kind {
        HostKind::Sshd => sshd::init_command(h),
        HostKind::Systemd => cgroup::join_script(&inherited) + &systemd::init_command(h),
    });
    let mut cmd = Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        &h.netns,
        "unshare",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount",
        "--uts",
    ])
    .args(["--propagation", "private"]);
    cmd.args(["sh", "-c", &script])
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    // SAFETY: setsid and fcntl are async-signal-safe. setsid detaches the host from our
    // session and terminal; clearing close-on-exec hands the cgroup directories down.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            for &fd in &inherited {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| LabError::Command {
        command: format!("ip netns exec {} unshare ...", h.netns),
        status: "could not start".into(),
        stderr: e.to_string(),
    })?;
    drop(cgroups);
    let pid = child.id();
    // Reap it whenever it ends, so a long-lived caller (a test binary) collects no zombies.
    std::thread::spawn(move || child.wait());
    Ok(pid)
}

/// The host's PID 1 as seen from the controller: the process in its network namespace whose
/// innermost PID is 1.
pub fn init_pid(h: &HostState) -> Option<u32> {
    network::netns_pids(&h.netns).into_iter().find(|pid| {
        std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .is_some_and(|ids| {
                    ids.split_whitespace().count() > 1 && ids.split_whitespace().last() == Some("1")
                })
        })
    })
}

/// Waits until port 22 accepts a connection and sends the SSH banner: the point where a client
/// can log in. Fails early, with the host's log, if the host died.
pub fn wait_ready(h: &HostState, timeout: Duration) -> Result<(), LabError> {
    let start = Instant::now();
    let addr = SocketAddr::from((h.addr, 22));
    loop {
        if banner(&addr) {
            return Ok(());
        }
        let elapsed = start.elapsed();
        // Give the init a moment to enter the namespace before judging it dead.
        let dead = elapsed > Duration::from_millis(500) && network::netns_pids(&h.netns).is_empty();
        if dead || elapsed > timeout {
            return Err(LabError::HostTimeout {
                host: h.name.clone(),
                addr: h.addr.to_string(),
                what: if dead {
                    "start (its processes exited)"
                } else {
                    "send an SSH banner on port 22"
                },
                secs: timeout.as_secs(),
                log_tail: match (h.kind, init_pid(h)) {
                    (HostKind::Systemd, Some(pid)) => {
                        format!("{}\njournal:\n{}", log_tail(h), systemd::journal_tail(pid))
                    }
                    _ => log_tail(h),
                },
            });
        }
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// True once `addr` sends the `SSH-` identification string.
pub fn banner(addr: &SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(1000)));
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).is_ok() && &buf == b"SSH-"
}

pub fn log_tail(h: &HostState) -> String {
    let text = std::fs::read_to_string(&h.log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    if tail.is_empty() {
        "(empty log)".into()
    } else {
        tail
    }
}

/// Ends the host's processes and removes its network and cgroups; its upper layer stays, like
/// a disk.
pub fn stop(h: &HostState) -> Result<(), LabError> {
    network::delete_host_net(&h.netns, &h.veth)?;
    cgroup::remove(&h.cgroups)
}
