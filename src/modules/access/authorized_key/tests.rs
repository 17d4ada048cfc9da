use super::*;
use crate::modules::harness::{Run, Scratch, mode_of, read, run_module};
use serde_json::json;

const K: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl deploy@ci";

#[test]
fn file_urls_become_paths() {
    assert_eq!(file_url_path("file:///tmp/k.pub"), "/tmp/k.pub");
    assert_eq!(file_url_path("file:/tmp/k.pub"), "/tmp/k.pub");
    assert_eq!(file_url_path("file://host/tmp/k"), "/tmp/k");
}

#[tokio::test]
async fn keys_are_managed_with_the_modules_return_values() {
    let d = Scratch::new("authorized_key");
    let p = d.s("ssh/authorized_keys");
    let a = json!({"user": "root", "key": K, "path": p});
    let r = run_module(&AuthorizedKey, a.clone(), Run::check()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert!(!d.path("ssh").exists());
    let r = run_module(&AuthorizedKey, a.clone(), Run::diff()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(r.data["keyfile"], p.as_str());
    assert_eq!(r.data["path"], p.as_str());
    assert_eq!(r.data["exclusive"], false);
    assert_eq!(r.diff[0].after, format!("{K}\n"));
    assert_eq!(read(&d.path("ssh/authorized_keys")), format!("{K}\n"));
    assert_eq!(mode_of(&d.path("ssh")), 0o700);
    assert_eq!(mode_of(&d.path("ssh/authorized_keys")), 0o600);
    let r = run_module(&AuthorizedKey, a.clone(), Run::default()).await;
    assert!(!r.changed, "{r:?}");
    std::fs::write(d.path("k.pub"), format!("{K}\n")).unwrap();
    let f = json!({"user": "root", "key": format!("file://{}", d.s("k.pub")), "path": p, "key_options": "no-pty", "comment": "new"});
    let r = run_module(&AuthorizedKey, f, Run::default()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(
        read(&d.path("ssh/authorized_keys")),
        "no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl new\n"
    );
    let rm = json!({"user": "root", "key": K, "path": p, "state": "absent"});
    let r = run_module(&AuthorizedKey, rm.clone(), Run::default()).await;
    assert!(r.changed, "{r:?}");
    assert_eq!(read(&d.path("ssh/authorized_keys")), "");
    let r = run_module(
        &AuthorizedKey,
        json!({"user": "no-such-user-x", "key": K}),
        Run::default(),
    )
    .await;
    assert_eq!(
        r.msg.as_deref(),
        Some(
            "Failed to lookup user no-such-user-x: \"getpwnam(): name not found: 'no-such-user-x'\""
        )
    );
    let r = run_module(
        &AuthorizedKey,
        json!({"user": "root", "key": "nonsense", "path": p}),
        Run::default(),
    )
    .await;
    assert_eq!(r.msg.as_deref(), Some("invalid key specified: nonsense"));
}
