//! Jobs started on this machine through the local shell: the status file's shapes, the
//! result the host builds (escaping, stripping, guards, check mode) and the time limit.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::AsyncJob;
use crate::modules::commands::{command, shell};
use crate::modules::control::async_status::status;
use crate::modules::harness::{Harness, Scratch, get};
use crate::modules::{Args, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};

/// `shell` (or `command`) started as a job in `dir`.
struct Launch(&'static str, AsyncJob);

impl Module for Launch {
    fn spec(&self) -> &'static ModuleSpec {
        if self.0 == "shell" {
            &shell::SPEC
        } else {
            &command::SPEC
        }
    }
    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        if self.0 == "shell" {
            Box::pin(shell::launch(ctx, args, &self.1))
        } else {
            Box::pin(command::launch(ctx, args, &self.1))
        }
    }
}

/// `async_status` on a job of `dir`: `{"jid": .., "cleanup": bool}`.
struct Status(String);

impl Module for Status {
    fn spec(&self) -> &'static ModuleSpec {
        &crate::modules::control::async_status::SPEC
    }
    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(async move {
            let jid = args.req_str("jid")?;
            let cleanup = args.bool_or("cleanup", false)?;
            status(ctx, &jid, cleanup, &self.0).await
        })
    }
}

fn job(d: &Scratch, limit: u64) -> AsyncJob {
    AsyncJob {
        limit,
        dir: d.s("async"),
    }
}

