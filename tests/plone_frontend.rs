//! The Plone stack's frontend (issue 15, the `lb` layer): roles `nginx`, `varnish` and
//! `haproxy` from `roles/`, run by `strata stack` on systemd lab hosts against fake Plone
//! clients (tests/fixtures/plone_frontend: two small HTTP servers per host, on 8081 and 8082,
//! each a systemd unit, answering with their name and the path they were asked for, with
//! Plone's `Cache-Control: max-age=0`). Packages come from the controller's apt cache
//! (/var/cache/strata/apt), served on the lab bridge. Everything asserted is what the real
//! nginx, varnish and haproxy do: the VirtualHostBase rewrite reaching a backend, haproxy's
//! stats behind its password, varnish hits, PURGE allowed only from the Plone instances, and
//! a scale-in that reloads haproxy and varnish (same main PIDs, cache kept) instead of
//! restarting them. Every event is idempotent and a check-mode sync on fresh hosts succeeds.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use common::Lab;
use common::http::HttpServer;
use common::stack::{Stack, wait_until};

/// The controller's package cache (the contract's `/var/cache/strata/`, `apt/` a flat repo
/// with nginx, varnish, haproxy, socat and their missing dependencies).
const CACHE: &str = "/var/cache/strata";
/// The Host the tests send to the frontend, and the path nginx must make of `/page?x=1`.
const HOST: &str = "plone.example";
const VHM: &str = "/VirtualHostBase/http/plone.example:80/Plone/VirtualHostRoot";

/// An HTTP response from curl: status line, lowercased headers, body.
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Varnish served it from its cache: X-Varnish holds this request's id and the one that
    /// stored the object.
    fn hit(&self) -> bool {
        self.header("x-varnish")
            .map(|v| v.split_whitespace().count() == 2)
            .unwrap_or(false)
    }
}

fn parse(raw: &str) -> Resp {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status line in {raw:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: body.to_string(),
    }
}

/// curl from the controller (the lab bridge's address).
fn curl(args: &[&str]) -> Resp {
    let out = Command::new("curl")
        .args(["-s", "-i", "--max-time", "10"])
        .args(args)
        .output()
        .expect("cannot run curl");
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// curl run on a lab host (its own address as the source).
fn curl_on(lab: &Lab, host: &str, args: &str) -> Resp {
    parse(&lab.ssh_raw(host, &format!("curl -s -i --max-time 10 {args}")))
}

/// A page through the frontend, as an anonymous visitor of plone.example.
fn front(lab: &Lab, path: &str, extra: &[&str]) -> Resp {
    let url = format!("http://{}{path}", lab.host("lab01").addr);
    let mut args = vec!["-H", "Host: plone.example"];
    args.extend_from_slice(extra);
    args.push(&url);
    curl(&args)
}

/// haproxy's stats as (server name, status) of backend `plone`, with the stack's password.
fn stats(lab: &Lab, st: &Stack) -> Vec<(String, String)> {
    let pw = std::fs::read_to_string(st.dir.join(".strata/haproxy-stats-password"))
        .expect("the stats password is kept beside the stack file");
    let r = curl(&[
        "-u",
        &format!("stats:{}", pw.trim()),
        &format!("http://{}:8080/balancer/stats;csv", lab.host("lab01").addr),
    ]);
    assert_eq!(r.status, 200, "stats: {}", r.body);
    r.body
        .lines()
        .filter(|l| l.starts_with("plone,") && !l.starts_with("plone,BACKEND"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[17].to_string())
        })
        .collect()
}

fn all_up(names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| (n.to_string(), "UP".to_string()))
        .collect()
}

/// Per-host recap of the newest event: host -> changed count.
fn last_changed(st: &Stack) -> Vec<(String, u64)> {
    let h = st.history();
    let recap = h[0]["recap"]
        .as_object()
        .unwrap_or_else(|| panic!("event without recap: {}", h[0]));
    recap
        .iter()
        .map(|(host, r): (&String, &Value)| (host.clone(), r["changed"].as_u64().unwrap()))
        .collect()
}

fn unchanged(st: &Stack, what: &str) {
    let c = last_changed(st);
    assert!(
        c.iter().all(|(_, n)| *n == 0),
        "{what}: changed on some host: {c:?}"
    );
}

fn write_groups(st: &Stack, plone: &[&str]) {
    let hosts: String = plone.iter().map(|h| format!("{h}: {{}}, ")).collect();
    st.write(
        "groups.yml",
        &format!(
            "all:\n  children:\n    lb: {{hosts: {{lab01: {{}}}}}}\n    \
             plone_instances: {{hosts: {{{}}}}}\n",
            hosts.trim_end_matches(", ")
        ),
    );
}

