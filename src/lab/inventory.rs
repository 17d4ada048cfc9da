//! The lab as an Ansible YAML inventory, readable by both `ansible-playbook -i` and strata, so
//! the same playbook can be compared between the two on the same hosts.

use super::state::LabState;

/// Strings are emitted as JSON strings, which are valid YAML double-quoted scalars: paths with
/// odd characters stay intact.
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("string serializes")
}

pub fn render(state: &LabState) -> String {
    let mut y = format!(
        "# Written by strata lab for lab {}.\nall:\n  hosts:\n",
        q(&state.name)
    );
    for h in &state.hosts {
        y.push_str(&format!(
            "    {}:\n      ansible_host: {}\n",
            h.name, h.addr
        ));
    }
    let args = format!(
        "-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes",
        state.known_hosts.to_string_lossy()
    );
    // The bridge address is how hosts reach the controller's services (`strata lab serve`).
    y.push_str(&format!(
        "  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: {}\n    ansible_ssh_common_args: {}\n    strata_lab_gateway: {}\n",
        q(&state.key.to_string_lossy()),
        q(&args),
        q(&state.gateway.to_string())
    ));
    // A group per host kind, so a playbook can target `hosts: systemd`.
    y.push_str(&format!("  children:\n    {}:\n      hosts:\n", state.kind));
    for h in &state.hosts {
        y.push_str(&format!("        {}: {{}}\n", h.name));
    }
    y
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::lab::state::{HostKind, HostState};

    fn lab() -> LabState {
        let host = |name: &str, last: u8| HostState {
            name: name.into(),
            addr: [10, 213, 7, last].into(),
            kind: HostKind::Sshd,
            netns: format!("strata-7-{name}"),
            veth: "strata7h1".into(),
            dir: PathBuf::from("/l/x"),
            upper: PathBuf::from("/l/x/upper"),
            work: PathBuf::from("/l/x/work"),
            root: PathBuf::from("/l/x/root"),
            log: PathBuf::from("/l/x/log"),
            pids: vec![],
            stopped: false,
            alive: false,
            cgroups: vec![],
        };
        LabState {
            name: "t".into(),
            dir: PathBuf::from("/l/t"),
            subnet: 7,
            bridge: "strata7".into(),
            gateway: [10, 213, 7, 1].into(),
            kind: HostKind::Sshd,
            key: PathBuf::from("/l/t/id_ed25519"),
            known_hosts: PathBuf::from("/l/t/known hosts"),
            inventory: PathBuf::from("/l/t/inventory.yml"),
            hosts: vec![host("lab01", 11), host("lab02", 12)],
        }
    }

    #[test]
    fn inventory_is_ansible_yaml_with_hosts_vars_and_kind_group() {
        let node = crate::yaml::parse_str(&render(&lab()), Path::new("inventory.yml")).unwrap();
        let json = node.to_json();
        let all = &json["all"];
        assert_eq!(all["hosts"]["lab02"]["ansible_host"], "10.213.7.12");
        assert_eq!(all["vars"]["ansible_user"], "root");
        assert_eq!(all["vars"]["strata_lab_gateway"], "10.213.7.1");
        assert_eq!(
            all["vars"]["ansible_ssh_private_key_file"],
            "/l/t/id_ed25519"
        );
        assert_eq!(
            all["vars"]["ansible_ssh_common_args"],
            "-o UserKnownHostsFile=/l/t/known hosts -o StrictHostKeyChecking=yes"
        );
        let group: Vec<&String> = all["children"]["sshd"]["hosts"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(group, ["lab01", "lab02"]);
    }
}
