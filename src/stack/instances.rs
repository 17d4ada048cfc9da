//! Reading the stack's instance source: the inventory's hosts in each layer's group, with the
//! identity and addresses OpsWorks gives an instance. Host variables from an `aws_ec2`
//! source fill the EC2 fields; a static inventory leaves them null.

use serde_json::{Map, Value, json};

use super::file::StackFile;
use super::state::{InstanceRecord, Status};
use crate::diagnostic::InputErrors;
use crate::inventory::{Inventory, LoadOptions};
use crate::values::to_str;

/// One instance as the source describes it now.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// `instance_id` (EC2), else the inventory hostname: a replaced EC2 instance under the
    /// same name is a new instance.
    pub id: String,
    pub name: String,
    /// Layer shortnames in the stack file's order.
    pub layers: Vec<String>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    /// The instance's entry in `stack.layers.*.instances` (status added at use).
    pub details: Value,
}

impl Instance {
    /// This instance's state record, as of `now`: fresh name, layers and addresses from the
    /// source, with the status, its time and the last event kept from `old`. An instance new
    /// to the state, or a terminated one back under the same identity, is `pending` again.
    pub fn record(&self, old: Option<&InstanceRecord>, now: &str) -> InstanceRecord {
        let status = match old {
            Some(r) if r.status != Status::Terminated => r.status,
            _ => Status::Pending,
        };
        InstanceRecord {
            id: self.id.clone(),
            name: self.name.clone(),
            layers: self.layers.clone(),
            private_ip: self.private_ip.clone(),
            public_ip: self.public_ip.clone(),
            details: self.details.clone(),
            status,
            status_since: match old {
                Some(r) if r.status == status => r.status_since.clone(),
                _ => now.to_string(),
            },
            last_event: old.and_then(|r| r.last_event),
        }
    }
}

/// The inventory and the instances in it, in inventory order, plus warnings (a layer whose
/// group is absent, which is normal for an EC2 layer with no instance yet).
pub struct Discovery {
    pub inventory: Inventory,
    pub instances: Vec<Instance>,
    pub warnings: Vec<String>,
}

/// Reads the instance source. `flush_cache` bypasses dynamic sources' caches, as `sync` must
/// see the fleet as it is now.
pub fn discover(stack: &StackFile, flush_cache: bool) -> Result<Discovery, InputErrors> {
    let inventory = crate::inventory::load(&stack.inventory, &LoadOptions { flush_cache })
        .map_err(|d| InputErrors(vec![d]))?;
    let mut warnings: Vec<String> = inventory.warnings().to_vec();
    for l in &stack.layers {
        if inventory.group(&l.group).is_none() {
            warnings.push(format!(
                "layer `{}`: the instance source has no group `{}`; the layer has no instances",
                l.shortname, l.group
            ));
        }
    }
    let mut instances = Vec::new();
    for h in inventory.hosts() {
        let layers: Vec<String> = stack
            .layers
            .iter()
            .filter(|l| inventory.group_hosts(&l.group).contains(&h.name.as_str()))
            .map(|l| l.shortname.clone())
            .collect();
        if layers.is_empty() {
            continue;
        }
        let vars = inventory.host_vars(&h.name);
        instances.push(instance(&h.name, layers, &vars));
    }
    Ok(Discovery {
        inventory,
        instances,
        warnings,
    })
}

fn instance(name: &str, layers: Vec<String>, vars: &Map<String, Value>) -> Instance {
    let s = |k: &str| vars.get(k).and_then(to_str).filter(|s| !s.is_empty());
    let id = s("instance_id").unwrap_or_else(|| name.to_string());
    let private_ip = s("ansible_host").or_else(|| s("private_ip_address"));
    let public_ip = s("public_ip_address");
    let az = vars
        .get("placement")
        .and_then(|p| p.get("availability_zone"))
        .and_then(to_str);
    let details = json!({
        "hostname": name,
        "instance_id": s("instance_id"),
        "private_ip": private_ip,
        "public_ip": public_ip,
        "private_dns_name": s("private_dns_name"),
        "public_dns_name": s("public_dns_name"),
        "availability_zone": az,
        "instance_type": s("instance_type"),
        "layers": layers,
    });
    Instance {
        id,
        name: name.to_string(),
        layers,
        private_ip,
        public_ip,
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_addresses_follow_opsworks() {
        let vars = json!({"instance_id": "i-0abc", "private_ip_address": "10.0.0.5",
            "public_ip_address": "3.3.3.3", "placement": {"availability_zone": "eu-west-1b"},
            "instance_type": "t3.small"});
        let i = instance("app1", vec!["app".into()], vars.as_object().unwrap());
        assert_eq!(i.id, "i-0abc");
        assert_eq!(i.private_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(i.details["availability_zone"], "eu-west-1b");
        assert_eq!(i.details["public_dns_name"], Value::Null);

        let vars = json!({"ansible_host": "10.1.1.1", "private_ip_address": "10.0.0.9"});
        let i = instance("lb1", vec!["lb".into()], vars.as_object().unwrap());
        assert_eq!(i.id, "lb1");
        assert_eq!(i.private_ip.as_deref(), Some("10.1.1.1"));
        assert_eq!(i.public_ip, None);
    }
}
