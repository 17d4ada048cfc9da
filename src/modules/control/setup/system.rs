//! Ansible's minimal fact set from the probe output: platform, distribution, user, date and
//! time, service and package managers, DNS, kernel command line and environment. Names and
//! value formats follow ansible-core's fact collectors (all `date_time` values are strings,
//! distribution names are Ansible's spellings, and so on).

use serde_json::{Map, Value, json};

use super::probe::Sections;
use crate::modules::toolkit::clock::civil_from_days;

type Facts = Map<String, Value>;

pub fn collect(s: &Sections, f: &mut Facts) {
    platform(s, f);
    distribution(s, f);
    user(s, f);
    date_time(s, f);
    service_mgr(s, f);
    pkg_mgr(s, f);
    dns(s, f);
    misc(s, f);
    f.insert("ansible_env".into(), Value::Object(s.env.clone()));
}

fn put(f: &mut Facts, k: &str, v: impl Into<Value>) {
    f.insert(format!("ansible_{k}"), v.into());
}

fn platform(s: &Sections, f: &mut Facts) {
    let kv = s.kv("platform");
    let get = |k: &str| kv.get(k).copied().unwrap_or("").to_string();
    let machine = get("machine");
    let nodename = Some(get("hostname"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| get("uname_n"));
    let fqdn = Some(get("fqdn"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| nodename.clone());
    let arch = match machine.as_str() {
        "i386" | "i486" | "i586" | "i686" => "i386".to_string(),
        m => m.to_string(),
    };
    put(
        f,
        "system",
        Some(get("ostype"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "Linux".into()),
    );
    put(f, "kernel", get("osrelease"));
    put(f, "kernel_version", get("version"));
    put(f, "machine", machine);
    put(f, "architecture", arch);
    put(
        f,
        "hostname",
        nodename.split('.').next().unwrap_or_default(),
    );
    put(f, "nodename", nodename.clone());
    put(
        f,
        "domain",
        fqdn.split_once('.').map(|(_, d)| d).unwrap_or(""),
    );
    put(f, "fqdn", fqdn);
}

/// `/etc/os-release` values, unquoted.
fn os_release(s: &Sections) -> Map<String, Value> {
    s.lines("os_release")
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(v);
            let v = v
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .unwrap_or(v);
            (
                k.to_string(),
                Value::from(
                    v.replace("\\\"", "\"")
                        .replace("\\$", "$")
                        .replace("\\\\", "\\"),
                ),
            )
        })
        .collect()
}

/// Ansible's spelling of a distribution, from the os-release `ID`.
fn distribution_name(id: &str, name: &str) -> String {
    let known = match id {
        "debian" => "Debian",
        "ubuntu" => "Ubuntu",
        "raspbian" => "Raspbian",
        "linuxmint" => "Linux Mint",
        "pop" => "Pop!_OS",
        "kali" => "Kali",
        "devuan" => "Devuan",
        "rhel" => "RedHat",
        "centos" => "CentOS",
        "fedora" => "Fedora",
        "rocky" => "Rocky",
        "almalinux" => "AlmaLinux",
        "ol" => "OracleLinux",
        "amzn" => "Amazon",
        "alpine" => "Alpine",
        "arch" => "Archlinux",
        "manjaro" => "Manjaro",
        "gentoo" => "Gentoo",
        "sles" => "SLES",
        "opensuse-leap" => "openSUSE Leap",
        "opensuse-tumbleweed" => "openSUSE Tumbleweed",
        _ => "",
    };
    if !known.is_empty() {
        known.to_string()
    } else if !name.is_empty() {
        name.split_whitespace().next().unwrap_or(name).to_string()
    } else {
        "OtherLinux".to_string()
    }
}

/// ansible-core's `OS_FAMILY_MAP`, for the distributions it names.
fn os_family(dist: &str) -> &str {
    match dist {
        "RedHat" | "Fedora" | "CentOS" | "Scientific" | "CloudLinux" | "OracleLinux" | "Amazon"
        | "Virtuozzo" | "XenServer" | "Alibaba" | "EulerOS" | "openEuler" | "AlmaLinux"
        | "Rocky" | "TencentOS" | "EuroLinux" => "RedHat",
        "Debian" | "Ubuntu" | "Raspbian" | "Neon" | "KDE neon" | "Linux Mint" | "SteamOS"
        | "Devuan" | "Kali" | "Cumulus Linux" | "Pop!_OS" | "Parrot" | "Pardus GNU/Linux"
        | "Uos" | "Deepin" | "OSMC" => "Debian",
        "SuSE"
        | "SLES"
        | "SLED"
        | "openSUSE"
        | "openSUSE Tumbleweed"
        | "SLES_SAP"
        | "SUSE_LINUX"
        | "openSUSE Leap" => "Suse",
        "Archlinux" | "Antergos" | "Manjaro" => "Archlinux",
        other => other,
    }
}

fn distribution(s: &Sections, f: &mut Facts) {
    let osr = os_release(s);
    let field = |k: &str| osr.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let dist = distribution_name(&field("ID"), &field("NAME"));
    // Debian's point release lives only in /etc/debian_version ("12.12"); testing says "trixie/sid".
    let debian_version = s.get("debian_version").trim().to_string();
    let version = if dist == "Debian" && debian_version.starts_with(|c: char| c.is_ascii_digit()) {
        debian_version
    } else {
        field("VERSION_ID")
    };
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or("").to_string();
    let minor = parts.next().map(str::to_string);
    let release = Some(field("VERSION_CODENAME"))
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "NA".into());
    put(f, "os_family", os_family(&dist));
    put(f, "distribution", dist);
    put(
        f,
        "distribution_version",
        if version.is_empty() {
            "NA".to_string()
        } else {
            version.clone()
        },
    );
    put(
        f,
        "distribution_major_version",
        if major.is_empty() {
            "NA".to_string()
        } else {
            major
        },
    );
    if let Some(m) = minor {
        put(f, "distribution_minor_version", m);
    }
    put(f, "distribution_release", release);
}

