//! The lab's network: one bridge and /24 per lab, one network namespace and veth pair per host.
//! Names derive from the subnet number K, which is unique machine-wide, so labs from different
//! state directories (parallel test runs of several worktrees) never collide. Interface names
//! stay within Linux's 15 characters: `strata254` (bridge), `strata254h244` (veth).

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use super::LabError;
use super::cmd::run;

/// First host address in a lab subnet is `.11`, leaving room below for controller services.
pub const FIRST_HOST_OCTET: u8 = 11;
/// `.11` .. `.254`.
pub const MAX_HOSTS: usize = 254 - FIRST_HOST_OCTET as usize + 1;

const LOCK_PATH: &str = "/run/strata-lab.lock";

pub fn bridge_name(subnet: u8) -> String {
    format!("strata{subnet}")
}

pub fn gateway(subnet: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 213, subnet, 1)
}

pub fn host_addr(subnet: u8, index: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 213, subnet, FIRST_HOST_OCTET + index as u8)
}

pub fn veth_name(subnet: u8, index: usize) -> String {
    format!("strata{subnet}h{}", index + 1)
}

pub fn netns_name(subnet: u8, host: &str) -> String {
    format!("strata-{subnet}-{host}")
}

/// Machine-wide lock serialising subnet allocation: held from choosing K until the bridge that
/// claims it exists.
pub struct GlobalLock {
    _file: File,
}

impl GlobalLock {
    pub fn acquire() -> Result<GlobalLock, LabError> {
        let file = File::options()
            .create(true)
            .append(true)
            .open(LOCK_PATH)
            .map_err(|e| LabError::io("cannot open lab lock", LOCK_PATH, e))?;
        // SAFETY: flock on a file descriptor we own; released when the file is closed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(LabError::io(
                "cannot lock",
                LOCK_PATH,
                std::io::Error::last_os_error(),
            ));
        }
        Ok(GlobalLock { _file: file })
    }
}

/// Picks the lowest K whose bridge does not exist, whose subnet no interface uses, and which no
/// lab state in this directory claims. Call with [`GlobalLock`] held.
pub fn allocate_subnet(claimed: &[u8]) -> Result<u8, LabError> {
    let addrs = run("ip", &["-o", "-4", "addr", "show"], None)?;
    let in_use = |k: u8| {
        let prefix = format!("inet 10.213.{k}.");
        claimed.contains(&k) || link_exists(&bridge_name(k)) || addrs.contains(&prefix)
    };
    (1..=254u8)
        .find(|&k| !in_use(k))
        .ok_or(LabError::NoFreeSubnet)
}

pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

pub fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

pub fn create_bridge(bridge: &str, gateway: Ipv4Addr) -> Result<(), LabError> {
    let script = format!(
        "link add {bridge} type bridge\naddr add {gateway}/24 dev {bridge}\nlink set {bridge} up\n"
    );
    run("ip", &["-batch", "-"], Some(&script)).map(drop)
}

pub fn delete_link(name: &str) -> Result<(), LabError> {
    if !link_exists(name) {
        return Ok(());
    }
    match run("ip", &["link", "del", name], None) {
        // Deleting a namespace removes its veth end and, asynchronously, our end with it.
        Err(_) if !link_exists(name) => Ok(()),
        other => other.map(drop),
    }
}

/// Creates the host's namespace, its veth pair (`eth0` inside) on the bridge, and its address.
/// The default route via the bridge is for reaching controller services; the controller does
/// not forward, so there is no way out of the lab.
pub fn create_host_net(
    netns: &str,
    veth: &str,
    bridge: &str,
    addr: Ipv4Addr,
    gateway: Ipv4Addr,
) -> Result<(), LabError> {
    let outside = format!(
        "netns add {netns}\nlink add {veth} type veth peer name eth0 netns {netns}\nlink set {veth} master {bridge} up\n"
    );
    run("ip", &["-batch", "-"], Some(&outside))?;
    // A MAC derived from the address survives `stop`/`start`: with a fresh random one, the
    // controller's neighbour cache keeps the old MAC and the restarted host stays silent
    // until the entry expires.
    let [a, b, c, d] = addr.octets();
    let mac = format!("02:53:{a:02x}:{b:02x}:{c:02x}:{d:02x}");
    let inside = format!(
        "link set lo up\nlink set eth0 address {mac}\naddr add {addr}/24 dev eth0\nlink set eth0 up\nroute add default via {gateway} dev eth0\n"
    );
    run("ip", &["-n", netns, "-batch", "-"], Some(&inside)).map(drop)
}

/// Removes a host's network after ending every process inside it: a namespace with a live
/// process survives `ip netns del` and keeps its veth, which blocks the next `up`.
pub fn delete_host_net(netns: &str, veth: &str) -> Result<(), LabError> {
    if netns_exists(netns) {
        kill_netns_processes(netns)?;
        run("ip", &["netns", "del", netns], None)?;
    }
    delete_link(veth)
}

/// PIDs of processes whose network namespace is `netns`: what `ip netns pids` prints, without
/// starting a process per host.
pub fn netns_pids(netns: &str) -> Vec<u32> {
    let Ok(target) = std::fs::metadata(Path::new("/run/netns").join(netns)) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::metadata(format!("/proc/{pid}/ns/net"))
                .is_ok_and(|m| m.ino() == target.ino() && m.dev() == target.dev())
        })
        .collect()
}

/// SIGKILLs the namespace's processes until none is left. Only processes inside the lab's own
/// namespace are touched.
pub fn kill_netns_processes(netns: &str) -> Result<(), LabError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids = netns_pids(netns);
        if pids.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(LabError::Command {
                command: format!("kill -KILL (processes of netns {netns})"),
                status: "timed out".into(),
                stderr: format!("still running: {pids:?}"),
            });
        }
        for pid in pids {
            // SAFETY: plain kill(2); the pid was just seen inside the lab's namespace.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
