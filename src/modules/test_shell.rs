//! Test-only: a [`Transport`] that hands commands to the local `sh -c`, exactly as sshd hands
//! them to the login shell on a host, plus a harness that builds a [`ModuleCtx`] around it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

use super::{Args, Module, ModuleCtx, ModuleResult, SearchPaths};
use crate::template::Templar;

/// Modules are tested through the same local transport `delegate_to: localhost` uses: a
/// real `/bin/sh -c`, exactly as sshd hands commands to the login shell on a host.
pub use crate::transport::LocalTransport as LocalSh;

/// Everything a module needs, owned, so tests can borrow a [`ModuleCtx`] from it.
pub struct Harness {
    pub search: SearchPaths,
    pub templar: Templar,
    pub vars: minijinja::Value,
    pub check_mode: bool,
    pub verbosity: u8,
    pub env: Vec<(String, String)>,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    pub fn new() -> Self {
        Harness {
            search: SearchPaths::default(),
            templar: Templar::new(),
            vars: minijinja::Value::from(minijinja::value::Serde(serde_json::json!({}))),
            check_mode: false,
            verbosity: 0,
            env: Vec::new(),
        }
    }

    pub fn vars(mut self, v: Value) -> Self {
        self.vars = minijinja::Value::from(minijinja::value::Serde(&v));
        self
    }

    pub fn check(mut self) -> Self {
        self.check_mode = true;
        self
    }

    /// Runs `module` with `args` (a JSON object) against the local shell.
    pub async fn run(&self, module: &dyn Module, args: Value) -> ModuleResult {
        self.try_run(module, args).await.expect("module error")
    }

    pub async fn try_run(
        &self,
        module: &dyn Module,
        args: Value,
    ) -> Result<ModuleResult, super::ModuleError> {
        let ctx = ModuleCtx {
            host: "localhost",
            conn: &LocalSh,
            become_: None,
            env: self.env.clone(),
            check_mode: self.check_mode,
            diff: false,
            verbosity: self.verbosity,
            search: &self.search,
            templar: &self.templar,
            vars: &self.vars,
        };
        let Value::Object(m) = args else {
            panic!("args must be an object")
        };
        module.run(&ctx, &Args::new(m)).await
    }
}

/// A fresh directory under the temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "strata-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// `rel` under the directory, as a string for module arguments.
    pub fn s(&self, rel: &str) -> String {
        self.0.join(rel).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The data value at `key` of a result, for terse assertions.
pub fn get<'a>(r: &'a ModuleResult, key: &str) -> &'a Value {
    r.data.get(key).unwrap_or(&Value::Null)
}
