//! Issue 15, e2e step 7: the `buildout` app type deploys the ZEO server app from a small
//! buildout repository (tests/fixtures/plone-buildout), offline, on a systemd lab host.
//!
//! The stack is the Plone stack's ZEO server part with the real roles: layer `zeoserver` with
//! `roles: [package_sources, zeoserver]`, and app `zeoserver` of `type: buildout`, so the
//! zeoserver role's deploy.yml builds the release with release_buildout.yml (python_app's
//! buildout.yml), makes it current, renders zeo.conf and (re)starts the `zeoserver` unit. The
//! stack's attributes are the seed's `deploy.zeoserver` (`buildout_extends: ["cfg/sources.cfg"]`)
//! plus `buildout_additional_config` and `buildout_cache_archives`, and `package_sources` pointing
//! apt at the controller's repository (/var/cache/strata/apt, for the role's rsync). The
//! repository, a tarball of the wheels it needs (picked from the controller's cache,
//! /var/cache/strata/python/wheels, by tests/fixtures/plone-buildout.wheels) and the apt
//! repository are served on the lab bridge, the host's only reachable peer.
mod common;

use std::path::Path;
use std::process::Command;

use common::Lab;
use common::http::HttpServer;
use common::playbook::fixture;
use common::stack::{Stack, active, dump};
use serde_json::{Value, json};

const WHEELS: &str = "/var/cache/strata/python/wheels";
const APT: &str = "/var/cache/strata/apt";
const ADDITIONAL: &str =
    "[zeoserver]\ninterpreter = zopepy\n\n[client1]\nuser=admin:**change-me**\n";

fn run(cmd: &mut Command) {
    let o = cmd.output().expect("cannot run a command");
    assert!(o.status.success(), "{cmd:?}\n{}", dump(&o));
}

/// The repository as an archive (no leading directory), the wheels it needs as a tarball, and
/// the controller's apt repository (linked as `apt/`).
fn serve_dir(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let repo = fixture("plone-buildout");
    run(Command::new("tar")
        .arg("-czf")
        .arg(dir.join("plone-buildout.tar.gz"))
        .arg("-C")
        .arg(&repo)
        .arg("."));
    let list = std::fs::read_to_string(fixture("plone-buildout.wheels")).unwrap();
    let names: Vec<&str> = list.lines().filter(|l| !l.trim().is_empty()).collect();
    for n in &names {
        assert!(
            Path::new(WHEELS).join(n).exists(),
            "{WHEELS}/{n} is missing: build the controller's cache first (strata lab cache)"
        );
    }
    run(Command::new("tar")
        .arg("-cf")
        .arg(dir.join("buildout-wheels.tar"))
        .arg("-C")
        .arg(WHEELS)
        .args(&names));
    assert!(
        Path::new(APT).join("Packages").exists(),
        "{APT}/Packages is missing: build the controller's cache first (strata lab cache)"
    );
    std::os::unix::fs::symlink(APT, dir.join("apt")).unwrap();
}

