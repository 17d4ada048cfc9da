use serde_json::json;

use super::File;
use crate::modules::harness::{Run, Scratch, mode_of, run_module};

#[tokio::test]
async fn directory_create_idempotent_check_and_diff() {
    let d = Scratch::new("file1");
    let p = d.s("a/b/c");
    let args = json!({"path": p, "state": "directory", "mode": "0750"});
    let r = run_module(
        &File,
        args.clone(),
        Run {
            check: true,
            diff: true,
            ..Default::default()
        },
    )
    .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert!(!d.path("a").exists());
    assert!(
        r.diff[0].before.contains("\"state\": \"absent\"")
            && r.diff[0].after.contains("\"state\": \"directory\""),
        "{:?}",
        r.diff
    );

    let r = run_module(&File, args.clone(), Run::default()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert!(d.path("a/b/c").is_dir());
    assert_eq!(mode_of(&d.path("a/b/c")), 0o750);
    assert_eq!(
        mode_of(&d.path("a")),
        0o750,
        "created parents get the mode too, as in Ansible"
    );
    assert_eq!(
        (r.data["state"].as_str(), r.data["mode"].as_str()),
        (Some("directory"), Some("0750"))
    );

    let r = run_module(&File, args.clone(), Run::default()).await;
    assert!(!r.changed && !r.failed, "{r:?}");
    assert_eq!(r.data["mode"], "0750");

    let r = run_module(
        &File,
        json!({"path": p, "state": "directory", "mode": "u+rwx,g-rx,o="}),
        Run::diff(),
    )
    .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(mode_of(&d.path("a/b/c")), 0o700);
    assert!(
        r.diff[0].before.contains("0750") && r.diff[0].after.contains("0700"),
        "{:?}",
        r.diff
    );
}

#[tokio::test]
async fn file_state_errors_and_modes() {
    let d = Scratch::new("file2");
    let p = d.s("x");
    let r = run_module(&File, json!({"path": p, "state": "file"}), Run::default()).await;
    assert!(r.failed);
    assert_eq!(
        r.msg.unwrap(),
        format!("file ({p}) is absent, cannot continue")
    );
    let r = run_module(
        &File,
        json!({"path": d.s(""), "state": "file"}),
        Run::default(),
    )
    .await;
    assert!(r.failed && r.msg.unwrap().ends_with("is directory, cannot continue"));

    std::fs::write(d.path("x"), "data").unwrap();
    let r = run_module(&File, json!({"path": p, "mode": "a=r"}), Run::check()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(r.data["mode"], "0444");
    assert_eq!(mode_of(&d.path("x")), 0o644);
    let r = run_module(&File, json!({"path": p, "mode": "a=r"}), Run::default()).await;
    assert!(r.changed);
    assert_eq!(mode_of(&d.path("x")), 0o444);
    let r = run_module(&File, json!({"dest": p, "mode": 0o444}), Run::default()).await;
    assert!(!r.changed && !r.failed, "{r:?}");
    assert_eq!(r.data["state"], "file");
    let r = run_module(
        &File,
        json!({"path": p, "state": "directory"}),
        Run::default(),
    )
    .await;
    assert!(r.failed);
    assert_eq!(r.msg.unwrap(), format!("{p} already exists as a file"));
    let r = run_module(
        &File,
        json!({"path": p, "owner": "no-such-user-xyz"}),
        Run::default(),
    )
    .await;
    assert_eq!(
        r.msg.unwrap(),
        "chown failed: failed to look up user no-such-user-xyz"
    );
    let r = run_module(&File, json!({"path": p, "mode": "u+q"}), Run::default()).await;
    assert!(r.failed && r.msg.unwrap().contains("bad symbolic permission"));
    // Check mode reports a directory it would create as changed without looking its owner
    // up, as Ansible: the user may be one an earlier task of the run would have made.
    let missing = format!("{p}.d/sub");
    let check = Run {
        check: true,
        ..Run::default()
    };
    let r = run_module(
        &File,
        json!({"path": missing, "state": "directory", "owner": "no-such-user-xyz"}),
        check,
    )
    .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert!(!std::path::Path::new(&missing).exists());
}

#[tokio::test]
async fn links_touch_and_absent() {
    let d = Scratch::new("file3");
    std::fs::write(d.path("target"), "t").unwrap();
    let link = d.s("lnk");
    let r = run_module(
        &File,
        json!({"path": link, "src": "target", "state": "link"}),
        Run::default(),
    )
    .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(
        std::fs::read_link(d.path("lnk")).unwrap().to_str(),
        Some("target")
    );
    assert_eq!(
        (
            r.data["dest"].as_str(),
            r.data["src"].as_str(),
            r.data["state"].as_str()
        ),
        (Some(link.as_str()), Some("target"), Some("link"))
    );
    let r = run_module(
        &File,
        json!({"path": link, "src": "target", "state": "link"}),
        Run::default(),
    )
    .await;
    assert!(!r.changed && !r.failed, "{r:?}");
    let r = run_module(
        &File,
        json!({"path": link, "src": "missing", "state": "link"}),
        Run::default(),
    )
    .await;
    assert!(
        r.failed
            && r.msg
                .unwrap()
                .starts_with("src file does not exist, use \"force=yes\"")
    );
    let r = run_module(
        &File,
        json!({"path": link, "src": "missing", "state": "link", "force": true}),
        Run::default(),
    )
    .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(
        std::fs::read_link(d.path("lnk")).unwrap().to_str(),
        Some("missing")
    );
    let r = run_module(
        &File,
        json!({"path": d.s("target"), "src": "other", "state": "link", "force": false}),
        Run::default(),
    )
    .await;
    assert!(r.failed);

    let r = run_module(
        &File,
        json!({"path": d.s("hl"), "src": d.s("target"), "state": "hard"}),
        Run::default(),
    )
    .await;
    assert!(r.changed && !r.failed, "{r:?}");
    let r = run_module(
        &File,
        json!({"path": d.s("hl"), "src": d.s("target"), "state": "hard"}),
        Run::default(),
    )
    .await;
    assert!(!r.changed && !r.failed, "{r:?}");

    let r = run_module(
        &File,
        json!({"path": d.s("new"), "state": "touch", "mode": "0600"}),
        Run::default(),
    )
    .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(mode_of(&d.path("new")), 0o600);
    let r = run_module(&File, json!({"path": d.s("new"), "state": "touch", "modification_time": "202001021530.00", "access_time": "preserve"}), Run::default()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    let r = run_module(&File, json!({"path": d.s("new"), "state": "touch", "modification_time": "202001021530.00", "access_time": "preserve"}), Run::default()).await;
    assert!(!r.changed && !r.failed, "{r:?}");

    let r = run_module(
        &File,
        json!({"path": d.s("new"), "state": "absent"}),
        Run::check(),
    )
    .await;
    assert!(r.changed && d.path("new").exists());
    let r = run_module(
        &File,
        json!({"path": d.s("new"), "state": "absent"}),
        Run::default(),
    )
    .await;
    assert!(r.changed && !d.path("new").exists());
    let r = run_module(
        &File,
        json!({"path": d.s("new"), "state": "absent"}),
        Run::default(),
    )
    .await;
    assert!(!r.changed && !r.failed);
    assert_eq!(r.data["state"], "absent");
}

#[tokio::test]
async fn recurse_applies_below_directory() {
    let d = Scratch::new("file4");
    std::fs::create_dir_all(d.path("t/sub")).unwrap();
    std::fs::write(d.path("t/sub/f"), "x").unwrap();
    let args =
        json!({"path": d.s("t"), "state": "directory", "recurse": true, "mode": "u=rwX,g=rX,o="});
    let r = run_module(&File, args.clone(), Run::default()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(mode_of(&d.path("t/sub")), 0o750);
    assert_eq!(mode_of(&d.path("t/sub/f")), 0o640);
    let r = run_module(&File, args.clone(), Run::default()).await;
    assert!(!r.changed && !r.failed, "{r:?}");
    let r = run_module(
        &File,
        json!({"path": d.s("t/sub/f"), "recurse": true, "state": "file"}),
        Run::default(),
    )
    .await;
    assert!(
        r.failed
            && r.msg
                .unwrap()
                .contains("recurse option requires state to be 'directory'")
    );
}
