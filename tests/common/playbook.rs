//! Running strata playbooks from tests and reading their `--json` events.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::Lab;

/// Per-host recap counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub ok: u64,
    pub changed: u64,
    pub unreachable: u64,
    pub failed: u64,
    pub skipped: u64,
    pub rescued: u64,
    pub ignored: u64,
}

pub struct Run {
    pub code: i32,
    pub events: Vec<Value>,
    pub recap: BTreeMap<String, Counts>,
    pub stderr: String,
}

impl Run {
    pub fn host(&self, h: &str) -> &Counts {
        self.recap
            .get(h)
            .unwrap_or_else(|| panic!("no recap for {h}: {:?}\n{}", self.recap, self.stderr))
    }

    pub fn total_changed(&self) -> u64 {
        self.recap.values().map(|c| c.changed).sum()
    }

    /// Results of the task named `task` on `host`.
    pub fn results(&self, host: &str, task: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| {
                e["event"] == "host_result"
                    && e["host"] == host
                    && e["task"].as_str().is_some_and(|t| t.ends_with(task))
            })
            .collect()
    }

    pub fn dump(&self) -> String {
        let evs: Vec<String> = self
            .events
            .iter()
            .filter(|e| {
                e["event"] == "host_result" && e["status"] != "ok" && e["status"] != "skipped"
            })
            .map(|e| {
                // Package managers print pages; the head of a result says what went wrong.
                let s = e.to_string();
                match s.char_indices().nth(800) {
                    Some((i, _)) => format!("{}...", &s[..i]),
                    None => s,
                }
            })
            .collect();
        format!(
            "exit {}\nstderr:\n{}\nnon-ok results:\n{}",
            self.code,
            self.stderr,
            evs.join("\n")
        )
    }
}

/// Runs `strata playbook --json` with the lab's inventory; `args` go before the playbook.
pub fn run(lab: &Lab, playbook: &Path, args: &[&str]) -> Run {
    let mut all: Vec<&str> = vec!["playbook", "--json", "-i"];
    let inv = lab.inventory.to_str().unwrap().to_string();
    all.push(&inv);
    all.extend_from_slice(args);
    let pb = playbook.to_str().unwrap().to_string();
    all.push(&pb);
    let out = lab.strata(&all);
    parse(out)
}

pub fn parse(out: std::process::Output) -> Run {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let mut recap = BTreeMap::new();
    for e in &events {
        if e["event"] == "recap" {
            for s in e["stats"].as_array().unwrap() {
                let g = |k: &str| s[k].as_u64().unwrap_or(0);
                recap.insert(
                    s["host"].as_str().unwrap().to_string(),
                    Counts {
                        ok: g("ok"),
                        changed: g("changed"),
                        unreachable: g("unreachable"),
                        failed: g("failed"),
                        skipped: g("skipped"),
                        rescued: g("rescued"),
                        ignored: g("ignored"),
                    },
                );
            }
        }
    }
    Run {
        code: out.status.code().unwrap_or(-1),
        events,
        recap,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The fixture directory `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
