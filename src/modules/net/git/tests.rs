use serde_json::json;

use super::*;
use crate::modules::harness::{Harness, Run, Scratch, run_module};

fn sh(dir: &std::path::Path, cmd: &str) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@e")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@e")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository with two commits on `main`, tag `v1` on the first, branch `dev` with a third.
fn upstream(d: &Scratch) -> (String, String, String) {
    let up = d.path("up");
    std::fs::create_dir(&up).unwrap();
    sh(
        &up,
        "git init -q -b main . && echo one > f && git add f && git commit -qm one && git tag v1",
    );
    let c1 = sh(&up, "git rev-parse HEAD");
    sh(
        &up,
        "echo two > f && git commit -qam two && git checkout -qb dev && echo dev > g && git add g && git commit -qm dev && git checkout -q main",
    );
    let c2 = sh(&up, "git rev-parse main");
    let c3 = sh(&up, "git rev-parse dev");
    (c1, c2, c3)
}

#[test]
fn ssh_command_follows_ansible_options() {
    assert_eq!(ssh_command(None, None, None), None);
    assert_eq!(
        ssh_command(Some("/k"), None, Some("no")).unwrap(),
        "ssh -i /k -o IdentitiesOnly=yes -o StrictHostKeyChecking=no"
    );
    assert_eq!(normalize_repo("/srv/r.git"), "file:///srv/r.git");
}

#[tokio::test]
async fn clone_update_and_idempotency() {
    let d = Scratch::new("git");
    let (c1, c2, c3) = upstream(&d);
    let repo = d.s("up");
    let args = json!({"repo": repo, "dest": d.s("co")});
    // Check mode: reports the remote HEAD and clones nothing.
    let r = run_module(&Git, args.clone(), Run::check()).await;
    assert!(r.changed && !r.failed, "{:?}", r.msg);
    assert_eq!(r.data["after"], json!(c2));
    assert!(!d.path("co").exists());
    let r = run_module(&Git, args.clone(), Run::default()).await;
    assert!(r.changed && !r.failed, "{:?} {:?}", r.msg, r.data);
    assert_eq!(r.data["before"], Value::Null);
    assert_eq!(r.data["after"], json!(c2));
    let r = run_module(&Git, args.clone(), Run::default()).await;
    assert!(!r.changed && !r.failed, "{:?} {:?}", r.msg, r.data);
    assert_eq!(r.data["remote_url_changed"], json!(false));
    // Tag, then branch, then a commit SHA.
    let r = run_module(
        &Git,
        json!({"repo": repo, "dest": d.s("co"), "version": "v1"}),
        Run::default(),
    )
    .await;
    assert!(r.changed && !r.failed, "{:?} {:?}", r.msg, r.data);
    assert_eq!(r.data["after"], json!(c1));
    let r = run_module(
        &Git,
        json!({"repo": repo, "dest": d.s("co"), "version": "dev"}),
        Run::default(),
    )
    .await;
    assert!(r.changed, "{:?} {:?}", r.msg, r.data);
    assert_eq!(r.data["after"], json!(c3));
    let r = run_module(
        &Git,
        json!({"repo": repo, "dest": d.s("co"), "version": "dev"}),
        Run::default(),
    )
    .await;
    assert!(!r.changed, "{:?}", r.data);
    let r = run_module(
        &Git,
        json!({"repo": repo, "dest": d.s("co"), "version": c1}),
        Run::default(),
    )
    .await;
    assert!(r.changed && !r.failed, "{:?} {:?}", r.msg, r.data);
    assert_eq!(sh(&d.path("co"), "git rev-parse HEAD"), c1);
    // Upstream moves on: check mode sees it, update=no ignores it, a real run follows it.
    sh(&d.path("up"), "echo three > f && git commit -qam three");
    let c4 = sh(&d.path("up"), "git rev-parse HEAD");
    let r = run_module(&Git, args.clone(), Run::check()).await;
    assert!(r.changed, "{:?}", r.data);
    assert_eq!(r.data["after"], json!(c4));
    assert_eq!(sh(&d.path("co"), "git rev-parse HEAD"), c1);
    let r = run_module(
        &Git,
        json!({"repo": repo, "dest": d.s("co"), "update": false}),
        Run::default(),
    )
    .await;
    assert!(!r.changed);
    assert_eq!(r.data["after"], json!(c1));
    let r = run_module(&Git, args, Run::default()).await;
    assert!(r.changed && !r.failed, "{:?} {:?}", r.msg, r.data);
    assert_eq!(r.data["before"], json!(c1));
    assert_eq!(r.data["after"], json!(c4));
}

