//! Understanding the OpenSSH command-line options inventories put in `ansible_ssh_common_args`
//! and `ansible_ssh_extra_args`. There is no `ssh` binary behind us, so each option is either
//! mapped onto [`SshParams`], known to be harmless for a native client, or rejected by name.

use crate::shell::shlex;
use std::time::Duration;

use super::jump::parse_jump;
use super::{HostKeyPolicy, SshParams, expand_tilde};

/// Options that only tune the OpenSSH binary (multiplexing, logging, prompts, other
/// authentication methods we never try) and so cannot change what strata does.
const HARMLESS: &[&str] = &[
    "controlmaster",
    "controlpersist",
    "controlpath",
    "batchmode",
    "loglevel",
    "kbdinteractiveauthentication",
    "challengeresponseauthentication",
    "gssapiauthentication",
    "gssapidelegatecredentials",
    "preferredauthentications",
    "identitiesonly",
    "hashknownhosts",
    "checkhostip",
    "tcpkeepalive",
    "connectionattempts",
    "compression",
    "visualhostkey",
    "updatehostkeys",
];

pub(super) fn apply(p: &mut SshParams, args: &str) -> Result<(), String> {
    // Ansible passes these strings through Python's `shlex.split`.
    let words = shlex::split(args).map_err(|e| format!("ssh args {args:?}: {e}"))?;
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        let Some(flag) = w.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return Err(format!(
                "unexpected argument {w:?} in ssh args (only options are allowed)"
            ));
        };
        let (letter, attached) = flag.split_at(1);
        let mut value = |name: &str| -> Result<String, String> {
            if !attached.is_empty() {
                Ok(attached.to_string())
            } else {
                it.next()
                    .ok_or_else(|| format!("ssh option -{name} needs a value"))
            }
        };
        match letter {
            "o" => {
                let opt = value("o")?;
                apply_option(p, &opt)?;
            }
            "p" => set_port(p, &value("p")?)?,
            "l" => p.user = value("l")?,
            "i" => p.key_file = Some(expand_tilde(&value("i")?)),
            "J" => p.jump = parse_jump(&value("J")?)?,
            // Quiet, no tty (never requested anyway), compression, verbosity: no effect here.
            "q" | "T" | "C" | "v" if attached.chars().all(|c| c == 'v') => {}
            _ => return Err(format!("unsupported ssh option -{flag}")),
        }
    }
    Ok(())
}

/// One `-o` value: `Key=Value` or `Key Value`, keys case-insensitive as in ssh_config.
fn apply_option(p: &mut SshParams, opt: &str) -> Result<(), String> {
    let opt = opt.trim();
    let split = opt
        .find(|c: char| c == '=' || c.is_whitespace())
        .ok_or_else(|| format!("ssh option -o {opt} has no value"))?;
    let key = &opt[..split];
    let val = opt[split..]
        .trim_start_matches(|c: char| c == '=' || c.is_whitespace())
        .trim();
    let lower = key.to_ascii_lowercase();
    match lower.as_str() {
        "userknownhostsfile" => {
            let first = val
                .split_whitespace()
                .next()
                .ok_or("UserKnownHostsFile needs a file")?;
            p.known_hosts = Some(if first.eq_ignore_ascii_case("none") {
                "/dev/null".into()
            } else {
                expand_tilde(first)
            });
        }
        "stricthostkeychecking" => {
            p.host_key_policy = match val.to_ascii_lowercase().as_str() {
                // No terminal to ask on: "ask" is as strict as "yes", as in ssh's batch mode.
                "yes" | "ask" => HostKeyPolicy::Strict,
                "accept-new" => HostKeyPolicy::AcceptNew,
                "no" | "off" => HostKeyPolicy::Insecure,
                other => return Err(format!("StrictHostKeyChecking: unknown value {other:?}")),
            }
        }
        "connecttimeout" => p.connect_timeout = Duration::from_secs(parse_secs(key, val)?.max(1)),
        "serveraliveinterval" => p.keepalive_interval = Duration::from_secs(parse_secs(key, val)?),
        "serveralivecountmax" => p.keepalive_max = parse_secs(key, val)? as usize,
        "port" => set_port(p, val)?,
        "passwordauthentication" => {
            p.password_auth = match val.to_ascii_lowercase().as_str() {
                "yes" | "true" => true,
                "no" | "false" => false,
                other => return Err(format!("PasswordAuthentication: unknown value {other:?}")),
            }
        }
        "user" => p.user = val.to_string(),
        "identityfile" => p.key_file = Some(expand_tilde(val)),
        "identityagent" => {
            p.identity_agent = Some(match val {
                v if v.eq_ignore_ascii_case("none") => "/dev/null".into(),
                "SSH_AUTH_SOCK" | "$SSH_AUTH_SOCK" => return Ok(()),
                v => expand_tilde(v),
            })
        }
        "forwardagent" | "forwardx11" | "requesttty" if is_off(val) => {}
        "pubkeyauthentication" if !is_off(val) => {}
        "proxyjump" => p.jump = parse_jump(val)?,
        "proxycommand" => {
            return Err(format!(
                "ssh option {key} is not supported; use ProxyJump for a bastion host"
            ));
        }
        k if HARMLESS.contains(&k) || k.starts_with("serveralive") => {}
        _ => return Err(format!("unsupported ssh option -o {key}={val}")),
    }
    Ok(())
}

