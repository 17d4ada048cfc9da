//! Helpers for the EC2 inventory tests (tests/inventory_ec2.rs): running strata with a clean
//! AWS environment, and reading back the inventory it built (groups and host variables).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// A fresh directory, also used as HOME and cache dir so no real ~/.aws leaks in. Removed on
/// drop unless the test failed (then it is kept for a look).
pub struct WorkDir(PathBuf);

impl std::ops::Deref for WorkDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for WorkDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn workdir(name: &str) -> WorkDir {
    let d = strata::scratch::root().join(format!("strata-ec2-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    WorkDir(d)
}

pub const LIST: &str = "- hosts: all\n  gather_facts: false\n  tasks: []\n";

/// Writes `groups` and `hostvars` as JSON from the implicit localhost (no host contacted).
pub const DUMP: &str = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy:\n        content: \"{{ groups | to_json }}\"\n        dest: \"{{ out }}/groups.json\"\n    - copy:\n        content: \"{{ hostvars | to_json }}\"\n        dest: \"{{ out }}/hostvars.json\"\n";

/// Runs strata in `dir` with a clean AWS environment plus `env`.
pub fn strata(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.args(args).current_dir(dir).stdin(Stdio::null());
    aws_env(&mut cmd, dir, env);
    cmd.output().expect("cannot run strata")
}

/// A clean AWS environment with `env` on top, and `dir` as home and cache, so no setting or
/// cache of the machine's leaks into a test.
pub fn aws_env(cmd: &mut Command, dir: &Path, env: &[(&str, &str)]) {
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k == "STRATA_EC2_MAX_ATTEMPTS" {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", dir)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        cmd.env(k, v);
    }
}

pub const KEYS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
];

pub fn with_keys<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = KEYS.to_vec();
    v.extend_from_slice(extra);
    v
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// (groups, hostvars) of the inventory `cfg` as strata builds it.
pub fn dump(dir: &Path, cfg: &str, env: &[(&str, &str)], extra: &[&str]) -> (Value, Value) {
    let out = dir.join("dump");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(dir.join("dump.yml"), DUMP).unwrap();
    let e = format!("out={}", out.display());
    let mut args = vec!["playbook", "-i", cfg, "dump.yml", "-e", &e];
    args.extend_from_slice(extra);
    let o = strata(dir, &args, env);
    assert_eq!(
        o.status.code(),
        Some(0),
        "strata failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    let read =
        |f: &str| serde_json::from_str(&std::fs::read_to_string(out.join(f)).unwrap()).unwrap();
    (read("groups.json"), read("hostvars.json"))
}

pub fn members(groups: &Value, g: &str) -> BTreeSet<String> {
    groups[g]
        .as_array()
        .map(|a| a.iter().map(|h| h.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

pub fn ids(instances: &Value, pred: impl Fn(&Value) -> bool) -> BTreeSet<String> {
    instances
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| pred(i))
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

pub fn layers(i: &Value) -> Vec<String> {
    i["tags"]["strata:layer"]
        .as_str()
        .unwrap_or("")
        .split(',')
        .map(str::to_string)
        .collect()
}

/// Strips Ansible's `{"__ansible_unsafe": x}` wrappers from `ansible-inventory --list` output.
pub fn unwrap_unsafe(v: Value) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("__ansible_unsafe") => {
            m.into_iter().next().unwrap().1
        }
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, x)| (k, unwrap_unsafe(x))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(unwrap_unsafe).collect()),
        other => other,
    }
}
