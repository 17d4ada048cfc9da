use super::*;
use crate::modules::harness::{Harness, Scratch, get};
use serde_json::json;

fn have_expect() -> bool {
    let ok = std::process::Command::new("sh")
        .args(["-c", "command -v expect"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("expect is not installed; skipped");
    }
    ok
}

/// A small interactive program: two questions, then the answers, then `rc`.
fn asker(d: &Scratch) -> String {
    let p = d.s("ask.sh");
    std::fs::write(
        &p,
        "#!/bin/sh\nprintf 'Name? '; read n\nprintf 'Password: '; read p\n\
         printf 'Again: '; read q\necho \"hello $n [$p] [$q]\"\nexit ${1:-0}\n",
    )
    .unwrap();
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    p
}

#[test]
fn the_script_holds_every_string_hex_encoded() {
    let t = tcl_script(
        &["echo".into(), "a }{ [b]".into()],
        &[Response {
            pattern: "x$".into(),
            answers: vec!["\"q\"".into()],
            list: false,
        }],
        None,
        false,
        "@@m",
    );
    assert!(
        t.contains("set timeout -1") && t.contains("set stty_init -echo"),
        "{t}"
    );
    assert!(!t.contains("a }{ [b]") && !t.contains("\"q\""), "{t}");
}

/// Ansible's message for a list that runs out formats pexpect's bytes with `%s` (values from
/// Python 3's `'%s' % b`).
#[test]
fn exhausted_output_is_shown_as_python_bytes() {
    use crate::template::pyrepr::repr_bytes;
    assert_eq!(repr_bytes(b": Color"), "b': Color'");
    assert_eq!(repr_bytes(b"Name? a\r\nPass\\"), r"b'Name? a\r\nPass\\'");
    assert_eq!(repr_bytes(b"it's"), r#"b"it's""#);
    assert_eq!(repr_bytes(br#""it's""#), r#"b'"it\'s"'"#);
    assert_eq!(repr_bytes("é\t\x7f".as_bytes()), r"b'\xc3\xa9\t\x7f'");
}

#[tokio::test]
async fn answers_prompts_on_a_terminal() {
    if !have_expect() {
        return;
    }
    let d = Scratch::new("expect");
    let cmd = asker(&d);
    let h = Harness::new();
    let r = h
        .run(
            &Expect,
            json!({"command": cmd, "responses": {"Name\\?": "Ann", "(?i)password:": "s3 cr'et", "Again": ["x"]}}),
        )
        .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(
        get(&r, "stdout"),
        "Name? Password: Again: hello Ann [s3 cr'et] [x]",
        "{r:?}"
    );
    assert_eq!(get(&r, "rc"), 0);
    assert_eq!(get(&r, "cmd"), &json!(cmd));
    assert!(get(&r, "delta").as_str().unwrap().starts_with("0:00:"));

    // echo shows the answers; a failing exit status fails the task.
    let r = h
        .run(
            &Expect,
            json!({"command": format!("{cmd} 3"), "responses": {"Name": "Bo", "Pass": "p", "Again": "q"}, "echo": true}),
        )
        .await;
    assert!(r.failed, "{r:?}");
    assert_eq!(r.msg.as_deref(), Some("non-zero return code"));
    assert_eq!(get(&r, "rc"), 3);
    assert!(
        get(&r, "stdout").as_str().unwrap().contains("Name? Bo\r\n"),
        "{r:?}"
    );

    // A list runs out.
    let r = h
        .run(
            &Expect,
            json!({"command": cmd, "responses": {"(Name|Password|Again)": ["a", "b"]}}),
        )
        .await;
    assert!(r.failed, "{r:?}");
    assert_eq!(
        r.msg.as_deref(),
        Some("No remaining responses for '(Name|Password|Again)', output was 'b': Again''")
    );

    // No answer for a prompt: the timeout.
    let r = h
        .run(
            &Expect,
            json!({"command": cmd, "responses": {"Name": "a"}, "timeout": "1"}),
        )
        .await;
    assert!(r.failed, "{r:?}");
    assert_eq!(r.msg.as_deref(), Some("command exceeded timeout"));
    assert_eq!(get(&r, "rc"), &Value::Null);

    let r = h
        .run(
            &Expect,
            json!({"command": "strata-no-such-cmd", "responses": {}}),
        )
        .await;
    assert_eq!(
        r.msg.as_deref(),
        Some("The command was not found or was not executable: strata-no-such-cmd.")
    );
}

#[tokio::test]
async fn creates_removes_chdir_and_check_mode() {
    if !have_expect() {
        return;
    }
    let d = Scratch::new("expect");
    let r = Harness::new()
        .run(
            &Expect,
            json!({"command": "touch made", "chdir": d.s(""), "responses": {}, "creates": d.s("made")}),
        )
        .await;
    assert!(r.changed && d.path("made").exists(), "{r:?}");
    let r = Harness::new()
        .run(
            &Expect,
            json!({"command": "touch made", "chdir": d.s(""), "responses": {}, "creates": d.s("made")}),
        )
        .await;
    assert!(!r.changed && !r.failed, "{r:?}");
    assert_eq!(
        get(&r, "stdout"),
        &json!(format!("skipped, since {} exists", d.s("made")))
    );
    let r = Harness::new()
        .check()
        .run(&Expect, json!({"command": "touch other", "responses": {}}))
        .await;
    assert!(r.skipped && !d.path("other").exists());
}
