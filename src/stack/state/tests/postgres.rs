//! The PostgreSQL backend's own mechanics against a real server: the shared test server,
//! the schema and its version, stale holder rows, a SIGKILLed holder, and connection errors.

use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Fx, Kind, holder};
use crate::stack::state::postgres::url::PgUrl;
use crate::stack::state::{PgState, StateBackend, StateError, StateStore};

#[path = "../../../../tests/common/postgres.rs"]
mod server;

use server::PgServer;

static SERVER: OnceLock<Mutex<Option<PgServer>>> = OnceLock::new();
static URL: OnceLock<String> = OnceLock::new();

/// The shared test server, started on first use and stopped (its directory removed) when
/// the test process exits.
pub(super) fn with_server<T>(f: impl FnOnce(&PgServer) -> T) -> T {
    let m = SERVER.get_or_init(|| {
        extern "C" fn stop() {
            if let Some(m) = SERVER.get()
                && let Ok(mut g) = m.lock()
            {
                g.take();
            }
        }
        let s = PgServer::start("unit");
        // SAFETY: registers a plain function that runs once at exit.
        unsafe { libc::atexit(stop) };
        Mutex::new(Some(s))
    });
    let g = m.lock().unwrap_or_else(|e| e.into_inner());
    f(g.as_ref().expect("server running"))
}

/// The URL of the database the tests share (each test is a stack: a schema of its own).
pub(super) fn database_url() -> String {
    URL.get_or_init(|| with_server(|s| s.database("state_tests")))
        .clone()
}

fn pg_url(u: &str) -> PgUrl {
    PgUrl::parse(u).unwrap()
}

