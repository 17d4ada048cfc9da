//! Test-only helpers: a [`Transport`] that runs scripts in a real local `sh`, exactly as sshd
//! would run them on a host, and scratch directories for module tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Map, Value};

use crate::modules::{Args, Module, ModuleCtx, ModuleResult, SearchPaths};
use crate::template::Templar;

/// Runs commands with the local `sh -c`, the same way sshd hands them to the login shell.
/// Modules are tested through the same local transport `delegate_to: localhost` uses: a
/// real `/bin/sh -c`, exactly as sshd hands commands to the login shell on a host.
pub use crate::transport::LocalTransport as LocalShell;

/// A fresh, empty directory under the system temp dir, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("strata-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
    pub fn s(&self, rel: &str) -> String {
        self.path(rel).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Options for one module invocation in a test.
pub struct Run<'a> {
    pub check: bool,
    pub diff: bool,
    pub roots: Vec<PathBuf>,
    pub vars: Value,
    pub host: &'a str,
}

impl Default for Run<'_> {
    fn default() -> Self {
        Run {
            check: false,
            diff: false,
            roots: vec![],
            vars: Value::Object(Map::new()),
            host: "testhost",
        }
    }
}

impl Run<'_> {
    pub fn check() -> Self {
        Run {
            check: true,
            ..Default::default()
        }
    }
    pub fn diff() -> Self {
        Run {
            diff: true,
            ..Default::default()
        }
    }
}

/// Runs `module` with `args` against the local shell; a `ModuleError` becomes a failed result
/// so tests can assert on the message the user would see.
pub async fn run_module(module: &dyn Module, args: Value, opts: Run<'_>) -> ModuleResult {
    let templar = Templar::new();
    let search = SearchPaths {
        roots: opts.roots.clone(),
    };
    let vars = minijinja::Value::from(minijinja::value::Serde(&opts.vars));
    let ctx = ModuleCtx {
        host: opts.host,
        conn: &LocalShell,
        become_: None,
        env: vec![],
        check_mode: opts.check,
        diff: opts.diff,
        verbosity: 0,
        search: &search,
        templar: &templar,
        vars: &vars,
    };
    let args = Args::new(args.as_object().cloned().unwrap_or_default());
    match module.run(&ctx, &args).await {
        Ok(r) => r,
        Err(e) => ModuleResult::failed(e.to_string()),
    }
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

pub fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}
