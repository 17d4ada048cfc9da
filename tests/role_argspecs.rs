//! Role argument specs (`meta/argument_specs.yml`) checked by `strata stack` when the stack
//! is loaded: a value a role's spec refuses is an input error at the node that set it (exit
//! 5), explained by the option's description, and no host is contacted. The instance source
//! points at a listener that counts connections: it must see none.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::validation::Case;

/// `strata stack -f <dir>/stack.yml <args>` from the stack's directory: (exit code, stderr).
fn stack(c: &Case, args: &[&str], roles_path: Option<&Path>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.current_dir(&c.dir)
        .args(["stack", "-f", "stack.yml"])
        .args(args)
        .env_remove("ANSIBLE_CONFIG");
    if let Some(p) = roles_path {
        cmd.env("ANSIBLE_ROLES_PATH", p);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The listener's host as the one instance of `group`.
fn inventory(c: &Case, group: &str) {
    c.file(
        "inv.yml",
        &format!(
            "{group}:\n  hosts:\n    target:\n      ansible_host: 127.0.0.1\n      ansible_port: {}\n      ansible_user: root\n",
            c.port
        ),
    );
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const WEB_SPEC: &str = r#"argument_specs:
  setup:
    short_description: Web server
    options:
      web:
        type: dict
        options:
          port: {type: int}
          mode:
            type: str
            choices: [safe, fast]
            description: fast mode needs a kernel module the lab hosts lack.
  configure:
    options:
      web:
        type: dict
        options:
          port: {type: int}
          mode: {type: str}
"#;

fn web_project(name: &str, attributes: &str) -> Case {
    let c = Case::new(name);
    inventory(&c, "web");
    write(&c.dir, "roles/web/meta/argument_specs.yml", WEB_SPEC);
    write(&c.dir, "roles/web/tasks/setup.yml", "- debug: msg=setup\n");
    write(
        &c.dir,
        "roles/web/tasks/configure.yml",
        "- debug: msg=configure\n",
    );
    c.file(
        "stack.yml",
        &format!("name: specs\ninstances: {{inventory: [inv.yml]}}\n{attributes}layers:\n  web:\n    roles: [web]\n"),
    );
    c
}

#[test]
fn a_stack_attribute_a_role_spec_refuses_is_located_and_explained() {
    let c = web_project(
        "attr",
        "attributes:\n  web:\n    port: 8080\n    mode: turbo\n",
    );
    let (code, err) = stack(&c, &["sync"], None);
    assert_eq!(code, 5, "{err}");
    let at = "--> stack.yml:6:11";
    assert!(err.contains(at), "expected {at} in:\n{err}");
    assert!(
        err.contains("attribute `web.mode` is refused by role `web`'s argument spec: \"turbo\" is not one of the allowed values"),
        "{err}"
    );
    assert!(
        err.contains("^^^^^ allowed: one of: \"safe\", \"fast\""),
        "{err}"
    );
    assert!(
        err.contains("= note: `web.mode`: fast mode needs a kernel module"),
        "{err}"
    );
    // Only the `setup` entry point lists choices: `configure` accepts the value.
    assert!(
        err.contains("checked against entry point `setup` of"),
        "{err}"
    );
    assert!(err.contains("no host was contacted"), "{err}");
    c.assert_no_host_contacted();
}

#[test]
fn types_cli_attributes_and_role_defaults_are_checked_where_they_are_written() {
    let c = web_project("cli", "");
    let (code, err) = stack(
        &c,
        &["sync", "--attributes", r#"{"web": {"port": "80x"}}"#],
        None,
    );
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("--> --attributes:1:19"), "{err}");
    assert!(err.contains("`web.port` is refused"), "{err}");
    assert!(err.contains("\"80x\" is not an int"), "{err}");
    c.assert_no_host_contacted();

    // A role default is what the role sees when nothing sets the variable.
    write(
        &c.dir,
        "roles/web/defaults/main.yml",
        "web:\n  mode: warp\n",
    );
    let (code, err) = stack(&c, &["status"], None);
    assert_eq!(code, 5, "{err}");
    let at = "--> ./roles/web/defaults/main.yml:2:9";
    assert!(
        err.contains(at) && err.contains("role default `web.mode`"),
        "{err}"
    );
    // An attribute replaces the default, and a template is left to the host.
    let text = std::fs::read_to_string(c.dir.join("stack.yml")).unwrap();
    c.file(
        "stack.yml",
        &text.replace("layers:", "attributes: {web: {mode: '{{ m }}'}}\nlayers:"),
    );
    let (code, err) = stack(&c, &["status"], None);
    assert_eq!(code, 0, "{err}");
    c.assert_no_host_contacted();
}

/// The real `roles/plone_instance`, or, until its tasks files exist, a copy of its spec with
/// stub tasks files (the spec is what is tested here).
fn plone_roles(c: &Case) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("roles");
    if repo.join("plone_instance/tasks/setup.yml").is_file() {
        return repo;
    }
    let roles = c.dir.join("plone-roles");
    let spec =
        std::fs::read_to_string(repo.join("plone_instance/meta/argument_specs.yml")).unwrap();
    write(&roles, "plone_instance/meta/argument_specs.yml", &spec);
    for event in ["setup", "deploy", "configure"] {
        write(
            &roles,
            &format!("plone_instance/tasks/{event}.yml"),
            "- debug: msg=stub\n",
        );
    }
    roles
}

/// The seed's Custom JSON from issue 15, as the stack's attributes.
const SEED: &str = r#"attributes:
  {"plone_instances": {"nfs_blobs": true},
   "deploy": {"plone_instances": {"buildout_extends": ["cfg/sources.cfg"],
                                  "buildout_additional_config": "[client1]\nuser=admin:**change-me**"},
              "zeoserver": {"buildout_extends": ["cfg/sources.cfg"]}}}
"#;

fn plone_stack(c: &Case, attributes: &str) {
    c.file(
        "stack.yml",
        &format!(
            "name: plone\ninstances: {{inventory: [inv.yml]}}\n{attributes}layers:\n  zeoserver: {{}}\n  plone_instances:\n    roles: [plone_instance]\napps:\n  plone_instances: {{layers: [plone_instances], type: buildout}}\n"
        ),
    );
}

#[test]
fn the_seed_custom_json_is_refused_for_nfs_blobs_before_any_host_is_contacted() {
    let c = Case::new("seed");
    inventory(&c, "plone_instances");
    let roles = plone_roles(&c);
    plone_stack(&c, SEED);
    let (code, err) = stack(&c, &["sync"], Some(&roles));
    assert_eq!(code, 5, "{err}");
    let at = "--> stack.yml:4:37";
    assert!(err.contains(at), "expected {at} in:\n{err}");
    assert!(
        err.contains("attribute `plone_instances.nfs_blobs` is refused by role `plone_instance`'s argument spec: true is not one of the allowed values"),
        "{err}"
    );
    assert!(err.contains("allowed: one of: false"), "{err}");
    assert!(err.contains("/proc/filesystems"), "the why:\n{err}");
    assert!(err.contains("plone_blobs.blob_dir"), "the way out:\n{err}");
    assert_eq!(err.matches("error: ").count(), 1, "reported once:\n{err}");
    c.assert_no_host_contacted();

    // The same JSON without `nfs_blobs`, and with a shared blob directory, passes.
    let seed = SEED.replace(
        r#"{"plone_instances": {"nfs_blobs": true},"#,
        r#"{"plone_instances": {}, "plone_blobs": {"blob_dir": "/mnt/shared/blobs/blobstorage"},"#,
    );
    plone_stack(&c, &seed);
    let (code, err) = stack(&c, &["status"], Some(&roles));
    assert_eq!(code, 0, "{err}");
    c.assert_no_host_contacted();
}

/// `strata playbook`: a literal role parameter is known at load time (only `-e` beats a role
/// parameter), so a refused one is an input error at its place, before any host is contacted.
#[test]
fn a_playbook_s_literal_role_parameter_is_refused_at_load_time() {
    let c = Case::new("book");
    write(
        &c.dir,
        "roles/web/meta/argument_specs.yml",
        &WEB_SPEC.replace("  setup:", "  main:"),
    );
    write(&c.dir, "roles/web/tasks/main.yml", "- debug: msg=main\n");
    let p = c.file(
        "p.yml",
        "- hosts: all\n  roles:\n    - role: web\n      web: {mode: warp}\n    - role: web\n      vars:\n        web: {port: 80x}\n",
    );
    let err = c.expect_error(
        &p,
        4,
        19,
        "role parameter `web.mode` is refused by role `web`",
    );
    assert!(err.contains("fast mode needs a kernel module"), "{err}");
    assert!(
        err.contains("p.yml:7:21") && err.contains("\"80x\" is not an int"),
        "{err}"
    );
    // `-e` beats a role parameter: its value is the one the role sees, checked on the host.
    let (code, err) = c.run(
        &p,
        &["--syntax-check", "-e", r#"{"web": {"mode": "safe"}}"#],
    );
    assert_eq!(code, 0, "{err}");
    c.assert_no_host_contacted();
}

/// What only a host knows (a template, here rendered from play `vars`) is checked as
/// ansible-core checks it: a `validate_argument_spec` task at the role's start, on every host.
/// Run on this machine (`ansible_connection=local`), next to ansible-playbook.
#[test]
fn a_templated_value_is_refused_when_the_role_starts_as_ansible_does() {
    let c = Case::new("runtime");
    write(
        &c.dir,
        "roles/web/meta/argument_specs.yml",
        &WEB_SPEC.replace("  setup:", "  main:"),
    );
    write(&c.dir, "roles/web/tasks/main.yml", "- debug: msg=main\n");
    c.file(
        "local.ini",
        "here ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n",
    );
    let p = c.file(
        "p.yml",
        "- hosts: all\n  gather_facts: false\n  vars:\n    m: turbo\n    web: {mode: '{{ m }}'}\n  roles: [web]\n",
    );
    let inv = c.dir.join("local.ini");
    let (code, out, err) = c.run_full(&inv, &p, &[]);
    assert_eq!(code, 2, "a failed host\n{out}\n{err}");
    assert!(
        out.contains("TASK [web : Validating arguments against arg spec 'main' - Web server]"),
        "{out}"
    );
    assert!(out.contains("Validation of arguments failed"), "{out}");
    assert!(
        out.contains("web.mode: \\\"turbo\\\" is not one of the allowed values")
            || out.contains("web.mode: \"turbo\" is not one of the allowed values"),
        "{out}"
    );
    assert!(
        !out.contains("msg: main") && !out.contains("\"msg\": \"main\""),
        "the role stopped:\n{out}"
    );

    let ansible = Path::new("/opt/strata-venv/bin/ansible-playbook");
    if ansible.exists() {
        let o = Command::new(ansible)
            .current_dir(&c.dir)
            .args(["-i", "local.ini", "p.yml"])
            .env("ANSIBLE_NOCOLOR", "1")
            .env(
                "ANSIBLE_LOCAL_TEMP",
                std::env::temp_dir().join("strata-ansible-tmp"),
            )
            .output()
            .unwrap();
        let theirs = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(2), "{theirs}");
        assert!(
            theirs.contains("Validating arguments against arg spec 'main' - Web server"),
            "{theirs}"
        );
        assert!(
            theirs.contains("Validation of arguments failed"),
            "{theirs}"
        );
    }

    // Accepted values pass, and the role goes on.
    let p = c.file(
        "p.yml",
        "- hosts: all\n  gather_facts: false\n  vars:\n    m: safe\n    web: {mode: '{{ m }}'}\n  roles: [web]\n",
    );
    let (code, out, err) = c.run_full(&inv, &p, &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("main"), "{out}");
    c.assert_no_host_contacted();
}

/// In a stack, a role entry's literal parameter is checked at its place, and `-e` (which
/// beats it) exempts it.
#[test]
fn a_stack_role_entry_parameter_is_checked_unless_e_overrides_it() {
    let c = web_project("entry", "");
    let text = std::fs::read_to_string(c.dir.join("stack.yml")).unwrap();
    c.file(
        "stack.yml",
        &text.replace(
            "roles: [web]",
            "roles: [{role: web, vars: {web: {port: many}}}]",
        ),
    );
    let (code, err) = stack(&c, &["status"], None);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("--> stack.yml:5:44") && err.contains("role parameter `web.port`"),
        "{err}"
    );
    assert_eq!(err.matches("error: ").count(), 1, "reported once:\n{err}");
    let (code, err) = stack(
        &c,
        &[
            "sync",
            "--check",
            "-e",
            r#"{"web": {"port": 80}}"#,
            "--timeout",
            "2",
        ],
        None,
    );
    assert_ne!(code, 5, "{err}");
    assert!(!err.contains("is refused"), "{err}");
}
