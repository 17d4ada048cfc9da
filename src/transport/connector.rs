//! Opens each host's connection on first use, from the targets computed before the run: SSH
//! for remote hosts, the controller's own shell for `ansible_connection: local`. A play or
//! task that sets connection variables of its own (`ansible_user`, `ansible_password`...)
//! gets a connection made from them instead, as Ansible connects with the variables in effect.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::target::{ConnectOptions, Target, target};
use super::{Connector, Transport, TransportError, TransportResult};

/// The run's connector: targets are computed up front; connecting happens on first use.
pub struct HostConnector {
    pub targets: HashMap<String, Target>,
    pub local: Arc<dyn Transport>,
    /// The command line's defaults, for targets computed from a play's or task's variables.
    pub opts: ConnectOptions,
}

impl HostConnector {
    /// The host's target: its own, checked before the run, unless `vars` are a play's or
    /// task's own connection variables.
    fn with_target<T>(
        &self,
        host: &str,
        vars: &Map<String, Value>,
        f: impl FnOnce(Option<&Target>) -> TransportResult<T>,
    ) -> TransportResult<T> {
        if vars.is_empty() && self.targets.contains_key(host) {
            return f(self.targets.get(host));
        }
        let own =
            target(host, vars, &self.opts).map_err(|e| TransportError::Failed(e.to_string()))?;
        f(Some(&own))
    }
}

impl Connector for HostConnector {
    fn ssh_params(
        &self,
        host: &str,
        vars: &Map<String, Value>,
    ) -> TransportResult<Option<super::ssh::SshParams>> {
        self.with_target(host, vars, |t| match t {
            Some(Target::Ssh(p)) => Ok(Some((**p).clone())),
            Some(Target::Local) => Ok(None),
            None => Err(TransportError::Unreachable(format!(
                "no connection settings for host {host}"
            ))),
        })
    }

    fn connect<'a>(
        &'a self,
        host: &'a str,
        vars: &'a Map<String, Value>,
    ) -> BoxFuture<'a, TransportResult<Arc<dyn Transport>>> {
        Box::pin(async move {
            // Empty variables mean the host's own, whose target was checked before the run;
            // a host no play targets (a `delegate_to` name the inventory does not know) is
            // dialled by its name with the command line's defaults.
            let own;
            let t = if vars.is_empty() && self.targets.contains_key(host) {
                self.targets.get(host)
            } else {
                own = target(host, vars, &self.opts)
                    .map_err(|e| TransportError::Failed(e.to_string()))?;
                Some(&own)
            };
            match t {
                Some(Target::Local) => Ok(self.local.clone()),
                Some(Target::Ssh(p)) => {
                    Ok(Arc::new(super::ssh::connect(p).await?) as Arc<dyn Transport>)
                }
                None => Err(TransportError::Unreachable(format!(
                    "no connection settings for host {host}"
                ))),
            }
        })
    }
}
