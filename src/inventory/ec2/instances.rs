//! DescribeInstances XML → the host variables amazon.aws.aws_ec2 gives each instance.
//!
//! aws_ec2 receives boto3's parsed structure (member names such as `PublicIpAddress`, typed
//! integers, booleans and datetimes) and runs `camel_dict_to_snake_dict` over it. The wire
//! format uses different element names (`ipAddress`, `instanceState`, `tagSet`), so the few
//! elements whose boto3 member name differs are renamed here, and the integer, boolean and
//! timestamp fields of the EC2 API model get their types back. Everything else converts
//! generically (camelCase → snake_case), so fields AWS adds later still come through.

use serde_json::{Map, Value};

/// XML element → aws_ec2 variable name, where the EC2 API model renames a member.
const RENAMES: [(&str, &str); 17] = [
    ("blockDeviceMapping", "block_device_mappings"),
    ("dnsName", "public_dns_name"),
    ("elasticGpuAssociationSet", "elastic_gpu_associations"),
    (
        "elasticInferenceAcceleratorAssociationSet",
        "elastic_inference_accelerator_associations",
    ),
    ("groupSet", "security_groups"),
    ("instanceState", "state"),
    ("ipAddress", "public_ip_address"),
    ("ipv4PrefixSet", "ipv4_prefixes"),
    ("ipv6AddressesSet", "ipv6_addresses"),
    ("ipv6PrefixSet", "ipv6_prefixes"),
    ("licenseSet", "licenses"),
    ("networkInterfaceSet", "network_interfaces"),
    ("privateIpAddressesSet", "private_ip_addresses"),
    ("privateIpAddressSet", "private_ip_addresses"),
    ("secondaryInterfaceSet", "secondary_interfaces"),
    ("tagSet", "tags"),
    ("productCodes", "product_codes"),
];

/// Lists in the model whose element name does not end in `Set`.
const LISTS: [&str; 2] = ["blockDeviceMapping", "productCodes"];

const INTS: [&str; 13] = [
    "amiLaunchIndex",
    "code",
    "coreCount",
    "deviceIndex",
    "ebsCardIndex",
    "enaQueueCount",
    "httpPutResponseHopLimit",
    "networkCardIndex",
    "partitionNumber",
    "tcpEstablishedTimeout",
    "threadsPerCore",
    "udpStreamTimeout",
    "udpTimeout",
];

/// Structure-typed members: an empty element is `{}` for these (boto3 builds a dict), `""`
/// for everything else.
const STRUCTS: [&str; 21] = [
    "association",
    "attachment",
    "capacityReservationSpecification",
    "capacityReservationTarget",
    "connectionTrackingConfiguration",
    "cpuOptions",
    "ebs",
    "enaSrdSpecification",
    "enaSrdUdpSpecification",
    "enclaveOptions",
    "hibernationOptions",
    "iamInstanceProfile",
    "instanceState",
    "maintenanceOptions",
    "metadataOptions",
    "monitoring",
    "networkPerformanceOptions",
    "operator",
    "placement",
    "privateDnsNameOptions",
    "stateReason",
];

const TIMESTAMPS: [&str; 4] = [
    "attachTime",
    "elasticInferenceAcceleratorAssociationTime",
    "launchTime",
    "usageOperationUpdateTime",
];

/// One page of DescribeInstances.
#[derive(Debug, Default)]
pub struct Page {
    pub instances: Vec<Map<String, Value>>,
    pub next_token: Option<String>,
}

/// An EC2 error reply (`<Response><Errors><Error><Code>…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

/// camelCase → snake_case as Ansible's `_camel_to_snake` does it (an upper-case run is one word:
/// `instanceId` → `instance_id`, `ebsOptimized` → `ebs_optimized`, `ipv6Address` → `ipv6_address`).
pub fn snake(name: &str) -> String {
    let c: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &ch) in c.iter().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            let prev = c[i - 1];
            let next_lower = c.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            // A word starts at an upper-case letter after a lower-case letter or digit, or at
            // the last capital of a run that is followed by lower case (`HTTPServer`).
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

fn var_name(element: &str, parent: &str) -> String {
    // ProductCode members are renamed only inside `productCodes`; elsewhere `type` is `type`.
    if parent == "productCodes" {
        match element {
            "productCode" => return "product_code_id".into(),
            "type" => return "product_code_type".into(),
            _ => {}
        }
    }
    if element == "reason" && parent == "instancesSet" {
        return "state_transition_reason".into();
    }
    // A network interface's security groups are `Groups`, the instance's `SecurityGroups`.
    if element == "groupSet" && parent == "networkInterfaceSet" {
        return "groups".into();
    }
    RENAMES
        .iter()
        .find(|(x, _)| *x == element)
        .map(|(_, s)| (*s).to_string())
        .unwrap_or_else(|| snake(element))
}

