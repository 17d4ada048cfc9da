//! The stack case: a stack's steady state on every lab host, in one layer. A `sync` that finds
//! no change must cost one SSH handshake per instance and no task, so a `sync --watch` is
//! cheap on a large fleet; its floor is one bare OpenSSH connection per host. A forced
//! `configure` is the broadcast every membership change pays; its floor is one OpenSSH round
//! trip per configure task over a ControlMaster connection per host.
//!
//! Both go through the stack library in process, as `strata stack sync` and `strata stack
//! configure` do: open and validate the stack, read the instance source, take the lock, run.
//! The sync's claim is checked on every run, not assumed: its report must show no event, and
//! each host's sshd log exactly one more login.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::openssh::{self, Kex};
use super::{Bed, BenchError, measure, print_medians, write};
use crate::exit::ExitCode;
use crate::run::{Output, RunRequest};
use crate::stack::report::Report;
use crate::stack::{Stack, StackError, StackRequest, control, sync};

/// The bench stack; `{inventory}` becomes the lab's inventory, `groups.yml` puts every host in
/// the `app` layer.
const STACK: &str = "\
# Written by strata bench: one layer over every lab host.
name: bench
instances:
  inventory: [{inventory}, groups.yml]
layers:
  app:
    name: App server
    roles: [app]
";

/// Each run's configure writes into a directory of its own, so every task really changes
/// something, as in the playbook case.
const DEFAULTS: &str = "bench_dir: /tmp/strata-bench-stack/{{ run_id | default('init') }}\n";

/// What a configure does: render the membership the broadcast carries, then act on it.
const CONFIGURE: &str = r#"- name: a directory for this configure
  file:
    path: "{{ bench_dir }}"
    state: directory
    mode: "0755"
- name: the online peers, from the stack variable
  copy:
    content: "{% for name, i in stack.layers.app.instances | dictsort %}{{ name }} {{ i.private_ip }}\n{% endfor %}"
    dest: "{{ bench_dir }}/peers"
- name: reload
  command: cat {{ bench_dir }}/peers
"#;

/// The tasks in [`CONFIGURE`]: the floor's round trips per host.
const CONFIGURE_TASKS: usize = 3;

/// Writes the bench stack into `dir` over `inventory`, with `hosts` in its one layer; returns
/// the stack file.
fn write_stack(dir: &Path, inventory: &Path, hosts: &[String]) -> Result<PathBuf, BenchError> {
    let inv = serde_json::to_string(&inventory.to_string_lossy()).expect("a string serializes");
    let mut groups = String::from("all:\n  children:\n    app:\n      hosts:\n");
    for h in hosts {
        groups.push_str(&format!("        {h}: {{}}\n"));
    }
    write(dir, "groups.yml", &groups)?;
    write(dir, "roles/app/defaults/main.yml", DEFAULTS)?;
    write(dir, "roles/app/tasks/configure.yml", CONFIGURE)?;
    write(dir, "stack.yml", &STACK.replace("{inventory}", &inv))
}

/// A stack command's request: no output, `extra` as `-e`, every other option at its default.
fn request(file: &Path, extra: &[String]) -> StackRequest {
    let mut run = RunRequest::new(Vec::new(), Vec::new());
    run.extra_vars = extra.to_vec();
    StackRequest {
        file: file.to_path_buf(),
        run,
        attributes: Vec::new(),
        wait: Duration::ZERO,
        output: Output::Discard,
        command: "strata bench --case stack".into(),
    }
}

fn stack_error(e: StackError) -> BenchError {
    BenchError::Stack(e.to_string())
}

/// `strata stack sync`, in process: its wall time and report.
async fn sync_once(file: &Path, extra: &[String]) -> Result<(Duration, Report), BenchError> {
    let t = Instant::now();
    let mut stack = Stack::open(request(file, extra)).map_err(stack_error)?;
    let report = sync::sync(&mut stack, false, None, |_| {})
        .await
        .map_err(stack_error)?;
    Ok((t.elapsed(), report))
}

/// `strata stack configure`, in process: its wall time and report.
async fn configure_once(file: &Path, extra: &[String]) -> Result<(Duration, Report), BenchError> {
    let t = Instant::now();
    let mut stack = Stack::open(request(file, extra)).map_err(stack_error)?;
    let d = stack.discover(false).map_err(stack_error)?;
    let report = control::configure(&mut stack, &d)
        .await
        .map_err(stack_error)?;
    Ok((t.elapsed(), report))
}

/// The first sync brought every host in and ran one configure on all of them.
fn check_joined(r: &Report, hosts: &[String]) -> Result<(), BenchError> {
    if r.joined != hosts {
        return Err(BenchError::Stack(format!(
            "the first sync should bring in all {} hosts; it brought in [{}]",
            hosts.len(),
            r.joined.join(" ")
        )));
    }
    check_configure(r, hosts.len())
}

/// A sync that found no change ran no event, and saw nobody come or go.
fn check_quiet(r: &Report) -> Result<(), BenchError> {
    let moved = [&r.joined, &r.left, &r.lost, &r.back];
    if r.events.is_empty() && moved.iter().all(|v| v.is_empty()) {
        return Ok(());
    }
    Err(BenchError::Stack(format!(
        "a sync with no change should run nothing; it did:{}",
        r.render("sync")
    )))
}

/// One configure event, on all `n` hosts, that went well.
fn check_configure(r: &Report, n: usize) -> Result<(), BenchError> {
    let ok = r.exit_code() == ExitCode::Ok
        && r.events.len() == 1
        && r.events[0].kind == "configure"
        && r.events[0].hosts.len() == n;
    if ok {
        return Ok(());
    }
    Err(BenchError::Stack(format!(
        "expected one successful configure on {n} hosts:{}",
        r.render("configure")
    )))
}

