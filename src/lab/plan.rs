//! A lab on paper: the names, addresses, interfaces and directories of its hosts, decided
//! before anything exists (so `down` can remove whatever a failed `up` left), and the rules
//! lab and host names follow.

use std::path::{Path, PathBuf};

use super::state::{HostKind, HostState, LabState};
use super::{LabError, LabOptions, network};

/// `lab01`, `lab02`, ...: `n` default host names following `existing` hosts.
pub fn default_names(existing: usize, n: usize) -> Vec<String> {
    (existing..existing + n)
        .map(|i| format!("lab{:02}", i + 1))
        .collect()
}

/// Lab names appear in paths, commands and namespace names.
pub(super) fn validate_name(name: &str) -> Result<(), LabError> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(LabError::InvalidName(name.to_string()))
    }
}

/// Host names become hostnames, `/etc/hosts` entries, inventory keys and namespace names:
/// lowercase letters, digits and `-`, not starting with `-`, unique in the lab.
pub(super) fn validate_hosts(names: &[String], existing: &[String]) -> Result<(), LabError> {
    let total = names.len() + existing.len();
    if names.is_empty() || total > network::MAX_HOSTS {
        return Err(LabError::InvalidHostCount {
            n: total,
            max: network::MAX_HOSTS,
        });
    }
    for (i, name) in names.iter().enumerate() {
        let ok = !name.is_empty()
            && name.len() <= 32
            && !name.starts_with('-')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(LabError::InvalidHostName(name.clone()));
        }
        if existing.contains(name) || names[..i].contains(name) {
            return Err(LabError::DuplicateHost(name.clone()));
        }
    }
    Ok(())
}

pub(super) fn plan(
    opts: &LabOptions,
    subnet: u8,
    names: &[String],
    kind: HostKind,
    key: PathBuf,
) -> LabState {
    let dir = opts.lab_dir();
    let hosts = plan_hosts(&dir, subnet, 0, names, kind);
    LabState {
        name: opts.name.clone(),
        subnet,
        bridge: network::bridge_name(subnet),
        gateway: network::gateway(subnet),
        kind,
        key,
        known_hosts: dir.join("known_hosts"),
        inventory: dir.join("inventory.yml"),
        dir,
        hosts,
    }
}

/// The hosts `names`, the first at address index `from` (hosts are never removed one by one,
/// so index = position in the lab).
pub(super) fn plan_hosts(
    dir: &Path,
    subnet: u8,
    from: usize,
    names: &[String],
    kind: HostKind,
) -> Vec<HostState> {
    names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let i = from + j;
            let name = name.clone();
            let hdir = dir.join("hosts").join(&name);
            HostState {
                addr: network::host_addr(subnet, i),
                kind,
                netns: network::netns_name(subnet, &name),
                veth: network::veth_name(subnet, i),
                upper: hdir.join("upper"),
                work: hdir.join("work"),
                root: hdir.join("root"),
                log: hdir.join("log"),
                dir: hdir,
                pids: Vec::new(),
                stopped: false,
                alive: false,
                cgroups: Vec::new(),
                name,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_names_must_be_safe_in_paths_and_commands() {
        for ok in ["default", "smoke-plain", "a_1"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "a/b", "a b", "a.b", &"x".repeat(33)] {
            assert!(
                matches!(validate_name(bad), Err(LabError::InvalidName(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn plan_names_fit_linux_limits_and_the_subnet() {
        let opts = LabOptions {
            name: "t".into(),
            dir: "/l".into(),
        };
        let state = plan(
            &opts,
            254,
            &default_names(0, network::MAX_HOSTS),
            HostKind::Sshd,
            "/l/t/id_ed25519".into(),
        );
        let last = state.hosts.last().unwrap();
        assert_eq!(last.addr.to_string(), "10.213.254.254");
        assert_eq!(state.hosts[0].name, "lab01");
        assert!(
            state.bridge.len() <= 15 && last.veth.len() <= 15,
            "{} {}",
            state.bridge,
            last.veth
        );
        assert_eq!(
            last.upper,
            PathBuf::from(format!("/l/t/hosts/{}/upper", last.name))
        );
    }

    #[test]
    fn named_hosts_keep_their_names_and_added_hosts_take_the_next_addresses() {
        let opts = LabOptions {
            name: "t".into(),
            dir: "/l".into(),
        };
        let names: Vec<String> = ["lb1", "plone1"].map(String::from).to_vec();
        let mut state = plan(&opts, 9, &names, HostKind::Systemd, "/l/t/k".into());
        assert_eq!(state.hosts[1].name, "plone1");
        assert_eq!(state.hosts[1].netns, "strata-9-plone1");
        let more = plan_hosts(&state.dir, 9, 2, &["zeo1".to_string()], state.kind);
        state.hosts.extend(more);
        let z = &state.hosts[2];
        assert_eq!(
            (z.addr.to_string(), z.veth.as_str(), z.kind),
            ("10.213.9.13".to_string(), "strata9h3", HostKind::Systemd)
        );
        assert_eq!(z.upper, PathBuf::from("/l/t/hosts/zeo1/upper"));
        assert_eq!(default_names(3, 2), ["lab04", "lab05"]);
    }

    #[test]
    fn host_names_must_be_hostnames_and_unique() {
        let v = |names: &[&str], existing: &[&str]| {
            let n: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            let e: Vec<String> = existing.iter().map(|s| s.to_string()).collect();
            validate_hosts(&n, &e)
        };
        assert!(v(&["lb1", "plone-1", "zeo1"], &[]).is_ok());
        for bad in ["Lb1", "a_b", "-x", "a.b", ""] {
            assert!(
                matches!(v(&[bad], &[]), Err(LabError::InvalidHostName(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            v(&["a", "a"], &[]),
            Err(LabError::DuplicateHost(_))
        ));
        assert!(matches!(
            v(&["lb1"], &["lb1"]),
            Err(LabError::DuplicateHost(_))
        ));
        assert!(matches!(
            v(&[], &[]),
            Err(LabError::InvalidHostCount { .. })
        ));
    }
}
