//! The shared backend: the stack's state in a PostgreSQL database, for teams that run strata
//! from several bastions (or a bastion and a CI runner), where a SQLite file on one machine
//! cannot stop another from running `sync` at the same moment.
//!
//! Same tables and meaning as [`SqliteState`](super::SqliteState) (see [`schema`]); every
//! trait method is one transaction (reads `REPEATABLE READ`, so a multi-row read sees one
//! snapshot); the one-writer lock and job locks are advisory locks on sessions of their own
//! ([`lock`]); every connection lives on its own thread ([`session`], which explains why).

mod dump;
mod jobs;
mod lock;
mod schema;
mod session;
pub mod url;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::Value;
use tokio_postgres::types::Type;
use tokio_postgres::{IsolationLevel, Row, Transaction};

use super::rows::{self, Columns, INSTANCE_COLS, RELEASE_COLS};
use super::sqlite::lock::hostname;
use super::sqlite::user_name;
use super::{
    EventRecord, EventResult, Holder, InstanceRecord, JobResult, JobRun, LockGuard, Release,
    StateDump, StateError, StateStore, Status,
};
use crate::stack::clock;
use lock::{Locker, PgLock, hash32};
use session::{Session, describe};
pub use url::PgUrl;

const EVENT_COLS: &str = r#"id, kind, args, "user", command, hosts, started, ended, result, recap"#;

/// A failure before the URL is attached to it.
struct Fail(String);

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Fail {
        Fail(describe(&e))
    }
}

impl From<serde_json::Error> for Fail {
    fn from(e: serde_json::Error) -> Fail {
        Fail(format!("encoding JSON: {e}"))
    }
}

/// The future a transaction body returns; it runs on the session's thread only.
type TxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Fail>> + 'a>>;

/// The stack's state in PostgreSQL, schema `strata_<stack>`.
pub struct PgState {
    url: PgUrl,
    stack: String,
    /// Points a new session at the stack's schema.
    init: String,
    session: Session,
}

impl PgState {
    /// Connects, creates the stack's schema and tables if needed and brings them up to date.
    /// An unreachable server or a refused login is [`StateError::Connect`].
    pub fn open(url: &PgUrl, stack: &str) -> Result<PgState, StateError> {
        let fail = |message: String| StateError::Postgres {
            url: url.masked.clone(),
            message,
        };
        schema::check_stack_name(stack).map_err(fail)?;
        let session = Session::connect(url, None).map_err(|message| StateError::Connect {
            url: url.masked.clone(),
            message,
        })?;
        let init = format!("SET search_path TO {}", schema::schema_ident(stack));
        let migrate = schema::migrate_sql(stack, (hash32("strata:migrate"), hash32(stack)));
        let set_path = init.clone();
        session
            .call(move |c| {
                Box::pin(async move {
                    let tx = c.transaction().await?;
                    tx.batch_execute(&migrate).await?;
                    let row = tx
                        .query_opt("SELECT version FROM schema_version", &[])
                        .await?;
                    let current: i32 = row.as_ref().map(|r| r.get(0)).unwrap_or(0);
                    let latest = schema::MIGRATIONS.len() as i32;
                    if current > latest {
                        return Err(Fail(format!(
                            "schema version {current} is newer than this strata understands \
                             ({latest}); upgrade strata"
                        )));
                    }
                    for sql in &schema::MIGRATIONS[current as usize..] {
                        tx.batch_execute(sql).await?;
                    }
                    if row.is_none() {
                        tx.execute("INSERT INTO schema_version VALUES ($1)", &[&latest])
                            .await?;
                    } else if current != latest {
                        tx.execute("UPDATE schema_version SET version = $1", &[&latest])
                            .await?;
                    }
                    tx.commit().await?;
                    c.batch_execute(&set_path).await?;
                    Ok(())
                })
            })
            .map_err(fail)?
            .map_err(|f: Fail| fail(format!("creating the schema: {}", f.0)))?;
        Ok(PgState {
            url: url.clone(),
            stack: stack.to_string(),
            init,
            session,
        })
    }