/// Polls the job until it is finished (at most `secs` seconds).
async fn wait(h: &Harness, dir: &str, jid: &str, secs: u64) -> ModuleResult {
    let st = Status(dir.to_string());
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = h.run(&st, json!({"jid": jid})).await;
        if get(&r, "finished") == true || Instant::now() > until {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn jid(r: &ModuleResult) -> String {
    get(r, "ansible_job_id").as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_job_runs_detached_and_leaves_the_module_result() {
    let d = Scratch::new("async-run");
    let h = Harness::new();
    let l = Launch("shell", job(&d, 30));
    let r = h
        .run(&l, json!({"cmd": "sleep 0.3; printf 'a \"q\" \\\\ \\t é\\001\\n\\nb\\n\\n\\n'; echo err >&2; exit 3"}))
        .await;
    assert!(r.changed && !r.failed, "{r:?}");
    assert_eq!(
        (get(&r, "started"), get(&r, "finished")),
        (&json!(true), &json!(false))
    );
    let id = jid(&r);
    assert!(id.starts_with('j') && id.contains('.'), "{id}");
    let file = d.s(&format!("async/{id}"));
    assert_eq!(get(&r, "results_file"), &json!(file));

    let dir = d.s("async");
    let running = h.run(&Status(dir.clone()), json!({"jid": id})).await;
    assert_eq!(
        (
            get(&running, "started"),
            get(&running, "finished"),
            running.changed
        ),
        (&json!(true), &json!(false), false),
        "{running:?}"
    );
    assert_eq!(get(&running, "stdout"), "");

    let done = wait(&h, &dir, &id, 10).await;
    assert!(done.failed && done.changed, "{done:?}");
    assert_eq!(done.msg.as_deref(), Some("non-zero return code"));
    assert_eq!(get(&done, "rc"), 3);
    assert_eq!(get(&done, "stdout"), "a \"q\" \\ \t é\u{1}\n\nb");
    assert_eq!(
        get(&done, "stdout_lines"),
        &json!(["a \"q\" \\ \t é\u{1}", "", "b"])
    );
    assert_eq!(get(&done, "stderr"), "err");
    assert_eq!(
        get(&done, "cmd"),
        &json!("sleep 0.3; printf 'a \"q\" \\\\ \\t é\\001\\n\\nb\\n\\n\\n'; echo err >&2; exit 3")
    );
    let delta = get(&done, "delta").as_str().unwrap();
    assert!(delta.starts_with("0:00:00."), "{delta}");
    assert_eq!(get(&done, "start").as_str().unwrap().len(), 26);
    assert_eq!(get(&done, "results_file"), &json!(file));

    // Only the status file is left once the job is done; cleanup erases it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.iter().all(|n| n.to_string_lossy().starts_with(&id)),
        "{left:?}"
    );
    let c = h
        .run(&Status(dir.clone()), json!({"jid": id, "cleanup": true}))
        .await;
    assert_eq!((c.failed, get(&c, "erased")), (false, &json!(file)));
    assert_eq!(
        (get(&c, "started"), get(&c, "finished")),
        (&json!(false), &json!(false))
    );
    assert!(!std::path::Path::new(&file).exists());
    let gone = h.run(&Status(dir), json!({"jid": id})).await;
    assert!(gone.failed, "{gone:?}");
    assert_eq!(gone.msg.as_deref(), Some("could not find job"));
    assert_eq!(get(&gone, "finished"), true);
}

#[tokio::test]
async fn strip_guards_and_check_mode_happen_on_the_host() {
    let d = Scratch::new("async-guards");
    let dir = d.s("async");
    let h = Harness::new();
    let l = Launch("command", job(&d, 30));
    let r = h
        .run(
            &l,
            json!({"argv": ["printf", "x\n\n"], "strip_empty_ends": false}),
        )
        .await;
    let done = wait(&h, &dir, &jid(&r), 10).await;
    assert_eq!(get(&done, "stdout"), "x\n\n", "{done:?}");
    assert_eq!(get(&done, "cmd"), &json!(["printf", "x\n\n"]));
    assert!(done.changed && !done.failed);

    let r = h.run(&l, json!({"cmd": "echo hi", "creates": "/"})).await;
    let done = wait(&h, &dir, &jid(&r), 10).await;
    assert!(!done.changed && !done.failed, "{done:?}");
    assert_eq!(
        done.msg.as_deref(),
        Some("Did not run command since '/' exists")
    );
    assert_eq!(get(&done, "stdout"), "skipped, since / exists");

    let r = h
        .run(&l, json!({"cmd": "echo hi", "chdir": d.s("nope")}))
        .await;
    let done = wait(&h, &dir, &jid(&r), 10).await;
    assert!(done.failed, "{done:?}");
    assert!(
        done.msg.as_deref().unwrap().contains("[Errno 2]"),
        "{done:?}"
    );

    let marker = d.s("made");
    let h = Harness::new().check();
    let r = h.run(&l, json!({"cmd": format!("touch {marker}")})).await;
    assert!(!r.skipped && r.changed, "{r:?}");
    let done = wait(&h, &dir, &jid(&r), 10).await;
    assert!(done.skipped && !done.changed, "{done:?}");
    assert_eq!(
        done.msg.as_deref(),
        Some("Command would have run if not in check mode")
    );
    assert!(!std::path::Path::new(&marker).exists());
}

#[tokio::test]
async fn the_time_limit_kills_the_whole_job() {
    let d = Scratch::new("async-limit");
    let dir = d.s("async");
    let flag = d.s("late");
    let h = Harness::new();
    let l = Launch("shell", job(&d, 1));
    let r = h
        .run(
            &l,
            json!({"cmd": format!("(sleep 3; touch {flag}) & sleep 30")}),
        )
        .await;
    let done = wait(&h, &dir, &jid(&r), 8).await;
    assert!(done.failed && !done.changed, "{done:?}");
    assert_eq!(done.msg.as_deref(), Some("Timeout exceeded"));
    assert!(get(&done, "child_pid").is_number());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !std::path::Path::new(&flag).exists(),
        "a child of the job survived"
    );
}

#[test]
fn the_status_file_parses_as_ansible_reads_it() {
    let v = super::super::async_job::dir_word("~/.ansible_async");
    assert_eq!(v, "\"$HOME\"/.ansible_async");
    assert_eq!(super::dir_word("/var/tmp/x y"), "'/var/tmp/x y'");
    let _ = Value::Null;
}
