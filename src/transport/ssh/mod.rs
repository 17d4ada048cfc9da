//! The SSH transport: one long-lived russh connection per host, on which every task opens a
//! fresh session channel. Targets need nothing but sshd and a POSIX shell.
//!
//! Security posture: host keys are checked against OpenSSH's `known_hosts` (strict by
//! default), RSA signatures always use SHA-2, and nothing is retried once the server has
//! refused us (a wrong key or a changed host key is never "fixed" by trying again).

mod args;
mod auth;
mod client;
mod jump;
mod known_hosts;
mod sftp;

use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

pub use client::{SshConnection, connect};
pub use jump::JumpHost;

/// What to do with the server's host key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Unknown or changed keys are errors: OpenSSH's `StrictHostKeyChecking=yes`.
    #[default]
    Strict,
    /// Unknown keys are trusted and recorded; a changed key is still an error
    /// (`StrictHostKeyChecking=accept-new`).
    AcceptNew,
    /// Any key is accepted and nothing is recorded. An explicit switch for throwaway labs
    /// (`StrictHostKeyChecking=no`, Ansible's `host_key_checking = False`).
    Insecure,
}

/// Everything needed to open a connection to one host.
#[derive(Clone, Debug)]
pub struct SshParams {
    /// Address or DNS name to connect to (Ansible's `ansible_host`); also the name looked up
    /// in `known_hosts`.
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Private key file. When `None` (or when it cannot be used) ssh-agent and the default
    /// `~/.ssh/id_*` files are tried, as OpenSSH does.
    pub key_file: Option<PathBuf>,
    /// Budget for reaching the host: TCP connect, handshake and the retries of both.
    pub connect_timeout: Duration,
    pub host_key_policy: HostKeyPolicy,
    /// `known_hosts` file; `None` means `~/.ssh/known_hosts`.
    pub known_hosts: Option<PathBuf>,
    /// ssh-agent socket (OpenSSH's `IdentityAgent`); `None` means `$SSH_AUTH_SOCK`, and
    /// `/dev/null` (`IdentityAgent=none`) disables the agent.
    pub identity_agent: Option<PathBuf>,
    /// Send a keepalive after this much silence from the server (OpenSSH's
    /// `ServerAliveInterval`): idle connections survive NAT and firewalls during long runs, and
    /// a host that died, froze or lost its link is noticed even while a task waits on it.
    pub keepalive_interval: Duration,
    /// Unanswered keepalives before the connection is declared dead (`ServerAliveCountMax`).
    /// With the defaults a dead host is reported after about 5 s × (3 + 1) = 20 s, so the other
    /// hosts never wait more than that at the next task (the operator's budget is 30 s).
    pub keepalive_max: usize,
    /// Hosts to tunnel through, first to last (`ProxyJump` / `-J`).
    pub jump: Vec<JumpHost>,
    /// `ansible_password` / `--ask-pass`: tried after the keys, as OpenSSH orders methods.
    pub password: Option<Secret>,
    /// `PasswordAuthentication=no` in the ssh args turns the password off even when set.
    pub password_auth: bool,
}

impl SshParams {
    /// `ServerAliveInterval` unless `ssh_args` say otherwise.
    pub const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
    /// `ServerAliveCountMax` unless `ssh_args` say otherwise.
    pub const DEFAULT_KEEPALIVE_MAX: usize = 3;

    /// Parameters with Ansible's defaults: port 22, a 10 s timeout, strict host key checking.
    pub fn new(host: impl Into<String>, user: impl Into<String>) -> Self {
        SshParams {
            host: host.into(),
            port: 22,
            user: user.into(),
            key_file: None,
            connect_timeout: Duration::from_secs(10),
            host_key_policy: HostKeyPolicy::Strict,
            known_hosts: None,
            identity_agent: None,
            keepalive_interval: Self::DEFAULT_KEEPALIVE_INTERVAL,
            keepalive_max: Self::DEFAULT_KEEPALIVE_MAX,
            jump: Vec::new(),
            password: None,
            password_auth: true,
        }
    }

    /// Applies the OpenSSH options we understand from Ansible's `ansible_ssh_common_args` /
    /// `ansible_ssh_extra_args`. Options that would change behaviour but are not implemented
    /// are errors rather than silently ignored, so a playbook never runs with weaker settings
    /// than its author asked for.
    pub fn apply_ssh_args(&mut self, args: &str) -> Result<(), String> {
        args::apply(self, args)
    }

    /// `user@host:port`, for messages.
    pub fn describe(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }
}

/// `~` of the user running strata: `$HOME`, else the password database.
pub(crate) fn home_dir() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(h));
    }
    // SAFETY: getpwuid returns a pointer into static storage or null; we copy the string out
    // immediately and strata does not call getpw* concurrently from other threads.
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if pw.is_null() || (*pw).pw_dir.is_null() {
            return None;
        }
        let dir = std::ffi::CStr::from_ptr((*pw).pw_dir);
        Some(PathBuf::from(
            <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(dir.to_bytes()),
        ))
    }
}

/// Expands a leading `~/` the way ssh does for paths in its options.
pub(crate) fn expand_tilde(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home_dir()
            .map(|h| h.join(rest))
            .unwrap_or_else(|| PathBuf::from(path)),
        None if path == "~" => home_dir().unwrap_or_else(|| PathBuf::from(path)),
        None => PathBuf::from(path),
    }
}
