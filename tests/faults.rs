//! A host that fails in the middle of a run: its link cut, its processes frozen, or the host
//! gone. The other hosts finish, the bad one is reported UNREACHABLE well within 30 s (SSH
//! keepalives, 5 s × 3 by default), the exit code is 4, and a re-run after healing converges.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{Lab, strata_command};

/// Two sleeps, so that the healthy hosts reach a second task and wait there for the bad one.
const BOOK: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sleep 3\n    - command: sleep 1\n    - copy: {dest: /root/fault-done, content: done}\n";

fn sh(cmd: &str) {
    let ok = Command::new("sh")
        .args(["-c", cmd])
        .status()
        .unwrap()
        .success();
    assert!(ok, "`{cmd}` failed");
}

/// Every process of the host (its PID namespace lives in its network namespace's processes).
fn signal_host(lab: &Lab, host: &str, sig: &str) {
    let netns = &lab
        .state
        .hosts
        .iter()
        .find(|h| h.name == host)
        .unwrap()
        .netns;
    sh(&format!("ip netns pids {netns} | xargs -r kill -{sig}"));
}

fn veth(lab: &Lab, host: &str) -> String {
    lab.state
        .hosts
        .iter()
        .find(|h| h.name == host)
        .unwrap()
        .veth
        .clone()
}

/// Runs the book, applies `fault` 1.5 s in, and returns the exit code, the seconds from the
/// fault to the end of the run, and the recap.
fn run_with_fault(lab: &Lab, book: &std::path::Path, fault: impl FnOnce()) -> (i32, f64, Value) {
    let inv = lab.inventory.to_str().unwrap().to_string();
    let child = strata_command(
        None,
        &["playbook", "--json", "-i", &inv, book.to_str().unwrap()],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    fault();
    let at = Instant::now();
    let out = child.wait_with_output().unwrap();
    let secs = at.elapsed().as_secs_f64();
    let recap = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["event"] == "recap")
        .unwrap_or_else(|| panic!("no recap: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), secs, recap)
}

fn stats<'a>(recap: &'a Value, host: &str) -> &'a Value {
    recap["stats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["host"] == host)
        .unwrap_or_else(|| panic!("no stats for {host}: {recap}"))
}

fn expect_fault_reported(lab: &Lab, what: &str, (code, secs, recap): (i32, f64, Value)) {
    assert_eq!(code, 4, "{what}: exit code, recap {recap}");
    assert!(
        secs < 30.0,
        "{what}: the run ended {secs:.1} s after the fault"
    );
    assert_eq!(stats(&recap, "lab03")["unreachable"], 1, "{what}: {recap}");
    for h in ["lab01", "lab02"] {
        let s = stats(&recap, h);
        assert_eq!(
            (s["failed"].as_u64(), s["unreachable"].as_u64()),
            (Some(0), Some(0)),
            "{what}: {s}"
        );
        assert_eq!(
            lab.ssh_ok(h, "cat /root/fault-done"),
            "done",
            "{what}: {h} finished"
        );
        lab.ssh_ok(h, "rm /root/fault-done");
    }
}

fn expect_converges(lab: &Lab, book: &std::path::Path, what: &str) {
    let inv = lab.inventory.to_str().unwrap().to_string();
    let out = strata_command(None, &["playbook", "-i", &inv, book.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: re-run after healing\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_host_that_fails_mid_run_is_reported_within_30_seconds() {
    let lab = Lab::up("faults", 3, false);
    let book = lab.state.dir.join("fault-book.yml");
    std::fs::write(&book, BOOK).unwrap();

    // The link cut: packets vanish, nothing answers, nothing resets.
    let v = veth(&lab, "lab03");
    let r = run_with_fault(&lab, &book, || sh(&format!("ip link set {v} down")));
    expect_fault_reported(&lab, "link cut", r);
    sh(&format!("ip link set {v} up"));
    expect_converges(&lab, &book, "link cut");

    // Frozen: the TCP peer is alive in the kernel, but sshd and the task never answer.
    let r = run_with_fault(&lab, &book, || signal_host(&lab, "lab03", "STOP"));
    expect_fault_reported(&lab, "SIGSTOP", r);
    signal_host(&lab, "lab03", "CONT");
    expect_converges(&lab, &book, "SIGSTOP");

    // The host dies: its processes and network go.
    let r = run_with_fault(&lab, &book, || lab.stop_host("lab03"));
    expect_fault_reported(&lab, "host stopped", r);
    lab.start_host("lab03");
    expect_converges(&lab, &book, "host stopped");
}
