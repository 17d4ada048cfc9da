//! Ansible's hardware (CPU, memory, uptime) and network facts from the probe output. The
//! default IPv4/IPv6 interface is the one the kernel routes a public address through (`ip
//! route get`), as ansible-core does; without such a route the fact is `{}`, as in Ansible.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use super::probe::Sections;

type Facts = Map<String, Value>;

fn put(f: &mut Facts, k: &str, v: impl Into<Value>) {
    f.insert(format!("ansible_{k}"), v.into());
}

pub fn hardware(s: &Sections, f: &mut Facts) {
    cpu(s, f);
    memory(s, f);
    if let Some(up) = s
        .get("uptime")
        .split_whitespace()
        .next()
        .and_then(|u| u.parse::<f64>().ok())
    {
        put(f, "uptime_seconds", up as i64);
    }
}

fn cpu(s: &Sections, f: &mut Facts) {
    let mut processor = Vec::new();
    let (mut entries, mut sockets) = (0i64, std::collections::BTreeSet::new());
    let (mut cores, mut siblings) = (None, None);
    for line in s.lines("cpuinfo") {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        match k {
            "processor" => {
                entries += 1;
                processor.push(Value::from(v));
            }
            "vendor_id" | "model name" => processor.push(Value::from(v)),
            "physical id" => {
                sockets.insert(v.to_string());
            }
            "cpu cores" => cores = cores.or(v.parse::<i64>().ok()),
            "siblings" => siblings = siblings.or(v.parse::<i64>().ok()),
            _ => {}
        }
    }
    if entries == 0 {
        return;
    }
    // Without socket data (ARM, some VMs) every listed processor counts as one socket.
    let count = if sockets.is_empty() {
        entries
    } else {
        sockets.len() as i64
    };
    let per_socket = cores.unwrap_or(1).max(1);
    let threads = (siblings.unwrap_or(per_socket) / per_socket).max(1);
    put(f, "processor", processor);
    put(f, "processor_count", count);
    put(f, "processor_cores", per_socket);
    put(f, "processor_threads_per_core", threads);
    put(f, "processor_vcpus", threads * count * per_socket);
    if let Ok(n) = s.get("nproc").trim().parse::<i64>() {
        put(f, "processor_nproc", n);
    }
}

fn memory(s: &Sections, f: &mut Facts) {
    let mem: BTreeMap<&str, i64> = s
        .lines("meminfo")
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((
                k.trim(),
                v.split_whitespace().next()?.parse::<i64>().ok()? / 1024,
            ))
        })
        .collect();
    let Some(&total) = mem.get("MemTotal") else {
        return;
    };
    let g = |k: &str| mem.get(k).copied().unwrap_or(0);
    let (free, swap_total, swap_free) = (g("MemFree"), g("SwapTotal"), g("SwapFree"));
    let nocache_free = free + g("Buffers") + g("Cached");
    put(f, "memtotal_mb", total);
    put(f, "memfree_mb", free);
    put(f, "swaptotal_mb", swap_total);
    put(f, "swapfree_mb", swap_free);
    put(
        f,
        "memory_mb",
        json!({
            "real": {"total": total, "used": total - free, "free": free},
            "nocache": {"free": nocache_free, "used": total - nocache_free},
            "swap": {"total": swap_total, "free": swap_free, "used": swap_total - swap_free},
        }),
    );
}

/// One interface as Ansible describes it (`ansible_eth0`).
#[derive(Default)]
struct Iface {
    mac: Option<String>,
    mtu: i64,
    kind: String,
    active: bool,
    ipv4: Option<Map<String, Value>>,
    ipv4_secondaries: Vec<Value>,
    ipv6: Vec<Value>,
}

