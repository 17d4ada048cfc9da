//! The fact-gathering probe: one `sh` script that prints raw system data in `@@section`
//! blocks, read from `/proc`, `/sys` and `/etc` with shell builtins where possible, so a whole
//! `setup` costs one round trip and a handful of short processes. Interpretation happens in
//! Rust (`system`, `hw_net`), where it can be tested.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Which fact groups to gather, from `gather_subset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subsets {
    pub min: bool,
    pub hardware: bool,
    pub network: bool,
}

/// The subset names strata understands; `virtual` is accepted and gathers nothing.
pub const SUBSETS: &[&str] = &["all", "hardware", "min", "network", "virtual"];

impl Subsets {
    /// Ansible's `gather_subset` rules: `all` adds every group, `!name` removes one, `!all`
    /// keeps only the minimal set, and `!all,!min` leaves just what is named explicitly.
    pub fn parse(items: &[String]) -> Result<Self, String> {
        let mut s = Subsets {
            min: true,
            hardware: false,
            network: false,
        };
        let (mut excl_hw, mut excl_net) = (false, false);
        for item in items.iter().map(|i| i.trim()) {
            let (neg, name) = match item.strip_prefix('!') {
                Some(n) => (true, n),
                None => (false, item),
            };
            if !SUBSETS.contains(&name) {
                return Err(format!(
                    "Bad subset '{name}' given to Ansible. gather_subset options allowed: {}",
                    SUBSETS.join(", ")
                ));
            }
            match (neg, name) {
                (false, "all") => (s.hardware, s.network) = (true, true),
                (true, "all") => (excl_hw, excl_net) = (true, true),
                (true, "min") => s.min = false,
                (false, "hardware") => s.hardware = true,
                (true, "hardware") => excl_hw = true,
                (false, "network") => s.network = true,
                (true, "network") => excl_net = true,
                _ => {}
            }
        }
        // An explicit positive name wins over `!all`.
        let named = |n: &str| items.iter().any(|i| i.trim() == n);
        s.hardware = (s.hardware && !excl_hw) || named("hardware");
        s.network = (s.network && !excl_net) || named("network");
        Ok(s)
    }
}

/// Where Ansible's `setup` reads local facts from by default (its `fact_path`); the probe
/// lists the `.fact` files there, so that not reading them is never silent.
pub const FACT_PATH: &str = "/etc/ansible/facts.d";

const PRELUDE: &str = "__s() { printf '\\n@@%s\\n' \"$1\"; }\n";

const MIN: &str = r#"__s platform
printf 'machine=%s\n' "$(uname -m)"
for __k in ostype osrelease version hostname; do __v=; read -r __v 2>/dev/null </proc/sys/kernel/$__k; printf '%s=%s\n' $__k "$__v"; done
printf 'uname_n=%s\n' "$(uname -n)"
printf 'fqdn=%s\n' "$(hostname -f 2>/dev/null)"
__s os_release
cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null
__s debian_version
cat /etc/debian_version 2>/dev/null
__s user
__i=$(id); printf 'id=%s\n' "$__i"; __u=${__i#uid=}; __u=${__u%%(*}
printf 'pw=%s\n' "$(getent passwd "$__u" 2>/dev/null || grep "^[^:]*:[^:]*:$__u:" /etc/passwd)"
__s date
date '+%Y|%m|%A|%w|%W|%d|%H|%M|%S|%s|%N|%Z|%z'
__s service_mgr
__v=; read -r __v 2>/dev/null </proc/1/comm; printf 'comm=%s\n' "$__v"
command -v systemctl >/dev/null 2>&1 && echo systemctl
command -v initctl >/dev/null 2>&1 && echo initctl
for __p in /run/systemd/system /dev/.run/systemd /dev/.systemd /sbin/openrc /etc/init /etc/init.d /etc/dinit.d; do [ -e $__p ] && echo "exists=$__p"; done
[ -L /sbin/init ] && printf 'init_link=%s\n' "$(readlink /sbin/init)"
__s pkg_mgr
for __p in apt-get dnf5 dnf yum zypper apk pacman emerge; do command -v $__p >/dev/null 2>&1 && echo $__p; done
__s resolv
cat /etc/resolv.conf 2>/dev/null
__s misc
[ -d /sys/kernel/security/apparmor ] && echo apparmor=1
__v=; read -r __v 2>/dev/null </proc/sys/crypto/fips_enabled; printf 'fips=%s\n' "$__v"
__v=; read -r __v 2>/dev/null </proc/cmdline; printf 'cmdline=%s\n' "$__v"
__s local
for __f in /etc/ansible/facts.d/*.fact; do [ -e "$__f" ] && printf '%s\n' "$__f"; done
"#;

const HARDWARE: &str = r#"__s cpuinfo
grep -E '^(processor|vendor_id|model name|physical id|cpu cores|siblings)[[:space:]]*:' /proc/cpuinfo 2>/dev/null
__s nproc
nproc 2>/dev/null
__s meminfo
cat /proc/meminfo 2>/dev/null
__s uptime
cat /proc/uptime 2>/dev/null
"#;

const NETWORK: &str = r#"__s addr
ip -o addr show 2>/dev/null
__s route4
ip -4 route get 8.8.8.8 2>/dev/null
__s route6
ip -6 route get 2404:6800:400a:813::200e 2>/dev/null
__s links
for __d in /sys/class/net/*; do
  [ -e "$__d" ] || continue
  __m=; __u=; __t=; __f=
  read -r __m 2>/dev/null <"$__d/address"; read -r __u 2>/dev/null <"$__d/mtu"
  read -r __t 2>/dev/null <"$__d/type"; read -r __f 2>/dev/null <"$__d/flags"
  [ -d "$__d/bridge" ] && __t=bridge
  printf '%s %s %s %s %s\n' "${__d##*/}" "${__m:--}" "${__u:-0}" "${__t:-0}" "${__f:-0}"
