//! Process exit codes, following ansible-playbook's where one exists (documented in README).

use crate::events::HostStats;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    Ok = 0,
    /// An internal or environment error (cannot read a file, lab failure).
    Error = 1,
    /// At least one host failed a task.
    HostFailed = 2,
    /// At least one host was unreachable (and none failed).
    Unreachable = 4,
    /// Bad command-line options or bad input (YAML, templates, inventory).
    BadInput = 5,
    /// `strata stack`: another process holds the stack's lock (strata's own code).
    Busy = 6,
    /// Interrupted with Ctrl-C.
    Interrupted = 99,
}

impl ExitCode {
    /// Failures take precedence over unreachable hosts, as in ansible-playbook.
    pub fn from_stats(stats: &[HostStats]) -> ExitCode {
        if stats.iter().any(|s| s.failed > 0) {
            ExitCode::HostFailed
        } else if stats.iter().any(|s| s.unreachable > 0) {
            ExitCode::Unreachable
        } else {
            ExitCode::Ok
        }
    }
}
