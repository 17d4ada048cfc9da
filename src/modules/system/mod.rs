//! System configuration from community.general that Debian playbooks use every day:
//! `timezone`, `locale_gen`, `modprobe`, `pam_limits` and `alternatives`. Each one is a port
//! of the collection module's decisions (what counts as a change, which command runs, which
//! message comes back), done with POSIX `sh` on the host and the text logic in Rust.

pub mod alternatives;
pub mod locale_gen;
pub mod modprobe;
pub mod pam_limits;
pub mod timezone;

use crate::modules::ModuleResult;
use crate::modules::toolkit::sections::Section;

/// A command's failure as `run_command(check_rc=True)` reports it: `msg` is its stderr,
/// right-stripped, with `rc`, `stdout`, `stderr`, their `_lines` and, when given, `cmd`.
pub(crate) fn command_failure(x: &Section, cmd: Option<String>) -> ModuleResult {
    let lines = |s: &str| serde_json::Value::from(s.lines().collect::<Vec<_>>());
    let mut r = ModuleResult::failed(x.stderr.trim_end())
        .with("rc", x.rc)
        .with("stdout", x.stdout.clone())
        .with("stderr", x.stderr.clone())
        .with("stdout_lines", lines(&x.stdout))
        .with("stderr_lines", lines(&x.stderr));
    if let Some(c) = cmd {
        r = r.with("cmd", c);
    }
    r
}
