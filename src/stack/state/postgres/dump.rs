//! Export and import of the PostgreSQL state (see [`StateDump`]).

use tokio_postgres::Transaction;

use super::{
    EVENT_COLS, Fail, INSTANCE_COLS, RELEASE_COLS, event_from_row, instance_from_row, jobs,
    release_from_row, select,
};
use crate::stack::state::StateDump;

pub(super) async fn export(tx: &Transaction<'_>) -> Result<StateDump, Fail> {
    let mut d = StateDump::new();
    let sql = format!("SELECT {INSTANCE_COLS} FROM instances ORDER BY seq");
    d.instances = select(tx, &sql, &[], instance_from_row).await?;
    let sql = format!("SELECT {EVENT_COLS} FROM events ORDER BY id");
    d.events = select(tx, &sql, &[], event_from_row).await?;
    let sql = format!("SELECT {RELEASE_COLS} FROM releases ORDER BY seq");
    d.releases = select(tx, &sql, &[], release_from_row).await?;
    for row in tx
        .query("SELECT key, value FROM meta ORDER BY key", &[])
        .await?
    {
        d.meta.insert(row.try_get(0)?, row.try_get(1)?);
    }
    let sql = format!("SELECT {} FROM job_runs ORDER BY id", jobs::COLS);
    d.job_runs = select(tx, &sql, &[], jobs::from_row).await?;
    Ok(d)
}

pub(super) async fn import(tx: &Transaction<'_>, d: &StateDump) -> Result<(), Fail> {
    tx.batch_execute(
        "DELETE FROM instances; DELETE FROM events; DELETE FROM releases; DELETE FROM meta;",
    )
    .await?;
    let stmt = tx
        .prepare(
            "INSERT INTO instances (id, seq, name, layers, private_ip, public_ip, details, status,
                                    status_since, last_event)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .await?;
    for (seq, r) in d.instances.iter().enumerate() {
        tx.execute(
            &stmt,
            &[
                &r.id,
                &(seq as i64 + 1),
                &r.name,
                &serde_json::to_string(&r.layers)?,
                &r.private_ip,
                &r.public_ip,
                &serde_json::to_string(&r.details)?,
                &r.status.as_str(),
                &r.status_since,
                &r.last_event,
            ],
        )
        .await?;
    }
    let stmt = tx
        .prepare(
            r#"INSERT INTO events (id, kind, args, "user", command, hosts, started, ended,
                                   result, recap)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
        )
        .await?;
    for e in &d.events {
        tx.execute(
            &stmt,
            &[
                &e.id,
                &e.kind,
                &serde_json::to_string(&e.args)?,
                &e.user,
                &e.command,
                &serde_json::to_string(&e.hosts)?,
                &e.started,
                &e.ended,
                &e.result.as_str(),
                &serde_json::to_string(&e.recap)?,
            ],
        )
        .await?;
    }
    let stmt = tx
        .prepare(
            "INSERT INTO releases (app, instance, revision, release, deployed_at, active, event)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    for r in &d.releases {
        tx.execute(
            &stmt,
            &[
                &r.app,
                &r.instance,
                &r.revision,
                &r.release,
                &r.deployed_at,
                &r.active,
                &r.event,
            ],
        )
        .await?;
    }
    for (k, v) in &d.meta {
        tx.execute("INSERT INTO meta (key, value) VALUES ($1, $2)", &[k, v])
            .await?;
    }
    jobs::import(tx, &d.job_runs).await?;
    // Explicit ids leave the identity sequences behind; new rows continue after the imported
    // ones, as they would have at the source.
    tx.batch_execute(
        "SELECT setval(pg_get_serial_sequence('events', 'id'),
                       COALESCE((SELECT MAX(id) FROM events), 0) + 1, false);
         SELECT setval(pg_get_serial_sequence('instances', 'seq'),
                       COALESCE((SELECT MAX(seq) FROM instances), 0) + 1, false);",
    )
    .await?;
    Ok(())
}
