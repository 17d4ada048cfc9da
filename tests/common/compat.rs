//! Runs one book with ansible-core 2.19 and with strata, each on its own lab (identical host
//! names), and requires the same exit code, the same per-host recap counts, the same status
//! for every task on every host, in order, and the same host state, on the first and on the
//! second run. Books live in `tests/fixtures/compat/`; a `<book>.probe.sh` beside one prints
//! the system state it changed (packages, users, units), which is compared as well.
//!
//! A task's status is compared as Ansible's `json` callback records it: one result per host
//! per task, the aggregate for a loop. A failure under `ignore_errors` is `failed` there, so
//! strata's `ignored` is compared as `failed` (the recap's `ignored` count still tells them
//! apart). A deliberate difference is declared by the test case as a [`Known`] entry, which
//! must match at least once: nothing is skipped without a reason written next to it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::Lab;
use super::playbook::{Counts, Run, fixture};

fn ansible_playbook() -> PathBuf {
    let venv = Path::new("/opt/strata-venv/bin/ansible-playbook");
    if venv.exists() {
        return venv.to_path_buf();
    }
    PathBuf::from("ansible-playbook")
}

/// One task's outcome on one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskStatus {
    pub task: String,
    pub status: String,
}

/// What a run left to compare: exit code, recap, and each host's task statuses in order.
struct Outcome {
    code: i32,
    recap: BTreeMap<String, Counts>,
    tasks: BTreeMap<String, Vec<TaskStatus>>,
}

/// The status Ansible's callbacks gave a result, from the flags the `json` callback keeps.
fn ansible_status(r: &Value) -> &'static str {
    let flag = |k: &str| r.get(k).and_then(Value::as_bool).unwrap_or(false);
    if flag("unreachable") {
        "unreachable"
    } else if flag("failed") {
        "failed"
    } else if flag("skipped") {
        "skipped"
    } else if flag("changed") {
        "changed"
    } else {
        "ok"
    }
}