fn user(s: &Sections, f: &mut Facts) {
    let kv = s.kv("user");
    let id = kv.get("id").copied().unwrap_or("");
    // `uid=1000(alice) gid=1000(alice) groups=...`
    let field = |key: &str| -> (Option<i64>, Option<String>) {
        let Some(rest) = id.split_whitespace().find_map(|w| w.strip_prefix(key)) else {
            return (None, None);
        };
        let num = rest.split('(').next().and_then(|n| n.parse().ok());
        let name = rest
            .split_once('(')
            .map(|(_, n)| n.trim_end_matches(')').to_string());
        (num, name)
    };
    let (uid, uname) = field("uid=");
    let (gid, _) = field("gid=");
    let pw = kv.get("pw").copied().unwrap_or("");
    let pw: Vec<&str> = pw.splitn(7, ':').collect();
    let pw_field = |i: usize| pw.get(i).map(|s| s.to_string());
    // getpass.getuser(): the login variables first, then the password database.
    let env_name = ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .find_map(|k| {
            s.env
                .get(*k)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        });
    if let Some(name) = env_name.or(uname).or_else(|| pw_field(0)) {
        put(f, "user_id", name);
    }
    for (k, v) in [
        ("user_uid", uid),
        ("real_user_id", uid),
        ("effective_user_id", uid),
    ] {
        if let Some(v) = v {
            put(f, k, v);
        }
    }
    for (k, v) in [
        ("user_gid", gid),
        ("real_group_id", gid),
        ("effective_group_id", gid),
    ] {
        if let Some(v) = v {
            put(f, k, v);
        }
    }
    if pw.len() == 7 {
        put(f, "user_gecos", pw[4]);
        put(f, "user_dir", pw[5]);
        put(f, "user_shell", pw[6]);
    }
}

fn date_time(s: &Sections, f: &mut Facts) {
    let line = s.get("date");
    let p: Vec<&str> = line.split('|').collect();
    if p.len() < 13 {
        return;
    }
    let (epoch, nanos) = (p[9].parse::<i64>().unwrap_or(0), p[10]);
    // `%N` is a GNU extension; elsewhere it comes back unexpanded.
    let micros = if nanos.len() >= 6 && nanos.bytes().all(|b| b.is_ascii_digit()) {
        &nanos[..6]
    } else {
        "000000"
    };
    let (y, mo, d) = civil_from_days(epoch.div_euclid(86400));
    let sod = epoch.rem_euclid(86400);
    let utc = format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    let (year, month, day, hour, minute, second) = (p[0], p[1], p[5], p[6], p[7], p[8]);
    let dt = json!({
        "year": year, "month": month, "weekday": p[2], "weekday_number": p[3], "weeknumber": p[4],
        "day": day, "hour": hour, "minute": minute, "second": second,
        "epoch": p[9], "epoch_int": p[9],
        "date": format!("{year}-{month}-{day}"),
        "time": format!("{hour}:{minute}:{second}"),
        "iso8601_micro": format!("{utc}.{micros}Z"),
        "iso8601": format!("{utc}Z"),
        "iso8601_basic": format!("{year}{month}{day}T{hour}{minute}{second}{micros}"),
        "iso8601_basic_short": format!("{year}{month}{day}T{hour}{minute}{second}"),
        "tz": p[11], "tz_offset": p[12],
    });
    put(f, "date_time", dt);
}

