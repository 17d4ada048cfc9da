//! ProxyJump from an INI inventory: the target is reached through the jump host, which the
//! target itself reports (`SSH_CONNECTION` names the jump host's address as the client), and
//! with the jump host down the same inventory cannot reach the target.
mod common;

use common::{Lab, strata_in};
use serde_json::Value;

#[test]
fn proxy_jump_tunnels_through_the_jump_host() {
    let lab = Lab::up("proxyjump", 2, false);
    let jump = lab.host("lab01").clone();
    let target = lab.host("lab02").clone();
    let dir = std::env::temp_dir().join(format!("strata-proxyjump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let args = format!(
        "-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o ProxyJump=root@{}:22",
        lab.known_hosts.display(),
        jump.addr
    );
    std::fs::write(
        dir.join("hosts"),
        format!(
            "[targets]\nlab02 ansible_host={} ansible_user=root ansible_ssh_private_key_file={} \
             ansible_ssh_common_args='{args}'\n",
            target.addr,
            lab.key.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("site.yml"),
        "- hosts: targets\n  gather_facts: false\n  tasks:\n    - command: printenv SSH_CONNECTION\n",
    )
    .unwrap();
    let out = strata_in(
        Some(&dir),
        &["playbook", "-i", "hosts", "site.yml", "--json"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn: Vec<String> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "host_result" && e["action"] == "command")
        .map(|e| {
            e["result"]["stdout"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(conn.len(), 1, "{stdout}");
    // SSH_CONNECTION = "client_ip client_port server_ip server_port".
    let fields: Vec<&str> = conn[0].split_whitespace().collect();
    assert_eq!(
        (fields[0], fields[2]),
        (jump.addr.as_str(), target.addr.as_str()),
        "the target did not see the jump host as its client: {conn:?}"
    );

    // Without the jump host, the same inventory cannot reach the target.
    lab.stop_host("lab01");
    let out = strata_in(
        Some(&dir),
        &[
            "playbook",
            "-i",
            "hosts",
            "site.yml",
            "--json",
            "--timeout",
            "3",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "expected unreachable\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("via ProxyJump"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
