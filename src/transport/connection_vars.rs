//! How to reach a host, from its (templated) variables. Variable names and aliases follow
//! Ansible's `ssh` connection and `sudo` become plugins; when several aliases are set, the one
//! listed last in the plugin's documentation wins, as in Ansible's config resolution.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::values::{to_bool, to_str};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ConnectionKind {
    #[default]
    Ssh,
    /// Run on the controller itself, without SSH (`ansible_connection: local`).
    Local,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionVars {
    pub connection: ConnectionKind,
    /// Address to connect to: `ansible_host`, defaulting to the inventory name.
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
    pub private_key_file: Option<PathBuf>,
    /// Raw `ansible_ssh_common_args` / `ansible_ssh_extra_args` strings (shell-quoted words).
    pub ssh_common_args: Option<String>,
    pub ssh_extra_args: Option<String>,
    /// `ansible_timeout`: seconds to wait for the connection.
    pub timeout: Option<u64>,
    pub become_: Option<bool>,
    pub become_method: Option<String>,
    pub become_user: Option<String>,
    pub become_password: Option<String>,
    pub become_flags: Option<String>,
}

/// The last of `names` that is set (and not null) in `vars`.
fn last_set<'a>(vars: &'a Map<String, Value>, names: &[&str]) -> Option<(&'a Value, String)> {
    names.iter().rev().find_map(|n| {
        vars.get(*n)
            .filter(|v| !v.is_null())
            .map(|v| (v, n.to_string()))
    })
}

fn string(vars: &Map<String, Value>, names: &[&str]) -> Result<Option<String>, String> {
    match last_set(vars, names) {
        None => Ok(None),
        Some((v @ (Value::Array(_) | Value::Object(_)), n)) => {
            Err(format!("`{n}` must be a string, got {v}"))
        }
        Some((v, _)) => Ok(to_str(v)),
    }
}

/// Reads the connection settings of host `name` from its variables.
pub fn connection_vars(name: &str, vars: &Map<String, Value>) -> Result<ConnectionVars, String> {
    let connection = match string(vars, &["ansible_connection"])?.as_deref() {
        None | Some("ssh" | "smart" | "paramiko" | "paramiko_ssh") => ConnectionKind::Ssh,
        Some("ansible.builtin.ssh" | "ansible.builtin.paramiko_ssh") => ConnectionKind::Ssh,
        Some("local" | "ansible.builtin.local") => ConnectionKind::Local,
        Some(other) => {
            return Err(format!(
                "connection plugin `{other}` is not supported (ansible_connection); use ssh or local"
            ));
        }
    };
    let host = string(vars, &["ansible_host", "ansible_ssh_host"])?
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| name.to_string());
    let port = match last_set(vars, &["ansible_port", "ansible_ssh_port"]) {
        None => 22,
        Some((v, n)) => {
            let parsed = match v {
                Value::Number(num) => num.as_u64().and_then(|p| u16::try_from(p).ok()),
                Value::String(s) => s.trim().parse::<u16>().ok(),
                _ => None,
            };
            match parsed {
                Some(p) if p > 0 => p,
                _ => return Err(format!("`{n}` must be a port number (1-65535), got {v}")),
            }
        }
    };
    let timeout = match last_set(vars, &["ansible_timeout", "ansible_ssh_timeout"]) {
        None => None,
        Some((v, n)) => Some(
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| format!("`{n}` must be a number of seconds, got {v}"))?,
        ),
    };
    let become_ = match last_set(vars, &["ansible_become"]) {
        None => None,
        Some((v, n)) => {
            Some(to_bool(v).ok_or_else(|| format!("`{n}` must be a boolean, got {v}"))?)
        }
    };
    Ok(ConnectionVars {
        connection,
        host,
        port,
        user: string(vars, &["ansible_user", "ansible_ssh_user"])?,
        password: string(
            vars,
            &[
                "ansible_password",
                "ansible_ssh_pass",
                "ansible_ssh_password",
            ],
        )?,
        private_key_file: string(
            vars,
            &["ansible_private_key_file", "ansible_ssh_private_key_file"],
        )?
        .map(|p| expand_tilde(&p)),
        ssh_common_args: string(vars, &["ansible_ssh_common_args"])?,
        ssh_extra_args: string(vars, &["ansible_ssh_extra_args"])?,
        timeout,
        become_,
        become_method: string(vars, &["ansible_become_method"])?,
        become_user: string(vars, &["ansible_become_user", "ansible_sudo_user"])?,
        become_password: string(
            vars,
            &[
                "ansible_become_password",
                "ansible_become_pass",
                "ansible_sudo_pass",
            ],
        )?,
        become_flags: string(vars, &["ansible_become_flags", "ansible_sudo_flags"])?,
    })
}

