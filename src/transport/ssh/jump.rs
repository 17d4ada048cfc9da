//! ProxyJump (`-J` / `-o ProxyJump=`): hosts to tunnel through before reaching the target,
//! as bastion setups write in `ansible_ssh_common_args`. Each hop is an SSH connection whose
//! `direct-tcpip` channel carries the next hop's SSH session, so nothing but sshd with TCP
//! forwarding is needed on the jump host, as with OpenSSH.

use super::SshParams;

/// One `[user@]host[:port]` hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JumpHost {
    pub user: Option<String>,
    pub host: String,
    pub port: u16,
}

/// Parses OpenSSH's ProxyJump value: comma-separated hops (`ssh://` URIs allowed), or `none`.
pub(super) fn parse_jump(spec: &str) -> Result<Vec<JumpHost>, String> {
    if spec.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    spec.split(',').map(|hop| parse_hop(hop.trim())).collect()
}

fn parse_hop(hop: &str) -> Result<JumpHost, String> {
    let bad = || format!("ProxyJump: invalid jump host {hop:?} (expected [user@]host[:port])");
    let rest = hop.strip_prefix("ssh://").unwrap_or(hop);
    let (user, addr) = match rest.rsplit_once('@') {
        Some((u, a)) if !u.is_empty() => (Some(u.to_string()), a),
        Some(_) => return Err(bad()),
        None => (None, rest),
    };
    let (host, port) = if let Some(v6) = addr.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(bad)?;
        (h, after.strip_prefix(':'))
    } else if addr.matches(':').count() == 1 {
        let (h, p) = addr.split_once(':').expect("one colon");
        (h, Some(p))
    } else {
        (addr, None)
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    let port = match port {
        None => 22,
        Some(p) => p.parse().ok().filter(|&n: &u16| n != 0).ok_or_else(bad)?,
    };
    Ok(JumpHost {
        user,
        host: host.to_string(),
        port,
    })
}

impl SshParams {
    /// How to reach a jump host: its own user (else the local user, as OpenSSH does) and
    /// port, with the target's key, known_hosts, host key policy, agent and timeouts.
    pub(super) fn for_jump(&self, j: &JumpHost) -> SshParams {
        let user = j
            .user
            .clone()
            .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| "root".into());
        let mut p = SshParams::new(j.host.clone(), user);
        p.port = j.port;
        p.key_file = self.key_file.clone();
        p.connect_timeout = self.connect_timeout;
        p.host_key_policy = self.host_key_policy;
        p.known_hosts = self.known_hosts.clone();
        p.identity_agent = self.identity_agent.clone();
        p.keepalive_interval = self.keepalive_interval;
        p.keepalive_max = self.keepalive_max;
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(user: Option<&str>, host: &str, port: u16) -> JumpHost {
        JumpHost {
            user: user.map(String::from),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn jump_specs() {
        assert_eq!(parse_jump("bastion").unwrap(), [hop(None, "bastion", 22)]);
        assert_eq!(
            parse_jump("ops@10.0.0.1:2222,ssh://root@[fe80::1]:22").unwrap(),
            [
                hop(Some("ops"), "10.0.0.1", 2222),
                hop(Some("root"), "fe80::1", 22)
            ]
        );
        assert_eq!(parse_jump("fe80::2").unwrap(), [hop(None, "fe80::2", 22)]);
        assert!(parse_jump("none").unwrap().is_empty());
        assert!(parse_jump("h:0").is_err());
        assert!(parse_jump("@h").is_err());
        assert!(parse_jump("a,,b").is_err());
    }
}
