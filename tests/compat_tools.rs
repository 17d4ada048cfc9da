//! The tools modules compared with ansible-core 2.19 and its collections: `supervisorctl`
//! with a real supervisord on systemd hosts, `synchronize` (rsync run on the controller over
//! each host's ssh settings, push and pull), `make` and `npm` (a local package, no registry),
//! and `expect`, whose ansible-core side needs python3-pexpect on the hosts (see below).
mod common;

use common::compat::{Env, compare_in};

#[test]
fn supervisorctl_matches_ansible() {
    compare_in(
        "tools_supervisor.yml",
        Env {
            systemd: true,
            www: false,
        },
    );
}

#[test]
fn synchronize_matches_ansible() {
    compare_in("tools_sync.yml", Env::default());
}

#[test]
fn make_and_npm_match_ansible() {
    compare_in("tools_misc.yml", Env::default());
}

/// ansible-core's `expect` needs Python's pexpect on the hosts: `tests/run` installs
/// `python3-pexpect` on the base machine, so the lab hosts have it.
#[test]
fn expect_matches_ansible() {
    compare_in("tools_expect.yml", Env::default());
}
