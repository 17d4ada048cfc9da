//! The same playbooks run by ansible-core 2.19 and by strata, each on its own lab (identical
//! host names), must give the same per-host recap counts, the same exit code and the same
//! files on the hosts, on the first and on the second run (see `common::compat`).

mod common;

use common::compat::{Env, compare, compare_in, compare_on};

#[test]
fn file_modules_match_ansible() {
    compare("files.yml");
}

#[test]
fn control_flow_matches_ansible() {
    compare("flow.yml");
}

#[test]
fn roles_match_ansible() {
    compare("roles.yml");
}

#[test]
fn failures_match_ansible() {
    compare("failing.yml");
}

#[test]
fn facts_become_includes_and_meta_match_ansible() {
    compare_on("misc.yml", 3);
}

#[test]
fn accounts_cron_sysctl_and_mounts_match_ansible() {
    compare_in(
        "sys_accounts.yml",
        Env {
            systemd: true,
            ..Env::default()
        },
    );
}

#[test]
fn packages_match_ansible() {
    compare_in(
        "sys_packages.yml",
        Env {
            systemd: true,
            www: true,
        },
    );
}

#[test]
fn services_and_hostname_match_ansible() {
    compare_in(
        "sys_services.yml",
        Env {
            systemd: true,
            ..Env::default()
        },
    );
}

#[test]
fn downloads_archives_git_and_pip_match_ansible() {
    compare_in(
        "sys_fetch.yml",
        Env {
            systemd: true,
            www: true,
        },
    );
}
