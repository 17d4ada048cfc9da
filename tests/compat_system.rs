//! timezone, locale_gen, modprobe, pam_limits, alternatives and service_facts compared with
//! ansible-core 2.19 on systemd lab hosts.
mod common;

use common::compat::{Env, compare_in};

const SYSTEMD: Env = Env {
    systemd: true,
    www: false,
};

#[test]
fn system_configuration_matches_ansible() {
    compare_in("system_conf.yml", SYSTEMD);
}