#[test]
fn schema_per_stack_with_its_version() {
    let fx = Fx::new(Kind::Postgres, "schema");
    let mut st = fx.open();
    st.set_meta("k", "v").unwrap();
    let other = StateBackend::open(&fx.loc, &format!("{}-other", fx.stack)).unwrap();
    assert_eq!(other.meta("k").unwrap(), None, "stacks do not share tables");
    drop((st, other));
    let version = with_server(|s| {
        s.psql(
            "state_tests",
            &format!("SELECT version FROM \"strata_{}\".schema_version", fx.stack),
        )
    });
    assert_eq!(version.trim(), "2", "every migration applied");
    // Reopening migrates nothing and keeps the data.
    assert_eq!(fx.open().meta("k").unwrap().as_deref(), Some("v"));
    // A schema from a newer strata is refused rather than misread.
    with_server(|s| {
        s.psql(
            "state_tests",
            &format!(
                "UPDATE \"strata_{}\".schema_version SET version = 99",
                fx.stack
            ),
        )
    });
    match StateBackend::open(&fx.loc, &fx.stack) {
        Err(StateError::Postgres { message, .. }) => {
            assert!(message.contains("newer"), "{message}")
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
}

#[test]
fn holder_ignores_a_stale_row() {
    let fx = Fx::new(Kind::Postgres, "stalerow");
    let st = fx.open();
    // What a SIGKILLed holder leaves: its row, but no lock (its session is gone).
    with_server(|s| {
        s.psql(
            "state_tests",
            &format!(
                "INSERT INTO \"strata_{}\".holders VALUES ('stack', 1, 42, 'h', 'strata stack sync', 'then')",
                fx.stack
            ),
        )
    });
    assert_eq!(st.holder().unwrap(), None);
    let h = holder("strata stack deploy web");
    let g = st.lock(&h, Duration::ZERO).unwrap();
    assert_eq!(st.holder().unwrap(), Some(h));
    drop(g);
    assert_eq!(st.holder().unwrap(), None);
    let rows = with_server(|s| {
        s.psql(
            "state_tests",
            &format!("SELECT count(*) FROM \"strata_{}\".holders", fx.stack),
        )
    });
    assert_eq!(rows.trim(), "0", "the row goes with the lock");
}

/// Another process (psql) holds the stack lock as strata would, then dies by SIGKILL: the
/// server ends its session and the lock is free at once.
#[test]
fn a_killed_holders_lock_is_free_at_once() {
    killed_holder(None);
}

/// The same for a job's lock (`strata jobs run` killed while it runs).
#[test]
fn a_killed_job_runs_lock_is_free_at_once() {
    killed_holder(Some("backup"));
}

fn killed_holder(job: Option<&str>) {
    use std::io::Write;
    let fx = Fx::new(
        Kind::Postgres,
        if job.is_some() { "jobkill" } else { "sigkill" },
    );
    let st = fx.open();
    let h = holder("strata stack sync");
    let (lock, scope) = super::super::postgres::lock_key(&fx.stack, job);
    let held = |st: &StateBackend| match job {
        Some(j) => st.job_holder(j).unwrap(),
        None => st.holder().unwrap(),
    };
    let take = |st: &StateBackend, wait| match job {
        Some(j) => st.job_lock(j, &holder("mine"), wait),
        None => st.lock(&holder("mine"), wait),
    };
    let mut child = with_server(|s| {
        s.psql_command("state_tests")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    });
    let sql = format!(
        "SET search_path TO \"strata_{}\";
         SELECT pg_advisory_lock({}, {});
         INSERT INTO holders VALUES ('{scope}', pg_backend_pid(), {}, '{}', '{}', '{}');\n",
        fx.stack, lock.0, lock.1, h.pid, h.host, h.command, h.since
    );
    // stdin stays open: psql idles in its session, holding the lock, like a running event.
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while held(&st).is_none() {
        assert!(Instant::now() < deadline, "psql never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    if job.is_some() {
        assert_eq!(st.holder().unwrap(), None, "the stack lock is another lock");
    }
    match take(&st, Duration::from_millis(200)) {
        Err(StateError::Busy(got)) => assert_eq!(got, h),
        other => panic!("{:?}", other.map(|_| ())),
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let start = Instant::now();
    let _g = take(&st, Duration::from_secs(5)).expect("the server freed the dead session's lock");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn connection_errors_are_clear_and_mask_the_password() {
    let (wrong, port) = with_server(|s| (s.password_url("secretdb", "wrong-pass"), s.port));
    let Err(e) = PgState::open(&pg_url(&wrong), "x") else {
        panic!("wrong password accepted");
    };
    let msg = e.to_string();
    assert!(matches!(e, StateError::Connect { .. }), "{msg}");
    assert!(msg.contains("password authentication failed"), "{msg}");
    assert!(
        msg.contains("secret:***@") && !msg.contains("wrong-pass"),
        "{msg}"
    );

    // The right password works.
    let right = with_server(|s| s.password_url("secretdb", PgServer::PASSWORD));
    let mut st = PgState::open(&pg_url(&right), "pw").unwrap();
    st.set_meta("k", "v").unwrap();

    // Nothing listens there: refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    assert_ne!(closed_port, port);
    let url = format!("postgres://u:pw@127.0.0.1:{closed_port}/db");
    let msg = PgState::open(&pg_url(&url), "x").err().unwrap().to_string();
    assert!(
        msg.contains("cannot connect") && msg.contains("u:***@"),
        "{msg}"
    );
    assert!(!msg.contains(":pw@"), "{msg}");

    // A listener that never answers: the connect timeout, not a hang.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "postgres://u@127.0.0.1:{}/db?connect_timeout=1",
        silent.local_addr().unwrap().port()
    );
    let start = Instant::now();
    let msg = PgState::open(&pg_url(&url), "x").err().unwrap().to_string();
    assert!(start.elapsed() < Duration::from_secs(5), "{msg}");
    assert!(msg.contains("cannot connect"), "{msg}");
}

#[test]
fn check_mode_snapshot_is_a_private_sqlite_copy() {
    let fx = Fx::new(Kind::Postgres, "snapshot");
    let mut st = fx.open();
    st.set_meta("m", "1").unwrap();
    st.begin_event("setup", &json!({"a": 1}), "c", &[]).unwrap();
    let copy_path = fx.scratch().join("copy.db");
    let mut copy = st.snapshot(&copy_path).unwrap();
    assert!(matches!(copy, StateBackend::Sqlite(_)));
    assert_eq!(copy.export().unwrap(), st.export().unwrap());
    copy.set_meta("m", "2").unwrap();
    assert_eq!(st.meta("m").unwrap().as_deref(), Some("1"));
}
