//! Engine semantics on real lab hosts: handlers, loops, register/when, block/rescue/always,
//! includes and roles, serial with a failure policy, unreachable hosts, hostvars and groups.

mod common;

use common::Lab;
use common::playbook::fixture;

#[test]
fn handlers_loops_blocks_includes_and_roles() {
    let lab = Lab::up("engine", 5, false);
    let book = lab.playbook_file(&fixture("engine").join("site.yml"));
    let r = book.run();
    r.expect_exit(0);
    for (i, h) in lab.hosts.iter().enumerate() {
        let c = r.host(&h.name);
        assert_eq!(
            (c.failed, c.rescued, c.unreachable),
            (0, 1, 0),
            "{}: {c:?}",
            h.name
        );
        let ssh = |cmd: &str| lab.ssh_raw(&h.name, cmd);
        assert_eq!(ssh("cat /opt/strata-e/counter.txt"), "first\n");
        assert_eq!(
            ssh("cat /opt/strata-e/base.txt"),
            "base\n",
            "role dependency"
        );
        assert_eq!(
            ssh("cat /opt/strata-e/handler-runs.txt"),
            "handled\n",
            "role handler ran once"
        );
        assert_eq!(ssh("cat /opt/strata-e/loop.txt"), "a,b,c\n");
        assert_eq!(ssh("cat /opt/strata-e/dict.txt"), "alpha=1\nbeta=2\n");
        let (even_rc, _, _) = lab.ssh(&h.name, "test -f /opt/strata-e/even.txt");
        assert_eq!(even_rc == 0, i % 2 == 0, "when on {}", h.name);
        assert_eq!(ssh("cat /opt/strata-e/rescued.txt"), "this fails\n");
        assert_eq!(ssh("cat /opt/strata-e/always.txt"), "always\n");
        let (never_rc, _, _) = lab.ssh(&h.name, "test -e /opt/strata-e/never.txt");
        assert_ne!(never_rc, 0, "task after a failure in a block must not run");
        assert_eq!(ssh("cat /opt/strata-e/imported.txt"), "imported\n");
        assert_eq!(
            ssh("cat /opt/strata-e/included-one.txt /opt/strata-e/included-two.txt"),
            "one\ntwo\n"
        );
        assert_eq!(ssh("cat /opt/strata-e/extra.txt"), "extra counter\n");
        assert_eq!(ssh("cat /opt/strata-e/topic-handler.txt"), "handled\n");
        let all = ssh("cat /opt/strata-e/all.txt");
        for other in &lab.hosts {
            assert!(
                all.contains(&format!("{}={} {}", other.name, other.addr, other.addr)),
                "{all}"
            );
        }
    }
    let again = book.run();
    again.expect_exit(0);
    for h in &lab.hosts {
        assert_eq!(again.host(&h.name).changed, 0, "{}", again.dump());
        assert_eq!(
            lab.ssh_raw(&h.name, "cat /opt/strata-e/handler-runs.txt"),
            "handled\n",
            "handler must not rerun"
        );
    }
}

#[test]
fn serial_batches_stop_on_max_fail_percentage() {
    let lab = Lab::up("serial", 4, false);
    let r = lab
        .playbook_file(&fixture("engine").join("serial.yml"))
        .run();
    r.expect_exit(2);
    let names: Vec<&str> = lab.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(r.host(names[0]).failed, 1);
    let batch = format!("{},{}\n", names[0], names[1]);
    assert_eq!(lab.ssh_raw(names[0], "cat /opt/strata-serial.txt"), batch);
    assert_eq!(lab.ssh_raw(names[1], "cat /opt/strata-serial.txt"), batch);
    for h in &names[2..] {
        let (rc, _, _) = lab.ssh(h, "test -e /opt/strata-serial.txt");
        assert_ne!(
            rc, 0,
            "{h} is in a later batch and must not run after the abort"
        );
    }
    let (rc, _, _) = lab.ssh(names[1], "test -e /opt/strata-serial-after.txt");
    assert_ne!(
        rc, 0,
        "max_fail_percentage stops the batch after the failing task"
    );
}

