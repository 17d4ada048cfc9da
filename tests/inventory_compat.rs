//! `strata inventory` against ansible-core 2.19's `ansible-inventory` on the same sources
//! (`tests/fixtures/inventory/`): INI and YAML files with ranges, nested children, inline and
//! `[g:vars]` variables, group_vars/host_vars as files and directories, a directory source,
//! repeated `-i`, `--playbook-dir` and every `--limit` pattern form. `--list` and `--host` are
//! compared as parsed JSON (key order ignored), `--graph` as text. No lab needed.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const ANSIBLE_INVENTORY: &str = "/opt/strata-venv/bin/ansible-inventory";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inventory")
}

/// Runs a command in the fixtures directory; panics unless it exits 0. Returns stdout.
fn run(mut cmd: Command, what: &str) -> String {
    let out = cmd
        .current_dir(fixtures())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn ansible(args: &[&str]) -> String {
    assert!(
        Path::new(ANSIBLE_INVENTORY).exists(),
        "{ANSIBLE_INVENTORY} is missing: these tests compare with ansible-core 2.19 (.ci/run installs it)"
    );
    let mut cmd = Command::new(ANSIBLE_INVENTORY);
    cmd.args(args)
        // A source Ansible cannot parse must fail the test, not become an empty inventory.
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "1")
        .env("ANSIBLE_NOCOLOR", "1")
        .env(
            "ANSIBLE_LOCAL_TEMP",
            std::env::temp_dir().join("strata-ansible-tmp"),
        );
    run(cmd, &format!("ansible-inventory {args:?}"))
}

fn strata(args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.arg("inventory").args(args);
    run(cmd, &format!("strata inventory {args:?}"))
}

fn parse(text: &str, who: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{who} printed no JSON ({e}):\n{text}"))
}

/// Same groups, hosts per group, children and hostvars (key order aside).
fn same_json(args: &[&str]) -> Value {
    let a = parse(&ansible(args), "ansible-inventory");
    let s = parse(&strata(args), "strata");
    assert_eq!(
        s,
        a,
        "strata inventory {args:?} differs from ansible-inventory\nstrata:\n{}\nansible:\n{}",
        serde_json::to_string_pretty(&s).unwrap(),
        serde_json::to_string_pretty(&a).unwrap()
    );
    a
}

fn same_text(args: &[&str]) {
    assert_eq!(strata(args), ansible(args), "output of {args:?}");
}

fn hostvars<'a>(list: &'a Value, host: &str) -> &'a Value {
    &list["_meta"]["hostvars"][host]
}

#[test]
fn ini_file_list_host_and_graph() {
    let list = same_json(&["-i", "ini/hosts", "--list"]);
    // Sanity: the comparison covers what it should, and Ansible's layering is visible.
    let web01 = hostvars(&list, "web01.example.com");
    assert_eq!(web01["http_port"], 9090, "host_vars file beats inline vars");
    assert_eq!(
        web01["nginx_workers"], 4,
        "group_vars/web/ directory, sorted"
    );
    assert_eq!(web01["role"], "db_from_json", "dbs has the higher priority");
    assert_eq!(hostvars(&list, "web-a")["tier"], "front end");
    assert_eq!(hostvars(&list, "mon1.example.com")["role"], "prod");
    assert_eq!(list["web"]["hosts"].as_array().unwrap().len(), 7);
    same_json(&["-i", "ini/hosts", "--host", "web01.example.com"]);
    same_json(&["-i", "ini/hosts", "--host", "db2.example.com"]);
    same_json(&["-i", "ini/hosts", "--host", "bastion.example.com"]);
    same_text(&["-i", "ini/hosts", "--graph"]);
    same_text(&["-i", "ini/hosts", "--graph", "app"]);
    same_text(&["-i", "ini/hosts", "--graph", "--vars"]);
}

#[test]
fn yaml_file_with_ranges_and_nested_children() {
    let list = same_json(&["-i", "yaml/hosts.yml", "--list"]);
    assert_eq!(hostvars(&list, "eu-app-a.example.org")["release"], 1.2);
    same_json(&["-i", "yaml/hosts.yml", "--host", "app-06.example.org"]);
    same_text(&["-i", "yaml/hosts.yml", "--graph"]);
    same_text(&["-i", "yaml/hosts.yml", "--graph", "--vars"]);
}

#[test]
fn directory_source() {
    let list = same_json(&["-i", "dir", "--list"]);
    assert_eq!(hostvars(&list, "b1")["x"], "from_host_vars");
    assert_eq!(hostvars(&list, "n1")["dirvar"], "all");
    same_text(&["-i", "dir", "--graph"]);
}

#[test]
fn repeated_sources_merge() {
    let list = same_json(&[
        "-i",
        "ini/hosts",
        "-i",
        "yaml/hosts.yml",
        "-i",
        "dir",
        "--list",
    ]);
    assert!(list["app"]["children"].as_array().unwrap().len() >= 4);
    same_text(&["-i", "yaml/hosts.yml", "-i", "ini/hosts", "--graph"]);
}

#[test]
fn playbook_dir_vars() {
    let args = ["-i", "ini/hosts", "--playbook-dir", "play"];
    let list = same_json(&[&args[..], &["--list"]].concat());
    assert_eq!(
        hostvars(&list, "web01.example.com")["own"],
        "from_playbook_dir"
    );
    same_json(&[&args[..], &["--host", "web02.example.com"]].concat());
}

#[test]
fn limit_patterns() {
    for limit in [
        "web:dbs",
        "web,monitoring",
        "web:&dbs",
        "app:!dbs",
        "all:!app",
        "web*",
        "*.example.com:!web0[12]*",
        "~web\\d+",
        "~(db|mon)",
        "web[0:2]",
        "web[1]",
        "web[-1]",
        "web[1:]",
        "prod:&web[0:1]",
        "web[0:2]:dbs[0]",
        "@limit.txt",
    ] {
        let list = same_json(&["-i", "ini/hosts", "--list", "--limit", limit]);
        assert!(
            !list["_meta"]["hostvars"].as_object().unwrap().is_empty(),
            "limit {limit} selected nothing: the comparison would be vacuous"
        );
    }
}
