use serde_json::json;

use super::*;
use crate::modules::harness::{Run, run_module};

#[test]
fn parses_status_lines_and_origins() {
    let out = "__strata_arch=amd64\n__strata_inst\n\
               ii \tbash\t5.2.15-2+b8\tamd64\tshells\n\
               rc \tgone\t1.0\tamd64\tmisc\n\
               ii \tlibc6\t2.36-9\ti386\tlibs\n\
               ii \tadduser\t3.134\tall\tadmin\n\
               __strata_orig\nadduser\t3.134\tall\tDebian\tutils\nadduser\t3.134\tall\tOther\tx\n";
    let l = parse(out).unwrap();
    assert_eq!(
        l.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        vec!["bash", "libc6:i386", "adduser"]
    );
    assert_eq!(l[2].origin, "Debian", "the first list wins");
    assert_eq!(l[0].origin, "");
    assert_eq!(l[0].category, "shells");
    assert_eq!(
        l[2].category, "utils",
        "the list's section wins over dpkg's"
    );
}

#[tokio::test]
async fn this_machines_packages_match_python_apt_where_it_is_installed() {
    let r = run_module(&PackageFacts, json!({"manager": "auto"}), Run::default()).await;
    assert!(!r.failed, "{:?}", r.msg);
    assert!(!r.changed);
    let pk = &r.facts["packages"];
    let dpkg = &pk["dpkg"][0];
    assert_eq!(dpkg["name"], "dpkg");
    assert_eq!(dpkg["source"], "apt");
    assert!(dpkg["version"].as_str().unwrap().contains('.'));
    let py = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import apt,json; c=apt.Cache(); p=c['dpkg'].installed; print(json.dumps([p.version, p.architecture, p.section, p.origins[0].origin]))"])
        .output();
    if let Ok(o) = py
        && o.status.success()
    {
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            v,
            json!([
                dpkg["version"],
                dpkg["arch"],
                dpkg["category"],
                dpkg["origin"]
            ])
        );
    }
}

#[tokio::test]
async fn other_managers_are_unusable_with_ansibles_messages() {
    let r = run_module(&PackageFacts, json!({"manager": ["rpm"]}), Run::default()).await;
    assert!(r.failed);
    assert_eq!(
        r.msg.as_deref(),
        Some(
            "Could not detect a supported package manager from the following list: ['rpm'], or \
             the required Python library is not installed. Check warnings for details."
        )
    );
    let r = run_module(&PackageFacts, json!({"manager": ["nope"]}), Run::default()).await;
    assert_eq!(
        r.msg.as_deref(),
        Some("Unsupported package managers requested: nope")
    );
}
