//! Unit tests of the stack file, its validation against roles, and the `stack` variable.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::file::{self, StackFile};
use super::plays;
use super::state::{InstanceRecord, Status};
use super::variable::{EventVars, host_vars};
use crate::template::Templar;

fn dir(name: &str) -> PathBuf {
    let d = crate::scratch::root().join(format!("strata-stack-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(d: &Path, rel: &str, text: &str) -> PathBuf {
    let p = d.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

const ISSUE_EXAMPLE: &str = r#"name: demo
state: .strata
instances:
  inventory: [inventory/demo.yml]
attributes:
  lb: {stats_password: secret}
layers:
  lb:
    name: Load balancer
    group: lb
    roles: [lb]
    events:
      configure: [lb, {role: lb, tasks_from: reload}]
    attributes: {}
  app:
    roles: [app]
apps:
  web:
    layers: [app]
    source: {type: git, url: "https://git.example/web.git", revision: main}
    deploy_to: /srv/web
    environment: {WEB_MODE: prod}
    attributes: {}
"#;

fn example(name: &str) -> (PathBuf, PathBuf) {
    let d = dir(name);
    write(
        &d,
        "inventory/demo.yml",
        "lb:\n  hosts:\n    lb1:\napp:\n  hosts:\n    app1:\n",
    );
    write(
        &d,
        "roles/lb/tasks/configure.yml",
        "- debug: msg=configure\n",
    );
    write(&d, "roles/lb/tasks/reload.yml", "- debug: msg=reload\n");
    write(&d, "roles/app/tasks/setup.yml", "- debug: msg=setup\n");
    let f = write(&d, "stack.yml", ISSUE_EXAMPLE);
    (d, f)
}

fn load_ok(f: &Path) -> StackFile {
    file::load(f).unwrap_or_else(|e| panic!("{}", e.render()))
}

fn errors(f: &Path) -> String {
    let s = match file::load(f) {
        Err(e) => return e.render(),
        Ok(s) => s,
    };
    let opts = plays::load_options(&s, &[]);
    plays::validate(&s, &opts, &Templar::new())
        .err()
        .map(|e| e.render())
        .unwrap_or_default()
}

#[test]
fn the_issue_example_loads_with_its_defaults() {
    let (d, f) = example("example");
    let s = load_ok(&f);
    assert_eq!(s.name, "demo");
    assert_eq!(s.db_path(), d.join(".strata/demo.db"));
    assert_eq!(s.inventory, vec![d.join("inventory/demo.yml")]);
    let app = s.layer("app").unwrap();
    assert_eq!((app.name.as_str(), app.group.as_str()), ("app", "app"));
    assert_eq!(s.layer("lb").unwrap().roles_for("configure").0.len(), 2);
    assert!(s.layer("lb").unwrap().roles_for("configure").1);
    assert!(!s.layer("lb").unwrap().roles_for("setup").1);
    assert_eq!(s.app("web").unwrap().environment["WEB_MODE"], "prod");
    assert_eq!(errors(&f), "");
}

#[test]
fn structure_errors_are_located() {
    let (d, _) = example("bad");
    let f = write(
        &d,
        "bad.yml",
        "name: demo\nlayerz: {}\nlayers:\n  lb:\n    rolez: [lb]\napps:\n  web:\n    layers: [lbb]\n    source: {type: svn, url: x}\n",
    );
    let e = errors(&f);
    assert!(
        e.contains("unknown key `layerz`") && e.contains("bad.yml:2:1"),
        "{e}"
    );
    assert!(e.contains("did you mean `layers`?"), "{e}");
    assert!(
        e.contains("unknown key `rolez` in layer `lb`") && e.contains("bad.yml:5:5"),
        "{e}"
    );
    assert!(
        e.contains("unknown layer `lbb`") && e.contains("bad.yml:8:14"),
        "{e}"
    );
    assert!(e.contains("unknown source type `svn`"), "{e}");
    assert!(e.contains("no host was contacted"), "{e}");

    let f = write(&d, "noname.yml", "layers: {}\n");
    assert!(errors(&f).contains("the stack file has no `name`"));
    let f = write(&d, "yaml.yml", "name: [unclosed\n");
    assert!(errors(&f).contains("yaml.yml:"), "{}", errors(&f));
    let f = write(
        &d,
        "inv.yml",
        "name: x\ninstances: {inventory: [missing.yml]}\n",
    );
    assert!(errors(&f).contains("inventory source `missing.yml` not found"));
}

#[test]
fn roles_and_event_task_files_are_checked() {
    let (d, _) = example("roles");
    let f = write(
        &d,
        "missing.yml",
        "name: x\nlayers:\n  lb:\n    roles: [nosuch]\n",
    );
    let e = errors(&f);
    assert!(
        e.contains("role `nosuch` not found") && e.contains("missing.yml:4:13"),
        "{e}"
    );

    // A role named in `events:` must have that event's tasks file...
    let f = write(
        &d,
        "override.yml",
        "name: x\nlayers:\n  app:\n    roles: [app]\n    events:\n      backup: [app]\n",
    );
    let e = errors(&f);
    assert!(
        e.contains("role `app` has no tasks file `tasks/backup.yml`"),
        "{e}"
    );
    // ...while a plain layer role without it is skipped for that event.
    let f = write(
        &d,
        "plain.yml",
        "name: x\nlayers:\n  app:\n    roles: [app]\n",
    );
    assert_eq!(errors(&f), "");

    // An error inside a role's tasks file is found before anything runs.
    write(
        &d,
        "roles/broken/tasks/deploy.yml",
        "- copy: {nosuchparam: 1}\n",
    );
    let f = write(
        &d,
        "broken.yml",
        "name: x\nlayers:\n  app:\n    roles: [broken]\n",
    );
    assert!(errors(&f).contains("deploy.yml:1:"), "{}", errors(&f));
}

fn rec(name: &str, layers: &[&str], status: Status) -> InstanceRecord {
    InstanceRecord {
        id: name.into(),
        name: name.into(),
        layers: layers.iter().map(|s| s.to_string()).collect(),
        private_ip: Some(format!("10.0.0.{}", name.len())),
        public_ip: None,
        details: json!({"hostname": name, "instance_id": null}),
        status,
        status_since: String::new(),
        last_event: None,
    }
}

#[test]
fn the_stack_variable_lists_online_instances_and_merges_attributes() {
    let d = dir("var");
    write(&d, "i.yml", "all: {}\n");
    let f = write(
        &d,
        "stack.yml",
        "name: v\ninstances: {inventory: [i.yml]}\nattributes: {a: {x: 1, y: 1}, top: s}\nlayers:\n  lb:\n    attributes: {a: {y: 2}}\n  app:\n    attributes: {a: {z: 3}}\napps:\n  web: {layers: [app], attributes: {a: {x: 9}}}\n",
    );
    let s = load_ok(&f);
    let records = vec![
        rec("lb1", &["lb"], Status::Online),
        rec("app1", &["app", "lb"], Status::Online),
        rec("app2", &["app"], Status::Setup),
    ];
    let deploy = std::collections::HashMap::from([(
        "app1".to_string(),
        json!({"web": {"release": "R1"}})
            .as_object()
            .unwrap()
            .clone(),
    )]);
    let cli = json!({"a": {"cli": true}}).as_object().unwrap().clone();
    let targets: Vec<&InstanceRecord> = records.iter().collect();
    let vars = host_vars(
        &s,
        &records,
        &targets,
        &EventVars {
            event: "deploy",
            deploy: &deploy,
            cli_attributes: &cli,
        },
    );
    let app1 = &vars["app1"];
    // stack < lb < app (declared layer order) < app attributes < --attributes.
    assert_eq!(app1["a"], json!({"x": 9, "y": 2, "z": 3, "cli": true}));
    assert_eq!(app1["top"], "s");
    let st = &app1["stack"];
    assert_eq!(st["event"], "deploy");
    assert_eq!(st["instance"]["hostname"], "app1");
    assert_eq!(st["deploy"]["web"]["release"], "R1");
    assert_eq!(st["apps"]["web"]["type"], "pip", "the documented default");
    let app_layer: Vec<&String> = st["layers"]["app"]["instances"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(app_layer, vec!["app1"], "only online instances are listed");
    assert_eq!(
        st["layers"]["lb"]["instances"].as_object().unwrap().len(),
        2
    );
    // No deploy for this host: its app attributes do not apply and `deploy` is empty.
    assert_eq!(vars["lb1"]["a"], json!({"x": 1, "y": 2, "cli": true}));
    assert_eq!(vars["lb1"]["stack"]["deploy"], json!({}));
    assert_eq!(
        vars["app2"]["stack"]["instance"]["status"],
        Value::from("setup")
    );
}

#[test]
fn an_app_type_is_any_string_and_defaults_to_pip() {
    let d = dir("apptype");
    let f = write(
        &d,
        "stack.yml",
        "name: t\nlayers: {app: {}}\napps:\n  web: {layers: [app], type: buildout}\n  api: {layers: [app]}\n",
    );
    let s = load_ok(&f);
    assert_eq!(s.app("web").unwrap().kind(), "buildout");
    assert_eq!(s.app("api").unwrap().kind, None);
    assert_eq!(s.app("api").unwrap().kind(), file::App::DEFAULT_TYPE);
    let f = write(
        &d,
        "bad.yml",
        "name: t\nlayers: {app: {}}\napps:\n  web: {layers: [app], type: [pip]}\n",
    );
    let e = errors(&f);
    assert!(
        e.contains("an app's `type` must be a string, found a list") && e.contains("bad.yml:4:30"),
        "{e}"
    );
}
