//! Accounts, cron and ini files compared with ansible-core 2.19 on systemd lab hosts.
mod common;

use common::compat::{Env, compare_in};

const SYSTEMD: Env = Env {
    systemd: true,
    www: false,
};

#[test]
fn users_and_groups_match_ansible() {
    compare_in("acct_users.yml", SYSTEMD);
}

#[test]
fn cron_and_ini_file_match_ansible() {
    compare_in("acct_cron.yml", SYSTEMD);
}

#[test]
fn getent_matches_ansible() {
    compare_in("getent.yml", Env::default());
}
