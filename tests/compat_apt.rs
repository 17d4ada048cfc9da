//! apt, apt_repository and package against ansible-core 2.19: same recap, same host state.
mod common;

use common::compat::{Env, compare_in};

const SYS_WWW: Env = Env {
    systemd: true,
    www: true,
};

#[test]
fn apt_more_matches_ansible() {
    compare_in("apt_more.yml", SYS_WWW);
}

#[test]
fn apt_repositories_and_purge_match_ansible() {
    compare_in("apt_more2.yml", SYS_WWW);
}
