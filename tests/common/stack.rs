//! The fixture stack (tests/fixtures/stack) for the stack tests (tests/stack.rs,
//! tests/stack_ec2.rs): a copy of it beside a lab, its inventory groups, `strata stack` runs,
//! `status --json` / `history --json`, and the marks its roles leave on hosts.
//!
//! The fixture's roles count every event they run in `/var/lib/fixture/<role>.<event>.count`
//! and append `<role> <stack.event>` to `/var/lib/fixture/events.log`; the lb role renders
//! `/etc/fixture/lb-backends` (`name private_ip` of each online app instance, sorted).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::playbook::fixture;
use super::{Lab, strata_command};

type CommandHook = Box<dyn Fn(&mut Command)>;

/// A copy of the fixture stack in a directory of its own: `stack.yml`, `roles/`, and the
/// inventory sources the test writes beside them. State goes to `.strata/fixture.db` there.
pub struct Stack {
    pub dir: PathBuf,
    pub file: PathBuf,
    hook: Option<CommandHook>,
    spawned: std::cell::Cell<usize>,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

impl Stack {
    /// A fresh copy of the fixture stack in `dir` (removed first).
    pub fn at(dir: &Path) -> Stack {
        Stack::of("stack", dir)
    }

    /// A fresh copy of another fixture stack, `tests/fixtures/<name>`, in `dir` (removed first).
    pub fn of(name: &str, dir: &Path) -> Stack {
        let _ = std::fs::remove_dir_all(dir);
        copy_dir(&fixture(name), dir);
        Stack {
            dir: dir.to_path_buf(),
            file: dir.join("stack.yml"),
            hook: None,
            spawned: Default::default(),
        }
    }

    /// A stack file the caller wrote itself (`file`, run from `dir`), with no fixture copied.
    pub fn existing(dir: &Path, file: &Path) -> Stack {
        Stack {
            dir: dir.to_path_buf(),
            file: file.to_path_buf(),
            hook: None,
            spawned: Default::default(),
        }
    }

    /// The fixture stack in the lab's directory, with the lab's inventory as `lab.yml`.
    pub fn on(lab: &Lab) -> Stack {
        let s = Stack::at(&lab.state.dir.join("stack"));
        std::fs::copy(&lab.inventory, s.dir.join("lab.yml")).unwrap();
        s
    }

    /// Adjusts every strata command before it runs (its environment, for one).
    pub fn with_command(mut self, f: impl Fn(&mut Command) + 'static) -> Self {
        self.hook = Some(Box::new(f));
        self
    }

