use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use super::*;

mod dump;
mod postgres;

/// The backends every generic case runs against (see [`both!`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Sqlite,
    Postgres,
}

/// Runs each named case once per backend: `NAME::sqlite` and `NAME::postgres`.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name(super::Kind::Sqlite)
                }
                #[test]
                fn postgres() {
                    super::$name(super::Kind::Postgres)
                }
            }
        )*
    };
}
use both;

/// One test's state: a SQLite file in a scratch directory, or a stack (a schema of its own)
/// in the shared test server's database. Clones open further stores on the same state, as a
/// second process would.
#[derive(Clone)]
struct Fx {
    loc: StateLocation,
    stack: String,
    tmp: std::sync::Arc<TempDir>,
}

impl Fx {
    fn new(k: Kind, name: &str) -> Fx {
        let tmp = std::sync::Arc::new(TempDir::new(name));
        let loc = match k {
            Kind::Sqlite => StateLocation::Sqlite(tmp.db()),
            Kind::Postgres => StateLocation::Postgres(postgres::database_url()),
        };
        // Unique per test process and test, so stacks (schemas) never collide.
        let dir_name = tmp.0.file_name().unwrap().to_string_lossy().into_owned();
        let stack = dir_name.trim_start_matches("strata-state-").to_string();
        Fx { loc, stack, tmp }
    }

    fn open(&self) -> StateBackend {
        StateBackend::open(&self.loc, &self.stack).expect("open state")
    }

    /// The SQLite file, if this is SQLite.
    fn db(&self) -> Option<PathBuf> {
        match &self.loc {
            StateLocation::Sqlite(p) => Some(p.clone()),
            StateLocation::Postgres(_) => None,
        }
    }

    /// A scratch directory for files beside the state.
    fn scratch(&self) -> PathBuf {
        std::fs::create_dir_all(&self.tmp.0).unwrap();
        self.tmp.0.clone()
    }
}