#[tokio::test]
async fn local_modifications_fail_without_force() {
    let d = Scratch::new("git-mods");
    let (_, c2, _) = upstream(&d);
    let args = json!({"repo": d.s("up"), "dest": d.s("co")});
    assert!(!run_module(&Git, args.clone(), Run::default()).await.failed);
    std::fs::write(d.path("co/f"), "local\n").unwrap();
    let r = run_module(&Git, args.clone(), Run::default()).await;
    assert!(r.failed);
    assert_eq!(
        r.msg.unwrap(),
        format!(
            "Local modifications exist in the destination: {} (force=no).",
            d.s("co")
        )
    );
    assert_eq!(r.data["before"], json!(c2));
    let r = run_module(
        &Git,
        json!({"repo": d.s("up"), "dest": d.s("co"), "force": true}),
        Run::default(),
    )
    .await;
    assert!(r.changed && !r.failed, "{:?}", r.msg);
    assert_eq!(std::fs::read_to_string(d.path("co/f")).unwrap(), "two\n");
}

#[tokio::test]
async fn bad_repository_fails_with_git_message() {
    let d = Scratch::new("git-bad");
    let r = run_module(
        &Git,
        json!({"repo": d.s("missing"), "dest": d.s("co"), "version": "main"}),
        Run::default(),
    )
    .await;
    assert!(r.failed);
    let msg = r.msg.unwrap();
    assert!(
        msg.contains("does not appear to be a git repository"),
        "{msg}"
    );
    assert!(!d.path("co").exists());
}

#[tokio::test]
async fn depth_and_single_branch_clone() {
    let d = Scratch::new("git-depth");
    let (_, _, c3) = upstream(&d);
    let r = run_module(
        &Git,
        json!({"repo": d.s("up"), "dest": d.s("co"), "version": "dev", "depth": 1, "single_branch": true}),
        Run::default(),
    )
    .await;
    assert!(r.changed && !r.failed, "{:?} {:?}", r.msg, r.data);
    assert_eq!(r.data["after"], json!(c3));
    assert_eq!(sh(&d.path("co"), "git rev-list --count HEAD"), "1");
    let r = run_module(
        &Git,
        json!({"repo": d.s("up"), "dest": d.s("co"), "version": "dev", "depth": 1, "single_branch": true}),
        Run::default(),
    )
    .await;
    assert!(!r.changed && !r.failed, "{:?} {:?}", r.msg, r.data);
}

/// `git` with file: submodules allowed (git refuses them by default since 2.38.1), for the
/// module run through `h` and for the setup commands.
fn allow_file_submodules(h: &mut Harness) {
    h.env = vec![
        ("GIT_CONFIG_COUNT".into(), "1".into()),
        ("GIT_CONFIG_KEY_0".into(), "protocol.file.allow".into()),
        ("GIT_CONFIG_VALUE_0".into(), "always".into()),
    ];
}

/// `app` (branch `main`) with submodule `lib` (branch `master`), which has submodule `deep`;
/// `lib` has one more commit than `app` records. Returns (recorded lib, lib's master).
fn superproject(d: &Scratch) -> (String, String) {
    for r in ["deep", "lib", "app"] {
        std::fs::create_dir(d.path(r)).unwrap();
    }
    let sub = "git -c protocol.file.allow=always submodule add -q";
    sh(
        &d.path("deep"),
        "git init -q -b main . && echo deep > d && git add d && git commit -qm deep",
    );
    sh(
        &d.path("lib"),
        &format!(
            "git init -q -b master . && echo 1 > l && git add l && {sub} {} deep && git commit -qm lib1",
            d.s("deep")
        ),
    );
    let lib1 = sh(&d.path("lib"), "git rev-parse HEAD");
    sh(
        &d.path("app"),
        &format!(
            "git init -q -b main . && echo app > a && git add a && {sub} {} lib && git commit -qm app",
            d.s("lib")
        ),
    );
    sh(&d.path("lib"), "echo 2 > l && git commit -qam lib2");
    (lib1, sh(&d.path("lib"), "git rev-parse HEAD"))
}

