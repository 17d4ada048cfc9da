//! `strata inventory` against ansible-core 2.19's `ansible-inventory` on the same sources
//! (`tests/fixtures/inventory/`): INI and YAML files with ranges, nested children, inline and
//! `[g:vars]` variables, group_vars/host_vars as files and directories, a directory source,
//! repeated `-i`, `--playbook-dir` and every `--limit` pattern form. `--list` and `--host` are
//! compared as parsed JSON (key order ignored), `--graph` as text. No lab needed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::inventory_cli::{self as cli, ANSIBLE_INVENTORY, parse};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inventory")
}

fn run(cmd: Command, what: &str) -> String {
    cli::run(cmd, &fixtures(), what)
}

fn ansible(args: &[&str]) -> String {
    cli::ansible(&fixtures(), args)
}

fn strata(args: &[&str]) -> String {
    cli::strata(&fixtures(), args)
}

fn same_json(args: &[&str]) -> Value {
    cli::same_json(&fixtures(), "", args)
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

/// `host => msg` of every debug result, from ansible-playbook's default output.
fn ansible_debug_msgs(stdout: &str) -> std::collections::BTreeMap<String, String> {
    let re = regex::Regex::new(r#"ok: \[([^\]]+)\] => \{\n\s+"msg": "(.*)"\n\}"#).unwrap();
    re.captures_iter(stdout)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect()
}

/// The same from strata's `--json` events.
fn strata_debug_msgs(stdout: &str) -> std::collections::BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "host_result")
        .map(|e| {
            let msg = e["result"]["msg"].as_str().unwrap_or_default().to_string();
            (e["host"].as_str().unwrap().to_string(), msg)
        })
        .collect()
}

/// A play sees inventory-adjacent and playbook-adjacent group_vars/host_vars with Ansible's
/// precedence. `ansible_connection=local` makes every inventory host run on this machine, and
/// the task is a `debug`, so nothing is changed.
#[test]
fn playbook_sees_adjacent_vars_like_ansible() {
    let args = [
        "-i",
        "ini/hosts",
        "play/site.yml",
        "-e",
        "ansible_connection=local",
        "--limit",
        "web0[12]*,db1*,web-a",
    ];
    let mut cmd = Command::new(ANSIBLE_INVENTORY.replace("ansible-inventory", "ansible-playbook"));
    cmd.args(args).env("ANSIBLE_NOCOLOR", "1").env(
        "ANSIBLE_LOCAL_TEMP",
        std::env::temp_dir().join("strata-ansible-tmp"),
    );
    let theirs = ansible_debug_msgs(&run(cmd, "ansible-playbook"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.arg("playbook").args(args).arg("--json");
    let ours = strata_debug_msgs(&run(cmd, "strata playbook"));
    assert_eq!(theirs.len(), 4, "{theirs:?}");
    assert_eq!(
        theirs["web01.example.com"],
        "db_from_json from_playbook_dir 1 9090 4"
    );
    assert_eq!(ours, theirs);
}

/// The hosts a play runs on under `--limit`, as ansible-playbook lists them.
#[test]
fn list_hosts_with_limit_matches_ansible_playbook() {
    for limit in ["app:!web[1:]", "~db.*:monitoring", "@limit.txt"] {
        let args = [
            "-i",
            "ini/hosts",
            "play/site.yml",
            "--list-hosts",
            "--limit",
            limit,
        ];
        let mut cmd =
            Command::new(ANSIBLE_INVENTORY.replace("ansible-inventory", "ansible-playbook"));
        cmd.args(args).env("ANSIBLE_NOCOLOR", "1");
        let theirs = run(cmd, "ansible-playbook --list-hosts");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
        cmd.arg("playbook").args(args);
        let ours = run(cmd, "strata playbook --list-hosts");
        // ansible-playbook prints --list-hosts from a Python set: compare sorted.
        let hosts = |s: &str| -> Vec<String> {
            let mut v: Vec<String> = s
                .lines()
                .skip_while(|l| !l.trim_start().starts_with("hosts ("))
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect();
            v.sort();
            v
        };
        assert!(hosts(&theirs).len() > 1, "{theirs}");
        assert_eq!(hosts(&ours), hosts(&theirs), "--limit {limit}");
    }
}

/// Hosts run in the order the pattern finds them (`hosts: dbs:web` runs `dbs` first), as
/// ansible-playbook's `order: inventory` does: compared through the order of debug results
/// with one fork.
#[test]
fn play_host_order_follows_the_pattern() {
    let book = strata::scratch::root().join(format!("strata-order-{}.yml", std::process::id()));
    std::fs::write(
        &book,
        "- hosts: monitoring:dbs:web-a\n  gather_facts: false\n  tasks:\n    - debug: msg=x\n",
    )
    .unwrap();
    let book = book.to_str().unwrap();
    let args = [
        "-i",
        "ini/hosts",
        book,
        "-e",
        "ansible_connection=local",
        "-f",
        "1",
    ];
    let mut cmd = Command::new(ANSIBLE_INVENTORY.replace("ansible-inventory", "ansible-playbook"));
    cmd.args(args).env("ANSIBLE_NOCOLOR", "1");
    let theirs: Vec<String> = run(cmd, "ansible-playbook")
        .lines()
        .filter_map(|l| l.strip_prefix("ok: ["))
        .map(|l| l.split(']').next().unwrap().to_string())
        .collect();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.arg("playbook").args(args).arg("--list-hosts");
    let ours: Vec<String> = run(cmd, "strata playbook --list-hosts")
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("hosts ("))
        .skip(1)
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(theirs.len(), 5, "{theirs:?}");
    assert_eq!(ours, theirs);
}

/// YAML text as Ansible reads it (PyYAML, YAML 1.1), turned into JSON for comparison.
fn pyyaml(text: &str) -> Value {
    use std::io::Write;
    let mut child = Command::new("/opt/strata-venv/bin/python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the ansible venv's python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "PyYAML cannot read:\n{text}");
    parse(&String::from_utf8_lossy(&out.stdout), "PyYAML")
}

/// `-y`: the same document once PyYAML has read it (quoting style may differ).
#[test]
fn yaml_output() {
    for args in [
        &["-i", "ini/hosts", "--list", "-y"][..],
        &["-i", "ini/hosts", "--list", "-y", "--limit", "web[0:2]:dbs"],
        &["-i", "ini/hosts", "--host", "db1.example.com", "-y"],
        &["-i", "yaml/hosts.yml", "-i", "dir", "--list", "-y"],
    ] {
        let theirs = pyyaml(&ansible(args));
        let ours = pyyaml(&strata(args));
        assert!(theirs.is_object(), "{theirs}");
        assert_eq!(ours, theirs, "{args:?}");
    }
}
