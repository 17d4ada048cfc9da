//! The README's "Try the example stack": fresh lab hosts (`lab up 3`), their inventory where
//! the stack reads it, and `strata stack -f stacks/demo.yml sync`: haproxy.cfg on the load
//! balancer lists both app servers, each app server has a current release of `web` with its
//! environment, and `status` shows all three online. Then the walkthrough: a deploy, an app
//! server stopped and started again (the configure broadcast), and a start over with new
//! hosts and an empty state. `lab demo --playbook playbooks/site.yml` still runs the
//! pre-stack example playbook. (`lab demo` itself runs the Plone stack: its e2e test goes
//! with `stacks/plone.yml`.)

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Lab, strata_in};
use serde_json::Value;
use strata::lab::{self, LabOptions};

const LAB: &str = "demo-stack";

fn checkout() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory laid out like the checkout (stacks/, inventory/, roles/), so that the
/// lab inventory and the stack state the demo writes stay out of the real one.
fn scratch_checkout() -> PathBuf {
    let dir = common::lab_dir().join(format!("{LAB}-checkout"));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["stacks", "inventory"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for e in std::fs::read_dir(checkout().join(sub)).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            if e.file_type().unwrap().is_file() && name != "demo-lab.yml" && name != "plone-lab.yml"
            {
                std::fs::copy(e.path(), dir.join(sub).join(name)).unwrap();
            }
        }
    }
    std::os::unix::fs::symlink(checkout().join("roles"), dir.join("roles")).unwrap();
    dir
}

fn opts() -> LabOptions {
    LabOptions {
        name: LAB.into(),
        dir: common::lab_dir(),
    }
}

