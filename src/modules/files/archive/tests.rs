use serde_json::json;

use super::Archive;
use super::plan::common_path;
use crate::modules::harness::{Run, Scratch, get, run_module};

#[test]
fn archive_root_as_the_collection() {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(common_path(&v(&["/opt/x/dir"])), "/opt/x/");
    assert_eq!(common_path(&v(&["/opt/x/a", "/opt/x/b/c"])), "/opt/x/");
    assert_eq!(common_path(&v(&["/opt/xa/a", "/opt/xb/c"])), "/opt/");
}

fn tar_names(p: &std::path::Path) -> Vec<String> {
    let out = std::process::Command::new("tar")
        .arg("-tf")
        .arg(p)
        .output()
        .unwrap();
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn archives_trees_idempotently_and_compresses_single_files() {
    let d = Scratch::new("archive");
    std::fs::create_dir_all(d.path("src/sub")).unwrap();
    std::fs::write(d.path("src/a.txt"), "a\n").unwrap();
    std::fs::write(d.path("src/skip.log"), "l\n").unwrap();
    std::fs::write(d.path("src/sub/b.txt"), "b\n").unwrap();
    let args = json!({"path": d.s("src"), "dest": d.s("out.tgz"), "exclusion_patterns": ["*.log"]});
    let r = run_module(&Archive, args.clone(), Run::check()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(get(&r, "dest_state"), "absent");
    let r = run_module(&Archive, args.clone(), Run::default()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(get(&r, "dest_state"), "archive");
    assert_eq!(get(&r, "arcroot"), format!("{}/", d.0.display()).as_str());
    assert_eq!(get(&r, "archived").as_array().unwrap().len(), 3);
    assert_eq!(
        tar_names(&d.path("out.tgz")),
        ["src/a.txt", "src/sub/", "src/sub/b.txt"]
    );
    let r = run_module(&Archive, args.clone(), Run::default()).await;
    assert!(!r.changed && !r.failed, "{r:?}");
    std::fs::write(d.path("src/c.txt"), "c\n").unwrap();
    let r = run_module(&Archive, args, Run::default()).await;
    assert!(r.changed, "{r:?}");

    let r = run_module(
        &Archive,
        json!({"path": d.s("src/a.txt"), "format": "xz", "remove": true}),
        Run::default(),
    )
    .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(get(&r, "dest"), d.s("src/a.txt.xz").as_str());
    assert_eq!(get(&r, "dest_state"), "compress");
    assert!(!d.path("src/a.txt").exists() && d.path("src/a.txt.xz").exists());
    let r = run_module(
        &Archive,
        json!({"path": d.s("src/*.txt"), "format": "zip", "dest": d.s("t.zip")}),
        Run::default(),
    )
    .await;
    assert!(r.changed && !r.failed, "{r:?}");
    let r = run_module(
        &Archive,
        json!({"path": d.s("src/*.txt"), "format": "zip", "dest": d.s("t.zip")}),
        Run::default(),
    )
    .await;
    assert!(!r.changed && !r.failed, "{r:?}");
    let r = run_module(
        &Archive,
        json!({"path": [d.s("nope1"), d.s("nope2")]}),
        Run::default(),
    )
    .await;
    assert_eq!(
        r.msg.as_deref(),
        Some("Error, must specify \"dest\" when archiving multiple files or trees")
    );
    let r = run_module(&Archive, json!({"path": d.s("none*")}), Run::default()).await;
    assert_eq!(r.msg.as_deref(), Some("Error, no source paths were found"));
}
