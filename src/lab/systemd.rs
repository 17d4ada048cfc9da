//! Hosts with systemd as PID 1, for playbooks that manage services. The host inherits the base
//! machine's enabled units through the overlay; those a fresh server would not run (gettys on
//! the real consoles, the base's databases, timers that trim the real disk or set the real
//! clock) are masked in the host's upper layer so `systemctl is-system-running` says `running`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::LabError;
use super::rootfs::{write_file, write_symlink};
use super::state::HostState;
use crate::shell::sh_quote;

/// Units masked whether or not the base machine enables them.
const ALWAYS_MASKED: &[&str] = &[
    "getty.target",
    "getty@.service",
    "serial-getty@.service",
    "console-getty.service",
    "container-getty@.service",
    "autovt@.service",
    "systemd-timesyncd.service",
    "systemd-pstore.service",
    "systemd-networkd.service",
    "systemd-networkd-wait-online.service",
    "networking.service",
    "NetworkManager.service",
    "fstrim.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "man-db.timer",
    "dpkg-db-backup.timer",
    "ssh.socket",
    // utmp bookkeeping at runlevel changes; under load it times out and marks the host
    // degraded, and nothing on a lab host reads utmp.
    "systemd-update-utmp-runlevel.service",
];

/// Enabled units of the base machine that a fresh server has too.
const KEPT: &[&str] = &[
    "ssh.service",
    "sshd.service",
    "cron.service",
    "rsyslog.service",
    "dbus.service",
];

/// Masks every unit the base machine enabled (`/etc/systemd/system/*.wants`) except [`KEPT`]
/// ones and systemd's own, plus [`ALWAYS_MASKED`]; enables ssh.service, which reads the lab's
/// sshd_config from the upper layer.
pub fn write_units(upper: &Path) -> Result<(), LabError> {
    let mut masked: Vec<String> = ALWAYS_MASKED.iter().map(|s| s.to_string()).collect();
    if let Ok(dirs) = std::fs::read_dir("/etc/systemd/system") {
        for dir in dirs.flatten() {
            if !dir.file_name().to_string_lossy().ends_with(".wants") {
                continue;
            }
            for unit in std::fs::read_dir(dir.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = unit.file_name().to_string_lossy().into_owned();
                let kind_ok = [".service", ".timer", ".socket", ".path"]
                    .iter()
                    .any(|s| name.ends_with(s));
                let kept = KEPT.contains(&name.as_str()) || name.starts_with("systemd-");
                if kind_ok && !kept && !masked.contains(&name) {
                    masked.push(template_of(&name));
                }
            }
        }
    }
    for unit in &masked {
        write_symlink(upper, &format!("etc/systemd/system/{unit}"), "/dev/null")?;
    }
    write_symlink(
        upper,
        "etc/systemd/system/multi-user.target.wants/ssh.service",
        "/lib/systemd/system/ssh.service",
    )?;
    // ssh.service starts sshd with $SSHD_OPTS from here; the base machine's could point elsewhere.
    write_file(upper, "etc/default/ssh", "SSHD_OPTS=\n", 0o644)
}

/// `getty@tty1.service` -> `getty@.service`: masking the template masks every instance.
fn template_of(unit: &str) -> String {
    match (unit.find('@'), unit.rfind('.')) {
        (Some(at), Some(dot)) if at < dot => format!("{}{}", &unit[..=at], &unit[dot..]),
        _ => unit.to_string(),
    }
}

/// The end of a systemd host's init script. The cgroup namespace is unshared here, by PID 1
/// itself once it has joined the host's cgroups, so that it is rooted there (see `cgroup`).
pub fn init_command(h: &HostState) -> String {
    let root = sh_quote(&h.root.to_string_lossy());
    format!(
        "exec unshare --cgroup chroot {root} /lib/systemd/systemd --system --show-status=false\n"
    )
}

/// What `fs.inotify.max_user_instances` is raised to, if it is lower, before systemd hosts
/// boot: the value kind and Docker tell their users to set, for the same reason.
const INOTIFY_INSTANCES: u64 = 8192;
const INOTIFY_INSTANCES_PATH: &str = "/proc/sys/fs/inotify/max_user_instances";

