//! Services, kernel parameters, mounts and fetching modules compared with ansible-core 2.19 on
//! systemd lab hosts (books written the way roles use these modules: loops, registered
//! results, handlers, check mode).
mod common;

use common::compat::{Env, compare_in};

#[test]
fn services_sysctl_and_mounts_match_ansible() {
    compare_in(
        "svc_more.yml",
        Env {
            systemd: true,
            www: false,
        },
    );
}

#[test]
fn fetching_modules_match_ansible() {
    compare_in(
        "fetch_more.yml",
        Env {
            systemd: true,
            www: true,
        },
    );
}
