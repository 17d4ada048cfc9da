//! `strata inventory` and ansible-core 2.19's `ansible-inventory` run side by side on the same
//! sources, for the inventory comparison tests.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

pub const ANSIBLE_INVENTORY: &str = "/opt/strata-venv/bin/ansible-inventory";

/// Runs a command in `dir`; panics unless it exits 0. Returns stdout.
pub fn run(mut cmd: Command, dir: &Path, what: &str) -> String {
    let out = cmd
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} in {} failed ({}):\n{stdout}\n{}",
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

pub fn ansible(dir: &Path, args: &[&str]) -> String {
    assert!(
        Path::new(ANSIBLE_INVENTORY).exists(),
        "{ANSIBLE_INVENTORY} is missing: these tests compare with ansible-core 2.19 (tests/run installs it)"
    );
    let mut cmd = Command::new(ANSIBLE_INVENTORY);
    cmd.args(args)
        // A source Ansible cannot parse must fail the test, not become an empty inventory.
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "1")
        .env("ANSIBLE_NOCOLOR", "1")
        .env(
            "ANSIBLE_LOCAL_TEMP",
            std::env::temp_dir().join("strata-ansible-tmp"),
        );
    run(cmd, dir, &format!("ansible-inventory {args:?}"))
}

pub fn strata(dir: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.arg("inventory").args(args);
    run(cmd, dir, &format!("strata inventory {args:?}"))
}

pub fn parse(text: &str, who: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{who} printed no JSON ({e}):\n{text}"))
}

/// Same groups, hosts per group, children and hostvars (key order aside). Returns Ansible's.
pub fn same_json(dir: &Path, label: &str, args: &[&str]) -> Value {
    let a = parse(&ansible(dir, args), "ansible-inventory");
    let s = parse(&strata(dir, args), "strata");
    assert_eq!(
        s,
        a,
        "{label}strata inventory {args:?} differs from ansible-inventory\nstrata:\n{}\nansible:\n{}",
        serde_json::to_string_pretty(&s).unwrap(),
        serde_json::to_string_pretty(&a).unwrap()
    );
    a
}
