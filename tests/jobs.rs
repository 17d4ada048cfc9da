//! Scheduled jobs (issue 16, "Jobs"): `strata jobs` on real lab hosts. One lab of systemd
//! hosts: lab01 is a bastion (it sees this build's strata binary through its overlay root and
//! runs its own copy of the fixture stack with real systemd timers), lab02 the fixture's lb,
//! lab03 its app layer. While lab01's minutely timer comes round, the controller runs the
//! overlap, timeout and crash cases against the same hosts with its own state, then the
//! overlap and crash cases again with the state in a real PostgreSQL server.
//!
//! The overlap, timeout and crash checks take a [`Stack`] whose `state:` the caller chose
//! ([`jobs_stack`]), so they run unchanged against another state backend.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::Lab;
use common::postgres::PgServer;
use common::stack::{Stack, dump, wait_until};

/// The jobs the tests use; `slow` sleeps as long as /var/lib/fixture/slow on lab03 says.
const JOBS: &str = r#"
jobs:
  skipper:
    run: slow
    layers: [app]
    schedule: daily
  waiter:
    run: slow
    layers: [app]
    schedule: "0 3 * * *"
    overlap: wait
  timed:
    run: slow
    hosts: [lab03]
    schedule: weekly
    timeout: 4s
    on_failure: 'echo "$STRATA_JOB $STRATA_JOB_EXIT $STRATA_JOB_LOG" > "$HOOK_OUT"'
  crashy:
    run: slow
    layers: [app]
    schedule: monthly
"#;

/// The fixture stack in `dir` with the lab's inventory, lb = lab02, app = lab03, the test
/// jobs, and `state: <state>` (a directory for SQLite, or another backend's URL).
pub fn jobs_stack(lab: &Lab, dir: &Path, state: &str) -> Stack {
    let st = Stack::at(dir);
    std::fs::copy(&lab.inventory, st.dir.join("lab.yml")).unwrap();
    st.groups(&[("lb", &["lab02"]), ("app", &["lab03"])], &[]);
    st.edit(|t| format!("{t}\nstate: {state}\n{JOBS}"));
    st
}

fn slow(lab: &Lab, secs: u64) {
    lab.ssh_ok(
        "lab03",
        &format!("mkdir -p /var/lib/fixture && echo {secs} > /var/lib/fixture/slow"),
    );
}

fn running(st: &Stack, job: &str) -> bool {
    st.job_history(Some(job))
        .first()
        .is_some_and(|r| r["result"] == "running")
}

/// Overlap: `skip` exits 0 at once while a run holds the lock; `wait` runs after it.
pub fn check_overlap(lab: &Lab, st: &Stack) {
    slow(lab, 4);
    let first = st.spawn_jobs(&["run", "skipper"]);
    wait_until(30, "skipper to start", || running(st, "skipper"));
    let t = Instant::now();
    let o = st.jobs_expect(&["run", "skipper"], 0);
    assert!(t.elapsed() < Duration::from_secs(3), "skip returns at once");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("already running") && out.contains("skipped") && out.lines().count() == 1,
        "{}",
        dump(&o)
    );
    first.expect(0);
    let h = st.job_history(Some("skipper"));
    let results: Vec<&str> = h.iter().map(|r| r["result"].as_str().unwrap()).collect();
    // Newest first: the skipped run began while the first one ran.
    assert_eq!(results, ["skipped", "ok"], "{h:#?}");
    let done = &h[1];
    assert_eq!(done["exit_code"], 0);
    assert!(
        done["recap"]["lab03"].is_object(),
        "per-host recap: {done:#}"
    );
    assert!(done["event"].is_i64(), "{done:#}");
    let log = done["log"].as_str().unwrap();
    assert!(
        std::fs::read_to_string(log).unwrap().contains("slow"),
        "the event's output is in {log}"
    );

    slow(lab, 3);
    let a = st.spawn_jobs(&["run", "waiter"]);
    wait_until(30, "waiter to start", || running(st, "waiter"));
    let b = st.spawn_jobs(&["run", "waiter"]);
    a.expect(0);
    b.expect(0);
    let h = st.job_history(Some("waiter"));
    assert_eq!(h.len(), 2, "{h:#?}");
    assert!(h.iter().all(|r| r["result"] == "ok"), "{h:#?}");
    let (second, first) = (&h[0], &h[1]);
    assert!(
        second["started"].as_str().unwrap() >= first["ended"].as_str().unwrap(),
        "one after the other: {h:#?}"
    );
}

