//! Issue 15, e2e step 7: the `buildout` app type deploys the ZEO server app from a small
//! buildout repository (tests/fixtures/plone-buildout), offline, on a systemd lab host.
//!
//! The stack has one layer, `zeoserver`, whose test role (written below) builds each buildout
//! app's release with the real `roles/zeoserver/tasks/release_buildout.yml` (which includes
//! `roles/python_app/tasks/buildout.yml`) and links it as `current`. The stack's attributes are
//! the seed's `deploy.zeoserver` (`buildout_extends: ["cfg/sources.cfg"]`) plus
//! `buildout_additional_config` and `buildout_cache_archives`; the repository and a tarball of
//! the wheels it needs (picked from the controller's cache, /var/cache/strata/python/wheels, by
//! tests/fixtures/plone-buildout.wheels) are served on the lab bridge, the host's only reachable
//! peer. The app is marked `app_type: buildout` in its attributes: the stack file's app key
//! `type` comes with the Plone stack's engine change, and the role reads either.
mod common;

use std::path::Path;
use std::process::Command;

use common::Lab;
use common::http::HttpServer;
use common::playbook::fixture;
use common::stack::{Stack, active, dump};
use serde_json::{Value, json};

const WHEELS: &str = "/var/cache/strata/python/wheels";
const ADDITIONAL: &str =
    "[zeoserver]\ninterpreter = zopepy\n\n[client1]\nuser=admin:**change-me**\n";

/// The test's stand-in for the zeoserver role's deploy.yml: which release file runs depends on
/// the app's type, as `include_tasks: release_{{ type }}.yml` does there.
const ROLE: &str = r#"
- name: build each buildout app's release
  include_role:
    name: zeoserver
    tasks_from: release_buildout
  loop: "{{ stack.deploy | default({}) | dict2items }}"
  loop_control: {loop_var: app, label: "{{ app.key }}"}
  vars:
    app_root: "{{ app.value.deploy_to }}"
    app_release: "{{ app.value.deploy_to }}/releases/{{ app.value.release }}"
  when: (app.value.type | default(app_type | default('pip'))) == 'buildout'

- name: the release is current
  file:
    src: "{{ app.value.deploy_to }}/releases/{{ app.value.release }}"
    dest: "{{ app.value.deploy_to }}/current"
    state: link
    force: true  # in check mode the new release does not exist yet
  loop: "{{ stack.deploy | default({}) | dict2items }}"
  loop_control: {loop_var: app, label: "{{ app.key }}"}
"#;

fn run(cmd: &mut Command) {
    let o = cmd.output().expect("cannot run a command");
    assert!(o.status.success(), "{cmd:?}\n{}", dump(&o));
}

/// The repository as an archive (no leading directory) and the wheels it needs as a tarball.
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

#[test]
fn buildout_app_deploys_the_zeo_server_offline() {
    let lab = Lab::up("plone-buildout", 1, true);
    let host = lab.hosts[0].name.clone();
    let www = lab.state.dir.join("www");
    serve_dir(&www);
    let http = HttpServer::start(&lab.state.gateway.to_string(), &www);

    let attributes = json!({"deploy": {"zeoserver": {
        "buildout_extends": ["cfg/sources.cfg"],
        "buildout_additional_config": ADDITIONAL,
        "buildout_cache_archives": [
            {"url": http.url("buildout-wheels.tar"), "path": "/var/cache/buildout/wheels"}
        ],
    }}});
    let source = json!({"type": "archive", "url": http.url("plone-buildout.tar.gz")});
    let roles = Path::new(env!("CARGO_MANIFEST_DIR")).join("roles");
    let s = Stack::on(&lab).with_command(move |c| {
        c.env("STRATA_ROLES_PATH", &roles);
    });
    s.groups(&[("zeoserver", &[host.as_str()])], &[]);
    s.write("roles/zeo_buildout/tasks/deploy.yml", ROLE);
    // JSON is YAML: the attributes and the source go in as they are.
    s.write(
        "stack.yml",
        &format!(
            "name: plone-buildout\n\
             instances: {{inventory: [lab.yml, groups.yml]}}\n\
             attributes: {attributes}\n\
             layers:\n  zeoserver: {{roles: [zeo_buildout]}}\n\
             apps:\n  zeoserver:\n    layers: [zeoserver]\n    source: {source}\n    \
             deploy_to: /srv/zeoserver\n    attributes: {{app_type: buildout}}\n"
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
    // Only the two archives were fetched: the buildout asked nobody for anything.
    let mut paths: Vec<String> = http.requests().iter().map(|r| r.path.clone()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths, ["/buildout-wheels.tar", "/plone-buildout.tar.gz"]);

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

    // runzeo from the release serves a FileStorage; a client (the release's python) stores an
    // object and another connection loads it.
    lab.ssh_ok(
        &host,
        "mkdir -p /var/lib/zeo-test && printf '<zeo>\\n  address 127.0.0.1:8100\\n</zeo>\\n\
         <filestorage 1>\\n  path /var/lib/zeo-test/Data.fs\\n  blob-dir /var/lib/zeo-test/blobs\\n\
         </filestorage>\\n' > /var/lib/zeo-test/zeo.conf && \
         systemd-run --unit=zeo-test /srv/zeoserver/current/bin/runzeo -C /var/lib/zeo-test/zeo.conf && \
         for i in $(seq 100); do (echo > /dev/tcp/127.0.0.1/8100) 2>/dev/null && exit 0; sleep 0.1; done; \
         journalctl -u zeo-test --no-pager; exit 1",
    );
    let client = r#"
import ZEO, transaction, persistent.mapping
db = ZEO.DB(("127.0.0.1", 8100)); c = db.open()
c.root()["doc"] = persistent.mapping.PersistentMapping(title="stored through ZEO")
transaction.commit(); db.close()
db = ZEO.DB(("127.0.0.1", 8100)); print(db.open().root()["doc"]["title"]); db.close()
"#;
    std::fs::write(lab.state.dir.join("www/client.py"), client).unwrap();
    let loaded = lab.ssh_ok(
        &host,
        &format!(
            "curl -sSf {} -o /tmp/client.py && /srv/zeoserver/current/bin/zopepy /tmp/client.py",
            http.url("client.py")
        ),
    );
    assert_eq!(loaded, "stored through ZEO");
    lab.ssh_ok(&host, "systemctl stop zeo-test");

    // The same release deployed again (check mode first) changes nothing: the stamp holds.
    s.write(
        "redeploy.yml",
        "- hosts: zeoserver\n  gather_facts: false\n  tasks:\n    \
         - include_role: {name: zeo_buildout, tasks_from: deploy}\n",
    );
    let app = json!({"name": "zeoserver", "layers": ["zeoserver"], "source": source,
        "deploy_to": "/srv/zeoserver", "environment": {}, "revision": Value::Null,
        "release": release, "previous_release": Value::Null});
    let mut vars = attributes.clone();
    vars["stack"] = json!({"deploy": {"zeoserver": app}});
    vars["app_type"] = json!("buildout");
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
}
