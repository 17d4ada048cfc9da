//! Shared state of one play batch, and the per-host state a host task carries through the play.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde_json::{Map, Value};
use tokio::sync::{OnceCell, Semaphore};

use super::coordinator::{Coordinator, Pos};
use super::vars::{HostStore, Layer, World};
use crate::events::{EventTx, HostStats};
use crate::playbook::model::{Common, Cond, Handler, Play, RoleCtx};
use crate::template::Templar;
use crate::transport::{Connector, ExecOutput, Transport, TransportError, TransportResult};

/// Options of the whole run, fixed before any host is touched.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub check: bool,
    pub diff: bool,
    pub verbosity: u8,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub forks: usize,
    pub extra_vars: Map<String, Value>,
    pub playbook_dir: PathBuf,
    pub roles_path: Vec<PathBuf>,
    /// `--ask-become-pass`, for hosts whose inventory has no become password.
    pub become_password: Option<crate::secret::Secret>,
    /// `[privilege_escalation]` of `ansible.cfg`: below every keyword and variable.
    pub become_defaults: crate::config::BecomeDefaults,
    /// `gathering` of `ansible.cfg`; `smart` skips hosts whose facts were gathered earlier.
    pub gathering: crate::config::Gathering,
    /// `--strict`: tasks files included at run time refuse unimplemented modules too.
    pub strict: bool,
    /// `set_stats` results of the whole run (shared by its playbooks), for the recap.
    pub custom_stats: Arc<super::custom_stats::CustomStats>,
}

/// A connection opened on first use and then kept for the whole run, so plays that never
/// touch a host (pure `debug`) never connect, and every later task reuses the session.
pub struct LazyConn {
    host: String,
    vars: Map<String, Value>,
    connector: Arc<dyn Connector>,
    /// Replaced by [`LazyConn::reset`], so a host that was unreachable (under
    /// `ignore_unreachable`) is dialled again by its next task, as Ansible connects per task.
    cell: Mutex<Arc<ConnCell>>,
}

type ConnCell = OnceCell<Result<Arc<dyn Transport>, TransportError>>;

impl LazyConn {
    pub fn new(host: &str, vars: Map<String, Value>, connector: Arc<dyn Connector>) -> Self {
        LazyConn {
            host: host.to_string(),
            vars,
            connector,
            cell: Mutex::new(Arc::new(OnceCell::new())),
        }
    }

    pub async fn get(&self) -> TransportResult<Arc<dyn Transport>> {
        let cell = self.cell.lock().unwrap_or_else(|p| p.into_inner()).clone();
        cell.get_or_init(|| self.connector.connect(&self.host, &self.vars))
            .await
            .clone()
    }

    /// Forgets the connection (or the failure to make it); the next use connects again.
    pub fn reset(&self) {
        *self.cell.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(OnceCell::new());
    }
}

impl Transport for LazyConn {
    fn exec<'a>(
        &'a self,
        cmd: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> BoxFuture<'a, TransportResult<ExecOutput>> {
        Box::pin(async move { self.get().await?.exec(cmd, stdin).await })
    }
    fn put_file<'a>(
        &'a self,
        path: &'a str,
        data: &'a [u8],
        mode: u32,
    ) -> BoxFuture<'a, TransportResult<()>> {
        Box::pin(async move { self.get().await?.put_file(path, data, mode).await })
    }
    fn describe(&self) -> String {
        self.host.clone()
    }
    fn reconnect(&self) {
        self.reset();
    }
    fn ssh_params(&self) -> TransportResult<Option<crate::transport::ssh::SshParams>> {
        self.connector.ssh_params(&self.host, &self.vars)
    }
}

/// A finished task on one host, as `run_once` shares it with the other hosts.
#[derive(Clone, Debug)]
pub struct Shared {
    pub result: Value,
    pub changed: bool,
    pub failed: bool,
}

/// Where the host running a `run_once` task publishes its result for the others.
#[derive(Default)]
pub struct RunOnce {
    pub result: OnceCell<Shared>,
    pub done: tokio::sync::Notify,
}

impl RunOnce {
    pub async fn wait(&self) -> Shared {
        loop {
            let notified = self.done.notified();
            if let Some(s) = self.result.get() {
                return s.clone();
            }
            notified.await;
        }
    }

    pub fn publish(&self, s: Shared) {
        let _ = self.result.set(s);
        self.done.notify_waiters();
    }
}

pub struct PlayCtx {
    pub play: Arc<Play>,
    pub world: Arc<World>,
    pub templar: Arc<Templar>,
    pub events: EventTx,
    pub coord: Arc<Coordinator>,
    pub opts: Arc<RunOptions>,
    /// `ansible_play_hosts`/`ansible_play_batch`: hosts of this batch still in the play.
    pub play_hosts: Vec<String>,
    /// Hosts of the whole play (all batches), for `ansible_play_hosts_all`.
    pub play_hosts_all: Vec<String>,
    /// `ansible_play_hosts`: the batch's hosts in inventory order (the batch itself runs in
    /// the play's `order`). Computed once per batch: every task's scope on every host reads it.
    pub play_hosts_ordered: Vec<String>,
    pub forks: Arc<Semaphore>,
    pub run_once: Mutex<HashMap<Pos, Arc<RunOnce>>>,
    pub play_vars: Layer,
    pub vars_files: Layer,
    pub local: Arc<dyn Transport>,
    /// Set by `meta: end_play`: the play ends, but the playbook goes on.
    pub end_play: std::sync::atomic::AtomicBool,
    /// Connections made from connection variables a play or task sets itself, and those of
    /// hosts tasks are delegated to.
    pub other_conns: Arc<ConnPool>,
    /// One semaphore per `throttle`d task, shared by the batch's hosts.
    pub throttles: Mutex<HashMap<Pos, Arc<Semaphore>>>,
    /// The variables of the roles the whole play sees.
    pub public_roles: super::public_roles::PublicRoles,
}