/// A scratch directory removed on drop, unique per test so they can run in parallel.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            crate::scratch::root().join(format!("strata-state-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }

    /// A database path one level down, so `open` has to create the directory.
    fn db(&self) -> PathBuf {
        self.0.join(".strata").join("demo.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A SQLite store at `p`, for the tests of SQLite's own mechanics.
fn open(p: &Path) -> SqliteState {
    SqliteState::open(p).expect("open state")
}

fn instance(id: &str, name: &str, status: Status) -> InstanceRecord {
    InstanceRecord {
        id: id.into(),
        name: name.into(),
        layers: vec!["app".into(), "lb".into()],
        private_ip: Some("10.0.0.5".into()),
        public_ip: None,
        details: json!({"hostname": name, "instance_id": id, "nested": {"a": [1, 2]}}),
        status,
        status_since: "2026-01-01T00:00:00Z".into(),
        last_event: None,
    }
}

fn release(app: &str, inst: &str, rel: &str) -> Release {
    Release {
        app: app.into(),
        instance: inst.into(),
        revision: Some(format!("rev-{rel}")),
        release: rel.into(),
        // Release ids are timestamps; reuse them so `deployed_at` sorts the same way.
        deployed_at: rel.into(),
        active: false,
        event: Some(1),
    }
}

fn holder(command: &str) -> Holder {
    Holder {
        pid: std::process::id(),
        command: command.into(),
        since: "2026-12-04T10:15:00Z".into(),
        host: "test-host".into(),
    }
}

fn statuses(st: &dyn StateStore) -> Vec<(String, Status)> {
    let all = st.instances().unwrap();
    all.into_iter().map(|r| (r.id, r.status)).collect()
}

fn instances_round_trip_in_first_seen_order(k: Kind) {
    let fx = Fx::new(k, "instances");
    let mut st = fx.open();
    assert!(st.instances().unwrap().is_empty());
    let b = instance("i-b", "web2", Status::Pending);
    let a = instance("i-a", "web1", Status::Online);
    st.put_instances(&[b.clone(), a.clone()]).unwrap();
    assert_eq!(st.instances().unwrap(), vec![b.clone(), a.clone()]);

    // Replacing keeps the first-seen position; a new one goes last.
    let mut b2 = b.clone();
    b2.public_ip = Some("203.0.113.9".into());
    b2.last_event = Some(7);
    let c = instance("i-c", "web3", Status::Terminated);
    st.put_instances(&[c.clone(), b2.clone()]).unwrap();
    assert_eq!(st.instances().unwrap(), vec![b2, a, c]);
}

fn set_statuses_tracks_changes_and_last_event(k: Kind) {
    let fx = Fx::new(k, "statuses");
    let mut st = fx.open();
    st.put_instances(&[
        instance("i-a", "a", Status::Pending),
        instance("i-b", "b", Status::Online),
    ])
    .unwrap();
    st.set_statuses(
        &[
            ("i-a".into(), Status::Setup),
            ("i-b".into(), Status::Online),
        ],
        None,
    )
    .unwrap();
    let all = st.instances().unwrap();
    assert_eq!(all[0].status, Status::Setup);
    assert_ne!(
        all[0].status_since, "2026-01-01T00:00:00Z",
        "changed status, new time"
    );
    assert_eq!(all[1].status, Status::Online);
    assert_eq!(
        all[1].status_since, "2026-01-01T00:00:00Z",
        "same status, old time"
    );
    assert_eq!((all[0].last_event, all[1].last_event), (None, None));

    st.set_statuses(&[("i-b".into(), Status::ConnectionLost)], Some(4))
        .unwrap();
    let all = st.instances().unwrap();
    assert_eq!(all[1].status, Status::ConnectionLost);
    assert_eq!((all[0].last_event, all[1].last_event), (None, Some(4)));
    // `None` leaves the last event alone.
    st.set_statuses(&[("i-b".into(), Status::Online)], None)
        .unwrap();
    assert_eq!(st.instances().unwrap()[1].last_event, Some(4));
}

fn set_statuses_is_all_or_nothing(k: Kind) {
    let fx = Fx::new(k, "atomic");
    let mut st = fx.open();
    st.put_instances(&[instance("i-a", "a", Status::Pending)])
        .unwrap();
    let err = st
        .set_statuses(
            &[
                ("i-a".into(), Status::Online),
                ("nope".into(), Status::Online),
            ],
            None,
        )
        .unwrap_err();
    match err {
        StateError::Store { path, message } => {
            assert_eq!(Some(path), fx.db());
            assert!(message.contains("nope"), "{message}");
        }
        StateError::Postgres { url, message } => {
            assert_eq!(fx.db(), None);
            assert!(url.starts_with("postgres://"), "{url}");
            assert!(message.contains("nope"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(statuses(&st), vec![("i-a".into(), Status::Pending)]);
}

fn events_round_trip_newest_first(k: Kind) {
    let fx = Fx::new(k, "events");
    let mut st = fx.open();
    st.put_instances(&[
        instance("i-a", "a", Status::Setup),
        instance("i-b", "b", Status::Setup),
    ])
    .unwrap();
    let hosts = vec!["a".to_string(), "b".to_string()];
    let args = json!({"layers": ["app"], "attributes": {"x": 1}});
    let e1 = st
        .begin_event("setup", &args, "strata stack sync", &hosts)
        .unwrap();
    let ev = &st.events(0).unwrap()[0];
    assert_eq!(ev.id, e1);
    assert_eq!(ev.result, EventResult::Running);
    assert_eq!((ev.kind.as_str(), &ev.args), ("setup", &args));
    assert_eq!(ev.hosts, hosts);
    assert_eq!(ev.command, "strata stack sync");
    assert_eq!(ev.ended, None);
    assert_eq!(ev.started.len(), 20);
    let (user, host) = ev.user.split_once('@').expect("user@host");
    assert!(!user.is_empty() && !host.is_empty(), "{}", ev.user);

    let recap = json!({"a": {"ok": 3, "changed": 1, "failed": 0}, "b": {"failed": 1}});
    st.finish_event(
        e1,
        EventResult::Failed,
        &recap,
        &[
            ("i-a".into(), Status::Online),
            ("i-b".into(), Status::SetupFailed),
        ],
    )
    .unwrap();
    let ev = &st.events(0).unwrap()[0];
    assert_eq!((ev.result, &ev.recap), (EventResult::Failed, &recap));
    assert!(ev.ended.is_some());
    let all = st.instances().unwrap();
    assert_eq!(
        (all[0].status, all[0].last_event),
        (Status::Online, Some(e1))
    );
    assert_eq!(
        (all[1].status, all[1].last_event),
        (Status::SetupFailed, Some(e1))
    );

    let e2 = st.begin_event("configure", &json!({}), "c", &[]).unwrap();
    let e3 = st.begin_event("backup", &json!({}), "c", &[]).unwrap();
    assert!(e1 < e2 && e2 < e3);
    let ids = |v: Vec<EventRecord>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(st.events(0).unwrap()), vec![e3, e2, e1]);
    assert_eq!(ids(st.events(2).unwrap()), vec![e3, e2]);

    assert!(
        st.finish_event(999, EventResult::Ok, &json!({}), &[])
            .is_err()
    );
    assert!(
        st.finish_event(e2, EventResult::Running, &json!({}), &[])
            .is_err()
    );
}

fn abort_running_marks_only_running_events(k: Kind) {
    let fx = Fx::new(k, "abort");
    let mut st = fx.open();
    let done = st.begin_event("setup", &json!({}), "c", &[]).unwrap();
    st.finish_event(done, EventResult::Ok, &json!({}), &[])
        .unwrap();
    let r1 = st.begin_event("deploy", &json!({}), "c", &[]).unwrap();
    let r2 = st.begin_event("configure", &json!({}), "c", &[]).unwrap();
    assert_eq!(st.abort_running().unwrap(), vec![r1, r2]);
    let evs = st.events(0).unwrap();
    let results: Vec<_> = evs.iter().map(|e| (e.id, e.result)).collect();
    assert_eq!(
        results,
        vec![
            (r2, EventResult::Aborted),
            (r1, EventResult::Aborted),
            (done, EventResult::Ok)
        ]
    );
    assert!(evs.iter().all(|e| e.ended.is_some()));
    assert!(st.abort_running().unwrap().is_empty());
}

fn releases_activate_prune_and_roll_back(k: Kind) {
    let fx = Fx::new(k, "releases");
    let mut st = fx.open();
    let ids = ["20260101T000001Z", "20260101T000002Z", "20260101T000003Z"];
    for id in ids {
        st.add_releases(&[release("web", "i-a", id), release("web", "i-b", id)], 5)
            .unwrap();
    }
    st.add_releases(&[release("api", "i-a", "20260101T000009Z")], 5)
        .unwrap();

    let web = st.releases(Some("web")).unwrap();
    assert_eq!(web.len(), 6);
    assert_eq!(web[0].release, ids[2], "newest first");
    assert_eq!(web[5].release, ids[0]);
    let active: Vec<_> = web.iter().filter(|r| r.active).collect();
    assert_eq!(active.len(), 2);
    assert!(active.iter().all(|r| r.release == ids[2]));
    assert_eq!(web[0].revision.as_deref(), Some("rev-20260101T000003Z"));
    assert_eq!(web[0].event, Some(1));
    assert_eq!(st.releases(None).unwrap().len(), 7);
    assert_eq!(st.releases(Some("api")).unwrap().len(), 1);

    // Rollback on one instance only.
    st.activate_release("web", ids[1], &["i-a".into()]).unwrap();
    let active: Vec<_> = st
        .releases(Some("web"))
        .unwrap()
        .into_iter()
        .filter(|r| r.active)
        .map(|r| (r.instance, r.release))
        .collect();
    assert_eq!(
        active,
        vec![
            ("i-b".to_string(), ids[2].to_string()),
            ("i-a".to_string(), ids[1].to_string())
        ]
    );
    assert!(
        st.activate_release("web", "19990101T000000Z", &["i-a".into()])
            .is_err()
    );

    st.deactivate_releases("web", &["i-a".into(), "i-b".into()])
        .unwrap();
    assert!(st.releases(Some("web")).unwrap().iter().all(|r| !r.active));
    assert!(
        st.releases(Some("api")).unwrap()[0].active,
        "other apps untouched"
    );
}

fn releases_prune_to_keep(k: Kind) {
    let fx = Fx::new(k, "prune");
    let mut st = fx.open();
    let ids: Vec<String> = (1..=8).map(|i| format!("20260101T00000{i}Z")).collect();
    for id in &ids {
        st.add_releases(&[release("web", "i-a", id), release("web", "i-b", id)], 5)
            .unwrap();
    }
    for inst in ["i-a", "i-b"] {
        let kept: Vec<_> = st
            .releases(Some("web"))
            .unwrap()
            .into_iter()
            .filter(|r| r.instance == inst)
            .map(|r| r.release)
            .collect();
        assert_eq!(kept, ids[3..].iter().rev().cloned().collect::<Vec<_>>());
    }

    // The active release survives pruning even when it is not among the newest.
    let mut old = release("web", "i-a", "20250101T000000Z");
    old.active = false; // ignored: an added release is always the active one
    st.add_releases(&[old], 2).unwrap();
    let a: Vec<_> = st
        .releases(Some("web"))
        .unwrap()
        .into_iter()
        .filter(|r| r.instance == "i-a")
        .map(|r| (r.release, r.active))
        .collect();
    assert_eq!(
        a,
        vec![
            (ids[7].clone(), false),
            (ids[6].clone(), false),
            ("20250101T000000Z".into(), true)
        ]
    );
}

#[test]
fn reopen_keeps_data_and_schema_version() {
    let tmp = TempDir::new("reopen");
    let db = tmp.db();
    {
        let mut st = open(&db);
        st.put_instances(&[instance("i-a", "a", Status::Online)])
            .unwrap();
        st.begin_event("setup", &json!({"k": "v"}), "c", &["a".into()])
            .unwrap();
        st.add_releases(&[release("web", "i-a", "20260101T000001Z")], 5)
            .unwrap();
    }
    let st = open(&db);
    assert_eq!(st.instances().unwrap()[0].id, "i-a");
    assert_eq!(st.events(0).unwrap()[0].args, json!({"k": "v"}));
    assert_eq!(st.releases(None).unwrap().len(), 1);
    assert_eq!(st.path(), db);
    drop(st);

    let conn = rusqlite::Connection::open(&db).unwrap();
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, 3, "every migration applied");
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // A database from a newer strata is refused rather than misread.
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    match SqliteState::open(&db) {
        Err(StateError::Store { path, message }) => {
            assert_eq!(path, db);
            assert!(message.contains("newer"), "{message}");
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
}

fn lock_excludes_a_second_store_until_dropped(k: Kind) {
    let fx = Fx::new(k, "lock");
    let one = fx.open();
    let two = fx.open();
    assert_eq!(one.holder().unwrap(), None, "free before anyone locked");

    let h = holder("strata stack sync");
    let guard = one.lock(&h, Duration::ZERO).unwrap();
    assert_eq!(two.holder().unwrap(), Some(h.clone()));
    assert_eq!(one.holder().unwrap(), Some(h.clone()));
    let start = Instant::now();
    match two.lock(
        &holder("strata stack configure"),
        Duration::from_millis(300),
    ) {
        Err(StateError::Busy(got)) => assert_eq!(got, h),
        other => panic!("{:?}", other.map(|_| ())),
    }
    assert!(start.elapsed() >= Duration::from_millis(300), "waited");
    // The same store cannot take it twice either.
    assert!(matches!(
        one.lock(&h, Duration::ZERO),
        Err(StateError::Busy(_))
    ));
    let msg = two.lock(&h, Duration::ZERO).err().unwrap().to_string();
    assert!(
        msg.contains(&format!("pid {}", h.pid)) && msg.contains("strata stack sync"),
        "{msg}"
    );

    drop(guard);
    assert_eq!(two.holder().unwrap(), None);
    let h2 = holder("strata stack configure");
    let _g2 = two.lock(&h2, Duration::ZERO).unwrap();
    assert_eq!(one.holder().unwrap(), Some(h2));
}

fn lock_waits_for_the_holder_to_finish(k: Kind) {
    let fx = Fx::new(k, "lockwait");
    let one = fx.open();
    let guard = one.lock(&holder("first"), Duration::ZERO).unwrap();
    let release_after = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(guard);
    });
    let two = fx.open();
    let start = Instant::now();
    let _g = two
        .lock(&holder("second"), Duration::from_secs(10))
        .expect("acquired once the first holder let go");
    assert!(start.elapsed() >= Duration::from_millis(250));
    release_after.join().unwrap();
}

#[test]
fn holder_ignores_a_stale_record() {
    let tmp = TempDir::new("stale");
    let db = tmp.db();
    let st = open(&db);
    // What a SIGKILLed holder leaves: its record, but no lock.
    let mut lock_path = db.clone().into_os_string();
    lock_path.push(".lock");
    let stale = serde_json::to_string(&holder("strata stack sync")).unwrap();
    std::fs::write(&lock_path, stale).unwrap();
    assert_eq!(st.holder().unwrap(), None);
    let h = holder("strata stack deploy web");
    let g = st.lock(&h, Duration::ZERO).unwrap();
    assert_eq!(st.holder().unwrap(), Some(h));
    drop(g);
    assert_eq!(
        std::fs::read(&lock_path).unwrap(),
        b"",
        "cleared on release"
    );
}

/// Another process holds the lock, then dies by SIGKILL: the lock must come free with it.
/// Uses `sh` and util-linux `flock(1)` as the other process; skipped where it is missing.
#[test]
fn lock_excludes_other_processes_and_survives_sigkill() {
    use std::process::{Command, Stdio};
    let tmp = TempDir::new("process");
    let db = tmp.db();
    let st = open(&db);
    let mut lock_path = db.clone().into_os_string();
    lock_path.push(".lock");
    let have_flock = Command::new("flock")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have_flock {
        eprintln!("flock(1) not available; skipping");
        return;
    }
    // One process holds the lock: the shell locks fd 9 and then becomes `sleep`, which
    // inherits it, so killing the child's pid kills the only holder.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"exec 9>>"$1" && flock --exclusive 9 && exec sleep 60"#)
        .arg("sh")
        .arg(&lock_path)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while st.holder().unwrap().is_none() {
        assert!(Instant::now() < deadline, "child never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    // flock(1) records nothing, so the holder is unknown but the lock is still refused.
    match st.lock(&holder("mine"), Duration::from_millis(200)) {
        Err(StateError::Busy(h)) => assert_eq!(h.pid, 0),
        other => panic!("{:?}", other.map(|_| ())),
    }
    // A record naming a live process on this machine is believed; one naming a process
    // that is gone (a SIGKILLed holder's leftover, before the new holder wrote) is not.
    let mut live = holder("strata stack sync");
    live.host = super::sqlite::lock::hostname();
    live.pid = child.id();
    std::fs::write(&lock_path, serde_json::to_string(&live).unwrap()).unwrap();
    assert_eq!(st.holder().unwrap(), Some(live.clone()));
    let mut gone = Command::new("true").spawn().unwrap();
    live.pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(&lock_path, serde_json::to_string(&live).unwrap()).unwrap();
    assert_eq!(st.holder().unwrap().map(|h| h.pid), Some(0));

    child.kill().unwrap();
    child.wait().unwrap();
    let _g = st
        .lock(&holder("mine"), Duration::from_secs(5))
        .expect("the kernel released the dead holder's lock");
}

/// A reader's `holder()` probe takes the lock (shared) for an instant; a writer started with
/// no wait at that moment must not be told the stack is busy.
#[test]
fn a_momentary_probe_does_not_fail_a_writer() {
    use std::os::fd::AsRawFd;
    let tmp = TempDir::new("probe");
    let db = tmp.db();
    let st = open(&db);
    let mut lock_path = db.clone().into_os_string();
    lock_path.push(".lock");
    let probe = std::fs::File::create(&lock_path).unwrap();
    // SAFETY: flock on a descriptor `probe` keeps open.
    assert_eq!(unsafe { libc::flock(probe.as_raw_fd(), libc::LOCK_SH) }, 0);
    let end_probe = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(40));
        drop(probe);
    });
    let _g = st
        .lock(&holder("strata stack sync"), Duration::ZERO)
        .expect("the probe went away within the grace period");
    end_probe.join().unwrap();
}

fn concurrent_writers_wait_for_each_other(k: Kind) {
    let fx = Fx::new(k, "concurrent");
    drop(fx.open());
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let fx = fx.clone();
            std::thread::spawn(move || {
                let mut st = fx.open();
                (0..25)
                    .map(|i| {
                        st.begin_event("run", &json!({"w": w, "i": i}), "c", &[])
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ids: Vec<i64> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50);
    assert_eq!(fx.open().events(0).unwrap().len(), 50);
}

fn meta_values_round_trip_and_snapshots_are_independent(k: Kind) {
    let fx = Fx::new(k, "meta");
    let mut st = fx.open();
    assert_eq!(st.meta("configured_membership").unwrap(), None);
    st.set_meta("configured_membership", "[1]").unwrap();
    st.set_meta("configured_membership", "[2]").unwrap();
    assert_eq!(
        st.meta("configured_membership").unwrap().as_deref(),
        Some("[2]")
    );
    st.put_instances(&[instance("i-a", "a", Status::Online)])
        .unwrap();

    // A check-mode copy sees everything, and what it changes stays in the copy.
    let copy_path = fx.scratch().join("copy.db");
    let mut copy = st.snapshot(&copy_path).unwrap();
    assert_eq!(copy.instances().unwrap().len(), 1);
    assert_eq!(
        copy.meta("configured_membership").unwrap().as_deref(),
        Some("[2]")
    );
    copy.set_statuses(&[("i-a".into(), Status::Terminated)], None)
        .unwrap();
    copy.set_meta("configured_membership", "[]").unwrap();
    assert_eq!(statuses(&st), vec![("i-a".to_string(), Status::Online)]);
    assert_eq!(
        st.meta("configured_membership").unwrap().as_deref(),
        Some("[2]")
    );
    drop(copy);
    SqliteState::remove(&copy_path).unwrap();
    assert!(!copy_path.exists());
}

fn job_runs_round_trip_newest_first_and_per_job(k: Kind) {
    let fx = Fx::new(k, "jobruns");
    let mut st = fx.open();
    assert!(st.job_runs(None, 0).unwrap().is_empty());
    let h = holder("strata jobs run backup");
    let a = st
        .begin_job_run("backup", Some("/var/log/a.log"), &h)
        .unwrap();
    let b = st.begin_job_run("pack", None, &h).unwrap();
    let c = st
        .begin_job_run("backup", Some("/var/log/c.log"), &h)
        .unwrap();
    assert!(a < b && b < c);

    let recap = json!({"maint1": {"ok": 3, "changed": 1, "failed": 0}});
    st.finish_job_run(a, JobResult::Ok, Some(0), &recap, Some(7))
        .unwrap();
    st.finish_job_run(b, JobResult::TimedOut, Some(124), &json!({}), None)
        .unwrap();

    let all = st.job_runs(None, 0).unwrap();
    assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), vec![c, b, a]);
    let backups = st.job_runs(Some("backup"), 0).unwrap();
    assert_eq!(backups.iter().map(|r| r.id).collect::<Vec<_>>(), vec![c, a]);
    assert_eq!(st.job_runs(Some("backup"), 1).unwrap()[0].id, c);
    assert!(st.job_runs(Some("nope"), 0).unwrap().is_empty());

    let done = &backups[1];
    assert_eq!(done.job, "backup");
    assert_eq!(done.result, JobResult::Ok);
    assert_eq!(done.exit_code, Some(0));
    assert_eq!(done.recap, recap);
    assert_eq!(done.event, Some(7));
    assert_eq!(done.log.as_deref(), Some("/var/log/a.log"));
    assert_eq!(done.pid, h.pid);
    assert_eq!(done.host, h.host);
    assert_eq!(done.command, h.command);
    assert!(done.ended.as_deref().unwrap() >= done.started.as_str());

    let running = &backups[0];
    assert_eq!(running.result, JobResult::Running);
    assert_eq!((running.ended.as_ref(), running.exit_code), (None, None));
    assert_eq!(running.recap, json!({}));
    assert_eq!(all[1].result, JobResult::TimedOut);
    assert_eq!(all[1].exit_code, Some(124));

    assert!(
        st.finish_job_run(c, JobResult::Running, None, &json!({}), None)
            .is_err()
    );
    assert!(
        st.finish_job_run(999, JobResult::Ok, Some(0), &json!({}), None)
            .is_err()
    );
    for r in JobResult::ALL {
        assert_eq!(JobResult::parse(r.as_str()), Some(r));
        assert_eq!(
            serde_json::to_value(r).unwrap(),
            json!(r.as_str()),
            "serde and the stored name agree"
        );
    }
}

fn abort_running_jobs_marks_only_that_jobs_running_runs(k: Kind) {
    let fx = Fx::new(k, "jobabort");
    let mut st = fx.open();
    let h = holder("strata jobs run");
    let dead = st.begin_job_run("backup", None, &h).unwrap();
    let done = st.begin_job_run("backup", None, &h).unwrap();
    st.finish_job_run(done, JobResult::Failed, Some(2), &json!({}), None)
        .unwrap();
    let other = st.begin_job_run("pack", None, &h).unwrap();

    assert_eq!(st.abort_running_jobs("backup").unwrap(), vec![dead]);
    assert!(st.abort_running_jobs("backup").unwrap().is_empty());
    let runs = st.job_runs(None, 0).unwrap();
    let by_id = |id| runs.iter().find(|r| r.id == id).unwrap();
    assert_eq!(by_id(dead).result, JobResult::Aborted);
    assert!(by_id(dead).ended.is_some());
    assert_eq!(by_id(done).result, JobResult::Failed);
    assert_eq!(by_id(other).result, JobResult::Running);
}

fn job_locks_are_per_job_and_apart_from_the_stack_lock(k: Kind) {
    let fx = Fx::new(k, "joblock");
    let one = fx.open();
    let two = fx.open();
    assert_eq!(one.job_holder("backup").unwrap(), None);

    let h = holder("strata jobs run backup");
    let g = one.job_lock("backup", &h, Duration::ZERO).unwrap();
    assert_eq!(two.job_holder("backup").unwrap(), Some(h.clone()));
    match two.job_lock("backup", &holder("again"), Duration::from_millis(200)) {
        Err(StateError::Busy(got)) => assert_eq!(got, h),
        other => panic!("{:?}", other.map(|_| ())),
    }
    // Another job, and the stack's own lock, are independent of it.
    let _p = two
        .job_lock("pack", &holder("strata jobs run pack"), Duration::ZERO)
        .unwrap();
    let _s = two
        .lock(&holder("strata stack sync"), Duration::ZERO)
        .unwrap();
    assert_eq!(one.holder().unwrap().unwrap().command, "strata stack sync");

    if let Some(db) = fx.db() {
        let mut sidecar = db.into_os_string();
        sidecar.push(".job-backup.lock");
        assert!(
            PathBuf::from(sidecar).exists(),
            "flock sidecar beside the db"
        );
    }

    drop(g);
    assert_eq!(two.job_holder("backup").unwrap(), None);
    let _g2 = two
        .job_lock("backup", &holder("second"), Duration::from_secs(1))
        .unwrap();
}

fn job_lock_waits_for_the_holder(k: Kind) {
    let fx = Fx::new(k, "joblockwait");
    let one = fx.open();
    let guard = one
        .job_lock("pack", &holder("first"), Duration::ZERO)
        .unwrap();
    let release_after = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(guard);
    });
    let start = Instant::now();
    let _g = fx
        .open()
        .job_lock("pack", &holder("second"), Duration::from_secs(10))
        .expect("acquired once the first run let go");
    assert!(start.elapsed() >= Duration::from_millis(250));
    release_after.join().unwrap();
}

#[test]
fn an_older_database_gains_the_job_runs_table() {
    let tmp = TempDir::new("migrate3");
    let db = tmp.db();
    {
        let mut st = open(&db);
        st.set_meta("k", "v").unwrap();
    }
    // Roll the file back to what a strata without jobs left: schema version 2.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("DROP TABLE job_runs; PRAGMA user_version = 2;")
        .unwrap();
    drop(conn);
    let mut st = open(&db);
    assert_eq!(st.meta("k").unwrap().as_deref(), Some("v"));
    let id = st.begin_job_run("backup", None, &holder("x")).unwrap();
    assert_eq!(st.job_runs(Some("backup"), 0).unwrap()[0].id, id);
}

both!(
    instances_round_trip_in_first_seen_order,
    set_statuses_tracks_changes_and_last_event,
    set_statuses_is_all_or_nothing,
    events_round_trip_newest_first,
    abort_running_marks_only_running_events,
    releases_activate_prune_and_roll_back,
    releases_prune_to_keep,
    lock_excludes_a_second_store_until_dropped,
    lock_waits_for_the_holder_to_finish,
    concurrent_writers_wait_for_each_other,
    meta_values_round_trip_and_snapshots_are_independent,
    job_runs_round_trip_newest_first_and_per_job,
    abort_running_jobs_marks_only_that_jobs_running_runs,
    job_locks_are_per_job_and_apart_from_the_stack_lock,
    job_lock_waits_for_the_holder,
);
