//! Opens each host's connection on first use, from the targets computed before the run: SSH
//! for remote hosts, the controller's own shell for `ansible_connection: local`.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::target::Target;
use super::{Connector, Transport, TransportError, TransportResult};

/// The run's connector: targets are computed up front; connecting happens on first use.
pub struct HostConnector {
    pub targets: HashMap<String, Target>,
    pub local: Arc<dyn Transport>,
}

impl Connector for HostConnector {
    fn connect<'a>(
        &'a self,
        host: &'a str,
        _vars: &'a Map<String, Value>,
    ) -> BoxFuture<'a, TransportResult<Arc<dyn Transport>>> {
        Box::pin(async move {
            match self.targets.get(host) {
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
