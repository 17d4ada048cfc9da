//! `strata bench`: wall time of the 17-step benchmark playbook on lab hosts, next to the same
//! 17 steps done with plain OpenSSH ControlMaster multiplexing, in the same run. Figures are
//! printed, never asserted: speed targets live here, not in unit tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::BenchArgs;
use crate::exit::ExitCode;
use crate::lab::{self, LabOptions};

const PLAYBOOK: &str = include_str!("../../playbooks/bench/bench.yml");
const TEMPLATE: &str = include_str!("../../playbooks/bench/templates/bench.conf.j2");

/// The same 17 steps as the playbook, one OpenSSH round trip each.
fn openssh_steps(dir: &str, host: &str) -> Vec<String> {
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

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn run_strata(inv: &Path, book: &Path, run_id: usize) -> Result<Duration, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let t = Instant::now();
    let st = Command::new(exe)
        .args(["playbook", "-i"])
        .arg(inv)
        .arg(book)
        .args(["-e", &format!("run_id={run_id}")])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| e.to_string())?;
    let d = t.elapsed();
    if !st.success() {
        return Err(format!("strata playbook exited with {st}"));
    }
    Ok(d)
}

fn run_openssh(
    hosts: &[(String, String)],
    key: &Path,
    known: &Path,
    tmp: &Path,
    run_id: usize,
) -> Result<Duration, String> {
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
    let t = Instant::now();
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (i, (name, addr)) in hosts.iter().enumerate() {
            let sock = tmp.join(format!("cm-{run_id}-{i}"));
            let base = &base;
            handles.push(s.spawn(move || -> Result<(), String> {
                let st = base(addr, &sock)
                    .args(["-M", "-f", "-N"])
                    .status()
                    .map_err(|e| e.to_string())?;
                if !st.success() {
                    return Err(format!("ssh master to {addr} failed"));
                }
                let dir = format!("/tmp/openssh-bench/{run_id}");
                for step in openssh_steps(&dir, name) {
                    let out = base(addr, &sock)
                        .arg(step)
                        .stdout(Stdio::null())
                        .status()
                        .map_err(|e| e.to_string())?;
                    if !out.success() {
                        return Err(format!("step failed on {addr}"));
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
            .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(t.elapsed())
}

pub async fn run(args: BenchArgs) -> ExitCode {
    match tokio::task::spawn_blocking(move || bench(&args)).await {
        Ok(Ok(())) => ExitCode::Ok,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::Error
        }
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

fn bench(args: &BenchArgs) -> Result<(), String> {
    let opts = LabOptions {
        name: args.lab.clone(),
        dir: args.dir.clone(),
    };
    let fresh = lab::status(&opts)
        .map(|s| s.hosts.len() != args.hosts)
        .unwrap_or(true);
    if fresh {
        let _ = lab::down(&opts);
        eprintln!("bringing up {} lab hosts...", args.hosts);
        lab::up(&opts, args.hosts, false).map_err(|e| e.to_string())?;
    }
    lab::inventory_yaml(&opts).map_err(|e| e.to_string())?;
    let state = lab::status(&opts).map_err(|e| e.to_string())?;
    let inv = opts.lab_dir().join("inventory.yml");
    let tmp = std::env::temp_dir().join(format!("strata-bench-{}", std::process::id()));
    std::fs::create_dir_all(tmp.join("templates")).map_err(|e| e.to_string())?;
    let book = tmp.join("bench.yml");
    std::fs::write(&book, PLAYBOOK).map_err(|e| e.to_string())?;
    std::fs::write(tmp.join("templates/bench.conf.j2"), TEMPLATE).map_err(|e| e.to_string())?;
    let hosts: Vec<(String, String)> = state
        .hosts
        .iter()
        .map(|h| (h.name.clone(), h.addr.to_string()))
        .collect();
    let key: PathBuf = state.key.clone();
    let known = state.known_hosts.clone();
    let (mut s, mut o) = (Vec::new(), Vec::new());
    for run in 0..args.runs.max(1) {
        // Alternate the order so neither side always runs on a warmer machine.
        if run % 2 == 0 {
            s.push(run_strata(&inv, &book, run)?);
            o.push(run_openssh(&hosts, &key, &known, &tmp, run)?);
        } else {
            o.push(run_openssh(&hosts, &key, &known, &tmp, run)?);
            s.push(run_strata(&inv, &book, run)?);
        }
        eprintln!(
            "run {}: strata {:.3}s, openssh {:.3}s",
            run + 1,
            s[run].as_secs_f64(),
            o[run].as_secs_f64()
        );
    }
    let (sm, om) = (median(&mut s), median(&mut o));
    println!(
        "benchmark: 13 tasks, 17 steps, {} hosts, {} runs",
        hosts.len(),
        s.len()
    );
    println!(
        "strata   median {:.3}s  (min {:.3}s, max {:.3}s)",
        sm.as_secs_f64(),
        s[0].as_secs_f64(),
        s[s.len() - 1].as_secs_f64()
    );
    println!(
        "openssh  median {:.3}s  (min {:.3}s, max {:.3}s)  ControlMaster, 17 round trips per host",
        om.as_secs_f64(),
        o[0].as_secs_f64(),
        o[o.len() - 1].as_secs_f64()
    );
    println!(
        "strata/openssh = {:.2} ({})",
        sm.as_secs_f64() / om.as_secs_f64(),
        if sm <= om {
            "target met"
        } else {
            "target NOT met"
        }
    );
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
