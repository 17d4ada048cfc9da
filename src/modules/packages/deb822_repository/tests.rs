use serde_json::json;

use super::*;
use crate::modules::harness::{Run, get, run_module};

#[tokio::test]
async fn check_mode_renders_the_file_and_writes_nothing() {
    let key = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compat/files/strata-test-key.asc")
        .to_string_lossy()
        .into_owned();
    let r = run_module(
        &Deb822Repository,
        json!({"name": "Strata Unit_Test", "uris": "http://127.0.0.1:9/apt/", "suites": ["./"],
               "signed_by": key, "enabled": false}),
        Run::check(),
    )
    .await;
    assert!(!r.failed, "{:?}", r.msg);
    assert!(r.changed);
    assert_eq!(
        get(&r, "dest"),
        "/etc/apt/sources.list.d/strata-unit-test.sources"
    );
    assert_eq!(get(&r, "key_filename"), &json!(key));
    assert_eq!(
        get(&r, "repo"),
        &json!(format!(
            "Enabled: no\nX-Repolib-Name: Strata Unit_Test\nSigned-By: {key}\nSuites: ./\nTypes: deb\nURIs: http://127.0.0.1:9/apt/\n"
        ))
    );
    assert!(!std::path::Path::new("/etc/apt/sources.list.d/strata-unit-test.sources").exists());
}

#[tokio::test]
async fn a_fingerprint_passes_through_and_absent_changes_nothing_missing() {
    let r = run_module(
        &Deb822Repository,
        json!({"name": "strata-unit-fp", "uris": ["http://h/"], "suites": "stable",
               "components": "main, contrib", "signed_by": "4F2F5DA2406943E221EB38EFF861535899EACC6F"}),
        Run::check(),
    )
    .await;
    assert!(!r.failed, "{:?}", r.msg);
    assert_eq!(get(&r, "key_filename"), &json!(null));
    assert!(
        get(&r, "repo")
            .as_str()
            .unwrap()
            .contains("Components: main  contrib\n")
    );
    let r = run_module(
        &Deb822Repository,
        json!({"name": "strata-unit-fp", "state": "absent"}),
        Run::check(),
    )
    .await;
    assert!(!r.failed && !r.changed, "{:?}", r.msg);
    assert_eq!(
        get(&r, "key_filename"),
        "/etc/apt/keyrings/strata-unit-fp.gpg"
    );
    assert_eq!(get(&r, "repo"), &json!(null));
}
