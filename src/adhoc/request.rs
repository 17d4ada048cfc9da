//! What `strata run` is asked to do, made once by `commands/run.rs` from the command line and
//! `ansible.cfg`: the pattern, the module and its arguments, where the hosts come from, and
//! how results are shown. The engine options are a [`RunRequest`] so that an ad-hoc command
//! runs on the same pipeline, with the same defaults, as a playbook.

use std::path::PathBuf;

use crate::run::RunRequest;

/// Ansible's default ad-hoc module (`DEFAULT_MODULE_NAME`).
pub const DEFAULT_MODULE: &str = "command";

/// One ad-hoc command.
#[derive(Clone, Debug)]
pub struct AdhocRequest {
    /// The host pattern, as `ansible PATTERN`.
    pub pattern: String,
    /// `-m`: a module name, short or fully qualified.
    pub module: String,
    /// `-a`: free form, `k=v` words, or a JSON object.
    pub args: Option<String>,
    pub source: HostSource,
    /// Engine options: `-e`, `-l`, check, diff, forks, verbosity, connection options,
    /// `ansible.cfg`'s become defaults. Its `inventory` is the `-i` sources; `playbooks` is
    /// unused.
    pub run: RunRequest,
    /// `-b`: become on the play.
    pub become_: bool,
    /// `--become-user`.
    pub become_user: Option<String>,
    pub output: AdhocOutput,
    /// `--list-hosts`: print the matched hosts and run nothing.
    pub list_hosts: bool,
}

/// Where the hosts come from.
#[derive(Clone, Debug)]
pub enum HostSource {
    /// `-i`: an inventory, exactly as `strata playbook` reads it (`run.inventory`).
    Inventory,
    /// `-s`: a stack's online instances, with its layers as groups.
    Stack {
        file: PathBuf,
        /// `--attributes`, merged last as for a stack event.
        attributes: Vec<String>,
    },
}

/// How results are shown.
#[derive(Clone, Debug, Default)]
pub struct AdhocOutput {
    /// `-o`: Ansible's `oneline` callback.
    pub one_line: bool,
    /// `--json`: one JSON object per event instead of Ansible's lines.
    pub json: bool,
    /// `-t DIR`: one JSON file per host, as Ansible's `tree` callback.
    pub tree: Option<PathBuf>,
}
