use serde_json::json;

use super::*;
use crate::modules::harness::{Run, Scratch, get, load_errors, run_module};

fn write(s: &Scratch, rel: &str, text: &str) {
    let p = s.path(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn roots(s: &Scratch) -> Run<'static> {
    Run {
        roots: vec![s.path("")],
        ..Default::default()
    }
}

#[test]
fn bad_parameters_are_refused_at_load() {
    assert!(load_errors(&SPEC, "file: a.yml\nname: x\n").is_empty());
    assert!(load_errors(&SPEC, "dir: d\ndepth: 1\nfiles_matching: 'a.*'\n").is_empty());
    let e = load_errors(&SPEC, "file: a.yml\nbogus: 1\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("bogus"), "{e:?}");
    assert!(!load_errors(&SPEC, "file: a.yml\ndir: d\n").is_empty());
    assert!(!load_errors(&SPEC, "file: a.yml\ndepth: 2\n").is_empty());
    assert!(!load_errors(&SPEC, "file: a.yml\nhash_behaviour: deep\n").is_empty());
}

#[tokio::test]
async fn one_file_from_vars_dir_and_name() {
    let s = Scratch::new("incvars-file");
    write(&s, "vars/app.yml", "port: 80\nnested: {a: 1}\n");
    let r = run_module(&IncludeVars, json!({"file": "app.yml"}), roots(&s)).await;
    assert!(!r.failed && !r.changed, "{r:?}");
    assert_eq!(
        Value::Object(r.facts.clone()),
        json!({"port": 80, "nested": {"a": 1}})
    );
    assert_eq!(
        get(&r, "ansible_included_var_files"),
        &json!([s.s("vars/app.yml")])
    );
    let r = run_module(
        &IncludeVars,
        json!({"file": "app.yml", "name": "cfg"}),
        roots(&s),
    )
    .await;
    assert_eq!(
        Value::Object(r.facts),
        json!({"cfg": {"port": 80, "nested": {"a": 1}}})
    );
}

#[tokio::test]
async fn missing_and_non_mapping_files_fail_with_message() {
    let s = Scratch::new("incvars-bad");
    write(&s, "list.yml", "- 1\n");
    write(&s, "empty.yml", "");
    let r = run_module(&IncludeVars, json!({"file": "nope.yml"}), roots(&s)).await;
    assert!(r.failed);
    assert!(
        get(&r, "message")
            .as_str()
            .unwrap()
            .starts_with("Could not find or access 'nope.yml'"),
        "{r:?}"
    );
    let r = run_module(&IncludeVars, json!({"file": "list.yml"}), roots(&s)).await;
    assert!(r.failed);
    assert!(
        get(&r, "message")
            .as_str()
            .unwrap()
            .ends_with("must be stored as a dictionary/hash"),
        "{r:?}"
    );
    let r = run_module(&IncludeVars, json!({"file": "empty.yml"}), roots(&s)).await;
    assert!(!r.failed && r.facts.is_empty(), "{r:?}");
}

#[tokio::test]
async fn directory_order_depth_filters_and_extensions() {
    let s = Scratch::new("incvars-dir");
    write(&s, "conf/a.yml", "x: a\nonly_a: 1\n");
    write(&s, "conf/b.yaml", "x: b\n");
    write(&s, "conf/sub/c.json", "{\"x\": \"c\", \"deep\": true}");
    write(&s, "conf/skip.yml", "x: skipped\n");
    let r = run_module(
        &IncludeVars,
        json!({"dir": "conf", "ignore_files": ["skip.yml"]}),
        roots(&s),
    )
    .await;
    assert!(!r.failed, "{r:?}");
    assert_eq!(
        Value::Object(r.facts.clone()),
        json!({"x": "c", "only_a": 1, "deep": true})
    );
    let r = run_module(
        &IncludeVars,
        json!({"dir": "conf", "depth": 1, "files_matching": "^[ab]\\."}),
        roots(&s),
    )
    .await;
    assert_eq!(
        Value::Object(r.facts.clone()),
        json!({"x": "b", "only_a": 1})
    );
    write(&s, "conf/notes.txt", "hello");
    let r = run_module(&IncludeVars, json!({"dir": "conf", "depth": 1}), roots(&s)).await;
    assert!(r.failed);
    assert!(
        get(&r, "message")
            .as_str()
            .unwrap()
            .contains("does not have a valid extension: yaml, yml, json"),
        "{r:?}"
    );
    let r = run_module(
        &IncludeVars,
        json!({"dir": "conf", "depth": 1, "ignore_unknown_extensions": true}),
        roots(&s),
    )
    .await;
    assert!(!r.failed, "{r:?}");
    let r = run_module(&IncludeVars, json!({"dir": "nope"}), roots(&s)).await;
    assert!(
        get(&r, "message")
            .as_str()
            .unwrap()
            .ends_with("directory does not exist")
    );
}

#[tokio::test]
async fn role_dirs_are_under_vars() {
    let s = Scratch::new("incvars-role");
    write(&s, "role/vars/os/debian.yml", "pkg: apt\n");
    let vars = json!({"role_path": s.s("role")});
    let opts = || Run {
        roots: vec![s.path("role"), s.path("")],
        vars: vars.clone(),
        ..Default::default()
    };
    let r = run_module(&IncludeVars, json!({"dir": "os"}), opts()).await;
    assert_eq!(Value::Object(r.facts), json!({"pkg": "apt"}));
    let r = run_module(&IncludeVars, json!({"dir": "vars/os"}), opts()).await;
    assert_eq!(Value::Object(r.facts), json!({"pkg": "apt"}));
    let r = run_module(&IncludeVars, json!({"file": "os/debian.yml"}), opts()).await;
    assert_eq!(Value::Object(r.facts), json!({"pkg": "apt"}));
}

#[tokio::test]
async fn hash_behaviour_merge_keeps_existing_keys() {
    let s = Scratch::new("incvars-merge");
    write(&s, "m.yml", "cfg: {b: 2, sub: {y: 2}}\n");
    let opts = Run {
        roots: vec![s.path("")],
        vars: json!({"cfg": {"a": 1, "sub": {"x": 1}}}),
        ..Default::default()
    };
    let r = run_module(
        &IncludeVars,
        json!({"file": "m.yml", "hash_behaviour": "merge"}),
        opts,
    )
    .await;
    assert_eq!(
        Value::Object(r.facts),
        json!({"cfg": {"a": 1, "b": 2, "sub": {"x": 1, "y": 2}}})
    );
    let r = run_module(
        &IncludeVars,
        json!({"file": "m.yml", "hash_behaviour": "replace"}),
        roots(&s),
    )
    .await;
    assert_eq!(
        Value::Object(r.facts),
        json!({"cfg": {"b": 2, "sub": {"y": 2}}})
    );
}
