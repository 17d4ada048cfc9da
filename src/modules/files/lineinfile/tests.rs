use serde_json::json;

use super::*;
use crate::modules::harness::{Run, Scratch, mode_of, read, run_module};

fn req(line: &str) -> Request {
    Request {
        line: Some(line.into()),
        regexp: None,
        search_string: None,
        insertafter: None,
        insertbefore: None,
        backrefs: false,
        firstmatch: false,
    }
}

fn text(e: &TextEdit) -> String {
    String::from_utf8(e.content.clone()).unwrap()
}

#[test]
fn present_logic_matches_ansible() {
    let base = "a=1\n#port=22\nb=2\n";
    let mut r = req("port=2222");
    r.regexp = Some(compile(r"^#?port=\d+", "").unwrap());
    let e = ensure_present(base, &r).unwrap();
    assert_eq!(
        (text(&e).as_str(), e.msg.as_str()),
        ("a=1\nport=2222\nb=2\n", "line replaced")
    );
    assert!(!ensure_present(&text(&e), &r).unwrap().changed);

    let e = ensure_present("x\ny", &req("z")).unwrap();
    assert_eq!(
        (text(&e).as_str(), e.msg.as_str()),
        ("x\ny\nz\n", "line added")
    );

    let mut r = req("after-a");
    r.insertafter = Some("^a=".into());
    let e = ensure_present(base, &r).unwrap();
    assert_eq!(text(&e), "a=1\nafter-a\n#port=22\nb=2\n");
    assert!(!ensure_present(&text(&e), &r).unwrap().changed);

    let mut r = req("first");
    r.insertbefore = Some("BOF".into());
    assert_eq!(
        text(&ensure_present(base, &r).unwrap()),
        "first\na=1\n#port=22\nb=2\n"
    );

    let mut r = req("before-b");
    r.insertbefore = Some("^b=".into());
    assert_eq!(
        text(&ensure_present(base, &r).unwrap()),
        "a=1\n#port=22\nbefore-b\nb=2\n"
    );

    let mut r = req(r"port: \1");
    r.regexp = Some(compile(r"^#port=(\d+)$", "").unwrap());
    r.backrefs = true;
    assert_eq!(
        text(&ensure_present(base, &r).unwrap()),
        "a=1\nport: 22\nb=2\n"
    );
    r.regexp = Some(compile(r"^nomatch=(\d+)$", "").unwrap());
    assert!(
        !ensure_present(base, &r).unwrap().changed,
        "backrefs without a match do nothing"
    );

    let mut r = req("b=3");
    r.search_string = Some("b=".into());
    assert_eq!(
        text(&ensure_present(base, &r).unwrap()),
        "a=1\n#port=22\nb=3\n"
    );
}

#[test]
fn absent_logic() {
    let mut r = req("b=2");
    let e = ensure_absent("a\nb=2\nb=2\n", &r);
    assert_eq!(
        (text(&e).as_str(), e.msg.as_str()),
        ("a\n", "2 line(s) removed")
    );
    r.line = None;
    r.regexp = Some(compile("^a", "").unwrap());
    assert_eq!(text(&ensure_absent("a\nab\nc\n", &r)), "c\n");
    assert!(!ensure_absent("c\n", &r).changed);
}

#[tokio::test]
async fn module_on_real_files() {
    let d = Scratch::new("lif");
    let p = d.s("conf");
    std::fs::write(d.path("conf"), "a=1\n#port=22\n").unwrap();
    let args = json!({"path": p, "regexp": "^#?port=", "line": "port=2222", "backup": true});
    let r = run_module(
        &LineInFile,
        args.clone(),
        Run {
            check: true,
            diff: true,
            ..Default::default()
        },
    )
    .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(read(&d.path("conf")), "a=1\n#port=22\n");
    assert_eq!(r.diff[0].after, "a=1\nport=2222\n");
    assert_eq!(r.diff[0].before_header, format!("{p} (content)"));

    let r = run_module(&LineInFile, args.clone(), Run::default()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(r.msg.as_deref(), Some("line replaced"));
    assert_eq!(read(&d.path("conf")), "a=1\nport=2222\n");
    assert!(std::path::Path::new(r.data["backup"].as_str().unwrap()).exists());
    let r = run_module(&LineInFile, args.clone(), Run::default()).await;
    assert!(!r.changed && !r.failed, "{r:?}");

    let r = run_module(
        &LineInFile,
        json!({"path": p, "line": "port=2222", "mode": "0600"}),
        Run::default(),
    )
    .await;
    assert!(r.changed);
    assert_eq!(
        r.msg.as_deref(),
        Some("ownership, perms or SE linux context changed")
    );
    assert_eq!(mode_of(&d.path("conf")), 0o600);

    let r = run_module(
        &LineInFile,
        json!({"path": d.s("missing"), "line": "x"}),
        Run::default(),
    )
    .await;
    assert!(r.failed);
    assert_eq!(
        r.msg.unwrap(),
        format!("Destination {} does not exist !", d.s("missing"))
    );
    assert_eq!(r.data["rc"], 257);

    let r = run_module(
        &LineInFile,
        json!({"path": d.s("sub/new"), "line": "x", "create": true}),
        Run::default(),
    )
    .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(read(&d.path("sub/new")), "x\n");

    let r = run_module(
        &LineInFile,
        json!({"path": p, "line": "bad", "validate": "grep -q never %s"}),
        Run::default(),
    )
    .await;
    assert!(
        r.failed && r.msg.as_deref() == Some("failed to validate"),
        "{r:?}"
    );
    assert_eq!(read(&d.path("conf")), "a=1\nport=2222\n");

    let r = run_module(
        &LineInFile,
        json!({"path": p, "regexp": "^port", "state": "absent"}),
        Run::default(),
    )
    .await;
    assert!(r.changed);
    assert_eq!(r.msg.as_deref(), Some("1 line(s) removed"));
    assert_eq!(read(&d.path("conf")), "a=1\n");
}

#[tokio::test]
async fn edits_through_symlinks() {
    let d = Scratch::new("lifl");
    std::fs::write(d.path("real"), "a\n").unwrap();
    std::os::unix::fs::symlink("real", d.path("link")).unwrap();
    let r = run_module(
        &LineInFile,
        json!({"path": d.s("link"), "line": "b"}),
        Run::default(),
    )
    .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert!(
        std::fs::symlink_metadata(d.path("link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(read(&d.path("real")), "a\nb\n");
}
