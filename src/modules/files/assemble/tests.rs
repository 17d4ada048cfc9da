use serde_json::json;

use super::*;
use crate::modules::harness::{Run, Scratch, get, read, run_module};

#[test]
fn fragments_join_as_ansible() {
    let f = |n: &str, c: &str| (n.to_string(), Some(c.as_bytes().to_vec()));
    let frags = vec![
        f("b", "two"),
        f("a", "one\n"),
        f(".h", "hidden\n"),
        ("dir".into(), None),
        f("c", "three\n"),
    ];
    assert_eq!(
        assemble(frags.clone(), None, None, false),
        b"hidden\none\ntwo\nthree\n"
    );
    assert_eq!(
        assemble(frags.clone(), Some("# --"), None, true),
        b"one\n# --\ntwo\n# --\nthree\n"
    );
    let re = fancy_regex::Regex::new("^[ab]").unwrap();
    assert_eq!(
        assemble(frags, Some("--\\n"), Some(&re), false),
        b"one\n--\ntwo"
    );
    assert_eq!(escape_decode("a\\tb\\x41\\101\\q"), b"a\tbAA\\q");
}

#[tokio::test]
async fn assembles_remote_fragments_idempotently() {
    let d = Scratch::new("assemble");
    std::fs::create_dir(d.path("frags")).unwrap();
    std::fs::write(d.path("frags/10-a"), "a=1\n").unwrap();
    std::fs::write(d.path("frags/20-b"), "b=2").unwrap();
    let args = json!({"src": d.s("frags"), "dest": d.s("out.conf"), "mode": "0640"});
    let r = run_module(&Assemble, args.clone(), Run::check()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert!(!d.path("out.conf").exists());
    let r = run_module(&Assemble, args.clone(), Run::default()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(read(&d.path("out.conf")), "a=1\nb=2");
    assert_eq!(get(&r, "msg"), &serde_json::Value::Null);
    assert_eq!(r.msg.as_deref(), Some("OK"));
    assert_eq!(get(&r, "mode"), "0640");
    assert_eq!(get(&r, "checksum"), sha1_hex(b"a=1\nb=2").as_str());
    let r = run_module(&Assemble, args, Run::default()).await;
    assert!(!r.changed && !r.failed, "{r:?}");
    let r = run_module(
        &Assemble,
        json!({"src": d.s("nope"), "dest": d.s("x")}),
        Run::default(),
    )
    .await;
    assert_eq!(
        r.msg.unwrap(),
        format!("Source ({}) does not exist", d.s("nope"))
    );
}
