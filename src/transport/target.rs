//! Turns inventory connection variables into SSH parameters, once per host and before any host
//! is contacted, so a bad `ansible_port` or unsupported `ansible_ssh_common_args` option is an
//! input error rather than a half-run playbook.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::connection_vars::{ConnectionKind, connection_vars};
use super::ssh::{HostKeyPolicy, SshParams};
use crate::secret::Secret;
use crate::shell::BecomeMethod;

/// Connection defaults from the command line and `ansible.cfg`. Inventory variables win over
/// these, as in Ansible (`-u` is `remote_user`, which `ansible_user` overrides).
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub user: Option<String>,
    pub private_key: Option<PathBuf>,
    pub accept_new: bool,
    pub insecure: bool,
    pub timeout: Duration,
    /// `--ask-pass`: the SSH password for hosts without `ansible_password`.
    pub password: Option<Secret>,
    /// `--ask-become-pass`: the become password for hosts without `ansible_become_password`.
    pub become_password: Option<Secret>,
    /// `ssh_args` of `[ssh_connection]`: applied before a host's own arguments.
    pub ssh_args: Option<String>,
    /// `ssh_common_args` and `ssh_extra_args` of `[ssh_connection]`: used for hosts whose
    /// variables set no `ansible_ssh_common_args` (`ansible_ssh_extra_args`).
    pub ssh_common_args: Option<String>,
    pub ssh_extra_args: Option<String>,
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
            password: None,
            become_password: None,
            ssh_args: None,
            ssh_common_args: None,
            ssh_extra_args: None,
        }
    }
}

pub enum Target {
    /// Boxed: SSH parameters are large, and a run holds one target per host.
    Ssh(Box<SshParams>),
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
    /// A connection variable strata reads but does not implement: refused rather than
    /// ignored, since ignoring `ansible_become_method: doas` would run sudo instead.
    #[error("host {host}: {reason}")]
    Unsupported { host: String, reason: String },
}

/// The connection variables strata does not implement, each with what to do instead.
fn unsupported(cv: &super::ConnectionVars) -> Option<String> {
    if let Some(m) = cv
        .become_method
        .as_deref()
        .filter(|m| BecomeMethod::parse(m).is_none())
    {
        return Some(format!(
            "`ansible_become_method: {m}` is not supported; strata becomes another user with \
             sudo or su"
        ));
    }
    if cv
        .become_password
        .as_deref()
        .is_some_and(|p| p.contains('\n'))
    {
        return Some("`ansible_become_password` must be one line".into());
    }
    None
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
    if let Some(reason) = unsupported(&cv) {
        return Err(TargetError::Unsupported {
            host: host.to_string(),
            reason,
        });
    }
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
    p.password = cv.password.clone().map(Secret::new).or(d.password.clone());
    let common = cv.ssh_common_args.as_ref().or(d.ssh_common_args.as_ref());
    let extra = cv.ssh_extra_args.as_ref().or(d.ssh_extra_args.as_ref());
    for args in [d.ssh_args.as_ref(), common, extra].into_iter().flatten() {
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
    Ok(Target::Ssh(Box::new(p)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reason(vars: serde_json::Value) -> String {
        match target(
            "web1",
            vars.as_object().unwrap(),
            &ConnectOptions::default(),
        ) {
            Err(TargetError::Unsupported { reason, .. }) => reason,
            Err(e) => panic!("expected a refusal, got {e}"),
            Ok(_) => panic!("expected a refusal, got a target"),
        }
    }

    #[test]
    fn connection_variables_strata_does_not_implement_are_refused() {
        assert!(reason(json!({"ansible_become_method": "doas"})).contains("become_method: doas"));
        assert!(reason(json!({"ansible_become_password": "a\nb"})).contains("one line"));
        for ok in [
            json!({"ansible_become_method": "sudo", "ansible_become_flags": "-H -S"}),
            json!({"ansible_become_method": "su", "ansible_become_password": "pw"}),
        ] {
            assert!(target("web1", ok.as_object().unwrap(), &ConnectOptions::default()).is_ok());
        }
    }

    #[test]
    fn the_inventory_password_wins_over_ask_pass() {
        let d = ConnectOptions {
            password: Some(Secret::new("typed")),
            ..ConnectOptions::default()
        };
        let pw = |vars: Value| match target("web1", vars.as_object().unwrap(), &d) {
            Ok(Target::Ssh(p)) => p.password.map(|s| s.expose().to_string()),
            _ => panic!("expected an ssh target"),
        };
        assert_eq!(
            pw(json!({"ansible_ssh_pass": "inv"})).as_deref(),
            Some("inv")
        );
        assert_eq!(pw(json!({})).as_deref(), Some("typed"));
    }

    #[test]
    fn configured_ssh_arguments_apply_unless_the_host_sets_its_own() {
        let d = ConnectOptions {
            ssh_args: Some("-o ServerAliveInterval=7".into()),
            ssh_common_args: Some("-o Port=2200".into()),
            ..ConnectOptions::default()
        };
        let ssh = |vars: Value| match target("web1", vars.as_object().unwrap(), &d) {
            Ok(Target::Ssh(p)) => p,
            _ => panic!("expected an ssh target"),
        };
        let p = ssh(json!({}));
        assert_eq!(p.port, 2200);
        assert_eq!(p.keepalive_interval, Duration::from_secs(7));
        let p = ssh(json!({"ansible_ssh_common_args": "-o ConnectTimeout=4"}));
        assert_eq!(p.port, 22);
        assert_eq!(p.connect_timeout, Duration::from_secs(4));
    }
}
