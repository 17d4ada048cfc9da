use super::*;
use crate::modules::harness::{Harness, Scratch};
use serde_json::json;

fn req(v: serde_json::Value) -> Request {
    from_args(&Args::new(v.as_object().unwrap().clone()))
        .unwrap()
        .0
}

#[test]
fn words_follow_the_modules_order() {
    let r = req(
        json!({"name": "left-pad", "version": "1.3.0", "global": true,
        "production": true, "registry": "http://r", "no_bin_links": true, "ignore_scripts": true}),
    );
    assert_eq!(
        r.words(&["install"], true),
        vec![
            "install",
            "--global",
            "--production",
            "--ignore-scripts",
            "left-pad@1.3.0",
            "--registry",
            "http://r",
            "--no-bin-links"
        ]
    );
    assert_eq!(
        r.words(&["list", "--json", "--long"], false),
        vec![
            "list",
            "--json",
            "--long",
            "--global",
            "--ignore-scripts",
            "--registry",
            "http://r",
            "--no-bin-links"
        ]
    );
    let e = from_args(&Args::new(
        json!({"name": "x"}).as_object().unwrap().clone(),
    ))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "path must be specified when not using global"
    );
    let absent = req(json!({"name": "x", "version": "1", "state": "absent", "path": "/p"}));
    assert_eq!(absent.name_version.as_deref(), Some("x"));
}

#[test]
fn installed_missing_and_outdated() {
    let r = req(json!({"name": "a", "version": "1.0.0", "path": "/p"}));
    let list = r#"{"dependencies": {"a": {"version": "1.0.0"}, "b": {"missing": true}}}"#;
    let (inst, missing) = installed_and_missing(&r, list).unwrap();
    assert_eq!(inst, vec!["a", "a@1.0.0"]);
    assert!(missing);
    let list = r#"{"dependencies": {"a": {"version": "1.0.0"}}}"#;
    assert!(!installed_and_missing(&r, list).unwrap().1);
    let r2 = req(json!({"name": "a", "version": "2.0.0", "path": "/p"}));
    assert!(installed_and_missing(&r2, list).unwrap().1);
    assert!(installed_and_missing(&r2, "{}").unwrap().1);
    assert!(installed_and_missing(&r2, "nope").is_err());
    assert_eq!(
        outdated("Package  Current  Wanted\nleft-pad 1.0.0 1.3.0\n"),
        vec!["Package", "left-pad"]
    );
}

#[tokio::test]
async fn a_local_package_installs_once_and_uninstalls() {
    if std::process::Command::new("npm")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("npm is not installed; skipped");
        return;
    }
    let d = Scratch::new("npm");
    std::fs::create_dir_all(d.path("pkg")).unwrap();
    std::fs::write(
        d.path("pkg/package.json"),
        r#"{"name": "strata-demo", "version": "1.0.0", "main": "index.js"}"#,
    )
    .unwrap();
    std::fs::write(d.path("pkg/index.js"), "module.exports = 1;\n").unwrap();
    std::fs::create_dir_all(d.path("app")).unwrap();
    std::fs::write(
        d.path("app/package.json"),
        format!(
            r#"{{"name": "app", "version": "0.0.1", "dependencies": {{"strata-demo": "file:{}"}}}}"#,
            d.s("pkg")
        ),
    )
    .unwrap();
    let mut h = Harness::new();
    h.env = vec![
        ("npm_config_audit".into(), "false".into()),
        ("npm_config_fund".into(), "false".into()),
        ("npm_config_update_notifier".into(), "false".into()),
        ("npm_config_cache".into(), d.s("cache")),
    ];
    let args = json!({"path": d.s("app")});
    let mut check = Harness::new().check();
    check.env = h.env.clone();
    let r = check.run(&Npm, args.clone()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert!(!d.path("app/node_modules").exists());
    let r = h.run(&Npm, args.clone()).await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert!(d.path("app/node_modules/strata-demo").exists());
    let r = h.run(&Npm, args.clone()).await;
    assert!(!r.changed && !r.failed, "{r:?}");
    let r = h
        .run(
            &Npm,
            json!({"path": d.s("app"), "name": "strata-demo", "version": "1.0.0"}),
        )
        .await;
    assert!(!r.changed && !r.failed, "{r:?}");
    let r = h
        .run(
            &Npm,
            json!({"path": d.s("app"), "name": "strata-demo", "state": "absent"}),
        )
        .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert!(!d.path("app/node_modules/strata-demo").exists());
    let r = h
        .run(
            &Npm,
            json!({"path": d.s("app"), "name": "strata-demo", "state": "absent"}),
        )
        .await;
    assert!(!r.changed && !r.failed, "{r:?}");
}
