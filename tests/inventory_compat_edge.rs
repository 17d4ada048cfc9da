//! `strata inventory` against ansible-core 2.19's `ansible-inventory` on inventories written
//! the way users write them, with the corners that tripped strata up or could:
//! `tests/fixtures/inventory/edge/<case>/`. Range steps, letters and several ranges in one
//! name, IPv6 and `host:port`, `[g:vars]` before `[g]`, empty and children-only groups, INI
//! values of every Python literal form, YAML 1.1 scalars (`1:30`, `0o17`, `1e3`), quoted numeric
//! YAML keys, group priority and depth ties, group_vars/host_vars directories with ignored
//! files, a directory source, and `--limit` forms. JSON is compared parsed (key order
//! ignored), `--graph` as text.

mod common;

use std::path::{Path, PathBuf};

use common::inventory_cli::{ansible, strata};
use serde_json::Value;

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inventory/edge")
        .join(name)
}

fn same_json(name: &str, args: &[&str]) -> Value {
    common::inventory_cli::same_json(&case(name), &format!("{name}: "), args)
}

fn same_text(name: &str, args: &[&str]) {
    let dir = case(name);
    assert_eq!(
        strata(&dir, args),
        ansible(&dir, args),
        "{name}: output of {args:?}"
    );
}

fn hostvars<'a>(list: &'a Value, host: &str) -> &'a Value {
    &list["_meta"]["hostvars"][host]
}

#[test]
fn edge_ini_syntax() {
    let list = same_json("ini_syntax", &["-i", "hosts", "--list"]);
    assert_eq!(hostvars(&list, "2001:db8::1")["ansible_port"], 2222);
    assert_eq!(
        hostvars(&list, "web07.example.com")["declared_before"],
        "yes"
    );
    assert_eq!(hostvars(&list, "db1")["d"], serde_json::json!({"z": 3}));
    for host in ["db1", "2001:db8::1", "esc", "web01.example.com", "node2-y"] {
        same_json("ini_syntax", &["-i", "hosts", "--host", host]);
    }
    same_text("ini_syntax", &["-i", "hosts", "--graph"]);
    same_text("ini_syntax", &["-i", "hosts", "--graph", "--vars"]);
    same_text(
        "ini_syntax",
        &["-i", "hosts", "--graph", "only-kids", "--vars"],
    );
}

#[test]
fn edge_ini_values() {
    let list = same_json("ini_values", &["-i", "hosts", "--list"]);
    assert_eq!(hostvars(&list, "h1")["g"], -31);
    assert_eq!(hostvars(&list, "h1")["l"], "0777");
}

#[test]
fn edge_ranges_and_ports() {
    let list = same_json("ranges_ports", &["-i", "hosts", "--list"]);
    assert_eq!(
        hostvars(&list, "h1")["ansible_port"],
        2201,
        "first port wins"
    );
    assert!(list["g1"]["hosts"].as_array().unwrap().len() > 10);
    same_text("ranges_ports", &["-i", "hosts", "--graph"]);
}

#[test]
fn edge_priority_depth_and_name_ties() {
    let list = same_json("priority", &["-i", "hosts", "--list"]);
    assert_eq!(hostvars(&list, "h1")["w"], "c", "the deeper group wins");
    assert_eq!(
        hostvars(&list, "h1")["q"],
        "z",
        "same depth: the later name wins"
    );
    assert_eq!(
        hostvars(&list, "h1")["y"],
        "gv_b",
        "group_vars files beat the file"
    );
    for host in ["h1", "h2", "h3"] {
        same_json("priority", &["-i", "hosts", "--host", host]);
    }
    same_text("priority", &["-i", "hosts", "--graph", "--vars"]);
    same_json("priority", &["-i", "h.yml", "-i", "hosts", "--list"]);
}

#[test]
fn edge_yaml_syntax() {
    let list = same_json("yaml_syntax", &["-i", "a.yml", "-i", "b.yaml", "--list"]);
    assert_eq!(hostvars(&list, "solo")["v"], 2, "the later definition wins");
    assert_eq!(hostvars(&list, "::1")["ansible_port"], 2222);
    same_json("yaml_syntax", &["-i", ".", "--list"]);
    same_json("yaml_syntax", &["-i", "a.yml", "--host", "web01.ex.com"]);
    same_text(
        "yaml_syntax",
        &["-i", "a.yml", "-i", "b.yaml", "--graph", "--vars"],
    );
    same_text("yaml_syntax", &["-i", "a.yml", "--graph", "web"]);
}

