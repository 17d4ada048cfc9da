//! The stack's instances from EC2 (issue 12, test 10): a `*.aws_ec2.yml` source against a real
//! moto_server, instances tagged `strata:stack` and `strata:layer` whose private addresses
//! are lab hosts. `sync` brings them online; a terminated instance leaves the lb file at the
//! next `sync` (though the source's cache is on: sync bypasses it); an instance replaced
//! under the same name is a new instance and is set up.

mod common;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use common::Lab;
use common::ec2::{KEYS, aws_env};
use common::moto::Moto;
use common::stack::{Stack, backends, layer_online, marks, want_backends, want_marks};

/// Launches one instance per `(lab host, Name, layer)` at the lab host's address, in the
/// lab's subnet; returns Name -> instance id.
fn launch(moto: &Moto, lab: &Lab, hosts: &[(&str, &str, &str)]) -> BTreeMap<String, String> {
    let o = lab.state.gateway.octets();
    let batches: Vec<Value> = hosts
        .iter()
        .map(|(h, name, layer)| {
            json!({"count": 1, "private_ip": lab.host(h).addr,
                   "tags": {"Name": name, "strata:stack": "fixture-ec2", "strata:layer": layer}})
        })
        .collect();
    let out = moto.helper(
        "launch",
        &json!({"region": "us-east-1", "cidr": format!("{}.{}.0.0/16", o[0], o[1]),
                "subnet": format!("{}.{}.{}.0/24", o[0], o[1], o[2]), "batches": batches}),
    );
    out.as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["tags"]["Name"].as_str().unwrap().to_string(),
                i["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The instance with id `id` in a `status --json` object.
fn by_id<'a>(status: &'a Value, id: &str) -> &'a Value {
    status["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("status has no instance {id}: {status:#}"))
}

#[test]
fn ec2_instances_join_and_leave_the_stack() {
    let lab = Lab::up("stack-ec2", 4, false);
    let moto = Moto::start();
    let ids = launch(
        &moto,
        &lab,
        &[
            ("lab01", "lab01", "lb"),
            ("lab02", "lab02", "app"),
            ("lab03", "lab03", "app"),
        ],
    );
    let dir = lab.state.dir.join("stack");
    let st = Stack::at(&dir).with_command({
        let dir = dir.clone();
        move |cmd| aws_env(cmd, &dir, &KEYS)
    });
    // Cached for an hour: only a sync that bypasses the cache sees a termination.
    st.write(
        "ec2.aws_ec2.yml",
        &format!(
            "plugin: aws_ec2\nregions: [us-east-1]\nendpoint_url: {}\ncache: true\ncache_timeout: 3600\n\
             filters:\n  tag:strata:stack: fixture-ec2\nhostnames: [tag:Name]\n\
             keyed_groups:\n  - key: tags['strata:layer'].split(',')\n    prefix: layer\n\
             compose:\n  ansible_host: private_ip_address\n",
            moto.endpoint
        ),
    );
    // Connection settings from group_vars beside the source, as for any inventory.
    st.write(
        "group_vars/all.yml",
        &format!(
            "ansible_user: root\nansible_ssh_private_key_file: {}\nansible_ssh_common_args: {}\n",
            json!(lab.key.display().to_string()),
            json!(format!(
                "-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes",
                lab.known_hosts.display()
            )),
        ),
    );
    st.edit(|t| {
        t.replace(
            "inventory: [lab.yml, groups.yml]",
            "inventory: [ec2.aws_ec2.yml]",
        )
        .replace(
            "    name: Load balancer\n",
            "    name: Load balancer\n    group: layer_lb\n",
        )
        .replace("    group: app\n", "    group: layer_app\n")
    });

    // sync brings them online, identified by instance id.
    st.expect(&["sync"], 0);
    let s = st.status();
    for (name, layer) in [("lab01", "lb"), ("lab02", "app"), ("lab03", "app")] {
        let i = by_id(&s, &ids[name]);
        assert_eq!(i["name"], name, "{i:#}");
        assert_eq!(i["status"], "online", "{i:#}");
        assert_eq!(i["layers"], json!([layer]), "{i:#}");
        assert_eq!(i["private_ip"], lab.host(name).addr.as_str(), "{i:#}");
    }
    assert_eq!(s["instances"].as_array().unwrap().len(), 3, "{s:#}");
    assert_eq!(
        marks(&lab, "lab01"),
        want_marks(&[("lb.setup", 1), ("lb.configure", 1)])
    );
    let app1 = want_marks(&[("app.setup", 1), ("app.deploy", 1), ("app.configure", 1)]);
    assert_eq!(marks(&lab, "lab02"), app1);
    assert_eq!(marks(&lab, "lab03"), app1);
    assert_eq!(
        backends(&lab, "lab01"),
        want_backends(&lab, &["lab02", "lab03"])
    );

    // Terminated in EC2: terminated in the stack, and gone from the lb file.
    moto.helper(
        "terminate",
        &json!({"region": "us-east-1", "ids": [ids["lab03"]]}),
    );
    st.expect(&["sync"], 0);
    let s = st.status();
    assert_eq!(by_id(&s, &ids["lab03"])["status"], "terminated", "{s:#}");
    assert_eq!(by_id(&s, &ids["lab02"])["status"], "online", "{s:#}");
    assert_eq!(layer_online(&s, "app"), (1, vec!["lab02".into()]));
    assert_eq!(backends(&lab, "lab01"), want_backends(&lab, &["lab02"]));
    assert_eq!(marks(&lab, "lab01")["lb.configure"], 2);
    assert_eq!(marks(&lab, "lab03")["app.configure"], 1);

    // A replacement under the same name (on lab04's address) is a new instance: set up and
    // deployed, and in the lb file under its name.
    let new = launch(&moto, &lab, &[("lab04", "lab03", "app")]);
    assert_ne!(new["lab03"], ids["lab03"]);
    st.expect(&["sync"], 0);
    let s = st.status();
    let fresh = by_id(&s, &new["lab03"]);
    assert_eq!(fresh["status"], "online", "{s:#}");
    assert_eq!(fresh["name"], "lab03", "{s:#}");
    assert_eq!(by_id(&s, &ids["lab03"])["status"], "terminated", "{s:#}");
    assert_eq!(marks(&lab, "lab04"), app1);
    assert_eq!(
        backends(&lab, "lab01"),
        [
            format!("lab02 {}", lab.host("lab02").addr),
            format!("lab03 {}", lab.host("lab04").addr),
        ]
    );
}