/// Timeout: killed, recorded `timed_out` (exit 124), `on_failure` ran with its variables.
pub fn check_timeout(lab: &Lab, st: &Stack) {
    slow(lab, 60);
    let hook = st.dir.join("hook.out");
    let _ = std::fs::remove_file(&hook);
    let t = Instant::now();
    let o = st
        .jobs(&["run", "timed"])
        .env("HOOK_OUT", &hook)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(124), "{}", dump(&o));
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "killed near its 4 s timeout, not after the 60 s sleep: {:?}",
        t.elapsed()
    );
    let h = st.job_history(Some("timed"));
    assert_eq!(h[0]["result"], "timed_out", "{:#}", h[0]);
    assert_eq!(h[0]["exit_code"], 124);
    let log = h[0]["log"].as_str().unwrap().to_string();
    assert!(std::fs::read_to_string(&log).unwrap().contains("killed"));
    let said = std::fs::read_to_string(&hook).expect("on_failure left its file");
    assert_eq!(said.trim(), format!("timed 124 {log}"));
    // The killed event is not left `running` in the stack's own history.
    let ev = st
        .history()
        .into_iter()
        .find(|e| e["id"] == h[0]["event"])
        .unwrap_or_else(|| panic!("the run's event is in the history: {:#}", h[0]));
    assert_ne!(ev["result"], "running", "{ev:#}");
}

/// Crash: a SIGKILLed `jobs run` frees its lock (and its event's stack lock) at once, and
/// the next run marks its row `aborted`.
pub fn check_crash(lab: &Lab, st: &Stack) {
    slow(lab, 60);
    let doomed = st.spawn_jobs(&["run", "crashy"]);
    wait_until(30, "crashy to start", || running(st, "crashy"));
    // Let the child reach lab03 and take the stack lock.
    std::thread::sleep(Duration::from_secs(2));
    let dead = st.job_history(Some("crashy"))[0]["id"].clone();
    doomed.kill();
    slow(lab, 1);
    let t = Instant::now();
    let o = st.jobs_expect(&["run", "crashy"], 0);
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "no waiting for the dead run's event: {:?}",
        t.elapsed()
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("marked aborted"),
        "{}",
        dump(&o)
    );
    let h = st.job_history(Some("crashy"));
    assert_eq!(h[0]["result"], "ok", "{h:#?}");
    let old = h.iter().find(|r| r["id"] == dead).unwrap();
    assert_eq!(old["result"], "aborted", "{old:#}");
}

/// The bastion's `strata jobs` over SSH, as root in `/srv/jobs-stack`.
fn on_bastion(lab: &Lab, args: &str) -> (i32, String, String) {
    lab.ssh(
        "lab01",
        &format!(
            "cd /srv/jobs-stack && {} {args}",
            env!("CARGO_BIN_EXE_strata")
        ),
    )
}

fn bastion_ok(lab: &Lab, args: &str) -> String {
    let (rc, out, err) = on_bastion(lab, args);
    assert_eq!(
        rc, 0,
        "on lab01: strata {args}\nstdout:\n{out}\nstderr:\n{err}"
    );
    out
}

