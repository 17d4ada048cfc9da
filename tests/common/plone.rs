//! The Plone stack (`stacks/plone.yml` and the roles in `roles/`) on a systemd lab, for the
//! end-to-end tests: the controller's package cache built and served on the lab bridge, the
//! stack file and its inventory in a directory of the test's own, `strata stack` runs, and HTTP
//! requests made from the controller (which reaches the bridge) with curl.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::stack::{Stack, dump};
use super::{Lab, strata_command};

/// The repository's root: the stack file, roles and the Plone project's requirements.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `strata lab cache`: builds the package cache on first use, reuses it afterwards.
pub fn caches() {
    let out = strata_command(Some(&repo()), &["lab", "cache"])
        .output()
        .expect("cannot run strata lab cache");
    assert!(
        out.status.success(),
        "strata lab cache failed:\n{}",
        dump(&out)
    );
}

/// The Plone stack over a lab, in `<lab dir>/plone`: `stacks/plone.yml` as in the repository,
/// `inventory/plone-lab.yml` naming the lab's hosts as the stack's instances, and
/// `inventory/plone-groups.yml` written by [`PloneStack::groups`]. strata runs from that
/// directory, where `roles` links to the repository's roles; the [`Stack`] it derefs to runs
/// the commands (`expect`, `history`).
pub struct PloneStack<'a> {
    pub lab: &'a Lab,
    pub dir: PathBuf,
    stack: Stack,
    /// Instance name → lab host name.
    pub hosts: BTreeMap<String, String>,
}

impl<'a> PloneStack<'a> {
    /// `names` maps instance names (lb1, plone1...) onto the lab's hosts in order (the same
    /// names when the lab was made with `Lab::up_named`); `edit`
    /// adjusts the stack file's text (extra attributes, say).
    pub fn new(lab: &'a Lab, names: &[&str], edit: impl FnOnce(String) -> String) -> Self {
        let dir = lab.state.dir.join("plone");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("stacks")).unwrap();
        std::fs::create_dir_all(dir.join("inventory")).unwrap();
        std::os::unix::fs::symlink(repo().join("roles"), dir.join("roles")).unwrap();
        let text = std::fs::read_to_string(repo().join("stacks/plone.yml")).unwrap();
        std::fs::write(dir.join("stacks/plone.yml"), edit(text)).unwrap();

        let mut hosts = BTreeMap::new();
        let mut inv = String::from("all:\n  hosts:\n");
        for (name, h) in names.iter().zip(&lab.hosts) {
            inv.push_str(&format!("    {name}:\n      ansible_host: {}\n", h.addr));
            hosts.insert(name.to_string(), h.name.clone());
        }
        assert_eq!(hosts.len(), names.len(), "not enough lab hosts");
        inv.push_str(&format!(
            "  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: \"{}\"\n    \
             ansible_ssh_common_args: \"-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes\"\n    \
             strata_lab_gateway: {}\n",
            lab.key.display(),
            lab.known_hosts.display(),
            lab.state.gateway,
        ));
        std::fs::write(dir.join("inventory/plone-lab.yml"), inv).unwrap();
        let stack = Stack::existing(&dir, Path::new("stacks/plone.yml"));
        PloneStack {
            lab,
            dir,
            stack,
            hosts,
        }
    }

    /// Writes the layers' groups: `(group, instances)`.
    pub fn groups(&self, groups: &[(&str, &[&str])]) {
        let mut y = String::from("all:\n  children:\n");
        for (g, hosts) in groups {
            y.push_str(&format!("    {g}:\n      hosts:\n"));
            for h in *hosts {
                y.push_str(&format!("        {h}: {{}}\n"));
            }
        }
        std::fs::write(self.dir.join("inventory/plone-groups.yml"), y).unwrap();
    }

    /// Runs `cmd` on an instance with OpenSSH; trimmed stdout.
    pub fn ssh(&self, instance: &str, cmd: &str) -> String {
        self.lab.ssh_ok(&self.hosts[instance], cmd)
    }

    pub fn addr(&self, instance: &str) -> String {
        self.lab.host(&self.hosts[instance]).addr.clone()
    }

    /// The admin password the roles generated on the controller (lookup('password')).
    pub fn admin_password(&self) -> String {
        let p = self.dir.join("stacks/.strata/plone-admin-password");
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .trim()
            .to_string()
    }

    /// The main PIDs of units on an instance, in order.
    pub fn pids(&self, instance: &str, units: &[&str]) -> Vec<u64> {
        units
            .iter()
            .map(|u| {
                let pid = self.ssh(instance, &format!("systemctl show -p MainPID --value {u}"));
                let pid: u64 = pid.parse().unwrap_or(0);
                assert!(pid != 0, "{u} is not running on {instance}");
                pid
            })
            .collect()
    }
}

