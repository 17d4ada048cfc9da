//! The same playbooks run by ansible-core 2.19 and by strata, each on its own lab (identical
//! host names), must give the same per-host recap counts, the same exit code and the same
//! files on the hosts, on the first and on the second run.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Lab;
use common::playbook::{Counts, fixture, run};

fn ansible_playbook() -> PathBuf {
    let venv = Path::new("/opt/strata-venv/bin/ansible-playbook");
    if venv.exists() {
        return venv.to_path_buf();
    }
    PathBuf::from("ansible-playbook")
}

/// Runs ansible-playbook (default callback); returns (exit code, recap parsed from PLAY RECAP).
fn ansible(lab: &Lab, book: &Path) -> (i32, BTreeMap<String, Counts>) {
    let out = Command::new(ansible_playbook())
        .arg("-i")
        .arg(&lab.inventory)
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
        .expect("ansible-playbook must be installed (.ci/run installs it)");
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

/// Everything under /opt/compat: paths, types, modes, link targets and content hashes.
fn state(lab: &Lab, host: &str) -> String {
    let (_, out, _) = lab.ssh(
        host,
        "cd /opt/compat 2>/dev/null || exit 0; find . -printf '%p %y %m %l\\n' | sort; find . -type f -exec md5sum {} + | sort -k2",
    );
    out
}

fn compare(book: &str) {
    let name = book.trim_end_matches(".yml");
    let a = Lab::up(&format!("cmp-a-{name}"), 3, false);
    let s = Lab::up(&format!("cmp-s-{name}"), 3, false);
    let path = fixture("compat").join(book);
    for round in ["first", "second"] {
        let (acode, arecap) = ansible(&a, &path);
        let r = run(&s, &path, &[]);
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
        for h in &a.hosts {
            assert_eq!(
                state(&s, &h.name),
                state(&a, &h.name),
                "{book} {round} run: files on {} differ",
                h.name
            );
        }
    }
}

#[test]
fn file_modules_match_ansible() {
    compare("files.yml");
}

#[test]
fn control_flow_matches_ansible() {
    compare("flow.yml");
}

#[test]
fn roles_match_ansible() {
    compare("roles.yml");
}

#[test]
fn failures_match_ansible() {
    compare("failing.yml");
}

#[test]
fn facts_become_includes_and_meta_match_ansible() {
    compare("misc.yml");
}
