//! The persisted description of a lab. It is written before anything is created and names every
//! resource deterministically, so `down` can remove a lab whose `up` died half way.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LabError;

/// What runs as the host's PID 1.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HostKind {
    /// `/usr/sbin/sshd` under a tiny reaping shell: starts in milliseconds.
    Sshd,
    /// `/lib/systemd/systemd --system`, with ssh.service: a full service manager.
    Systemd,
}

impl HostKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HostKind::Sshd => "sshd",
            HostKind::Systemd => "systemd",
        }
    }
}

impl fmt::Display for HostKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HostState {
    pub name: String,
    pub addr: Ipv4Addr,
    pub kind: HostKind,
    /// Network namespace name (`ip netns`), `strata-<subnet>-<host>`.
    pub netns: String,
    /// Controller-side end of the host's veth pair, enslaved to the lab bridge.
    pub veth: String,
    /// Directory holding everything of this host below.
    pub dir: PathBuf,
    /// overlayfs upper directory: every change the host made to its root.
    pub upper: PathBuf,
    pub work: PathBuf,
    /// Mount point of the merged root; mounted only inside the host's own mount namespace.
    pub root: PathBuf,
    /// stdout/stderr of the host's init (sshd -e logs here).
    pub log: PathBuf,
    /// The `unshare` process (whose death kills the host) and the host's PID 1, as seen from
    /// the controller. Informational: teardown finds processes by network namespace.
    pub pids: Vec<u32>,
    /// Stopped on purpose with `stop_host`.
    pub stopped: bool,
    /// Filled by `status`: the host's namespace has processes and port 22 accepts connections.
    #[serde(default)]
    pub alive: bool,
    /// A systemd host's cgroups for its current boot, one per hierarchy; removed when it stops.
    #[serde(default)]
    pub cgroups: Vec<PathBuf>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LabState {
    pub name: String,
    /// `<dir>/<name>`.
    pub dir: PathBuf,
    /// K in 10.213.K.0/24, unique among the labs on this machine.
    pub subnet: u8,
    pub bridge: String,
    /// The bridge address: how the controller and the hosts reach each other.
    pub gateway: Ipv4Addr,
    pub kind: HostKind,
    /// Private key (ed25519) that logs in as root on every host.
    pub key: PathBuf,
    pub known_hosts: PathBuf,
    pub inventory: PathBuf,
    pub hosts: Vec<HostState>,
}

impl LabState {
    pub fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn host(&self, name: &str) -> Option<&HostState> {
        self.hosts.iter().find(|h| h.name == name)
    }

    pub(crate) fn host_mut(&mut self, name: &str) -> Option<&mut HostState> {
        self.hosts.iter_mut().find(|h| h.name == name)
    }

    /// Writes the state atomically, so a crash never leaves a half-written file that would
    /// make the lab impossible to tear down.
    pub(crate) fn save(&self) -> Result<(), LabError> {
        let path = self.state_path();
        let tmp = self.dir.join(".state.json.tmp");
        let mut json = serde_json::to_string_pretty(self).expect("lab state serializes");
        json.push('\n');
        std::fs::write(&tmp, json).map_err(|e| LabError::io("cannot write lab state", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| LabError::io("cannot write lab state", &path, e))
    }

    pub(crate) fn load(path: &Path) -> Result<LabState, LabError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LabError::io("cannot read lab state", path, e))?;
        serde_json::from_str(&text).map_err(|e| LabError::State {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

/// A human table, as `strata lab status` prints it.
impl fmt::Display for LabState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "lab {}: {} host(s), kind {}, 10.213.{}.0/24 on bridge {} ({})",
            self.name,
            self.hosts.len(),
            self.kind,
            self.subnet,
            self.bridge,
            self.gateway
        )?;
        writeln!(f, "inventory: {}", self.inventory.display())?;
        let w = self
            .hosts
            .iter()
            .map(|h| h.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            f,
            "{:<w$}  {:<15}  {:<7}  {:<7}  PIDS",
            "HOST", "ADDRESS", "KIND", "STATE"
        )?;
        for h in &self.hosts {
            let state = if h.alive {
                "up"
            } else if h.stopped {
                "stopped"
            } else {
                "down"
            };
            let pids: Vec<String> = h.pids.iter().map(|p| p.to_string()).collect();
            writeln!(
                f,
                "{:<w$}  {:<15}  {:<7}  {:<7}  {}",
                h.name,
                h.addr.to_string(),
                h.kind.as_str(),
                state,
                pids.join(",")
            )?;
        }
        Ok(())
    }
}
