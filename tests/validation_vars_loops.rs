//! Bad `include_vars`, `group_by`, `add_host` and `with_*` input is a located error (exit 5)
//! before any host is contacted. The inventory points at a TCP listener that counts
//! connections: it must see none.

mod common;

use std::path::PathBuf;

use common::validation::Case;

/// `p.yml`: one play on all hosts with these tasks.
fn book(c: &Case, tasks: &str) -> PathBuf {
    let p = c.dir.join("p.yml");
    std::fs::write(
        &p,
        format!("- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}"),
    )
    .unwrap();
    p
}

#[test]
fn include_vars_unknown_option() {
    let c = Case::new("iv-unknown");
    let p = book(
        &c,
        "    - include_vars:\n        file: a.yml\n        depht: 1\n",
    );
    c.expect_error(
        &p,
        6,
        9,
        "unsupported parameter `depht` for module `include_vars`",
    );
}

#[test]
fn include_vars_mixes_file_and_dir_options() {
    let c = Case::new("iv-mix");
    let p = book(
        &c,
        "    - include_vars:\n        file: a.yml\n        dir: vars\n",
    );
    c.expect_error(&p, 6, 9, "parameters are mutually exclusive: file, dir");
}

#[test]
fn include_vars_bad_hash_behaviour() {
    let c = Case::new("iv-hash");
    let p = book(
        &c,
        "    - include_vars: {file: a.yml, hash_behaviour: deep}\n",
    );
    c.expect_error(&p, 4, 51, "hash_behaviour");
}

#[test]
fn include_vars_free_form_unknown_option() {
    let c = Case::new("iv-free");
    let p = book(&c, "    - include_vars: a.yml nmae=x\n");
    c.expect_error(&p, 4, 27, "unsupported parameter `nmae`");
}

#[test]
fn group_by_needs_a_key() {
    let c = Case::new("gb-key");
    let p = book(&c, "    - group_by:\n        parents: web\n");
    c.expect_error(
        &p,
        4,
        7,
        "missing required parameter `key` for module `group_by`",
    );
}

#[test]
fn group_by_unknown_option() {
    let c = Case::new("gb-unknown");
    let p = book(&c, "    - group_by: {key: web, parent: all}\n");
    c.expect_error(
        &p,
        4,
        28,
        "unsupported parameter `parent` for module `group_by`",
    );
}

#[test]
fn unknown_with_loop() {
    let c = Case::new("with-unknown");
    let p = book(&c, "    - debug: {msg: x}\n      with_sequense: end=3\n");
    c.expect_error(&p, 5, 7, "unsupported loop `with_sequense`");
}

#[test]
fn two_loops_on_one_task() {
    let c = Case::new("with-two");
    let p = book(
        &c,
        "    - debug: {msg: x}\n      with_sequence: end=3\n      loop: [1]\n",
    );
    c.expect_error(
        &p,
        6,
        7,
        "a task can have only one loop, and it already has `with_sequence`",
    );
}