fn main_pid(lab: &Lab, unit: &str) -> String {
    let pid = lab.ssh_ok(
        "lab01",
        &format!("systemctl show -p MainPID --value {unit}"),
    );
    assert_ne!(pid, "0", "{unit} is not running");
    pid
}

#[test]
fn plone_frontend_nginx_varnish_haproxy_follow_the_stack() {
    // Built on a fresh machine, reused afterwards (`strata lab cache`).
    common::plone::caches();
    let lab = Lab::up("plone-fe", 3, true);
    common::aptrepo::offline(&lab);
    let srv = HttpServer::start(&lab.state.gateway.to_string(), Path::new(CACHE));
    let roles = Path::new(env!("CARGO_MANIFEST_DIR")).join("roles");
    let st = Stack::of("plone_frontend", &lab.state.dir.join("stack")).with_command(move |c| {
        c.env("STRATA_ROLES_PATH", &roles);
    });
    std::fs::copy(&lab.inventory, st.dir.join("lab.yml")).unwrap();
    let apt_url = srv.url("apt/");
    st.edit(|s| s.replace("APT_URL", &apt_url));
    write_groups(&st, &["lab02", "lab03"]);

    // Check mode on fresh hosts: every event succeeds and nothing is installed.
    st.expect(&["sync", "--check"], 0);
    assert_eq!(
        lab.ssh(
            "lab01",
            "dpkg-query -W -f '${Status}' haproxy nginx varnish"
        )
        .0,
        1,
        "check mode installed packages"
    );

    // From nothing: packages from the served cache, the three services up.
    st.expect(&["sync"], 0);
    for unit in ["nginx", "varnish", "haproxy"] {
        assert_eq!(
            lab.ssh_ok(
                "lab01",
                &format!("systemctl is-active {unit}; systemctl is-enabled {unit}")
            ),
            "active\nenabled",
            "{unit}"
        );
    }
    assert_eq!(
        lab.ssh("lab01", "command -v socat").0,
        0,
        "socat for the admin socket"
    );

    // haproxy: four servers, named <host>_<port>, all UP by their health checks; stats need
    // the password.
    let four = all_up(&["lab02_8081", "lab02_8082", "lab03_8081", "lab03_8082"]);
    wait_until(30, "4 servers UP in haproxy's stats", || {
        stats(&lab, &st) == four
    });
    let anon = curl(&[&format!(
        "http://{}:8080/balancer/stats;csv",
        lab.host("lab01").addr
    )]);
    assert_eq!(anon.status, 401, "stats without the password");
    let cfg = lab.ssh_ok("lab01", "cat /etc/haproxy/haproxy.cfg");
    assert!(cfg.contains("balance leastconn"), "{cfg}");
    assert!(
        cfg.contains("maxconn 3"),
        "threads from plone_instances: {cfg}"
    );
    assert!(
        cfg.contains(&format!(
            "server lab03_8082 {}:8082 check",
            lab.host("lab03").addr
        )),
        "{cfg}"
    );
    assert!(
        lab.ssh_ok(
            "lab01",
            "echo 'show servers state plone' | socat stdio /run/haproxy/admin.sock"
        )
        .contains("lab02_8081"),
        "the admin socket answers"
    );

    // nginx -> varnish -> haproxy -> a client, with the virtual host path.
    let first = front(&lab, "/page?x=1", &[]);
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(
        first.body.starts_with("fake-plone lab0")
            && first.body.contains(&format!("path={VHM}/page?x=1")),
        "{}",
        first.body
    );
    assert!(!first.hit(), "{:?}", first.headers);
    // The second anonymous GET is a hit, although the client said max-age=0; tracking cookies
    // do not get in the way, a login does (never from the cache).
    let second = front(&lab, "/page?x=1", &[]);
    assert!(second.hit(), "{:?}", second.headers);
    assert_eq!(second.body, first.body);
    assert!(
        front(
            &lab,
            "/page?x=1",
            &["-H", "Cookie: _ga=GA1.2.3; __utma=1.2"]
        )
        .hit(),
        "tracking cookies are stripped"
    );
    for auth in [
        vec!["-H", "Cookie: __ac=\"token\"; _ga=1"],
        vec!["-u", "admin:secret"],
    ] {
        assert!(
            !front(&lab, "/page?x=1", &auth).hit(),
            "{auth:?} was served from cache"
        );
    }
    for _ in 0..2 {
        let r = front(&lab, "/set-cookie/x", &[]);
        assert!(
            r.header("set-cookie").is_some() && !r.hit(),
            "{:?}",
            r.headers
        );
    }

    // PURGE: from a Plone instance straight to varnish, yes; from elsewhere, or through
    // nginx (where every client would look like localhost), no.
    let purge_url = format!("'http://{}:6081{VHM}/page?x=1'", lab.host("lab01").addr);
    let refused = curl(&["-X", "PURGE", &purge_url.replace('\'', "")]);
    assert_eq!(
        refused.status, 405,
        "PURGE from the controller: {}",
        refused.body
    );
    let via_nginx = curl_on(
        &lab,
        "lab02",
        &format!(
            "-X PURGE -H 'Host: {HOST}' 'http://{}/page?x=1'",
            lab.host("lab01").addr
        ),
    );
    assert_eq!(via_nginx.status, 405, "PURGE through nginx");
    assert!(front(&lab, "/page?x=1", &[]).hit(), "refused purges purged");
    let purged = curl_on(&lab, "lab02", &format!("-X PURGE {purge_url}"));
    assert_eq!(purged.status, 200, "PURGE from lab02: {}", purged.body);
    assert!(
        !front(&lab, "/page?x=1", &[]).hit(),
        "the purged page came from cache"
    );

    // Sticky sessions (plone_instances.sticky_sessions): haproxy inserts its cookie and keeps
    // a client that has it on its server; varnish drops it from anonymous pages, which stay
    // cacheable.
    st.expect(
        &[
            "configure",
            "--attributes",
            r#"{"plone_instances": {"sticky_sessions": true}}"#,
        ],
        0,
    );
    let direct = curl(&[&format!("http://{}:8080/", lab.host("lab01").addr)]);
    let cookie = direct
        .header("set-cookie")
        .unwrap_or_else(|| panic!("no sticky cookie from haproxy: {:?}", direct.headers));
    assert!(cookie.starts_with("serverid=lab0"), "{cookie}");
    let pinned = front(
        &lab,
        "/sticky",
        &["-H", "Cookie: serverid=lab03_8082; __ac=x"],
    );
    assert!(
        pinned.body.starts_with("fake-plone lab03:8082 "),
        "{}",
        pinned.body
    );
    let a = front(&lab, "/sticky-anon", &[]);
    assert!(
        a.header("set-cookie").is_none() && !a.hit(),
        "{:?}",
        a.headers
    );
    assert!(
        front(&lab, "/sticky-anon", &[]).hit(),
        "anonymous pages uncached with sticky sessions"
    );
    st.expect(&["configure"], 0);
    assert!(
        !lab.ssh_ok("lab01", "cat /etc/haproxy/haproxy.cfg")
            .contains("cookie")
    );

    // Every event again: nothing changes.
    st.expect(&["run", "setup", "--check"], 0);
    st.expect(&["configure", "--check"], 0);
    st.expect(&["run", "setup"], 0);
    unchanged(&st, "setup again");
    st.expect(&["configure"], 0);
    unchanged(&st, "configure again");

    // Scale in: lab03 leaves. haproxy and varnish reload (same main processes, varnish keeps
    // its cache), haproxy has lab02's two servers, and lab03 may no longer PURGE.
    let kept = front(&lab, "/kept", &[]);
    let (hap, varnish) = (main_pid(&lab, "haproxy"), main_pid(&lab, "varnish"));
    write_groups(&st, &["lab02"]);
    st.expect(&["sync"], 0);
    assert_eq!(
        main_pid(&lab, "haproxy"),
        hap,
        "haproxy was restarted, not reloaded"
    );
    assert_eq!(
        main_pid(&lab, "varnish"),
        varnish,
        "varnish was restarted, not reloaded"
    );
    wait_until(20, "2 servers in haproxy's stats", || {
        stats(&lab, &st) == all_up(&["lab02_8081", "lab02_8082"])
    });
    assert!(
        !lab.ssh_ok("lab01", "cat /etc/haproxy/haproxy.cfg")
            .contains("lab03"),
        "lab03 still in haproxy.cfg"
    );
    let vcls = lab.ssh_ok("lab01", "varnishadm vcl.list");
    assert!(
        vcls.lines()
            .any(|l| l.starts_with("active") && l.contains("reload_")),
        "the new VCL was not loaded by a reload: {vcls}"
    );
    let again = front(&lab, "/kept", &[]);
    assert!(
        again.hit() && again.body == kept.body,
        "the cache did not survive: {:?}",
        again.headers
    );
    let lab03 = curl_on(&lab, "lab03", &format!("-X PURGE {purge_url}"));
    assert_eq!(lab03.status, 405, "PURGE from lab03 after it left");
    let r = front(&lab, "/after", &[]);
    assert!(
        r.status == 200 && r.body.starts_with("fake-plone lab02:"),
        "{}",
        r.body
    );

    // Nothing left to do: a second sync runs nothing, and configure changes nothing.
    let events = st.history().len();
    st.expect(&["sync"], 0);
    assert_eq!(
        st.history().len(),
        events,
        "a sync with no change ran an event"
    );
    st.expect(&["configure"], 0);
    unchanged(&st, "configure after the scale-in");
}
