//! Which backend holds a stack's state, and the one type the stack commands hold either in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::postgres::url::{PgUrl, is_postgres};
use super::{
    EventRecord, EventResult, Holder, InstanceRecord, JobResult, JobRun, LockGuard, PgState,
    Release, SqliteState, StateDump, StateError, StateStore, Status,
};

/// Where a stack's state lives: `state:` in the stack file, or `$STRATA_STATE_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateLocation {
    /// The SQLite database file, `<state dir>/<name>.db`.
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL, as written (it may hold a password: show it
    /// only through [`StateLocation::describe`]).
    Postgres(String),
}

impl StateLocation {
    /// The environment variable that overrides the stack file's `state:`.
    pub const ENV: &'static str = "STRATA_STATE_URL";

    /// `$STRATA_STATE_URL` for the stack `name`, when set and not empty: a PostgreSQL URL, or
    /// a state directory (relative to the working directory) holding `<name>.db`. The error
    /// is a sentence naming the variable, password masked.
    pub fn from_env(name: &str) -> Result<Option<StateLocation>, String> {
        let Some(v) = std::env::var_os(Self::ENV).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let Some(v) = v.to_str() else {
            return Err(format!("${} is not valid UTF-8", Self::ENV));
        };
        if is_postgres(v) {
            PgUrl::parse(v).map_err(|e| format!("${}: {e}", Self::ENV))?;
            return Ok(Some(StateLocation::Postgres(v.to_string())));
        }
        Ok(Some(StateLocation::Sqlite(
            Path::new(v).join(format!("{name}.db")),
        )))
    }

    /// For messages: the database file, or the URL with its password masked.
    pub fn describe(&self) -> String {
        match self {
            StateLocation::Sqlite(p) => p.display().to_string(),
            StateLocation::Postgres(u) => super::postgres::url::mask(u),
        }
    }
}

/// A stack's state in whichever backend its location names.
pub enum StateBackend {
    Sqlite(SqliteState),
    Postgres(PgState),
}

impl StateBackend {
    /// Opens the state of stack `stack` at `loc` (creating and migrating its schema).
    pub fn open(loc: &StateLocation, stack: &str) -> Result<StateBackend, StateError> {
        match loc {
            StateLocation::Sqlite(p) => SqliteState::open(p).map(StateBackend::Sqlite),
            StateLocation::Postgres(u) => {
                let url = PgUrl::parse(u).map_err(|message| StateError::Postgres {
                    url: super::postgres::url::mask(u),
                    message,
                })?;
                PgState::open(&url, stack).map(StateBackend::Postgres)
            }
        }
    }

    /// A private SQLite copy of this state at `to`, for check mode: the command runs against
    /// it and the real state stays as it was. SQLite copies its file; PostgreSQL goes through
    /// export and import, which keep everything (see `StateDump`).
    pub fn snapshot(&self, to: &Path) -> Result<StateBackend, StateError> {
        match self {
            StateBackend::Sqlite(s) => s.snapshot(to).map(StateBackend::Sqlite),
            StateBackend::Postgres(p) => {
                let dump = p.export()?;
                SqliteState::remove(to)?;
                let mut copy = SqliteState::open(to)?;
                copy.import(&dump)?;
                Ok(StateBackend::Sqlite(copy))
            }
        }
    }

    /// For messages: the database file, or the URL with its password masked.
    pub fn describe(&self) -> String {
        match self {
            StateBackend::Sqlite(s) => s.path().display().to_string(),
            StateBackend::Postgres(p) => p.url().to_string(),
        }
    }

    fn store(&self) -> &dyn StateStore {
        match self {
            StateBackend::Sqlite(s) => s,
            StateBackend::Postgres(p) => p,
        }
    }

    fn store_mut(&mut self) -> &mut dyn StateStore {
        match self {
            StateBackend::Sqlite(s) => s,
            StateBackend::Postgres(p) => p,
        }
    }
}

impl StateStore for StateBackend {
    fn instances(&self) -> Result<Vec<InstanceRecord>, StateError> {
        self.store().instances()
    }
    fn put_instances(&mut self, recs: &[InstanceRecord]) -> Result<(), StateError> {
        self.store_mut().put_instances(recs)
    }
    fn set_statuses(
        &mut self,
        changes: &[(String, Status)],
        event: Option<i64>,
    ) -> Result<(), StateError> {
        self.store_mut().set_statuses(changes, event)
    }
    fn begin_event(
        &mut self,
        kind: &str,
        args: &Value,
        command: &str,
        hosts: &[String],
    ) -> Result<i64, StateError> {
        self.store_mut().begin_event(kind, args, command, hosts)
    }
    fn finish_event(
        &mut self,
        id: i64,
        result: EventResult,
        recap: &Value,
        statuses: &[(String, Status)],
    ) -> Result<(), StateError> {
        self.store_mut().finish_event(id, result, recap, statuses)
    }
    fn events(&self, limit: usize) -> Result<Vec<EventRecord>, StateError> {
        self.store().events(limit)
    }
    fn abort_running(&mut self) -> Result<Vec<i64>, StateError> {
        self.store_mut().abort_running()
    }
    fn add_releases(&mut self, rels: &[Release], keep: usize) -> Result<(), StateError> {
        self.store_mut().add_releases(rels, keep)
    }
    fn activate_release(
        &mut self,
        app: &str,
        release: &str,
        instances: &[String],
    ) -> Result<(), StateError> {
        self.store_mut().activate_release(app, release, instances)
    }
    fn deactivate_releases(&mut self, app: &str, instances: &[String]) -> Result<(), StateError> {
        self.store_mut().deactivate_releases(app, instances)
    }
    fn releases(&self, app: Option<&str>) -> Result<Vec<Release>, StateError> {
        self.store().releases(app)
    }
    fn meta(&self, key: &str) -> Result<Option<String>, StateError> {
        self.store().meta(key)
    }
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StateError> {
        self.store_mut().set_meta(key, value)
    }
    fn lock(&self, holder: &Holder, wait: Duration) -> Result<Box<dyn LockGuard>, StateError> {
        self.store().lock(holder, wait)
    }
    fn holder(&self) -> Result<Option<Holder>, StateError> {
        self.store().holder()
    }
    fn begin_job_run(
        &mut self,
        job: &str,
        log: Option<&str>,
        holder: &Holder,
    ) -> Result<i64, StateError> {
        self.store_mut().begin_job_run(job, log, holder)
    }
    fn finish_job_run(
        &mut self,
        id: i64,
        result: JobResult,
        exit_code: Option<i32>,
        recap: &Value,
        event: Option<i64>,
    ) -> Result<(), StateError> {
        self.store_mut()
            .finish_job_run(id, result, exit_code, recap, event)
    }
    fn job_runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>, StateError> {
        self.store().job_runs(job, limit)
    }
    fn abort_running_jobs(&mut self, job: &str) -> Result<Vec<i64>, StateError> {
        self.store_mut().abort_running_jobs(job)
    }
    fn job_lock(
        &self,
        job: &str,
        holder: &Holder,
        wait: Duration,
    ) -> Result<Box<dyn LockGuard>, StateError> {
        self.store().job_lock(job, holder, wait)
    }
    fn job_holder(&self, job: &str) -> Result<Option<Holder>, StateError> {
        self.store().job_holder(job)
    }
    fn export(&self) -> Result<StateDump, StateError> {
        self.store().export()
    }
    fn import(&mut self, dump: &StateDump) -> Result<(), StateError> {
        self.store_mut().import(dump)
    }
}
