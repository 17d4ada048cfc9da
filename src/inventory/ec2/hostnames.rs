//! Inventory host names from instance data, as aws_ec2's `hostnames` option: an ordered list
//! of preferences, the first that yields a non-empty value wins, and an instance that yields
//! none is left out. A preference is a DescribeInstances filter name (`private-ip-address`,
//! `dns-name`, ...), `tag:Name` (the tag's value), `tag:Name=web` (`Name_web` when the tag has
//! that value; several comma-separated), or anything else taken literally, as aws_ec2 does.
//! The default, as in aws_ec2, is `dns-name` then `private-dns-name`.

use serde_json::{Map, Value};

use super::config::Hostname;
use crate::inventory::constructed::sanitize_group_name;

/// Filter names → the path of the host variable holding that value.
const ATTRS: [(&str, &[&str]); 16] = [
    ("dns-name", &["public_dns_name"]),
    ("ip-address", &["public_ip_address"]),
    ("private-dns-name", &["private_dns_name"]),
    ("private-ip-address", &["private_ip_address"]),
    ("instance-id", &["instance_id"]),
    ("instance-type", &["instance_type"]),
    ("image-id", &["image_id"]),
    ("key-name", &["key_name"]),
    ("vpc-id", &["vpc_id"]),
    ("subnet-id", &["subnet_id"]),
    ("availability-zone", &["placement", "availability_zone"]),
    ("architecture", &["architecture"]),
    ("platform", &["platform"]),
    ("launch-time", &["launch_time"]),
    ("instance-state-name", &["state", "name"]),
    ("owner-id", &["owner_id"]),
];

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn tag_value(pref: &str, vars: &Map<String, Value>) -> Option<String> {
    let spec = pref.strip_prefix("tag:")?;
    let tags = vars.get("tags").and_then(Value::as_object)?;
    let mut found = Vec::new();
    for part in spec.split(',') {
        match part.split_once('=') {
            Some((k, want)) => {
                if tags.get(k).and_then(Value::as_str) == Some(want) {
                    found.push(format!("{k}_{want}"));
                }
            }
            None => {
                if let Some(v) = tags.get(part).and_then(text) {
                    found.push(v);
                }
            }
        }
    }
    found.into_iter().next()
}

fn preference(pref: &str, vars: &Map<String, Value>) -> Option<String> {
    if pref.starts_with("tag:") {
        return tag_value(pref, vars);
    }
    match ATTRS.iter().find(|(f, _)| *f == pref) {
        Some((_, path)) => {
            let mut cur = vars.get(path[0])?;
            for p in &path[1..] {
                cur = cur.get(p)?;
            }
            text(cur)
        }
        None => Some(pref.to_string()),
    }
}

/// The host name for an instance, or `None` to leave it out. A name with `:` (IPv6, tag
/// values) is sanitised like a group name, as aws_ec2 does.
pub fn hostname(prefs: &[Hostname], vars: &Map<String, Value>) -> Option<String> {
    let defaults = [
        Hostname {
            name: "dns-name".into(),
            prefix: None,
            separator: "_".into(),
        },
        Hostname {
            name: "private-dns-name".into(),
            prefix: None,
            separator: "_".into(),
        },
    ];
    let prefs = if prefs.is_empty() {
        &defaults[..]
    } else {
        prefs
    };
    for p in prefs {
        let Some(name) = preference(&p.name, vars) else {
            continue;
        };
        let name = match p.prefix.as_deref().and_then(|pre| preference(pre, vars)) {
            Some(pre) => format!("{pre}{}{name}", p.separator),
            None => name,
        };
        return Some(if name.contains(':') {
            sanitize_group_name(&name)
        } else {
            name
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn h(name: &str) -> Hostname {
        Hostname {
            name: name.into(),
            prefix: None,
            separator: "_".into(),
        }
    }

    #[test]
    fn first_preference_with_a_value_wins() {
        let vars = json!({
            "public_dns_name": "",
            "private_dns_name": "ip-10-0-0-5.ec2.internal",
            "private_ip_address": "10.0.0.5",
            "tags": {"Name": "web-1", "role": "db"},
            "instance_id": "i-1"
        });
        let vars = vars.as_object().unwrap();
        assert_eq!(hostname(&[], vars).unwrap(), "ip-10-0-0-5.ec2.internal");
        assert_eq!(
            hostname(&[h("tag:Missing"), h("tag:Name")], vars).unwrap(),
            "web-1"
        );
        assert_eq!(
            hostname(&[h("ip-address"), h("private-ip-address")], vars).unwrap(),
            "10.0.0.5"
        );
        assert_eq!(
            hostname(&[h("tag:role=web,role=db")], vars).unwrap(),
            "role_db"
        );
        assert_eq!(
            hostname(&[h("literal-name")], vars).unwrap(),
            "literal-name"
        );
        let prefixed = Hostname {
            name: "instance-id".into(),
            prefix: Some("tag:Name".into()),
            separator: "-".into(),
        };
        assert_eq!(hostname(&[prefixed], vars).unwrap(), "web-1-i-1");
        assert!(hostname(&[h("tag:Missing"), h("ip-address")], vars).is_none());
        let v6 = json!({"tags": {"Name": "fe80::1"}});
        assert_eq!(
            hostname(&[h("tag:Name")], v6.as_object().unwrap()).unwrap(),
            "fe80__1"
        );
    }
}
