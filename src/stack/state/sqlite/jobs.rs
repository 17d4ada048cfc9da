//! The `job_runs` table: the history of `strata jobs run`.
//!
//! Kept apart from the event log because a job run is the bastion's supervision of an event
//! (waiting, skipping, killing it at its timeout), not the event itself: a skipped or
//! timed-out run may have no event at all, and `event` links the two when there is one.

use rusqlite::{Row, Transaction, params};
use serde_json::Value;

use super::Fail;
use crate::stack::clock;
use crate::stack::state::{Holder, JobResult, JobRun};

pub(super) const MIGRATION: &str = "
CREATE TABLE job_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    result TEXT NOT NULL,
    exit_code INTEGER,
    recap TEXT NOT NULL,
    log TEXT,
    event INTEGER,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    command TEXT NOT NULL
);
CREATE INDEX job_runs_job ON job_runs (job, id);
";

pub(super) const COLS: &str = crate::stack::state::rows::JOB_RUN_COLS;

pub(super) fn from_row(row: &Row) -> Result<JobRun, Fail> {
    crate::stack::state::rows::job_run(row).map_err(Fail)
}

pub(super) fn begin(
    tx: &Transaction,
    job: &str,
    log: Option<&str>,
    holder: &Holder,
) -> Result<i64, Fail> {
    tx.execute(
        "INSERT INTO job_runs (job, started, ended, result, exit_code, recap, log, event, pid,
                               host, command)
         VALUES (?1, ?2, NULL, ?3, NULL, '{}', ?4, NULL, ?5, ?6, ?7)",
        params![
            job,
            clock::now_rfc3339(),
            JobResult::Running.as_str(),
            log,
            holder.pid,
            holder.host,
            holder.command,
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

pub(super) fn finish(
    tx: &Transaction,
    id: i64,
    result: JobResult,
    exit_code: Option<i32>,
    recap: &Value,
    event: Option<i64>,
) -> Result<(), Fail> {
    if result == JobResult::Running {
        return Err(Fail(format!("job run {id} cannot finish as running")));
    }
    let n = tx.execute(
        "UPDATE job_runs SET ended = ?2, result = ?3, exit_code = ?4, recap = ?5,
                             event = COALESCE(?6, event)
         WHERE id = ?1",
        params![
            id,
            clock::now_rfc3339(),
            result.as_str(),
            exit_code,
            serde_json::to_string(recap)?,
            event
        ],
    )?;
    if n == 0 {
        return Err(Fail(format!("no job run with id {id}")));
    }
    Ok(())
}

pub(super) fn list(tx: &Transaction, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>, Fail> {
    // LIMIT -1 is SQLite for "no limit".
    let limit = if limit == 0 {
        -1
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    };
    let mut stmt = tx.prepare(&format!(
        "SELECT {COLS} FROM job_runs WHERE ?1 IS NULL OR job = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let mut rows = stmt.query(params![job, limit])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(from_row(row)?);
    }
    Ok(out)
}

pub(super) fn abort_running(tx: &Transaction, job: &str) -> Result<Vec<i64>, Fail> {
    // The real time of death is unknown; `ended` records when the abort was noticed.
    let running = JobResult::Running.as_str();
    let ids = tx
        .prepare("SELECT id FROM job_runs WHERE job = ?1 AND result = ?2 ORDER BY id")?
        .query_map(params![job, running], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    tx.execute(
        "UPDATE job_runs SET result = ?3, ended = COALESCE(ended, ?4)
         WHERE job = ?1 AND result = ?2",
        params![
            job,
            running,
            JobResult::Aborted.as_str(),
            clock::now_rfc3339()
        ],
    )?;
    Ok(ids)
}
