use serde_json::json;

use super::*;
use crate::modules::harness::{Run, get, run_module};

fn prev() -> Map<String, Value> {
    parse_show(
        "* tzdata/Areas: Etc\n  tzdata/Zones/Africa:\n  x/flag: True\n  x/multi: b, a\n  x/pw: (password omitted)\n",
    )
    .unwrap()
}

#[test]
fn debconf_show_lines_become_a_map() {
    let p = prev();
    assert_eq!(p["tzdata/Areas"], "Etc");
    assert_eq!(p["tzdata/Zones/Africa"], "");
    assert!(parse_show("no colon here\n").is_err());
}

#[test]
fn comparisons_follow_ansible() {
    let p = prev();
    let d = |q: &str, t: &str, v: Value, pw: Option<&str>| decide(&p, q, t, &v, pw).unwrap();
    assert!(!d("tzdata/Areas", "select", json!("Etc"), None).1);
    assert!(d("tzdata/Areas", "select", json!("Europe"), None).1);
    // Booleans compare lower-cased; YAML true is Python's "True".
    assert_eq!(
        d("x/flag", "boolean", json!(true), None),
        (Answer::Text("true".into()), false)
    );
    // "yes" is not "true" to debconf, nor to Ansible's comparison.
    assert!(d("x/flag", "boolean", json!("yes"), None).1);
    // A multiselect list is compared sorted, a string as written.
    assert_eq!(
        d("x/multi", "multiselect", json!(["b", "a"]), None),
        (Answer::List(vec!["a".into(), "b".into()]), false)
    );
    assert!(d("x/multi", "multiselect", json!("a, b"), None).1);
    // Passwords compare with the stored value, never with debconf-show's placeholder.
    assert!(!d("x/pw", "password", json!("s3cret"), Some("s3cret")).1);
    assert!(d("x/pw", "password", json!("s3cret"), None).1);
    // An unknown question always changes.
    assert!(d("x/new", "string", json!("v"), None).1);
}

#[test]
fn password_lines_are_read_as_ansible_reads_them() {
    let lines = "x\tx/user\tstring\tbob\nx\tx/pw\tpassword\ts3cret\n";
    assert_eq!(
        password_value(lines, "x", "x/pw", "password").as_deref(),
        Some("s3cret")
    );
    assert_eq!(password_value(lines, "x", "x/nope", "password"), None);
    assert_eq!(
        password_value("x\tx/pw\tpassword\n", "x", "x/pw", "password").as_deref(),
        Some("")
    );
}

#[tokio::test]
async fn reads_this_machines_answers_in_check_mode() {
    let r = run_module(&Debconf, json!({"name": "tzdata"}), Run::check()).await;
    assert!(!r.failed, "{:?}", r.msg);
    assert!(!r.changed);
    assert!(get(&r, "current").get("tzdata/Areas").is_some());
    let r = run_module(
        &Debconf,
        json!({"name": "tzdata", "question": "tzdata/Areas", "vtype": "select", "value": "Antarctica"}),
        Run { check: true, diff: true, ..Default::default() },
    )
    .await;
    assert!(r.changed && !r.failed, "{:?}", r.msg);
    assert_eq!(get(&r, "current"), &json!({"tzdata/Areas": "Antarctica"}));
    assert_eq!(r.diff.len(), 1);
    assert!(r.diff[0].after.contains("\"tzdata/Areas\": \"Antarctica\""));
    let r = run_module(
        &Debconf,
        json!({"name": "tzdata", "question": "tzdata/Areas", "vtype": "select"}),
        Run::check(),
    )
    .await;
    assert!(r.failed);
    assert_eq!(
        r.msg.as_deref(),
        Some("parameters are required together: question, vtype, value")
    );
}