    /// Writes `text` at `rel`, relative to the stack's directory.
    pub fn write(&self, rel: &str, text: &str) {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Rewrites `stack.yml` through `f`.
    pub fn edit(&self, f: impl FnOnce(&str) -> String) {
        let text = std::fs::read_to_string(&self.file).unwrap();
        std::fs::write(&self.file, f(&text)).unwrap();
    }

    /// Writes `groups.yml`: each `(group, hosts)`, and `(host, "k: v, ...")` host variables.
    pub fn groups(&self, groups: &[(&str, &[&str])], vars: &[(&str, &str)]) {
        let mut y = String::from("all:\n");
        if !vars.is_empty() {
            y.push_str("  hosts:\n");
            for (h, v) in vars {
                y.push_str(&format!("    {h}: {{{v}}}\n"));
            }
        }
        y.push_str("  children:\n");
        for (g, hosts) in groups {
            y.push_str(&format!("    {g}:\n      hosts:\n"));
            for h in *hosts {
                y.push_str(&format!("        {h}: {{}}\n"));
            }
        }
        self.write("groups.yml", &y);
    }

    /// The state database.
    pub fn db(&self) -> PathBuf {
        self.dir.join(".strata/fixture.db")
    }

    /// `strata stack -f <stack.yml> <args>`, run from the stack's directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let file = self.file.to_str().unwrap();
        let mut all = vec!["stack", "-f", file];
        all.extend_from_slice(args);
        let mut cmd = strata_command(Some(&self.dir), &all);
        if let Some(f) = &self.hook {
            f(&mut cmd);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("cannot run strata")
    }

    /// Runs `args` and asserts the exit code, showing the output when it differs.
    pub fn expect(&self, args: &[&str], code: i32) -> Output {
        let o = self.run(args);
        assert_eq!(
            o.status.code(),
            Some(code),
            "strata stack {args:?}\n{}",
            dump(&o)
        );
        o
    }

    /// Starts `args` in the background, output to files in the stack's directory.
    pub fn spawn(&self, args: &[&str]) -> Spawned {
        self.spawn_command(self.command(args), args)
    }

    /// `strata jobs -f <stack.yml> <args>`, run from the stack's directory.
    pub fn jobs(&self, args: &[&str]) -> Command {
        let file = self.file.to_str().unwrap();
        let mut all = vec!["jobs", "-f", file];
        all.extend_from_slice(args);
        let mut cmd = strata_command(Some(&self.dir), &all);
        if let Some(f) = &self.hook {
            f(&mut cmd);
        }
        cmd
    }

    /// `strata jobs <args>`, asserting the exit code.
    pub fn jobs_expect(&self, args: &[&str], code: i32) -> Output {
        let o = self.jobs(args).output().expect("cannot run strata");
        assert_eq!(
            o.status.code(),
            Some(code),
            "strata jobs {args:?}\n{}",
            dump(&o)
        );
        o
    }

    /// `strata jobs <args>` in the background.
    pub fn spawn_jobs(&self, args: &[&str]) -> Spawned {
        self.spawn_command(self.jobs(args), args)
    }

    /// `jobs history [job] --json`, newest first.
    pub fn job_history(&self, job: Option<&str>) -> Vec<Value> {
        let mut args = vec!["history", "--limit", "0", "--json"];
        args.extend(job);
        let o = self.jobs_expect(&args, 0);
        let v: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("jobs history --json is not JSON ({e})\n{}", dump(&o)));
        v.as_array()
            .unwrap_or_else(|| panic!("jobs history --json is not an array: {v}"))
            .clone()
    }

    fn spawn_command(&self, mut cmd: Command, args: &[&str]) -> Spawned {
        let n = self.spawned.get();
        self.spawned.set(n + 1);
        let out = self.dir.join(format!("spawn-{n}.out"));
        let err = self.dir.join(format!("spawn-{n}.err"));
        let child = cmd
            .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
            .spawn()
            .expect("cannot run strata");
        Spawned {
            child,
            out,
            err,
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// `status --json`.
    pub fn status(&self) -> Value {
        let o = self.expect(&["status", "--json"], 0);
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("status --json is not JSON ({e})\n{}", dump(&o)))
    }

    /// `history --json`, newest first.
    pub fn history(&self) -> Vec<Value> {
        let o = self.expect(&["history", "--json"], 0);
        let v: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("history --json is not JSON ({e})\n{}", dump(&o)));
        v.as_array()
            .unwrap_or_else(|| panic!("history --json is not an array: {v}"))
            .clone()
    }
}

/// A `strata stack` command running in the background.
pub struct Spawned {
    pub child: Child,
    out: PathBuf,
    err: PathBuf,
    args: Vec<String>,
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for it to end: (exit code, stdout, stderr); -1 when killed by a signal.
    pub fn wait(mut self) -> (i32, String, String) {
        let st = self.child.wait().unwrap();
        (
            st.code().unwrap_or(-1),
            std::fs::read_to_string(&self.out).unwrap_or_default(),
            std::fs::read_to_string(&self.err).unwrap_or_default(),
        )
    }

    /// Waits and asserts the exit code.
    pub fn expect(self, code: i32) -> (String, String) {
        let args = self.args.clone();
        let (c, out, err) = self.wait();
        assert_eq!(
            c, code,
            "strata stack {args:?}\nstdout:\n{out}\nstderr:\n{err}"
        );
        (out, err)
    }

    /// SIGKILL, then reaps it.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }
}

pub fn dump(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The instance named `name` in a `status --json` object.
pub fn instance<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["instances"]
        .as_array()
        .unwrap_or_else(|| panic!("status has no instances: {status}"))
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("status has no instance {name}: {status:#}"))
}

