//! `strata lab`: throwaway hosts running the distribution's real OpenSSH server on this machine,
//! for tests and demos. Each host has its own network namespace and address on a per-lab bridge
//! (10.213.K.0/24, bridge .1, hosts .11, .12, ...), a copy-on-write root over the base machine's
//! `/`, and its own hostname and PID namespace; a systemd host also has cgroups of its own
//! (`cgroup.rs`). Hosts are named `lab01`, `lab02`, ... unless the caller names them (`up
//! --hosts lb1,web1`), so a stack's inventory groups can use real role names; labs are told
//! apart by name, subnet and inventory, not by host name. `add` grows a running lab with hosts
//! of the same kind on the next addresses. `cache` builds the package caches lab hosts install
//! from (they have no route out) and `serve` serves them on the lab's bridge.
//!
//! Layout of `<dir>/<name>/`: `state.json`, `id_ed25519` (root's key on every host),
//! `known_hosts`, `inventory.yml`, and `hosts/<host>/{upper,work,root,log}`.

pub mod cache;
mod cgroup;
mod cmd;
mod error;
mod host;
mod inventory;
mod keys;
mod network;
mod plan;
mod rootfs;
pub mod serve;
mod sshd;
mod state;
mod systemd;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::LabError;
pub use plan::default_names;
use plan::{plan, plan_hosts, validate_hosts, validate_name};
pub use state::{HostKind, HostState, LabState};

/// How long a plain host may take to answer with an SSH banner (they usually need ~50 ms).
const SSHD_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a systemd host may take to boot to `running` (usually 2-4 s).
const SYSTEMD_TIMEOUT: Duration = Duration::from_secs(120);

/// Which lab, and where its state lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabOptions {
    /// Lab name, `default` unless given; several labs coexist.
    pub name: String,
    /// State root: `$STRATA_LAB_DIR`, else `/var/lib/strata/lab`.
    pub dir: PathBuf,
}

impl LabOptions {
    /// The lab a command means when none is named.
    pub const DEFAULT_NAME: &'static str = "default";
    /// Where lab state lives unless `$STRATA_LAB_DIR` says otherwise.
    pub const DEFAULT_DIR: &'static str = "/var/lib/strata/lab";

    pub fn new(name: impl Into<String>) -> LabOptions {
        LabOptions {
            name: name.into(),
            dir: Self::default_dir(),
        }
    }

    pub fn default_dir() -> PathBuf {
        std::env::var_os("STRATA_LAB_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(Self::DEFAULT_DIR))
    }

    /// `<dir>/<name>`.
    pub fn lab_dir(&self) -> PathBuf {
        self.dir.join(&self.name)
    }

    pub fn state_path(&self) -> PathBuf {
        self.lab_dir().join("state.json")
    }
}

impl Default for LabOptions {
    fn default() -> LabOptions {
        LabOptions::new("default")
    }
}

/// What `strata lab demo` runs. Paths are relative to the working directory, a checkout's
/// root, as in the README.
pub struct Demo;

impl Demo {
    /// The Plone stack.
    pub const STACK: &'static str = "stacks/plone.yml";
    /// Where the demo writes the lab's inventory: the stack file names this path (relative to
    /// itself) among its instance sources, with the groups of `inventory/plone-groups.yml`.
    pub const INVENTORY: &'static str = "inventory/plone-lab.yml";
    /// The hosts the stack's groups name, in address order: the frontend first.
    pub const HOSTS: &'static [&'static str] = &["lb1", "plone1", "plone2", "zeo1", "maint1"];
    /// The host whose nginx on port 80 is the site's frontend.
    pub const FRONTEND: &'static str = "lb1";
    /// Where the stack's roles keep the generated admin password (`lookup('password')`), on
    /// the controller.
    pub const ADMIN_PASSWORD: &'static str = "stacks/.strata/plone-admin-password";
    /// Hosts for `lab demo --playbook`.
    pub const PLAYBOOK_HOSTS: usize = 5;
}

