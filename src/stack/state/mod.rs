//! The stack's state: instances and their statuses, the event log, app releases and the
//! one-writer lock. Everything sits behind [`StateStore`] so that a shared backend
//! (PostgreSQL, for teams running strata from several bastions) can replace the local SQLite
//! file without touching the lifecycle code.

mod backend;
mod dump;
pub mod postgres;
mod rows;
mod sqlite;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use backend::{StateBackend, StateLocation};
pub use dump::StateDump;
pub use postgres::PgState;
pub use sqlite::SqliteState;

/// Where an instance stands. Stored as the snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Seen in the instance source, nothing run yet.
    Pending,
    /// Setup (or the deploy after it) is running, or was running when strata died.
    Setup,
    SetupFailed,
    Online,
    DeployFailed,
    /// Was online; the last reachability check failed.
    ConnectionLost,
    /// Taken out with `strata stack stop`.
    Stopped,
    /// Left the instance source.
    Terminated,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Pending,
        Status::Setup,
        Status::SetupFailed,
        Status::Online,
        Status::DeployFailed,
        Status::ConnectionLost,
        Status::Stopped,
        Status::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Setup => "setup",
            Status::SetupFailed => "setup_failed",
            Status::Online => "online",
            Status::DeployFailed => "deploy_failed",
            Status::ConnectionLost => "connection_lost",
            Status::Stopped => "stopped",
            Status::Terminated => "terminated",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One instance as the state remembers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceRecord {
    /// Identity: the `instance_id` host variable (EC2), else the inventory hostname.
    pub id: String,
    /// The inventory hostname.
    pub name: String,
    /// Layer shortnames, in the stack file's declared order.
    pub layers: Vec<String>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    /// The instance's entry in the `stack` variable (hostname, instance_id, addresses, EC2
    /// fields...), as last read from the source; `status` inside it is refreshed on use.
    pub details: Value,
    pub status: Status,
    /// RFC 3339 UTC time of the last status change.
    pub status_since: String,
    /// The last event that ran on this instance, if any.
    pub last_event: Option<i64>,
}

/// How an event ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventResult {
    Running,
    Ok,
    /// Some host failed or was unreachable.
    Failed,
    /// The process running it died; found at the next start.
    Aborted,
    /// Stopped with Ctrl-C.
    Interrupted,
}

