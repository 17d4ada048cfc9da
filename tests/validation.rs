//! Bad input is reported with file:line:col and a caret before any host is contacted. The
//! inventory points at a real TCP listener that counts connections: it must see none.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::validation::Case;

#[test]
fn malformed_yaml() {
    let c = Case::new("yaml");
    let p = c.file(
        "p.yml",
        "- hosts: all\n  tasks:\n    - name: x\n      debug: {msg: [unclosed\n",
    );
    c.expect_error(&p, 4, 20, "malformed YAML: unclosed bracket");
}

#[test]
fn unknown_module() {
    let c = Case::new("module");
    let p = c.file(
        "p.yml",
        "- hosts: all\n  tasks:\n    - name: x\n      copyy:\n        dest: /tmp/x\n",
    );
    c.expect_error(&p, 4, 7, "copyy");
}

#[test]
fn unknown_parameter() {
    let c = Case::new("param");
    let p = c.file("p.yml", "- hosts: all\n  tasks:\n    - copy:\n        content: hi\n        dest: /tmp/x\n        colour: red\n");
    c.expect_error(&p, 6, 9, "colour");
}

#[test]
fn missing_parameter() {
    let c = Case::new("missing");
    let p = c.file(
        "p.yml",
        "- hosts: all\n  tasks:\n    - copy:\n        content: hi\n",
    );
    c.expect_error(&p, 3, 7, "dest");
}

#[test]
fn ill_typed_parameter() {
    let c = Case::new("typed");
    let p = c.file(
        "p.yml",
        "- hosts: all\n  tasks:\n    - file:\n        path: /tmp/x\n        recurse: maybe\n",
    );
    c.expect_error(&p, 5, 18, "recurse");
}

#[test]
fn unknown_keyword() {
    let c = Case::new("keyword");
    let p = c.file(
        "p.yml",
        "- hosts: all\n  tasks:\n    - name: x\n      debug: msg=hi\n      becomes: true\n",
    );
    c.expect_error(&p, 5, 7, "becomes");
}

#[test]
fn unknown_play_keyword() {
    let c = Case::new("playkw");
    let p = c.file("p.yml", "- hosts: all\n  taskz: []\n");
    c.expect_error(&p, 2, 3, "taskz");
}

#[test]
fn bad_jinja_syntax() {
    let c = Case::new("jinja");
    let p = c.file(
        "p.yml",
        "- hosts: all\n  tasks:\n    - debug:\n        msg: \"{{ foo | }}\"\n",
    );
    c.expect_error(&p, 4, 24, "syntax error");
}

#[test]
fn bad_jinja_in_template_file() {
    let c = Case::new("tplfile");
    c.file("templates/t.j2", "line one\n{% if x %}\nno endif\n");
    let p = c.file(
        "p.yml",
        "- hosts: all\n  tasks:\n    - template:\n        src: t.j2\n        dest: /tmp/t\n",
    );
    let (code, err) = c.run(&p, &[]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("t.j2"), "template file named in:\n{err}");
    c.assert_no_host_contacted();
}

