//! `wait_for_connection` on a host that goes away in the middle of a play and comes back:
//! the module drops the dead session and dials again until the host answers, so the tasks
//! after it run; without it they would be unreachable.
mod common;

use std::time::Duration;

use common::Lab;

#[test]
fn waits_for_a_host_that_comes_back() {
    let lab = Lab::up("c-wfc", 1, false);
    let book = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: before\n      command: \"true\"\n    - name: meanwhile the host stops and starts\n      pause: {seconds: 4}\n    - name: wait for it\n      wait_for_connection: {timeout: 60, sleep: 1}\n      register: waited\n    - name: after\n      command: cat /proc/1/comm\n";
    let r = std::thread::scope(|s| {
        let run = s.spawn(|| lab.playbook(book).run());
        std::thread::sleep(Duration::from_millis(1500));
        lab.stop_host("lab01");
        std::thread::sleep(Duration::from_secs(5));
        lab.start_host("lab01");
        run.join().unwrap()
    });
    r.expect_exit(0);
    let waited = r.results("lab01", "wait for it");
    assert_eq!(waited.len(), 1, "{}", r.dump());
    assert_eq!(waited[0]["status"], "ok", "{}", r.dump());
    assert!(
        waited[0]["result"]["elapsed"].as_u64().is_some(),
        "{}",
        r.dump()
    );
    // `command` always reports a change; what matters is that it ran on the new session.
    let after = r.results("lab01", "after");
    assert_eq!(after[0]["status"], "changed", "{}", r.dump());
    assert_eq!(after[0]["result"]["rc"], 0, "{}", r.dump());
}

#[test]
fn times_out_on_a_host_that_stays_away() {
    let lab = Lab::up("c-wfc-down", 1, false);
    let book = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: before\n      command: \"true\"\n    - name: meanwhile the host stops\n      pause: {seconds: 2}\n    - name: wait for it\n      wait_for_connection: {timeout: 3, sleep: 1, connect_timeout: 2}\n";
    let r = std::thread::scope(|s| {
        let run = s.spawn(|| lab.playbook(book).run());
        std::thread::sleep(Duration::from_millis(1000));
        lab.stop_host("lab01");
        run.join().unwrap()
    });
    r.expect_exit(2);
    let waited = r.results("lab01", "wait for it");
    assert_eq!(waited[0]["status"], "failed", "{}", r.dump());
    assert!(
        waited[0]["msg"]
            .as_str()
            .unwrap_or_default()
            .starts_with("timed out waiting for ping module test"),
        "{}",
        r.dump()
    );
}
