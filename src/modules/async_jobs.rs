//! Which modules run under `async:`, and how. Ansible refuses `async` at run time in the
//! action plugins that do not support it (`copy`, `template`, `raw`, `script`, `debug`...):
//! strata fails those tasks with Ansible's message. Of the modules Ansible can run async,
//! strata starts detached jobs for those whose work is one shell script on the host
//! (`command`, `shell`); the others drive several round trips from the controller, which a
//! job that must outlive strata cannot do, so the loader refuses `async` on them.

use futures::future::BoxFuture;

use super::toolkit::async_job::AsyncJob;
use super::{Args, ModuleCtx, ModuleError, ModuleResult, commands};

/// Modules whose work strata starts as a detached job on the host.
pub const DETACHED: &[&str] = &["command", "shell"];

/// Modules whose Ansible action plugin refuses `async` ("This action (copy) does not support
/// async."), by their short names.
const ANSIBLE_REFUSES: &[&str] = &[
    "add_host",
    "assemble",
    "assert",
    "async_status",
    "copy",
    "debug",
    "fail",
    "fetch",
    "gather_facts",
    "group_by",
    "include_vars",
    "pause",
    "raw",
    "reboot",
    "script",
    "set_fact",
    "set_stats",
    "template",
    "unarchive",
    "validate_argument_spec",
    "wait_for_connection",
];

/// How a module takes `async:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsyncSupport {
    /// Started as a detached job on the host.
    Detached,
    /// Ansible fails the task at run time, and so does strata.
    AnsibleRefuses,
    /// Ansible runs it async; strata does not (the task fails where it runs; `--strict` refuses
    /// it when the playbook loads).
    NotInStrata,
}

/// How the module `name` (its short, canonical name) takes `async:`.
pub fn async_support(name: &str) -> AsyncSupport {
    if DETACHED.contains(&name) {
        AsyncSupport::Detached
    } else if ANSIBLE_REFUSES.contains(&name) {
        AsyncSupport::AnsibleRefuses
    } else {
        AsyncSupport::NotInStrata
    }
}

/// Why `async` is refused on module `name` (`written` as the task names it).
pub fn refusal(name: &str, written: &str) -> String {
    match async_support(name) {
        AsyncSupport::AnsibleRefuses | AsyncSupport::Detached => {
            format!("This action ({written}) does not support async.")
        }
        AsyncSupport::NotInStrata => format!(
            "strata does not run `{written}` as an async job: only {} do, whose work is one \
             script that can run detached on the host",
            DETACHED
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    }
}

/// Starts module `name`'s work as a detached job; `None` when it cannot run so.
pub fn launch<'a>(
    name: &str,
    ctx: &'a ModuleCtx<'a>,
    args: &'a Args,
    job: &'a AsyncJob,
) -> Option<BoxFuture<'a, Result<ModuleResult, ModuleError>>> {
    match name {
        "command" => Some(Box::pin(commands::command::launch(ctx, args, job))),
        "shell" => Some(Box::pin(commands::shell::launch(ctx, args, job))),
        _ => None,
    }
}
