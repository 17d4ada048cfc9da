//! A stack command's first steps, in the pipeline's order: load and validate the stack file
//! (every role and tasks file of every event), parse `-e` and `--attributes`, check the
//! roles' argument specs against the values they will see, read the
//! instance source — all before the state is opened or any host is touched — then the
//! state, its one-writer lock, and crash recovery.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::StackError;
use super::event::Engine;
use super::file::{self, StackFile};
use super::instances::{Discovery, discover};
use super::plays;
use super::state::{Holder, LockGuard, SqliteState, StateBackend, StateStore};
use crate::playbook::LoadOptions;
use crate::run::{Output, RunRequest};
use crate::template::Templar;

/// One `strata stack` command's options.
#[derive(Clone, Debug)]
pub struct StackRequest {
    pub file: PathBuf,
    /// Engine options (`-e`, check, diff, forks, verbosity, tags, SSH options); its
    /// inventory and playbooks are unused.
    pub run: RunRequest,
    /// `--attributes JSON|@file`, in order.
    pub attributes: Vec<String>,
    /// `--wait`: how long to wait for another command's lock.
    pub wait: Duration,
    pub output: Output,
    /// The command line, logged with each event and shown to a waiting command.
    pub command: String,
}

impl StackRequest {
    /// A command on `file` with every engine option at its default, no `--attributes`, no
    /// waiting, and output on stdout.
    pub fn new(file: PathBuf, command: impl Into<String>) -> Self {
        StackRequest {
            file,
            run: RunRequest::new(Vec::new(), Vec::new()),
            attributes: Vec::new(),
            wait: Duration::ZERO,
            output: Output::Stdout { json: false },
            command: command.into(),
        }
    }
}

/// A loaded and validated stack with its parsed options, and its state: two parts, so that
/// an event's engine can borrow the first while the lifecycle code writes the second.
pub struct Stack {
    pub ctx: StackCtx,
    pub store: StateBackend,
}

/// The loaded stack file and the command's parsed options.
pub struct StackCtx {
    pub file: StackFile,
    pub req: StackRequest,
    pub templar: Arc<Templar>,
    pub load: LoadOptions,
    pub extra_vars: Map<String, Value>,
    pub cli_attributes: Map<String, Value>,
}

impl Stack {
    /// Loads, validates and opens the stack. Nothing is written but the state file's schema.
    pub fn open(req: StackRequest) -> Result<Stack, StackError> {
        let file = file::load(&req.file)?;
        let templar = Arc::new(Templar::new());
        let extra_vars = crate::extra_vars::parse(&req.run.extra_vars)?;
        let mut load = plays::load_options(&file, &req.run.roles_path);
        load.strict = req.run.strict;
        // As for a playbook: `-e` is known at load time, and beats a role parameter, so the
        // loader checks only the literal role parameters `-e` does not override.
        load.extra_vars = extra_vars.clone();
        plays::validate(&file, &load, &templar)?;
        let cli_attributes = super::attributes::parse_cli(&req.attributes)?;
        // Role argument specs, against the values each role will see.
        let cli_nodes = super::argspecs::cli_nodes(&req.attributes);
        super::argspecs::validate(&file, &load, &cli_nodes, &extra_vars)?;
        // Last, after every input check: the state may be a server, and a wrong URL, a refused
        // login or an unreachable server must stop the command before any host is touched.
        let location = file.resolved_state_location().map_err(StackError::Usage)?;
        let store = StateBackend::open(&location, &file.name)?;
        Ok(Stack {
            ctx: StackCtx {
                file,
                req,
                templar,
                load,
                extra_vars,
                cli_attributes,
            },
            store,
        })
    }

    /// Takes the writer lock (waiting up to `--wait`), then recovers from a crashed holder:
    /// its `running` events become `aborted`.
    pub fn lock(&mut self) -> Result<Box<dyn LockGuard>, StackError> {
        let holder = self.holder();
        let guard = self.store.lock(&holder, self.ctx.req.wait)?;
        let aborted = self.store.abort_running()?;
        if !aborted.is_empty() {
            let ids: Vec<String> = aborted.iter().map(|i| format!("#{i}")).collect();
            eprintln!(
                "[WARNING]: event {} was left running by a process that died; marked aborted",
                ids.join(", ")
            );
        }
        if self.ctx.req.run.check {
            // Check mode changes nothing, the state included: the command runs on a copy.
            let copy = std::env::temp_dir().join(format!(
                "strata-check-{}-{}.db",
                self.ctx.file.name,
                std::process::id()
            ));
            self.store = self.store.snapshot(&copy)?;
            return Ok(Box::new(CheckCopy {
                _guard: guard,
                copy,
            }));
        }
        Ok(guard)
    }

    /// This process as the lock's holder, as waiting commands will name it.
    pub fn holder(&self) -> Holder {
        Holder {
            pid: std::process::id(),
            command: self.ctx.req.command.clone(),
            since: super::clock::now_rfc3339(),
            host: hostname(),
        }
    }

    pub fn discover(&self, flush_cache: bool) -> Result<Discovery, StackError> {
        self.ctx.discover(flush_cache)
    }
}

impl StackCtx {
    /// Reads the instance source; warnings go to stderr as the inventory's do.
    pub fn discover(&self, flush_cache: bool) -> Result<Discovery, StackError> {
        let d = discover(&self.file, flush_cache || self.req.run.flush_cache)?;
        for w in &d.warnings {
            eprintln!("[WARNING]: {w}");
        }
        Ok(d)
    }

    /// The engine for this command's events, on the instance source `d`.
    pub fn engine<'a>(&'a self, d: &'a Discovery) -> Engine<'a> {
        Engine {
            stack: &self.file,
            inventory: &d.inventory,
            req: &self.req.run,
            output: self.req.output,
            templar: self.templar.clone(),
            load: self.load.clone(),
            extra_vars: self.extra_vars.clone(),
            cli_attributes: self.cli_attributes.clone(),
            command: self.req.command.clone(),
        }
    }
}

/// This machine's name, for the lock holder: a waiting operator on another bastion (with a
/// shared backend) needs to know where the holder runs.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// The lock of a check-mode command, and the copy of the state it runs on (removed after).
struct CheckCopy {
    _guard: Box<dyn LockGuard>,
    copy: PathBuf,
}

impl LockGuard for CheckCopy {}

impl Drop for CheckCopy {
    fn drop(&mut self) {
        let _ = SqliteState::remove(&self.copy);
    }
}