#[test]
fn jobs_on_a_bastion_and_from_the_controller() {
    let lab = Lab::up("jobs-bastion", 3, true);

    // The bastion gets its own copy of the stack (and so its own state), with a minutely
    // job and a daily one that later leaves the stack file.
    let bastion = Stack::at(&lab.state.dir.join("bastion-stack"));
    std::fs::copy(&lab.inventory, bastion.dir.join("lab.yml")).unwrap();
    bastion.groups(&[("lb", &["lab02"]), ("app", &["lab03"])], &[]);
    bastion.edit(|t| {
        format!(
            "{t}\njobs:\n  tick:\n    run: backup\n    layers: [app]\n    schedule: \"*-*-* *:*:00\"\n    jitter: 1s\n  nightly:\n    run: backup\n    layers: [app]\n    schedule: \"0 21 * * *\"\n"
        )
    });
    let tar = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar c -C {} . | ssh {} root@{} 'mkdir -p /srv/jobs-stack && tar x -C /srv/jobs-stack'",
            bastion.dir.display(),
            lab.ssh_args().join(" "),
            lab.host("lab01").addr
        ))
        .status()
        .unwrap();
    assert!(tar.success());
    bastion_ok(&lab, "stack -f stack.yml sync");
    let out = bastion_ok(&lab, "jobs -f stack.yml install");
    assert!(out.contains("installed strata-fixture-tick.timer"), "{out}");
    let again = bastion_ok(&lab, "jobs -f stack.yml install");
    assert!(
        again.contains("unchanged strata-fixture-tick.timer") && !again.contains("installed"),
        "idempotent: {again}"
    );
    let timers = lab.ssh_ok("lab01", "systemctl list-timers --all --no-pager");
    assert!(
        timers.contains("strata-fixture-tick.timer")
            && timers.contains("strata-fixture-nightly.timer"),
        "{timers}"
    );
    let unit = lab.ssh_ok("lab01", "cat /etc/systemd/system/strata-fixture-tick.timer");
    assert!(
        unit.contains("OnCalendar=*-*-* *:*:00 UTC")
            && unit.contains("Persistent=true")
            && unit.contains("RandomizedDelaySec=1"),
        "{unit}"
    );
    let service = lab.ssh_ok(
        "lab01",
        "cat /etc/systemd/system/strata-fixture-tick.service",
    );
    assert!(
        service.contains(&format!(
            "ExecStart={} jobs -f /srv/jobs-stack/stack.yml run tick",
            env!("CARGO_BIN_EXE_strata")
        )),
        "{service}"
    );
    // A job that left the stack file loses its units.
    lab.ssh_ok(
        "lab01",
        "cd /srv/jobs-stack && sed -i '/^  nightly:/,$d' stack.yml",
    );
    let out = bastion_ok(&lab, "jobs -f stack.yml install");
    assert!(
        out.contains("removed /etc/systemd/system/strata-fixture-nightly.timer"),
        "{out}"
    );
    let timers = lab.ssh_ok("lab01", "systemctl list-timers --all --no-pager");
    assert!(!timers.contains("nightly"), "{timers}");

    // Meanwhile, from the controller, with its own state.
    let st = jobs_stack(&lab, &lab.state.dir.join("controller-stack"), ".strata");
    st.expect(&["sync"], 0);
    check_overlap(&lab, &st);
    check_timeout(&lab, &st);
    check_crash(&lab, &st);

    // The same overlap and crash checks with the state in PostgreSQL, where the job lock is an
    // advisory lock that the server frees when the killed supervisor's session ends.
    let pg = PgServer::start("jobs");
    let pst = jobs_stack(
        &lab,
        &lab.state.dir.join("controller-pg"),
        &pg.database("jobs"),
    );
    pst.expect(&["sync"], 0);
    check_overlap(&lab, &pst);
    check_crash(&lab, &pst);
    assert!(
        !pst.dir.join(".strata/fixture.db").exists(),
        "a PostgreSQL state leaves no SQLite file"
    );

    // The timer fired on the bastion and ran the event on lab03.
    let mut runs = Vec::new();
    wait_until(90, "the tick timer to run on lab01", || {
        let (rc, out, _) = on_bastion(&lab, "jobs -f stack.yml history tick --json");
        runs = if rc == 0 {
            serde_json::from_str::<Vec<Value>>(&out).unwrap_or_default()
        } else {
            Vec::new()
        };
        runs.iter().any(|r| r["result"] == "ok")
    });
    let ok = runs.iter().find(|r| r["result"] == "ok").unwrap();
    assert_eq!(ok["exit_code"], 0, "{ok:#}");
    assert!(ok["recap"]["lab03"].is_object(), "{ok:#}");
    assert!(
        common::stack::count(&lab, "lab03", "app.backup") >= 1,
        "backup ran on lab03"
    );
    let list = bastion_ok(&lab, "jobs -f stack.yml list");
    assert!(list.contains("tick") && list.contains("ok"), "{list}");

    let out = bastion_ok(&lab, "jobs -f stack.yml uninstall");
    assert!(out.contains("removed"), "{out}");
    let timers = lab.ssh_ok("lab01", "systemctl list-timers --all --no-pager");
    assert!(!timers.contains("strata-fixture"), "{timers}");
    let left = lab.ssh_ok("lab01", "ls /etc/systemd/system/ | grep -c strata- || true");
    assert_eq!(left, "0");
}