/// `2024-05-01T10:00:00.000Z` → `2024-05-01T10:00:00+00:00`, Python's isoformat of the
/// datetime boto3 builds (what `ansible-inventory --list` prints).
fn timestamp(s: &str) -> String {
    let Some(base) = s.strip_suffix('Z') else {
        return s.to_string();
    };
    let (secs, frac) = base.split_once('.').unwrap_or((base, ""));
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{secs}+00:00")
    } else {
        format!("{secs}.{frac:0<6}+00:00")
    }
}

fn scalar(element: &str, text: &str) -> Value {
    if INTS.contains(&element)
        && let Ok(i) = text.parse::<i64>()
    {
        return Value::from(i);
    }
    if TIMESTAMPS.contains(&element) {
        return Value::from(timestamp(text));
    }
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::from(text),
    }
}

fn is_list(node: roxmltree::Node) -> bool {
    let name = node.tag_name().name();
    name.ends_with("Set") || LISTS.contains(&name)
}

fn elements<'a, 'i>(n: roxmltree::Node<'a, 'i>) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    n.children().filter(|c| c.is_element())
}

fn convert(node: roxmltree::Node, parent: &str) -> Value {
    let name = node.tag_name().name();
    if is_list(node) {
        return Value::Array(elements(node).map(|item| convert(item, name)).collect());
    }
    if elements(node).next().is_none() {
        if STRUCTS.contains(&name) {
            return Value::Object(Map::new());
        }
        return scalar(name, node.text().unwrap_or(""));
    }
    let mut m = Map::new();
    for child in elements(node) {
        let cname = child.tag_name().name();
        m.insert(
            var_name(cname, if parent.is_empty() { name } else { parent }),
            convert(child, name),
        );
    }
    Value::Object(m)
}

fn child_text(n: roxmltree::Node, name: &str) -> Option<String> {
    elements(n)
        .find(|c| c.tag_name().name() == name)
        .map(|c| c.text().unwrap_or("").to_string())
}

/// Turns one `instancesSet/item` into aws_ec2's host variables (plus `ec2_tags`, which strata
/// adds as an alias of `tags` so playbooks need not know which naming they came from).
fn instance(item: roxmltree::Node, reservation: &Map<String, Value>) -> Map<String, Value> {
    let mut vars = Map::new();
    for child in elements(item) {
        let name = child.tag_name().name();
        vars.insert(var_name(name, "instancesSet"), convert(child, ""));
    }
    // Tags become a dict (aws_ec2's boto3_tag_list_to_ansible_dict).
    let tags: Map<String, Value> = match vars.get("tags") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|t| {
                let k = t.get("key")?.as_str()?.to_string();
                let v = t.get("value").and_then(Value::as_str).unwrap_or("");
                Some((k, Value::from(v)))
            })
            .collect(),
        _ => Map::new(),
    };
    vars.insert("tags".into(), Value::Object(tags.clone()));
    vars.insert("ec2_tags".into(), Value::Object(tags));
    if let Some(Value::Object(p)) = vars.get_mut("placement") {
        let az = p
            .get("availability_zone")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut region = az.clone();
        region.pop();
        p.insert("region".into(), Value::from(region));
    }
    for (k, v) in reservation {
        vars.insert(k.clone(), v.clone());
    }
    vars
}

/// Parses one DescribeInstances reply.
pub fn parse_page(xml: &str) -> Result<Page, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("malformed XML reply: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "DescribeInstancesResponse" {
        return Err(format!(
            "unexpected reply `<{}>` to DescribeInstances",
            root.tag_name().name()
        ));
    }
    let mut page = Page {
        next_token: child_text(root, "nextToken").filter(|t| !t.is_empty()),
        ..Page::default()
    };
    let Some(set) = elements(root).find(|c| c.tag_name().name() == "reservationSet") else {
        return Ok(page);
    };
    for r in elements(set) {
        let mut res = Map::new();
        res.insert(
            "owner_id".into(),
            Value::from(child_text(r, "ownerId").unwrap_or_default()),
        );
        res.insert(
            "requester_id".into(),
            Value::from(child_text(r, "requesterId").unwrap_or_default()),
        );
        res.insert(
            "reservation_id".into(),
            Value::from(child_text(r, "reservationId").unwrap_or_default()),
        );
        if let Some(insts) = elements(r).find(|c| c.tag_name().name() == "instancesSet") {
            for item in elements(insts) {
                page.instances.push(instance(item, &res));
            }
        }
    }
    Ok(page)
}