/// ansible-core's service manager detection for Linux.
fn service_mgr(s: &Sections, f: &mut Facts) {
    let kv = s.kv("service_mgr");
    let exists = |p: &str| s.has_line("service_mgr", &format!("exists={p}"));
    let systemctl = s.has_line("service_mgr", "systemctl");
    let comm = kv.get("comm").copied().unwrap_or("").trim();
    // `init` (or a shell, in containers) says nothing about the manager.
    let trusted = !comm.is_empty() && comm != "init" && !comm.ends_with("sh");
    let name = if trusted {
        match comm {
            "procd" => "openwrt_init",
            "runit-init" => "runit",
            "svscan" => "svc",
            "openrc-init" => "openrc",
            other => other,
        }
    } else if systemctl
        && ["/run/systemd/system", "/dev/.run/systemd", "/dev/.systemd"]
            .iter()
            .any(|p| exists(p))
    {
        "systemd"
    } else if s.has_line("service_mgr", "initctl") && exists("/etc/init") {
        "upstart"
    } else if exists("/sbin/openrc") {
        "openrc"
    } else if systemctl
        && kv
            .get("init_link")
            .is_some_and(|l| l.rsplit('/').next() == Some("systemd"))
    {
        "systemd"
    } else if exists("/etc/init.d") {
        "sysvinit"
    } else if exists("/etc/dinit.d") {
        "dinit"
    } else {
        "service"
    };
    put(f, "service_mgr", name);
}

fn pkg_mgr(s: &Sections, f: &mut Facts) {
    let has = |p: &str| s.has_line("pkg_mgr", p);
    let family = f
        .get("ansible_os_family")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let dist = f
        .get("ansible_distribution")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let name = if family == "RedHat" {
        if has("dnf5") && (dist == "Fedora" || !has("dnf")) {
            "dnf5"
        } else if has("dnf") {
            "dnf"
        } else if has("yum") {
            "yum"
        } else {
            "unknown"
        }
    } else {
        [
            ("apt-get", "apt"),
            ("zypper", "zypper"),
            ("apk", "apk"),
            ("pacman", "pacman"),
            ("emerge", "portage"),
        ]
        .iter()
        .chain(&[("dnf5", "dnf5"), ("dnf", "dnf"), ("yum", "yum")])
        .find(|(bin, _)| has(bin))
        .map(|(_, n)| *n)
        .unwrap_or("unknown")
    };
    put(f, "pkg_mgr", name);
}

fn dns(s: &Sections, f: &mut Facts) {
    let mut d = Map::new();
    for line in s.lines("resolv") {
        let mut w = line.split_whitespace();
        let (Some(key), rest) = (w.next(), w.map(Value::from).collect::<Vec<_>>()) else {
            continue;
        };
        match key {
            "nameserver" => {
                let list = d
                    .entry("nameservers")
                    .or_insert_with(|| Value::Array(vec![]));
                if let Value::Array(a) = list {
                    a.extend(rest);
                }
            }
            "domain" => {
                if let Some(v) = rest.into_iter().next() {
                    d.insert("domain".into(), v);
                }
            }
            "search" => {
                d.insert("search".into(), Value::Array(rest));
            }
            "options" => {
                let opts = d
                    .entry("options")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(o) = opts {
                    for opt in rest.iter().filter_map(Value::as_str) {
                        match opt.split_once(':') {
                            Some((k, v)) => o.insert(k.into(), v.into()),
                            None => o.insert(opt.into(), true.into()),
                        };
                    }
                }
            }
            _ => {}
        }
    }
    put(f, "dns", d);
}

