//! The spec reader and the checker, against ansible-core's `ArgumentSpecValidator` verdicts.

use std::path::PathBuf;

use super::*;

/// A fresh directory per call: the tests run in parallel.
fn role(name: &str, files: &[(&str, &str)]) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = crate::scratch::root().join(format!("strata-argspec-{name}{n}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    for (rel, text) in files {
        let p = d.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    d
}

const SPEC: &str = r#"argument_specs:
  main:
    short_description: A test role
    options:
      app:
        type: dict
        description: The app's settings.
        options:
          port: {type: int}
          debug: {type: bool}
          mode: {type: str, choices: [fast, safe]}
          nfs:
            type: bool
            choices: [false]
            description:
              - No NFS here.
              - Use a local directory.
          tags: {type: list, elements: str}
          ports: {type: list, elements: int}
          servers:
            type: list
            elements: dict
            options:
              host: {type: str, required: true}
              weight: {type: float}
          db: {type: dict, options: {address: {type: str, required: true}}}
      name: {required: true}
      ratio: {type: float}
      blob_dir: {type: path}
      anything: {type: raw}
  setup:
    options:
      count: {type: int, required: true}
"#;

fn specs() -> ArgSpecs {
    let d = role("spec", &[("meta/argument_specs.yml", SPEC)]);
    load(&d).unwrap().unwrap()
}

fn yaml(text: &str) -> Vec<(String, Node)> {
    // On disk, so that a rendered diagnostic shows its line.
    let p = role("vars", &[("vars.yml", text)]).join("vars.yml");
    let n = crate::yaml::load_file(&p).unwrap();
    n.as_map()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
        .collect()
}

fn check(text: &str) -> Vec<Violation> {
    let s = specs();
    check_entry(s.entry(None).unwrap(), &yaml(text), true, &Span::unknown())
}

fn paths(v: &[Violation]) -> Vec<&str> {
    v.iter().map(|x| x.path.as_str()).collect()
}

#[test]
fn reads_entry_points_options_and_descriptions() {
    let s = specs();
    let main = s.entry(None).unwrap();
    assert_eq!(main.short_description.as_deref(), Some("A test role"));
    let app = &main.options[0];
    assert_eq!((app.name.as_str(), app.ty), ("app", OptType::Dict));
    let nfs = app.options.iter().find(|o| o.name == "nfs").unwrap();
    assert_eq!(
        nfs.description.as_deref(),
        Some("No NFS here.\nUse a local directory.")
    );
    assert_eq!(main.options[1].ty, OptType::Str, "Ansible's default type");
    assert!(s.entry(Some("setup")).is_some());
    // No fallback to `main` for an entry point the spec does not list, as in ansible-core.
    assert!(s.entry(Some("deploy")).is_none());
}

#[test]
fn values_convert_as_ansible_converts_them() {
    let ok = check(
        "name: 5\napp: {port: '8080', debug: 'yes', mode: safe, nfs: no, tags: 'a,b', servers: [{host: h, weight: 2}], db: {address: x}}\nratio: '1.5'\nblob_dir: /srv/b\nanything: [1]\n",
    );
    assert_eq!(ok, vec![]);
    let bad = check(
        "name: x\napp: {port: 80x, debug: maybe, mode: fast2, tags: [a, {b: 1}], ports: [1, x], servers: [{weight: w}], db: {}}\nratio: [1]\n",
    );
    assert_eq!(
        paths(&bad),
        vec![
            "app.port",
            "app.debug",
            "app.mode",
            "app.ports[1]",
            "app.servers[0].weight",
            "app.servers[0].host",
            "app.db.address",
            "ratio"
        ]
    );
    assert!(bad[0].problem.contains("\"80x\" is not an int"), "{bad:?}");
    assert_eq!(bad[2].allowed, "one of: \"fast\", \"safe\"");
}

#[test]
fn a_refused_choice_is_located_and_explained() {
    let v = check("name: x\napp:\n  nfs: true\n");
    assert_eq!(paths(&v), vec!["app.nfs"]);
    assert_eq!((v[0].span.line, v[0].span.col), (3, 8));
    assert_eq!(v[0].allowed, "one of: false");
    assert!(
        v[0].problem
            .contains("true is not one of the allowed values")
    );
    assert!(
        v[0].description
            .as_deref()
            .unwrap()
            .contains("No NFS here.")
    );
}

#[test]
fn unknown_keys_missing_required_and_templates() {
    let v = check("app: {prot: 1}\n");
    assert_eq!(paths(&v), vec!["app.prot", "name"]);
    assert!(v[0].allowed.contains("`port`"), "{v:?}");
    // Templated values are rendered per host later; nulls are not type-checked.
    let v = check("name: x\napp: {port: '{{ p }}', db: '{{ db }}', debug: null}\n");
    assert_eq!(v, vec![]);
    let s = specs();
    let setup = s.entry(Some("setup")).unwrap();
    assert_eq!(check_entry(setup, &[], false, &Span::unknown()), vec![]);
    assert_eq!(check_entry(setup, &[], true, &Span::unknown()).len(), 1);
}

#[test]
fn specs_in_meta_main_and_spec_errors_are_located() {
    let d = role(
        "main",
        &[(
            "meta/main.yml",
            "galaxy_info: {}\nargument_specs:\n  main:\n    options:\n      x: {type: int}\n",
        )],
    );
    assert_eq!(
        load(&d).unwrap().unwrap().entries[0].options[0].ty,
        OptType::Int
    );
    assert!(
        load(&role("none", &[("meta/main.yml", "{}\n")]))
            .unwrap()
            .is_none()
    );
    let d = role(
        "bad",
        &[(
            "meta/argument_specs.yml",
            "argument_specs:\n  main:\n    options:\n      x: {type: integer, reqired: true}\n      y: {aliases: [z]}\n",
        )],
    );
    let e: Vec<String> = load(&d).unwrap_err().iter().map(|d| d.render()).collect();
    let e = e.join("\n");
    assert!(e.contains("unknown option type `integer`"), "{e}");
    assert!(e.contains("unknown key `reqired` in option `x`"), "{e}");
    assert!(e.contains("strata does not check `aliases`"), "{e}");
    assert!(e.contains("argument_specs.yml:4:"), "{e}");
}

#[test]
fn the_diagnostic_names_the_path_allowed_values_and_reason() {
    let s = specs();
    let v = check("name: x\napp:\n  nfs: true\n");
    let d = diagnostic(
        &v[0],
        "attribute",
        "test",
        &s,
        &["setup".into(), "main".into()],
    );
    let r = d.render();
    assert!(
        r.contains("attribute `app.nfs` is refused by role `test`'s argument spec"),
        "{r}"
    );
    assert!(r.contains("^^^^ allowed: one of: false"), "{r}");
    assert!(
        r.contains("= note: `app.nfs`: No NFS here.\n          Use a local directory."),
        "{r}"
    );
    assert!(r.contains("entry points `setup`, `main`"), "{r}");
}