/// Reads the code and message of an error reply (EC2's `<Response><Errors>` shape, or the
/// `<ErrorResponse><Error>` shape some endpoints use).
pub fn parse_error(xml: &str) -> Option<ApiError> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let err = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "Error")?;
    Some(ApiError {
        code: child_text(err, "Code")?,
        message: child_text(err, "Message").unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r-1</requestId>
  <reservationSet>
    <item>
      <reservationId>r-0abc</reservationId>
      <ownerId>123456789012</ownerId>
      <groupSet/>
      <instancesSet>
        <item>
          <instanceId>i-0001</instanceId>
          <imageId>ami-1</imageId>
          <instanceState><code>16</code><name>running</name></instanceState>
          <privateDnsName>ip-10-0-0-5.ec2.internal</privateDnsName>
          <dnsName/>
          <reason/>
          <amiLaunchIndex>0</amiLaunchIndex>
          <productCodes/>
          <instanceType>t3.micro</instanceType>
          <launchTime>2024-05-01T10:00:00.000Z</launchTime>
          <placement><availabilityZone>eu-west-1b</availabilityZone><tenancy>default</tenancy></placement>
          <subnetId>subnet-1</subnetId>
          <vpcId>vpc-1</vpcId>
          <privateIpAddress>10.0.0.5</privateIpAddress>
          <ipAddress>54.0.0.5</ipAddress>
          <sourceDestCheck>true</sourceDestCheck>
          <groupSet><item><groupId>sg-1</groupId><groupName>default</groupName></item></groupSet>
          <blockDeviceMapping><item><deviceName>/dev/sda1</deviceName><ebs><volumeId>vol-1</volumeId><deleteOnTermination>true</deleteOnTermination></ebs></item></blockDeviceMapping>
          <tagSet>
            <item><key>Name</key><value>web-1</value></item>
            <item><key>strata:layer</key><value>web,app</value></item>
          </tagSet>
          <hibernationOptions/>
          <networkInterfaceSet><item><networkInterfaceId>eni-1</networkInterfaceId><groupSet><item><groupId>sg-1</groupId></item></groupSet><attachment><deviceIndex>0</deviceIndex></attachment><privateIpAddressesSet><item><privateIpAddress>10.0.0.5</privateIpAddress><primary>true</primary></item></privateIpAddressesSet></item></networkInterfaceSet>
        </item>
      </instancesSet>
    </item>
  </reservationSet>
  <nextToken>tok-2</nextToken>
</DescribeInstancesResponse>"#;

    #[test]
    fn converts_an_instance_like_aws_ec2() {
        let page = parse_page(PAGE).unwrap();
        assert_eq!(page.next_token.as_deref(), Some("tok-2"));
        let v = Value::Object(page.instances[0].clone());
        assert_eq!(v["instance_id"], json!("i-0001"));
        assert_eq!(v["instance_type"], json!("t3.micro"));
        assert_eq!(v["state"], json!({"code": 16, "name": "running"}));
        assert_eq!(v["public_ip_address"], json!("54.0.0.5"));
        assert_eq!(v["public_dns_name"], json!(""));
        assert_eq!(v["state_transition_reason"], json!(""));
        assert_eq!(v["private_ip_address"], json!("10.0.0.5"));
        assert_eq!(v["placement"]["region"], json!("eu-west-1"));
        assert_eq!(v["placement"]["availability_zone"], json!("eu-west-1b"));
        assert_eq!(v["launch_time"], json!("2024-05-01T10:00:00+00:00"));
        assert_eq!(v["source_dest_check"], json!(true));
        assert_eq!(v["hibernation_options"], json!({}));
        assert_eq!(
            v["network_interfaces"][0]["groups"],
            json!([{"group_id": "sg-1"}])
        );
        assert_eq!(v["product_codes"], json!([]));
        assert_eq!(
            v["security_groups"],
            json!([{"group_id": "sg-1", "group_name": "default"}])
        );
        assert_eq!(
            v["block_device_mappings"][0]["ebs"]["delete_on_termination"],
            json!(true)
        );
        assert_eq!(
            v["network_interfaces"][0]["attachment"]["device_index"],
            json!(0)
        );
        assert_eq!(
            v["network_interfaces"][0]["private_ip_addresses"][0]["primary"],
            json!(true)
        );
        assert_eq!(
            v["tags"],
            json!({"Name": "web-1", "strata:layer": "web,app"})
        );
        assert_eq!(v["ec2_tags"], v["tags"]);
        assert_eq!(v["owner_id"], json!("123456789012"));
        assert_eq!(v["reservation_id"], json!("r-0abc"));
        assert_eq!(v["requester_id"], json!(""));
    }

    #[test]
    fn snake_case_matches_ansible() {
        for (camel, want) in [
            ("instanceId", "instance_id"),
            ("ipv6Address", "ipv6_address"),
            ("ebsOptimized", "ebs_optimized"),
            ("enaSupport", "ena_support"),
            ("HTTPServer", "http_server"),
            ("amiLaunchIndex", "ami_launch_index"),
        ] {
            assert_eq!(snake(camel), want);
        }
    }

    #[test]
    fn reads_error_replies() {
        let e = parse_error("<Response><Errors><Error><Code>AuthFailure</Code><Message>bad key</Message></Error></Errors><RequestID>x</RequestID></Response>").unwrap();
        assert_eq!(
            e,
            ApiError {
                code: "AuthFailure".into(),
                message: "bad key".into()
            }
        );
        assert!(parse_page("<Response/>").is_err());
        assert_eq!(
            timestamp("2024-05-01T10:00:00.123Z"),
            "2024-05-01T10:00:00.123000+00:00"
        );
    }
}
