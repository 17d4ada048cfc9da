//! The lab itself: real OpenSSH hosts with their own names, PID namespaces and copy-on-write
//! roots, reachable with the generated key, and gone without a trace after `down`.
mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::Lab;

fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("sh runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn plain_hosts_are_isolated_and_down_leaves_nothing() {
    let t = Instant::now();
    let lab = Lab::up("smoke-plain", 3, false);
    eprintln!("3 plain hosts up in {:?}", t.elapsed());
    let state = lab.state.clone();

    for h in &lab.hosts {
        assert_eq!(lab.ssh_ok(&h.name, "hostname"), h.name);
        // Own PID namespace: PID 1 is the host's init, and only a handful of processes exist.
        let ps = lab.ssh_ok(&h.name, "ps -e -o pid=,comm=");
        let lines: Vec<&str> = ps.lines().collect();
        assert!(lines.len() <= 8, "too many processes in {}: {ps}", h.name);
        assert!(
            lines.iter().any(|l| l.trim().starts_with("1 ")),
            "no PID 1 in {}: {ps}",
            h.name
        );
        // A plain root home: no slow profile inherited from the base machine.
        assert_eq!(lab.ssh_ok(&h.name, "wc -c < /root/.bashrc"), "0");
        assert_eq!(
            lab.ssh_ok(&h.name, "ip -4 -o addr show dev eth0 | awk '{print $4}'"),
            format!("{}/24", h.addr)
        );
    }

    // Copy-on-write roots: a file written on one host exists nowhere else.
    let marker = format!("/root/strata-smoke-{}", std::process::id());
    lab.ssh_ok("lab01", &format!("echo written-on-lab01 > {marker}"));
    assert_eq!(
        lab.ssh_ok("lab01", &format!("cat {marker}")),
        "written-on-lab01"
    );
    let (rc, _, _) = lab.ssh("lab02", &format!("test -e {marker}"));
    assert_eq!(rc, 1, "the file written on lab01 is visible on lab02");
    assert!(
        !Path::new(&marker).exists(),
        "the file written on lab01 is visible on the base machine"
    );

    // Hosts reach each other over the bridge.
    let a2 = lab.host("lab02").addr.clone();
    lab.ssh_ok(
        "lab01",
        &format!("ping -c1 -W2 {a2} >/dev/null || (exec 3<>/dev/tcp/{a2}/22) 2>/dev/null"),
    );

    // A stopped host is unreachable; started again, it keeps its files.
    lab.stop_host("lab01");
    let (rc, _, _) = lab.ssh("lab01", "true");
    assert_eq!(rc, 255, "lab01 still answers after stop_host");
    lab.start_host("lab01");
    assert_eq!(
        lab.ssh_ok("lab01", &format!("cat {marker}")),
        "written-on-lab01"
    );

    drop(lab);
    let netns = sh("ip netns list");
    for h in &state.hosts {
        assert!(
            !netns.contains(&h.netns),
            "netns {} left behind: {netns}",
            h.netns
        );
        assert!(
            !Path::new("/sys/class/net").join(&h.veth).exists(),
            "link {} left behind",
            h.veth
        );
    }
    assert!(
        !Path::new("/sys/class/net").join(&state.bridge).exists(),
        "bridge {} left behind",
        state.bridge
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&*state.dir.to_string_lossy()),
        "mounts left behind: {mounts}"
    );
    assert!(
        !state.dir.exists(),
        "lab directory {} left behind",
        state.dir.display()
    );
}

#[test]
fn systemd_host_boots_to_running() {
    let t = Instant::now();
    let lab = Lab::up("smoke-systemd", 1, true);
    eprintln!("1 systemd host up in {:?}", t.elapsed());
    assert_eq!(
        lab.ssh_ok("lab01", "systemctl is-system-running"),
        "running"
    );
    assert_eq!(lab.ssh_ok("lab01", "ps -p 1 -o comm="), "systemd");
    assert_eq!(
        lab.ssh_ok("lab01", "systemctl is-active ssh.service"),
        "active"
    );
    assert_eq!(lab.ssh_ok("lab01", "hostname"), "lab01");
}

#[test]
fn ten_plain_hosts_come_up_in_seconds() {
    let t = Instant::now();
    let lab = Lab::up("smoke-ten", 10, false);
    let took = t.elapsed();
    eprintln!("10 plain hosts up in {took:?}");
    assert!(took.as_secs_f64() < 5.0, "10 plain hosts took {took:?}");
    let names: Vec<String> = std::thread::scope(|s| {
        let runs: Vec<_> = lab
            .hosts
            .iter()
            .map(|h| s.spawn(|| lab.ssh_ok(&h.name, "hostname")))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let expected: Vec<String> = (1..=10).map(|i| format!("lab{i:02}")).collect();
    assert_eq!(names, expected);
}

/// The shared test infrastructure works end to end: a lab host installs a real Debian package
/// from the local apt repository, served over the bridge by the test HTTP server.
#[test]
fn hosts_install_from_the_local_apt_repository_over_the_bridge() {
    let lab = Lab::up("smoke-apt", 1, false);
    common::aptrepo::offline(&lab);
    let srv =
        common::http::HttpServer::start(&lab.state.gateway.to_string(), common::aptrepo::repo());
    let line = common::aptrepo::source_line(srv.url("").trim_end_matches('/'));
    lab.ssh_ok(
        "lab01",
        &format!(
            "echo '{line}' > /etc/apt/sources.list.d/local.list && apt-get update -q && \
             DEBIAN_FRONTEND=noninteractive apt-get install -y -q strata-demo=1.0"
        ),
    );
    assert_eq!(
        lab.ssh_ok("lab01", "cat /usr/share/strata-demo/VERSION"),
        "1.0"
    );
    assert!(
        srv.requests().iter().any(|r| r.path.ends_with(".deb")),
        "the package came from the test server"
    );
    // The echo route reports what a client sent.
    let echo = lab.ssh_ok(
        "lab01",
        &format!("curl -s -X POST -d hi {}", srv.url("/echo")),
    );
    let v: serde_json::Value = serde_json::from_str(&echo).unwrap();
    assert_eq!(
        (v["method"].as_str(), v["body"].as_str()),
        (Some("POST"), Some("hi"))
    );
}
