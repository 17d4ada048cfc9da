mod ini;
mod yaml;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use super::*;
use crate::transport::{ConnectionKind, connection_vars};

/// A fresh directory per test so parallel tests never share files.
fn tmpdir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = crate::scratch::root().join(format!(
        "strata-inv-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(name: &str, text: &str) -> PathBuf {
    let p = tmpdir().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn inv(text: &str) -> Inventory {
    let p = write("hosts.yml", text);
    load(&[p], &LoadOptions::default()).unwrap_or_else(|d| panic!("{}", d.render()))
}

fn err(text: &str) -> Diagnostic {
    let p = write("bad.yml", text);
    load(&[p], &LoadOptions::default()).unwrap_err()
}

fn sel(inv: &Inventory, pattern: &str) -> Vec<String> {
    inv.select(pattern).unwrap().hosts
}

use crate::diagnostic::Diagnostic;

const SITE: &str = "\
all:
  vars:
    env: prod
    role: none
  hosts:
    bastion:
  children:
    web:
      vars:
        role: web
        tier: front
      hosts:
        web1:
          ansible_host: 10.0.0.1
        web2:
        web3:
    db:
      vars:
        role: db
      hosts:
        db1:
          role: primary
        db2:
      children:
        db_replicas:
          vars:
            role: replica
          hosts:
            db2:
            db3:
    staging:
      hosts:
        web3:
        db3:
";

#[test]
fn loads_nested_groups_in_definition_order() {
    let i = inv(SITE);
    let hosts: Vec<&str> = i.hosts().map(|h| h.name.as_str()).collect();
    assert_eq!(
        hosts,
        ["bastion", "web1", "web2", "web3", "db1", "db2", "db3"]
    );
    let groups: Vec<&str> = i.groups().map(|g| g.name.as_str()).collect();
    assert_eq!(
        groups,
        ["all", "ungrouped", "web", "db", "db_replicas", "staging"]
    );
    assert_eq!(i.group("db").unwrap().children, ["db_replicas"]);
    assert_eq!(i.group("db_replicas").unwrap().parents, ["db"]);
    assert_eq!(i.group("db_replicas").unwrap().depth, 2);
    assert_eq!(i.group("web").unwrap().depth, 1);
    assert_eq!(
        i.host("web1").unwrap().vars["ansible_host"],
        json!("10.0.0.1")
    );
    assert!(i.warnings().is_empty(), "{:?}", i.warnings());
}

#[test]
fn groups_map_and_group_names() {
    let i = inv(SITE);
    let g = i.groups_map();
    assert_eq!(
        g["all"],
        json!(["bastion", "web1", "web2", "web3", "db1", "db2", "db3"])
    );
    assert_eq!(g["ungrouped"], json!(["bastion"]));
    assert_eq!(g["web"], json!(["web1", "web2", "web3"]));
    // A group's own hosts first, then its children's.
    assert_eq!(g["db"], json!(["db1", "db2", "db3"]));
    assert_eq!(g["db_replicas"], json!(["db2", "db3"]));
    assert_eq!(g["staging"], json!(["web3", "db3"]));
    let keys: Vec<&String> = g.keys().collect();
    assert_eq!(
        keys,
        ["all", "ungrouped", "web", "db", "db_replicas", "staging"]
    );

    assert_eq!(i.group_names_of("db3"), ["db", "db_replicas", "staging"]);
    assert_eq!(i.group_names_of("web1"), ["web"]);
    // Ansible lists `ungrouped` in group_names of hosts that have no other group.
    assert_eq!(i.group_names_of("bastion"), ["ungrouped"]);
    let m = i.magic_vars("db3");
    assert_eq!(m["inventory_hostname"], json!("db3"));
    assert_eq!(m["group_names"], json!(["db", "db_replicas", "staging"]));
}

#[test]
fn host_in_several_groups_and_group_defined_twice_merge() {
    let i = inv("\
web:
  hosts:
    a:
      x: 1
      z: 1
  vars:
    gv: 1
all:
  children:
    web:
      hosts:
        b:
      vars:
        gv2: 2
    other:
      hosts:
        a:
          z: 2
");
    assert_eq!(i.group_hosts("web"), ["a", "b"]);
    assert_eq!(i.group_names_of("a"), ["other", "web"]);
    let web = i.group("web").unwrap();
    assert_eq!(web.vars["gv"], json!(1));
    assert_eq!(web.vars["gv2"], json!(2));
    assert_eq!(web.parents, ["all"]);
    let h = i.host("a").unwrap();
    assert_eq!(
        (h.vars["x"].clone(), h.vars["z"].clone()),
        (json!(1), json!(2))
    );
    assert!(i.groups_map()["ungrouped"].as_array().unwrap().is_empty());
}

#[test]
fn variable_precedence() {
    let i = inv(SITE);
    let v = i.host_vars("db2");
    // db_replicas (depth 2) beats db (depth 1) beats all.
    assert_eq!(v["role"], json!("replica"));
    assert_eq!(v["env"], json!("prod"));
    // Host vars beat every group.
    assert_eq!(i.host_vars("db1")["role"], json!("primary"));
    assert_eq!(i.host_vars("web2")["role"], json!("web"));
    assert_eq!(i.host_vars("web2")["tier"], json!("front"));
    // Only `all` applies to an ungrouped host.
    assert_eq!(i.host_vars("bastion")["role"], json!("none"));
    let file = i.host_vars("web1")["inventory_file"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(file.ends_with("hosts.yml"), "{file}");
    assert!(PathBuf::from(&file).is_absolute());
}

#[test]
fn equal_depth_groups_apply_by_priority_then_name() {
    let i = inv("\
all:
  children:
    zeta:
      hosts: {h: }
      vars: {v: zeta}
    alpha:
      hosts: {h: }
      vars: {v: alpha}
");
    // Same depth: sorted by name, so `zeta` applies last and wins.
    assert_eq!(i.host_vars("h")["v"], json!("zeta"));
    let i = inv("\
all:
  children:
    zeta:
      hosts: {h: }
      vars: {v: zeta}
    alpha:
      hosts: {h: }
      vars: {v: alpha, ansible_group_priority: 10}
");
    assert_eq!(i.host_vars("h")["v"], json!("alpha"));
    assert!(!i.host_vars("h").contains_key("ansible_group_priority"));
}

#[test]
fn top_level_groups_become_children_of_all() {
    let i = inv("web:\n  hosts:\n    w1:\ndb:\n  hosts: d1\nempty:\n");
    assert_eq!(i.group("web").unwrap().parents, ["all"]);
    assert_eq!(i.group_hosts("db"), ["d1"]);
    assert_eq!(sel(&i, "all"), ["w1", "d1"]);
    assert!(i.group("empty").is_some());
}

#[test]
fn host_ranges_and_ports() {
    let i = inv("\
all:
  hosts:
    web[01:03].example.com:
      zone: a
    db.example.com:2222:
");
    assert_eq!(
        sel(&i, "all"),
        [
            "web01.example.com",
            "web02.example.com",
            "web03.example.com",
            "db.example.com"
        ]
    );
    assert_eq!(i.host_vars("web02.example.com")["zone"], json!("a"));
    assert_eq!(i.host_vars("db.example.com")["ansible_port"], json!(2222));
}

#[test]
fn multiple_sources_merge() {
    let a = write(
        "a.yml",
        "all:\n  children:\n    web:\n      hosts:\n        w1: {x: 1}\n",
    );
    let b = write("b.yaml", "web:\n  hosts:\n    w1: {x: 2}\n    w2:\n");
    let i = load(&[a, b], &LoadOptions::default()).unwrap();
    assert_eq!(sel(&i, "web"), ["w1", "w2"]);
    assert_eq!(i.host_vars("w1")["x"], json!(2));
}

#[test]
fn comma_separated_host_list() {
    let i = load(
        &[PathBuf::from("web1, web2:2200,10.0.0.3,")],
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(sel(&i, "all"), ["web1", "web2", "10.0.0.3"]);
    assert_eq!(sel(&i, "ungrouped"), ["web1", "web2", "10.0.0.3"]);
    assert_eq!(i.host_vars("web2")["ansible_port"], json!(2200));
}

#[test]
fn unsupported_sources_are_clear_errors() {
    let e = load(
        &[PathBuf::from("/nonexistent/strata/inventory")],
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(e.message.contains("not found"), "{}", e.message);

    let e = err("plugin: azure.azcollection.azure_rm\n");
    assert!(
        e.message
            .contains("`azure.azcollection.azure_rm` is not supported yet"),
        "{}",
        e.message
    );
    assert_eq!((e.span.line, e.span.col), (1, 1));

    // The EC2 source exists, but only for files named like Ansible's aws_ec2 wants them.
    let e = err("plugin: amazon.aws.aws_ec2\nregions: [us-east-1]\n");
    assert!(
        e.message.contains("ending in `aws_ec2.yml`"),
        "{}",
        e.message
    );
    assert_eq!((e.span.line, e.span.col), (1, 9));
}

#[test]
fn json_and_empty_files() {
    let p = write(
        "inv.json",
        r#"{"all": {"hosts": {"h1": {"a": 1}}, "children": {"g": {"hosts": {"h2": null}}}}}"#,
    );
    let i = load(&[p], &LoadOptions::default()).unwrap();
    assert_eq!(sel(&i, "all"), ["h1", "h2"]);
    assert_eq!(i.host_vars("h1")["a"], json!(1));

    let p = write("empty.yml", "# nothing yet\n");
    let i = load(&[p], &LoadOptions::default()).unwrap();
    assert_eq!(i.hosts().count(), 0);
    assert!(i.warnings()[0].contains("is empty"), "{:?}", i.warnings());
}

#[test]
fn host_vars_written_as_group_keys_get_help() {
    let e = err(
        "all:\n  children:\n    web:\n      children:\n        web1:\n          ansible_host: 10.0.0.1\n",
    );
    assert_eq!(
        e.message,
        "unexpected key `ansible_host` in group `web1`; expected hosts, children or vars"
    );
    assert!(
        e.help.as_deref().unwrap().contains("if `web1` is a host"),
        "{:?}",
        e.help
    );
    assert_eq!(at(&e), (6, 11));
}

#[test]
fn extensionless_yaml_is_sniffed() {
    let p = write("inventory", "all:\n  hosts:\n    h1:\n");
    let i = load(&[p], &LoadOptions::default()).unwrap();
    assert_eq!(sel(&i, "all"), ["h1"]);
}

// ---- located errors ----

fn at(e: &Diagnostic) -> (u32, u32) {
    assert!(
        e.span.file.as_ref().is_some_and(|f| f.ends_with("bad.yml")),
        "{:?}",
        e.span
    );
    (e.span.line, e.span.col)
}

#[test]
fn unknown_group_key_is_located() {
    let e = err("all:\n  children:\n    web:\n      host:\n        w1:\n");
    assert_eq!(
        e.message,
        "unexpected key `host` in group `web`; expected hosts, children or vars"
    );
    assert_eq!(at(&e), (4, 7));
    assert_eq!(e.help.as_deref(), Some("did you mean `hosts`?"));
    let r = e.render();
    assert!(r.contains("bad.yml:4:7"), "{r}");
    assert!(r.contains("^^^^ unknown group key"), "{r}");
}

#[test]
fn hosts_as_list_is_located() {
    let e = err("all:\n  hosts:\n    - web1\n    - web2\n");
    assert!(
        e.message
            .contains("`hosts` in group `all` must be a mapping, found a list"),
        "{}",
        e.message
    );
    assert_eq!(at(&e).0, 3);
}

#[test]
fn group_not_a_mapping_is_located() {
    let e = err("all:\n  children:\n    web: [w1]\n");
    assert!(
        e.message.contains("group `web` must be a mapping"),
        "{}",
        e.message
    );
    assert_eq!(at(&e), (3, 10));
    let e = err("- all\n");
    assert!(
        e.message
            .contains("should be a mapping of group names, found a list"),
        "{}",
        e.message
    );
    assert_eq!(at(&e), (1, 1));
}

#[test]
fn host_vars_not_a_mapping_is_located() {
    let e = err("all:\n  hosts:\n    w1: 10.0.0.1\n");
    assert!(
        e.message
            .contains("variables of host `w1` must be a mapping, found a string"),
        "{}",
        e.message
    );
    assert_eq!(at(&e), (3, 9));
}

#[test]
fn group_loops_are_located() {
    let e = err("a:\n  children:\n    b:\n      children:\n        a:\n");
    assert!(e.message.contains("its own descendant"), "{}", e.message);
    assert_eq!(at(&e), (5, 9));
    let e = err("a:\n  children:\n    b:\nb:\n  children:\n    a:\n");
    assert!(
        e.message.contains("recursive dependency loop"),
        "{}",
        e.message
    );
    assert_eq!(at(&e), (6, 5));
}

#[test]
fn bad_host_range_is_located() {
    let e = err("all:\n  hosts:\n    web[01:100]:\n");
    assert!(e.message.contains("equal-length"), "{}", e.message);
    assert_eq!(at(&e), (3, 5));
}

#[test]
fn malformed_yaml_is_located() {
    let e = err("all:\n  hosts:\n    w1: {a: 1\n    w2:\n");
    assert!(e.message.starts_with("malformed YAML"), "{}", e.message);
    assert!(e.span.line >= 3, "{:?}", e.span);
    at(&e);
}

// ---- patterns ----

#[test]
fn pattern_all_groups_and_hosts() {
    let i = inv(SITE);
    assert_eq!(
        sel(&i, "all"),
        ["bastion", "web1", "web2", "web3", "db1", "db2", "db3"]
    );
    assert_eq!(sel(&i, "*"), sel(&i, "all"));
    assert_eq!(sel(&i, "db"), ["db1", "db2", "db3"]);
    assert_eq!(sel(&i, "web2"), ["web2"]);
    assert_eq!(sel(&i, "ungrouped"), ["bastion"]);
}

#[test]
fn pattern_union_in_pattern_order_without_duplicates() {
    // Orders checked with `ansible -i site.yml PATTERN --list-hosts` (ansible-core 2.19).
    let i = inv(SITE);
    assert_eq!(sel(&i, "staging:web"), ["web3", "db3", "web1", "web2"]);
    assert_eq!(sel(&i, "staging,web"), ["web3", "db3", "web1", "web2"]);
    assert_eq!(sel(&i, "db1, web1"), ["db1", "web1"]);
    assert_eq!(sel(&i, "db1 web1"), ["db1", "web1"]);
}

#[test]
fn pattern_intersection_and_exclusion_order() {
    let i = inv(SITE);
    assert_eq!(sel(&i, "web:&staging"), ["web3"]);
    assert_eq!(sel(&i, "db:!db_replicas"), ["db1"]);
    // Exclusions apply last wherever they are written; intersections after unions.
    assert_eq!(sel(&i, "!staging:web"), ["web1", "web2"]);
    assert_eq!(sel(&i, "&staging:web:db"), ["web3", "db3"]);
    assert_eq!(sel(&i, "web,!web1,db,&staging"), ["web3", "db3"]);
    // Only exclusions/intersections: starts from all.
    assert_eq!(sel(&i, "!web:!db"), ["bastion"]);
    assert_eq!(sel(&i, "&staging"), ["web3", "db3"]);
}

#[test]
fn pattern_wildcards_and_regex() {
    let i = inv("\
all:
  hosts:
    web1.example.com:
    web2.example.com:
    web10.example.org:
    db1.example.com:
  children:
    webservers:
      hosts:
        w.internal:
");
    // `web*` names the group `webservers` and hosts alike; group matches come first.
    assert_eq!(
        sel(&i, "web*"),
        [
            "w.internal",
            "web1.example.com",
            "web2.example.com",
            "web10.example.org",
        ]
    );
    assert_eq!(
        sel(&i, "*.example.com"),
        ["web1.example.com", "web2.example.com", "db1.example.com"]
    );
    assert_eq!(
        sel(&i, "web?.example.com"),
        ["web1.example.com", "web2.example.com"]
    );
    assert_eq!(
        sel(&i, "web[12].*"),
        ["web1.example.com", "web2.example.com"]
    );
    assert_eq!(sel(&i, "web[!1].*"), ["web2.example.com"]);
    // A regex is matched from the start of the name, not anchored at the end.
    assert_eq!(
        sel(&i, r"~web\d+"),
        ["web1.example.com", "web2.example.com", "web10.example.org"]
    );
    assert_eq!(sel(&i, r"~web\d{2}"), ["web10.example.org"]);
    assert_eq!(
        sel(&i, r"~(web|db)1\."),
        ["web1.example.com", "db1.example.com"]
    );
    let e = i.select("~web(").unwrap_err();
    assert!(matches!(e, PatternError::InvalidPattern { .. }), "{e}");
}

#[test]
fn pattern_subscripts() {
    let i = inv("all:\n  children:\n    web:\n      hosts: {w0: , w1: , w2: , w3: }\n");
    assert_eq!(sel(&i, "web[0]"), ["w0"]);
    assert_eq!(sel(&i, "web[-1]"), ["w3"]);
    assert_eq!(sel(&i, "web[-2]"), ["w2"]);
    assert_eq!(sel(&i, "web[0:2]"), ["w0", "w1", "w2"]);
    assert_eq!(sel(&i, "web[1:]"), ["w1", "w2", "w3"]);
    assert_eq!(sel(&i, "web[2:9]"), ["w2", "w3"]);
    // Ansible quirk: an end of 0 means a single index.
    assert_eq!(sel(&i, "web[2:0]"), ["w2"]);
    assert_eq!(sel(&i, "web[0]:web[-1]"), ["w0", "w3"]);
    assert_eq!(sel(&i, "web[1:2],!w2"), ["w1"]);
    assert_eq!(sel(&i, "w*[1]"), ["w1"]);
    let s = i.select("web[1-2]").unwrap();
    assert_eq!(s.hosts, ["w1", "w2"]);
    assert!(s.warnings[0].contains("[x-y]"), "{:?}", s.warnings);
    let e = i.select("web[4]").unwrap_err();
    assert_eq!(
        e.to_string(),
        "No hosts matched the subscripted pattern 'web[4]'"
    );
    assert!(i.select("web[-5]").is_err());
    // Nothing to index is not an error.
    assert_eq!(sel(&i, "nothing[3]"), Vec::<String>::new());
}

#[test]
fn subscripts_follow_ansible_group_order() {
    // The group's own hosts come before its children's, whatever the file order.
    let i = inv("\
all:
  children:
    web:
      children:
        web_a:
          hosts: {a1: , a2: }
      hosts:
        w0:
");
    assert_eq!(i.groups_map()["web"], json!(["w0", "a1", "a2"]));
    assert_eq!(sel(&i, "web[0]"), ["w0"]);
    assert_eq!(sel(&i, "web"), ["w0", "a1", "a2"]);
}

#[test]
fn unknown_names_warn_and_match_nothing() {
    let i = inv(SITE);
    let s = i.select("web:nope:!gone").unwrap();
    assert_eq!(s.hosts, ["web1", "web2", "web3"]);
    assert_eq!(
        s.warnings,
        [
            "Could not match supplied host pattern, ignoring: nope",
            "Could not match supplied host pattern, ignoring: gone"
        ]
    );
    // Existing but empty groups are not warned about.
    let s = inv("all:\n  children:\n    empty:\n")
        .select("empty")
        .unwrap();
    assert!(s.hosts.is_empty() && s.warnings.is_empty(), "{s:?}");
}

#[test]
fn host_name_beats_group_name() {
    let i = inv("all:\n  hosts:\n    web:\n  children:\n    web:\n      hosts:\n        w1:\n");
    assert_eq!(sel(&i, "web"), ["web"]);
    assert!(i.warnings()[0].contains("both group and host with same name"));
}

#[test]
fn implicit_localhost() {
    let i = inv(SITE);
    assert!(!i.contains_host("localhost"));
    let s = i.select("localhost").unwrap();
    assert_eq!(s.hosts, ["localhost"]);
    assert!(s.warnings.is_empty());
    let h = i.host("localhost").unwrap();
    assert!(h.implicit);
    let v = i.host_vars("localhost");
    assert_eq!(v["ansible_connection"], json!("local"));
    assert_eq!(
        v["env"],
        json!("prod"),
        "all vars apply to the implicit localhost"
    );
    let c = connection_vars("localhost", &v).unwrap();
    assert_eq!(c.connection, ConnectionKind::Local);
    // Not part of `all`, nor of any group.
    assert!(!sel(&i, "all").contains(&"localhost".to_string()));
    assert!(
        !i.groups_map()["all"]
            .as_array()
            .unwrap()
            .contains(&Value::from("localhost"))
    );
    assert_eq!(sel(&i, "web1:localhost"), ["web1", "localhost"]);
    // Globs do not conjure it.
    assert!(sel(&i, "local*").is_empty());

    // A defined localhost is an ordinary host.
    let i = inv("all:\n  hosts:\n    localhost:\n      ansible_connection: ssh\n");
    assert_eq!(sel(&i, "all"), ["localhost"]);
    assert!(!i.host("localhost").unwrap().implicit);
    assert_eq!(i.host_vars("localhost")["ansible_connection"], json!("ssh"));
}

#[test]
fn implicit_localhost_by_address() {
    let i = Inventory::new();
    assert_eq!(sel(&i, "127.0.0.1"), ["127.0.0.1"]);
    assert_eq!(
        i.host("localhost").unwrap().name,
        "127.0.0.1",
        "one implicit host, first name sticks"
    );
}

#[test]
fn limit_narrows_selection() {
    let i = inv(SITE);
    let s = i.select_limited("all", Some("db:!db1")).unwrap();
    assert_eq!(s.hosts, ["db2", "db3"]);
    let s = i
        .select_limited("web", Some(&limit_from_arg("web1,db1").unwrap()))
        .unwrap();
    assert_eq!(s.hosts, ["web1"]);
}

#[test]
fn limit_from_file() {
    let i = inv(SITE);
    let f = write("retry", "web1\n\n  db2  \nstaging:&db\n");
    let limit = limit_from_arg(&format!("@{},bastion", f.display())).unwrap();
    assert_eq!(limit, "web1,db2,staging:&db,bastion");
    let s = i.select_limited("all", Some(&limit)).unwrap();
    // `staging:&db` is one line, hence one pattern, as in Ansible: it matches nothing.
    assert_eq!(s.hosts, ["bastion", "web1", "db2"]);
    assert_eq!(
        s.warnings,
        ["Could not match supplied host pattern, ignoring: staging:&db"]
    );

    let single = write("one", "db:!db1\n");
    let limit = limit_from_arg(&format!("@{}", single.display())).unwrap();
    assert_eq!(
        i.select_limited("all", Some(&limit)).unwrap().hosts,
        Vec::<String>::new()
    );
    assert_eq!(limit_from_arg("web:db").unwrap(), "web,db");

    let e = limit_from_arg("@/nonexistent/strata-limit").unwrap_err();
    assert!(matches!(e, PatternError::LimitFileMissing(_)), "{e}");
    let e = limit_from_arg(&format!("@{}", tmpdir().display())).unwrap_err();
    assert!(matches!(e, PatternError::LimitFileIsDir(_)), "{e}");
}

#[test]
fn pattern_splitting() {
    assert_eq!(split_host_pattern("a:b:!c:&d"), ["a", "b", "!c", "&d"]);
    assert_eq!(split_host_pattern("a, b ,c"), ["a", "b", "c"]);
    assert_eq!(split_host_pattern("web[0:2]:db[1]"), ["web[0:2]", "db[1]"]);
    assert_eq!(split_host_pattern("fe80::1"), ["fe80::1"]);
    assert_eq!(split_host_pattern("a:b,c"), ["a:b", "c"]);
    assert_eq!(split_host_pattern(""), Vec::<String>::new());
}

#[test]
fn yaml_list_of_patterns() {
    let i = inv(SITE);
    let s = i
        .select_list(&["web:!web1".to_string(), "db1".to_string()])
        .unwrap();
    assert_eq!(s.hosts, ["web2", "web3", "db1"]);
}