/// Logins each host's sshd has accepted so far (`sshd -e` logs one line per authentication).
fn logins(bed: &Bed) -> Vec<usize> {
    bed.logs
        .iter()
        .map(|l| {
            let text = std::fs::read_to_string(l).unwrap_or_default();
            text.matches("Accepted publickey").count()
        })
        .collect()
}

/// Each host was logged into exactly once between `before` and `after`.
fn check_one_login_each(bed: &Bed, before: &[usize], after: &[usize]) -> Result<(), BenchError> {
    let off: Vec<String> = bed
        .hosts
        .iter()
        .zip(before.iter().zip(after))
        .filter(|(_, (b, a))| **a != **b + 1)
        .map(|((name, _), (b, a))| format!("{name}: {}", a.saturating_sub(*b)))
        .collect();
    if off.is_empty() {
        return Ok(());
    }
    Err(BenchError::Stack(format!(
        "a sync with no change should log into each host once; logins per host: {}",
        off.join(", ")
    )))
}

/// The floor's steps for configure run `run`: the same three actions, one round trip each.
fn configure_steps(bed: &Bed, run: usize) -> Vec<Vec<String>> {
    let dir = format!("/tmp/openssh-bench-stack/{run}");
    let mut peers: Vec<String> = bed
        .hosts
        .iter()
        .map(|(name, addr)| format!("'{name} {addr}'"))
        .collect();
    peers.sort();
    let steps = vec![
        format!("mkdir -p {dir} && chmod 0755 {dir}"),
        format!("printf '%s\\n' {} > {dir}/peers", peers.join(" ")),
        format!("cat {dir}/peers"),
    ];
    debug_assert_eq!(steps.len(), CONFIGURE_TASKS);
    vec![steps; bed.hosts.len()]
}

pub async fn bench(bed: &Bed, runs: usize) -> Result<(), BenchError> {
    let names: Vec<String> = bed.hosts.iter().map(|(n, _)| n.clone()).collect();
    let file = write_stack(&bed.dir.join("stack"), &bed.inventory, &names)?;
    eprintln!(
        "stack: first sync, bringing {} hosts online...",
        names.len()
    );
    let (_, first) = sync_once(&file, &[]).await?;
    check_joined(&first, &names)?;

    let (mut s, mut o) = measure(
        runs,
        "sync ",
        async |_| {
            let before = logins(bed);
            let (t, report) = sync_once(&file, &[]).await?;
            check_quiet(&report)?;
            check_one_login_each(bed, &before, &logins(bed))?;
            Ok(t)
        },
        async |run| {
            openssh::run(
                bed,
                &format!("sync-{run}"),
                Kex::Strata,
                vec![vec![]; names.len()],
            )
            .await
        },
    )
    .await?;
    let (mut cs, mut co) = measure(
        runs,
        "configure ",
        async |run| {
            let (t, report) = configure_once(&file, &[format!("run_id={run}")]).await?;
            check_configure(&report, names.len())?;
            Ok(t)
        },
        async |run| {
            openssh::run(
                bed,
                &format!("configure-{run}"),
                Kex::Strata,
                configure_steps(bed, run),
            )
            .await
        },
    )
    .await?;

    println!(
        "stack benchmark: 1 layer, {} hosts, {} runs",
        names.len(),
        s.len()
    );
    println!("sync, no change: 1 SSH handshake per instance, no task (checked in the sshd logs)");
    let (sm, om) = print_medians(&mut s, &mut o, &openssh::describe(0, Kex::Strata));
    println!("strata/openssh = {:.2}", sm / om);
    println!("configure, forced: {CONFIGURE_TASKS} tasks per instance");
    let (cm, com) = print_medians(
        &mut cs,
        &mut co,
        &openssh::describe(CONFIGURE_TASKS, Kex::Strata),
    );
    println!("strata/openssh = {:.2}", cm / com);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The library-level half of the sync claim, without a lab: once every instance is
    /// online, a sync runs no event (the lab run adds the one-login-per-host half).
    #[tokio::test]
    async fn a_sync_with_no_change_runs_nothing_and_configure_runs_everywhere() {
        let dir = crate::scratch::root().join(format!("strata-bench-stack-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let hosts = vec!["one".to_string(), "two".to_string()];
        // Both hosts are this machine: each writes into a directory of its own, below one
        // that exists already (the file module's mkdir of a missing parent is not safe
        // against a second host creating it at the same moment).
        let out = |h: &str| dir.join("out").join(h);
        std::fs::create_dir_all(dir.join("out")).unwrap();
        let mut inv = String::from(
            "all:\n  vars: {ansible_connection: local, ansible_host: 127.0.0.1}\n  hosts:\n",
        );
        for h in &hosts {
            inv.push_str(&format!("    {h}: {{bench_dir: {:?}}}\n", out(h)));
        }
        let inv = write(&dir, "local.yml", &inv).unwrap();
        let file = write_stack(&dir, &inv, &hosts).unwrap();

        let (_, first) = sync_once(&file, &[]).await.unwrap();
        check_joined(&first, &hosts).unwrap();
        for h in &hosts {
            let peers = std::fs::read_to_string(out(h).join("peers")).unwrap();
            assert_eq!(peers, "one 127.0.0.1\ntwo 127.0.0.1\n");
        }

        let (_, again) = sync_once(&file, &[]).await.unwrap();
        check_quiet(&again).unwrap();

        let (_, forced) = configure_once(&file, &[]).await.unwrap();
        check_configure(&forced, hosts.len()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
