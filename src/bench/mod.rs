//! `strata bench`: wall times of strata on lab hosts, run in process through the same
//! libraries as the commands, next to the fewest OpenSSH round trips that do the same work, in
//! the same process and run. Two cases: the 17-step benchmark playbook (`playbook`), and a
//! stack's steady state, a sync with no change and a forced configure (`stack`). Figures are
//! printed, never asserted: speed targets live here, not in unit tests.

mod demo;
mod openssh;
mod playbook;
mod stack;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::lab::{self, LabError, LabOptions};

/// `strata bench`'s defaults: 10 hosts, the median of 5 runs, in a lab of its own so that a
/// user's `default` lab is left alone, and the playbook case that the README's first figures
/// come from.
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
    pub case: BenchCase,
    pub lab: LabOptions,
    /// The package caches the demo case empties and rebuilds.
    pub cache_dir: PathBuf,
}

/// What to measure. The cases share one lab, so `all` pays for its start-up once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchCase {
    /// The 17-step benchmark playbook.
    #[default]
    Playbook,
    /// A stack: sync with no membership change, and a forced configure.
    Stack,
    /// Both, one after the other.
    All,
    /// `strata lab demo` (the Plone stack), with cold caches and then warm.
    Demo,
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
    #[error("the benchmark stack: {0}")]
    Stack(String),
    #[error("{0}")]
    OpenSsh(String),
}

/// An I/O error with what the bench was doing.
fn io(context: &str) -> impl FnOnce(std::io::Error) -> BenchError {
    let context = context.to_string();
    move |source| BenchError::Io { context, source }
}

/// The lab as both sides of a measurement reach it.
#[derive(Clone, Debug)]
pub struct Bed {
    /// The lab's inventory, for strata.
    pub inventory: PathBuf,
    /// `(name, address)` of each host, for OpenSSH.
    pub hosts: Vec<(String, Ipv4Addr)>,
    pub key: PathBuf,
    pub known_hosts: PathBuf,
    /// Each host's sshd log, in `hosts`' order: its logins prove how often strata connected.
    pub logs: Vec<PathBuf>,
    /// This bench's scratch directory: playbook, stack, ControlMaster sockets.
    pub dir: PathBuf,
}

/// Brings up the lab unless one of the right size runs already, and writes its inventory.
async fn bed(args: &BenchOptions) -> Result<Bed, BenchError> {
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
    let dir = std::env::temp_dir().join(format!("strata-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(io("cannot create the bench dir"))?;
    Ok(Bed {
        inventory: opts.lab_dir().join("inventory.yml"),
        hosts: state
            .hosts
            .iter()
            .map(|h| (h.name.clone(), h.addr))
            .collect(),
        key: state.key.clone(),
        known_hosts: state.known_hosts.clone(),
        logs: state.hosts.iter().map(|h| h.log.clone()).collect(),
        dir,
    })
}

/// Brings up (or reuses) the lab, runs the chosen cases, and prints their medians.
pub async fn bench(args: &BenchOptions) -> Result<(), BenchError> {
    if args.case == BenchCase::Demo {
        return demo::bench(&args.lab, &args.cache_dir).await;
    }
    let bed = bed(args).await?;
    let runs = args.runs.max(1);
    let result = async {
        if matches!(args.case, BenchCase::Playbook | BenchCase::All) {
            playbook::bench(&bed, runs).await?;
        }
        if matches!(args.case, BenchCase::Stack | BenchCase::All) {
            stack::bench(&bed, runs).await?;
        }
        Ok(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&bed.dir);
    result
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Times `runs` pairs, alternating which side goes first so that neither always runs on a
/// warmer machine, and logs each pair on stderr. `label` names the case in that log.
async fn measure(
    runs: usize,
    label: &str,
    mut strata: impl AsyncFnMut(usize) -> Result<Duration, BenchError>,
    mut openssh: impl AsyncFnMut(usize) -> Result<Duration, BenchError>,
) -> Result<(Vec<Duration>, Vec<Duration>), BenchError> {
    let (mut s, mut o) = (Vec::new(), Vec::new());
    for run in 0..runs {
        if run % 2 == 0 {
            s.push(strata(run).await?);
            o.push(openssh(run).await?);
        } else {
            o.push(openssh(run).await?);
            s.push(strata(run).await?);
        }
        eprintln!(
            "{label}run {}: strata {:.3}s, openssh {:.3}s",
            run + 1,
            s[run].as_secs_f64(),
            o[run].as_secs_f64()
        );
    }
    Ok((s, o))
}

/// Prints the two median lines (with each side's spread, and what the floor did) and returns
/// the medians, for the caller's ratio line.
fn print_medians(s: &mut [Duration], o: &mut [Duration], floor: &str) -> (f64, f64) {
    let (sm, om) = (median(s), median(o));
    println!(
        "strata   median {:.3}s  (min {:.3}s, max {:.3}s)",
        sm.as_secs_f64(),
        s[0].as_secs_f64(),
        s[s.len() - 1].as_secs_f64()
    );
    println!(
        "openssh  median {:.3}s  (min {:.3}s, max {:.3}s)  {floor}",
        om.as_secs_f64(),
        o[0].as_secs_f64(),
        o[o.len() - 1].as_secs_f64()
    );
    (sm.as_secs_f64(), om.as_secs_f64())
}

/// Writes `text` at `rel` below `dir`, creating directories on the way.
fn write(dir: &Path, rel: &str, text: &str) -> Result<PathBuf, BenchError> {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io("cannot create a bench directory"))?;
    }
    std::fs::write(&path, text).map_err(io(&format!("cannot write {}", path.display())))?;
    Ok(path)
}
