//! The local backend: one SQLite file per stack, plus a sidecar lock file.
//!
//! SQLite gives the all-or-nothing writes the lifecycle needs (a crash mid-event must not
//! leave half a status update) without a server. The writer lock is *not* kept in the
//! database (see [`lock`]): a row-based lock outlives a SIGKILLed holder and needs
//! stale-lock guessing, whereas `flock(2)` dies with the holder's process.

mod dump;
mod jobs;
pub(super) mod lock;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use serde_json::Value;

use super::rows::{self, Columns, INSTANCE_COLS, RELEASE_COLS};
use super::{
    EventRecord, EventResult, Holder, InstanceRecord, JobResult, JobRun, LockGuard, Release,
    StateDump, StateError, StateStore, Status,
};
use crate::stack::clock;
use lock::{WriterLock, hostname};

/// Long enough to ride out another process's transaction (they are all short), short enough
/// that a wedged database surfaces as an error rather than a hang.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Schema migrations; `user_version` is the number applied. Append, never edit: databases
/// in the field are at every version in between.
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE instances (
    id TEXT PRIMARY KEY NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    layers TEXT NOT NULL,
    private_ip TEXT,
    public_ip TEXT,
    details TEXT NOT NULL,
    status TEXT NOT NULL,
    status_since TEXT NOT NULL,
    last_event INTEGER
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    args TEXT NOT NULL,
    user TEXT NOT NULL,
    command TEXT NOT NULL,
    hosts TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    result TEXT NOT NULL,
    recap TEXT NOT NULL
);
CREATE INDEX events_result ON events (result);
CREATE TABLE releases (
    app TEXT NOT NULL,
    instance TEXT NOT NULL,
    revision TEXT,
    release TEXT NOT NULL,
    deployed_at TEXT NOT NULL,
    active INTEGER NOT NULL,
    event INTEGER,
    UNIQUE (app, instance, release)
);
",
    "
CREATE TABLE meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
",
    jobs::MIGRATION,
];

const EVENT_COLS: &str = "id, kind, args, user, command, hosts, started, ended, result, recap";

/// A failure before the database path is attached to it (see [`SqliteState::err`]).
struct Fail(String);

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Fail {
        Fail(e.to_string())
    }
}

impl From<serde_json::Error> for Fail {
    fn from(e: serde_json::Error) -> Fail {
        Fail(format!("encoding JSON: {e}"))
    }
}

/// The stack's state in a local SQLite file.
pub struct SqliteState {
    conn: Connection,
    path: PathBuf,
    lock: WriterLock,
}

impl SqliteState {
    /// Opens (creating it and its directory if needed) the database and brings its schema up
    /// to date, so that callers never see an older layout.
    pub fn open(db_path: &Path) -> Result<SqliteState, StateError> {
        let err = |f: Fail| store_err(db_path, f);
        if let Some(dir) = db_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)
                .map_err(|e| err(Fail(format!("creating {}: {e}", dir.display()))))?;
        }
        let mut conn = Connection::open(db_path).map_err(|e| err(e.into()))?;
        configure(&mut conn).map_err(err)?;
        Ok(SqliteState {
            conn,
            path: db_path.to_owned(),
            lock: WriterLock::new(db_path),
        })
    }

    /// Deletes the database and SQLite's `-wal` and `-shm` files beside it, so that the next
    /// `open` starts from an empty state (`strata lab demo`, whose hosts are new every run).
    /// The lock sidecar stays: a command waiting for the lock may hold it open.
    pub fn remove(db_path: &Path) -> Result<(), StateError> {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = db_path.as_os_str().to_owned();
            p.push(suffix);
            let p = PathBuf::from(p);
            match fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(store_err(
                        db_path,
                        Fail(format!("removing {}: {e}", p.display())),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A copy of this state at `to`, opened: check mode runs a command against it, so the
    /// real state stays as it was while the events still see a consistent stack.
    pub fn snapshot(&self, to: &Path) -> Result<SqliteState, StateError> {
        SqliteState::remove(to)?;
        let target = to.to_string_lossy().into_owned();
        self.conn
            .execute("VACUUM INTO ?1", [target])
            .map_err(|e| self.err(Fail(format!("copying the state to {}: {e}", to.display()))))?;
        SqliteState::open(to)
    }

    /// The database file, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, f: Fail) -> StateError {
        store_err(&self.path, f)
    }

    /// Runs `f` in one read transaction so that multi-row reads see a single snapshot.
    fn read<T>(&self, f: impl FnOnce(&Transaction) -> Result<T, Fail>) -> Result<T, StateError> {
        let run = || {
            let tx = self.conn.unchecked_transaction()?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        };
        run().map_err(|e| self.err(e))
    }

    /// Runs `f` in one write transaction. IMMEDIATE takes SQLite's write lock up front: a
    /// deferred transaction that upgrades after another process committed fails at once with
    /// SQLITE_BUSY instead of waiting out the busy timeout.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&Transaction) -> Result<T, Fail>,
    ) -> Result<T, StateError> {
        let run = |conn: &mut Connection| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        };
        run(&mut self.conn).map_err(|e| store_err(&self.path, e))
    }
}