/// Brings up `n` hosts named `lab01`, `lab02`, ... (plain sshd, or systemd as PID 1). Fails if
/// the lab is already up. On failure everything created so far is removed again.
pub fn up(opts: &LabOptions, n: usize, systemd: bool) -> Result<LabState, LabError> {
    up_named(opts, &default_names(0, n), systemd)
}

/// Like [`up`], with the hosts named `names` (in address order); each host's hostname is its
/// name, so a stack's groups and the hosts' own view of themselves agree.
pub fn up_named(opts: &LabOptions, names: &[String], systemd: bool) -> Result<LabState, LabError> {
    preflight()?;
    validate_name(&opts.name)?;
    validate_hosts(names, &[])?;
    let lab_dir = opts.lab_dir();
    if opts.state_path().exists() {
        return Err(LabError::AlreadyUp {
            name: opts.name.clone(),
            state: opts.state_path(),
        });
    }
    std::fs::create_dir_all(&lab_dir)
        .map_err(|e| LabError::io("cannot create lab directory", &lab_dir, e))?;
    keys::ensure_host_keys()?;
    let key = keys::ensure_client_key(&lab_dir, &opts.name)?;
    let kind = if systemd {
        systemd::raise_inotify_limit();
        HostKind::Systemd
    } else {
        HostKind::Sshd
    };

    let mut state = {
        let _lock = network::GlobalLock::acquire()?;
        let subnet = network::allocate_subnet(&claimed_subnets(&opts.dir))?;
        let state = plan(opts, subnet, names, kind, key);
        // Saved before anything exists, so `down` can clean up after a crash at any point.
        state.save()?;
        if let Err(e) = network::create_bridge(&state.bridge, state.gateway) {
            let _ = teardown(&state);
            return Err(e);
        }
        state
    };
    match bring_up(&mut state, 0) {
        Ok(()) => Ok(state),
        Err(e) => {
            let _ = teardown(&state);
            Err(e)
        }
    }
}

/// Adds hosts named `names` to a running lab: same kind, same bridge, the next addresses. The
/// existing hosts' `/etc/hosts` learn the new names. If a new host fails to come up, the new
/// hosts are removed again and the lab is left as it was.
pub fn add(opts: &LabOptions, names: &[String]) -> Result<LabState, LabError> {
    preflight()?;
    let mut state = load(opts)?;
    let existing: Vec<String> = state.hosts.iter().map(|h| h.name.clone()).collect();
    validate_hosts(names, &existing)?;
    let from = state.hosts.len();
    let new = plan_hosts(&state.dir, state.subnet, from, names, state.kind);
    state.hosts.extend(new);
    // Recorded first, so `down` removes the new hosts whatever happens next.
    state.save()?;
    if state.kind == HostKind::Systemd {
        systemd::raise_inotify_limit();
    }
    match bring_up(&mut state, from) {
        Ok(()) => Ok(state),
        Err(e) => {
            for h in &state.hosts[from..] {
                let _ = host::stop(h);
                let _ = rootfs::remove_dirs(h);
            }
            state.hosts.truncate(from);
            let _ = state.save();
            Err(e)
        }
    }
}

/// Removes every namespace, link, process and file of the lab, and stops its file server.
pub fn down(opts: &LabOptions) -> Result<(), LabError> {
    preflight()?;
    let state = load(opts)?;
    serve::stop(&state)?;
    teardown(&state)
}

/// The lab's state with each host's liveness checked now.
pub fn status(opts: &LabOptions) -> Result<LabState, LabError> {
    let mut state = load(opts)?;
    for h in &mut state.hosts {
        h.alive = !network::netns_pids(&h.netns).is_empty() && host::banner(&(h.addr, 22).into());
    }
    Ok(state)
}

