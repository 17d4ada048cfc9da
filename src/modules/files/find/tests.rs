use serde_json::json;

use super::Find;
use crate::modules::harness::{Run, Scratch, get, run_module};

/// A small tree: a.txt b.log .hidden.txt sub/c.txt sub/deep/d.txt link -> a.txt
fn tree() -> Scratch {
    let d = Scratch::new("find");
    std::fs::write(d.path("a.txt"), "alpha\nbeta\n").unwrap();
    std::fs::write(d.path("b.log"), "x".repeat(2048)).unwrap();
    std::fs::write(d.path(".hidden.txt"), "h\n").unwrap();
    std::fs::create_dir_all(d.path("sub/deep")).unwrap();
    std::fs::create_dir_all(d.path(".hdir")).unwrap();
    std::fs::write(d.path(".hdir/in.txt"), "in\n").unwrap();
    std::fs::write(d.path("sub/c.txt"), "gamma\r\n").unwrap();
    std::fs::write(d.path("sub/deep/d.txt"), "delta\n").unwrap();
    std::os::unix::fs::symlink("a.txt", d.path("link")).unwrap();
    d
}

fn paths(r: &crate::modules::ModuleResult, root: &str) -> Vec<String> {
    let mut v: Vec<String> = get(r, "files")
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["path"]
                .as_str()
                .unwrap()
                .trim_start_matches(root)
                .to_string()
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn patterns_recurse_hidden_and_depth() {
    let d = tree();
    let root = format!("{}/", d.0.display());
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "patterns": "*.txt"}),
        Run::default(),
    )
    .await;
    assert!(!r.changed && !r.failed, "{r:?}");
    assert_eq!(paths(&r, &root), ["a.txt"]);
    assert_eq!(get(&r, "examined"), 6);
    assert_eq!(r.msg.as_deref(), Some("All paths examined"));
    let f = &get(&r, "files")[0];
    for k in [
        "mode", "isreg", "islnk", "uid", "gid", "size", "inode", "dev", "nlink", "atime", "mtime",
        "ctime", "gr_name", "pw_name", "rusr", "isgid",
    ] {
        assert!(f.get(k).is_some(), "{k} missing in {f}");
    }
    assert_eq!(f["size"], 11);
    assert_eq!(f["mode"], "0644");

    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "patterns": ["*.txt"], "recurse": true}),
        Run::default(),
    )
    .await;
    assert_eq!(
        paths(&r, &root),
        [".hdir/in.txt", "a.txt", "sub/c.txt", "sub/deep/d.txt"]
    );
    let r = run_module(&Find, json!({"paths": d.s(""), "patterns": ["*.txt"], "recurse": true, "hidden": true, "depth": 2}), Run::default()).await;
    assert_eq!(
        paths(&r, &root),
        [".hdir/in.txt", ".hidden.txt", "a.txt", "sub/c.txt"]
    );
    let r = run_module(&Find, json!({"paths": d.s(""), "use_regex": true, "patterns": ["^[ab]\\."], "excludes": ".*log$"}), Run::default()).await;
    assert_eq!(paths(&r, &root), ["a.txt"]);
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "file_type": "directory", "recurse": true}),
        Run::default(),
    )
    .await;
    assert_eq!(paths(&r, &root), ["sub", "sub/deep"]);
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "file_type": "link"}),
        Run::default(),
    )
    .await;
    assert_eq!(paths(&r, &root), ["link"]);
    assert_eq!(get(&r, "files")[0]["islnk"], true);
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "file_type": "any", "size": "1k"}),
        Run::default(),
    )
    .await;
    assert_eq!(paths(&r, &root), ["b.log", "link", "sub"]);
}

#[tokio::test]
async fn contains_checksum_mode_age_and_limit() {
    let d = tree();
    let root = format!("{}/", d.0.display());
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "contains": "beta", "recurse": true}),
        Run::default(),
    )
    .await;
    assert_eq!(paths(&r, &root), ["a.txt"]);
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "contains": "gamma$", "recurse": true}),
        Run::default(),
    )
    .await;
    assert_eq!(paths(&r, &root), ["sub/c.txt"]);
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "contains": "a\nbe", "read_whole_file": true}),
        Run::default(),
    )
    .await;
    assert_eq!(paths(&r, &root), ["a.txt"]);
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "patterns": "a.txt", "get_checksum": true}),
        Run::default(),
    )
    .await;
    let sum = crate::modules::files::copy::sha1_hex(b"alpha\nbeta\n");
    assert_eq!(get(&r, "files")[0]["checksum"], sum.as_str());
    std::fs::set_permissions(
        d.path("b.log"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "mode": "0600"}),
        Run::default(),
    )
    .await;
    assert_eq!(paths(&r, &root), ["b.log"]);
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "mode": "u=rw,g=r,o=r"}),
        Run::default(),
    )
    .await;
    assert_eq!(paths(&r, &root), ["a.txt"]);
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "mode": "g+r", "exact_mode": false}),
        Run::default(),
    )
    .await;
    assert_eq!(paths(&r, &root), ["a.txt"]);
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "mode": 420}),
        Run::default(),
    )
    .await;
    assert_eq!(
        r.msg.as_deref(),
        Some("argument 'mode' is not a string and conversion is not allowed, value is of type int")
    );
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "age": "1d"}),
        Run::default(),
    )
    .await;
    assert_eq!(get(&r, "matched"), 0);
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "age": "-1h"}),
        Run::default(),
    )
    .await;
    assert_eq!(get(&r, "matched"), 2);
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "age": "soon"}),
        Run::default(),
    )
    .await;
    assert_eq!(r.msg.as_deref(), Some("failed to process age"));
    let r = run_module(
        &Find,
        json!({"paths": d.s(""), "recurse": true, "limit": 1}),
        Run::default(),
    )
    .await;
    assert_eq!(get(&r, "matched"), 1);
    assert_eq!(r.msg.as_deref(), Some("Limit of matches reached"));
    let r = run_module(&Find, json!({"paths": d.s(""), "limit": 0}), Run::default()).await;
    assert_eq!(
        r.msg.as_deref(),
        Some("limit cannot be 0 (use None for unlimited)")
    );
}

#[tokio::test]
async fn missing_paths_are_skipped_with_a_warning() {
    let d = tree();
    let r = run_module(
        &Find,
        json!({"paths": [d.s("nope"), d.s("")]}),
        Run::check(),
    )
    .await;
    assert!(!r.failed, "{r:?}");
    assert_eq!(
        r.msg.as_deref(),
        Some("Not all paths examined, check warnings for details")
    );
    let nope = d.s("nope");
    assert_eq!(
        get(&r, "skipped_paths")[&nope],
        format!("'{nope}' is not a directory")
    );
    assert_eq!(get(&r, "matched"), 2);
    assert!(
        get(&r, "warnings")[0]
            .as_str()
            .unwrap()
            .starts_with("Skipped '")
    );
}

#[tokio::test]
async fn a_linked_root_is_walked() {
    let d = tree();
    std::os::unix::fs::symlink(d.s("sub"), d.path("sublink")).unwrap();
    let r = run_module(&Find, json!({"paths": d.s("sublink")}), Run::default()).await;
    assert_eq!(get(&r, "matched"), 1, "{r:?}");
}
