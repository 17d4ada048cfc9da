use serde_json::json;

use super::*;
use crate::modules::harness::{Run, Scratch, get, run_module};

fn args(v: serde_json::Value) -> Args {
    Args::new(v.as_object().unwrap().clone())
}

#[test]
fn entries_split_and_build_as_ansible_posix() {
    let r = request(&args(
        json!({"entry": "default:user:nobody:rw-", "state": "present"}),
    ))
    .unwrap()
    .unwrap();
    assert!(r.default);
    assert_eq!(r.entry.as_deref(), Some("user:nobody:rw-"));
    let r = request(&args(json!({"entry": "g:staff", "state": "absent"})))
        .unwrap()
        .unwrap();
    assert_eq!(r.entry.as_deref(), Some("group:staff"));
    let r = request(&args(
        json!({"etype": "other", "permissions": "r", "state": "present"}),
    ))
    .unwrap()
    .unwrap();
    assert_eq!(r.entry.as_deref(), Some("other::r"));
    for (a, m) in [
        (
            json!({"state": "absent", "etype": "user"}),
            "'entity' MUST be set when 'state=absent'.",
        ),
        (
            json!({"state": "present"}),
            "'etype' MUST be set when 'state=present'.",
        ),
        (
            json!({"recursive": true}),
            "'recursive' MUST NOT be set when 'state=query'.",
        ),
        (
            json!({"entry": "user:x:r", "etype": "user", "state": "present"}),
            "'entry' MUST NOT be set when 'entity', 'etype' or 'permissions' are set.",
        ),
        (
            json!({"entry": "user", "state": "present"}),
            "'entry' MUST have 3 or 4 sections divided by ':' when 'state=present'.",
        ),
    ] {
        assert_eq!(request(&args(a)).unwrap().unwrap_err(), m);
    }
    let c = command(
        &request(&args(
            json!({"entry": "d:u:bob:rx", "state": "present", "follow": false}),
        ))
        .unwrap()
        .unwrap(),
        "set",
        "/p",
    );
    assert_eq!(
        c,
        ["setfacl", "-d", "-m", "user:bob:rx", "--physical", "/p"]
    );
}

#[test]
fn listing_drops_comments_and_the_last_blank_line() {
    assert_eq!(
        acl_lines("# file: x\nuser::rw-\n  group::r--\n\n"),
        ["user::rw-", "group::r--"]
    );
}

#[tokio::test]
async fn grants_and_revokes_idempotently_with_check_mode() {
    let d = Scratch::new("acl");
    std::fs::write(d.path("f"), "x").unwrap();
    let grant = json!({"path": d.s("f"), "entity": "nobody", "etype": "user", "permissions": "r", "state": "present"});
    let r = run_module(&Acl, grant.clone(), Run::check()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert!(!get(&r, "acl").to_string().contains("nobody"));
    let r = run_module(&Acl, grant.clone(), Run::default()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(r.msg.as_deref(), Some("user:nobody:r is present"));
    assert!(
        get(&r, "acl")
            .as_array()
            .unwrap()
            .contains(&json!("user:nobody:r--"))
    );
    let r = run_module(&Acl, grant, Run::default()).await;
    assert!(!r.changed && !r.failed, "{r:?}");
    let q = run_module(&Acl, json!({"path": d.s("f")}), Run::default()).await;
    assert_eq!(q.msg.as_deref(), Some("current acl"));
    assert_eq!(get(&q, "acl")[1], "user:nobody:r--");
    let revoke = json!({"path": d.s("f"), "entity": "nobody", "etype": "user", "state": "absent"});
    let r = run_module(&Acl, revoke.clone(), Run::default()).await;
    assert!(r.changed, "{r:?}");
    assert_eq!(r.msg.as_deref(), Some("user:nobody is absent"));
    let r = run_module(&Acl, revoke, Run::default()).await;
    assert!(!r.changed, "{r:?}");
    let r = run_module(&Acl, json!({"path": d.s("missing")}), Run::default()).await;
    assert_eq!(r.msg.as_deref(), Some("Path not found or not accessible."));
    let r = run_module(
        &Acl,
        json!({"path": d.s("f"), "entity": "no-such-user-x", "etype": "user", "permissions": "r", "state": "present"}),
        Run::default(),
    )
    .await;
    assert!(r.failed && get(&r, "rc") != 0, "{r:?}");
}
