use serde_json::json;

use super::*;
use crate::modules::harness::{Run, run_module};

fn opts(v: serde_json::Value) -> Opts {
    Opts::from_args(&Args::new(v.as_object().unwrap().clone())).unwrap()
}

#[test]
fn install_command_matches_ansible() {
    let o = opts(json!({"name": ["hello"], "install_recommends": false, "allow_downgrade": true}));
    assert_eq!(
        o.install_cmd(&["hello=2.10-3".into()], true).shell(),
        "apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
         -o DPkg::Lock::Timeout=60 --simulate install hello=2.10-3 \
         -o APT::Install-Recommends=no --allow-downgrades"
    );
    let o = opts(json!({"name": "x", "state": "absent", "purge": true, "lock_timeout": 5}));
    assert_eq!(o.state, State::Absent);
    assert_eq!(
        o.remove_cmd(&["x".into()], false).shell(),
        "apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
         -o DPkg::Lock::Timeout=5 --purge remove x"
    );
}

#[test]
fn upgrade_modes() {
    let o = opts(json!({"upgrade": true}));
    assert_eq!(o.upgrade.as_deref(), Some("yes"), "YAML's yes is a boolean");
    let (c, words) = o.upgrade_cmd("yes", false);
    assert_eq!(words, "upgrade --with-new-pkgs");
    assert!(c.shell().ends_with("upgrade --with-new-pkgs"));
    let (c, words) = opts(json!({"upgrade": "dist", "autoremove": true})).upgrade_cmd("dist", true);
    assert_eq!(words, "dist-upgrade --auto-remove");
    assert!(c.shell().ends_with("--simulate dist-upgrade --auto-remove"));
    assert!(opts(json!({"upgrade": false})).upgrade.is_none());
    assert!(opts(json!({"upgrade": "no"})).upgrade.is_none());
    let bad = Opts::from_args(&Args::new(
        json!({"upgrade": "sometimes"}).as_object().unwrap().clone(),
    ));
    assert!(bad.unwrap_err().to_string().contains("must be one of"));
}

#[test]
fn states_and_defaults() {
    let o = opts(json!({"name": "a, b"}));
    assert_eq!(o.state, State::Present);
    assert_eq!(o.packages, Some(vec!["a".to_string(), "b".to_string()]));
    assert_eq!(o.dpkg_options, DPKG_OPTIONS);
    assert!(o.cache_update(false).is_none());
    let o = opts(json!({"cache_valid_time": 3600}));
    assert_eq!(
        o.cache_update(false).unwrap().valid_time,
        3600,
        "cache_valid_time implies update_cache"
    );
    // ansible-core 2.19's apt rejects the `installed`/`removed` spellings other modules take.
    for state in ["installed", "removed"] {
        let e = Opts::from_args(&Args::new(
            json!({"state": state}).as_object().unwrap().clone(),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("must be one of"), "{e}");
    }
    let e = Opts::from_args(&Args::new(
        json!({"state": "build-dep", "name": "x"})
            .as_object()
            .unwrap()
            .clone(),
    ))
    .unwrap_err();
    assert!(e.to_string().contains("build-dep is not supported"));
}

#[test]
fn deb_command_installs_files_with_apt_get() {
    let o = opts(json!({"deb": "/x.deb", "install_recommends": true}));
    let c = o.deb_cmd(false).shell();
    assert!(c.ends_with("install -o APT::Install-Recommends=yes"), "{c}");
    // Like `dpkg -i`, a file's own Recommends are not followed by default.
    let c = opts(json!({"deb": "/x.deb"})).deb_cmd(false).shell();
    assert!(c.ends_with("install -o APT::Install-Recommends=no"), "{c}");
}

fn has_apt() -> bool {
    std::process::Command::new("sh")
        .args(["-c", "command -v apt-get && command -v dpkg-query"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Read-only against this machine: an installed package in check mode needs nothing (the
/// probe only runs dpkg-query and apt-cache), and an unknown name fails like Ansible.
#[tokio::test]
async fn probes_real_package_database_read_only() {
    if !has_apt() {
        return;
    }
    let r = run_module(&Apt, json!({"name": "dpkg"}), Run::check()).await;
    assert!(!r.failed, "{:?}", r.msg);
    assert!(!r.changed);
    assert_eq!(r.data["cache_updated"], json!(false));
    let r = run_module(
        &Apt,
        json!({"name": "strata-no-such-package-xyz"}),
        Run::check(),
    )
    .await;
    assert!(r.failed);
    assert_eq!(
        r.msg.as_deref(),
        Some("No package matching 'strata-no-such-package-xyz' is available")
    );
    let r = run_module(&Apt, json!({"name": "strata-no-such-*"}), Run::check()).await;
    assert_eq!(
        r.msg.as_deref(),
        Some("No package(s) matching 'strata-no-such-*' available")
    );
    let r = run_module(
        &Apt,
        json!({"name": "strata-no-such-package-xyz", "state": "absent"}),
        Run::check(),
    )
    .await;
    assert!(!r.failed && !r.changed);
    let r = run_module(&Apt, json!({"name": "a=1=2"}), Run::check()).await;
    assert_eq!(r.msg.as_deref(), Some("invalid package spec: a=1=2"));
}
