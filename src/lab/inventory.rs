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
    y.push_str(&format!(
        "  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: {}\n    ansible_ssh_common_args: {}\n",
        q(&state.key.to_string_lossy()),
        q(&args)
    ));
    // A group per host kind, so a playbook can target `hosts: systemd`.
    y.push_str(&format!("  children:\n    {}:\n      hosts:\n", state.kind));
    for h in &state.hosts {
        y.push_str(&format!("        {}: {{}}\n", h.name));
    }
    y
}
