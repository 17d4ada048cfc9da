//! Named lab hosts, `lab add`, and the lab's file server (`strata lab serve`) as a host sees
//! it: a plain lab with one named host grows by another, each host's hostname is its name and
//! every host resolves the other's; the server, started as a detached `strata lab serve`
//! process, answers the new host's `curl` (a file, a HEAD, a directory listing, a 404, and no
//! way out of its root), and `lab down` stops it.

mod common;

use common::Lab;

#[test]
fn named_hosts_grow_and_fetch_from_the_lab_file_server() {
    let mut lab = Lab::up_named("serve-named", &["web1"], false);
    lab.add(&["db-1"]);
    assert_eq!(
        lab.hosts
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>(),
        ["web1", "db-1"]
    );
    assert_eq!(lab.ssh_ok("db-1", "hostname"), "db-1");
    assert_eq!(lab.ssh_ok("web1", "hostname"), "web1");
    // The running host learnt the new one's name; the new host knows both.
    let db = lab.host("db-1").addr.clone();
    assert_eq!(
        lab.ssh_ok("web1", "getent hosts db-1 | awk '{print $1}'"),
        db
    );
    assert_eq!(
        lab.ssh_ok("db-1", "getent hosts web1 | awk '{print $1}'"),
        lab.host("web1").addr
    );
    let inventory = std::fs::read_to_string(&lab.inventory).unwrap();
    assert!(inventory.contains("db-1:"), "{inventory}");
    let gateway = lab.state.gateway.to_string();
    assert!(
        inventory.contains(&format!("strata_lab_gateway: \"{gateway}\"")),
        "{inventory}"
    );

    let root = common::lab_dir().join("serve-named-root");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("python/wheels")).unwrap();
    std::fs::write(
        root.join("python/wheels/x_y-1.0+a-py3-none-any.whl"),
        "a wheel\n",
    )
    .unwrap();
    std::fs::write(root.join("python/.strata-key"), "hidden\n").unwrap();
    let url = lab.serve(&root);
    assert_eq!(url, format!("http://{gateway}:8780/"));
    // Started twice, it is the same server.
    assert_eq!(lab.serve(&root), url);

    let curl = |path: &str| {
        lab.ssh_ok(
            "db-1",
            &format!("curl -sS -w ' %{{http_code}}' {url}{path}"),
        )
    };
    assert_eq!(
        curl("python/wheels/x_y-1.0%2Ba-py3-none-any.whl"),
        "a wheel\n 200"
    );
    let listing = curl("python/wheels/");
    assert!(
        listing.contains("<a href=\"x_y-1.0%2Ba-py3-none-any.whl\">") && listing.ends_with(" 200"),
        "{listing}"
    );
    let head = lab.ssh_ok(
        "db-1",
        &format!("curl -sSI {url}python/wheels/x_y-1.0+a-py3-none-any.whl"),
    );
    assert!(head.contains("Content-Length: 8"), "{head}");
    assert!(curl("python/.strata-key").ends_with(" 404"));
    assert!(curl("missing").ends_with(" 404"));
    assert!(
        lab.ssh_ok(
            "db-1",
            &format!(
                "curl -sS --path-as-is -o /dev/null -w '%{{http_code}}' {url}../../etc/passwd"
            )
        )
        .ends_with("404")
    );

    let pid: u32 = std::fs::read_to_string(lab.opts.lab_dir().join("serve.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    strata::lab::down(&lab.opts).unwrap();
    let gone = std::fs::read(format!("/proc/{pid}/cmdline")).map_or(true, |c| c.is_empty());
    assert!(gone, "the file server {pid} outlived lab down");
    let _ = std::fs::remove_dir_all(&root);
    // Already down: the helper's drop has nothing left to remove.
    std::mem::forget(lab);
}
