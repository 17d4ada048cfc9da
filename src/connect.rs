//! Turns inventory connection variables into SSH parameters, once per host and before any host
//! is contacted, so a bad `ansible_port` or unsupported `ansible_ssh_common_args` option is an
//! input error rather than a half-run playbook.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::executor::Connector;
use crate::inventory::{ConnectionKind, connection_vars};
use crate::ssh::{HostKeyPolicy, SshParams};
use crate::transport::{Transport, TransportError, TransportResult};

/// Command-line connection defaults. Inventory variables win over these, as in Ansible
/// (`-u` is `remote_user`, which `ansible_user` overrides).
#[derive(Clone, Debug, Default)]
pub struct ConnectDefaults {
    pub user: Option<String>,
    pub private_key: Option<PathBuf>,
    pub accept_new: bool,
    pub insecure: bool,
    pub timeout: Duration,
}

pub enum Target {
    Ssh(SshParams),
    Local,
}

/// Computes how to reach `host`; errors name the host and the offending variable.
pub fn target(
    host: &str,
    vars: &Map<String, Value>,
    d: &ConnectDefaults,
) -> Result<Target, String> {
    let cv = connection_vars(host, vars).map_err(|e| format!("host {host}: {e}"))?;
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
            .map_err(|e| format!("host {host}: {e}"))?;
    }
    if d.insecure {
        p.host_key_policy = HostKeyPolicy::Insecure;
    } else if d.accept_new && p.host_key_policy == HostKeyPolicy::Strict {
        p.host_key_policy = HostKeyPolicy::AcceptNew;
    }
    Ok(Target::Ssh(p))
}

/// The run's connector: targets are computed up front; connecting happens on first use.
pub struct SshConnector {
    pub targets: HashMap<String, Target>,
    pub local: Arc<dyn Transport>,
}

impl Connector for SshConnector {
    fn connect<'a>(
        &'a self,
        host: &'a str,
        _vars: &'a Map<String, Value>,
    ) -> BoxFuture<'a, TransportResult<Arc<dyn Transport>>> {
        Box::pin(async move {
            match self.targets.get(host) {
                Some(Target::Local) => Ok(self.local.clone()),
                Some(Target::Ssh(p)) => {
                    Ok(Arc::new(crate::ssh::connect(p).await?) as Arc<dyn Transport>)
                }
                None => Err(TransportError::Unreachable(format!(
                    "no connection settings for host {host}"
                ))),
            }
        })
    }
}