/// YAML 1.1 as PyYAML reads it: `1:30` is 90, `0o17` and `1e3` are strings, `1_000` is 1000.
#[test]
fn edge_yaml_scalars() {
    let list = same_json("yaml_scalars", &["-i", "hosts", "--list"]);
    let h = hostvars(&list, "h");
    assert_eq!(h["a6"], 90);
    assert_eq!(h["a1"], "0o17");
    assert_eq!(h["a9"], "1e3");
}

/// Anchors, aliases and `<<` merges, tags (`!!str 123`), block and multi-line scalars.
#[test]
fn edge_yaml_anchors_tags_and_merges() {
    let list = same_json("yaml_anchors", &["-i", "inv.yml", "--list"]);
    assert_eq!(hostvars(&list, "d1")["k"], "123");
    assert_eq!(
        hostvars(&list, "d2")["z"],
        "0o17",
        "an alias of a YAML 1.1 string"
    );
    assert_eq!(hostvars(&list, "w3")["extra"], 1);
}

/// `--graph --vars` prints Python reprs: quotes, escapes, `None`, `1.5e-07`.
#[test]
fn edge_graph_vars_repr() {
    same_text("repr_values", &["-i", "hosts", "--graph", "--vars"]);
    same_json("repr_values", &["-i", "hosts", "--list"]);
}

/// A host defined again in another group or source: the later definition replaces a
/// variable whole (dicts are not merged); INI and YAML sources in either order.
#[test]
fn edge_host_redefined_across_sources() {
    same_json("host_redefined", &["-i", "a.yml", "-i", "b.ini", "--list"]);
    same_json(
        "host_redefined",
        &["-i", "b.ini", "-i", "a.yml", "--host", "h1"],
    );
}

/// `[all]`, `[all:children]`, `[ungrouped]` sections, string priorities, and group_vars beside
/// a second source applying to a group the first one declares.
#[test]
fn edge_sources_in_two_dirs() {
    same_json("two_dirs", &["-i", "A/hosts", "-i", "B/inv.yml", "--list"]);
    same_text("two_dirs", &["-i", "B/inv.yml", "-i", "A/hosts", "--graph"]);
}

#[test]
fn edge_yaml_keys() {
    same_json("yaml_keys", &["-i", "inv.yml", "--list"]);
    same_text("yaml_keys", &["-i", "inv.yml", "--graph"]);
}

#[test]
fn edge_directory_source() {
    let list = same_json("dir_source", &["-i", ".", "--list"]);
    assert!(list.get("retryg").is_none() && list.get("tilde").is_none());
    same_text("dir_source", &["-i", ".", "--graph"]);
}

#[test]
fn edge_vars_files() {
    let list = same_json("vars_files", &["-i", "hosts", "--list"]);
    assert_eq!(
        hostvars(&list, "h2")["sub"],
        1,
        "group_vars/g2/sub/deep.yml"
    );
}

#[test]
fn edge_limit_patterns() {
    for (name, src, limit) in [
        ("ini_syntax", "hosts", "web*:&prod:!web04*"),
        ("ini_syntax", "hosts", "~(web|db)[0-9]"),
        ("ini_syntax", "hosts", "all[-1]"),
        ("ini_syntax", "hosts", "web[1:]"),
        ("ini_syntax", "hosts", "@lim.txt"),
        ("ini_syntax", "hosts", "db1,db2:db3"),
        ("ini_syntax", "hosts", "app:!web:&db"),
        ("ini_syntax", "hosts", "2001:db8::1"),
        ("ini_syntax", "hosts", "10.0.0.*"),
        ("ini_syntax", "hosts", "!db"),
        ("yaml_syntax", "a.yml", "~(web|db)0[12]"),
        ("yaml_syntax", "a.yml", "web[-2:-1]"),
        ("yaml_syntax", "a.yml", "web[0:100]"),
        ("yaml_syntax", "a.yml", "@lim.retry"),
        ("yaml_syntax", "a.yml", "db:&web_eu"),
        ("yaml_syntax", "a.yml", "w*:!*ex.com"),
    ] {
        same_json(name, &["-i", src, "--list", "--limit", limit]);
    }
}
