use serde_json::json;

use super::*;
use crate::modules::harness::{Run, Scratch, run_module};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn package_arguments_like_ansible() {
    assert_eq!(
        package_args(&s(&["foo >= 1.0", "<2", "bar"]), None).unwrap(),
        s(&["foo>=1.0,<2", "bar"])
    );
    assert_eq!(
        package_args(&s(&["foo"]), Some("1.2")).unwrap(),
        s(&["foo==1.2"])
    );
    assert_eq!(
        package_args(&s(&["foo"]), Some(">=1.2")).unwrap(),
        s(&["foo>=1.2"])
    );
    assert!(
        package_args(&s(&["foo", "bar"]), Some("1"))
            .unwrap_err()
            .starts_with("'version' argument is ambiguous")
    );
    assert!(
        package_args(&s(&["foo==1"]), Some("1"))
            .unwrap_err()
            .starts_with("The 'version' argument conflicts")
    );
    assert_eq!(
        package_args(&s(&["git+https://h/r.git#egg=r"]), None).unwrap(),
        s(&["git+https://h/r.git#egg=r"])
    );
}

#[test]
fn venv_command_detection() {
    assert!(is_venv_command(&s(&["python3", "-m", "venv"])));
    assert!(is_venv_command(&s(&["pyvenv"])));
    assert!(!is_venv_command(&s(&["virtualenv"])));
    assert!(!is_venv_command(&s(&["python3", "-m", "virtualenv"])));
}

#[tokio::test]
async fn argument_errors() {
    let r = run_module(
        &Pip,
        json!({"name": ["x"], "version": "1", "state": "latest"}),
        Run::default(),
    )
    .await;
    assert_eq!(
        r.msg.as_deref(),
        Some("version is incompatible with state=latest")
    );
    let r = run_module(
        &Pip,
        json!({"name": ["x"], "virtualenv": "/nonexistent/v", "virtualenv_command": "python3 -m venv", "virtualenv_python": "python3"}),
        Run::default(),
    )
    .await;
    assert!(
        r.failed
            && r.msg
                .unwrap()
                .starts_with("virtualenv_python should not be used")
    );
}

#[tokio::test]
async fn check_mode_with_missing_virtualenv_creates_nothing() {
    let d = Scratch::new("pip");
    let r = run_module(
        &Pip,
        json!({"name": ["six"], "virtualenv": d.s("venv"), "virtualenv_command": "python3 -m venv"}),
        Run::check(),
    )
    .await;
    assert!(r.changed && !r.failed, "{:?}", r.msg);
    assert!(!d.path("venv").exists());
}

#[tokio::test]
async fn missing_virtualenv_command_fails_clearly() {
    let d = Scratch::new("pip2");
    let r = run_module(
        &Pip,
        json!({"name": ["six"], "virtualenv": d.s("venv"), "virtualenv_command": "no-such-virtualenv-cmd"}),
        Run::default(),
    )
    .await;
    assert!(r.failed);
    assert!(
        r.msg
            .unwrap()
            .starts_with("Failed to find required executable \"no-such-virtualenv-cmd\""),
    );
}