pub fn network(s: &Sections, f: &mut Facts) {
    let mut ifaces: BTreeMap<String, Iface> = BTreeMap::new();
    for line in s.lines("links") {
        let w: Vec<&str> = line.split_whitespace().collect();
        let [name, mac, mtu, kind, flags] = w[..] else {
            continue;
        };
        let flags = i64::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap_or(0);
        let kind = match kind {
            "1" => "ether",
            "772" => "loopback",
            "bridge" => "bridge",
            _ => "unknown",
        };
        ifaces.insert(
            name.to_string(),
            Iface {
                mac: (mac != "-").then(|| mac.to_string()),
                mtu: mtu.parse().unwrap_or(0),
                kind: kind.into(),
                active: flags & 1 == 1,
                ..Iface::default()
            },
        );
    }
    let (mut all4, mut all6) = (Vec::new(), Vec::new());
    for line in s.lines("addr") {
        // `2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global secondary eth0:1\       valid_lft ...`
        let line = line.split('\\').next().unwrap_or(line);
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() < 4 {
            continue;
        }
        let dev = w[1].split('@').next().unwrap_or(w[1]).to_string();
        let Some((addr, prefix)) = w[3].split_once('/') else {
            continue;
        };
        let opt = |key: &str| {
            w.iter()
                .position(|x| *x == key)
                .and_then(|i| w.get(i + 1))
                .map(|s| s.to_string())
        };
        let iface = ifaces.entry(dev.clone()).or_default();
        match w[2] {
            "inet" => {
                let Ok(ip) = addr.parse::<Ipv4Addr>() else {
                    continue;
                };
                let bits: u32 = prefix.parse().unwrap_or(32).min(32);
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                let mut m = Map::new();
                m.insert("address".into(), addr.into());
                m.insert("broadcast".into(), opt("brd").unwrap_or_default().into());
                m.insert("netmask".into(), Ipv4Addr::from(mask).to_string().into());
                m.insert(
                    "network".into(),
                    Ipv4Addr::from(u32::from(ip) & mask).to_string().into(),
                );
                m.insert("prefix".into(), prefix.into());
                if w.contains(&"secondary") || iface.ipv4.is_some() {
                    iface.ipv4_secondaries.push(Value::Object(m));
                } else {
                    iface.ipv4 = Some(m);
                }
                if !addr.starts_with("127.") {
                    all4.push(Value::from(addr));
                }
            }
            "inet6" => {
                iface.ipv6.push(json!({"address": addr, "prefix": prefix, "scope": opt("scope").unwrap_or_default()}));
                if addr != "::1" {
                    all6.push(Value::from(addr));
                }
            }
            _ => {}
        }
    }
    let default4 = default_route(s.get("route4"), &ifaces, false);
    let default6 = default_route(s.get("route6"), &ifaces, true);
    put(f, "interfaces", ifaces.keys().cloned().collect::<Vec<_>>());
    put(f, "all_ipv4_addresses", all4);
    put(f, "all_ipv6_addresses", all6);
    put(f, "default_ipv4", default4);
    put(f, "default_ipv6", default6);
    for (name, i) in ifaces {
        let mut m = Map::new();
        m.insert("device".into(), name.clone().into());
        m.insert("active".into(), i.active.into());
        m.insert("mtu".into(), i.mtu.into());
        m.insert("type".into(), i.kind.clone().into());
        m.insert("promisc".into(), false.into());
        if let Some(mac) = &i.mac {
            m.insert("macaddress".into(), mac.clone().into());
        }
        if let Some(v4) = &i.ipv4 {
            m.insert("ipv4".into(), Value::Object(v4.clone()));
        }
        if !i.ipv4_secondaries.is_empty() {
            m.insert("ipv4_secondaries".into(), i.ipv4_secondaries.clone().into());
        }
        if !i.ipv6.is_empty() {
            m.insert("ipv6".into(), i.ipv6.clone().into());
        }
        put(f, &name.replace(['-', ':'], "_"), m);
    }
}

