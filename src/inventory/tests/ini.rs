//! INI inventories, directory sources and group_vars/host_vars files. Expected values were
//! checked against ansible-inventory 2.19 (tests/inventory_compat.rs compares them live).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use super::super::*;

/// Static sources need no options.
fn load(sources: &[PathBuf]) -> Result<Inventory, crate::diagnostic::Diagnostic> {
    super::load(sources, &LoadOptions::default())
}

fn tmpdir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = crate::scratch::root().join(format!(
        "strata-inv-ini-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn put(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn ini(text: &str) -> Inventory {
    let p = put(&tmpdir(), "hosts.ini", text);
    load(&[p]).unwrap_or_else(|d| panic!("{}", d.render()))
}

fn ini_err(text: &str) -> Diagnostic {
    let p = put(&tmpdir(), "hosts", text);
    load(&[p]).unwrap_err()
}

fn hosts_of(i: &Inventory, g: &str) -> Vec<String> {
    i.group(g).unwrap().hosts.clone()
}

use crate::diagnostic::Diagnostic;

#[test]
fn sections_ranges_and_ungrouped() {
    let i = ini(
        "# top\nloose a=1\n; also a comment\n[web]\nweb[01:03].ex:2222\ndb-[a:b]\n\
         [dbs]\ndb-a\n[prod:children]\nweb\ndbs # c\n",
    );
    assert_eq!(hosts_of(&i, "ungrouped"), ["loose"]);
    assert_eq!(
        hosts_of(&i, "web"),
        ["web01.ex", "web02.ex", "web03.ex", "db-a", "db-b"]
    );
    assert_eq!(i.group("prod").unwrap().children, ["web", "dbs"]);
    assert_eq!(i.group("all").unwrap().children, ["ungrouped", "prod"]);
    assert_eq!(i.host_vars("web02.ex")["ansible_port"], json!(2222));
    assert_eq!(i.host_vars("loose")["a"], json!(1));
}

#[test]
fn values_are_python_literals() {
    let i = ini(
        "[g]\nh n=80 b=True s=\"a b\" l=[1,'x'] y=yes z=010 none=None\n\
         [g:vars]\nq = \"quoted\"\nw = val # not a comment\nlst = [1, 2]\n",
    );
    let v = i.host_vars("h");
    assert_eq!(v["n"], json!(80));
    assert_eq!(v["b"], json!(true));
    assert_eq!(v["s"], json!("a b"));
    // shlex strips the quotes first, so this is not a list any more.
    assert_eq!(v["l"], json!("[1,x]"));
    assert_eq!(v["y"], json!("yes"));
    assert_eq!(v["z"], json!("010"));
    assert_eq!(v["none"], Value::Null);
    assert_eq!(v["q"], json!("quoted"));
    assert_eq!(v["w"], json!("val # not a comment"));
    assert_eq!(v["lst"], json!([1, 2]));
}

#[test]
fn declarations_may_come_later() {
    let i = ini("[p:children]\nc\n[c:vars]\nx=1\n[c]\nh\n[late:vars]\ny=2\n[late]\n");
    assert_eq!(i.group("p").unwrap().children, ["c"]);
    assert_eq!(i.host_vars("h")["x"], json!(1));
    assert!(i.group("late").unwrap().vars.contains_key("y"));
    let i = ini("[a:children]\nb\n[b:children]\nc\n[c]\nh\n");
    assert_eq!(i.group_names_of("h"), ["a", "b", "c"]);
}

#[test]
fn malformed_lines_are_located() {
    let e = ini_err("[web]\nweb1\n  web2 oops\n");
    assert_eq!((e.span.line, e.span.col, e.span.len), (3, 8, 4));
    assert!(
        e.message
            .contains("Expected key=value host variable assignment, got: oops")
    );
    let e = ini_err("[web:var]\n");
    assert!(e.message.contains("has unknown type: var"), "{}", e.message);
    assert_eq!((e.span.line, e.span.col), (1, 6));
    let e = ini_err("[web]\n[bad group]\n");
    assert!(e.message.contains("Invalid section entry"), "{}", e.message);
    let e = ini_err("[g:vars]\nnovalue\n[g]\n");
    assert!(e.message.contains("Expected key=value, got: novalue"));
    let e = ini_err("[p:children]\na b\n");
    assert!(e.message.contains("Expected group name, got: a b"));
    let e = ini_err("[only:vars]\nx=1\n");
    assert!(
        e.message
            .contains("Section [only:vars] not valid for undefined group 'only'."),
        "{}",
        e.message
    );
    assert_eq!(e.span.line, 1);
    let e = ini_err("[p:children]\nmissing\n");
    assert!(e.message.contains("includes undefined group 'missing'"));
    assert_eq!((e.span.line, e.span.col), (2, 1));
    let e = ini_err("[g]\nh a='x\n");
    assert!(e.message.contains("No closing quotation"), "{}", e.message);
    assert_eq!(e.span.col, 5);
    let e = ini_err("[g]\nh:\n");
    assert!(e.message.contains("ending in ':'"), "{}", e.message);
}

#[test]
fn extensionless_files_try_yaml_first() {
    let d = tmpdir();
    let y = put(&d, "hosts", "all:\n  hosts:\n    y1:\n");
    let n = put(&d, "plain", "h1\nh2\n");
    let i = load(&[y, n]).unwrap();
    assert_eq!(sel_all(&i), ["y1", "h1", "h2"]);
}

fn sel_all(i: &Inventory) -> Vec<String> {
    i.select("all").unwrap().hosts
}

#[test]
fn directory_sources_load_sorted_and_skip_ignored() {
    let d = tmpdir();
    put(&d, "b.yml", "all:\n  hosts:\n    from_b:\n");
    put(&d, "a.ini", "from_a\n");
    put(&d, "sub/c", "[g]\nfrom_sub\n");
    put(&d, "notes.txt", "this is [not an inventory\n");
    put(&d, "a.ini~", "garbage line =\n");
    put(&d, ".hidden", "garbage\n");
    put(&d, "group_vars/all.yml", "v: 1\n");
    let i = load(&[d]).unwrap_or_else(|e| panic!("{}", e.render()));
    // `from_b` is a direct host of `all`, which lists its own hosts first (as Ansible does).
    assert_eq!(sel_all(&i), ["from_b", "from_a", "from_sub"]);
    assert_eq!(i.host_vars("from_sub")["v"], json!(1));
}

#[test]
fn vars_files_layer_like_ansible() {
    let d = tmpdir();
    let inv = put(
        &d,
        "hosts",
        "[web]\nw1 own=host\n[dbs]\nw1\n[prod:children]\nweb\n[web:vars]\nx=inline\n\
         [dbs:vars]\nansible_group_priority=5\n",
    );
    put(&d, "group_vars/all.yml", "x: all_file\na: all\n");
    put(&d, "group_vars/prod", "p: prod\nx: prod\n");
    put(&d, "group_vars/web/10.yml", "x: web10\nw: 1\n");
    put(&d, "group_vars/web/20/deeper.yaml", "w: 2\n");
    put(&d, "group_vars/web/skip.txt", "w: 3\n");
    put(&d, "group_vars/dbs.json", "{\"x\": \"dbs\"}");
    put(
        &d,
        "group_vars/web.yml",
        "ignored: because the directory wins\n",
    );
    put(&d, "host_vars/w1.yml", "own: file\n");
    let i = load(std::slice::from_ref(&inv)).unwrap_or_else(|e| panic!("{}", e.render()));
    let v = i.host_vars("w1");
    // Sorted by (depth, priority, name): prod (1), dbs (1, priority 5), web (2) applies last.
    assert_eq!(v["x"], json!("web10"));
    assert_eq!(v["w"], json!(2));
    assert_eq!(v["p"], json!("prod"));
    assert_eq!(v["a"], json!("all"));
    assert_eq!(v["own"], json!("file"));
    assert!(!v.contains_key("ignored"));

    // group_vars/all beside the inventory beats inline group vars of any group.
    let d2 = tmpdir();
    let inv2 = put(&d2, "hosts", "[web]\nh\n[web:vars]\nx=inline\n");
    put(&d2, "group_vars/all.yml", "x: all_file\n");
    let i = load(&[inv2]).unwrap();
    assert_eq!(i.host_vars("h")["x"], json!("all_file"));

    // Playbook-adjacent vars sit above the inventory's at each level.
    let pb = tmpdir();
    put(&pb, "group_vars/all.yml", "a: play\n");
    put(&pb, "host_vars/w1", "own: play\n");
    let i = load(&[inv]).unwrap();
    let pv = load_vars_dir(&pb, &i).unwrap();
    let v = i.host_vars_with("w1", Some(&pv));
    assert_eq!(
        (v["a"].clone(), v["own"].clone()),
        (json!("play"), json!("play"))
    );
}

#[test]
fn bad_vars_files_are_located() {
    let d = tmpdir();
    let inv = put(&d, "hosts", "[web]\nh\n");
    put(&d, "group_vars/web.yml", "- just\n- a list\n");
    let e = load(&[inv]).unwrap_err();
    assert!(e.message.contains("must be a mapping"), "{}", e.message);
    assert_eq!(e.span.line, 1);
    assert!(e.span.file.unwrap().ends_with("group_vars/web.yml"));
}

#[test]
fn vars_path_that_is_a_file_is_skipped_with_a_warning() {
    let d = tmpdir();
    let inv = put(&d, "hosts", "[web]\nh\n");
    put(&d, "group_vars", "x: 1\n");
    let i = load(&[inv]).unwrap();
    assert!(!i.host_vars("h").contains_key("x"));
    assert!(
        i.warnings()
            .iter()
            .any(|w| w.starts_with("Found group_vars that is not a directory, skipping")),
        "{:?}",
        i.warnings()
    );
}