done
"#;

/// The environment goes last: `env -0` output is NUL-separated, so values may hold newlines.
const ENV: &str = "if env -0 >/dev/null 2>&1; then __s env0; env -0; else __s env; env; fi\n";

/// The probe script for the chosen subsets.
pub fn script(s: Subsets) -> String {
    let mut out = String::from(PRELUDE);
    if s.min {
        out.push_str(MIN);
    }
    if s.hardware {
        out.push_str(HARDWARE);
    }
    if s.network {
        out.push_str(NETWORK);
    }
    if s.min {
        out.push_str(ENV);
    }
    out
}

/// The probe's output split into sections, plus the environment.
#[derive(Debug, Default)]
pub struct Sections {
    text: HashMap<String, String>,
    pub env: Map<String, Value>,
}

impl Sections {
    pub fn parse(out: &[u8]) -> Self {
        let mut s = Sections::default();
        let (head, env) = match find(out, b"\n@@env0\n") {
            Some(i) => (&out[..i], Some((&out[i + 8..], b'\0'))),
            None => match find(out, b"\n@@env\n") {
                Some(i) => (&out[..i], Some((&out[i + 7..], b'\n'))),
                None => (out, None),
            },
        };
        let head = String::from_utf8_lossy(head);
        let mut name = String::new();
        for line in head.split('\n') {
            if let Some(n) = line.strip_prefix("@@") {
                name = n.to_string();
                s.text.entry(name.clone()).or_default();
            } else if !name.is_empty() {
                let t = s.text.entry(name.clone()).or_default();
                t.push_str(line);
                t.push('\n');
            }
        }
        if let Some((bytes, sep)) = env {
            for item in bytes.split(|b| *b == sep) {
                let item = String::from_utf8_lossy(item);
                if let Some((k, v)) = item.split_once('=') {
                    s.env.insert(k.to_string(), v.into());
                }
            }
        }
        s
    }

    /// A section's text ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.text
            .get(name)
            .map(|s| s.trim_end_matches('\n'))
            .unwrap_or("")
    }

    /// A section's lines, without the blank line that precedes every section marker.
    pub fn lines(&self, name: &str) -> impl Iterator<Item = &str> {
        self.get(name).lines().filter(|l| !l.is_empty())
    }

    /// `key=value` lines of a section.
    pub fn kv(&self, name: &str) -> HashMap<&str, &str> {
        self.lines(name).filter_map(|l| l.split_once('=')).collect()
    }

    /// Bare flag lines (`systemctl`) of a section.
    pub fn has_line(&self, name: &str, line: &str) -> bool {
        self.lines(name).any(|l| l == line)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subsets(items: &[&str]) -> Result<Subsets, String> {
        Subsets::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn subset_rules() {
        let all = Subsets {
            min: true,
            hardware: true,
            network: true,
        };
        assert_eq!(subsets(&["all"]).unwrap(), all);
        assert_eq!(
            subsets(&["!all"]).unwrap(),
            Subsets {
                min: true,
                hardware: false,
                network: false
            }
        );
        assert_eq!(
            subsets(&["!all", "network"]).unwrap(),
            Subsets {
                min: true,
                hardware: false,
                network: true
            }
        );
        assert_eq!(
            subsets(&["all", "!hardware"]).unwrap(),
            Subsets {
                min: true,
                hardware: false,
                network: true
            }
        );
        assert_eq!(
            subsets(&["!all", "!min", "hardware"]).unwrap(),
            Subsets {
                min: false,
                hardware: true,
                network: false
            }
        );
        let e = subsets(&["facter"]).unwrap_err();
        assert!(
            e.starts_with("Bad subset 'facter' given to Ansible."),
            "{e}"
        );
    }

    #[test]
    fn the_probe_lists_local_facts_where_ansible_reads_them() {
        assert!(MIN.contains(&format!("for __f in {FACT_PATH}/*.fact;")));
    }

    #[test]
    fn sections_and_env() {
        let out = b"\n@@a\nx=1\nflag\n\n@@b\n\n@@env0\nA=1\0B=two\nlines\0";
        let s = Sections::parse(out);
        assert_eq!(s.kv("a").get("x"), Some(&"1"));
        assert!(s.has_line("a", "flag"));
        assert_eq!(s.get("b"), "");
        assert_eq!(s.get("missing"), "");
        assert_eq!(s.env.get("B").unwrap(), "two\nlines");
    }
}
