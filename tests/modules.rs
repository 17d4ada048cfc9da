//! Every engine module on 5 real lab hosts: state checked over plain ssh, a second run is
//! `changed=0`, check mode changes nothing, and `--diff` shows what would change.

mod common;

use common::Lab;
use common::playbook::fixture;

#[test]
fn every_module_applies_is_idempotent_and_honours_check_and_diff() {
    let lab = Lab::up("mods", 5, false);
    let book_path = fixture("modules").join("site.yml");
    let fetch = strata::scratch::root().join(format!("strata-fetch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fetch);
    let fetch_arg = format!("fetch_dir={}/", fetch.display());
    let book = lab.playbook_file(&book_path).extra_var(&fetch_arg);

    let first = book.run();
    first.expect_exit(0);
    for h in &lab.hosts {
        let c = first.host(&h.name);
        assert_eq!((c.failed, c.unreachable), (0, 0), "{}", first.dump());
        assert!(c.changed >= 15, "{} changed only {}", h.name, c.changed);
    }

    // Host state, checked independently of strata.
    let h = &lab.hosts[1].name;
    let ssh = |cmd: &str| lab.ssh_raw(h, cmd);
    assert_eq!(ssh("stat -c %a /opt/strata-t").trim(), "750");
    assert_eq!(ssh("cat /opt/strata-t/hello.txt"), format!("hello {h}\n"));
    assert_eq!(ssh("stat -c %a /opt/strata-t/hello.txt").trim(), "640");
    assert_eq!(
        ssh("cat /opt/strata-t/replaced.txt"),
        "some hue and more hue\n"
    );
    assert_eq!(
        ssh("cat /opt/strata-t/data.txt"),
        "some colour and more color\n"
    );
    assert_eq!(ssh("stat -c %a /opt/strata-t/data.txt").trim(), "640");
    assert_eq!(
        ssh("cat /opt/strata-t/tree/a.txt /opt/strata-t/tree/sub/b.txt"),
        "a\nb\n"
    );
    assert_eq!(
        ssh("cat /opt/strata-t/data-copy.txt"),
        "some colour and more color\n"
    );
    assert_eq!(
        ssh("readlink /opt/strata-t/hello.link").trim(),
        "/opt/strata-t/hello.txt"
    );
    assert_eq!(
        ssh("stat -c %i /opt/strata-t/hello.txt"),
        ssh("stat -c %i /opt/strata-t/hello.hard")
    );
    let app = ssh("cat /opt/strata-t/app.conf");
    assert!(app.starts_with("port=8080\n"), "{app}");
    assert!(
        app.contains(
            "# BEGIN ANSIBLE MANAGED BLOCK\n[extra]\ndebug = false\n# END ANSIBLE MANAGED BLOCK"
        ),
        "{app}"
    );
    assert_eq!(ssh("cat /opt/strata-t/answer"), "42\n");
    ssh(
        "test -f /opt/strata-t/created && test -f /opt/strata-t/probed && test -f /opt/strata-t/touched",
    );
    let peers = ssh("cat /opt/strata-t/peers.conf");
    for other in &lab.hosts {
        assert!(
            peers.contains(&format!("{} {} {}", other.name, other.addr, other.name)),
            "{peers}"
        );
    }
    for other in &lab.hosts {
        let f = fetch.join(&other.name).join("opt/strata-t/hello.txt");
        assert_eq!(
            std::fs::read_to_string(&f).unwrap(),
            format!("hello {}\n", other.name)
        );
    }

    let second = book.run();
    second.expect_exit(0);
    for h in &lab.hosts {
        assert_eq!(
            second.host(&h.name).changed,
            0,
            "second run changed on {}:\n{}",
            h.name,
            second.dump()
        );
    }

    // Tamper with one host, then check mode: reported, not applied, and diffed.
    let t = &lab.hosts[0].name;
    lab.ssh_raw(t, "echo tampered > /opt/strata-t/hello.txt; sed -i 's/port=8080/port=1/' /opt/strata-t/app.conf");
    let out = lab.strata(&[
        "playbook",
        "-i",
        lab.inventory.to_str().unwrap(),
        "-C",
        "-D",
        "--skip-tags",
        "verify",
        "-e",
        &fetch_arg,
        book_path.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("-tampered") && text.contains(&format!("+hello {t}")),
        "diff missing:\n{text}"
    );
    assert!(
        text.contains("-port=1") && text.contains("+port=8080"),
        "lineinfile diff missing:\n{text}"
    );
    assert_eq!(
        lab.ssh_raw(t, "cat /opt/strata-t/hello.txt"),
        "tampered\n",
        "check mode changed the host"
    );
    assert!(
        lab.ssh_raw(t, "cat /opt/strata-t/app.conf")
            .starts_with("port=1\n")
    );

    let fix = book.run();
    fix.expect_exit(0);
    assert!(fix.host(t).changed >= 2);
    assert_eq!(
        lab.ssh_raw(t, "cat /opt/strata-t/hello.txt"),
        format!("hello {t}\n")
    );
    let _ = std::fs::remove_dir_all(&fetch);
}

#[test]
fn module_failures_have_clear_messages() {
    let lab = Lab::up("modfail", 2, false);
    let r = lab
        .playbook(
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy: {content: x, dest: /opt/v.conf, validate: 'false %s'}\n      ignore_errors: true\n      register: v\n    - command: /nonexistent/binary\n      ignore_errors: true\n      register: c\n    - assert: {that: [v is failed, c is failed, c.rc != 0]}\n    - file: {path: /nonexistent-dir/x, state: file}\n",
        )
        .run();
    r.expect_exit(2);
    let h = &lab.hosts[0].name;
    assert_eq!(r.host(h).failed, 1);
    let res = r.results(h, "file");
    let msg = res.last().unwrap()["msg"].as_str().unwrap().to_string();
    assert!(msg.contains("is absent, cannot continue"), "{msg}");
    let (rc, _, _) = lab.ssh(h, "test -e /opt/v.conf");
    assert_ne!(rc, 0, "a failed validate must leave dest untouched");
}
