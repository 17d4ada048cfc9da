//! Shared helper for integration tests: real lab hosts (`strata::lab`) and the real OpenSSH
//! client to look at them independently of strata.
//!
//! Each test brings up its own lab with `Lab::up("unique-name", n, systemd)` (hosts lab01..)
//! or `Lab::up_named("unique-name", &["lb1", "web1"], systemd)`, grows it with `lab.add(..)`
//! and serves files to it with `lab.serve(dir)`; lab names must be
//! unique across the crate's tests, since test binaries and threads run in parallel. Labs live
//! under `$STRATA_LAB_DIR`, else a directory per checkout (`/var/lib/strata/test-labs/<hash>`),
//! so several worktrees can run their tests at once. Dropping the `Lab` tears it down.
#![allow(dead_code)]

pub mod aptrepo;
pub mod artifacts;
pub mod compat;
pub mod ec2;
pub mod http;
pub mod inventory_cli;
pub mod moto;
pub mod playbook;
pub mod plone;
pub mod postgres;
pub mod stack;
pub mod validation;

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use strata::lab::{self, LabOptions, LabState};

#[derive(Clone, Debug)]
pub struct LabHost {
    pub name: String,
    pub addr: String,
}

pub struct Lab {
    pub name: String,
    pub hosts: Vec<LabHost>,
    pub inventory: PathBuf,
    pub key: PathBuf,
    pub known_hosts: PathBuf,
    pub opts: LabOptions,
    /// Everything strata recorded about the lab (subnet, bridge, namespaces, directories).
    pub state: LabState,
}

/// State root for test labs of this checkout.
pub fn lab_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("STRATA_LAB_DIR") {
        return PathBuf::from(d);
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    env!("CARGO_MANIFEST_DIR").hash(&mut h);
    PathBuf::from(format!(
        "/var/lib/strata/test-labs/{:08x}",
        h.finish() as u32
    ))
}

impl Lab {
    /// Brings up `n` hosts (`lab01`, ...). Tests need root: they panic, not skip, without it.
    pub fn up(name: &str, n: usize, systemd: bool) -> Lab {
        Lab::up_named(name, &lab::default_names(0, n), systemd)
    }

    /// Brings up hosts named `hosts` (each host's hostname is its name).
    pub fn up_named<S: AsRef<str>>(name: &str, hosts: &[S], systemd: bool) -> Lab {
        assert!(
            unsafe { libc::geteuid() } == 0,
            "lab tests need root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and openssh-server; run them as root, see tests/run"
        );
        let opts = LabOptions {
            name: name.to_string(),
            dir: lab_dir(),
        };
        // A lab of this name left by a killed test run is removed first.
        if opts.state_path().exists() {
            lab::down(&opts).unwrap_or_else(|e| panic!("cannot remove stale lab {name}: {e}"));
        }
        let names: Vec<String> = hosts.iter().map(|h| h.as_ref().to_string()).collect();
        let state = lab::up_named(&opts, &names, systemd)
            .unwrap_or_else(|e| panic!("lab up {name} failed: {e}"));
        Lab::attach(opts, state)
    }

    /// Adds hosts named `hosts` to the running lab (`strata lab add`); the helper's host list,
    /// inventory and state follow.
    pub fn add<S: AsRef<str>>(&mut self, hosts: &[S]) {
        let names: Vec<String> = hosts.iter().map(|h| h.as_ref().to_string()).collect();
        let state = lab::add(&self.opts, &names)
            .unwrap_or_else(|e| panic!("lab add {names:?} to {} failed: {e}", self.name));
        self.hosts = hosts_of(&state);
        self.state = state;
    }

    /// Starts the lab's file server (`strata lab serve`) over `root`; returns its base URL
    /// as the hosts reach it (`http://<gateway>:8780/`).
    pub fn serve(&self, root: &Path) -> String {
        lab::serve::start(&self.opts, Path::new(env!("CARGO_BIN_EXE_strata")), root)
            .unwrap_or_else(|e| panic!("lab serve {} failed: {e}", self.name));
        lab::serve::url(&self.state)
    }