/// Key paths are commonly written `~/.ssh/id_ed25519`; Ansible expands the controller's `~`.
fn expand_tilde(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ if p == "~" => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| p.into()),
        _ => PathBuf::from(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn defaults_use_the_inventory_name() {
        let c = connection_vars("web1", &Map::new()).unwrap();
        assert_eq!(c.host, "web1");
        assert_eq!(c.port, 22);
        assert_eq!(c.connection, ConnectionKind::Ssh);
        assert_eq!(c.user, None);
        assert_eq!(c.become_, None);
    }

    #[test]
    fn reads_ansible_variables_and_aliases() {
        let c = connection_vars(
            "web1",
            &vars(json!({
                "ansible_host": "10.0.0.5", "ansible_port": "2222", "ansible_user": "deploy",
                "ansible_ssh_private_key_file": "/k/id", "ansible_ssh_common_args": "-o A=b",
                "ansible_ssh_extra_args": "-o C=d", "ansible_become": "yes",
                "ansible_become_user": "postgres", "ansible_ssh_pass": "pw",
                "ansible_connection": "smart", "ansible_timeout": 7
            })),
        )
        .unwrap();
        assert_eq!(c.host, "10.0.0.5");
        assert_eq!(c.port, 2222);
        assert_eq!(c.user.as_deref(), Some("deploy"));
        assert_eq!(c.private_key_file, Some(PathBuf::from("/k/id")));
        assert_eq!(c.ssh_common_args.as_deref(), Some("-o A=b"));
        assert_eq!(c.ssh_extra_args.as_deref(), Some("-o C=d"));
        assert_eq!(c.become_, Some(true));
        assert_eq!(c.become_user.as_deref(), Some("postgres"));
        assert_eq!(c.password.as_deref(), Some("pw"));
        assert_eq!(c.timeout, Some(7));
        // The later alias in Ansible's list wins.
        let c = connection_vars(
            "h",
            &vars(json!({"ansible_host": "a", "ansible_ssh_host": "b", "ansible_connection": "local"})),
        )
        .unwrap();
        assert_eq!(c.host, "b");
        assert_eq!(c.connection, ConnectionKind::Local);
    }

    #[test]
    fn rejects_bad_values() {
        let e = connection_vars("h", &vars(json!({"ansible_port": "ssh"}))).unwrap_err();
        assert!(e.contains("ansible_port"), "{e}");
        let e = connection_vars("h", &vars(json!({"ansible_port": 70000}))).unwrap_err();
        assert!(e.contains("1-65535"), "{e}");
        let e = connection_vars("h", &vars(json!({"ansible_connection": "winrm"}))).unwrap_err();
        assert!(e.contains("winrm"), "{e}");
        let e = connection_vars("h", &vars(json!({"ansible_become": "maybe"}))).unwrap_err();
        assert!(e.contains("ansible_become"), "{e}");
        let e = connection_vars("h", &vars(json!({"ansible_user": ["a"]}))).unwrap_err();
        assert!(e.contains("ansible_user"), "{e}");
    }
}