impl PlayCtx {
    /// How dynamic includes are loaded: the same options the playbook was loaded with.
    pub fn load_options(&self) -> crate::playbook::LoadOptions {
        crate::playbook::LoadOptions {
            extra_vars: self.opts.extra_vars.clone(),
            roles_path: self.opts.roles_path.clone(),
            playbook_dir: Some(self.opts.playbook_dir.clone()),
            gathering: self.opts.gathering,
            strict: self.opts.strict,
        }
    }
}

/// Keywords inherited from enclosing blocks and includes, applied to every task inside.
#[derive(Clone, Default)]
pub struct Inherited {
    pub when: Vec<Cond>,
    /// Block and include `vars` layers, outermost first.
    pub vars: Vec<Arc<Map<String, Value>>>,
    /// Include parameters (`include_tasks: {vars}` / loop items of an include): high precedence.
    pub params: Vec<Arc<Map<String, Value>>>,
    pub common: Vec<Common>,
    pub role: Option<Arc<RoleCtx>>,
}

impl Inherited {
    pub fn with_block(&self, c: &Common, role: &Option<Arc<RoleCtx>>) -> Inherited {
        let mut n = self.clone();
        n.when.extend(c.when.iter().cloned());
        if !c.vars.is_empty() {
            n.vars.push(Arc::new(c.vars.clone()));
        }
        n.common.push(c.clone());
        if role.is_some() {
            n.role = role.clone();
        }
        n
    }
}

/// The state a host carries through one play.
pub struct HostCtx {
    pub idx: usize,
    pub name: String,
    pub store: Arc<HostStore>,
    pub conn: Arc<LazyConn>,
    pub stats: HostStats,
    /// Handler indices notified and not yet run (play handlers, then dynamic ones).
    pub notified: HashSet<usize>,
    /// Handlers brought by `include_role` at run time, after the play's own.
    pub extra_handlers: Vec<Handler>,
    pub failed: bool,
    pub unreachable: bool,
}

impl HostCtx {
    /// Marks handlers matching `names` (by name or `listen` topic) as notified.
    pub fn notify(&mut self, pc: &PlayCtx, names: &[String]) -> Result<(), String> {
        for n in names {
            let mut found = false;
            let all = pc.play.handlers.iter().chain(self.extra_handlers.iter());
            let hits: Vec<usize> = all
                .enumerate()
                .filter(|(_, h)| {
                    h.listen.iter().any(|l| l == n)
                        || h.task.role.as_ref().is_some_and(|r| {
                            format!("{} : {}", r.name, h.task.name.clone().unwrap_or_default())
                                == *n
                        })
                })
                .map(|(i, _)| i)
                .collect();
            for i in hits {
                found = true;
                self.notified.insert(i);
            }
            if !found {
                return Err(format!(
                    "The requested handler '{n}' was not found in either the main handlers list nor in the listening handlers list"
                ));
            }
        }
        Ok(())
    }
}

/// Whether a task runs as a task or as a handler: handlers ignore tags and get their own
/// header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    Task,
    Handler,
}

/// How a walk over a list of items ended for a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// A task failed (not ignored): the host leaves the play unless a rescue catches it.
    Failed,
    Unreachable,
    /// `meta: end_host`, or the play was stopped.
    End,
}

/// The connection variables that decide where and as whom strata connects. When a task's
/// scope gives any of them a value other than the inventory's (play `vars`, `vars_files`,
/// task `vars`, `set_fact`), the task runs on a connection made from those values.
const CONNECTION_VARS: &[&str] = &[
    "ansible_connection",
    "ansible_host",
    "ansible_ssh_host",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_private_key_file",
    "ansible_ssh_private_key_file",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_timeout",
    "ansible_ssh_timeout",
];

/// The host's inventory variables with the scope's connection variables over them, or
/// `None` when the scope changes none of them (the task uses the host's own connection).
pub fn connection_override(
    inventory: &Map<String, Value>,
    scope: &minijinja::Value,
) -> Option<Map<String, Value>> {
    let mut merged: Option<Map<String, Value>> = None;
    for name in CONNECTION_VARS {
        let Some(v) = scope
            .get_attr(name)
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_none())
            .and_then(|v| serde_json::to_value(&v).ok())
        else {
            continue;
        };
        if inventory.get(*name) != Some(&v) {
            merged
                .get_or_insert_with(|| inventory.clone())
                .insert(name.to_string(), v);
        }
    }
    merged
}

/// Connections keyed by host and the variables they were made from, kept for the run like
/// the hosts' own, so a play logging in as another user connects once, not once per task.
pub struct ConnPool {
    connector: Arc<dyn Connector>,
    conns: std::sync::Mutex<HashMap<String, Arc<LazyConn>>>,
}

impl ConnPool {
    pub fn new(connector: Arc<dyn Connector>) -> Self {
        ConnPool {
            connector,
            conns: std::sync::Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, host: &str, vars: Map<String, Value>) -> Arc<LazyConn> {
        let key = format!("{host}\0{}", Value::Object(vars.clone()));
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        conns
            .entry(key)
            .or_insert_with(|| Arc::new(LazyConn::new(host, vars, self.connector.clone())))
            .clone()
    }
}
