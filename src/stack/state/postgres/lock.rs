//! Locks as PostgreSQL session-level advisory locks, each on a connection of its own.
//!
//! A session-level advisory lock belongs to the server session that took it, and the server
//! drops it the moment that session ends: a holder killed with SIGKILL closes its socket, the
//! server's backend sees the end of the stream and frees the lock at once, as `flock` does for
//! SQLite. Each lock therefore gets a dedicated [`Session`] that lives exactly as long as its
//! guard; the store's own connection never holds one, so its transactions cannot release or
//! keep a lock by accident.
//!
//! Keys use the two-`int4` form: a namespace (`strata:stack`, `strata:job`) and the stack's
//! (or the stack and job's) name, each hashed to 32 bits with SHA-256, so that other
//! applications' advisory locks in the same database, which mostly use the one-`bigint` form,
//! do not collide with strata's.
//!
//! The holder's record (pid, machine, command, since) is a `holders` row the holder writes
//! right after taking the lock, tagged with its server `backend_pid`. The lock, not the row,
//! decides: `holder()` reads `pg_locks` and believes a row only if its `backend_pid` is the
//! session that holds the lock now, so the row a crashed holder left behind counts for nothing.

use std::thread::sleep;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::session::{Session, describe};
use super::url::PgUrl;
use crate::stack::state::{Holder, LockGuard, StateError};

/// How often a waiting writer retries the lock.
const LOCK_POLL: Duration = Duration::from_millis(100);
/// A new holder writes its row right after taking the lock; a lock held with no row behind it
/// is looked at again for this long before the holder is reported as unknown.
const HOLDER_GRACE: Duration = Duration::from_millis(500);

/// 32 bits of SHA-256 of `s`, as the `int4` PostgreSQL's advisory lock functions take.
pub(super) fn hash32(s: &str) -> i32 {
    let d = Sha256::digest(s.as_bytes());
    i32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// One lock: its key and the `holders` row that names its holder.
#[derive(Clone, Debug)]
pub(super) struct PgLock {
    pub(super) key: (i32, i32),
    /// `stack` or `job:<name>`: the `holders.scope` of this lock.
    pub(super) scope: String,
}

impl PgLock {
    /// The stack's one-writer lock.
    pub(super) fn stack(stack: &str) -> PgLock {
        PgLock {
            key: (hash32("strata:stack"), hash32(stack)),
            scope: "stack".into(),
        }
    }

    /// A job's own lock, separate from the stack's.
    pub(super) fn job(stack: &str, job: &str) -> PgLock {
        PgLock {
            key: (hash32("strata:job"), hash32(&format!("{stack}\0{job}"))),
            scope: format!("job:{job}"),
        }
    }
}

/// Where locks are taken: the server, and the SQL that points a new session at the stack's
/// schema.
pub(super) struct Locker<'a> {
    pub(super) url: &'a PgUrl,
    pub(super) init: String,
}

