//! One PostgreSQL connection on a thread of its own.
//!
//! [`StateStore`](crate::stack::state::StateStore) is synchronous, and its callers are async
//! code running inside a tokio runtime (the CLI's multi-threaded one, a test's current-thread
//! one, the bench's). Blocking on a future there is not possible: `block_on` inside a runtime
//! panics, and `block_in_place` panics on a current-thread runtime. So each connection lives
//! on a dedicated thread with its own current-thread runtime, which owns the client and drives
//! its connection task; a trait method sends a job over a channel and waits for the reply.
//! The caller's thread blocks for the length of one short query, as it does on a SQLite
//! transaction. The thread also keeps polling the connection between jobs, so an idle lock
//! session stays healthy, and its end (the [`Session`] dropped) closes the connection cleanly.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_postgres::{Client, NoTls};

use super::url::PgUrl;

type Job = Box<dyn for<'a> FnOnce(&'a mut Client) -> Pin<Box<dyn Future<Output = ()> + 'a>> + Send>;

/// A connection and the thread that drives it. Dropping it closes the connection and waits
/// for the thread, so a session-level lock is released by the time `drop` returns.
pub(super) struct Session {
    jobs: Option<mpsc::UnboundedSender<Job>>,
    thread: Option<JoinHandle<()>>,
}

/// How long closing may take before the thread is left to finish on its own.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

impl Session {
    /// Connects (within the URL's connect timeout), then runs `init` (e.g. `SET search_path`)
    /// if given. The error is the driver's reason, without the URL.
    pub(super) fn connect(url: &PgUrl, init: Option<String>) -> Result<Session, String> {
        let (ready_tx, ready_rx) = std_mpsc::sync_channel::<Result<(), String>>(1);
        let (jobs, mut rx) = mpsc::unbounded_channel::<Job>();
        let config = url.config.clone();
        let deadline = url.connect_timeout();
        let thread = std::thread::Builder::new()
            .name("strata-postgres".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("cannot start a runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    let (mut client, conn) =
                        match tokio::time::timeout(deadline, config.connect(NoTls)).await {
                            Ok(Ok(pair)) => pair,
                            Ok(Err(e)) => {
                                let _ = ready_tx.send(Err(describe(&e)));
                                return;
                            }
                            Err(_) => {
                                let _ = ready_tx.send(Err(format!(
                                    "no answer within {} s",
                                    deadline.as_secs()
                                )));
                                return;
                            }
                        };
                    let conn = tokio::spawn(conn);
                    if let Some(sql) = init
                        && let Err(e) = client.batch_execute(&sql).await
                    {
                        let _ = ready_tx.send(Err(describe(&e)));
                        return;
                    }
                    let _ = ready_tx.send(Ok(()));
                    while let Some(job) = rx.recv().await {
                        job(&mut client).await;
                    }
                    // The client gone, the connection task sends Terminate and ends.
                    drop(client);
                    let _ = tokio::time::timeout(CLOSE_TIMEOUT, conn).await;
                });
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        let mut session = Session {
            jobs: Some(jobs),
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(session),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                session.jobs = None;
                Err("the connection thread stopped".into())
            }
        }
    }

    /// Runs `f` on the connection and waits for its result.
    pub(super) fn call<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut Client) -> Pin<Box<dyn Future<Output = T> + 'a>> + Send + 'static,
    {
        let (tx, rx) = std_mpsc::sync_channel(1);
        let job: Job = Box::new(move |c| {
            Box::pin(async move {
                let out = f(c).await;
                let _ = tx.send(out);
            })
        });
        let Some(jobs) = &self.jobs else {
            return Err("the connection is closed".into());
        };
        jobs.send(job)
            .map_err(|_| "the connection thread stopped".to_string())?;
        rx.recv()
            .map_err(|_| "the connection thread stopped".to_string())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The driver's error as one line: the server's message (and detail) when it sent one, else
/// the error with its causes (refused connection, DNS, timeout...).
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{}: {}", db.severity(), db.message());
        if let Some(d) = db.detail() {
            s.push_str(&format!(" ({d})"));
        }
        return s;
    }
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(&format!(": {c}"));
        }
        src = cause.source();
    }
    s
}