fn misc(s: &Sections, f: &mut Facts) {
    let kv = s.kv("misc");
    let apparmor = if kv.contains_key("apparmor") {
        "enabled"
    } else {
        "disabled"
    };
    put(f, "apparmor", json!({ "status": apparmor }));
    put(f, "fips", kv.get("fips").is_some_and(|v| v.trim() == "1"));
    let line = kv.get("cmdline").copied().unwrap_or("");
    let (mut cmdline, mut proc_cmdline) = (Map::new(), Map::new());
    for tok in line.split_whitespace() {
        let (k, v) = tok
            .split_once('=')
            .map(|(k, v)| (k, Value::from(v)))
            .unwrap_or((tok, Value::Bool(true)));
        cmdline.insert(k.into(), v.clone());
        // proc_cmdline keeps every value of a repeated key, as a list.
        match proc_cmdline.get_mut(k) {
            Some(Value::Array(a)) => a.push(v),
            Some(prev) => *prev = Value::Array(vec![prev.clone(), v]),
            None => {
                proc_cmdline.insert(k.into(), v);
            }
        }
    }
    put(f, "cmdline", cmdline);
    put(f, "proc_cmdline", proc_cmdline);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(probe: &str) -> Facts {
        let mut f = Facts::new();
        collect(&Sections::parse(probe.as_bytes()), &mut f);
        f
    }

    #[test]
    fn debian_distribution_uses_debian_version() {
        let f = facts(
            "\n@@os_release\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n\n@@debian_version\n12.12\n",
        );
        assert_eq!(f["ansible_distribution"], "Debian");
        assert_eq!(f["ansible_os_family"], "Debian");
        assert_eq!(f["ansible_distribution_version"], "12.12");
        assert_eq!(f["ansible_distribution_major_version"], "12");
        assert_eq!(f["ansible_distribution_minor_version"], "12");
        assert_eq!(f["ansible_distribution_release"], "bookworm");
    }

    #[test]
    fn other_distributions() {
        let f = facts(
            "\n@@os_release\nNAME=\"Rocky Linux\"\nVERSION_ID=\"9.3\"\nID=\"rocky\"\n\n@@pkg_mgr\nyum\ndnf\n",
        );
        assert_eq!(
            (&f["ansible_distribution"], &f["ansible_os_family"]),
            (&json!("Rocky"), &json!("RedHat"))
        );
        assert_eq!(f["ansible_distribution_major_version"], "9");
        assert_eq!(f["ansible_distribution_release"], "NA");
        assert_eq!(f["ansible_pkg_mgr"], "dnf");
        let f = facts(
            "\n@@os_release\nID=ubuntu\nVERSION_ID=\"22.04\"\nVERSION_CODENAME=jammy\n\n@@pkg_mgr\napt-get\n",
        );
        assert_eq!(
            (
                &f["ansible_distribution"],
                &f["ansible_distribution_version"]
            ),
            (&json!("Ubuntu"), &json!("22.04"))
        );
        assert_eq!(f["ansible_pkg_mgr"], "apt");
    }

    #[test]
    fn service_manager_rules() {
        let mgr = |probe: &str| facts(probe)["ansible_service_mgr"].clone();
        assert_eq!(mgr("\n@@service_mgr\ncomm=systemd\n"), "systemd");
        assert_eq!(
            mgr("\n@@service_mgr\ncomm=bash\nsystemctl\nexists=/run/systemd/system\n"),
            "systemd"
        );
        assert_eq!(
            mgr("\n@@service_mgr\ncomm=sh\nexists=/etc/init.d\n"),
            "sysvinit"
        );
        assert_eq!(
            mgr("\n@@service_mgr\ncomm=init\nexists=/sbin/openrc\nexists=/etc/init.d\n"),
            "openrc"
        );
        assert_eq!(mgr("\n@@service_mgr\ncomm=tini\n"), "tini");
        assert_eq!(mgr("\n@@service_mgr\n"), "service");
    }

    #[test]
    fn dates_users_dns_cmdline() {
        let f = facts(concat!(
            "\n@@date\n2024|03|Friday|5|09|01|13|04|05|1709298245|123456789|CET|+0100\n",
            "\n@@user\nid=uid=1000(alice) gid=100(users) groups=100(users)\npw=alice:x:1000:100:Alice A:/home/alice:/bin/bash\n",
            "\n@@resolv\n# c\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nsearch a.example b.example\noptions ndots:2 rotate\n",
            "\n@@misc\ncmdline=BOOT_IMAGE=/vmlinuz ro quiet x=1 x=2\nfips=0\n",
        ));
        let dt = &f["ansible_date_time"];
        assert_eq!(dt["date"], "2024-03-01");
        assert_eq!(dt["time"], "13:04:05");
        assert_eq!(dt["iso8601"], "2024-03-01T13:04:05Z");
        assert_eq!(dt["iso8601_micro"], "2024-03-01T13:04:05.123456Z");
        assert_eq!(dt["iso8601_basic_short"], "20240301T130405");
        assert_eq!(
            (&dt["epoch"], &dt["tz"], &dt["weekday"]),
            (&json!("1709298245"), &json!("CET"), &json!("Friday"))
        );
        assert_eq!(f["ansible_user_id"], "alice");
        assert_eq!(
            (&f["ansible_user_uid"], &f["ansible_user_gid"]),
            (&json!(1000), &json!(100))
        );
        assert_eq!(
            (&f["ansible_user_dir"], &f["ansible_user_shell"]),
            (&json!("/home/alice"), &json!("/bin/bash"))
        );
        assert_eq!(
            f["ansible_dns"],
            json!({"nameservers": ["10.0.0.1", "10.0.0.2"], "search": ["a.example", "b.example"], "options": {"ndots": "2", "rotate": true}})
        );
        assert_eq!(
            f["ansible_cmdline"],
            json!({"BOOT_IMAGE": "/vmlinuz", "ro": true, "quiet": true, "x": "2"})
        );
        assert_eq!(f["ansible_proc_cmdline"]["x"], json!(["1", "2"]));
        assert_eq!(f["ansible_fips"], false);
    }
}