impl Locker<'_> {
    fn fail(&self, message: String) -> StateError {
        StateError::Postgres {
            url: self.url.masked.clone(),
            message,
        }
    }

    /// Takes `lock` on a new session, polling until `wait` runs out; `Busy` names the holder.
    pub(super) fn lock(
        &self,
        lock: &PgLock,
        data: &Session,
        holder: &Holder,
        wait: Duration,
    ) -> Result<Box<dyn LockGuard>, StateError> {
        let session = Session::connect(self.url, Some(self.init.clone())).map_err(|message| {
            StateError::Connect {
                url: self.url.masked.clone(),
                message,
            }
        })?;
        let start = Instant::now();
        loop {
            let (k1, k2) = lock.key;
            let got = session
                .call(move |c| {
                    Box::pin(async move {
                        c.query_one("SELECT pg_try_advisory_lock($1, $2)", &[&k1, &k2])
                            .await
                            .map(|r| r.get::<_, bool>(0))
                            .map_err(|e| describe(&e))
                    })
                })
                .and_then(|r| r)
                .map_err(|e| self.fail(format!("taking the lock: {e}")))?;
            if got {
                let h = holder.clone();
                let scope = lock.scope.clone();
                session
                    .call(move |c| {
                        Box::pin(async move {
                            c.execute(
                                "INSERT INTO holders (scope, backend_pid, pid, host, command, since)
                                 VALUES ($1, pg_backend_pid(), $2, $3, $4, $5)
                                 ON CONFLICT (scope) DO UPDATE SET
                                     backend_pid = excluded.backend_pid, pid = excluded.pid,
                                     host = excluded.host, command = excluded.command,
                                     since = excluded.since",
                                &[&scope, &i64::from(h.pid), &h.host, &h.command, &h.since],
                            )
                            .await
                            .map_err(|e| describe(&e))
                        })
                    })
                    .and_then(|r| r)
                    .map_err(|e| self.fail(format!("recording the lock holder: {e}")))?;
                return Ok(Box::new(PgGuard {
                    session: Some(session),
                    lock: lock.clone(),
                }));
            }
            let over = start.elapsed().saturating_sub(wait);
            if start.elapsed() >= wait {
                match self.holder(lock, data)? {
                    Probe::Held(h) => return Err(StateError::Busy(h)),
                    Probe::Unnamed if over >= HOLDER_GRACE => {
                        return Err(StateError::Busy(unknown_holder()));
                    }
                    // Let go a moment ago, or its holder is still writing its row: try again.
                    Probe::Unnamed | Probe::Free => {}
                }
            }
            let poll = if over.is_zero() {
                LOCK_POLL.min(wait - start.elapsed().min(wait))
            } else {
                Duration::from_millis(20)
            };
            sleep(poll.max(Duration::from_millis(1)));
        }
    }

    /// Who holds `lock` now, from the server's lock table (on the store's own session, which
    /// takes no lock to look).
    pub(super) fn holder_now(
        &self,
        lock: &PgLock,
        data: &Session,
    ) -> Result<Option<Holder>, StateError> {
        let deadline = Instant::now() + HOLDER_GRACE;
        loop {
            match self.holder(lock, data)? {
                Probe::Free => return Ok(None),
                Probe::Held(h) => return Ok(Some(h)),
                Probe::Unnamed if Instant::now() >= deadline => return Ok(Some(unknown_holder())),
                Probe::Unnamed => sleep(Duration::from_millis(20)),
            }
        }
    }

    fn holder(&self, lock: &PgLock, data: &Session) -> Result<Probe, StateError> {
        let (k1, k2) = lock.key;
        let scope = lock.scope.clone();
        let rows = data
            .call(move |c| {
                Box::pin(async move {
                    c.query(
                        "SELECT h.pid, h.host, h.command, h.since
                         FROM pg_locks l
                         LEFT JOIN holders h ON h.scope = $3 AND h.backend_pid = l.pid
                         WHERE l.locktype = 'advisory' AND l.granted
                           AND l.classid = $1::int4::oid AND l.objid = $2::int4::oid
                           AND l.objsubid = 2
                           AND l.database = (SELECT oid FROM pg_database
                                             WHERE datname = current_database())",
                        &[&k1, &k2, &scope],
                    )
                    .await
                    .map_err(|e| describe(&e))
                })
            })
            .and_then(|r| r)
            .map_err(|e| self.fail(format!("reading the lock holder: {e}")))?;
        let Some(row) = rows.first() else {
            return Ok(Probe::Free);
        };
        let pid: Option<i64> = row.get(0);
        Ok(match pid {
            Some(pid) => Probe::Held(Holder {
                pid: u32::try_from(pid).unwrap_or(0),
                host: row.get(1),
                command: row.get(2),
                since: row.get(3),
            }),
            None => Probe::Unnamed,
        })
    }
}

enum Probe {
    Free,
    Held(Holder),
    /// Held, but its holder has not written its row (yet).
    Unnamed,
}

/// A held lock: its session, whose end releases it.
struct PgGuard {
    session: Option<Session>,
    lock: PgLock,
}

impl LockGuard for PgGuard {}

impl Drop for PgGuard {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        // Row first, while still held, so no reader pairs it with the next holder's lock;
        // then the unlock itself, so the lock is free before `drop` returns. Closing the
        // session would free it too, a moment later. Best effort: a lost connection has
        // already freed the lock on the server.
        let (k1, k2) = self.lock.key;
        let scope = self.lock.scope.clone();
        let _ = session.call(move |c| {
            Box::pin(async move {
                let _ = c
                    .execute(
                        "DELETE FROM holders WHERE scope = $1 AND backend_pid = pg_backend_pid()",
                        &[&scope],
                    )
                    .await;
                let _ = c
                    .execute("SELECT pg_advisory_unlock($1, $2)", &[&k1, &k2])
                    .await;
            })
        });
        drop(session);
    }
}

/// Stands in when the lock is held but its holder never recorded itself (stopped right after
/// locking, or a foreign client): `Busy` must still name someone.
fn unknown_holder() -> Holder {
    Holder {
        pid: 0,
        command: "unknown".into(),
        since: "unknown".into(),
        host: "unknown".into(),
    }
}