/// Bad input: a bad schedule, an unknown layer, an event no role has and an unknown job are
/// located (or named) errors, exit 5, before any host is touched (the inventory's hosts do not exist).
#[test]
fn bad_jobs_are_input_errors() {
    let dir = strata::scratch::root().join(format!("strata-jobs-bad-{}", std::process::id()));
    let st = Stack::at(&dir);
    st.write(
        "lab.yml",
        "all:\n  hosts:\n    ghost: {ansible_host: 192.0.2.1}\n",
    );
    st.groups(&[("lb", &["ghost"]), ("app", &[])], &[]);
    st.edit(|t| {
        format!(
            "{t}\njobs:\n  backup:\n    run: backup\n    layers: [app]\n    schedule: \"0 21 * * *\"\n"
        )
    });
    let o = st.jobs_expect(&["run", "bakup"], 5);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no job `bakup`") && err.contains("did you mean `backup`?"),
        "{err}"
    );
    st.jobs_expect(&["history", "nope"], 5);
    let line = |needle: &str| {
        let text = std::fs::read_to_string(&st.file).unwrap();
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    };

    st.edit(|t| t.replace("\"0 21 * * *\"", "\"*-*-* 24:00:00\""));
    let o = st.jobs_expect(&["list"], 5);
    let err = String::from_utf8_lossy(&o.stderr);
    let at = format!("stack.yml:{}:", line("24:00:00"));
    assert!(
        err.contains("bad schedule `*-*-* 24:00:00`") && err.contains(&at),
        "{err}"
    );
    // The stack commands refuse the file too.
    st.expect(&["sync"], 5);

    st.edit(|t| {
        t.replace("\"*-*-* 24:00:00\"", "\"0 21 * * *\"")
            .replace("layers: [app]\n    schedule", "layers: [ap]\n    schedule")
    });
    let o = st.jobs_expect(&["run", "backup"], 5);
    let err = String::from_utf8_lossy(&o.stderr);
    let at = format!("stack.yml:{}:", line("layers: [ap]"));
    assert!(
        err.contains("unknown layer `ap`")
            && err.contains("did you mean `app`?")
            && err.contains(&at),
        "{err}"
    );

    // An event no role of the job's layers has: `jobs run`, `jobs install` and every stack
    // command refuse it, located at `run:`.
    st.edit(|t| {
        t.replace("layers: [ap]\n", "layers: [app]\n")
            .replace("run: backup\n", "run: bakup\n")
    });
    let at = format!("stack.yml:{}:", line("run: bakup"));
    for args in [&["run", "backup"][..], &["install"][..]] {
        let o = st.jobs_expect(args, 5);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("no role of layer `app` has tasks/bakup.yml") && err.contains(&at),
            "{err}"
        );
    }
    st.expect(&["status"], 5);
    // Input errors stop before the state is even opened.
    assert!(!st.db().exists());
    let _ = std::fs::remove_dir_all(&dir);
}
