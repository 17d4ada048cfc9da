use serde_json::json;

use super::*;
use crate::modules::harness::{Run, Scratch, run_module};

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