#[test]
fn undefined_variable_in_hosts() {
    let c = Case::new("hosts");
    let p = c.file(
        "p.yml",
        "- hosts: \"{{ target_group }}\"\n  tasks:\n    - debug: msg=hi\n",
    );
    c.expect_error(&p, 1, 14, "'target_group' is undefined");
    // Extra vars are defined before hosts are chosen, so this one resolves (and then runs:
    // the fake listener is not SSH, so the host ends up unreachable).
    let (code, err) = c.run(&p, &["-e", "target_group=all", "--syntax-check"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn syntax_check_contacts_nobody() {
    let c = Case::new("syntax");
    let p = c.file("p.yml", "- hosts: all\n  tasks:\n    - command: uptime\n");
    let (code, err) = c.run(&p, &["--syntax-check"]);
    assert_eq!(code, 0, "{err}");
    c.assert_no_host_contacted();
}

#[test]
fn bad_cli_option_is_exit_5() {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["playbook", "--forks", "0", "-i", "x", "y"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
}

/// An INI inventory whose hosts are real (the listener) but with a malformed line.
fn ini_case(name: &str, tail: &str) -> (Case, PathBuf, PathBuf) {
    let c = Case::new(name);
    let inv = c.file(
        "hosts",
        &format!(
            "[web]\ntarget ansible_host=127.0.0.1 ansible_port={} ansible_user=root\n{tail}",
            c.port
        ),
    );
    let p = c.file("p.yml", "- hosts: all\n  tasks:\n    - ping:\n");
    (c, inv, p)
}

#[test]
fn malformed_ini_host_line() {
    let (c, inv, p) = ini_case("ini-host", "[dbs]\n  db1 port 5432\n");
    let err = c.expect_error_in(
        &inv,
        &p,
        &inv,
        4,
        7,
        "Expected key=value host variable assignment, got: port",
    );
    assert!(err.contains("4 |   db1 port 5432"), "{err}");
}

#[test]
fn malformed_ini_section_and_vars() {
    let (c, inv, p) = ini_case("ini-section", "[web:variables]\nx=1\n");
    c.expect_error_in(&inv, &p, &inv, 3, 6, "has unknown type: variables");
    let (c, inv, p) = ini_case("ini-vars", "[web:vars]\njust words\n");
    c.expect_error_in(&inv, &p, &inv, 4, 1, "Expected key=value, got: just words");
    let (c, inv, p) = ini_case("ini-undeclared", "[db:vars]\nx=1\n");
    c.expect_error_in(&inv, &p, &inv, 3, 1, "not valid for undefined group 'db'");
}

#[test]
fn malformed_group_vars_file() {
    let (c, inv, p) = ini_case("ini-gv", "");
    std::fs::create_dir_all(c.dir.join("group_vars")).unwrap();
    let gv = c.file("group_vars/web.yml", "port: 1\n- oops\n");
    c.expect_error_in(&inv, &p, &gv, 2, 3, "malformed YAML");
    let (c, inv, p) = ini_case("ini-gv-list", "");
    std::fs::create_dir_all(c.dir.join("host_vars")).unwrap();
    let hv = c.file("host_vars/target", "- a\n- b\n");
    c.expect_error_in(&inv, &p, &hv, 1, 1, "must be a mapping");
}

/// Every parameter strata implements only at Ansible's default (the README's table of
/// unsupported parameters) refuses any other value with its location, before any host is
/// contacted; free-form modules take it through `args`.
#[test]
fn parameters_supported_only_at_their_default() {
    let c = Case::new("only-default");
    c.file("s.sh", "#!/bin/sh\necho hi\n");
    let cases = [
        (
            "get_url.yml",
            "    - get_url:\n        url: http://example.invalid/f\n        dest: /tmp/f\n        use_proxy: false\n",
            (6, 20),
            "`get_url`: strata does not implement `use_proxy: False`; only Ansible's default `use_proxy: true`",
        ),
        (
            "uri.yml",
            "    - uri:\n        url: http://example.invalid/\n        use_proxy: no\n",
            (5, 20),
            "`uri`: strata does not implement `use_proxy: False`",
        ),
        (
            "script.yml",
            "    - script: s.sh\n      args:\n        decrypt: false\n",
            (5, 18),
            "`script`: strata does not implement `decrypt: False`; only Ansible's default `decrypt: true`",
        ),
        (
            "unarchive_decrypt.yml",
            "    - unarchive:\n        src: /tmp/a.tgz\n        dest: /tmp\n        remote_src: true\n        decrypt: false\n",
            (7, 18),
            "`unarchive`: strata does not implement `decrypt: False`",
        ),
        (
            "unarchive_buffer.yml",
            "    - unarchive: src=/tmp/a.tgz dest=/tmp remote_src=true io_buffer_size=1024\n",
            (3, 74),
            "`unarchive`: strata does not implement `io_buffer_size: 1024`; only Ansible's default `io_buffer_size: 65536`",
        ),
        (
            "setup.yml",
            "    - setup:\n        fact_path: /srv/facts\n",
            (4, 20),
            "`setup`: strata does not implement `fact_path: /srv/facts`; only Ansible's default `fact_path: /etc/ansible/facts.d`",
        ),
    ];
    for (name, tasks, (line, col), needle) in cases {
        let p = c.file(name, &format!("- hosts: all\n  tasks:\n{tasks}"));
        c.expect_error(&p, line, col, needle);
    }
}
