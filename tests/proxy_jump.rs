//! ProxyJump from an INI inventory: the target is reached through the jump host, which the
//! target itself reports (`SSH_CONNECTION` names the jump host's address as the client), and
//! with the jump host down the same inventory cannot reach the target.
mod common;

use common::Lab;

#[test]
fn proxy_jump_tunnels_through_the_jump_host() {
    let lab = Lab::up("proxyjump", 2, false);
    let jump = lab.host("lab01").clone();
    let target = lab.host("lab02").clone();
    let args = format!(
        "-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o ProxyJump=root@{}:22",
        lab.known_hosts.display(),
        jump.addr
    );
    let pb = lab
        .playbook("- hosts: targets\n  gather_facts: false\n  tasks:\n    - command: printenv SSH_CONNECTION\n")
        .file(
            "hosts",
            &format!(
                "[targets]\nlab02 ansible_host={} ansible_user=root ansible_ssh_private_key_file={} \
                 ansible_ssh_common_args='{args}'\n",
                target.addr,
                lab.key.display()
            ),
        );
    let hosts = pb.dir().join("hosts");
    let pb = pb.inventory(&hosts).in_its_dir();
    let r = pb.run();
    r.expect_exit(0);
    let conn: Vec<String> = r
        .results("lab02", "command")
        .iter()
        .map(|e| {
            e["result"]["stdout"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let stdout = r.dump();
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
    let down = pb.args(&["--timeout", "3"]).run();
    down.expect_exit(4);
    let stdout = serde_json::to_string(&down.events).unwrap();
    assert!(stdout.contains("via ProxyJump"), "{}", down.dump());
}
