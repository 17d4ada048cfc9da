//! The Plone stack end to end, on one lab of systemd hosts running the real software: nginx →
//! varnish → haproxy on the frontend, Plone 6 ZEO clients, a ZEO server and a maintenance
//! instance, all installed by `stacks/plone.yml`'s roles from the controller's package cache
//! served on the lab bridge. The steps share one lab, in the order of issue 15's list: bring-up,
//! content through the frontend, scale out and in under load, backup/pack/restore onto a fresh
//! ZEO server, and a second run that changes and restarts nothing.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use common::Lab;
use common::plone::{PloneStack, caches, haproxy_servers, http, status, title, wait_backends_up};
use serde_json::Value;

const TITLE: &str = "strata Plone e2e";
const STATS_PASSWORD: &str = "e2e-stats-secret";

/// The lab's hosts, named as the stack's instances: plone3 and zeo2 join the inventory later.
const NAMES: &[&str] = &[
    "lb1", "plone1", "plone2", "zeo1", "maint1", "plone3", "zeo2",
];

fn servers(hosts: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = hosts
        .iter()
        .flat_map(|h| [format!("{h}_8081"), format!("{h}_8082")])
        .collect();
    v.sort();
    v
}

/// Frontend requests in a loop until stopped: (requests made, responses that were not 200).
struct Load {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<(usize, Vec<String>)>,
}

impl Load {
    fn start(url: String) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let (mut n, mut bad) = (0, Vec::new());
            while !s.load(Ordering::SeqCst) {
                let out = std::process::Command::new("curl")
                    .args([
                        "-s",
                        "-o",
                        "/dev/null",
                        "-w",
                        "%{http_code}",
                        "--max-time",
                        "20",
                    ])
                    .arg(&url)
                    .output()
                    .expect("curl");
                let code = String::from_utf8_lossy(&out.stdout).to_string();
                n += 1;
                if code != "200" {
                    bad.push(code);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            (n, bad)
        });
        Load { stop, handle }
    }

    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