/// `ip route get` output (`8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0`) joined with the
/// interface's details, as Ansible's `default_ipv4`/`default_ipv6`.
fn default_route(route: &str, ifaces: &BTreeMap<String, Iface>, v6: bool) -> Map<String, Value> {
    let w: Vec<&str> = route.split_whitespace().collect();
    let opt = |key: &str| {
        w.iter()
            .position(|x| *x == key)
            .and_then(|i| w.get(i + 1))
            .map(|s| s.to_string())
    };
    let (Some(dev), Some(src)) = (opt("dev"), opt("src")) else {
        return Map::new();
    };
    let mut m = Map::new();
    m.insert("interface".into(), dev.clone().into());
    m.insert("address".into(), src.clone().into());
    m.insert("alias".into(), dev.clone().into());
    if let Some(gw) = opt("via") {
        m.insert("gateway".into(), gw.into());
    }
    if let Some(i) = ifaces.get(&dev) {
        let addr_info = if v6 {
            i.ipv6
                .iter()
                .find(|a| a["address"] == src.as_str())
                .and_then(|a| a.as_object().cloned())
        } else {
            i.ipv4
                .iter()
                .chain(i.ipv4_secondaries.iter().filter_map(|v| v.as_object()))
                .find(|a| a["address"] == src.as_str())
                .cloned()
        };
        for (k, v) in addr_info.unwrap_or_default() {
            m.entry(k).or_insert(v);
        }
        if let Some(mac) = &i.mac {
            m.insert("macaddress".into(), mac.clone().into());
        }
        m.insert("mtu".into(), i.mtu.into());
        m.insert("type".into(), i.kind.clone().into());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBE: &str = "\n@@addr\n\
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n\
1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever\n\
4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever preferred_lft forever\n\
4: eth0    inet 192.0.2.9/24 brd 192.0.2.255 scope global secondary eth0:1\\       valid_lft forever\n\
4: eth0    inet6 fd00::2/64 scope global nodad \\       valid_lft forever preferred_lft forever\n\
\n@@route4\n8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \n    cache \n\
\n@@route6\n2404:6800:400a:813::200e from :: via fd00::1 dev eth0 src fd00::2 metric 1024 pref medium\n\
\n@@links\neth0 02:00:00:00:00:01 1500 1 0x1003\nlo 00:00:00:00:00:00 65536 772 0x9\nbr-x 02:00:00:00:00:02 1500 bridge 0x1002\n";

    #[test]
    fn network_facts() {
        let mut f = Facts::new();
        network(&Sections::parse(PROBE.as_bytes()), &mut f);
        assert_eq!(f["ansible_interfaces"], json!(["br-x", "eth0", "lo"]));
        assert_eq!(
            f["ansible_all_ipv4_addresses"],
            json!(["192.0.2.2", "192.0.2.9"])
        );
        assert_eq!(f["ansible_all_ipv6_addresses"], json!(["fd00::2"]));
        let d = &f["ansible_default_ipv4"];
        assert_eq!(
            (&d["address"], &d["interface"], &d["gateway"]),
            (&json!("192.0.2.2"), &json!("eth0"), &json!("192.0.2.1"))
        );
        assert_eq!(
            (&d["netmask"], &d["network"], &d["prefix"]),
            (&json!("255.255.255.0"), &json!("192.0.2.0"), &json!("24"))
        );
        assert_eq!(
            (&d["macaddress"], &d["mtu"], &d["type"]),
            (&json!("02:00:00:00:00:01"), &json!(1500), &json!("ether"))
        );
        assert_eq!(f["ansible_default_ipv6"]["gateway"], "fd00::1");
        assert_eq!(f["ansible_eth0"]["ipv4"]["address"], "192.0.2.2");
        assert_eq!(
            f["ansible_eth0"]["ipv4_secondaries"][0]["address"],
            "192.0.2.9"
        );
        assert_eq!(f["ansible_lo"]["type"], "loopback");
        assert_eq!(
            (&f["ansible_br_x"]["type"], &f["ansible_br_x"]["active"]),
            (&json!("bridge"), &json!(false))
        );
    }

    #[test]
    fn no_default_route_gives_empty_dict() {
        let mut f = Facts::new();
        network(&Sections::parse(b"\n@@route4\n\n@@links\n"), &mut f);
        assert_eq!(f["ansible_default_ipv4"], json!({}));
    }

    #[test]
    fn cpu_and_memory() {
        let probe = "\n@@cpuinfo\nprocessor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\nsiblings\t: 4\ncpu cores\t: 2\n\
processor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\nsiblings\t: 4\ncpu cores\t: 2\n\
\n@@nproc\n2\n\n@@meminfo\nMemTotal:        4030000 kB\nMemFree:          1024000 kB\nBuffers: 1024 kB\nCached: 102400 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n\
\n@@uptime\n12345.67 2000.00\n";
        let mut f = Facts::new();
        hardware(&Sections::parse(probe.as_bytes()), &mut f);
        assert_eq!(
            f["ansible_processor"],
            json!([
                "0",
                "AuthenticAMD",
                "AMD EPYC",
                "1",
                "AuthenticAMD",
                "AMD EPYC"
            ])
        );
        assert_eq!(
            (&f["ansible_processor_count"], &f["ansible_processor_cores"]),
            (&json!(1), &json!(2))
        );
        assert_eq!(
            (
                &f["ansible_processor_threads_per_core"],
                &f["ansible_processor_vcpus"]
            ),
            (&json!(2), &json!(4))
        );
        assert_eq!(f["ansible_memtotal_mb"], 3935);
        assert_eq!(f["ansible_memory_mb"]["nocache"]["free"], 1000 + 1 + 100);
        assert_eq!(f["ansible_uptime_seconds"], 12345);
    }
}
