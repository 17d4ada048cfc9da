//! Events flow one way, from executors to the single reporter. Executors never print.

use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Changed,
    Failed,
    Skipped,
    Unreachable,
    /// Failed, but `ignore_errors` was set.
    Ignored,
}

/// Stable JSON field names: documented in the README (`--json`).
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A stack lifecycle event begins: one engine run on these instances.
    StackEvent {
        kind: String,
        hosts: Vec<String>,
    },
    PlaybookStart {
        file: String,
    },
    PlayStart {
        name: String,
        hosts: Vec<String>,
    },
    TaskStart {
        name: String,
        role: Option<String>,
        handler: bool,
    },
    /// One host's result for the current task (or one loop item when `item` is set).
    HostResult(HostResult),
    /// Rescued or retried notices and warnings.
    Warning {
        host: Option<String>,
        msg: String,
    },
    Retry {
        host: String,
        task: String,
        attempt: u32,
        retries: u32,
    },
    NoHostsMatched {
        pattern: String,
    },
    PlayEnd {
        name: String,
    },
    Recap {
        stats: Vec<HostStats>,
        elapsed_secs: f64,
        /// `set_stats` per host, and for the whole run, as the json callback's
        /// `custom_stats` and `global_custom_stats`: empty unless `show_custom_stats` is on.
        custom_stats: Map<String, Value>,
        global_custom_stats: Map<String, Value>,
    },
}

/// One host's result for the current task (or one loop item when `item` is set); its fields
/// sit directly in the `host_result` JSON event.
#[derive(Clone, Debug, Serialize)]
pub struct HostResult {
    pub host: String,
    pub task: String,
    /// The module name; `debug` results are always shown, as in Ansible.
    pub action: String,
    pub status: Status,
    /// Short reason shown on the host's line (failure message, or empty).
    pub msg: String,
    /// Loop item label, for per-item lines.
    pub item: Option<String>,
    /// The registered-variable form of the result; `{"censored": ...}` under no_log.
    pub result: Value,
    pub diff: Vec<FileDiff>,
    pub delegated_to: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct HostStats {
    pub host: String,
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

impl HostStats {
    /// Adds another batch's or playbook's counts for the same host.
    pub fn add(&mut self, d: &HostStats) {
        self.ok += d.ok;
        self.changed += d.changed;
        self.unreachable += d.unreachable;
        self.failed += d.failed;
        self.skipped += d.skipped;
        self.rescued += d.rescued;
        self.ignored += d.ignored;
    }

    /// Counts one task result the way Ansible's recap does: changed and ignored results also
    /// count as ok, and an ignored failure that changed something counts as changed.
    pub fn count(&mut self, status: Status, changed: bool) {
        match status {
            Status::Ok => self.ok += 1,
            Status::Changed => {
                self.ok += 1;
                self.changed += 1;
            }
            Status::Skipped => self.skipped += 1,
            Status::Failed => self.failed += 1,
            Status::Ignored => {
                self.ok += 1;
                self.ignored += 1;
                if changed {
                    self.changed += 1;
                }
            }
            Status::Unreachable => self.unreachable += 1,
        }
    }

    /// A host that never ran anything is left out of the recap, as in Ansible.
    pub fn is_empty(&self) -> bool {
        self.ok
            + self.changed
            + self.unreachable
            + self.failed
            + self.skipped
            + self.rescued
            + self.ignored
            == 0
    }
}

/// One file's before/after, shown by `--diff`. Modules produce it; the reporter renders it.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct FileDiff {
    pub before_header: String,
    pub after_header: String,
    pub before: String,
    pub after: String,
}

pub type EventTx = tokio::sync::mpsc::UnboundedSender<Event>;
pub type EventRx = tokio::sync::mpsc::UnboundedReceiver<Event>;
