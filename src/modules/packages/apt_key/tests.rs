use super::key_id::*;
use super::*;
use crate::modules::harness::{Run, get, run_module};
use serde_json::json;

#[test]
fn key_ids_are_split_as_ansible_splits_them() {
    assert_eq!(
        parse_key_id("0x36a1d7869245c8950f966e92d8576a8ba88d21e9").unwrap(),
        (
            "A88D21E9".to_string(),
            "D8576A8BA88D21E9".to_string(),
            "36A1D7869245C8950F966E92D8576A8BA88D21E9".to_string()
        )
    );
    assert_eq!(
        parse_key_id("a88d21e9").unwrap(),
        ("A88D21E9".into(), "A88D21E9".into(), "A88D21E9".into())
    );
    assert!(parse_key_id("A88D21E").is_err());
    assert!(parse_key_id("not-hex!").is_err());
    assert!(parse_key_id("0123456789ABCDEF0").is_ok());
}

#[test]
fn listings_and_colon_output_yield_ids() {
    let apt = "/tmp/x/pubring.gpg\n---\npub   rsa2048/C0BA5CE6DC6315A3 2021-05-04 [SC]\n      35BA...\nuid   x\n\
               sub   rsa4096/6ED0E7B82643E131 2023-01-21 [S] [expires: 2031-01-19]\n\
               pub   rsa1024/1111111111111111 2001-01-01 [SC] [expired: 2002-01-01]\n";
    assert_eq!(
        parse_output_for_keys(apt),
        vec!["C0BA5CE6DC6315A3", "6ED0E7B82643E131"]
    );
    let colons =
        "pub:-:255:22:F8D2585B8783D481:1674477000:::-:::scESC::::::23::0:\nfpr:::::::::4D64FEC1:\n";
    assert_eq!(parse_output_for_keys(colons), vec!["F8D2585B8783D481"]);
    assert_eq!(
        shorten(&["F8D2585B8783D481".into()]),
        vec!["8783D481".to_string()]
    );
}

#[test]
fn urls_are_masked() {
    assert_eq!(
        mask_url("https://bob:pw@h.example/k.asc"),
        "https://bob:********@h.example/k.asc"
    );
    assert_eq!(mask_url("http://h/k.asc"), "http://h/k.asc");
}

#[tokio::test]
async fn check_mode_reads_the_keyring_and_the_key_file() {
    let key = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compat/files/strata-test-key.asc");
    let r = run_module(
        &AptKey,
        json!({"file": key.to_string_lossy(), "state": "present"}),
        Run::check(),
    )
    .await;
    assert!(!r.failed, "{:?} {:?}", r.msg, r.data);
    assert!(r.changed);
    assert_eq!(get(&r, "id").as_str().map(str::len), Some(16));
    assert!(get(&r, "before").is_array());
    let r = run_module(
        &AptKey,
        json!({"id": "0123456789ABCDEF", "state": "absent"}),
        Run::check(),
    )
    .await;
    assert!(!r.failed && !r.changed, "{:?}", r.msg);
    let r = run_module(&AptKey, json!({"id": "xyz"}), Run::check()).await;
    assert!(r.failed);
    assert_eq!(r.msg.as_deref(), Some("Invalid key_id"));
}
