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
mod store;
pub mod url;

use std::future::Future;
use std::pin::Pin;
use tokio_postgres::types::Type;
use tokio_postgres::{IsolationLevel, Row, Transaction};

use super::rows::{self, Columns, INSTANCE_COLS, RELEASE_COLS};
use super::{EventRecord, InstanceRecord, Release, StateError, Status};
#[cfg(test)]
use lock::PgLock;
use lock::{Locker, hash32};
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