impl EventResult {
    pub fn as_str(self) -> &'static str {
        match self {
            EventResult::Running => "running",
            EventResult::Ok => "ok",
            EventResult::Failed => "failed",
            EventResult::Aborted => "aborted",
            EventResult::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<EventResult> {
        [
            EventResult::Running,
            EventResult::Ok,
            EventResult::Failed,
            EventResult::Aborted,
            EventResult::Interrupted,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// One lifecycle event (or command) in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: i64,
    /// `setup`, `configure`, `deploy`, `undeploy`, `shutdown`, or an execute-recipes name.
    pub kind: String,
    /// What it was asked with (app, revision, layers, hosts, attributes...).
    pub args: Value,
    /// `user@hostname` that ran it.
    pub user: String,
    /// The `strata stack ...` command line that ran it.
    pub command: String,
    /// Inventory hostnames it targeted.
    pub hosts: Vec<String>,
    pub started: String,
    pub ended: Option<String>,
    pub result: EventResult,
    /// Per-host recap counts: `{host: {ok, changed, failed, skipped, unreachable, ...}}`.
    pub recap: Value,
}

/// How a scheduled job's run ended (`strata jobs run`). Stored as the snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobResult {
    Running,
    Ok,
    /// The event failed (a host failed or was unreachable), or could not start.
    Failed,
    /// Killed past the job's `timeout`.
    TimedOut,
    /// Stopped because the supervisor was told to stop (Ctrl-C, SIGTERM from systemd).
    Interrupted,
    /// The supervising process died (SIGKILL, reboot); found by the job's next run.
    Aborted,
    /// Another run of the job held its lock and `overlap` said not to wait.
    Skipped,
}

impl JobResult {
    pub const ALL: [JobResult; 7] = [
        JobResult::Running,
        JobResult::Ok,
        JobResult::Failed,
        JobResult::TimedOut,
        JobResult::Interrupted,
        JobResult::Aborted,
        JobResult::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobResult::Running => "running",
            JobResult::Ok => "ok",
            JobResult::Failed => "failed",
            JobResult::TimedOut => "timed_out",
            JobResult::Interrupted => "interrupted",
            JobResult::Aborted => "aborted",
            JobResult::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<JobResult> {
        JobResult::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl std::fmt::Display for JobResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One run of a scheduled job, as `strata jobs history` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRun {
    pub id: i64,
    pub job: String,
    /// RFC 3339 UTC.
    pub started: String,
    pub ended: Option<String>,
    pub result: JobResult,
    /// The run's exit code, as `strata jobs run` exits.
    pub exit_code: Option<i32>,
    /// Per-host recap counts, as [`EventRecord::recap`].
    pub recap: Value,
    /// Absolute path of the run's log file.
    pub log: Option<String>,
    /// The stack event it ran, if it got that far.
    pub event: Option<i64>,
    /// The supervising `strata jobs run` process.
    pub pid: u32,
    /// The bastion it ran on.
    pub host: String,
    pub command: String,
}

/// One deployed release of an app on one instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub app: String,
    /// The instance's identity.
    pub instance: String,
    pub revision: Option<String>,
    /// The release id: a UTC timestamp such as `20261204T101500Z`.
    pub release: String,
    pub deployed_at: String,
    pub active: bool,
    pub event: Option<i64>,
}

/// Who holds the stack's writer lock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    /// The command line, e.g. `strata stack sync`.
    pub command: String,
    /// RFC 3339 UTC.
    pub since: String,
    /// The machine it runs on.
    pub host: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on {} (`{}`), since {}",
            self.pid, self.host, self.command, self.since
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the stack is busy: held by {0}")]
    Busy(Holder),
    #[error("stack state {path}: {message}")]
    Store { path: PathBuf, message: String },
    /// A PostgreSQL state failed after connecting; `url` has its password masked.
    #[error("stack state {url}: {message}")]
    Postgres { url: String, message: String },
    /// The PostgreSQL server could not be reached, or refused the login.
    #[error("cannot connect to the stack state at {url}: {message}")]
    Connect { url: String, message: String },
}

/// Held while an event runs; dropping it releases the lock.
pub trait LockGuard: Send {}

/// The stack's state. Every method is one transaction: a crash leaves either the old or the
/// new state, never half of it.
pub trait StateStore: Send {
    /// Every instance ever seen, terminated ones included, in first-seen order.
    fn instances(&self) -> Result<Vec<InstanceRecord>, StateError>;
    /// Inserts or replaces the instances (keyed by `id`), all in one transaction.
    fn put_instances(&mut self, recs: &[InstanceRecord]) -> Result<(), StateError>;
    /// Sets statuses (and `status_since` when the status changes, `last_event` when given)
    /// in one transaction.
    fn set_statuses(
        &mut self,
        changes: &[(String, Status)],
        event: Option<i64>,
    ) -> Result<(), StateError>;

    /// Logs a new event as `running`; returns its id.
    fn begin_event(
        &mut self,
        kind: &str,
        args: &Value,
        command: &str,
        hosts: &[String],
    ) -> Result<i64, StateError>;
    /// Ends an event, makes it the last event of every live instance it targeted, and applies
    /// the status changes it caused, in one transaction.
    fn finish_event(
        &mut self,
        id: i64,
        result: EventResult,
        recap: &Value,
        statuses: &[(String, Status)],
    ) -> Result<(), StateError>;
    /// Newest first; `limit` 0 means all.
    fn events(&self, limit: usize) -> Result<Vec<EventRecord>, StateError>;
    /// Marks every `running` event `aborted` (its process died); returns their ids. Call only
    /// while holding the lock.
    fn abort_running(&mut self) -> Result<Vec<i64>, StateError>;

    /// Records releases (one per instance) as each instance's active release of that app,
    /// and keeps only the newest `keep` per app and instance.
    fn add_releases(&mut self, rels: &[Release], keep: usize) -> Result<(), StateError>;
    /// Makes `release` the active one of `app` on each of `instances` (rollback).
    fn activate_release(
        &mut self,
        app: &str,
        release: &str,
        instances: &[String],
    ) -> Result<(), StateError>;
    /// Removes the active mark of `app` on `instances` (undeploy).
    fn deactivate_releases(&mut self, app: &str, instances: &[String]) -> Result<(), StateError>;
    /// Releases of `app` (all apps with `None`), newest first.
    fn releases(&self, app: Option<&str>) -> Result<Vec<Release>, StateError>;

    /// A small named value the lifecycle code keeps between commands (the membership the
    /// last successful configure broadcast).
    fn meta(&self, key: &str) -> Result<Option<String>, StateError>;
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StateError>;

    /// Takes the one-writer lock, waiting up to `wait`; `StateError::Busy` names the holder.
    fn lock(&self, holder: &Holder, wait: Duration) -> Result<Box<dyn LockGuard>, StateError>;
    /// Who holds the lock now, without waiting (read-only commands).
    fn holder(&self) -> Result<Option<Holder>, StateError>;

    /// Logs a new run of `job` as `running` (pid, host and command from `holder`); returns
    /// its id.
    fn begin_job_run(
        &mut self,
        job: &str,
        log: Option<&str>,
        holder: &Holder,
    ) -> Result<i64, StateError>;
    /// Ends a job run. `result` must not be `running`.
    fn finish_job_run(
        &mut self,
        id: i64,
        result: JobResult,
        exit_code: Option<i32>,
        recap: &Value,
        event: Option<i64>,
    ) -> Result<(), StateError>;
    /// Newest first; `job` None = all jobs; `limit` 0 = all.
    fn job_runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>, StateError>;
    /// Marks `running` runs of `job` `aborted`; call only while holding that job's lock.
    fn abort_running_jobs(&mut self, job: &str) -> Result<Vec<i64>, StateError>;
    /// The job's own lock (separate from the stack's writer lock), same semantics as `lock`.
    fn job_lock(
        &self,
        job: &str,
        holder: &Holder,
        wait: Duration,
    ) -> Result<Box<dyn LockGuard>, StateError>;
    /// Who holds `job`'s lock now, without waiting.
    fn job_holder(&self, job: &str) -> Result<Option<Holder>, StateError>;

    /// Everything the state holds, read in one transaction: a consistent copy to move the
    /// stack to another backend (`strata stack state export`) or to run check mode on.
    fn export(&self) -> Result<StateDump, StateError>;
    /// Replaces the whole state (not the locks) with `dump`, ids kept, in one transaction.
    /// Callers hold the writer lock and decide whether an existing state may be replaced.
    fn import(&mut self, dump: &StateDump) -> Result<(), StateError>;
}
