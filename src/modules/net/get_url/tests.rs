use serde_json::json;

use super::*;
use crate::modules::harness::{Run, Scratch, mode_of, read, run_module};

fn file_url(p: &std::path::Path) -> String {
    format!("file://{}", p.display())
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

#[test]
fn checksum_argument_parsing() {
    assert_eq!(parse_checksum("").unwrap(), None);
    assert_eq!(
        parse_checksum("sha256:AB\u{200b}cd").unwrap(),
        Some(ChecksumSpec::Value {
            algo: "sha256".into(),
            hex: "abcd".into()
        })
    );
    assert!(matches!(
        parse_checksum("sha1:http://x/SHA1SUMS").unwrap(),
        Some(ChecksumSpec::Url { .. })
    ));
    assert_eq!(
        parse_checksum("abc").unwrap_err(),
        "The checksum parameter has to be in format <algorithm>:<checksum>"
    );
    assert_eq!(
        parse_checksum("sha256:xyz").unwrap_err(),
        "The checksum format is invalid"
    );
    assert!(parse_checksum("crc9:00").is_err());
}

#[test]
fn digest_lines_gnu_bsd_and_single() {
    let gnu = "aaa  a.tgz\nbbb *b.tgz\nccc  ./c.tgz\n";
    let m = parse_digest_lines("b.tgz", gnu);
    assert!(m.contains(&("bbb".into(), "b.tgz".into())));
    assert!(m.contains(&("ccc".into(), "c.tgz".into())));
    let bsd = "SHA256 (a.tgz) = 0123\n";
    assert_eq!(
        parse_digest_lines("a.tgz", bsd),
        vec![("0123".into(), "a.tgz".into())]
    );
    assert_eq!(
        parse_digest_lines("z.bin", "ffff\n"),
        vec![("ffff".into(), "z.bin".into())]
    );
}

#[tokio::test]
async fn downloads_then_is_idempotent_and_applies_mode() {
    let d = Scratch::new("geturl");
    std::fs::write(d.path("src.txt"), "hello\n").unwrap();
    let args = json!({"url": file_url(&d.path("src.txt")), "dest": d.s("out.txt"), "mode": "0600"});
    let r = run_module(&GetUrl, args.clone(), Run::default()).await;
    assert!(!r.failed, "{:?}", r.msg);
    assert!(r.changed);
    assert_eq!(read(&d.path("out.txt")), "hello\n");
    assert_eq!(mode_of(&d.path("out.txt")), 0o600);
    assert_eq!(
        r.data["checksum_src"],
        json!(crate::modules::files::copy::sha1_hex(b"hello\n"))
    );
    assert_eq!(r.data["md5sum"], json!("b1946ac92492d2347c6235b4d2611184"));
    let r2 = run_module(&GetUrl, args, Run::default()).await;
    assert!(!r2.failed && !r2.changed, "{:?}", r2.msg);
    // No temp files are left next to dest.
    let names: Vec<_> = std::fs::read_dir(&d.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[tokio::test]
async fn check_mode_writes_nothing() {
    let d = Scratch::new("geturl-check");
    std::fs::write(d.path("src.txt"), "x").unwrap();
    let args = json!({"url": file_url(&d.path("src.txt")), "dest": d.s("out.txt")});
    let r = run_module(&GetUrl, args, Run::check()).await;
    assert!(!r.failed, "{:?}", r.msg);
    assert!(r.changed);
    assert!(!d.path("out.txt").exists());
}

#[tokio::test]
async fn matching_checksum_skips_download_and_mismatch_fails() {
    let d = Scratch::new("geturl-ck");
    std::fs::write(d.path("src.txt"), "payload").unwrap();
    std::fs::write(d.path("out.txt"), "payload").unwrap();
    let good = format!("sha256:{}", sha256_hex(b"payload"));
    // The URL does not even exist: a matching checksum means no request.
    let args =
        json!({"url": file_url(&d.path("missing")), "dest": d.s("out.txt"), "checksum": good});
    let r = run_module(&GetUrl, args, Run::default()).await;
    assert!(!r.failed && !r.changed, "{:?}", r.msg);
    assert_eq!(r.msg.as_deref(), Some("file already exists"));

    let bad = format!("sha256:{}", sha256_hex(b"other"));
    let args =
        json!({"url": file_url(&d.path("src.txt")), "dest": d.s("new.txt"), "checksum": bad});
    let r = run_module(&GetUrl, args, Run::default()).await;
    assert!(r.failed);
    let msg = r.msg.unwrap();
    assert!(msg.contains("did not match"), "{msg}");
    assert!(!d.path("new.txt").exists());
}

#[tokio::test]
async fn directory_dest_uses_url_file_name_and_missing_parent_fails() {
    let d = Scratch::new("geturl-dir");
    std::fs::write(d.path("file.bin"), [0u8, 1, 2]).unwrap();
    std::fs::create_dir(d.path("dl")).unwrap();
    let args = json!({"url": file_url(&d.path("file.bin")), "dest": d.s("dl")});
    let r = run_module(&GetUrl, args, Run::default()).await;
    assert!(!r.failed && r.changed, "{:?}", r.msg);
    assert_eq!(r.data["dest"], json!(d.s("dl/file.bin")));
    assert_eq!(
        std::fs::read(d.path("dl/file.bin")).unwrap(),
        vec![0u8, 1, 2]
    );

    let args = json!({"url": file_url(&d.path("file.bin")), "dest": d.s("nope/x.bin")});
    let r = run_module(&GetUrl, args, Run::default()).await;
    assert!(r.failed);
    assert_eq!(
        r.msg.unwrap(),
        format!("Destination {} does not exist", d.s("nope"))
    );
}

#[tokio::test]
async fn unreachable_url_fails_with_request_failed() {
    let d = Scratch::new("geturl-fail");
    let args = json!({"url": "http://127.0.0.1:9/x", "dest": d.s("x"), "timeout": 2});
    let r = run_module(&GetUrl, args, Run::default()).await;
    assert!(r.failed);
    assert!(
        r.msg.as_deref().unwrap().starts_with("Request failed: "),
        "{:?}",
        r.msg
    );
    assert!(!d.path("x").exists());
}