/// Names of the labs that have state under `dir`.
pub fn labs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("state.json").exists())
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .collect();
    names.sort();
    names
}

/// The lab's Ansible inventory; also (re)writes `<dir>/<name>/inventory.yml`.
pub fn inventory_yaml(opts: &LabOptions) -> Result<String, LabError> {
    let state = load(opts)?;
    write_inventory(&state)
}

/// Writes the lab's inventory to `path` (`strata lab inventory -o PATH`).
pub fn inventory_to(opts: &LabOptions, path: &Path) -> Result<(), LabError> {
    let yaml = inventory_yaml(opts)?;
    std::fs::write(path, yaml).map_err(|e| LabError::io("cannot write the inventory", path, e))
}

/// Makes one host unreachable: its processes end and its network namespace goes away. Its
/// files stay; [`start_host`] boots it again from them.
pub fn stop_host(opts: &LabOptions, host: &str) -> Result<(), LabError> {
    preflight()?;
    let mut state = load(opts)?;
    let h = find_host(&mut state, host)?;
    host::stop(h)?;
    h.pids.clear();
    h.cgroups.clear();
    h.stopped = true;
    state.save()
}

/// Boots a host again (after [`stop_host`], or to restart it).
pub fn start_host(opts: &LabOptions, host: &str) -> Result<(), LabError> {
    preflight()?;
    let mut state = load(opts)?;
    let (bridge, gateway) = (state.bridge.clone(), state.gateway);
    let h = find_host(&mut state, host)?;
    host::stop(h)?;
    h.cgroups.clear();
    network::create_host_net(&h.netns, &h.veth, &bridge, h.addr, gateway)?;
    if h.kind == HostKind::Systemd {
        systemd::raise_inotify_limit();
        h.cgroups = cgroup::prepare(&h.netns)?;
        // Recorded before the boot, so that `down` finds them whatever happens next.
        state.save()?;
    }
    let h = find_host(&mut state, host)?;
    let pid = host::launch(h)?;
    h.pids = vec![pid];
    h.stopped = false;
    let h = h.clone();
    let init = wait_host(&h)?;
    let stored = find_host(&mut state, host)?;
    stored.pids.extend(init);
    state.save()
}

fn find_host<'a>(state: &'a mut LabState, host: &str) -> Result<&'a mut HostState, LabError> {
    let lab = state.name.clone();
    state.host_mut(host).ok_or_else(|| LabError::UnknownHost {
        lab,
        host: host.to_string(),
    })
}

fn load(opts: &LabOptions) -> Result<LabState, LabError> {
    let path = opts.state_path();
    if !path.exists() {
        return Err(LabError::NotUp {
            name: opts.name.clone(),
            state: path,
        });
    }
    LabState::load(&path)
}

fn preflight() -> Result<(), LabError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(LabError::NotRoot);
    }
    if !Path::new("/usr/sbin/sshd").exists() {
        return Err(LabError::MissingTool {
            what: "sshd",
            path: "/usr/sbin/sshd".into(),
            hint: "apt-get install openssh-server",
        });
    }
    for (tool, hint) in [
        ("ssh-keygen", "apt-get install openssh-client"),
        ("ip", "apt-get install iproute2"),
        ("unshare", "apt-get install util-linux"),
        ("nsenter", "apt-get install util-linux"),
        ("mount", "apt-get install mount"),
    ] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false);
        if !found {
            return Err(LabError::MissingTool {
                what: tool,
                path: format!("$PATH/{tool}").into(),
                hint,
            });
        }
    }
    Ok(())
}

/// Subnets claimed by other labs' state in the same directory, even if their bridge is gone.
fn claimed_subnets(dir: &Path) -> Vec<u8> {
    labs(dir)
        .iter()
        .filter_map(|name| LabState::load(&dir.join(name).join("state.json")).ok())
        .map(|s| s.subnet)
        .collect()
}

