//! Export and import of the SQLite state (see [`StateDump`]).

use rusqlite::{Transaction, params};

use super::jobs;
use super::{
    EVENT_COLS, Fail, INSTANCE_COLS, RELEASE_COLS, event_from_row, instance_from_row,
    release_from_row,
};
use crate::stack::state::StateDump;

pub(super) fn export(tx: &Transaction) -> Result<StateDump, Fail> {
    let mut d = StateDump::new();
    let mut stmt = tx.prepare(&format!(
        "SELECT {INSTANCE_COLS} FROM instances ORDER BY seq"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        d.instances.push(instance_from_row(row)?);
    }
    let mut stmt = tx.prepare(&format!("SELECT {EVENT_COLS} FROM events ORDER BY id"))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        d.events.push(event_from_row(row)?);
    }
    let mut stmt = tx.prepare(&format!(
        "SELECT {RELEASE_COLS} FROM releases ORDER BY rowid"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        d.releases.push(release_from_row(row)?);
    }
    let mut stmt = tx.prepare("SELECT key, value FROM meta ORDER BY key")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        d.meta.insert(row.get(0)?, row.get(1)?);
    }
    let mut stmt = tx.prepare(&format!("SELECT {} FROM job_runs ORDER BY id", jobs::COLS))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        d.job_runs.push(jobs::from_row(row)?);
    }
    Ok(d)
}

pub(super) fn import(tx: &Transaction, d: &StateDump) -> Result<(), Fail> {
    d.check_format().map_err(Fail)?;
    // `sqlite_sequence` keeps AUTOINCREMENT's high-water mark; reset with the rows so new
    // event ids continue from the imported ones, as they would have at the source.
    tx.execute_batch(
        "DELETE FROM instances; DELETE FROM events; DELETE FROM releases; DELETE FROM meta;
          DELETE FROM job_runs; DELETE FROM sqlite_sequence WHERE name IN ('events', 'job_runs');",
    )?;
    let mut stmt = tx.prepare(
        "INSERT INTO instances (id, seq, name, layers, private_ip, public_ip, details, status,
                                status_since, last_event)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (seq, r) in d.instances.iter().enumerate() {
        stmt.execute(params![
            r.id,
            seq as i64 + 1,
            r.name,
            serde_json::to_string(&r.layers)?,
            r.private_ip,
            r.public_ip,
            serde_json::to_string(&r.details)?,
            r.status.as_str(),
            r.status_since,
            r.last_event,
        ])?;
    }
    let mut stmt = tx.prepare(
        "INSERT INTO events (id, kind, args, user, command, hosts, started, ended, result, recap)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for e in &d.events {
        stmt.execute(params![
            e.id,
            e.kind,
            serde_json::to_string(&e.args)?,
            e.user,
            e.command,
            serde_json::to_string(&e.hosts)?,
            e.started,
            e.ended,
            e.result.as_str(),
            serde_json::to_string(&e.recap)?,
        ])?;
    }
    let mut stmt = tx.prepare(
        "INSERT INTO releases (app, instance, revision, release, deployed_at, active, event)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for r in &d.releases {
        stmt.execute(params![
            r.app,
            r.instance,
            r.revision,
            r.release,
            r.deployed_at,
            r.active,
            r.event
        ])?;
    }
    let mut stmt = tx.prepare("INSERT INTO meta (key, value) VALUES (?1, ?2)")?;
    for (k, v) in &d.meta {
        stmt.execute(params![k, v])?;
    }
    let mut stmt = tx.prepare(&format!(
        "INSERT INTO job_runs ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        jobs::COLS
    ))?;
    for r in &d.job_runs {
        stmt.execute(params![
            r.id,
            r.job,
            r.started,
            r.ended,
            r.result.as_str(),
            r.exit_code,
            serde_json::to_string(&r.recap)?,
            r.log,
            r.event,
            r.pid,
            r.host,
            r.command,
        ])?;
    }
    Ok(())
}
