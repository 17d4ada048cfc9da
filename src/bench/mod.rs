//! `strata bench`: wall time of the 17-step benchmark playbook on lab hosts, run through the
//! run library exactly as `strata playbook` runs it, next to the same 17 steps done with
//! plain OpenSSH ControlMaster multiplexing, in the same process and run. Figures are
//! printed, never asserted: speed targets live here, not in unit tests.

mod openssh;

use std::path::Path;
use std::time::Duration;

use crate::exit::ExitCode;
use crate::lab::{self, LabError, LabOptions};
use crate::run::{self, Output, RunRequest};

const PLAYBOOK: &str = include_str!("../../playbooks/bench/bench.yml");
const TEMPLATE: &str = include_str!("../../playbooks/bench/templates/bench.conf.j2");

/// `strata bench`'s defaults: 10 hosts, the median of 5 runs, in a lab of its own so that a
/// user's `default` lab is left alone.
impl BenchOptions {
    pub const DEFAULT_HOSTS: usize = 10;
    pub const DEFAULT_RUNS: usize = 5;
    pub const DEFAULT_LAB: &'static str = "bench";
}

#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Number of lab hosts; a running lab of another size is replaced.
    pub hosts: usize,
    /// Repetitions of each measurement (the median is reported).
    pub runs: usize,
    pub lab: LabOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Lab(#[from] LabError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("the benchmark playbook is invalid:\n{0}")]
    Input(String),
    #[error("strata playbook ended with exit code {0}")]
    Strata(i32),
    #[error("{0}")]
    OpenSsh(String),
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
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

/// Brings up (or reuses) the lab, alternates strata and OpenSSH runs, and prints the medians.
pub async fn bench(args: &BenchOptions) -> Result<(), BenchError> {
    let opts = args.lab.clone();
    let fresh = lab::status(&opts)
        .map(|s| s.hosts.len() != args.hosts)
        .unwrap_or(true);
    if fresh {
        let _ = lab::down(&opts);
        eprintln!("bringing up {} lab hosts...", args.hosts);
        let (o, n) = (opts.clone(), args.hosts);
        tokio::task::spawn_blocking(move || lab::up(&o, n, false))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
    }
    lab::inventory_yaml(&opts)?;
    let state = lab::status(&opts)?;
    let inv = opts.lab_dir().join("inventory.yml");
    let tmp = std::env::temp_dir().join(format!("strata-bench-{}", std::process::id()));
    let io = |context: &str| {
        let context = context.to_string();
        move |source| BenchError::Io { context, source }
    };
    std::fs::create_dir_all(tmp.join("templates")).map_err(io("cannot create the bench dir"))?;
    let book = tmp.join("bench.yml");
    std::fs::write(&book, PLAYBOOK).map_err(io("cannot write the bench playbook"))?;
    std::fs::write(tmp.join("templates/bench.conf.j2"), TEMPLATE)
        .map_err(io("cannot write the bench template"))?;
    let hosts: Vec<(String, String)> = state
        .hosts
        .iter()
        .map(|h| (h.name.clone(), h.addr.to_string()))
        .collect();
    let (key, known) = (state.key.clone(), state.known_hosts.clone());
    let openssh = |run: usize| {
        let (hosts, key, known, tmp) = (hosts.clone(), key.clone(), known.clone(), tmp.clone());
        async move {
            tokio::task::spawn_blocking(move || openssh::run(&hosts, &key, &known, &tmp, run))
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
        }
    };
    let (mut s, mut o) = (Vec::new(), Vec::new());
    for run in 0..args.runs.max(1) {
        // Alternate the order so neither side always runs on a warmer machine.
        if run % 2 == 0 {
            s.push(run_strata(&inv, &book, run).await?);
            o.push(openssh(run).await?);
        } else {
            o.push(openssh(run).await?);
            s.push(run_strata(&inv, &book, run).await?);
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