/// name -> status of every instance in a `status --json` object.
pub fn statuses(status: &Value) -> BTreeMap<String, String> {
    status["instances"]
        .as_array()
        .unwrap_or_else(|| panic!("status has no instances: {status}"))
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A name -> status map from pairs, to compare with [`statuses`].
pub fn want_statuses(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect()
}

/// (online count, online instance names sorted) of `layer` in a `status --json` object.
pub fn layer_online(status: &Value, layer: &str) -> (u64, Vec<String>) {
    let l = status["layers"]
        .as_array()
        .unwrap_or_else(|| panic!("status has no layers: {status}"))
        .iter()
        .find(|l| l["shortname"] == layer)
        .unwrap_or_else(|| panic!("status has no layer {layer}: {status:#}"));
    let mut names: Vec<String> = l["instances"]
        .as_array()
        .unwrap_or_else(|| panic!("layer {layer} has no instances list: {l}"))
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    names.sort();
    (l["online"].as_u64().unwrap_or(u64::MAX), names)
}

/// `active` of app `app` in a `status --json` object: instance -> {revision, release}.
pub fn active(status: &Value, app: &str) -> Value {
    status["apps"]
        .as_array()
        .unwrap_or_else(|| panic!("status has no apps: {status}"))
        .iter()
        .find(|a| a["name"] == app)
        .unwrap_or_else(|| panic!("status has no app {app}: {status:#}"))["active"]
        .clone()
}

/// The fixture's counters on `host`: "<role>.<event>" -> how many times it ran.
pub fn marks(lab: &Lab, host: &str) -> BTreeMap<String, u64> {
    let out = lab.ssh_ok(
        host,
        "cd /var/lib/fixture 2>/dev/null && for f in *.count; do [ -e \"$f\" ] && echo \"$f $(cat \"$f\")\"; done; true",
    );
    out.lines()
        .map(|l| {
            let (f, n) = l.rsplit_once(' ').unwrap();
            (f.trim_end_matches(".count").to_string(), n.parse().unwrap())
        })
        .collect()
}

/// A counters map from pairs, to compare with [`marks`].
pub fn want_marks(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

/// One counter on `host` (0 when it never ran).
pub fn count(lab: &Lab, host: &str, mark: &str) -> u64 {
    marks(lab, host).get(mark).copied().unwrap_or(0)
}

/// The lines of the fixture's event log on `host`: "<role> <stack.event>", oldest first.
pub fn event_log(lab: &Lab, host: &str) -> Vec<String> {
    lab.ssh_ok(host, "cat /var/lib/fixture/events.log 2>/dev/null; true")
        .lines()
        .map(str::to_string)
        .collect()
}

/// The lb file on `host`, one line per backend.
pub fn backends(lab: &Lab, host: &str) -> Vec<String> {
    lab.ssh_ok(host, "cat /etc/fixture/lb-backends")
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// What the lb file must hold for these app hosts: `name address`, sorted by name.
pub fn want_backends(lab: &Lab, hosts: &[&str]) -> Vec<String> {
    let mut v: Vec<&str> = hosts.to_vec();
    v.sort();
    v.iter()
        .map(|h| format!("{h} {}", lab.host(h).addr))
        .collect()
}

/// A JSON file on `host`.
pub fn host_json(lab: &Lab, host: &str, path: &str) -> Value {
    let text = lab.ssh_ok(host, &format!("cat {path}"));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{host}:{path} is not JSON ({e}): {text}"))
}

/// Events of `history` (newest first) of one of `kinds`, as (kind, sorted hosts, result),
/// oldest first.
pub fn events_of(history: &[Value], kinds: &[&str]) -> Vec<(String, Vec<String>, String)> {
    let mut v: Vec<_> = history
        .iter()
        .filter(|e| kinds.iter().any(|k| e["kind"] == *k))
        .map(|e| {
            let mut hosts: Vec<String> = e["hosts"]
                .as_array()
                .unwrap_or_else(|| panic!("event without hosts: {e}"))
                .iter()
                .map(|h| h.as_str().unwrap().to_string())
                .collect();
            hosts.sort();
            (
                e["kind"].as_str().unwrap().to_string(),
                hosts,
                e["result"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.reverse();
    v
}

/// (kind, hosts, result) from literals, to compare with [`events_of`].
pub fn ev(kind: &str, hosts: &[&str], result: &str) -> (String, Vec<String>, String) {
    let mut h: Vec<String> = hosts.iter().map(|s| s.to_string()).collect();
    h.sort();
    (kind.to_string(), h, result.to_string())
}

/// Whether `s` is a release id: a UTC timestamp `YYYYMMDDTHHMMSSZ`.
pub fn is_release_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 16
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
}

/// Polls `f` every 200 ms until it holds; panics with `what` after `secs` seconds.
pub fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One writer at a time, and crash recovery, on whatever state backend `st`'s file names:
/// lab01 in `lb`, lab02 then lab03 in `app`. A second `sync` while one runs exits 6 naming
/// the holder (pid, machine, command); `status` names it without waiting; `--wait` runs
/// after it. Then a `sync` SIGKILLed in the middle of lab03's setup leaves the lock free at
/// once, and the next `sync` marks its event `aborted` and sets lab03 up again.
pub fn busy_and_crash(lab: &Lab, st: &Stack) {
    st.groups(
        &[("lb", &["lab01"]), ("app", &["lab02"])],
        &[("lab02", "fixture_setup_sleep: 6")],
    );
    let first = st.spawn(&["sync"]);
    wait_until(60, "setup to begin on lab02", || {
        count(lab, "lab02", "app.setup") == 1
    });
    // A second sync does not wait (`--wait` defaults to 0): exit 6, naming the holder.
    let o = st.expect(&["sync"], 6);
    let err = String::from_utf8_lossy(&o.stderr);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert!(err.contains(&format!("pid {}", first.pid())), "{err}");
    assert!(err.contains(&format!("on {}", host.trim())), "{err}");
    assert!(err.contains("stack -f") && err.contains(" sync`"), "{err}");
    assert!(err.contains("since"), "{err}");
    // Read-only commands never wait.
    let s = st.status();
    assert_eq!(statuses(&s)["lab02"], "setup", "{s:#}");
    assert_eq!(
        s["busy"]["pid"],
        first.pid(),
        "status names the holder: {s:#}"
    );
    // With --wait, it runs once the first is done.
    let waiter = st.spawn(&["configure", "--wait", "120"]);
    first.expect(0);
    waiter.expect(0);
    assert_eq!(marks(lab, "lab02")["app.setup"], 1);
    assert_eq!(marks(lab, "lab02")["app.configure"], 2);
    let h = st.history();
    assert_eq!(h[0]["kind"], "configure", "{:#}", h[0]);

    // A sync killed in the middle of a new instance's setup.
    st.groups(
        &[("lb", &["lab01"]), ("app", &["lab02", "lab03"])],
        &[("lab03", "fixture_setup_sleep: 30")],
    );
    let doomed = st.spawn(&["sync"]);
    wait_until(60, "setup to begin on lab03", || {
        count(lab, "lab03", "app.setup") == 1
    });
    let running: Vec<Value> = st
        .history()
        .into_iter()
        .filter(|e| e["result"] == "running")
        .collect();
    assert!(
        running.iter().any(|e| e["kind"] == "setup"),
        "no running setup event: {running:#?}"
    );
    doomed.kill();
    assert_eq!(statuses(&st.status())["lab03"], "setup");

    // The next sync (no --wait: the lock is free at once) marks the dead one's event
    // aborted and sets lab03 up again.
    st.groups(&[("lb", &["lab01"]), ("app", &["lab02", "lab03"])], &[]);
    st.expect(&["sync"], 0);
    let h = st.history();
    for r in &running {
        let now = h.iter().find(|e| e["id"] == r["id"]).unwrap();
        assert_eq!(now["result"], "aborted", "{now:#}");
    }
    assert_eq!(statuses(&st.status())["lab03"], "online");
    assert_eq!(
        marks(lab, "lab03"),
        want_marks(&[("app.setup", 2), ("app.deploy", 1), ("app.configure", 1)])
    );
    assert_eq!(marks(lab, "lab02")["app.setup"], 1);
}