fn is_off(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "no" | "false" | "off")
}

fn parse_secs(key: &str, val: &str) -> Result<u64, String> {
    val.parse::<u64>()
        .map_err(|_| format!("ssh option {key}: {val:?} is not a number of seconds"))
}

fn set_port(p: &mut SshParams, val: &str) -> Result<(), String> {
    p.port = val
        .parse()
        .ok()
        .filter(|&n: &u16| n != 0)
        .ok_or_else(|| format!("invalid ssh port {val:?}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> SshParams {
        SshParams::new("10.0.0.5", "root")
    }

    #[test]
    fn ansible_style_args() {
        let mut p = params();
        p.apply_ssh_args("-o StrictHostKeyChecking=no -o 'UserKnownHostsFile=/dev/null' -oConnectTimeout=3 -o \"Port 2222\"")
            .unwrap();
        assert_eq!(p.host_key_policy, HostKeyPolicy::Insecure);
        assert_eq!(
            p.known_hosts.as_deref(),
            Some(std::path::Path::new("/dev/null"))
        );
        assert_eq!(p.connect_timeout, Duration::from_secs(3));
        assert_eq!(p.port, 2222);
    }

    #[test]
    fn user_identity_and_accept_new() {
        let mut p = params();
        p.apply_ssh_args(
            "-o User=deploy -o IdentityFile=/k/id -o StrictHostKeyChecking=accept-new -p 2200",
        )
        .unwrap();
        assert_eq!(p.user, "deploy");
        assert_eq!(p.key_file.as_deref(), Some(std::path::Path::new("/k/id")));
        assert_eq!(p.host_key_policy, HostKeyPolicy::AcceptNew);
        assert_eq!(p.port, 2200);
    }

    #[test]
    fn harmless_options_pass_and_unknown_ones_are_named() {
        let mut p = params();
        p.apply_ssh_args("-o ControlMaster=auto -o ControlPersist=60s -q")
            .unwrap();
        let err = p.apply_ssh_args("-o Ciphers=aes128-ctr").unwrap_err();
        assert!(err.contains("Ciphers"), "{err}");
        let err = p.apply_ssh_args("-o ProxyCommand='nc %h %p'").unwrap_err();
        assert!(err.contains("ProxyJump"), "{err}");
        p.apply_ssh_args("-o ProxyJump=ops@bastion:2222").unwrap();
        assert_eq!((p.jump[0].host.as_str(), p.jump[0].port), ("bastion", 2222));
        p.apply_ssh_args("-J a,b").unwrap();
        assert_eq!(p.jump.len(), 2);
        let err = p.apply_ssh_args("-o ForwardAgent=yes").unwrap_err();
        assert!(err.contains("ForwardAgent"), "{err}");
    }

    #[test]
    fn bad_values_are_errors() {
        let mut p = params();
        assert!(p.apply_ssh_args("-o Port=0").is_err());
        assert!(p.apply_ssh_args("-o StrictHostKeyChecking=maybe").is_err());
        assert!(p.apply_ssh_args("-o 'ConnectTimeout=3").is_err());
        assert!(p.apply_ssh_args("bare").is_err());
    }
}