    /// The URL, password masked, for messages.
    pub fn url(&self) -> &str {
        &self.url.masked
    }

    fn err(&self, message: String) -> StateError {
        StateError::Postgres {
            url: self.url.masked.clone(),
            message,
        }
    }

    fn locker(&self) -> Locker<'_> {
        Locker {
            url: &self.url,
            init: self.init.clone(),
        }
    }

    /// Runs `f` in one `REPEATABLE READ` read-only transaction: one snapshot for all its reads.
    fn read<T, F>(&self, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t Transaction<'t>) -> TxFuture<'t, T> + Send + 'static,
    {
        self.run(true, f)
    }

    /// Runs `f` in one read-write transaction.
    fn write<T, F>(&self, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t Transaction<'t>) -> TxFuture<'t, T> + Send + 'static,
    {
        self.run(false, f)
    }

    fn run<T, F>(&self, read_only: bool, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t Transaction<'t>) -> TxFuture<'t, T> + Send + 'static,
    {
        let out = self.session.call(move |c| {
            Box::pin(async move {
                let mut b = c.build_transaction();
                if read_only {
                    b = b
                        .isolation_level(IsolationLevel::RepeatableRead)
                        .read_only(true);
                }
                let tx = b.start().await?;
                let out = f(&tx).await?;
                tx.commit().await?;
                Ok::<T, Fail>(out)
            })
        });
        match out {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(f)) => Err(self.err(f.0)),
            Err(e) => Err(self.err(e)),
        }
    }
}

/// A lock's key and `holders.scope` (the stack's with `job` None), for tests that take it
/// from another client.
#[cfg(test)]
pub(crate) fn lock_key(stack: &str, job: Option<&str>) -> ((i32, i32), String) {
    let l = job.map_or_else(|| PgLock::stack(stack), |j| PgLock::job(stack, j));
    (l.key, l.scope)
}

/// tokio-postgres' rows for the shared mappings in `rows.rs`. Integers are read at the
/// column's own width (tokio-postgres refuses an `INTEGER` as `i64`) and widened.
impl Columns for Row {
    fn text(&self, i: usize) -> Result<String, String> {
        self.try_get(i).map_err(|e| e.to_string())
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, String> {
        self.try_get(i).map_err(|e| e.to_string())
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, String> {
        let ty = self.columns().get(i).map(|c| c.type_().clone());
        let r = match ty {
            Some(Type::INT2) => self.try_get::<_, Option<i16>>(i).map(|v| v.map(i64::from)),
            Some(Type::INT4) => self.try_get::<_, Option<i32>>(i).map(|v| v.map(i64::from)),
            _ => self.try_get::<_, Option<i64>>(i),
        };
        r.map_err(|e| e.to_string())
    }
    fn flag(&self, i: usize) -> Result<bool, String> {
        self.try_get(i).map_err(|e| e.to_string())
    }
}

fn instance_from_row(row: &Row) -> Result<InstanceRecord, Fail> {
    rows::instance(row).map_err(Fail)
}

fn event_from_row(row: &Row) -> Result<EventRecord, Fail> {
    rows::event(row).map_err(Fail)
}

fn release_from_row(row: &Row) -> Result<Release, Fail> {
    rows::release(row).map_err(Fail)
}

/// Status changes shared by `set_statuses` and `finish_event`; an unknown id is an error.
async fn apply_statuses(
    tx: &Transaction<'_>,
    changes: &[(String, Status)],
    event: Option<i64>,
    now: &str,
) -> Result<(), Fail> {
    // As in SQLite, every SET expression sees the row before this update.
    let stmt = tx
        .prepare(
            "UPDATE instances SET
                 status_since = CASE WHEN status = $2 THEN status_since ELSE $3 END,
                 status = $2,
                 last_event = COALESCE($4, last_event)
             WHERE id = $1",
        )
        .await?;
    for (id, status) in changes {
        if tx
            .execute(&stmt, &[id, &status.as_str(), &now, &event])
            .await?
            == 0
        {
            return Err(Fail(format!("no instance with id {id:?}")));
        }
    }
    Ok(())
}

async fn select<T>(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    decode: fn(&Row) -> Result<T, Fail>,
) -> Result<Vec<T>, Fail> {
    tx.query(sql, params).await?.iter().map(decode).collect()
}

impl StateStore for PgState {
    fn instances(&self) -> Result<Vec<InstanceRecord>, StateError> {
        self.read(|tx| {
            Box::pin(async move {
                let sql = format!("SELECT {INSTANCE_COLS} FROM instances ORDER BY seq");
                select(tx, &sql, &[], instance_from_row).await
            })
        })
    }

    fn put_instances(&mut self, recs: &[InstanceRecord]) -> Result<(), StateError> {
        let recs = recs.to_vec();
        self.write(move |tx| {
            Box::pin(async move {
                // An upsert keeps the row's `seq`, so first-seen order survives.
                let stmt = tx
                    .prepare(
                        "INSERT INTO instances (id, name, layers, private_ip, public_ip, details,
                                                status, status_since, last_event)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                         ON CONFLICT (id) DO UPDATE SET
                             name = excluded.name, layers = excluded.layers,
                             private_ip = excluded.private_ip, public_ip = excluded.public_ip,
                             details = excluded.details, status = excluded.status,
                             status_since = excluded.status_since,
                             last_event = excluded.last_event",
                    )
                    .await?;
                for r in &recs {
                    tx.execute(
                        &stmt,
                        &[
                            &r.id,
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
                Ok(())
            })
        })
    }

    fn set_statuses(
        &mut self,
        changes: &[(String, Status)],
        event: Option<i64>,
    ) -> Result<(), StateError> {
        let now = clock::now_rfc3339();
        let changes = changes.to_vec();
        self.write(move |tx| {
            Box::pin(async move { apply_statuses(tx, &changes, event, &now).await })
        })
    }

    fn begin_event(
        &mut self,
        kind: &str,
        args: &Value,
        command: &str,
        hosts: &[String],
    ) -> Result<i64, StateError> {
        let user = format!("{}@{}", user_name(), hostname());
        let now = clock::now_rfc3339();
        let kind = kind.to_string();
        let command = command.to_string();
        let args = serde_json::to_string(args).map_err(|e| self.err(e.to_string()))?;
        let hosts = serde_json::to_string(hosts).map_err(|e| self.err(e.to_string()))?;
        self.write(move |tx| {
            Box::pin(async move {
                let row = tx
                    .query_one(
                        r#"INSERT INTO events (kind, args, "user", command, hosts, started, ended,
                                               result, recap)
                           VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, '{}') RETURNING id"#,
                        &[
                            &kind,
                            &args,
                            &user,
                            &command,
                            &hosts,
                            &now,
                            &EventResult::Running.as_str(),
                        ],
                    )
                    .await?;
                Ok(row.try_get(0)?)
            })
        })
    }

    fn finish_event(
        &mut self,
        id: i64,
        result: EventResult,
        recap: &Value,
        statuses: &[(String, Status)],
    ) -> Result<(), StateError> {
        if result == EventResult::Running {
            return Err(self.err(format!("event {id} cannot finish as running")));
        }
        let now = clock::now_rfc3339();
        let recap = serde_json::to_string(recap).map_err(|e| self.err(e.to_string()))?;
        let statuses = statuses.to_vec();
        self.write(move |tx| {
            Box::pin(async move {
                let n = tx
                    .execute(
                        "UPDATE events SET ended = $2, result = $3, recap = $4 WHERE id = $1",
                        &[&id, &now, &result.as_str(), &recap],
                    )
                    .await?;
                if n == 0 {
                    return Err(Fail(format!("no event with id {id}")));
                }
                // Every live instance the event targeted ran it, whether or not its status
                // moved.
                tx.execute(
                    "UPDATE instances SET last_event = $1
                     WHERE status != 'terminated' AND name IN (
                         SELECT json_array_elements_text(hosts::json) FROM events WHERE id = $1)",
                    &[&id],
                )
                .await?;
                apply_statuses(tx, &statuses, Some(id), &now).await
            })
        })
    }

    fn events(&self, limit: usize) -> Result<Vec<EventRecord>, StateError> {
        // LIMIT NULL is PostgreSQL for "no limit".
        let limit = (limit != 0).then(|| i64::try_from(limit).unwrap_or(i64::MAX));
        self.read(move |tx| {
            Box::pin(async move {
                let sql = format!("SELECT {EVENT_COLS} FROM events ORDER BY id DESC LIMIT $1");
                select(tx, &sql, &[&limit], event_from_row).await
            })
        })
    }

    fn abort_running(&mut self) -> Result<Vec<i64>, StateError> {
        let now = clock::now_rfc3339();
        self.write(move |tx| {
            Box::pin(async move {
                let rows = tx
                    .query(
                        "UPDATE events SET result = $2, ended = COALESCE(ended, $3)
                         WHERE result = $1 RETURNING id",
                        &[
                            &EventResult::Running.as_str(),
                            &EventResult::Aborted.as_str(),
                            &now,
                        ],
                    )
                    .await?;
                let mut ids = rows
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<Vec<i64>, _>>()?;
                ids.sort_unstable();
                Ok(ids)
            })
        })
    }

    fn add_releases(&mut self, rels: &[Release], keep: usize) -> Result<(), StateError> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let rels = rels.to_vec();
        self.write(move |tx| {
            Box::pin(async move {
                let deactivate = tx
                    .prepare("UPDATE releases SET active = false WHERE app = $1 AND instance = $2")
                    .await?;
                // Same release id twice (two deploys within one second) updates the row.
                let insert = tx
                    .prepare(
                        "INSERT INTO releases (app, instance, revision, release, deployed_at,
                                               active, event)
                         VALUES ($1, $2, $3, $4, $5, true, $6)
                         ON CONFLICT (app, instance, release) DO UPDATE SET
                             revision = excluded.revision, deployed_at = excluded.deployed_at,
                             active = true, event = excluded.event",
                    )
                    .await?;
                let prune = tx
                    .prepare(
                        "DELETE FROM releases
                         WHERE app = $1 AND instance = $2 AND NOT active AND seq NOT IN (
                             SELECT seq FROM releases WHERE app = $1 AND instance = $2
                             ORDER BY deployed_at DESC, seq DESC LIMIT $3)",
                    )
                    .await?;
                for r in &rels {
                    tx.execute(&deactivate, &[&r.app, &r.instance]).await?;
                    tx.execute(
                        &insert,
                        &[
                            &r.app,
                            &r.instance,
                            &r.revision,
                            &r.release,
                            &r.deployed_at,
                            &r.event,
                        ],
                    )
                    .await?;
                    tx.execute(&prune, &[&r.app, &r.instance, &keep]).await?;
                }
                Ok(())
            })
        })
    }

    fn activate_release(
        &mut self,
        app: &str,
        release: &str,
        instances: &[String],
    ) -> Result<(), StateError> {
        let (app, release, instances) = (app.to_string(), release.to_string(), instances.to_vec());
        self.write(move |tx| {
            Box::pin(async move {
                for inst in &instances {
                    let found = tx
                        .query_opt(
                            "SELECT 1 FROM releases
                             WHERE app = $1 AND instance = $2 AND release = $3",
                            &[&app, inst, &release],
                        )
                        .await?;
                    if found.is_none() {
                        return Err(Fail(format!(
                            "app {app} has no release {release} on instance {inst}"
                        )));
                    }
                    tx.execute(
                        "UPDATE releases SET active = (release = $3)
                         WHERE app = $1 AND instance = $2",
                        &[&app, inst, &release],
                    )
                    .await?;
                }
                Ok(())
            })
        })
    }

    fn deactivate_releases(&mut self, app: &str, instances: &[String]) -> Result<(), StateError> {
        let (app, instances) = (app.to_string(), instances.to_vec());
        self.write(move |tx| {
            Box::pin(async move {
                for inst in &instances {
                    tx.execute(
                        "UPDATE releases SET active = false WHERE app = $1 AND instance = $2",
                        &[&app, inst],
                    )
                    .await?;
                }
                Ok(())
            })
        })
    }

    fn releases(&self, app: Option<&str>) -> Result<Vec<Release>, StateError> {
        let app = app.map(str::to_string);
        self.read(move |tx| {
            Box::pin(async move {
                let sql = format!(
                    "SELECT {RELEASE_COLS} FROM releases WHERE $1::text IS NULL OR app = $1
                     ORDER BY deployed_at DESC, seq DESC"
                );
                select(tx, &sql, &[&app], release_from_row).await
            })
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StateError> {
        let key = key.to_string();
        self.read(move |tx| {
            Box::pin(async move {
                let row = tx
                    .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
                    .await?;
                Ok(match row {
                    Some(r) => Some(r.try_get(0)?),
                    None => None,
                })
            })
        })
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StateError> {
        let (key, value) = (key.to_string(), value.to_string());
        self.write(move |tx| {
            Box::pin(async move {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&key, &value],
                )
                .await?;
                Ok(())
            })
        })
    }

    fn lock(&self, holder: &Holder, wait: Duration) -> Result<Box<dyn LockGuard>, StateError> {
        self.locker()
            .lock(&PgLock::stack(&self.stack), &self.session, holder, wait)
    }

    fn holder(&self) -> Result<Option<Holder>, StateError> {
        self.locker()
            .holder_now(&PgLock::stack(&self.stack), &self.session)
    }

    fn begin_job_run(
        &mut self,
        job: &str,
        log: Option<&str>,
        holder: &Holder,
    ) -> Result<i64, StateError> {
        let (job, log, holder) = (job.to_string(), log.map(str::to_string), holder.clone());
        self.write(move |tx| {
            Box::pin(async move { jobs::begin(tx, &job, log.as_deref(), &holder).await })
        })
    }

    fn finish_job_run(
        &mut self,
        id: i64,
        result: JobResult,
        exit_code: Option<i32>,
        recap: &Value,
        event: Option<i64>,
    ) -> Result<(), StateError> {
        let recap = recap.clone();
        self.write(move |tx| {
            Box::pin(async move { jobs::finish(tx, id, result, exit_code, &recap, event).await })
        })
    }

    fn job_runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>, StateError> {
        let job = job.map(str::to_string);
        self.read(move |tx| Box::pin(async move { jobs::list(tx, job.as_deref(), limit).await }))
    }

    fn abort_running_jobs(&mut self, job: &str) -> Result<Vec<i64>, StateError> {
        let job = job.to_string();
        self.write(move |tx| Box::pin(async move { jobs::abort_running(tx, &job).await }))
    }

    fn job_lock(
        &self,
        job: &str,
        holder: &Holder,
        wait: Duration,
    ) -> Result<Box<dyn LockGuard>, StateError> {
        self.locker()
            .lock(&PgLock::job(&self.stack, job), &self.session, holder, wait)
    }

    fn job_holder(&self, job: &str) -> Result<Option<Holder>, StateError> {
        self.locker()
            .holder_now(&PgLock::job(&self.stack, job), &self.session)
    }

    fn export(&self) -> Result<StateDump, StateError> {
        self.read(|tx| Box::pin(dump::export(tx)))
    }

    fn import(&mut self, dump: &StateDump) -> Result<(), StateError> {
        dump.check_format().map_err(|m| self.err(m))?;
        let d = dump.clone();
        self.write(move |tx| Box::pin(async move { dump::import(tx, &d).await }))
    }
}
