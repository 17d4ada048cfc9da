use serde_json::json;

use super::*;
use crate::modules::harness::{Run, Scratch, mode_of, read, run_module};

fn sh(cmd: &str) {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tree/` with `a.txt` and `sub/b.txt`, packed as every supported format.
fn archives(d: &Scratch) {
    std::fs::create_dir_all(d.path("tree/sub")).unwrap();
    std::fs::write(d.path("tree/a.txt"), "alpha\n").unwrap();
    std::fs::write(d.path("tree/sub/b.txt"), "beta\n").unwrap();
    let t = d.s("tree");
    let o = d.s("");
    sh(&format!(
        "cd {t} && tar czf {o}/a.tar.gz a.txt sub && tar cjf {o}/a.tar.bz2 a.txt sub && tar cJf {o}/a.tar.xz a.txt sub && tar cf {o}/a.tar a.txt sub && zip -qr {o}/a.zip a.txt sub"
    ));
}

#[tokio::test]
async fn every_format_extracts_once() {
    let d = Scratch::new("unarch");
    archives(&d);
    for (name, handler) in [
        ("a.tar.gz", "TgzArchive"),
        ("a.tar.bz2", "TarArchive"),
        ("a.tar.xz", "TarArchive"),
        ("a.tar", "TarArchive"),
        ("a.zip", "ZipArchive"),
    ] {
        let dest = d.path(&format!("out-{name}"));
        std::fs::create_dir(&dest).unwrap();
        let args = json!({"src": d.s(name), "dest": dest, "remote_src": true, "list_files": true});
        let r = run_module(&Unarchive, args.clone(), Run::check()).await;
        assert!(r.changed && !r.failed, "{name}: {:?}", r.msg);
        assert!(!dest.join("a.txt").exists(), "{name}: check mode extracted");
        let r = run_module(&Unarchive, args.clone(), Run::default()).await;
        assert!(r.changed && !r.failed, "{name}: {:?} {:?}", r.msg, r.data);
        assert_eq!(r.data["handler"], json!(handler), "{name}");
        assert!(
            r.data["files"]
                .as_array()
                .unwrap()
                .contains(&json!("sub/b.txt")),
            "{name}: {:?}",
            r.data["files"]
        );
        assert_eq!(read(&dest.join("sub/b.txt")), "beta\n");
        let r = run_module(&Unarchive, args.clone(), Run::default()).await;
        assert!(
            !r.changed && !r.failed,
            "{name}: second run {:?} {:?}",
            r.msg,
            r.data
        );
        std::fs::write(dest.join("a.txt"), "changed locally\n").unwrap();
        let r = run_module(&Unarchive, args, Run::default()).await;
        assert!(r.changed, "{name}: a modified file is restored");
        assert_eq!(read(&dest.join("a.txt")), "alpha\n");
    }
}

#[tokio::test]
async fn controller_src_mode_and_exclude() {
    let d = Scratch::new("unarch2");
    archives(&d);
    std::fs::create_dir(d.path("out")).unwrap();
    let run = Run {
        roots: vec![d.0.clone()],
        ..Default::default()
    };
    let args =
        json!({"src": "a.tar.gz", "dest": d.s("out"), "mode": "0600", "exclude": ["sub/b.txt"]});
    let r = run_module(&Unarchive, args.clone(), run).await;
    assert!(r.changed && !r.failed, "{:?} {:?}", r.msg, r.data);
    assert_eq!(mode_of(&d.path("out/a.txt")), 0o600);
    assert!(!d.path("out/sub/b.txt").exists());
    let run = Run {
        roots: vec![d.0.clone()],
        ..Default::default()
    };
    let r = run_module(&Unarchive, args, run).await;
    assert!(!r.changed && !r.failed, "{:?} {:?}", r.msg, r.data);
}

#[tokio::test]
async fn failures_use_ansible_messages() {
    let d = Scratch::new("unarch3");
    archives(&d);
    let r = run_module(
        &Unarchive,
        json!({"src": d.s("a.tar.gz"), "dest": d.s("nope"), "remote_src": true}),
        Run::default(),
    )
    .await;
    assert!(r.failed);
    assert_eq!(
        r.msg.unwrap(),
        format!("dest '{}' must be an existing dir", d.s("nope"))
    );
    std::fs::write(d.path("junk.tgz"), "not an archive").unwrap();
    let r = run_module(
        &Unarchive,
        json!({"src": d.s("junk.tgz"), "dest": d.s(""), "remote_src": true}),
        Run::default(),
    )
    .await;
    assert!(r.failed);
    assert!(r.msg.unwrap().starts_with(&format!(
        "Failed to find handler for \"{}\"",
        d.s("junk.tgz")
    )));
    let r = run_module(
        &Unarchive,
        json!({"src": d.s("missing.tgz"), "dest": d.s(""), "remote_src": true}),
        Run::default(),
    )
    .await;
    assert_eq!(
        r.msg.unwrap(),
        format!("Source '{}' does not exist", d.s("missing.tgz"))
    );
}

#[tokio::test]
async fn creates_skips() {
    let d = Scratch::new("unarch4");
    archives(&d);
    let r = run_module(
        &Unarchive,
        json!({"src": d.s("a.tar.gz"), "dest": d.s(""), "remote_src": true, "creates": d.s("a.zip")}),
        Run::default(),
    )
    .await;
    assert!(r.skipped && !r.changed);
}
