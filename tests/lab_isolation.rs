//! Systemd lab hosts do not share cgroups: a unit of the same name on two hosts is two units.
//! Stopping it on one host kills that host's processes only, `systemctl status` counts each
//! host's own tasks, starts of same-named units do not race, a cron job runs where it was
//! installed, and `lab down` removes the hosts' cgroups.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::Lab;

/// A unit whose service forks: its main process and a child, both in the unit's cgroup; and
/// a cron job on lab01 only, which records where it ran.
const INSTALL: &str = r#"- hosts: all
  tasks:
    - copy:
        dest: /etc/systemd/system/iso.service
        content: |
          [Unit]
          Description=strata lab isolation probe
          [Service]
          ExecStart=/bin/sh -c 'sleep 1000 & exec sleep 1000'
    - systemd: {name: iso, state: started, daemon_reload: true}
    - cron:
        name: iso probe
        cron_file: strata-iso
        user: root
        job: "hostname > /root/iso-cron.tmp; cat /proc/self/cgroup >> /root/iso-cron.tmp; mv /root/iso-cron.tmp /root/iso-cron"
      when: inventory_hostname == 'lab01'
"#;

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out after {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The host's `sleep` processes, as its own PID namespace numbers them.
fn sleeps(lab: &Lab, host: &str) -> Vec<String> {
    let (_, out, _) = lab.ssh(host, "pgrep -x sleep | sort -n");
    out.lines().map(str::to_string).collect()
}

/// Waits until the unit runs both its processes on `host`, and returns their PIDs.
fn running(lab: &Lab, host: &str) -> Vec<String> {
    wait_until(
        &format!("iso.service runs 2 processes on {host}"),
        Duration::from_secs(45),
        || sleeps(lab, host).len() == 2,
    );
    sleeps(lab, host)
}

/// The `Tasks:` line of `systemctl status iso` on `host`.
fn tasks(lab: &Lab, host: &str) -> String {
    let (_, out, _) = lab.ssh(host, "systemctl status --no-pager iso");
    out.lines()
        .map(str::trim)
        .find(|l| l.starts_with("Tasks:"))
        .unwrap_or_else(|| panic!("no Tasks line on {host}: {out}"))
        .to_string()
}

fn main_pid(lab: &Lab, host: &str) -> String {
    lab.ssh_ok(host, "systemctl show -p MainPID --value iso")
}

/// Journal lines of systemd failing on a cgroup it shares with another host.
fn cgroup_complaints(lab: &Lab, host: &str) -> String {
    lab.ssh_ok(
        host,
        "journalctl -b --no-pager -q | grep -E 'Failed to kill control group|219/CGROUP' || true",
    )
}

#[test]
fn same_named_units_on_two_systemd_hosts_stay_apart() {
    let lab = Lab::up("iso-sd", 2, true);
    let hosts = ["lab01", "lab02"];
    lab.playbook(INSTALL).run().expect_clean();

    for h in hosts {
        running(&lab, h);
        assert!(
            tasks(&lab, h).starts_with("Tasks: 2 "),
            "{h}: {}",
            tasks(&lab, h)
        );
    }
    // Seen from the controller: each host's systemd made the unit's cgroup in its own subtree,
    // holding that host's two processes.
    for h in &lab.state.hosts {
        assert!(
            !h.cgroups.is_empty(),
            "{} has no cgroups of its own",
            h.name
        );
        let unit_dirs: Vec<PathBuf> = h
            .cgroups
            .iter()
            .map(|d| d.join("system.slice/iso.service"))
            .filter(|d| d.join("cgroup.procs").exists())
            .collect();
        assert!(!unit_dirs.is_empty(), "{}: no iso.service cgroup", h.name);
        for d in unit_dirs {
            let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap();
            assert_eq!(procs.lines().count(), 2, "{}: {procs}", d.display());
        }
    }

    // A stop on lab01 ends lab01's processes, the child too, and nothing on lab02.
    let (lab02_main, lab02_sleeps) = (main_pid(&lab, "lab02"), sleeps(&lab, "lab02"));
    lab.playbook("- hosts: lab01\n  tasks:\n    - systemd: {name: iso, state: stopped}\n")
        .run()
        .expect_exit(0);
    wait_until("lab01's iso processes end", Duration::from_secs(20), || {
        sleeps(&lab, "lab01").is_empty()
    });
    let (_, state, _) = lab.ssh("lab01", "systemctl is-active iso");
    assert_eq!(state.trim(), "inactive");
    assert_eq!(lab.ssh_ok("lab02", "systemctl is-active iso"), "active");
    assert_eq!(main_pid(&lab, "lab02"), lab02_main);
    assert_eq!(sleeps(&lab, "lab02"), lab02_sleeps);
    assert!(tasks(&lab, "lab02").starts_with("Tasks: 2 "));

    // Restarts of the same unit on both hosts at once, a few times: each host ends with a new
    // pair of processes of its own.
    for round in 0..3 {
        let before: Vec<String> = hosts.iter().map(|h| main_pid(&lab, h)).collect();
        lab.playbook("- hosts: all\n  tasks:\n    - systemd: {name: iso, state: restarted}\n")
            .run()
            .expect_clean();
        for (h, old) in hosts.iter().zip(before) {
            assert_eq!(
                lab.ssh_ok(h, "systemctl is-active iso"),
                "active",
                "round {round}"
            );
            running(&lab, h);
            assert_ne!(
                main_pid(&lab, h),
                old,
                "{h}: round {round} kept its process"
            );
            assert!(tasks(&lab, h).starts_with("Tasks: 2 "), "{h}");
        }
    }
    for h in hosts {
        assert_eq!(cgroup_complaints(&lab, h), "", "{h}");
    }

    // cron runs the job on the host it was installed on, in that host's cron.service.
    wait_until(
        "the cron job ran on lab01",
        Duration::from_secs(150),
        || lab.ssh("lab01", "test -e /root/iso-cron").0 == 0,
    );
    let ran = lab.ssh_ok("lab01", "cat /root/iso-cron");
    assert!(ran.starts_with("lab01\n"), "{ran}");
    assert!(ran.contains("/system.slice/cron.service"), "{ran}");
    let (rc, _, _) = lab.ssh("lab02", "test -e /root/iso-cron");
    assert_eq!(rc, 1, "the job installed on lab01 ran on lab02");

    // Down removes every host's cgroups.
    let dirs: Vec<PathBuf> = lab
        .state
        .hosts
        .iter()
        .flat_map(|h| h.cgroups.clone())
        .collect();
    assert!(dirs.iter().all(|d| d.exists()));
    drop(lab);
    let left: Vec<&PathBuf> = dirs.iter().filter(|d| d.exists()).collect();
    assert!(left.is_empty(), "cgroups left behind: {left:?}");
}