fn store_err(path: &Path, f: Fail) -> StateError {
    StateError::Store {
        path: path.to_owned(),
        message: f.0,
    }
}

/// Sets the connection up and migrates the schema.
fn configure(conn: &mut Connection) -> Result<(), Fail> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL lets read-only commands (`status`, `history`) read while an event writes. The mode
    // is persistent in the file; a filesystem that cannot do WAL keeps the rollback journal,
    // which is slower but just as safe, so the answer is not checked.
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))?;
    let latest = MIGRATIONS.len() as i64;
    let version = |c: &Connection| c.pragma_query_value(None, "user_version", |r| r.get(0));
    if version(conn)? == latest {
        return Ok(());
    }
    // Re-read inside the write transaction: another process may have migrated meanwhile.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = version(&tx)?;
    if current > latest {
        return Err(Fail(format!(
            "schema version {current} is newer than this strata understands ({latest}); \
             upgrade strata"
        )));
    }
    for sql in &MIGRATIONS[current as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", latest)?;
    tx.commit()?;
    Ok(())
}

/// rusqlite's rows for the shared mappings in `rows.rs`.
impl Columns for Row<'_> {
    fn text(&self, i: usize) -> Result<String, String> {
        self.get(i).map_err(|e| e.to_string())
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, String> {
        self.get(i).map_err(|e| e.to_string())
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, String> {
        self.get(i).map_err(|e| e.to_string())
    }
    fn flag(&self, i: usize) -> Result<bool, String> {
        self.get(i).map_err(|e| e.to_string())
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

/// Status changes shared by `set_statuses` and `finish_event`. An unknown id is an error
/// rather than a silent no-op: it means the caller mixed up identities and names.
fn apply_statuses(
    tx: &Transaction,
    changes: &[(String, Status)],
    event: Option<i64>,
    now: &str,
) -> Result<(), Fail> {
    // SQLite evaluates every SET expression against the old row, so `status = ?2` in the
    // CASE compares with the status before this update.
    let mut stmt = tx.prepare_cached(
        "UPDATE instances SET
             status_since = CASE WHEN status = ?2 THEN status_since ELSE ?3 END,
             status = ?2,
             last_event = COALESCE(?4, last_event)
         WHERE id = ?1",
    )?;
    for (id, status) in changes {
        if stmt.execute(params![id, status.as_str(), now, event])? == 0 {
            return Err(Fail(format!("no instance with id {id:?}")));
        }
    }
    Ok(())
}

impl StateStore for SqliteState {
    fn instances(&self) -> Result<Vec<InstanceRecord>, StateError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {INSTANCE_COLS} FROM instances ORDER BY seq"
            ))?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(instance_from_row(row)?);
            }
            Ok(out)
        })
    }

    fn put_instances(&mut self, recs: &[InstanceRecord]) -> Result<(), StateError> {
        self.write(|tx| {
            // An upsert, not INSERT OR REPLACE: replacing would renumber `seq` and lose the
            // first-seen order.
            let mut stmt = tx.prepare(
                "INSERT INTO instances (id, seq, name, layers, private_ip, public_ip, details,
                                        status, status_since, last_event)
                 VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM instances),
                         ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (id) DO UPDATE SET
                     name = excluded.name, layers = excluded.layers,
                     private_ip = excluded.private_ip, public_ip = excluded.public_ip,
                     details = excluded.details, status = excluded.status,
                     status_since = excluded.status_since, last_event = excluded.last_event",
            )?;
            for r in recs {
                stmt.execute(params![
                    r.id,
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
            Ok(())
        })
    }

    fn set_statuses(
        &mut self,
        changes: &[(String, Status)],
        event: Option<i64>,
    ) -> Result<(), StateError> {
        let now = clock::now_rfc3339();
        self.write(|tx| apply_statuses(tx, changes, event, &now))
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
        self.write(|tx| {
            tx.execute(
                "INSERT INTO events (kind, args, user, command, hosts, started, ended, result,
                                     recap)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, '{}')",
                params![
                    kind,
                    serde_json::to_string(args)?,
                    user,
                    command,
                    serde_json::to_string(hosts)?,
                    now,
                    EventResult::Running.as_str(),
                ],
            )?;
            Ok(tx.last_insert_rowid())
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
            return Err(self.err(Fail(format!("event {id} cannot finish as running"))));
        }
        let now = clock::now_rfc3339();
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE events SET ended = ?2, result = ?3, recap = ?4 WHERE id = ?1",
                params![id, now, result.as_str(), serde_json::to_string(recap)?],
            )?;
            if n == 0 {
                return Err(Fail(format!("no event with id {id}")));
            }
            // Every live instance the event targeted ran it, whether or not its status moved.
            tx.execute(
                "UPDATE instances SET last_event = ?1 WHERE status != 'terminated' AND name IN \
                 (SELECT value FROM json_each((SELECT hosts FROM events WHERE id = ?1)))",
                params![id],
            )?;
            apply_statuses(tx, statuses, Some(id), &now)
        })
    }

    fn events(&self, limit: usize) -> Result<Vec<EventRecord>, StateError> {
        // LIMIT -1 is SQLite for "no limit".
        let limit = if limit == 0 {
            -1
        } else {
            i64::try_from(limit).unwrap_or(i64::MAX)
        };
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {EVENT_COLS} FROM events ORDER BY id DESC LIMIT ?1"
            ))?;
            let mut rows = stmt.query([limit])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(event_from_row(row)?);
            }
            Ok(out)
        })
    }

    fn abort_running(&mut self) -> Result<Vec<i64>, StateError> {
        // The real time of death is unknown; `ended` records when the abort was noticed.
        let now = clock::now_rfc3339();
        self.write(|tx| {
            let running = EventResult::Running.as_str();
            let ids = tx
                .prepare("SELECT id FROM events WHERE result = ?1 ORDER BY id")?
                .query_map([running], |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()?;
            tx.execute(
                "UPDATE events SET result = ?2, ended = COALESCE(ended, ?3) WHERE result = ?1",
                params![running, EventResult::Aborted.as_str(), now],
            )?;
            Ok(ids)
        })
    }

    fn add_releases(&mut self, rels: &[Release], keep: usize) -> Result<(), StateError> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        self.write(|tx| {
            let mut deactivate =
                tx.prepare("UPDATE releases SET active = 0 WHERE app = ?1 AND instance = ?2")?;
            // Same release id twice (two deploys within one second) updates the row rather
            // than failing the whole deploy's bookkeeping.
            let mut insert = tx.prepare(
                "INSERT INTO releases (app, instance, revision, release, deployed_at, active,
                                       event)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)
                 ON CONFLICT (app, instance, release) DO UPDATE SET
                     revision = excluded.revision, deployed_at = excluded.deployed_at,
                     active = 1, event = excluded.event",
            )?;
            let mut prune = tx.prepare(
                "DELETE FROM releases
                 WHERE app = ?1 AND instance = ?2 AND active = 0 AND rowid NOT IN (
                     SELECT rowid FROM releases WHERE app = ?1 AND instance = ?2
                     ORDER BY deployed_at DESC, rowid DESC LIMIT ?3)",
            )?;
            for r in rels {
                deactivate.execute(params![r.app, r.instance])?;
                insert.execute(params![
                    r.app,
                    r.instance,
                    r.revision,
                    r.release,
                    r.deployed_at,
                    r.event
                ])?;
                prune.execute(params![r.app, r.instance, keep])?;
            }
            Ok(())
        })
    }

    fn activate_release(
        &mut self,
        app: &str,
        release: &str,
        instances: &[String],
    ) -> Result<(), StateError> {
        self.write(|tx| {
            let mut exists = tx.prepare(
                "SELECT 1 FROM releases WHERE app = ?1 AND instance = ?2 AND release = ?3",
            )?;
            let mut set = tx.prepare(
                "UPDATE releases SET active = (release = ?3) WHERE app = ?1 AND instance = ?2",
            )?;
            for inst in instances {
                let found: Option<i64> = exists
                    .query_row(params![app, inst, release], |r| r.get(0))
                    .optional()?;
                if found.is_none() {
                    return Err(Fail(format!(
                        "app {app} has no release {release} on instance {inst}"
                    )));
                }
                set.execute(params![app, inst, release])?;
            }
            Ok(())
        })
    }

    fn deactivate_releases(&mut self, app: &str, instances: &[String]) -> Result<(), StateError> {
        self.write(|tx| {
            let mut stmt =
                tx.prepare("UPDATE releases SET active = 0 WHERE app = ?1 AND instance = ?2")?;
            for inst in instances {
                stmt.execute(params![app, inst])?;
            }
            Ok(())
        })
    }

    fn releases(&self, app: Option<&str>) -> Result<Vec<Release>, StateError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {RELEASE_COLS} FROM releases WHERE ?1 IS NULL OR app = ?1
                 ORDER BY deployed_at DESC, rowid DESC"
            ))?;
            let mut rows = stmt.query([app])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(release_from_row(row)?);
            }
            Ok(out)
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StateError> {
        self.read(|tx| {
            let mut stmt = tx.prepare("SELECT value FROM meta WHERE key = ?1")?;
            let mut rows = stmt.query([key])?;
            Ok(match rows.next()? {
                Some(row) => Some(row.get(0)?),
                None => None,
            })
        })
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StateError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }

    fn lock(&self, holder: &Holder, wait: Duration) -> Result<Box<dyn LockGuard>, StateError> {
        self.lock.lock(holder, wait)
    }

    fn holder(&self) -> Result<Option<Holder>, StateError> {
        self.lock.holder()
    }

    fn export(&self) -> Result<StateDump, StateError> {
        self.read(dump::export)
    }

    fn import(&mut self, d: &StateDump) -> Result<(), StateError> {
        self.write(|tx| dump::import(tx, d))
    }

    fn begin_job_run(
        &mut self,
        job: &str,
        log: Option<&str>,
        holder: &Holder,
    ) -> Result<i64, StateError> {
        self.write(|tx| jobs::begin(tx, job, log, holder))
    }

    fn finish_job_run(
        &mut self,
        id: i64,
        result: JobResult,
        exit_code: Option<i32>,
        recap: &Value,
        event: Option<i64>,
    ) -> Result<(), StateError> {
        self.write(|tx| jobs::finish(tx, id, result, exit_code, recap, event))
    }

    fn job_runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>, StateError> {
        self.read(|tx| jobs::list(tx, job, limit))
    }

    fn abort_running_jobs(&mut self, job: &str) -> Result<Vec<i64>, StateError> {
        self.write(|tx| jobs::abort_running(tx, job))
    }

    fn job_lock(
        &self,
        job: &str,
        holder: &Holder,
        wait: Duration,
    ) -> Result<Box<dyn LockGuard>, StateError> {
        WriterLock::job(&self.path, job).lock(holder, wait)
    }

    fn job_holder(&self, job: &str) -> Result<Option<Holder>, StateError> {
        WriterLock::job(&self.path, job).holder()
    }
}

/// Who runs strata here, for the `user@host` of events.
pub(super) fn user_name() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        // SAFETY: getuid cannot fail and touches no memory.
        .unwrap_or_else(|| format!("uid{}", unsafe { libc::getuid() }))
}