/// The JSON document of ansible-playbook's `ansible.posix.json` callback and its recap.
/// The document is the last thing printed; anything a plugin wrote before it is not JSON.
pub fn ansible_report(out: &std::process::Output) -> (Value, BTreeMap<String, Counts>) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: Value = stdout
        .find("\n{")
        .map(|i| &stdout[i + 1..])
        .into_iter()
        .chain([stdout.as_ref()])
        .find_map(|s| serde_json::from_str(s).ok())
        .unwrap_or_else(|| {
            panic!(
                "no JSON document from ansible:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let mut recap = BTreeMap::new();
    for (host, s) in doc["stats"].as_object().into_iter().flatten() {
        let g = |k: &str| s[k].as_u64().unwrap_or(0);
        recap.insert(
            host.clone(),
            Counts {
                ok: g("ok"),
                changed: g("changed"),
                unreachable: g("unreachable"),
                failed: g("failures"),
                skipped: g("skipped"),
                rescued: g("rescued"),
                ignored: g("ignored"),
            },
        );
    }
    (doc, recap)
}

/// Runs ansible-playbook with the `json` stdout callback (ansible.posix's, which ansible-core's
/// `json` became) and reads the exit code, the recap and the per-task results from it.
fn ansible(lab: &Lab, book: &Path, extra: &[String]) -> Outcome {
    let out = Command::new(ansible_playbook())
        .arg("-i")
        .arg(&lab.inventory)
        .args(extra)
        .arg(book)
        .args(["-f", "10"])
        .env("ANSIBLE_STDOUT_CALLBACK", "ansible.posix.json")
        .env("ANSIBLE_PIPELINING", "1")
        .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .env(
            "ANSIBLE_LOCAL_TEMP",
            std::env::temp_dir().join("strata-ansible-tmp"),
        )
        .current_dir(book.parent().unwrap())
        .output()
        .expect("ansible-playbook must be installed (tests/run installs it)");
    let (doc, recap) = ansible_report(&out);
    let mut tasks: BTreeMap<String, Vec<TaskStatus>> = BTreeMap::new();
    for play in doc["plays"].as_array().into_iter().flatten() {
        for t in play["tasks"].as_array().into_iter().flatten() {
            for (host, r) in t["hosts"].as_object().into_iter().flatten() {
                tasks.entry(host.clone()).or_default().push(TaskStatus {
                    task: t["task"]["name"].as_str().unwrap_or("").to_string(),
                    status: ansible_status(r).to_string(),
                });
            }
        }
    }
    Outcome {
        code: out.status.code().unwrap_or(-1),
        recap,
        tasks,
    }
}

/// strata's side from its `--json` events: a loop's items are left out, its aggregate kept.
/// An include over a loop reports one `include_tasks` result per item, without an item label
/// and without an aggregate; those in a row are one include task, as Ansible's one result.
fn strata(r: &Run) -> Outcome {
    let mut tasks: BTreeMap<String, Vec<TaskStatus>> = BTreeMap::new();
    let mut last_include: BTreeMap<String, String> = BTreeMap::new();
    for e in r.events.iter().filter(|e| e["event"] == "host_result") {
        if !e["item"].is_null() {
            continue;
        }
        let host = e["host"].as_str().unwrap_or("").to_string();
        let task = e["task"].as_str().unwrap_or("").to_string();
        if e["action"] == "include_tasks" {
            if last_include.get(&host) == Some(&task) {
                continue;
            }
            last_include.insert(host.clone(), task.clone());
        } else {
            last_include.remove(&host);
        }
        let status = match e["status"].as_str().unwrap_or("") {
            "ignored" => "failed",
            s => s,
        };
        tasks.entry(host).or_default().push(TaskStatus {
            task,
            status: status.to_string(),
        });
    }
    Outcome {
        code: r.code,
        recap: r.recap.clone(),
        tasks,
    }
}

/// A deliberate difference between strata and ansible-core in one task's status, declared by
/// the test case with its reason. It must apply somewhere in the comparison, so a difference
/// that went away (or a renamed task) shows up as a stale entry.
#[derive(Clone, Copy, Debug)]
pub struct Known {
    /// The task's name as strata reports it (`role : name` inside roles).
    pub task: &'static str,
    /// Hosts it applies to; empty for all.
    pub hosts: &'static [&'static str],
    pub ansible: &'static str,
    pub strata: &'static str,
    pub why: &'static str,
}

/// How a status counts in the recap (a changed task is `ok` too, as in Ansible's stats).
fn count(c: &mut Counts, status: &str, delta: i64) {
    let add = |v: &mut u64| *v = (*v as i64 + delta).max(0) as u64;
    match status {
        "ok" => add(&mut c.ok),
        "changed" => {
            add(&mut c.ok);
            add(&mut c.changed)
        }
        "skipped" => add(&mut c.skipped),
        "failed" => add(&mut c.failed),
        "unreachable" => add(&mut c.unreachable),
        _ => {}
    }
}

/// Both hosts' task lists side by side, for a failure message.
fn side_by_side(a: &[TaskStatus], s: &[TaskStatus]) -> String {
    let mut out = String::from("  #  ansible                                         | strata\n");
    for i in 0..a.len().max(s.len()) {
        let f = |v: Option<&TaskStatus>| {
            v.map(|t| format!("{:<11} {}", t.status, t.task))
                .unwrap_or_else(|| "-".into())
        };
        let (l, r) = (f(a.get(i)), f(s.get(i)));
        let mark = if a.get(i).map(|t| &t.status) == s.get(i).map(|t| &t.status) {
            ' '
        } else {
            '!'
        };
        out.push_str(&format!("{mark}{i:>3} {l:<48} | {r}\n"));
    }
    out
}

/// Compares per-task statuses host by host; returns ansible's recap with the known
/// differences applied (they move a count from ansible's status to strata's), or a message.
fn compare_tasks(
    a: &Outcome,
    s: &Outcome,
    known: &[Known],
    used: &mut [bool],
) -> Result<BTreeMap<String, Counts>, String> {
    let mut recap = a.recap.clone();
    let hosts: BTreeSet<&String> = a.tasks.keys().chain(s.tasks.keys()).collect();
    let empty = Vec::new();
    for h in hosts {
        let (at, st) = (
            a.tasks.get(h).unwrap_or(&empty),
            s.tasks.get(h).unwrap_or(&empty),
        );
        let mut bad = at.len() != st.len();
        for (x, y) in at.iter().zip(st) {
            if x.status == y.status {
                continue;
            }
            let k = known.iter().position(|k| {
                y.task.ends_with(k.task)
                    && (k.hosts.is_empty() || k.hosts.contains(&h.as_str()))
                    && k.ansible == x.status
                    && k.strata == y.status
            });
            match k {
                Some(i) => {
                    used[i] = true;
                    let c = recap.entry(h.clone()).or_default();
                    count(c, &x.status, -1);
                    count(c, &y.status, 1);
                }
                None => bad = true,
            }
        }
        if bad {
            return Err(format!(
                "task statuses of {h} differ ('!' marks each):\n{}",
                side_by_side(at, st)
            ));
        }
    }
    Ok(recap)
}

/// Everything under /opt/compat: paths, types, modes, link targets and content hashes; then
/// what the book's probe script (`<book>.probe.sh` beside it, if any) prints about the system
/// state the book changed (packages, users, units, crontabs...).
///
/// A probe that could not run is a failure, not an empty state: a host unreachable under both
/// tools would otherwise compare equal (ssh exits 255 when it cannot connect).
fn state(lab: &Lab, host: &str, probe: &str) -> String {
    let (rc, out, err) = lab.ssh(
        host,
        "cd /opt/compat 2>/dev/null || exit 0; find . -printf '%p %y %m %l\\n' | sort; find . -type f -exec md5sum {} + | sort -k2",
    );
    assert_eq!(
        rc, 0,
        "the state listing failed on {host} of lab {}: {err}",
        lab.name
    );
    if probe.is_empty() {
        return out;
    }
    let (rc, sys, err) = lab.ssh(host, probe);
    assert_ne!(
        rc, 255,
        "the probe could not run on {host} of lab {}: {err}",
        lab.name
    );
    format!("{out}--- probe ---\n{sys}{err}")
}
/// What a system book needs besides its hosts.
#[derive(Clone, Copy, Default)]
pub struct Env {
    /// systemd as PID 1, for units, hostnamectl and journals.
    pub systemd: bool,
    /// Hosts without Debian's sources, and a test web server on the bridge (`base_url`) that
    /// serves the local apt repository under `apt/`, the book's files under `files/` and
    /// `common::artifacts` under `data/` (also readable in hosts at `data_dir`).
    pub www: bool,
}

/// One lab with what the book needs, and the `-e` options that point the book at it.
struct Side {
    lab: Lab,
    _srv: Option<super::http::HttpServer>,
    extra: Vec<String>,
}

fn side(name: &str, env: Env, hosts: usize, www_root: &Path) -> Side {
    let lab = Lab::up(name, hosts, env.systemd);
    let (srv, extra) = if env.www {
        super::aptrepo::offline(&lab);
        let srv = super::http::HttpServer::start(&lab.state.gateway.to_string(), www_root);
        let base = srv.url("").trim_end_matches('/').to_string();
        // The artifacts themselves, which hosts read in place (git and pip sources, archives).
        let data = std::fs::canonicalize(www_root.join("data")).unwrap();
        let extra = vec![
            "-e".to_string(),
            format!("base_url={base}"),
            "-e".to_string(),
            format!("data_dir={}", data.display()),
        ];
        (Some(srv), extra)
    } else {
        (None, vec![])
    };
    Side {
        lab,
        _srv: srv,
        extra,
    }
}

/// The web root system books share: the apt repository and the fixture's `files/`. Built once
/// per test process, since the books run on parallel test threads.
fn www_root() -> PathBuf {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let cache = Path::new("/var/lib/strata/test-cache");
        strata::scratch::remove_ended(cache, "compat-www");
        let root = cache.join(format!("compat-www-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink(super::aptrepo::repo(), root.join("apt")).unwrap();
        std::os::unix::fs::symlink(fixture("compat").join("files"), root.join("files")).unwrap();
        let data = super::artifacts::shared_data("compat-data");
        std::os::unix::fs::symlink(&data, root.join("data")).unwrap();
        root
    })
    .clone()
}

/// Hosts on each side. Two already show per-host parallelism and per-host state; every host
/// more costs ansible-core a Python process per task, the suite's main cost. Books about how
/// hosts interplay (delegation, batches, host patterns) ask for three.
const HOSTS: usize = 2;

pub fn compare(book: &str) {
    compare_in(book, Env::default());
}

/// [`compare`] on `hosts` hosts a side (lab01, lab02, ...).
pub fn compare_on(book: &str, hosts: usize) -> Vec<Run> {
    compare_hosts(book, Env::default(), &[], hosts)
}

/// Compares `book` as run on hosts with `env`; returns strata's runs (first, second) for
/// checks of their output.
pub fn compare_in(book: &str, env: Env) -> Vec<Run> {
    compare_known(book, env, &[])
}

/// [`compare_in`], accepting the listed deliberate differences in task statuses.
pub fn compare_known(book: &str, env: Env, known: &[Known]) -> Vec<Run> {
    compare_hosts(book, env, known, HOSTS)
}

fn compare_hosts(book: &str, env: Env, known: &[Known], hosts: usize) -> Vec<Run> {
    let name = book.trim_end_matches(".yml");
    let www = if env.www { www_root() } else { PathBuf::new() };
    let a = side(&format!("cmp-a-{name}"), env, hosts, &www);
    let s = side(&format!("cmp-s-{name}"), env, hosts, &www);
    let path = fixture("compat").join(book);
    let probe = std::fs::read_to_string(fixture("compat").join(format!("{name}.probe.sh")))
        .unwrap_or_default();
    let mut used = vec![false; known.len()];
    let mut runs = Vec::new();
    for round in ["first", "second"] {
        let ao = ansible(&a.lab, &path, &a.extra);
        let args: Vec<&str> = s.extra.iter().map(String::as_str).collect();
        let r = s.lab.playbook_file(&path).args(&args).run();
        let so = strata(&r);
        assert_eq!(
            so.code,
            ao.code,
            "{book} {round} run: exit code differs from ansible\n{}",
            r.dump()
        );
        let recap = compare_tasks(&ao, &so, known, &mut used)
            .unwrap_or_else(|e| panic!("{book} {round} run: {e}\n{}", r.dump()));
        assert_eq!(
            so.recap,
            recap,
            "{book} {round} run: recap differs from ansible's (known differences applied)\n{}",
            r.dump()
        );
        for h in &a.lab.hosts {
            assert_eq!(
                state(&s.lab, &h.name, &probe),
                state(&a.lab, &h.name, &probe),
                "{book} {round} run: state of {} differs (left strata, right ansible)",
                h.name
            );
        }
        runs.push(r);
    }
    let stale: Vec<&Known> = known
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(k, _)| k)
        .collect();
    assert!(
        stale.is_empty(),
        "{book}: known differences that no longer occur (remove them): {stale:#?}"
    );
    runs
}
