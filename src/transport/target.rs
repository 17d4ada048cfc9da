//! Turns inventory connection variables into SSH parameters, once per host and before any host
//! is contacted, so a bad `ansible_port` or unsupported `ansible_ssh_common_args` option is an
//! input error rather than a half-run playbook.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::connection_vars::{ConnectionKind, connection_vars};
use super::ssh::{HostKeyPolicy, SshParams};

/// Command-line connection defaults. Inventory variables win over these, as in Ansible
/// (`-u` is `remote_user`, which `ansible_user` overrides).
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub user: Option<String>,
    pub private_key: Option<PathBuf>,
    pub accept_new: bool,
    pub insecure: bool,
    pub timeout: Duration,
}

impl ConnectOptions {
    /// `--timeout`'s default, in seconds (OpenSSH's and Ansible's is 10).
    pub const DEFAULT_TIMEOUT_SECS: u64 = 10;
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            user: None,
            private_key: None,
            accept_new: false,
            insecure: false,
            timeout: Duration::from_secs(Self::DEFAULT_TIMEOUT_SECS),
        }
    }
}

pub enum Target {
    Ssh(SshParams),
    Local,
}

/// Why a host's variables do not say how to reach it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// A connection variable (`ansible_port`, `ansible_connection`, ...) has a bad value.
    #[error("host {host}: {reason}")]
    Variable { host: String, reason: String },
    /// `ansible_ssh_common_args` / `ansible_ssh_extra_args` hold an option strata refuses.
    #[error("host {host}: {reason}")]
    SshArgs { host: String, reason: String },
}

/// Computes how to reach `host`; errors name the host and the offending variable.
pub fn target(
    host: &str,
    vars: &Map<String, Value>,
    d: &ConnectOptions,
) -> Result<Target, TargetError> {
    let cv = connection_vars(host, vars).map_err(|reason| TargetError::Variable {
        host: host.to_string(),
        reason,
    })?;
    if cv.connection == ConnectionKind::Local {
        return Ok(Target::Local);
    }
    let user = cv
        .user
        .clone()
        .or_else(|| d.user.clone())
        .unwrap_or_else(|| std::env::var("USER").unwrap_or_else(|_| "root".into()));
    let mut p = SshParams::new(cv.host.clone(), user);
    p.port = cv.port;
    p.key_file = cv
        .private_key_file
        .clone()
        .or_else(|| d.private_key.clone());
    p.connect_timeout = cv.timeout.map(Duration::from_secs).unwrap_or(d.timeout);
    for args in [&cv.ssh_common_args, &cv.ssh_extra_args]
        .into_iter()
        .flatten()
    {
        p.apply_ssh_args(args)
            .map_err(|reason| TargetError::SshArgs {
                host: host.to_string(),
                reason,
            })?;
    }
    if d.insecure {
        p.host_key_policy = HostKeyPolicy::Insecure;
    } else if d.accept_new && p.host_key_policy == HostKeyPolicy::Strict {
        p.host_key_policy = HostKeyPolicy::AcceptNew;
    }
    Ok(Target::Ssh(p))
}
