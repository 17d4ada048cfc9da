//! How strata reaches a host. Modules only ever talk to a [`Transport`], so the same module
//! code runs over SSH to a remote host and locally for `delegate_to: localhost`. The rest of
//! this folder turns a host's variables into a [`Target`] before any host is touched
//! (`connection_vars`, `target`), and opens connections on first use (`connector`, `ssh`,
//! `local`).

mod connection_vars;
mod connector;
pub mod local;
pub mod ssh;
mod target;

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

pub use connection_vars::{ConnectionKind, ConnectionVars, connection_vars};
pub use connector::HostConnector;
pub use local::LocalTransport;
pub use target::{ConnectOptions, Target, TargetError, target};

/// What a remote command produced. Output stays bytes: files and command output need not be
/// UTF-8, and modules decide how to decode.
#[derive(Clone, Debug, Default)]
pub struct ExecOutput {
    /// Exit status; a command killed by a signal reports 128 + signal, as a POSIX shell does.
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

#[derive(Debug, thiserror::Error, Clone)]
pub enum TransportError {
    /// The host cannot be reached or the connection died: Ansible's "UNREACHABLE".
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The host answered but refused us (authentication, host key mismatch).
    #[error("{0}")]
    Refused(String),
    /// A transfer or protocol operation failed on a live connection.
    #[error("{0}")]
    Failed(String),
}

impl TransportError {
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            TransportError::Unreachable(_) | TransportError::Refused(_)
        )
    }
}

pub type TransportResult<T> = Result<T, TransportError>;

/// One live connection to one host, shared by every task on that host for the whole run.
pub trait Transport: Send + Sync {
    /// Runs `cmd` with the login shell's `-c` (as sshd does) and feeds `stdin`, then closes stdin.
    fn exec<'a>(
        &'a self,
        cmd: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> BoxFuture<'a, TransportResult<ExecOutput>>;

    /// Writes `data` to the remote file `path`, creating or truncating it, with permission bits
    /// `mode`. Callers write to a temporary name and rename; this call does not rename.
    fn put_file<'a>(
        &'a self,
        path: &'a str,
        data: &'a [u8],
        mode: u32,
    ) -> BoxFuture<'a, TransportResult<()>>;

    /// A short description for messages ("root@10.77.0.2:22", "localhost").
    fn describe(&self) -> String;

    /// Drops the session so the next use connects again (`wait_for_connection`, a host
    /// back from a restart). Transports without a session of their own ignore it.
    fn reconnect(&self) {}

    /// How the controller reaches this host over SSH, for a program the controller runs
    /// against it itself (`synchronize`'s rsync); `None` for the controller's own shell.
    /// Computed from the host's target without connecting.
    fn ssh_params(&self) -> TransportResult<Option<ssh::SshParams>> {
        Ok(None)
    }
}

/// Opens a connection to a host from its variables. The executor holds one per run; tests
/// can hand it their own.
pub trait Connector: Send + Sync {
    fn connect<'a>(
        &'a self,
        host: &'a str,
        vars: &'a Map<String, Value>,
    ) -> BoxFuture<'a, TransportResult<Arc<dyn Transport>>>;

    /// The SSH settings [`Connector::connect`] would dial `host` with (`None` for a local
    /// host), for [`Transport::ssh_params`].
    fn ssh_params(
        &self,
        _host: &str,
        _vars: &Map<String, Value>,
    ) -> TransportResult<Option<ssh::SshParams>> {
        Ok(None)
    }
}
