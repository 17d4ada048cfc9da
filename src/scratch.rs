//! Scratch space for tests (the unit tests and `tests/`): one directory per test process,
//! `strata-test-<pid>` in the system temp directory. A test process has no hook at exit to
//! remove it, so the next one removes those of processes that have ended: a run leaves at most
//! one entry behind, not one per test.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// This process's directory, created (and those of ended processes removed) on first use.
pub fn root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let tmp = std::env::temp_dir();
        remove_ended(&tmp, "strata-test");
        let root = tmp.join(format!("strata-test-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("cannot create the tests' temp directory");
        root
    })
    .clone()
}

/// Removes the `<dir>/<tag>-<pid>` entries (directories, or links to them) of processes that
/// have ended.
pub fn remove_ended(dir: &Path, tag: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(tag))
            .and_then(|r| r.strip_prefix('-'))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let p = e.path();
            let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
        }
    }
}