    /// The helper for a lab something else brought up (`strata lab demo`); dropping it tears
    /// the lab down as for one made with [`Lab::up`].
    pub fn attach(opts: LabOptions, state: LabState) -> Lab {
        Lab {
            name: opts.name.clone(),
            hosts: hosts_of(&state),
            inventory: state.inventory.clone(),
            key: state.key.clone(),
            known_hosts: state.known_hosts.clone(),
            opts,
            state,
        }
    }

    pub fn host(&self, name: &str) -> &LabHost {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("lab {} has no host {name}", self.name))
    }

    /// OpenSSH client options reaching the lab's hosts as root.
    pub fn ssh_args(&self) -> Vec<String> {
        vec![
            "-i".into(),
            self.key.to_string_lossy().into_owned(),
            "-o".into(),
            format!("UserKnownHostsFile={}", self.known_hosts.display()),
            "-o".into(),
            "StrictHostKeyChecking=yes".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "IdentitiesOnly=yes".into(),
            "-o".into(),
            "ConnectTimeout=10".into(),
            "-o".into(),
            "LogLevel=ERROR".into(),
        ]
    }

    /// Runs `cmd` on `host` (a host name or address) with the real OpenSSH client; returns
    /// (exit code, stdout, stderr). 255 is ssh's own failure.
    pub fn ssh(&self, host: &str, cmd: &str) -> (i32, String, String) {
        let addr = self
            .hosts
            .iter()
            .find(|h| h.name == host)
            .map(|h| h.addr.clone())
            .unwrap_or(host.to_string());
        let out = Command::new("ssh")
            .args(self.ssh_args())
            .arg(format!("root@{addr}"))
            .arg(cmd)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run ssh (apt-get install openssh-client)");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Like [`Lab::ssh`], but panics unless the command succeeds; returns trimmed stdout.
    /// Like `ssh_ok` but returns stdout exactly, for checking file contents byte for byte.
    pub fn ssh_raw(&self, host: &str, cmd: &str) -> String {
        let (rc, out, err) = self.ssh(host, cmd);
        assert_eq!(
            rc, 0,
            "ssh {host} {cmd:?} failed: rc={rc} stdout={out:?} stderr={err:?}"
        );
        out
    }

    pub fn ssh_ok(&self, host: &str, cmd: &str) -> String {
        let (rc, out, err) = self.ssh(host, cmd);
        assert_eq!(
            rc, 0,
            "ssh {host} {cmd:?} failed: rc={rc} stdout={out:?} stderr={err:?}"
        );
        out.trim().to_string()
    }

    /// Makes the host unreachable (processes and network gone); `start_host` brings it back.
    pub fn stop_host(&self, host: &str) {
        lab::stop_host(&self.opts, host).unwrap_or_else(|e| panic!("stop {host}: {e}"));
    }

    pub fn start_host(&self, host: &str) {
        lab::start_host(&self.opts, host).unwrap_or_else(|e| panic!("start {host}: {e}"));
    }

    /// Runs the built `strata` binary with `args`, in `cwd` if given.
    pub fn strata(&self, args: &[&str]) -> Output {
        strata_in(None, args)
    }
}

fn hosts_of(state: &LabState) -> Vec<LabHost> {
    state
        .hosts
        .iter()
        .map(|h| LabHost {
            name: h.name.clone(),
            addr: h.addr.to_string(),
        })
        .collect()
}

/// Runs the built `strata` binary with `args` in `cwd` (or the current directory).
pub fn strata_in(cwd: Option<&Path>, args: &[&str]) -> Output {
    strata_command(cwd, args)
        .output()
        .expect("cannot run the strata binary")
}

/// The command [`strata_in`] runs, for callers that adjust its environment first.
pub fn strata_command(cwd: Option<&Path>, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.args(args).stdin(Stdio::null());
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    cmd
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Err(e) = lab::down(&self.opts) {
            // Panicking while already unwinding would abort and hide the test's own failure.
            if std::thread::panicking() {
                eprintln!("lab down {} failed: {e}", self.name);
            } else {
                panic!("lab down {} failed: {e}", self.name);
            }
        }
    }
}
