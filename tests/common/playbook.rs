//! Running strata playbooks on a lab from tests and reading their `--json` events, through
//! one small builder, so a new test reads in a few lines:
//!
//! ```ignore
//! let lab = Lab::up("fatal", 3, false);
//! let r = lab.playbook("- hosts: all\n  tasks:\n    - fail: msg=stop\n").run();
//! r.expect_exit(2);
//! assert_eq!(r.host(&lab.hosts[0].name).failed, 1);
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::{Lab, strata_command};

/// Something done to the strata command before it runs.
type CommandHook<'a> = Box<dyn Fn(&mut Command) + 'a>;

/// A playbook run being set up: the playbook (written from text, or a file such as a
/// fixture), files beside it, and command-line options. [`PlaybookRun::run`] runs
/// `strata playbook --json` with the lab's inventory and can be called again for a second
/// run.
pub struct PlaybookRun<'a> {
    lab: &'a Lab,
    book: PathBuf,
    /// The inventory: the lab's own unless the test gives another.
    inventory: PathBuf,
    args: Vec<String>,
    /// Run in the playbook's directory, naming the playbook and inventory relative to it.
    in_dir: bool,
    /// Adjusts the command before it runs (environment, ...).
    command: Option<CommandHook<'a>>,
}

impl Lab {
    /// A run of the playbook `yaml`, written to a fresh directory of its own inside the
    /// lab's directory (so it goes when the lab goes); add files beside it (templates, roles,
    /// inventories, ...) with [`PlaybookRun::file`].
    pub fn playbook(&self, yaml: &str) -> PlaybookRun<'_> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = self
            .state
            .dir
            .join(format!("books/{}", N.fetch_add(1, Ordering::SeqCst)));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let book = dir.join("playbook.yml");
        std::fs::write(&book, yaml).unwrap();
        self.playbook_file(&book)
    }

    /// A run of an existing playbook file (a fixture, or the repository's own).
    pub fn playbook_file(&self, book: &Path) -> PlaybookRun<'_> {
        PlaybookRun {
            lab: self,
            book: book.to_path_buf(),
            inventory: self.inventory.clone(),
            args: Vec::new(),
            in_dir: false,
            command: None,
        }
    }
}

impl<'a> PlaybookRun<'a> {
    /// Writes `content` at `rel`, relative to the playbook's directory.
    pub fn file(self, rel: &str, content: &str) -> Self {
        let p = self.dir().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    /// Uses another inventory than the lab's (stack groups, connection variables, ...).
    pub fn inventory(mut self, path: &Path) -> Self {
        self.inventory = path.to_path_buf();
        self
    }

    /// Runs strata from the playbook's directory, with the playbook and the inventory named
    /// relative to it, as an operator in a project directory would.
    pub fn in_its_dir(mut self) -> Self {
        self.in_dir = true;
        self
    }

    /// Adjusts the strata command before each run (its environment, for one).
    pub fn command(mut self, f: impl Fn(&mut Command) + 'a) -> Self {
        self.command = Some(Box::new(f));
        self
    }

    /// Adds command-line options (they go before the playbook).
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// `-e k=v` (or any other `-e` form).
    pub fn extra_var(self, var: &str) -> Self {
        self.args(&["-e", var])
    }

    /// The playbook's directory.
    pub fn dir(&self) -> PathBuf {
        self.book.parent().unwrap().to_path_buf()
    }

    pub fn path(&self) -> &Path {
        &self.book
    }

    /// Runs `strata playbook --json -i <inventory> <options> <playbook>`.
    pub fn run(&self) -> Run {
        let dir = self.dir();
        let name = |p: &Path| {
            let p = if self.in_dir {
                p.strip_prefix(&dir).unwrap_or(p)
            } else {
                p
            };
            p.to_str().unwrap().to_string()
        };
        let (inv, pb) = (name(&self.inventory), name(&self.book));
        let mut all: Vec<&str> = vec!["playbook", "--json", "-i", &inv];
        all.extend(self.args.iter().map(String::as_str));
        all.push(&pb);
        let mut cmd = strata_command(self.in_dir.then_some(dir.as_path()), &all);
        if let Some(f) = &self.command {
            f(&mut cmd);
        }
        let mut r = parse(cmd.output().expect("cannot run the strata binary"));
        r.hosts = self.lab.hosts.iter().map(|h| h.name.clone()).collect();
        r
    }
}

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
    /// The lab's hosts when the run came from [`PlaybookRun::run`]: [`Run::expect_clean`]
    /// wants each of them in the recap.
    pub hosts: Vec<String>,
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

    /// Asserts the exit code, showing the run's failures when it differs.
    pub fn expect_exit(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "{}", self.dump());
        self
    }

    /// Exit 0, and every host (each lab host, when the run knows them) in the recap with
    /// nothing failed or unreachable.
    pub fn expect_clean(&self) -> &Self {
        self.expect_exit(0);
        for h in &self.hosts {
            self.host(h);
        }
        for (h, c) in &self.recap {
            assert_eq!((c.failed, c.unreachable), (0, 0), "{h}: {}", self.dump());
        }
        self
    }

    /// Clean, and nothing changed anywhere (a second run of a converged playbook).
    pub fn expect_converged(&self) -> &Self {
        self.expect_clean();
        assert_eq!(
            self.total_changed(),
            0,
            "a converged run changed something:\n{}",
            self.dump()
        );
        self
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
        hosts: Vec::new(),
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
