//! Bad template options and include_role arguments are load-time errors, located, before any
//! host is contacted (the inventory points at a listener that counts connections).

mod common;

use common::validation::Case;

/// A case whose project has `templates/t.j2`.
fn case(name: &str) -> Case {
    let c = Case::new(name);
    c.file("templates/t.j2", "x={{ x }}\n");
    c
}

const HEAD: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - template:\n        src: t.j2\n        dest: /tmp/t\n";

#[test]
fn newline_sequence_must_be_a_newline() {
    let c = case("newline");
    let err = c.expect_error_text(
        &format!("{HEAD}        newline_sequence: \"\\t\"\n"),
        7,
        28,
        r"must be one of: \n, \r, \r\n, \\n, \\r, \\r\\n; got `\t`",
    );
    assert!(
        !err.contains("did you mean"),
        "no raw newline suggested:\n{err}"
    );
}

#[test]
fn whitespace_options_are_booleans() {
    let c = case("lstrip");
    c.expect_error_text(
        &format!("{HEAD}        lstrip_blocks: sometimes\n"),
        7,
        24,
        "lstrip_blocks",
    );
    let c = case("trim");
    c.expect_error_text(
        &format!("{HEAD}        trim_blocks: [1]\n"),
        7,
        22,
        "trim_blocks",
    );
}

#[test]
fn output_encoding_must_be_a_codec_strata_writes() {
    let c = case("encoding");
    let err = c.expect_error_text(
        &format!("{HEAD}        output_encoding: shift_jis\n"),
        7,
        26,
        "`output_encoding` `shift_jis` is not supported",
    );
    assert!(err.contains("latin-1"), "supported codecs listed:\n{err}");
}

#[test]
fn include_role_public_is_a_boolean() {
    let c = case("public");
    std::fs::create_dir_all(c.dir.join("roles/r/tasks")).unwrap();
    std::fs::write(c.dir.join("roles/r/tasks/main.yml"), "- debug: {msg: hi}\n").unwrap();
    c.expect_error_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_role:\n        name: r\n        public: perhaps\n",
        6,
        17,
        "public",
    );
}

#[test]
fn include_role_allow_duplicates_false_is_refused() {
    let c = case("dups");
    std::fs::create_dir_all(c.dir.join("roles/r/tasks")).unwrap();
    std::fs::write(c.dir.join("roles/r/tasks/main.yml"), "- debug: {msg: hi}\n").unwrap();
    c.expect_error_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_role:\n        name: r\n        allow_duplicates: false\n",
        6,
        27,
        "`allow_duplicates: false` is not supported on `include_role`",
    );
}
