//! What a caller asks the engine to do, made once from the command line and `ansible.cfg` (or
//! by `lab demo`, `bench`, the stack commands) so that every entry point runs the same
//! pipeline with the same defaults.

use std::path::PathBuf;

use crate::config::{BecomeDefaults, Gathering};
use crate::transport::ConnectOptions;

/// One engine run: these playbooks against this inventory, with these options.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// Inventory sources (`-i`), merged in order.
    pub inventory: Vec<PathBuf>,
    /// Playbook files, run in order.
    pub playbooks: Vec<PathBuf>,
    /// `--limit`: a further host pattern, or `@file`.
    pub limit: Option<String>,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    /// `-e` forms as given (`k=v`, `@file`, JSON); parsed, with located errors, when planning.
    pub extra_vars: Vec<String>,
    pub check: bool,
    pub diff: bool,
    /// Hosts running a task at once.
    pub forks: usize,
    /// `-v` count: the reporter shows more, and `debug` honours its `verbosity`.
    pub verbosity: u8,
    pub connect: ConnectOptions,
    /// Ignore cached inventory results (`cache: true` sources) and refresh them.
    pub flush_cache: bool,
    /// Where roles are looked for after the playbook's `roles/` (`ansible.cfg`'s `roles_path`).
    pub roles_path: Vec<PathBuf>,
    /// `ansible.cfg`'s `[privilege_escalation]`.
    pub become_defaults: BecomeDefaults,
    /// `ansible.cfg`'s `gathering`.
    pub gathering: Gathering,
    /// `--strict`: known Ansible modules strata does not implement are load-time errors.
    pub strict: bool,
    /// `ansible.cfg`'s `show_custom_stats`: `set_stats` results in the recap.
    pub show_custom_stats: bool,
}

impl RunRequest {
    /// `--forks`' default, as in Ansible... but wider: strata holds one cheap task per host.
    pub const DEFAULT_FORKS: usize = 50;

    /// A run of `playbooks` against `inventory` with every other option at its default.
    pub fn new(inventory: Vec<PathBuf>, playbooks: Vec<PathBuf>) -> Self {
        RunRequest {
            inventory,
            playbooks,
            limit: None,
            tags: Vec::new(),
            skip_tags: Vec::new(),
            extra_vars: Vec::new(),
            check: false,
            diff: false,
            forks: Self::DEFAULT_FORKS,
            verbosity: 0,
            connect: ConnectOptions::default(),
            flush_cache: false,
            roles_path: Vec::new(),
            become_defaults: BecomeDefaults::default(),
            gathering: Gathering::Implicit,
            strict: false,
            show_custom_stats: false,
        }
    }
}

/// Where a run's events go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Ansible-style lines on stdout (a progress bar on a terminal), or one JSON object per
    /// event with `json`.
    Stdout { json: bool },
    /// Nowhere: the caller only wants the outcome (`strata bench`).
    Discard,
}
