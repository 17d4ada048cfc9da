//! Load-time validation cases: a scratch project whose inventory points at a real TCP
//! listener that counts connections. Bad input must be a located error (file:line:col and a
//! caret), exit 5, and the listener must see no connection: nothing is contacted before every
//! input error is found.
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Case {
    pub dir: PathBuf,
    pub port: u16,
    hits: Arc<AtomicUsize>,
}

impl Case {
    /// A fresh project named after the test (`templates/` included) and its listener.
    pub fn new(name: &str) -> Case {
        let dir = strata::scratch::root()
            .join(format!("strata-validation-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("templates")).unwrap();
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
        Case { dir, port, hits }
    }

    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs strata on `playbook` (stdin not a terminal); returns (exit code, stderr).
    pub fn run(&self, playbook: &Path, extra: &[&str]) -> (i32, String) {
        self.run_with(&self.dir.join("inv.yml"), playbook, extra)
    }

    /// Like [`Case::run`] with another inventory source.
    pub fn run_with(&self, inventory: &Path, playbook: &Path, extra: &[&str]) -> (i32, String) {
        let (code, _, err) = self.run_full(inventory, playbook, extra);
        (code, err)
    }

    /// Runs strata; returns (exit code, stdout, stderr).
    pub fn run_full(
        &self,
        inventory: &Path,
        playbook: &Path,
        extra: &[&str],
    ) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("playbook")
            .arg("-i")
            .arg(inventory)
            .arg(playbook)
            .args(extra)
            .args(["--timeout", "2"])
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn assert_no_host_contacted(&self) {
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(
            self.hits.load(Ordering::SeqCst),
            0,
            "a host was contacted on port {}",
            self.port
        );
    }

    /// Asserts a located error with a caret and that the listener saw no connection.
    pub fn expect_error(&self, playbook: &Path, line: u32, col: u32, needle: &str) -> String {
        let inv = self.dir.join("inv.yml");
        self.expect_error_in(&inv, playbook, playbook, line, col, needle)
    }

    /// Writes `text` as `p.yml` and expects the located error in it.
    pub fn expect_error_text(&self, text: &str, line: u32, col: u32, needle: &str) -> String {
        let p = self.file("p.yml", text);
        self.expect_error(&p, line, col, needle)
    }

    /// Runs `playbook` with `inventory` and expects the located error to be in `file`.
    pub fn expect_error_in(
        &self,
        inventory: &Path,
        playbook: &Path,
        file: &Path,
        line: u32,
        col: u32,
        needle: &str,
    ) -> String {
        let (code, err) = self.run_with(inventory, playbook, &[]);
        assert_eq!(code, 5, "exit code for bad input\n{err}");
        let loc = format!("{}:{line}:{col}", file.display());
        assert!(err.contains(&loc), "expected location {loc} in:\n{err}");
        assert!(err.contains(needle), "expected `{needle}` in:\n{err}");
        assert!(err.contains('^'), "expected a caret snippet in:\n{err}");
        self.assert_no_host_contacted();
        err
    }
}
