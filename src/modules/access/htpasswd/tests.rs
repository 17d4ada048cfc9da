use super::*;
use crate::modules::harness::{Run, Scratch, mode_of, read, run_module};
use serde_json::json;

#[test]
fn the_file_is_rendered_as_passlib_keeps_it() {
    let f = HtFile::parse("# c\nalice:x\n\nbob:y\nalice:z\n# tail\n").unwrap();
    assert_eq!(f.get("alice"), Some("x"));
    let mut g = f.clone();
    g.set("carol", "h".into());
    g.delete("bob");
    assert_eq!(g.render(), "# c\nalice:x\n\nalice:z\n# tail\ncarol:h\n");
    assert!(HtFile::parse("a:b:c\n").unwrap_err().contains("line 1"));
    assert_eq!(
        strip_blank_lines("a:b\n\nc:d\n").as_deref(),
        Some("a:b\nc:d\n")
    );
    assert_eq!(strip_blank_lines("a:b\n"), None);
}

#[tokio::test]
async fn add_verify_update_and_remove() {
    let d = Scratch::new("htpasswd");
    let p = d.s("sub/site.htpasswd");
    let a = json!({"path": p, "name": "alice", "password": "s3cret", "mode": "0640"});
    let r = run_module(&Htpasswd, a.clone(), Run::check()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(r.msg.as_deref(), Some(format!("Create {p}").as_str()));
    assert!(!d.path("sub").exists());
    let r = run_module(&Htpasswd, a.clone(), Run::default()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(
        r.msg.as_deref(),
        Some(
            format!("Created {p} and added alice and ownership, perms or SE linux context changed")
                .as_str()
        )
    );
    assert_eq!(mode_of(&d.path("sub/site.htpasswd")), 0o640);
    let line = read(&d.path("sub/site.htpasswd"));
    assert!(line.starts_with("alice:$apr1$"), "{line}");
    let r = run_module(&Htpasswd, a.clone(), Run::default()).await;
    assert!(!r.changed, "{r:?}");
    assert_eq!(r.msg.as_deref(), Some("alice already present"));
    let b = json!({"dest": p, "username": "bob", "password": "pw", "crypt_scheme": "ldap_sha1"});
    let r = run_module(&Htpasswd, b, Run::default()).await;
    assert_eq!(r.msg.as_deref(), Some("Add/update bob"));
    assert!(
        read(&d.path("sub/site.htpasswd")).ends_with("bob:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n")
    );
    let c = json!({"path": p, "name": "alice", "password": "other"});
    let r = run_module(&Htpasswd, c, Run::default()).await;
    assert!(r.changed);
    assert!(read(&d.path("sub/site.htpasswd")).starts_with("alice:$apr1$"));
    let rm = json!({"path": p, "name": "alice", "state": "absent"});
    let r = run_module(&Htpasswd, rm.clone(), Run::check()).await;
    assert_eq!((r.changed, r.msg.as_deref()), (true, Some("Remove alice")));
    let r = run_module(&Htpasswd, rm.clone(), Run::default()).await;
    assert!(r.changed);
    let r = run_module(&Htpasswd, rm, Run::default()).await;
    assert_eq!(
        (r.changed, r.msg.as_deref()),
        (false, Some("alice not present"))
    );
    assert!(!read(&d.path("sub/site.htpasswd")).contains("alice"));
}

#[tokio::test]
async fn refusals() {
    let d = Scratch::new("htpasswd2");
    let r = run_module(
        &Htpasswd,
        json!({"path": d.s("none"), "name": "a", "password": "b", "create": false}),
        Run::default(),
    )
    .await;
    assert!(r.failed && r.msg.unwrap().contains("does not exist"));
    let r = run_module(
        &Htpasswd,
        json!({"path": d.s("x"), "name": "a", "password": "b", "hash_scheme": "des_crypt"}),
        Run::default(),
    )
    .await;
    assert!(r.failed && r.msg.unwrap().contains("supports apr_md5_crypt"));
}