#[test]
fn any_errors_fatal_stops_every_host() {
    let lab = Lab::up("fatal", 3, false);
    lab.playbook("- hosts: all\n  gather_facts: false\n  any_errors_fatal: true\n  tasks:\n    - fail: msg=stop\n      when: inventory_hostname == ansible_play_hosts[1]\n    - copy: {content: x, dest: /opt/after-fatal}\n")
        .run()
        .expect_exit(2);
    for h in &lab.hosts {
        let (rc, _, _) = lab.ssh(&h.name, "test -e /opt/after-fatal");
        assert_ne!(rc, 0, "{} ran a task after a fatal error", h.name);
    }
}

#[test]
fn unreachable_host_stops_only_itself() {
    let lab = Lab::up("unreach", 5, false);
    let down = lab.hosts[2].name.clone();
    lab.stop_host(&down);
    let r = lab
        .playbook("- hosts: all\n  tasks:\n    - copy: {content: done, dest: /opt/reached}\n    - command: cat /opt/reached\n")
        .args(&["--timeout", "3"])
        .run();
    r.expect_exit(4);
    assert_eq!(r.host(&down).unreachable, 1);
    for h in lab.hosts.iter().filter(|h| h.name != down) {
        assert_eq!(r.host(&h.name).failed, 0);
        assert_eq!(lab.ssh_raw(&h.name, "cat /opt/reached"), "done");
    }
}

#[test]
fn tags_limit_and_listing() {
    let lab = Lab::up("tags", 3, false);
    let pb = lab.playbook(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy: {content: a, dest: /opt/tag-a}\n      tags: [a]\n    - copy: {content: b, dest: /opt/tag-b}\n      tags: [b]\n    - copy: {content: n, dest: /opt/tag-never}\n      tags: [never, n]\n    - copy: {content: x, dest: /opt/tag-always}\n      tags: [always]\n",
    );
    let book = pb.path().to_path_buf();
    let first = lab.hosts[0].name.clone();
    let r = pb.args(&["-t", "a", "-l", &first]).run();
    r.expect_exit(0);
    assert_eq!(r.recap.len(), 1, "limit: {:?}", r.recap);
    lab.ssh_raw(&first, "test -f /opt/tag-a && test -f /opt/tag-always && ! test -e /opt/tag-b && ! test -e /opt/tag-never");
    let (rc, _, _) = lab.ssh(&lab.hosts[1].name, "test -e /opt/tag-a");
    assert_ne!(rc, 0);
    let out = lab.strata(&[
        "playbook",
        "-i",
        lab.inventory.to_str().unwrap(),
        "--list-hosts",
        "--list-tasks",
        book.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("hosts (3)") && text.contains(&first),
        "{text}"
    );
}

#[test]
fn ctrl_c_stops_new_work_and_prints_the_recap() {
    let lab = Lab::up("sigint", 2, false);
    let pb = lab.playbook("- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sleep 2\n    - copy: {content: x, dest: /opt/after-sigint}\n");
    let book = pb.path();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "playbook",
            "-i",
            lab.inventory.to_str().unwrap(),
            book.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{text}");
    assert!(text.contains("PLAY RECAP"), "{text}");
    for h in &lab.hosts {
        let (rc, _, _) = lab.ssh(&h.name, "test -e /opt/after-sigint");
        assert_ne!(rc, 0, "no new task may start after Ctrl-C");
    }
}

/// Task headers show the name templated with the variables of the first host to reach the
/// task, as Ansible's linear strategy; a name with something undefined there stays as written.
#[test]
fn task_names_are_templated_in_headers() {
    let lab = Lab::up("engine-names", 1, false);
    let r = lab
        .playbook(
            "- hosts: all\n  gather_facts: false\n  vars: {port: 8081}\n  tasks:\n    \
             - name: \"listen on {{ port }} as {{ inventory_hostname }}\"\n      debug: {msg: hi}\n    \
             - name: \"item {{ item }}\"\n      debug: {msg: \"{{ item }}\"}\n      loop: [a]\n",
        )
        .run();
    r.expect_exit(0);
    let names: Vec<&str> = r
        .events
        .iter()
        .filter(|e| e["event"] == "task_start")
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            format!("listen on 8081 as {}", lab.hosts[0].name).as_str(),
            "item {{ item }}"
        ]
    );
}
