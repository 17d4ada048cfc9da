//! known_hosts, authorized_key and htpasswd (`access_keys.yml`), and iptables and ufw
//! (`access_firewall.yml`), compared with ansible-core 2.19 and its collections on lab hosts.
mod common;

use common::compat::{Env, compare_in};

#[test]
fn ssh_keys_and_password_files_match_ansible() {
    compare_in(
        "access_keys.yml",
        Env {
            systemd: false,
            www: true,
        },
    );
}

#[test]
fn iptables_and_ufw_match_ansible() {
    compare_in("access_firewall.yml", Env::default());
}