fn recap(event: &Value) -> Vec<(String, u64)> {
    event["recap"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(h, r)| (h.clone(), r["changed"].as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

fn hosts_of(event: &Value) -> Vec<String> {
    let mut v: Vec<String> = event["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn plone_stack_end_to_end() {
    caches();
    let lab = Lab::up_named("plone-e2e", NAMES, true);
    lab.serve(std::path::Path::new("/var/cache/strata"));
    let stack = PloneStack::new(&lab, NAMES, |text| {
        text.replace(
            "site_title: strata Plone demo",
            &format!("site_title: {TITLE}"),
        )
        .replace(
            "stats_user: admin",
            &format!("stats_user: admin\n    stats_password: {STATS_PASSWORD}"),
        )
    });
    let mut groups: Vec<(&str, Vec<&str>)> = vec![
        ("lb", vec!["lb1"]),
        ("plone_instances", vec!["plone1", "plone2"]),
        ("zeoserver", vec!["zeo1"]),
        ("maintenance", vec!["maint1"]),
    ];
    let write_groups = |g: &Vec<(&str, Vec<&str>)>| {
        let v: Vec<(&str, &[&str])> = g.iter().map(|(k, h)| (*k, h.as_slice())).collect();
        stack.groups(&v);
    };
    write_groups(&groups);
    let lb = stack.addr("lb1");
    let front = format!("http://{lb}/");

    // 1. From an empty state, one sync brings the five hosts online.
    stack.expect(&["sync"], 0);
    let page = http(&front, &[]);
    assert_eq!(
        page.status, 200,
        "front page through the frontend: {page:?}"
    );
    assert!(
        title(&page.body).is_some_and(|t| t.contains(TITLE)),
        "the site's title {TITLE:?} in {:?}",
        title(&page.body)
    );
    wait_backends_up(
        &lb,
        "admin",
        STATS_PASSWORD,
        &servers(&["plone1", "plone2"]),
        60,
    );

    // 2. A Document made through the frontend with plone.restapi, as admin.
    let admin = format!("admin:{}", stack.admin_password());
    let json = [
        "-H",
        "Accept: application/json",
        "-H",
        "Content-Type: application/json",
    ];
    let made = http(
        &front,
        &[
            &["-u", admin.as_str(), "-X", "POST", "--data"][..],
            &[r#"{"@type": "Document", "id": "e2e-doc", "title": "E2E document"}"#],
            &json,
        ]
        .concat(),
    );
    assert_eq!(made.status, 201, "POST a Document: {made:?}");
    let published = http(
        &format!("{front}e2e-doc/@workflow/publish"),
        &[&["-u", admin.as_str(), "-X", "POST"][..], &json].concat(),
    );
    assert_eq!(published.status, 200, "publish: {published:?}");
    let through = http(&format!("{front}e2e-doc"), &[]);
    assert_eq!(through.status, 200, "the Document through the frontend");
    assert!(through.body.contains("E2E document"));
    for host in ["plone1", "plone2"] {
        for port in [8081, 8082] {
            let r = http(
                &format!("http://{}:{port}/Plone/e2e-doc", stack.addr(host)),
                &["-u", &admin],
            );
            assert_eq!(r.status, 200, "the Document from {host}:{port}");
            assert!(
                r.body.contains("E2E document"),
                "{host}:{port} shares the ZODB"
            );
        }
    }
    let anon = format!("{front}e2e-doc?anonymous-check");
    let first = http(&anon, &[]);
    let second = http(&anon, &[]);
    assert_eq!((first.status, second.status), (200, 200));
    let age: u64 = second
        .headers
        .get("age")
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let ids = second
        .headers
        .get("x-varnish")
        .map(|x| x.split_whitespace().count());
    assert!(
        age > 0 || ids == Some(2),
        "the second anonymous GET is a varnish hit: {:?}",
        second.headers
    );

    // 3. Scale out: plone3 joins. Setup and deploy on plone3 only, configure on all six; the
    //    ZEO server and the other clients keep their processes; requests never fail.
    let zeo_pid = stack.pids("zeo1", &["zeoserver"]);
    let client_pids: Vec<Vec<u64>> = ["plone1", "plone2"]
        .iter()
        .map(|h| stack.pids(h, &["plone-client@1", "plone-client@2"]))
        .collect();
    groups[1].1.push("plone3");
    write_groups(&groups);
    // Check mode first: every role survives it on a fresh host, and nothing changes.
    stack.expect(&["sync", "--check"], 0);
    assert!(
        stack.ssh("plone3", "test -e /srv/plone && echo yes || echo no") == "no",
        "check mode installed nothing on plone3"
    );
    let load = Load::start(front.clone());
    stack.expect(&["sync"], 0);
    let history = stack.history();
    let events = &history[..3];
    let kinds: Vec<(String, Vec<String>)> = events
        .iter()
        .rev()
        .map(|e| (e["kind"].as_str().unwrap().to_string(), hosts_of(e)))
        .collect();
    let mut six: Vec<String> = ["lb1", "plone1", "plone2", "plone3", "zeo1", "maint1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    six.sort();
    assert_eq!(
        kinds,
        vec![
            ("setup".into(), vec!["plone3".to_string()]),
            ("deploy".into(), vec!["plone3".to_string()]),
            ("configure".into(), six.clone()),
        ]
    );
    wait_backends_up(
        &lb,
        "admin",
        STATS_PASSWORD,
        &servers(&["plone1", "plone2", "plone3"]),
        60,
    );
    let (n, bad) = load.finish();
    assert!(n > 10, "the load loop ran ({n} requests)");
    assert!(
        bad.is_empty(),
        "requests across the scale-out: {n}, not 200: {bad:?}"
    );
    assert_eq!(
        stack.pids("zeo1", &["zeoserver"]),
        zeo_pid,
        "the ZEO server kept its PID"
    );
    for (i, h) in ["plone1", "plone2"].iter().enumerate() {
        assert_eq!(
            stack.pids(h, &["plone-client@1", "plone-client@2"]),
            client_pids[i],
            "{h}'s clients kept their PIDs"
        );
    }

    // 4. Scale in: plone2 leaves; haproxy drops its servers and requests keep succeeding.
    groups[1].1.retain(|h| *h != "plone2");
    write_groups(&groups);
    let load = Load::start(front.clone());
    stack.expect(&["sync"], 0);
    wait_backends_up(
        &lb,
        "admin",
        STATS_PASSWORD,
        &servers(&["plone1", "plone3"]),
        30,
    );
    let (n, bad) = load.finish();
    assert!(
        bad.is_empty(),
        "requests across the scale-in: {n}, not 200: {bad:?}"
    );

    // 6 (before 5 changes the ZEO server). A forced configure and setup change nothing and
    //    restart nothing; a sync with no change runs no event.
    let before: Vec<Vec<u64>> = ["plone1", "plone3"]
        .iter()
        .map(|h| stack.pids(h, &["plone-client@1", "plone-client@2"]))
        .collect();
    let haproxy_pid = stack.pids("lb1", &["haproxy"]);
    for args in [&["run", "setup"][..], &["configure"][..]] {
        stack.expect(args, 0);
        let ev = &stack.history()[0];
        for (host, changed) in recap(ev) {
            assert_eq!(changed, 0, "{args:?} changed something on {host}: {ev}");
        }
    }
    let newest = stack.history()[0]["id"].clone();
    let out = stack.expect(&["sync"], 0);
    assert_eq!(
        stack.history()[0]["id"],
        newest,
        "a no-change sync runs no event"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("joined: -"));
    let after: Vec<Vec<u64>> = ["plone1", "plone3"]
        .iter()
        .map(|h| stack.pids(h, &["plone-client@1", "plone-client@2"]))
        .collect();
    assert_eq!(before, after, "no client restarted");
    assert_eq!(stack.pids("lb1", &["haproxy"]), haproxy_pid);
    // Check mode on the running stack fails nowhere and changes nothing.
    stack.expect(&["configure", "--check"], 0);

    // 5. Backup to the maintenance instance, pack after a deletion, restore onto a fresh ZEO
    //    server.
    // The backup runs as the stack's scheduled job would (`jobs:` in stacks/plone.yml).
    stack.jobs_expect(&["run", "backup"], 0);
    let listing = stack.ssh(
        "maint1",
        "ls /var/backups/zodb/repozo /var/backups/zodb/blobs/latest/",
    );
    assert!(
        listing.contains(".fsz"),
        "a repozo backup on maint1: {listing}"
    );
    let blobs = stack.ssh(
        "maint1",
        "find /var/backups/zodb/blobs/latest/ -type f | wc -l",
    );
    assert!(blobs.parse::<u64>().unwrap() > 0, "blob files on maint1");
    let gone = http(
        &format!("{front}e2e-doc"),
        &[&["-u", admin.as_str(), "-X", "DELETE"][..], &json].concat(),
    );
    assert_eq!(gone.status, 204, "DELETE the Document: {gone:?}");
    let size = || -> u64 {
        stack
            .ssh("zeo1", "stat -c %s /var/lib/zeoserver/filestorage/Data.fs")
            .parse()
            .unwrap()
    };
    let before_pack = size();
    stack.expect(
        &[
            "run",
            "pack",
            "--attributes",
            r#"{"plone_zeoserver": {"pack_days": 0}}"#,
        ],
        0,
    );
    let after_pack = size();
    assert!(
        after_pack < before_pack,
        "Data.fs shrank: {before_pack} -> {after_pack}"
    );
    // The weekly pack job (its default pack_days keeps the last week, so nothing shrinks);
    // both jobs are in the job history, ok, with their hosts' recap.
    stack.jobs_expect(&["run", "pack"], 0);
    let jobs = stack.job_history(None);
    let jobs: Vec<(&str, &str)> = jobs
        .iter()
        .map(|r| (r["job"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(jobs, [("pack", "ok"), ("backup", "ok")]);
    let listed = stack.jobs_expect(&["list", "--json"], 0);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["name"], "backup");
    assert_eq!(listed[0]["last_run"]["result"], "ok");
    assert_eq!(listed[1]["on_calendar"], "Sun *-*-* 01:00:00 UTC");
    assert_eq!(
        stack.ssh(
            "zeo1",
            "ls /var/lib/zeoserver/filestorage/ | grep -c '^Data.fs.old$' || true"
        ),
        "0",
        "no Data.fs.old (pack-keep-old false)"
    );

    // A fresh ZEO server replaces zeo1; the clients follow it at the configure broadcast, then
    // the maintenance layer's restore brings the Document back from maint1's backups.
    groups[2].1 = vec!["zeo2"];
    write_groups(&groups);
    stack.expect(&["sync"], 0);
    stack.expect(&["run", "restore", "--layer", "maintenance"], 0);
    let doc = format!("http://{}:8081/Plone/e2e-doc", stack.addr("plone1"));
    // The clients restart after the restore: wait until one answers.
    let mut code = 0;
    for _ in 0..240 {
        code = status(&doc, &["-u", &admin]);
        if code == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(code, 200, "the Document is back after the restore");
    let restored = http(&doc, &["-u", &admin]);
    assert!(restored.body.contains("E2E document"));
    let via = haproxy_servers(&lb, "admin", STATS_PASSWORD);
    assert_eq!(via.len(), 4, "{via:?}");
}
