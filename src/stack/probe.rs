//! The reachability check of `sync`: one SSH handshake per instance, all at once, and no
//! command run, so a sync with no membership change costs the fleet almost nothing.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::join_all;
use serde_json::Map;

use crate::inventory::Inventory;
use crate::transport::{ConnectOptions, Connector, HostConnector, LocalTransport, target};

/// Which of `hosts` answer an SSH handshake (with authentication). A host whose connection
/// settings are wrong counts as unreachable, with the reason.
pub async fn reachable(
    inventory: &Inventory,
    hosts: &[String],
    opts: &ConnectOptions,
) -> HashMap<String, Result<(), String>> {
    let mut targets = HashMap::new();
    let mut out = HashMap::new();
    for h in hosts {
        match target(h, &inventory.host_vars(h), opts) {
            Ok(t) => {
                targets.insert(h.clone(), t);
            }
            Err(e) => {
                out.insert(h.clone(), Err(e.to_string()));
            }
        }
    }
    let connector = Arc::new(HostConnector {
        targets,
        local: Arc::new(LocalTransport::new()),
        opts: opts.clone(),
    });
    let empty = Map::new();
    let probes = hosts.iter().filter(|h| !out.contains_key(*h)).map(|h| {
        let c = connector.clone();
        let empty = &empty;
        async move {
            let r = c
                .connect(h, empty)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
            (h.clone(), r)
        }
    });
    out.extend(join_all(probes).await);
    out
}
