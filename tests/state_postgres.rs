//! The PostgreSQL state backend end to end (issue 16): a stack whose `state:` is a
//! `postgres://` URL, on lab hosts and a real PostgreSQL server (tests/common/postgres.rs).
//! One writer at a time (exit 6 naming the holder's pid, host and command), a SIGKILLed
//! holder's lock free at once and its event `aborted`, `history` as SQLite gives it, the
//! export/import round trip between the backends, and bad URLs, a refused login and an
//! unreachable server stopping the command before any host is contacted.

mod common;

use common::Lab;
use common::postgres::PgServer;
use common::stack::Stack;
use common::validation::Case;

/// `state: URL` in the fixture stack's file.
fn use_state(st: &Stack, url: &str) {
    st.edit(|t| {
        t.replacen(
            "name: fixture\n",
            &format!("name: fixture\nstate: {url}\n"),
            1,
        )
    });
}

#[test]
fn sync_lock_crash_history_and_export_on_postgres() {
    let pg = PgServer::start("it-stack");
    let url = pg.database("teamstate");
    let lab = Lab::up("pg-state", 3, false);
    let st = Stack::on(&lab);
    use_state(&st, &url);
    // The same one-writer and crash-recovery scenario as on SQLite (tests/stack.rs).
    common::stack::busy_and_crash(&lab, &st);
    assert!(
        !st.db().exists(),
        "no SQLite file when the state is in PostgreSQL"
    );

    // Export, then import into SQLite through $STRATA_STATE_URL: nothing lost, and
    // `history` and `status` read the same from both backends.
    let dump = st.dir.join("state.json");
    st.expect(&["state", "export", "-o", dump.to_str().unwrap()], 0);
    let lite = st.dir.join("lite");
    let lite_env = lite.to_str().unwrap().to_string();
    let lite_st = Stack::existing(&st.dir, &st.file).with_command(move |c| {
        c.env("STRATA_STATE_URL", &lite_env);
    });
    lite_st.expect(&["state", "import", dump.to_str().unwrap()], 0);
    assert!(lite.join("fixture.db").exists());
    let again = lite_st.expect(&["state", "export"], 0);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        std::fs::read_to_string(&dump).unwrap(),
        "PostgreSQL -> JSON -> SQLite -> JSON is identical"
    );
    assert_eq!(lite_st.history(), st.history());
    assert_eq!(lite_st.status(), st.status());
    // A second import over a state that is not empty is refused (exit 5) unless --force.
    let o = lite_st.expect(&["state", "import", dump.to_str().unwrap()], 5);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--force"),
        "{}",
        common::stack::dump(&o)
    );
    lite_st.expect(&["state", "import", "--force", dump.to_str().unwrap()], 0);

    // And back into a fresh PostgreSQL database: the same text again.
    let url2 = pg.database("teamstate2");
    let url2_env = url2.clone();
    let pg2 = Stack::existing(&st.dir, &st.file).with_command(move |c| {
        c.env("STRATA_STATE_URL", &url2_env);
    });
    let text = lite_st.expect(&["state", "export"], 0).stdout;
    let back = st.dir.join("back.json");
    std::fs::write(&back, &text).unwrap();
    pg2.expect(&["state", "import", back.to_str().unwrap()], 0);
    let o = pg2.expect(&["state", "export"], 0);
    assert_eq!(o.stdout, text);
}

/// A stack file for the validation listener: the inventory points at a port that counts
/// connections, so "no host contacted" is checked, not assumed.
fn case_stack(case: &Case, state: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(case.dir.join("roles/app/tasks")).unwrap();
    std::fs::write(
        case.dir.join("roles/app/tasks/setup.yml"),
        "- debug: msg=hi\n",
    )
    .unwrap();
    case.file(
        "stack.yml",
        &format!(
            "name: vcase\nstate: {state}\ninstances:\n  inventory: [inv.yml]\nlayers:\n  app:\n    group: all\n    roles: [app]\n"
        ),
    )
}

fn stack_run(case: &Case, file: &std::path::Path, env: Option<&str>) -> (i32, String) {
    let mut c = common::strata_command(
        Some(&case.dir),
        &["stack", "-f", file.to_str().unwrap(), "sync"],
    );
    match env {
        Some(v) => c.env("STRATA_STATE_URL", v),
        None => c.env_remove("STRATA_STATE_URL"),
    };
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn bad_urls_refused_logins_and_dead_servers_touch_no_host() {
    let pg = PgServer::start("it-bad");
    let case = Case::new("pg-state-urls");

    // A URL that does not parse: located at the `state:` node, exit 5, password masked.
    let f = case_stack(&case, "postgres://ops:hunter2@db.example:notaport/strata");
    let (code, err) = stack_run(&case, &f, None);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("stack.yml:2:8"), "{err}");
    assert!(
        err.contains("ops:***@") && !err.contains("hunter2"),
        "{err}"
    );

    // The same from $STRATA_STATE_URL: exit 5, naming the variable.
    let f = case_stack(&case, ".strata");
    let (code, err) = stack_run(
        &case,
        &f,
        Some("postgres://ops:hunter2@db/x?sslmode=require"),
    );
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("STRATA_STATE_URL") && err.contains("sslmode=require"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");

    // A refused login: exit 1, the server's reason, password masked.
    let wrong = pg.password_url("secretdb", "hunter2");
    let f = case_stack(&case, &wrong);
    let (code, err) = stack_run(&case, &f, None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(
        err.contains("secret:***@") && !err.contains("hunter2"),
        "{err}"
    );

    // Nothing listening: exit 1, "cannot connect", at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let f = case_stack(&case, &format!("postgres://ops@127.0.0.1:{port}/strata"));
    let (code, err) = stack_run(&case, &f, None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot connect to the stack state"), "{err}");

    case.assert_no_host_contacted();

    // The right password works: the stack opens (and the sync then reaches the listener,
    // which is no SSH server; that is not this test's concern).
    let right = pg.password_url("secretdb", PgServer::PASSWORD);
    let f = case_stack(&case, &right);
    let mut c = common::strata_command(
        Some(&case.dir),
        &["stack", "-f", f.to_str().unwrap(), "status", "--json"],
    );
    c.env_remove("STRATA_STATE_URL");
    let o = c.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
