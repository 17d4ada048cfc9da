//! The playbook case: the 13-task, 17-step benchmark playbook, run through the run library
//! exactly as `strata playbook` runs it, against the same 17 steps as OpenSSH round trips.

use std::path::Path;
use std::time::Duration;

use super::openssh::{self, Kex};
use super::{Bed, BenchError, measure, print_medians, write};
use crate::exit::ExitCode;
use crate::run::{self, Output, RunRequest};

const PLAYBOOK: &str = include_str!("../../playbooks/bench/bench.yml");
const TEMPLATE: &str = include_str!("../../playbooks/bench/templates/bench.conf.j2");

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

async fn run_strata(inv: &Path, book: &Path, run_id: usize) -> Result<Duration, BenchError> {
    let mut req = RunRequest::new(vec![inv.to_path_buf()], vec![book.to_path_buf()]);
    req.extra_vars = vec![format!("run_id={run_id}")];
    let t = std::time::Instant::now();
    let outcome = run::playbooks(&req, Output::Discard)
        .await
        .map_err(|e| BenchError::Input(e.render()))?;
    let d = t.elapsed();
    match outcome.exit_code() {
        ExitCode::Ok => Ok(d),
        code => Err(BenchError::Strata(code as i32)),
    }
}

pub async fn bench(bed: &Bed, runs: usize) -> Result<(), BenchError> {
    let book = write(&bed.dir, "bench.yml", PLAYBOOK)?;
    write(&bed.dir, "templates/bench.conf.j2", TEMPLATE)?;
    let (mut s, mut o) = measure(
        runs,
        "",
        async |run| run_strata(&bed.inventory, &book, run).await,
        async |run| {
            let dir = format!("/tmp/openssh-bench/{run}");
            let steps = bed.hosts.iter().map(|(name, _)| steps(&dir, name));
            openssh::run(bed, &run.to_string(), Kex::Default, steps.collect()).await
        },
    )
    .await?;
    println!(
        "benchmark: 13 tasks, 17 steps, {} hosts, {} runs",
        bed.hosts.len(),
        s.len()
    );
    let (sm, om) = print_medians(&mut s, &mut o, &openssh::describe(17, Kex::Default));
    println!(
        "strata/openssh = {:.2} ({})",
        sm / om,
        if sm <= om {
            "target met"
        } else {
            "target NOT met"
        }
    );
    Ok(())
}