/// Creates and starts the hosts from index `from` on, then waits for them concurrently. Hosts
/// before `from` are running already: they only learn the new names in `/etc/hosts`.
fn bring_up(state: &mut LabState, from: usize) -> Result<(), LabError> {
    let authorized = keys::public_key(&state.key)?;
    let peers: Vec<(String, std::net::Ipv4Addr)> = state
        .hosts
        .iter()
        .map(|h| (h.name.clone(), h.addr))
        .collect();
    for h in &state.hosts[..from] {
        rootfs::update_hosts_file(h, &peers)?;
    }
    for h in &mut state.hosts[from..] {
        rootfs::create_dirs(h)?;
        rootfs::write_common_files(h, &authorized, &sshd::config(h.addr), &peers)?;
        if h.kind == HostKind::Systemd {
            systemd::write_units(&h.upper)?;
        }
        rootfs::write_service_policy(&h.upper, h.kind == HostKind::Systemd)?;
        network::create_host_net(&h.netns, &h.veth, &state.bridge, h.addr, state.gateway)?;
        if h.kind == HostKind::Systemd {
            h.cgroups = cgroup::prepare(&h.netns)?;
        }
    }
    // Recorded before any host boots, so that `down` finds every cgroup whatever happens next.
    state.save()?;
    for h in &mut state.hosts[from..] {
        h.pids = vec![host::launch(h)?];
    }
    state.save()?;
    let inits: Vec<Result<Option<u32>, LabError>> = std::thread::scope(|s| {
        let waits: Vec<_> = state.hosts[from..]
            .iter()
            .map(|h| s.spawn(move || wait_host(h)))
            .collect();
        waits
            .into_iter()
            .map(|w| w.join().expect("host wait thread panicked"))
            .collect()
    });
    for (h, init) in state.hosts[from..].iter_mut().zip(inits) {
        h.pids.extend(init?);
        h.alive = true;
    }
    let addrs: Vec<_> = state.hosts.iter().map(|h| h.addr).collect();
    keys::write_known_hosts(&state.known_hosts, &addrs)?;
    write_inventory(state)?;
    state.save()
}

/// Waits until the host accepts SSH (and, for systemd, has booted); returns its PID 1.
fn wait_host(h: &HostState) -> Result<Option<u32>, LabError> {
    match h.kind {
        HostKind::Sshd => host::wait_ready(h, SSHD_TIMEOUT)?,
        HostKind::Systemd => {
            host::wait_ready(h, SYSTEMD_TIMEOUT)?;
            let init = host::init_pid(h).ok_or_else(|| LabError::HostTimeout {
                host: h.name.clone(),
                addr: h.addr.to_string(),
                what: "keep running (no PID 1 found)",
                secs: 0,
                log_tail: host::log_tail(h),
            })?;
            systemd::wait_running(h, init, SYSTEMD_TIMEOUT)?;
        }
    }
    Ok(host::init_pid(h))
}

fn write_inventory(state: &LabState) -> Result<String, LabError> {
    let yaml = inventory::render(state);
    std::fs::write(&state.inventory, &yaml)
        .map_err(|e| LabError::io("cannot write inventory", &state.inventory, e))?;
    Ok(yaml)
}

/// Removes everything `plan` named, whether or not it was created; tries every step and
/// reports the first failure.
fn teardown(state: &LabState) -> Result<(), LabError> {
    let mut errors: Vec<LabError> = Vec::new();
    for h in &state.hosts {
        errors.extend(host::stop(h).err());
    }
    errors.extend(network::delete_link(&state.bridge).err());
    if errors.is_empty() {
        // Only once no host process is left can nothing be mounted over these directories.
        for h in &state.hosts {
            errors.extend(rootfs::remove_dirs(h).err());
        }
        if let Err(e) = std::fs::remove_dir_all(&state.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            errors.push(LabError::io("cannot remove lab directory", &state.dir, e));
        }
    }
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
