//! Bad `include_vars`, `group_by`, `add_host` and `with_*` input is a located error (exit 5)
//! before any host is contacted. The inventory points at a TCP listener that counts
//! connections: it must see none.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Case {
    dir: PathBuf,
    hits: Arc<AtomicUsize>,
}

impl Case {
    fn new(name: &str) -> Case {
        let dir =
            std::env::temp_dir().join(format!("strata-validation-b-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
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

    fn book(&self, tasks: &str) -> PathBuf {
        let p = self.dir.join("p.yml");
        std::fs::write(
            &p,
            format!("- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}"),
        )
        .unwrap();
        p
    }

    /// Expects exit 5 with `needle` located at `line:col` of the playbook, and no connection.
    fn expect_error(&self, playbook: &Path, line: u32, col: u32, needle: &str) {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("playbook")
            .arg("-i")
            .arg(self.dir.join("inv.yml"))
            .arg(playbook)
            .args(["--timeout", "2"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "exit code for bad input\n{err}");
        let loc = format!("{}:{line}:{col}", playbook.display());
        assert!(err.contains(&loc), "expected location {loc} in:\n{err}");
        assert!(err.contains(needle), "expected `{needle}` in:\n{err}");
        assert!(err.contains('^'), "expected a caret snippet in:\n{err}");
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(self.hits.load(Ordering::SeqCst), 0, "a host was contacted");
    }
}

#[test]
fn include_vars_unknown_option() {
    let c = Case::new("iv-unknown");
    let p = c.book("    - include_vars:\n        file: a.yml\n        depht: 1\n");
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
    let p = c.book("    - include_vars:\n        file: a.yml\n        dir: vars\n");
    c.expect_error(&p, 6, 9, "parameters are mutually exclusive: file, dir");
}

#[test]
fn include_vars_bad_hash_behaviour() {
    let c = Case::new("iv-hash");
    let p = c.book("    - include_vars: {file: a.yml, hash_behaviour: deep}\n");
    c.expect_error(&p, 4, 51, "hash_behaviour");
}

#[test]
fn include_vars_free_form_unknown_option() {
    let c = Case::new("iv-free");
    let p = c.book("    - include_vars: a.yml nmae=x\n");
    c.expect_error(&p, 4, 27, "unsupported parameter `nmae`");
}

#[test]
fn group_by_needs_a_key() {
    let c = Case::new("gb-key");
    let p = c.book("    - group_by:\n        parents: web\n");
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
    let p = c.book("    - group_by: {key: web, parent: all}\n");
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
    let p = c.book("    - debug: {msg: x}\n      with_sequense: end=3\n");
    c.expect_error(&p, 5, 7, "unsupported loop `with_sequense`");
}

#[test]
fn two_loops_on_one_task() {
    let c = Case::new("with-two");
    let p = c.book("    - debug: {msg: x}\n      with_sequence: end=3\n      loop: [1]\n");
    c.expect_error(
        &p,
        6,
        7,
        "a task can have only one loop, and it already has `with_sequence`",
    );
}