impl std::ops::Deref for PloneStack<'_> {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.stack
    }
}

/// An HTTP response as curl saw it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Header names lowercased (the last value of a repeated header).
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// `curl` from the controller: `extra` are more curl arguments (`-u`, `-X`, `-H`, `--data`).
/// Secrets given with `-u` are on the controller's own command line only.
pub fn http(url: &str, extra: &[&str]) -> Response {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "30", "-D", "-", url])
        .args(extra)
        .output()
        .expect("cannot run curl");
    assert!(
        out.status.success(),
        "curl {url} {extra:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// The status of a GET, 0 when nothing answers (a client still starting).
pub fn status(url: &str, extra: &[&str]) -> u16 {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "30",
            url,
        ])
        .args(extra)
        .output()
        .expect("cannot run curl");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// Splits curl's `-D -` output: the last header block (after any `100 Continue`), then the body.
fn parse(raw: &str) -> Response {
    let mut rest = raw;
    loop {
        let (head, body) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
        let status: u16 = head
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if status == 100 {
            rest = body;
            continue;
        }
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
            .collect();
        return Response {
            status,
            headers,
            body: body.to_string(),
        };
    }
}

/// The `<title>` of an HTML page.
pub fn title(html: &str) -> Option<String> {
    let start = html.find("<title>")? + "<title>".len();
    let end = html[start..].find("</title>")? + start;
    Some(html[start..end].trim().to_string())
}

/// haproxy's stats as CSV rows of backend `plone`'s servers: (name, status).
pub fn haproxy_servers(lb_addr: &str, user: &str, password: &str) -> Vec<(String, String)> {
    let r = http(
        &format!("http://{lb_addr}:8080/balancer/stats;csv"),
        &["-u", &format!("{user}:{password}")],
    );
    assert_eq!(r.status, 200, "haproxy stats: {r:?}");
    let mut rows: Vec<(String, String)> = r
        .body
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.len() > 17 && f[0] == "plone" && f[1] != "FRONTEND" && f[1] != "BACKEND")
        .map(|f| (f[1].to_string(), f[17].to_string()))
        .collect();
    rows.sort();
    rows
}

/// Waits up to `secs` for haproxy to list exactly `want` servers, all UP.
pub fn wait_backends_up(lb_addr: &str, user: &str, password: &str, want: &[String], secs: u64) {
    let mut last = Vec::new();
    for _ in 0..secs * 2 {
        last = haproxy_servers(lb_addr, user, password);
        let names: Vec<String> = last.iter().map(|(n, _)| n.clone()).collect();
        if names == want && last.iter().all(|(_, s)| s == "UP") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("haproxy backends: want {want:?} all UP, have {last:?}");
}

/// Host path of a file on a lab host, seen from the controller (its overlay's upper directory
/// has what the host wrote).
pub fn upper(lab: &Lab, host: &str, path: &str) -> PathBuf {
    lab.state
        .hosts
        .iter()
        .find(|h| h.name == host)
        .map(|h| h.upper.join(path.trim_start_matches('/')))
        .unwrap_or_else(|| Path::new(path).to_path_buf())
}