#[tokio::test]
async fn submodules_follow_recursive() {
    let d = Scratch::new("git-subs");
    let (lib1, lib2) = superproject(&d);
    let mut h = Harness::new();
    allow_file_submodules(&mut h);
    let rec = json!({"repo": d.s("app"), "dest": d.s("rec")});
    let r = h.run(&Git, rec.clone()).await;
    assert!(r.changed && !r.failed, "{:?} {:?}", r.msg, r.data);
    assert_eq!(r.data["submodules_changed"], json!(true));
    assert_eq!(sh(&d.path("rec/lib"), "git rev-parse HEAD"), lib1);
    assert_eq!(sh(&d.path("rec/lib/deep"), "cat d"), "deep");
    let r = h.run(&Git, rec.clone()).await;
    assert!(!r.changed && !r.failed, "{:?} {:?}", r.msg, r.data);
    assert!(r.data.get("submodules_changed").is_none());
    // Not recursive: the submodule stays an empty directory, and that is no change.
    let flat = json!({"repo": d.s("app"), "dest": d.s("flat"), "recursive": false});
    assert!(h.run(&Git, flat.clone()).await.changed);
    assert!(!h.run(&Git, flat.clone()).await.changed);
    assert_eq!(std::fs::read_dir(d.path("flat/lib")).unwrap().count(), 0);
    // The superproject records lib's next commit: the update brings the submodule along.
    sh(
        &d.path("app"),
        "git -C lib pull -q && git commit -qam 'lib2'",
    );
    let r = h.run(&Git, rec.clone()).await;
    assert!(r.changed && !r.failed, "{:?} {:?}", r.msg, r.data);
    assert_eq!(r.data["submodules_changed"], json!(true));
    assert_eq!(sh(&d.path("rec/lib"), "git rev-parse HEAD"), lib2);
    assert!(h.run(&Git, flat.clone()).await.changed);
    assert_eq!(std::fs::read_dir(d.path("flat/lib")).unwrap().count(), 0);
    // A submodule moved by hand is a local modification: refused, then put back with force.
    sh(&d.path("rec/lib"), "git checkout -q HEAD~1");
    let r = h.run(&Git, rec.clone()).await;
    assert!(r.failed, "{:?}", r.data);
    assert!(r.msg.unwrap().contains("Local modifications exist"));
    let r = h
        .run(
            &Git,
            json!({"repo": d.s("app"), "dest": d.s("rec"), "force": true}),
        )
        .await;
    assert!(r.changed && !r.failed, "{:?} {:?}", r.msg, r.data);
    assert_eq!(r.data["submodules_changed"], json!(true));
    assert_eq!(sh(&d.path("rec/lib"), "git rev-parse HEAD"), lib2);
}

#[tokio::test]
async fn tracked_submodules_follow_their_remote() {
    let d = Scratch::new("git-track");
    let (lib1, lib2) = superproject(&d);
    let mut h = Harness::new();
    allow_file_submodules(&mut h);
    let args = json!({"repo": d.s("app"), "dest": d.s("co"), "track_submodules": true});
    let r = h.run(&Git, args.clone()).await;
    assert!(r.changed && !r.failed, "{:?} {:?}", r.msg, r.data);
    assert_ne!(lib1, lib2);
    assert_eq!(sh(&d.path("co/lib"), "git rev-parse HEAD"), lib2);
    // The superproject now sees a modified submodule, as Ansible's git module does.
    let r = h.run(&Git, args).await;
    assert!(r.failed, "{:?}", r.data);
}
