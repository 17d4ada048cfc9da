//! `systemd`/`service`/`sysvinit`, `hostname`, `sysctl` and `mount` on real lab hosts: state
//! checked over plain ssh, second runs not changed, check mode changing nothing, failures
//! failing with a clear message. sysctl only touches network-namespaced keys, which are the
//! lab host's own; kernel.* and vm.* keys would change the machine running the tests.

mod common;

use std::time::{Duration, Instant};

use common::Lab;
use common::playbook::{Run, fixture};

/// Runs a fixture with `-e` pairs (and extra flags such as `--check`).
fn play(lab: &Lab, name: &str, vars: &[&str], flags: &[&str]) -> Run {
    vars.iter()
        .fold(
            lab.playbook_file(&fixture("svc").join(name)).args(flags),
            |run, v| run.extra_var(v),
        )
        .run()
}

/// Every host ended with `changed` changes and no failure.
fn assert_changed(r: &Run, lab: &Lab, changed: u64) {
    assert_eq!(r.code, 0, "{}", r.dump());
    for h in &lab.hosts {
        let c = r.host(&h.name);
        assert_eq!(
            (c.failed, c.changed),
            (0, changed),
            "{}: {}",
            h.name,
            r.dump()
        );
    }
}

fn first_msg(r: &Run, host: &str, task: &str) -> String {
    r.results(host, task)
        .first()
        .map(|v| v["msg"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| panic!("no result for {task}: {}", r.dump()))
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(45), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn systemd_units_states_masking_failures_and_service_on_systemd() {
    let lab = Lab::up("svc-sd", 2, true);
    let h = lab.hosts[0].name.clone();
    let ssh = |cmd: &str| lab.ssh(&h, cmd);

    let first = play(&lab, "units.yml", &[], &[]);
    assert_eq!(first.code, 0, "{}", first.dump());
    // Three unit files and the start.
    assert_eq!(first.host(&h).changed, 4, "{}", first.dump());
    let start = first.results(&h, "start echo")[0]["result"].clone();
    assert_eq!(start["state"], "started", "{start}");
    assert_eq!(start["enabled"], true);
    assert_eq!(start["name"], "strata-echo");
    assert!(start["status"]["LoadState"].is_string(), "{start}");
    for host in &lab.hosts {
        assert_eq!(
            lab.ssh_ok(&host.name, "systemctl is-active strata-echo"),
            "active"
        );
        assert_eq!(
            lab.ssh_ok(&host.name, "systemctl is-enabled strata-echo"),
            "enabled"
        );
        // Type=simple: `systemctl start` returns once forked, maybe before the exec.
        wait_until("the echo loop runs", || {
            lab.ssh(&host.name, "pgrep -f 'strata-echo-[l]oop'").0 == 0
        });
    }
    assert_changed(&play(&lab, "units.yml", &[], &[]), &lab, 0);

    // Check mode reports the stop and leaves the service running.
    assert_changed(
        &play(&lab, "systemd.yml", &["st=stopped"], &["--check"]),
        &lab,
        1,
    );
    assert_eq!(ssh("systemctl is-active strata-echo").1.trim(), "active");

    assert_changed(&play(&lab, "systemd.yml", &["st=stopped"], &[]), &lab, 1);
    assert_eq!(ssh("systemctl is-active strata-echo").1.trim(), "inactive");
    assert_ne!(ssh("pgrep -f 'strata-echo-[l]oop'").0, 0);
    assert_changed(&play(&lab, "systemd.yml", &["st=stopped"], &[]), &lab, 0);

    assert_changed(&play(&lab, "systemd.yml", &["st=started"], &[]), &lab, 1);
    let pid = |()| lab.ssh_ok(&h, "systemctl show -p MainPID --value strata-echo");
    let before = pid(());
    assert_changed(&play(&lab, "systemd.yml", &["st=restarted"], &[]), &lab, 1);
    assert_ne!(pid(()), before, "restart must start a new main process");
    assert_ne!(pid(()), "0");

    assert_changed(&play(&lab, "systemd.yml", &["st=reloaded"], &[]), &lab, 1);
    wait_until("the HUP handler ran", || {
        ssh("grep -c hup /var/lib/strata-echo.reloads").0 == 0
    });

    // Masking (the idle unit lives outside /etc, where a mask symlink can go).
    assert_changed(
        &play(&lab, "systemd.yml", &["unit=strata-idle", "mask=yes"], &[]),
        &lab,
        1,
    );
    assert_eq!(ssh("systemctl is-enabled strata-idle").1.trim(), "masked");
    assert_changed(
        &play(&lab, "systemd.yml", &["unit=strata-idle", "mask=yes"], &[]),
        &lab,
        0,
    );
    let unmask = play(
        &lab,
        "systemd.yml",
        &["unit=strata-idle", "mask=no", "en=yes", "st=started"],
        &[],
    );
    assert_changed(&unmask, &lab, 1);
    assert_eq!(ssh("systemctl is-enabled strata-idle").1.trim(), "enabled");
    assert_eq!(ssh("systemctl is-active strata-idle").1.trim(), "active");

    // A unit whose start fails: Ansible's message plus status and journal.
    let bad = play(&lab, "systemd.yml", &["unit=strata-bad", "st=started"], &[]);
    assert_ne!(bad.code, 0);
    assert_eq!(bad.host(&h).failed, 1, "{}", bad.dump());
    let msg = first_msg(&bad, &h, "systemd task");
    assert!(
        msg.starts_with("Unable to start service strata-bad: "),
        "{msg}"
    );
    assert!(
        msg.contains("--- status ---") && msg.contains("strata-bad.service"),
        "{msg}"
    );
    assert!(
        msg.contains("--- journal ---") && msg.contains("strata-bad-is-failing-now"),
        "{msg}"
    );

    let nosuch = play(
        &lab,
        "systemd.yml",
        &["unit=strata-nosuch", "st=started"],
        &[],
    );
    assert_eq!(
        first_msg(&nosuch, &h, "systemd task"),
        "Could not find the requested service strata-nosuch: host"
    );

    // `service` picks systemd on these hosts.
    assert_changed(
        &play(&lab, "service.yml", &["st=stopped", "en=no"], &[]),
        &lab,
        1,
    );
    assert_eq!(ssh("systemctl is-active strata-echo").1.trim(), "inactive");
    assert_eq!(ssh("systemctl is-enabled strata-echo").1.trim(), "disabled");
    assert_changed(
        &play(&lab, "service.yml", &["st=stopped", "en=no"], &[]),
        &lab,
        0,
    );
    assert_changed(&play(&lab, "service.yml", &["st=started"], &[]), &lab, 1);
    wait_until("the echo loop runs again", || {
        ssh("pgrep -f 'strata-echo-[l]oop'").0 == 0
    });

    // hostname through hostnamectl.
    let hn = play(&lab, "hostname.yml", &[], &[]);
    assert_changed(&hn, &lab, 2);
    for host in &lab.hosts {
        let want = format!("web-{}.example.test", host.name);
        assert_eq!(lab.ssh_ok(&host.name, "hostname"), want);
        assert_eq!(lab.ssh_ok(&host.name, "cat /etc/hostname"), want);
        assert_eq!(lab.ssh_ok(&host.name, "hostnamectl --static"), want);
    }
    assert_changed(&play(&lab, "hostname.yml", &[], &[]), &lab, 0);
    let check = play(&lab, "hostname.yml", &["prefix=app"], &["--check"]);
    assert_changed(&check, &lab, 2);
    assert_eq!(lab.ssh_ok(&h, "hostname"), format!("web-{h}.example.test"));
    let long = play(
        &lab,
        "hostname.yml",
        &[&format!("prefix={}", "x".repeat(70))],
        &[],
    );
    assert!(
        first_msg(&long, &h, "hostname task").contains("cannot be longer than 64 characters"),
        "{}",
        long.dump()
    );
}

#[test]
fn sysvinit_service_and_file_hostname_on_plain_hosts() {
    let lab = Lab::up("svc-sv", 1, false);
    let h = lab.hosts[0].name.clone();
    let running = || lab.ssh(&h, "pgrep -f 'strata-sysv-[l]oop'").0 == 0;
    assert_changed(&play(&lab, "sysv.yml", &[], &[]), &lab, 1);
    // Plain lab hosts have /sbin/init -> systemd, so Ansible (and strata) detect systemd
    // there; `use: sysvinit` reaches the init scripts.
    let auto = play(
        &lab,
        "service.yml",
        &["svc=strata-daemon", "st=started"],
        &[],
    );
    assert_eq!(
        first_msg(&auto, &h, "service task"),
        "Service is in unknown state",
        "{}",
        auto.dump()
    );
    let vars = ["use=sysvinit", "svc=strata-daemon", "st=started", "en=yes"];

    assert_changed(&play(&lab, "service.yml", &vars, &["--check"]), &lab, 1);
    assert!(!running());
    assert_ne!(lab.ssh(&h, "ls /etc/rc2.d/S??strata-daemon").0, 0);

    let first = play(&lab, "service.yml", &vars, &[]);
    assert_changed(&first, &lab, 1);
    let res = first.results(&h, "service task")[0]["result"].clone();
    assert_eq!(res["status"]["enabled"]["changed"], true, "{res}");
    assert_eq!(res["status"]["started"]["changed"], true, "{res}");
    assert!(running());
    lab.ssh_ok(&h, "ls /etc/rc2.d/S??strata-daemon");
    assert_changed(&play(&lab, "service.yml", &vars, &[]), &lab, 0);
    // The same, judged by `ps` with a pattern.
    let by_ps = [
        "use=sysvinit",
        "svc=strata-daemon",
        "st=started",
        "pattern=strata-sysv-loop",
    ];
    assert_changed(&play(&lab, "service.yml", &by_ps, &[]), &lab, 0);

    assert_changed(
        &play(
            &lab,
            "service.yml",
            &["use=sysvinit", "svc=strata-daemon", "st=stopped", "en=no"],
            &[],
        ),
        &lab,
        1,
    );
    assert!(!running());
    assert_ne!(lab.ssh(&h, "ls /etc/rc2.d/S??strata-daemon").0, 0);
    assert_changed(
        &play(
            &lab,
            "service.yml",
            &["use=sysvinit", "svc=strata-daemon", "st=stopped"],
            &[],
        ),
        &lab,
        0,
    );
    assert_changed(
        &play(
            &lab,
            "service.yml",
            &["use=sysvinit", "svc=strata-daemon", "st=restarted"],
            &[],
        ),
        &lab,
        1,
    );
    assert!(running());

    let missing = play(
        &lab,
        "service.yml",
        &["use=sysvinit", "svc=strata-nosuch", "st=started"],
        &[],
    );
    assert_eq!(
        first_msg(&missing, &h, "service task"),
        "Could not find the requested service strata-nosuch: "
    );

    // Without systemd the name goes to /etc/hostname and the kernel.
    assert_changed(&play(&lab, "hostname.yml", &["prefix=db"], &[]), &lab, 2);
    assert_eq!(lab.ssh_ok(&h, "hostname"), format!("db-{h}.example.test"));
    assert_eq!(
        lab.ssh_ok(&h, "cat /etc/hostname"),
        format!("db-{h}.example.test")
    );
    assert_changed(&play(&lab, "hostname.yml", &["prefix=db"], &[]), &lab, 0);
}

#[test]
fn sysctl_and_mount_in_the_hosts_own_namespaces() {
    let lab = Lab::up("svc-sys", 2, false);
    let h = lab.hosts[0].name.clone();
    let conf = "/etc/sysctl.d/90-strata.conf";
    let controller_fwd = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();

    let fwd = ["key=net.ipv4.ip_forward", "val=1"];
    assert_changed(&play(&lab, "sysctl.yml", &fwd, &[]), &lab, 1);
    for host in &lab.hosts {
        assert_eq!(lab.ssh_ok(&host.name, "sysctl -n net.ipv4.ip_forward"), "1");
        assert_eq!(
            lab.ssh_ok(&host.name, &format!("cat {conf}")),
            "net.ipv4.ip_forward=1"
        );
    }
    assert_changed(&play(&lab, "sysctl.yml", &fwd, &[]), &lab, 0);
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        controller_fwd,
        "the controller's own value must not move"
    );

    let before = lab.ssh_ok(&h, "sysctl -n net.core.somaxconn");
    assert_changed(
        &play(
            &lab,
            "sysctl.yml",
            &["key=net.core.somaxconn", "val=1234"],
            &["--check"],
        ),
        &lab,
        1,
    );
    assert_eq!(lab.ssh_ok(&h, "sysctl -n net.core.somaxconn"), before);
    assert!(!lab.ssh_ok(&h, &format!("cat {conf}")).contains("somaxconn"));

    // The kernel answers with a tab; the comparison is by fields.
    let range = [r#"{"key": "net.ipv4.ip_local_port_range", "val": "20000 40000"}"#];
    assert_changed(&play(&lab, "sysctl.yml", &range, &[]), &lab, 1);
    assert_eq!(
        lab.ssh_ok(&h, "sysctl -n net.ipv4.ip_local_port_range"),
        "20000\t40000"
    );
    assert_changed(&play(&lab, "sysctl.yml", &range, &[]), &lab, 0);

    let set = [
        "key=net.ipv4.conf.all.forwarding",
        "val=1",
        "set=yes",
        "reload=no",
        "file=/etc/sysctl.d/91-strata.conf",
    ];
    assert_changed(&play(&lab, "sysctl.yml", &set, &[]), &lab, 1);
    assert_eq!(
        lab.ssh_ok(&h, "sysctl -n net.ipv4.conf.all.forwarding"),
        "1"
    );
    assert_changed(&play(&lab, "sysctl.yml", &set, &[]), &lab, 0);

    assert_changed(
        &play(
            &lab,
            "sysctl.yml",
            &["key=net.ipv4.ip_forward", "st=absent"],
            &[],
        ),
        &lab,
        1,
    );
    assert!(
        !lab.ssh_ok(&h, &format!("cat {conf}"))
            .contains("ip_forward")
    );

    let bad = play(
        &lab,
        "sysctl.yml",
        &[
            "key=net.ipv4.strata_nosuch",
            "val=1",
            "file=/etc/sysctl.d/92-strata.conf",
        ],
        &[],
    );
    let msg = first_msg(&bad, &h, "sysctl task");
    assert!(
        msg.starts_with("Failed to reload sysctl: ") && msg.contains("strata_nosuch"),
        "{msg}"
    );

    // tmpfs: mounted, idempotent, remounted on an option change, unmounted, absent.
    let t = [
        "path=/mnt/strata-t",
        "src=tmpfs",
        "fstype=tmpfs",
        "opts=size=2m",
        "st=mounted",
    ];
    assert_changed(&play(&lab, "mount.yml", &t, &["--check"]), &lab, 1);
    assert_ne!(lab.ssh(&h, "test -e /mnt/strata-t").0, 0);
    assert!(!lab.ssh_ok(&h, "cat /etc/fstab").contains("strata-t"));
    assert_changed(&play(&lab, "mount.yml", &t, &[]), &lab, 1);
    for host in &lab.hosts {
        assert_eq!(
            lab.ssh_ok(&host.name, "findmnt -n -o FSTYPE,OPTIONS /mnt/strata-t"),
            "tmpfs  rw,relatime,size=2048k"
        );
        assert!(
            lab.ssh_ok(&host.name, "cat /etc/fstab")
                .ends_with("tmpfs /mnt/strata-t tmpfs size=2m 0 0")
        );
    }
    assert_changed(&play(&lab, "mount.yml", &t, &[]), &lab, 0);
    let t4 = [
        "path=/mnt/strata-t",
        "src=tmpfs",
        "fstype=tmpfs",
        "opts=size=4m",
        "st=mounted",
    ];
    assert_changed(&play(&lab, "mount.yml", &t4, &[]), &lab, 1);
    assert!(
        lab.ssh_ok(&h, "findmnt -n -o OPTIONS /mnt/strata-t")
            .contains("size=4096k")
    );
    assert_changed(
        &play(
            &lab,
            "mount.yml",
            &["path=/mnt/strata-t", "st=unmounted"],
            &[],
        ),
        &lab,
        1,
    );
    assert_ne!(lab.ssh(&h, "findmnt /mnt/strata-t").0, 0);
    assert_changed(
        &play(
            &lab,
            "mount.yml",
            &["path=/mnt/strata-t", "st=unmounted"],
            &[],
        ),
        &lab,
        0,
    );
    assert!(lab.ssh_ok(&h, "cat /etc/fstab").contains("strata-t"));
    assert_changed(
        &play(&lab, "mount.yml", &["path=/mnt/strata-t", "st=absent"], &[]),
        &lab,
        1,
    );
    assert!(!lab.ssh_ok(&h, "cat /etc/fstab").contains("strata-t"));
    assert_ne!(lab.ssh(&h, "test -e /mnt/strata-t").0, 0);

    // A bind mount, in an alternative fstab with a backup.
    for host in &lab.hosts {
        lab.ssh_ok(&host.name, "mkdir -p /srv/strata-src && echo bound > /srv/strata-src/f && echo '# strata' > /etc/strata.fstab");
    }
    let b = [
        "path=/mnt/strata-b",
        "src=/srv/strata-src",
        "fstype=none",
        "opts=bind",
        "st=mounted",
        "fstab=/etc/strata.fstab",
        "backup=yes",
    ];
    let bind = play(&lab, "mount.yml", &b, &[]);
    assert_changed(&bind, &lab, 1);
    assert_eq!(lab.ssh_ok(&h, "cat /mnt/strata-b/f"), "bound");
    assert_eq!(
        lab.ssh_ok(&h, "findmnt -n -o FSROOT /mnt/strata-b"),
        "/srv/strata-src"
    );
    assert_eq!(
        lab.ssh_ok(&h, "cat /etc/strata.fstab"),
        "# strata\n/srv/strata-src /mnt/strata-b none bind 0 0"
    );
    let backup = bind.results(&h, "mount task")[0]["result"]["backup_file"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(lab.ssh_ok(&h, &format!("cat '{backup}'")), "# strata");
    assert_changed(&play(&lab, "mount.yml", &b, &[]), &lab, 0);
    assert_changed(
        &play(
            &lab,
            "mount.yml",
            &[
                "path=/mnt/strata-b",
                "st=remounted",
                "fstab=/etc/strata.fstab",
            ],
            &[],
        ),
        &lab,
        1,
    );

    // Failures: mount's own message; fstab and the created directories are put back.
    let fstab_before = lab.ssh_raw(&h, "cat /etc/fstab");
    let nosrc = play(
        &lab,
        "mount.yml",
        &[
            "path=/mnt/strata-f/deep",
            "src=/strata-nonexistent",
            "fstype=none",
            "opts=bind",
            "st=mounted",
        ],
        &[],
    );
    let msg = first_msg(&nosrc, &h, "mount task");
    assert!(
        msg.starts_with("Error mounting /mnt/strata-f/deep: mount: "),
        "{msg}"
    );
    assert!(msg.contains("/strata-nonexistent"), "{msg}");
    assert_eq!(lab.ssh_raw(&h, "cat /etc/fstab"), fstab_before);
    assert_ne!(lab.ssh(&h, "test -e /mnt/strata-f").0, 0);
    let nofs = play(
        &lab,
        "mount.yml",
        &[
            "path=/mnt/strata-g",
            "src=none",
            "fstype=strata-nofs",
            "st=mounted",
        ],
        &[],
    );
    let msg = first_msg(&nofs, &h, "mount task");
    assert!(
        msg.contains("unknown filesystem type 'strata-nofs'"),
        "{msg}"
    );
    assert_eq!(lab.ssh_raw(&h, "cat /etc/fstab"), fstab_before);
}
