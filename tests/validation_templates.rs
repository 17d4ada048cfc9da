//! Bad template options and include_role arguments are load-time errors, located, before any
//! host is contacted (the inventory points at a listener that counts connections).

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Case {
    dir: PathBuf,
    hits: Arc<AtomicUsize>,
}

impl Case {
    fn new(name: &str) -> Case {
        let dir = std::env::temp_dir().join(format!(
            "strata-validation-tpl-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::write(dir.join("templates/t.j2"), "x={{ x }}\n").unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for s in listener.incoming() {
                h.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut s) = s {
                    let mut b = [0u8; 64];
                    let _ = s.read(&mut b);
                }
            }
        });
        std::fs::write(
            dir.join("inv.yml"),
            format!("all:\n  hosts:\n    target:\n      ansible_host: 127.0.0.1\n      ansible_port: {port}\n      ansible_user: root\n"),
        )
        .unwrap();
        Case { dir, hits }
    }

    /// Writes `p.yml`, runs strata on it and expects exit 5 with `needle` at `line:col`.
    fn expect_error(&self, playbook: &str, line: u32, col: u32, needle: &str) -> String {
        let p = self.dir.join("p.yml");
        std::fs::write(&p, playbook).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("playbook")
            .arg("-i")
            .arg(self.dir.join("inv.yml"))
            .arg(&p)
            .args(["--timeout", "2"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(5), "exit code for bad input\n{err}");
        let loc = format!("{}:{line}:{col}", p.display());
        assert!(err.contains(&loc), "expected location {loc} in:\n{err}");
        assert!(err.contains(needle), "expected `{needle}` in:\n{err}");
        assert!(err.contains('^'), "expected a caret snippet in:\n{err}");
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(self.hits.load(Ordering::SeqCst), 0, "a host was contacted");
        err
    }
}

const HEAD: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - template:\n        src: t.j2\n        dest: /tmp/t\n";

#[test]
fn newline_sequence_must_be_a_newline() {
    let c = Case::new("newline");
    let err = c.expect_error(
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
    let c = Case::new("lstrip");
    c.expect_error(
        &format!("{HEAD}        lstrip_blocks: sometimes\n"),
        7,
        24,
        "lstrip_blocks",
    );
    let c = Case::new("trim");
    c.expect_error(
        &format!("{HEAD}        trim_blocks: [1]\n"),
        7,
        22,
        "trim_blocks",
    );
}

#[test]
fn output_encoding_must_be_a_codec_strata_writes() {
    let c = Case::new("encoding");
    let err = c.expect_error(
        &format!("{HEAD}        output_encoding: shift_jis\n"),
        7,
        26,
        "`output_encoding` `shift_jis` is not supported",
    );
    assert!(err.contains("latin-1"), "supported codecs listed:\n{err}");
}

#[test]
fn include_role_public_is_a_boolean() {
    let c = Case::new("public");
    std::fs::create_dir_all(c.dir.join("roles/r/tasks")).unwrap();
    std::fs::write(c.dir.join("roles/r/tasks/main.yml"), "- debug: {msg: hi}\n").unwrap();
    c.expect_error(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_role:\n        name: r\n        public: perhaps\n",
        6,
        17,
        "public",
    );
}

#[test]
fn include_role_allow_duplicates_false_is_refused() {
    let c = Case::new("dups");
    std::fs::create_dir_all(c.dir.join("roles/r/tasks")).unwrap();
    std::fs::write(c.dir.join("roles/r/tasks/main.yml"), "- debug: {msg: hi}\n").unwrap();
    c.expect_error(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_role:\n        name: r\n        allow_duplicates: false\n",
        6,
        27,
        "`allow_duplicates: false` is not supported on `include_role`",
    );
}
