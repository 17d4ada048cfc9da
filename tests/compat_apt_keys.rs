//! apt_key, deb822_repository, debconf, dpkg_selections and package_facts against
//! ansible-core 2.19: same recap, same task statuses, same host state, on both runs.
mod common;

use common::compat::{Env, compare_in};

#[test]
fn apt_keys_sources_debconf_selections_and_facts_match_ansible() {
    compare_in(
        "apt_keys.yml",
        Env {
            www: true,
            ..Default::default()
        },
    );
}
