//! Runs one book with ansible-core 2.19 and with strata, each on its own lab (identical host
//! names), and requires the same per-host recap counts, the same exit code and the same host
//! state, on the first and on the second run. Books live in `tests/fixtures/compat/`; a
//! `<book>.probe.sh` beside one prints the system state it changed (packages, users, units),
//! which is compared as well.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Lab;
use super::playbook::{Counts, fixture};

fn ansible_playbook() -> PathBuf {
    let venv = Path::new("/opt/strata-venv/bin/ansible-playbook");
    if venv.exists() {
        return venv.to_path_buf();
    }
    PathBuf::from("ansible-playbook")
}

/// Runs ansible-playbook (default callback); returns (exit code, recap parsed from PLAY RECAP).
fn ansible(lab: &Lab, book: &Path, extra: &[String]) -> (i32, BTreeMap<String, Counts>) {
    let out = Command::new(ansible_playbook())
        .arg("-i")
        .arg(&lab.inventory)
        .args(extra)
        .arg(book)
        .args(["-f", "10"])
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut recap = BTreeMap::new();
    let tail = stdout.split("PLAY RECAP").nth(1).unwrap_or_else(|| {
        panic!(
            "no recap from ansible:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    for line in tail.lines().filter(|l| l.contains(" : ok=")) {
        let (host, rest) = line.split_once(" : ").unwrap();
        let mut c = Counts::default();
        for kv in rest.split_whitespace() {
            let (k, v) = kv.split_once('=').unwrap();
            let v: u64 = v.parse().unwrap();
            match k {
                "ok" => c.ok = v,
                "changed" => c.changed = v,
                "unreachable" => c.unreachable = v,
                "failed" => c.failed = v,
                "skipped" => c.skipped = v,
                "rescued" => c.rescued = v,
                "ignored" => c.ignored = v,
                _ => {}
            }
        }
        recap.insert(host.trim().to_string(), c);
    }
    (out.status.code().unwrap_or(-1), recap)
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

fn side(name: &str, env: Env, www_root: &Path) -> Side {
    let lab = Lab::up(name, 3, env.systemd);
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
        super::artifacts::remove_stale(cache, "compat-www");
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

pub fn compare(book: &str) {
    compare_in(book, Env::default());
}

pub fn compare_in(book: &str, env: Env) {
    let name = book.trim_end_matches(".yml");
    let www = if env.www { www_root() } else { PathBuf::new() };
    let a = side(&format!("cmp-a-{name}"), env, &www);
    let s = side(&format!("cmp-s-{name}"), env, &www);
    let path = fixture("compat").join(book);
    let probe = std::fs::read_to_string(fixture("compat").join(format!("{name}.probe.sh")))
        .unwrap_or_default();
    for round in ["first", "second"] {
        let (acode, arecap) = ansible(&a.lab, &path, &a.extra);
        let args: Vec<&str> = s.extra.iter().map(String::as_str).collect();
        let r = s.lab.playbook_file(&path).args(&args).run();
        assert_eq!(
            r.code,
            acode,
            "{book} {round} run: exit code differs from ansible\n{}",
            r.dump()
        );
        assert_eq!(
            r.recap,
            arecap,
            "{book} {round} run: recap differs from ansible\n{}",
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
    }
}
