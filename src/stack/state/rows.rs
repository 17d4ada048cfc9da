//! Rows into records, written once for both backends.
//!
//! The tables and their meaning are the same in SQLite and PostgreSQL; only the drivers read a
//! column differently (rusqlite converts loosely, tokio-postgres insists on the exact SQL
//! type). Each backend therefore implements [`Columns`] for its row type, and every table's
//! mapping lives here, so that a column added to a table is read the same way in both and an
//! export from one backend is an import into the other.

use serde::de::DeserializeOwned;

use super::{EventRecord, EventResult, InstanceRecord, JobResult, JobRun, Release, Status};

// The columns of `events` are each backend's own constant: PostgreSQL reserves `user`.

/// The columns of `instances`, in the order [`instance`] reads them.
pub(super) const INSTANCE_COLS: &str =
    "id, name, layers, private_ip, public_ip, details, status, status_since, last_event";
/// The columns of `releases`, in the order [`release`] reads them.
pub(super) const RELEASE_COLS: &str =
    "app, instance, revision, release, deployed_at, active, event";
/// The columns of `job_runs`, in the order [`job_run`] reads them.
pub(super) const JOB_RUN_COLS: &str =
    "id, job, started, ended, result, exit_code, recap, log, event, pid, host, command";

/// One result row of either driver, read by column index. Errors are sentences.
pub(super) trait Columns {
    fn text(&self, i: usize) -> Result<String, String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, String>;
    /// Any integer column, widened.
    fn opt_int(&self, i: usize) -> Result<Option<i64>, String>;
    fn flag(&self, i: usize) -> Result<bool, String>;

    fn int(&self, i: usize) -> Result<i64, String> {
        self.opt_int(i)?
            .ok_or_else(|| format!("column {i} is NULL"))
    }

    /// A JSON document kept as text (not `jsonb`, which would reorder its keys).
    fn json<T: DeserializeOwned>(&self, i: usize, what: &str) -> Result<T, String> {
        let text = self.text(i)?;
        serde_json::from_str(&text).map_err(|e| format!("bad JSON in {what}: {e}"))
    }
}

pub(super) fn instance(row: &impl Columns) -> Result<InstanceRecord, String> {
    let id = row.text(0)?;
    let status = row.text(6)?;
    let Some(status) = Status::parse(&status) else {
        return Err(format!("instance {id}: unknown status {status:?}"));
    };
    Ok(InstanceRecord {
        name: row.text(1)?,
        layers: row.json(2, "instances.layers")?,
        private_ip: row.opt_text(3)?,
        public_ip: row.opt_text(4)?,
        details: row.json(5, "instances.details")?,
        status,
        status_since: row.text(7)?,
        last_event: row.opt_int(8)?,
        id,
    })
}

pub(super) fn event(row: &impl Columns) -> Result<EventRecord, String> {
    let id = row.int(0)?;
    let result = row.text(8)?;
    let Some(result) = EventResult::parse(&result) else {
        return Err(format!("event {id}: unknown result {result:?}"));
    };
    Ok(EventRecord {
        id,
        kind: row.text(1)?,
        args: row.json(2, "events.args")?,
        user: row.text(3)?,
        command: row.text(4)?,
        hosts: row.json(5, "events.hosts")?,
        started: row.text(6)?,
        ended: row.opt_text(7)?,
        result,
        recap: row.json(9, "events.recap")?,
    })
}

pub(super) fn release(row: &impl Columns) -> Result<Release, String> {
    Ok(Release {
        app: row.text(0)?,
        instance: row.text(1)?,
        revision: row.opt_text(2)?,
        release: row.text(3)?,
        deployed_at: row.text(4)?,
        active: row.flag(5)?,
        event: row.opt_int(6)?,
    })
}

pub(super) fn job_run(row: &impl Columns) -> Result<JobRun, String> {
    let id = row.int(0)?;
    let result = row.text(4)?;
    let Some(result) = JobResult::parse(&result) else {
        return Err(format!("job run {id}: unknown result {result:?}"));
    };
    let pid = row.int(9)?;
    let exit_code = row
        .opt_int(5)?
        .map(|c| i32::try_from(c).map_err(|_| format!("job run {id}: bad exit code {c}")))
        .transpose()?;
    Ok(JobRun {
        id,
        job: row.text(1)?,
        started: row.text(2)?,
        ended: row.opt_text(3)?,
        result,
        exit_code,
        recap: row.json(6, "job_runs.recap")?,
        log: row.opt_text(7)?,
        event: row.opt_int(8)?,
        pid: u32::try_from(pid).map_err(|_| format!("job run {id}: bad pid {pid}"))?,
        host: row.text(10)?,
        command: row.text(11)?,
    })
}
