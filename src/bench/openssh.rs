//! The floor strata is measured against: the same 17 steps of the benchmark playbook, each one
//! OpenSSH round trip over a ControlMaster connection per host, all hosts in parallel.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::BenchError;

/// The same 17 steps as the playbook, one OpenSSH round trip each.
fn steps(dir: &str, host: &str) -> Vec<String> {
    let mut s = vec![
        format!("mkdir -p {dir} && chmod 0755 {dir}"),
        format!("printf 'hello {host}\\n' > {dir}/hello.txt"),
        format!("printf '# managed\\nhost = {host}\\n' > {dir}/app.conf"),
        format!("grep -qxF 'tuned = yes' {dir}/app.conf || echo 'tuned = yes' >> {dir}/app.conf"),
        "uname -r".to_string(),
        format!("test -e {dir}/stamp || date > {dir}/stamp"),
        format!("ln -sfn {dir}/hello.txt {dir}/hello.link"),
    ];
    for i in 1..=5 {
        s.push(format!("printf 'item {i}\\n' > {dir}/item{i}.txt"));
    }
    s.push(format!("stat -c '%s %a' {dir}/hello.txt"));
    s.push(format!("test -s {dir}/hello.txt"));
    s.push(format!("cat {dir}/hello.txt"));
    s.push("true".to_string());
    s.push("echo done".to_string());
    s
}

/// Runs the steps on every host (name, address) at once; returns the wall time.
pub fn run(
    hosts: &[(String, String)],
    key: &Path,
    known: &Path,
    tmp: &Path,
    run_id: usize,
) -> Result<Duration, BenchError> {
    let base = |addr: &str, sock: &Path| {
        let mut c = Command::new("ssh");
        c.arg("-i")
            .arg(key)
            .args(["-o", "BatchMode=yes", "-o"])
            .arg(format!("UserKnownHostsFile={}", known.display()))
            .arg("-S")
            .arg(sock)
            .arg(format!("root@{addr}"));
        c.stdin(Stdio::null());
        c
    };
    let spawn = |e: std::io::Error| BenchError::OpenSsh(format!("cannot run ssh: {e}"));
    let t = Instant::now();
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (i, (name, addr)) in hosts.iter().enumerate() {
            let sock = tmp.join(format!("cm-{run_id}-{i}"));
            let base = &base;
            handles.push(s.spawn(move || -> Result<(), BenchError> {
                let st = base(addr, &sock)
                    .args(["-M", "-f", "-N"])
                    .status()
                    .map_err(spawn)?;
                if !st.success() {
                    return Err(BenchError::OpenSsh(format!("ssh master to {addr} failed")));
                }
                let dir = format!("/tmp/openssh-bench/{run_id}");
                for step in steps(&dir, name) {
                    let out = base(addr, &sock)
                        .arg(step)
                        .stdout(Stdio::null())
                        .status()
                        .map_err(spawn)?;
                    if !out.success() {
                        return Err(BenchError::OpenSsh(format!("step failed on {addr}")));
                    }
                }
                let _ = base(addr, &sock)
                    .args(["-O", "exit"])
                    .stderr(Stdio::null())
                    .status();
                Ok(())
            }));
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(BenchError::OpenSsh("thread panicked".into())))
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(t.elapsed())
}
