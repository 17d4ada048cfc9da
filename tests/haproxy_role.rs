//! The `haproxy` role from `roles/` on systemd lab hosts: haproxy comes from the local apt
//! repository, its configuration passes `haproxy -c` before it is installed, a handler enables
//! and restarts it, and it really balances traffic to the app layer. A second run is all `ok`.

mod common;

use common::Lab;
use common::playbook::fixture;

/// The lab's hosts in stack groups: lab01 is the frontend, lab02 the app.
fn stack_inventory(lab: &Lab) -> std::path::PathBuf {
    let path = lab.state.dir.join("stack.yml");
    let host = |n: &str| {
        format!(
            "        {n}:\n          ansible_host: {}\n",
            lab.host(n).addr
        )
    };
    std::fs::write(
        &path,
        format!(
            "all:\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: \"{}\"\n    \
             ansible_ssh_common_args: \"-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes\"\n  \
             children:\n    frontend:\n      hosts:\n{}    app:\n      hosts:\n{}",
            lab.key.display(),
            lab.known_hosts.display(),
            host("lab01"),
            host("lab02"),
        ),
    )
    .unwrap();
    path
}

#[test]
fn haproxy_role_installs_validates_starts_and_balances() {
    let lab = Lab::up("role-hap", 2, true);
    common::aptrepo::offline(&lab);
    let srv =
        common::http::HttpServer::start(&lab.state.gateway.to_string(), common::aptrepo::repo());
    let inv = stack_inventory(&lab);
    let book = fixture("haproxy").join("site.yml");
    let repo = format!("repo_url={}", srv.url("").trim_end_matches('/'));
    let play = |extra: &[&str]| {
        lab.playbook_file(&book)
            .inventory(&inv)
            .extra_var(&repo)
            .args(extra)
            .run()
    };

    // Check mode first: nothing is installed or started.
    let check = play(&["--check"]);
    assert_eq!(
        lab.ssh("lab01", "dpkg-query -W -f '${Status}' haproxy").0,
        1,
        "check mode installed haproxy\n{}",
        check.dump()
    );

    let first = play(&[]);
    assert_eq!(first.code, 0, "{}", first.dump());
    assert!(first.host("lab01").changed >= 3, "{}", first.dump());
    let cfg = lab.ssh_ok("lab01", "cat /etc/haproxy/haproxy.cfg");
    assert!(
        cfg.contains(&format!(
            "server lab02 {}:8080 check",
            lab.host("lab02").addr
        )),
        "{cfg}"
    );
    assert_eq!(lab.ssh_ok("lab01", "systemctl is-active haproxy"), "active");
    assert_eq!(
        lab.ssh_ok("lab01", "systemctl is-enabled haproxy"),
        "enabled"
    );
    // The stats page the role checked, and real traffic through the frontend to the app.
    let stats = first.results("lab01", "Stats page answers");
    assert_eq!(stats[0]["result"]["status"], 200, "{}", first.dump());
    let via_lb = std::process::Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .arg(format!("http://{}:80/", lab.host("lab01").addr))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&via_lb.stdout), "app lab02\n");

    let second = play(&[]);
    assert_eq!(second.code, 0, "{}", second.dump());
    assert_eq!(second.total_changed(), 0, "{}", second.dump());

    // A configuration haproxy rejects is never installed, and the running one is kept.
    let bad = play(&["-e", "haproxy_balance=no-such-algorithm"]);
    assert_eq!(bad.code, 2, "{}", bad.dump());
    let failed = bad.results("lab01", "Render /etc/haproxy/haproxy.cfg");
    assert!(
        failed[0]["msg"]
            .as_str()
            .unwrap_or("")
            .contains("failed to validate"),
        "{}",
        bad.dump()
    );
    assert_eq!(lab.ssh_ok("lab01", "cat /etc/haproxy/haproxy.cfg"), cfg);
    assert_eq!(lab.ssh_ok("lab01", "systemctl is-active haproxy"), "active");
}
