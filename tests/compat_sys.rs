//! Services, kernel parameters, mounts and fetching modules compared with ansible-core 2.19 on
//! systemd lab hosts (books written the way roles use these modules: loops, registered
//! results, handlers, check mode).
mod common;

use common::compat::{Env, compare_in};

#[test]
fn services_sysctl_and_mounts_match_ansible() {
    let runs = compare_in(
        "svc_more.yml",
        Env {
            systemd: true,
            www: false,
        },
    );
    // The ephemeral and remounted options (given to mount through a private fstab) took
    // effect: the run succeeded and the second ephemeral mount remounted.
    for r in &runs {
        r.expect_exit(0);
    }
    let eph = runs[0].results(
        "lab01",
        "ephemeral again with other options, which remounts",
    );
    assert!(
        eph.len() == 1 && eph[0]["result"]["changed"] == true,
        "ephemeral remount: {eph:?}"
    );
    // `opts_no_log` options are in fstab and nowhere in what strata printed.
    for r in &runs {
        for e in &r.events {
            let text = e.to_string();
            assert!(
                !text.contains("nr_inodes=432"),
                "mount options shown: {text}"
            );
        }
    }
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

#[test]
fn git_submodules_match_ansible() {
    compare_in("git_submodules.yml", Env::default());
}
