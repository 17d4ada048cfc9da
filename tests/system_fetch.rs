//! `get_url`, `uri`, `unarchive`, `git` and `pip` on a real lab host: everything is fetched
//! from the controller over the lab bridge (HTTP server, a git repository and a wheelhouse
//! under /var/lib/strata, which hosts can read), checked over plain ssh, run twice for
//! idempotency, run in check mode against changed upstreams, and made to fail once each.

mod common;

use std::path::Path;
use std::process::Command;

use common::Lab;
use common::artifacts::{sh, shared_data};
use common::http::HttpServer;
use common::playbook::fixture;

fn git_rev(data: &Path, rev: &str) -> String {
    let out = Command::new("git")
        .args(["-C", &data.join("repo").to_string_lossy(), "rev-parse", rev])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn fetch_modules_apply_are_idempotent_honour_check_mode_and_fail_clearly() {
    let lab = Lab::up("sys-fetch", 1, false);
    let data = shared_data("fetch-test");
    let srv = HttpServer::start(&lab.state.gateway.to_string(), &data.join("www"));
    let base = srv.url("").trim_end_matches('/').to_string();
    let sha = {
        let s = std::fs::read_to_string(data.join("www/SHA256SUMS")).unwrap();
        s.split_whitespace().next().unwrap().to_string()
    };
    let vars = |pkg: &str, git: &str| {
        vec![
            format!("base={base}"),
            format!("data={}", data.display()),
            format!("pkg_version={pkg}"),
            format!("git_version={git}"),
            format!("hello_sha256={sha}"),
        ]
    };
    let args = |v: &[String], check: bool| -> Vec<String> {
        let mut a: Vec<String> = v
            .iter()
            .flat_map(|x| ["-e".to_string(), x.clone()])
            .collect();
        if check {
            a.insert(0, "--check".into());
        }
        a
    };
    let book = fixture("fetch").join("site.yml");
    let h = lab.hosts[0].name.clone();
    let go = |v: &[String], check: bool| {
        let a = args(v, check);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        lab.playbook_file(&book).args(&refs).run()
    };

    let first = go(&vars("1.0", "main"), false);
    assert_eq!(first.code, 0, "{}", first.dump());
    assert_eq!(first.host(&h).failed, 0, "{}", first.dump());
    assert!(first.host(&h).changed >= 10, "{}", first.dump());

    let ssh = |cmd: &str| lab.ssh_ok(&h, cmd);
    assert_eq!(ssh("cat /opt/fetch/hello.txt"), "hello from the controller");
    assert_eq!(ssh("stat -c %a /opt/fetch/hello.txt"), "640");
    assert_eq!(
        ssh(
            "cat /opt/fetch/hello-ck.txt /opt/fetch/hello-sums.txt /opt/fetch/dl/hello.txt /opt/fetch/uri-hello.txt"
        ),
        "hello from the controller\nhello from the controller\nhello from the controller\nhello from the controller"
    );
    assert_eq!(
        ssh("cat /opt/fetch/tgz/a.txt /opt/fetch/tgz/sub/b.txt /opt/fetch/zip/sub/b.txt"),
        "alpha\nbeta\nbeta"
    );
    assert_eq!(
        ssh("git -C /opt/fetch/repo rev-parse HEAD"),
        git_rev(&data, "main")
    );
    assert_eq!(
        ssh(
            "/opt/fetch/venv/bin/python -c 'import stratapkg, stratadep; print(stratapkg.VERSION)'"
        ),
        "1.0"
    );
    let tgz = first.results(&h, "unarchive from controller again");
    assert_eq!(tgz[0]["result"]["handler"], "TgzArchive", "{}", tgz[0]);
    assert!(
        tgz[0]["result"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "sub/b.txt"),
        "{}",
        tgz[0]
    );
    let git = first.results(&h, "git checkout");
    assert_eq!(git[0]["result"]["after"], git_rev(&data, "main"));
    assert!(git[0]["result"]["before"].is_null());
    let st = first.results(&h, "uri accepted status");
    assert_eq!(st[0]["result"]["status"], 404);
    assert_eq!(st[0]["result"]["changed"], false);
    // The headers strata's uri sent, as the server saw them.
    let echo = srv
        .requests()
        .into_iter()
        .find(|r| r.path == "/echo")
        .expect("echo request");
    assert_eq!(echo.method, "POST");
    assert_eq!(echo.query, "x=1");
    assert_eq!(
        String::from_utf8_lossy(&echo.body),
        r#"{"name": "strata", "n": 2}"#
    );

    let second = go(&vars("1.0", "main"), false);
    assert_eq!(second.code, 0, "{}", second.dump());
    assert_eq!(
        second.host(&h).changed,
        0,
        "second run changed: {}",
        second.dump()
    );

    // Upstream moves: new server content, a newer wheel, another branch. Check mode reports
    // every change and makes none.
    std::fs::write(data.join("www/hello.txt"), "hello again\n").unwrap();
    sh(&data, "(cd www && sha256sum hello.txt > SHA256SUMS)");
    let sha2 = std::fs::read_to_string(data.join("www/SHA256SUMS")).unwrap();
    let sha2 = sha2.split_whitespace().next().unwrap().to_string();
    let mut v2 = vars("2.0", "dev");
    v2[4] = format!("hello_sha256={sha2}");
    let check = go(&v2, true);
    assert_eq!(check.code, 0, "{}", check.dump());
    let changed_tasks: Vec<String> = check
        .events
        .iter()
        .filter(|e| e["event"] == "host_result" && e["status"] == "changed")
        .map(|e| e["task"].as_str().unwrap_or("").to_string())
        .collect();
    for t in [
        "get_url plain",
        "get_url with checksum",
        "get_url checksum file",
        "git checkout",
        "pip into a venv",
    ] {
        assert!(
            changed_tasks.iter().any(|c| c.ends_with(t)),
            "check mode should report {t}: {changed_tasks:?}\n{}",
            check.dump()
        );
    }
    assert!(
        check.results(&h, "uri echo")[0]["status"] == "skipped",
        "uri is skipped in check mode"
    );
    assert_eq!(
        ssh("cat /opt/fetch/hello.txt /opt/fetch/hello-ck.txt"),
        "hello from the controller\nhello from the controller"
    );
    assert_eq!(
        ssh("git -C /opt/fetch/repo rev-parse HEAD"),
        git_rev(&data, "main")
    );
    assert_eq!(
        ssh("/opt/fetch/venv/bin/python -c 'import stratapkg; print(stratapkg.VERSION)'"),
        "1.0"
    );

    let third = go(&v2, false);
    assert_eq!(third.code, 0, "{}", third.dump());
    assert_eq!(
        ssh("cat /opt/fetch/hello.txt /opt/fetch/hello-ck.txt"),
        "hello again\nhello again"
    );
    assert_eq!(
        ssh("git -C /opt/fetch/repo rev-parse HEAD"),
        git_rev(&data, "dev")
    );
    assert_eq!(
        ssh("/opt/fetch/venv/bin/python -c 'import stratapkg; print(stratapkg.VERSION)'"),
        "2.0"
    );

    // Local modifications block a git update, as in Ansible.
    ssh("echo local > /opt/fetch/repo/f");
    let mut v3 = v2.clone();
    v3[3] = "git_version=main".into();
    let mods = go(&v3, false);
    assert_ne!(mods.code, 0);
    let g = mods.results(&h, "git checkout");
    assert_eq!(
        g[0]["result"]["msg"],
        "Local modifications exist in the destination: /opt/fetch/repo (force=no)."
    );

    let fails = {
        let a = args(&v3, false);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        lab.playbook_file(&fixture("fetch").join("failures.yml"))
            .args(&refs)
            .run()
    };
    assert_eq!(fails.host(&h).ignored, 6, "{}", fails.dump());
    let msg = |t: &str| {
        fails.results(&h, t)[0]["result"]["msg"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(msg("get_url 404"), "Request failed");
    assert_eq!(
        fails.results(&h, "get_url 404")[0]["result"]["status_code"],
        404
    );
    assert!(
        msg("get_url checksum mismatch").contains("did not match 0000"),
        "{}",
        msg("get_url checksum mismatch")
    );
    assert_eq!(
        msg("uri 404"),
        "Status code was 404 and not [200]: HTTP Error 404: Not Found"
    );
    assert!(
        msg("git bad repo").contains("does not appear to be a git repository"),
        "{}",
        msg("git bad repo")
    );
    assert_eq!(
        msg("unarchive missing dest"),
        "dest '/opt/fetch/no-such-dir' must be an existing dir"
    );
    assert!(
        msg("pip unknown package offline")
            .contains("No matching distribution found for no-such-package-xyz"),
        "{}",
        msg("pip unknown package offline")
    );
    assert_eq!(lab.ssh(&h, "test -e /opt/fetch/bad-ck.txt").0, 1);

    drop(srv);
    let _ = std::fs::remove_dir_all(&data);
}