fn dump(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The walkthrough's first lines, in `dir`: no lab and no state, `lab up 3`, the lab's
/// inventory where the stack reads it, then `stack sync`. Returns the output of the last
/// command run and the lab it left up (torn down when dropped), before any assertion, so that
/// a failure leaves nothing.
fn start_over(dir: &Path) -> (Output, Option<Lab>) {
    if opts().state_path().exists() {
        lab::down(&opts()).expect("cannot remove a stale demo lab");
    }
    for f in ["demo.db", "demo.db-wal", "demo.db-shm"] {
        let _ = std::fs::remove_file(dir.join("stacks/.strata").join(f));
    }
    let d = common::lab_dir();
    let lab_cmd = |args: &[&str]| {
        let mut all = vec!["lab", "--name", LAB, "--dir", d.to_str().unwrap()];
        all.extend_from_slice(args);
        strata_in(Some(dir), &all)
    };
    for args in [
        &["up", "3"][..],
        &["inventory", "-o", "inventory/demo-lab.yml"],
    ] {
        let out = lab_cmd(args);
        if !out.status.success() {
            return (out, attach());
        }
    }
    let out = strata_in(Some(dir), &["stack", "-f", "stacks/demo.yml", "sync"]);
    (out, attach())
}

/// The helper's `Lab` for the lab `start_over` brought up.
fn attach() -> Option<Lab> {
    let opts = opts();
    let state = lab::status(&opts).ok()?;
    Some(Lab::attach(opts, state))
}

fn stack(dir: &Path, args: &[&str], code: i32) -> Output {
    let mut all = vec!["stack", "-f", "stacks/demo.yml"];
    all.extend_from_slice(args);
    let o = strata_in(Some(dir), &all);
    assert_eq!(o.status.code(), Some(code), "strata {all:?}\n{}", dump(&o));
    o
}

fn status(dir: &Path) -> Value {
    serde_json::from_slice(&stack(dir, &["status", "--json"], 0).stdout).unwrap()
}

fn instance_status(v: &Value, name: &str) -> String {
    v["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no instance {name} in {v}"))["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `name -> status` of every instance.
fn statuses(v: &Value) -> Vec<(String, String)> {
    let mut s: Vec<(String, String)> = v["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    s.sort();
    s
}

fn all_online() -> Vec<(String, String)> {
    ["lab01", "lab02", "lab03"]
        .iter()
        .map(|h| (h.to_string(), "online".to_string()))
        .collect()
}

/// The `server` lines of lab01's haproxy.cfg.
fn backends(lab: &Lab) -> Vec<String> {
    lab.ssh_ok("lab01", "cat /etc/haproxy/haproxy.cfg")
        .lines()
        .filter(|l| l.trim_start().starts_with("server "))
        .map(|l| l.trim().to_string())
        .collect()
}

fn server_line(lab: &Lab, host: &str) -> String {
    format!("server {host} {}:8080 check", lab.host(host).addr)
}

#[test]
fn the_example_stack_walkthrough() {
    assert!(
        unsafe { libc::geteuid() } == 0,
        "lab tests need root; run them as root, see tests/run"
    );
    let dir = scratch_checkout();

    let (out, lab) = start_over(&dir);
    let lab = lab.unwrap_or_else(|| panic!("no lab left up\n{}", dump(&out)));
    assert_eq!(out.status.code(), Some(0), "{}", dump(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "joined: lab01 lab02 lab03",
        "event #1 setup [lab01 lab02 lab03]: ok",
        "event #2 deploy [lab02 lab03]: ok",
        "event #3 configure [lab01 lab02 lab03]: ok",
        "lab01:80 balances over lab02, lab03",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{}", dump(&out));
    }
    // The lab's inventory, where the stack file looks for it.
    assert_eq!(
        std::fs::read_to_string(dir.join("inventory/demo-lab.yml")).unwrap(),
        std::fs::read_to_string(&lab.inventory).unwrap()
    );

    let v = status(&dir);
    assert_eq!(statuses(&v), all_online(), "{v}");
    let layers: Vec<(&str, u64)> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["shortname"].as_str().unwrap(),
                l["online"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(layers, [("lb", 1), ("app", 2)]);
    let web = &v["apps"][0];
    assert_eq!(web["name"], "web");

    // The load balancer balances over both app servers, on the ports of the attributes.
    assert_eq!(
        backends(&lab),
        [server_line(&lab, "lab02"), server_line(&lab, "lab03")]
    );
    assert!(
        lab.ssh_ok("lab01", "cat /etc/haproxy/haproxy.cfg")
            .contains("bind *:80\n")
    );
    assert!(
        lab.ssh_ok("lab01", "cat /etc/motd")
            .contains("Managed by strata for the demo stack.")
    );
    // Each app server: the release the state records is current, with the app's environment,
    // owned by the app user, and it trusts the load balancer.
    for h in ["lab02", "lab03"] {
        let release = web["active"][h]["release"].as_str().unwrap();
        let dir = format!("/srv/web/releases/{release}");
        assert_eq!(lab.ssh_ok(h, "readlink /srv/web/current"), dir);
        let env = lab.ssh_ok(h, "cat /srv/web/current/app.env");
        for line in [
            "APP_NAME=web",
            &format!("APP_RELEASE={release}"),
            "APP_PORT=8080",
            "WEB_MODE=demo",
            "WEB_GREETING=hello from strata",
        ] {
            assert!(env.lines().any(|l| l == line), "{h}: no {line:?} in\n{env}");
        }
        assert_eq!(
            lab.ssh_ok(h, &format!("stat -c %U {dir}/index.html")),
            "web"
        );
        assert_eq!(
            lab.ssh_ok(h, "grep -v '^#' /etc/strata-demo/trusted-proxies"),
            format!("{} lab01", lab.host("lab01").addr)
        );
    }

    // The walkthrough. A deploy with a revision (release names have one-second resolution).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    stack(&dir, &["deploy", "web", "--revision", "v2"], 0);
    let v = status(&dir);
    for h in ["lab02", "lab03"] {
        let active = &v["apps"][0]["active"][h];
        assert_eq!(active["revision"], "v2", "{v}");
        assert_eq!(
            lab.ssh_ok(h, "readlink /srv/web/current"),
            format!("/srv/web/releases/{}", active["release"].as_str().unwrap())
        );
        assert_eq!(lab.ssh_ok(h, "cat /srv/web/current/REVISION"), "v2");
        assert_eq!(lab.ssh_ok(h, "ls /srv/web/releases | wc -l"), "2");
    }
    // An app server goes away: the configure broadcast drops it from the load balancer.
    lab.stop_host("lab03");
    stack(&dir, &["sync"], 0);
    assert_eq!(instance_status(&status(&dir), "lab03"), "connection_lost");
    assert_eq!(backends(&lab), [server_line(&lab, "lab02")]);
    // ... and comes back.
    lab.start_host("lab03");
    stack(&dir, &["sync"], 0);
    assert_eq!(statuses(&status(&dir)), all_online());
    assert_eq!(
        backends(&lab),
        [server_line(&lab, "lab02"), server_line(&lab, "lab03")]
    );
    let history: Value =
        serde_json::from_slice(&stack(&dir, &["history", "--json"], 0).stdout).unwrap();
    let kinds: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "configure",
            "configure",
            "deploy",
            "configure",
            "deploy",
            "setup"
        ]
    );

    // Starting over replaces the running lab: new hosts, a new state.
    std::mem::forget(lab); // start_over takes its lab down; the new one is attached below
    let (out, lab) = start_over(&dir);
    let lab = lab.unwrap_or_else(|| panic!("no lab left up\n{}", dump(&out)));
    assert_eq!(out.status.code(), Some(0), "{}", dump(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("event #1 setup [lab01 lab02 lab03]: ok"),
        "{}",
        dump(&out)
    );
    assert_eq!(statuses(&status(&dir)), all_online());
    assert_eq!(lab.ssh_ok("lab02", "ls /srv/web/releases | wc -l"), "1");
    assert_eq!(lab.ssh_ok("lab02", "cat /srv/web/current/REVISION"), "none");
    assert_eq!(
        backends(&lab),
        [server_line(&lab, "lab02"), server_line(&lab, "lab03")]
    );
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The pre-stack example, `playbooks/site.yml`: it converges on lab hosts, its app serves the
/// backend list rendered from every host, and a second run changes nothing. `lab demo
/// --playbook` runs it too.
#[test]
fn example_playbook_converges_and_serves() {
    let lab = Lab::up("demo", 3, false);
    let book = lab.playbook_file(&checkout().join("playbooks/site.yml"));
    book.run().expect_exit(0);
    for h in &lab.hosts {
        let mut s = TcpStream::connect((h.addr.as_str(), 8080)).expect("app listens on 8080");
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        for other in &lab.hosts {
            assert!(
                body.contains(&format!("server {} {}:8080 check", other.name, other.addr)),
                "{body}"
            );
        }
        assert!(
            lab.ssh_raw(&h.name, "cat /etc/motd")
                .starts_with(&format!("{} (Debian", h.name))
        );
    }
    book.run().expect_exit(0).expect_converged();
    // `lab demo --playbook` on the running lab of that size: the same playbook, all ok.
    let d = common::lab_dir();
    let out = strata_in(
        Some(checkout()),
        &[
            "lab",
            "--name",
            "demo",
            "--dir",
            d.to_str().unwrap(),
            "demo",
            "--playbook",
            "playbooks/site.yml",
            "--hosts",
            "3",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", dump(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("PLAY RECAP") && !text.contains("changed: ["),
        "{}",
        dump(&out)
    );
}
