//! Test-only: the one harness for module unit tests. A module runs for real against the
//! controller's own `/bin/sh` through the same local transport `delegate_to: localhost` uses,
//! exactly as sshd hands a command to the login shell on a host, in a scratch directory that
//! is removed afterwards.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Map, Value};

use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec, SearchPaths};
use crate::template::Templar;

pub use crate::transport::LocalTransport as LocalShell;

/// A fresh, empty directory under the system temp dir, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let p = crate::scratch::root().join(format!("strata-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// `rel` under the directory, as a string for module arguments.
    pub fn s(&self, rel: &str) -> String {
        self.path(rel).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Everything a module needs, owned, so a test can borrow a [`ModuleCtx`] from it.
pub struct Harness {
    pub host: String,
    pub search: SearchPaths,
    pub templar: Templar,
    pub vars: minijinja::Value,
    pub check_mode: bool,
    pub diff: bool,
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
            host: "localhost".into(),
            search: SearchPaths::default(),
            templar: Templar::new(),
            vars: minijinja::Value::from(minijinja::value::Serde(serde_json::json!({}))),
            check_mode: false,
            diff: false,
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

    /// Runs `module` with `args` (a JSON object); a module error fails the test.
    pub async fn run(&self, module: &dyn Module, args: Value) -> ModuleResult {
        self.try_run(module, args).await.expect("module error")
    }

    pub async fn try_run(
        &self,
        module: &dyn Module,
        args: Value,
    ) -> Result<ModuleResult, ModuleError> {
        let ctx = ModuleCtx {
            host: &self.host,
            conn: &LocalShell,
            become_: None,
            env: self.env.clone(),
            check_mode: self.check_mode,
            diff: self.diff,
            verbosity: self.verbosity,
            search: &self.search,
            templar: &self.templar,
            vars: &self.vars,
            delegated_to: None,
            host_conn: &LocalShell,
        };
        let Value::Object(m) = args else {
            panic!("args must be an object")
        };
        module.run(&ctx, &Args::new(m)).await
    }
}

/// Options for [`run_module`], the short form of a [`Harness`] run.
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

/// Runs `module` with `args` on a [`Harness`] set up from `opts`; a `ModuleError` becomes a
/// failed result so tests can assert on the message the user would see.
pub async fn run_module(module: &dyn Module, args: Value, opts: Run<'_>) -> ModuleResult {
    let mut h = Harness::new().vars(opts.vars);
    h.host = opts.host.to_string();
    h.search = SearchPaths { roots: opts.roots };
    h.check_mode = opts.check;
    h.diff = opts.diff;
    let args = Value::Object(args.as_object().cloned().unwrap_or_default());
    match h.try_run(module, args).await {
        Ok(r) => r,
        Err(e) => ModuleResult::failed(e.to_string()),
    }
}

/// The data value at `key` of a result, for terse assertions.
pub fn get<'a>(r: &'a ModuleResult, key: &str) -> &'a Value {
    r.data.get(key).unwrap_or(&Value::Null)
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

pub fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// The load-time errors for a task's arguments (`yaml`, a mapping) against `spec`, as the
/// playbook loader reports them. Module tests go through the loader because that is where a
/// literal value a spec refuses (`Param::only`) stops a run before any host is contacted.
pub fn load_errors(spec: &ModuleSpec, yaml: &str) -> Vec<String> {
    let node = crate::yaml::parse_str(yaml, Path::new("task.yml")).expect("valid YAML");
    let pairs = node.as_map().expect("a mapping").to_vec();
    match crate::playbook::validate_args(spec, &pairs, &crate::diagnostic::Span::unknown()) {
        Ok(_) => vec![],
        Err(diags) => diags.into_iter().map(|d| d.message).collect(),
    }
}