/// `changed=N` of `host` in a play recap.
fn changed(out: &str, host: &str) -> u64 {
    out.lines()
        .rev()
        .find(|l| l.starts_with(host) && l.contains("changed="))
        .and_then(|l| l.split("changed=").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no recap for {host} in:\n{out}"))
}

/// The `changed` count of every host in the newest event of `history --json`, which must be a
/// `kind` event that succeeded.
fn last_event_changed(s: &Stack, kind: &str) -> Vec<(String, u64)> {
    let ev = s
        .history()
        .into_iter()
        .next()
        .expect("no event in the history");
    assert_eq!(ev["kind"], kind, "{ev}");
    assert_eq!(ev["result"], "ok", "{ev}");
    let recap = ev["recap"]
        .as_object()
        .unwrap_or_else(|| panic!("no recap: {ev}"));
    recap
        .iter()
        .map(|(h, r)| (h.clone(), r["changed"].as_u64().unwrap_or(u64::MAX)))
        .collect()
}

/// The zeoserver unit's main process (0: not running).
fn zeo_pid(lab: &Lab, host: &str) -> u64 {
    lab.ssh_ok(host, "systemctl show -p MainPID --value zeoserver")
        .parse()
        .unwrap()
}

#[test]
fn buildout_app_deploys_the_zeo_server_offline() {
    // The wheels and the apt repository: built on a fresh machine, reused afterwards.
    common::plone::caches();
    let lab = Lab::up("plone-buildout", 1, true);
    let host = lab.hosts[0].name.clone();
    let www = lab.state.dir.join("www");
    serve_dir(&www);
    let http = HttpServer::start(&lab.state.gateway.to_string(), &www);
    // The base machine has rsync now (tests/run installs it for `synchronize`); the host
    // starts without it, as a fresh server does, so setup must fetch it from the served
    // repository.
    lab.ssh_ok(&host, "dpkg --purge rsync >/dev/null");

    let attributes = json!({
        "package_sources": {
            "apt_sources": [format!("deb [trusted=yes] {} ./", http.url("apt/"))],
            "apt_exclusive": true,
        },
        "deploy": {"zeoserver": {
            "buildout_extends": ["cfg/sources.cfg"],
            "buildout_additional_config": ADDITIONAL,
            "buildout_cache_archives": [
                {"url": http.url("buildout-wheels.tar"), "path": "/var/cache/buildout/wheels"}
            ],
        }},
    });
    let source = json!({"type": "archive", "url": http.url("plone-buildout.tar.gz")});
    let roles = Path::new(env!("CARGO_MANIFEST_DIR")).join("roles");
    let s = Stack::on(&lab).with_command(move |c| {
        c.env("STRATA_ROLES_PATH", &roles);
    });
    s.groups(&[("zeoserver", &[host.as_str()])], &[]);
    // JSON is YAML: the attributes and the source go in as they are.
    s.write(
        "stack.yml",
        &format!(
            "name: plone-buildout\n\
             instances: {{inventory: [lab.yml, groups.yml]}}\n\
             attributes: {attributes}\n\
             layers:\n  zeoserver: {{roles: [package_sources, zeoserver]}}\n\
             apps:\n  zeoserver:\n    type: buildout\n    layers: [zeoserver]\n    \
             source: {source}\n    deploy_to: /srv/zeoserver\n"
        ),
    );

    // The host has no way out: nothing but the lab bridge answers.
    let (rc, _, _) = lab.ssh(&host, "curl -sS -m 4 -o /dev/null http://1.1.1.1/");
    assert_ne!(
        rc, 0,
        "{host} reaches the internet; the buildout must run offline"
    );

    let o = s.expect(&["sync"], 0);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let release = active(&s.status(), "zeoserver")[&host]["release"]
        .as_str()
        .unwrap_or_else(|| panic!("no active release of zeoserver:\n{out}"))
        .to_string();
    let rel = format!("/srv/zeoserver/releases/{release}");
    assert_eq!(
        lab.ssh_ok(&host, "readlink /srv/zeoserver/current"),
        rel,
        "{out}"
    );
    // Setup installed rsync from the served apt repository.
    lab.ssh_ok(
        &host,
        "dpkg-query -W -f '${Status}' rsync | grep -qx 'install ok installed'",
    );
    // Besides the apt repository, only the two archives were fetched: the buildout asked
    // nobody for anything.
    let mut paths: Vec<String> = http.requests().iter().map(|r| r.path.clone()).collect();
    paths.sort();
    paths.dedup();
    let (apt, other): (Vec<String>, Vec<String>) =
        paths.into_iter().partition(|p| p.starts_with("/apt/"));
    assert_eq!(other, ["/buildout-wheels.tar", "/plone-buildout.tar.gz"]);
    assert!(
        apt.iter()
            .any(|p| p.ends_with(".deb") && p.contains("/rsync_")),
        "rsync did not come from the served repository: {apt:?}"
    );

    // deploy.cfg: the repository's buildout.cfg then buildout_extends, the unpacked cache
    // archive as the only find-links, and buildout_additional_config verbatim at the end.
    let cfg = lab.ssh_raw(&host, &format!("cat {rel}/deploy.cfg"));
    assert!(
        cfg.contains("extends =\n    buildout.cfg\n    cfg/sources.cfg\n"),
        "{cfg}"
    );
    assert!(
        cfg.contains("find-links +=\n    /var/cache/buildout/wheels\n"),
        "{cfg}"
    );
    assert!(cfg.contains("index = file:///nonexistent-index\n"), "{cfg}");
    assert!(cfg.ends_with(&format!("\n{ADDITIONAL}")), "{cfg}");
    lab.ssh_ok(
        &host,
        "test -f /var/cache/buildout/wheels/zc_buildout-6.0.1-py3-none-any.whl",
    );
    // Buildout itself read them: the pins' file set allow-picked-versions, the additional
    // config made the zopepy interpreter.
    let annotate = lab.ssh_ok(
        &host,
        &format!("cd {rel} && bin/buildout -c deploy.cfg annotate buildout"),
    );
    assert!(
        annotate.contains("allow-picked-versions= false\n    cfg/sources.cfg"),
        "{annotate}"
    );
    for s in ["runzeo", "repozo", "zeopack", "zopepy"] {
        lab.ssh_ok(&host, &format!("test -x {rel}/bin/{s}"));
    }

    // The role's zeoserver unit runs the release's runzeo, as the plone user, on the role's
    // zeo.conf (port 8100, the FileStorage under /var/lib/zeoserver/filestorage).
    let conf = lab.ssh_raw(&host, "cat /etc/zeoserver/zeo.conf");
    assert!(conf.contains("address 0.0.0.0:8100\n"), "{conf}");
    assert!(
        conf.contains("path /var/lib/zeoserver/filestorage/Data.fs\n"),
        "{conf}"
    );
    let pid = zeo_pid(&lab, &host);
    assert_ne!(pid, 0, "the zeoserver unit is not running");
    let cmdline = lab.ssh_ok(&host, &format!("tr '\\0' ' ' < /proc/{pid}/cmdline"));
    assert!(
        cmdline.contains("/srv/zeoserver/current/bin/runzeo -C /etc/zeoserver/zeo.conf"),
        "{cmdline}"
    );
    assert_eq!(lab.ssh_ok(&host, &format!("ps -o user= -p {pid}")), "plone");

    // A client (the release's zopepy) stores an object through it and another connection
    // loads it; the record is in the unit's Data.fs.
    let client = r#"
import ZEO, transaction, persistent.mapping
db = ZEO.DB(("127.0.0.1", 8100)); c = db.open()
c.root()["doc"] = persistent.mapping.PersistentMapping(title="stored through ZEO")
transaction.commit(); db.close()
db = ZEO.DB(("127.0.0.1", 8100)); print(db.open().root()["doc"]["title"]); db.close()
"#;
    std::fs::write(www.join("client.py"), client).unwrap();
    let loaded = lab.ssh_ok(
        &host,
        &format!(
            "curl -sSf {} -o /tmp/client.py && /srv/zeoserver/current/bin/zopepy /tmp/client.py",
            http.url("client.py")
        ),
    );
    assert_eq!(loaded, "stored through ZEO");
    lab.ssh_ok(
        &host,
        "grep -q 'stored through ZEO' /var/lib/zeoserver/filestorage/Data.fs",
    );

    // Setup and configure again change nothing, and the server keeps running.
    for (args, kind) in [
        (&["run", "setup", "-D"][..], "setup"),
        (&["configure", "-D"][..], "configure"),
    ] {
        let o = s.expect(args, 0);
        assert_eq!(
            last_event_changed(&s, kind),
            [(host.clone(), 0)],
            "{}",
            dump(&o)
        );
    }
    assert_eq!(
        zeo_pid(&lab, &host),
        pid,
        "setup or configure restarted ZEO"
    );

    // The same release deployed again by the role's own deploy.yml (check mode first) changes
    // nothing: the build stamp holds, current, zeo.conf and the server stay as they are.
    s.write(
        "redeploy.yml",
        "- hosts: zeoserver\n  gather_facts: false\n  tasks:\n    \
         - include_role: {name: zeoserver, tasks_from: deploy}\n",
    );
    let app = json!({"name": "zeoserver", "type": "buildout", "layers": ["zeoserver"],
        "source": source, "deploy_to": "/srv/zeoserver", "environment": {},
        "revision": Value::Null, "release": release, "previous_release": Value::Null});
    let mut vars = attributes.clone();
    vars["stack"] = json!({"name": "plone-buildout", "deploy": {"zeoserver": app.clone()},
        "apps": {"zeoserver": app}});
    s.write("redeploy.json", &vars.to_string());
    for check in [true, false] {
        let mut args = vec![
            "playbook",
            "-i",
            "lab.yml",
            "-i",
            "groups.yml",
            "-e",
            "@redeploy.json",
            "redeploy.yml",
        ];
        if check {
            args.push("--check");
        }
        let mut cmd = common::strata_command(Some(&s.dir), &args);
        cmd.env(
            "STRATA_ROLES_PATH",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("roles"),
        );
        let o = cmd.output().unwrap();
        let text = dump(&o);
        assert_eq!(o.status.code(), Some(0), "{text}");
        assert_eq!(changed(&text, &host), 0, "check={check}\n{text}");
    }
    assert_eq!(zeo_pid(&lab, &host), pid, "the same release restarted ZEO");

    // A new release in check mode builds nothing and fails nowhere; a second sync runs nothing.
    let o = s.expect(&["deploy", "zeoserver", "--check"], 0);
    assert_eq!(
        lab.ssh_ok(&host, "ls /srv/zeoserver/releases"),
        release,
        "check mode made a release\n{}",
        dump(&o)
    );
    let o = s.expect(&["sync"], 0);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("no event ran"),
        "{}",
        dump(&o)
    );
    assert_eq!(
        zeo_pid(&lab, &host),
        pid,
        "check mode or sync restarted ZEO"
    );
}