/// The kernel counts inotify instances per user, machine-wide: every lab host's systemd, logind
/// and the rest are root's. A systemd host holds about six, so the default limit of 128 runs
/// out near twenty hosts of all labs together, and the next one's systemd logs "Failed to
/// create inotify object: Too many open files" and never leaves `initializing` (no sshd; the
/// boot times out). Best effort: where `/proc/sys` is read-only, fewer hosts fit, and a boot
/// that times out shows that line in its journal (see [`journal_tail`]).
pub fn raise_inotify_limit() {
    let current = std::fs::read_to_string(INOTIFY_INSTANCES_PATH)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    if current.is_some_and(|n| n < INOTIFY_INSTANCES) {
        let _ = std::fs::write(INOTIFY_INSTANCES_PATH, INOTIFY_INSTANCES.to_string());
    }
}

/// The last warnings of the host's journal, for an error about a boot that did not finish:
/// systemd prints nothing to the console log (`--show-status=false`), so this is where the
/// reason is. Bounded by `timeout`, since the host may be wedged.
pub fn journal_tail(init_pid: u32) -> String {
    Command::new("timeout")
        .args(["10", "nsenter"])
        .args(nsenter_args(init_pid))
        .args("journalctl -b -p warning -n 15 --no-pager -q".split(' '))
        .stdin(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// `nsenter` options entering every namespace and the root of the host whose PID 1 is
/// `init_pid`.
fn nsenter_args(init_pid: u32) -> Vec<String> {
    let mut args = vec!["-t".to_string(), init_pid.to_string()];
    args.extend(["-m", "-u", "-n", "-p", "-C", "-r", "-w"].map(String::from));
    args
}

/// Waits until the host's systemd reports `running`. `degraded` is an error naming the failed
/// units, since tests rely on a clean start. Boot units that time out on a loaded machine
/// (several hosts booting while compilers run) get one more start before that verdict.
pub fn wait_running(h: &HostState, init_pid: u32, timeout: Duration) -> Result<(), LabError> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    let mut retried = false;
    loop {
        let state = systemctl(init_pid, &["is-system-running"]);
        last = state.clone().unwrap_or(last);
        match state.as_deref() {
            Some("running") => return Ok(()),
            Some("degraded") | Some("maintenance") => {
                let failed = systemctl(
                    init_pid,
                    &["--failed", "--plain", "--no-legend", "--no-pager"],
                )
                .unwrap_or_default();
                if !retried {
                    retried = true;
                    let units: Vec<&str> = failed
                        .lines()
                        .filter_map(|l| l.split_whitespace().next())
                        .collect();
                    let _ = systemctl(init_pid, &["reset-failed"]);
                    let mut args = vec!["restart"];
                    args.extend(units);
                    let _ = systemctl(init_pid, &args);
                    continue;
                }
                return Err(LabError::SystemdDegraded {
                    host: h.name.clone(),
                    state: last,
                    failed,
                });
            }
            _ => {}
        }
        if Instant::now() > deadline {
            return Err(LabError::HostTimeout {
                host: h.name.clone(),
                addr: h.addr.to_string(),
                what: "reach `systemctl is-system-running` = running",
                secs: timeout.as_secs(),
                log_tail: format!("last state: {last}\n{}", journal_tail(init_pid)),
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs systemctl inside the host (all its namespaces and its root), returning trimmed stdout
/// even when systemctl exits non-zero (is-system-running does for every state but running).
/// `None` while systemctl cannot run or reach systemd yet.
fn systemctl(init_pid: u32, args: &[&str]) -> Option<String> {
    let out = Command::new("nsenter")
        .args(nsenter_args(init_pid))
        .arg("systemctl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::template_of;

    #[test]
    fn instances_are_masked_through_their_template() {
        assert_eq!(template_of("getty@tty1.service"), "getty@.service");
        assert_eq!(
            template_of("postgresql@15-main.service"),
            "postgresql@.service"
        );
        assert_eq!(template_of("postgresql.service"), "postgresql.service");
    }
}
