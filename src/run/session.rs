//! One engine run of a [`Plan`]: for each playbook, the variable world (inventory vars with
//! the playbook's adjacent vars, and what earlier playbooks registered), then its plays on
//! the executor; Ctrl-C stops the run after the tasks in flight; per-playbook statistics are
//! merged into one recap. Events go to the caller's channel; nothing here prints.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

use super::plan::{Plan, Targets};
use super::request::{Output, RunRequest};
use crate::events::{Event, EventTx, HostStats};
use crate::executor::vars::{HostStore, World};
use crate::executor::{PlayEnd, RunOptions, Runner};
use crate::exit::ExitCode;
use crate::inventory::{Inventory, VarsDir};
use crate::reporter::{Reporter, ReporterOptions};
use crate::transport::{HostConnector, LocalTransport, Transport};

/// What one engine run did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Per-host recap counts, hosts that did nothing left out, sorted by name.
    pub stats: Vec<HostStats>,
    /// Stopped by Ctrl-C.
    pub interrupted: bool,
}

impl Outcome {
    /// `ansible-playbook`'s exit code for this outcome.
    pub fn exit_code(&self) -> ExitCode {
        if self.interrupted {
            ExitCode::Interrupted
        } else {
            ExitCode::from_stats(&self.stats)
        }
    }
}

/// The reporter for `output`, draining events until every sender is dropped.
pub fn start_reporter(output: Output, req: &RunRequest) -> (EventTx, JoinHandle<()>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (out, opts): (Box<dyn std::io::Write + Send>, _) = match output {
        Output::Stdout { json } => (
            Box::new(std::io::stdout()),
            ReporterOptions::detect(json, req.verbosity, req.diff),
        ),
        Output::Discard => (Box::new(std::io::sink()), ReporterOptions::default()),
    };
    let reporter = Reporter::new(out, opts);
    let handle = tokio::spawn(async move {
        reporter.run(rx).await;
    });
    (tx, handle)
}

/// Runs the plan's playbooks in order, then sends the recap. A playbook that aborts (or an
/// interrupt) ends the run, as in `ansible-playbook`.
pub async fn execute(plan: Plan, targets: Targets, req: &RunRequest, events: &EventTx) -> Outcome {
    let started = Instant::now();
    let local: Arc<dyn Transport> = Arc::new(LocalTransport::new());
    let connector = Arc::new(HostConnector {
        targets,
        local: local.clone(),
        opts: req.connect.clone(),
    });
    let mut world: Option<Arc<World>> = None;
    let mut interrupted = false;
    let mut runner_stats = Vec::new();
    'books: for ((pb, hosts), pv) in plan
        .playbooks
        .iter()
        .zip(&plan.play_hosts)
        .zip(&plan.playbook_vars)
    {
        let w = Arc::new(build_world(
            &plan.inventory,
            &plan.extra_vars,
            Some(pv),
            world.as_deref(),
        ));
        world = Some(w.clone());
        let _ = events.send(Event::PlaybookStart {
            file: pb.path.display().to_string(),
        });
        let opts = Arc::new(RunOptions {
            check: req.check,
            diff: req.diff,
            verbosity: req.verbosity,
            tags: req.tags.clone(),
            skip_tags: req.skip_tags.clone(),
            forks: req.forks,
            extra_vars: plan.extra_vars.clone(),
            playbook_dir: pb.path.parent().map(Path::to_path_buf).unwrap_or_default(),
            roles_path: plan.roles_path.clone(),
            become_password: req.connect.become_password.clone(),
            become_defaults: req.become_defaults.clone(),
            gathering: req.gathering,
        });
        let mut runner = Runner::new(
            plan.templar.clone(),
            events.clone(),
            opts,
            connector.clone(),
            local.clone(),
            w,
        );
        let interrupt = runner.interrupt_handle();
        let ctrlc = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupt();
            }
        });
        for (play, hosts) in pb.plays.iter().zip(hosts) {
            let end = runner.run_play(Arc::new(play.clone()), hosts.clone()).await;
            if end == PlayEnd::Interrupted {
                interrupted = true;
            }
            if end == PlayEnd::Aborted && plan.independent_plays {
                continue;
            }
            if end != PlayEnd::Completed {
                ctrlc.abort();
                runner_stats.push(std::mem::take(&mut runner.stats));
                break 'books;
            }
        }
        ctrlc.abort();
        runner_stats.push(std::mem::take(&mut runner.stats));
    }
    let stats = merge_stats(runner_stats);
    let _ = events.send(Event::Recap {
        stats: stats.clone(),
        elapsed_secs: started.elapsed().as_secs_f64(),
    });
    Outcome { stats, interrupted }
}

/// Merges per-playbook stats, keeping only hosts that did something, sorted by name.
fn merge_stats(runs: Vec<Vec<HostStats>>) -> Vec<HostStats> {
    let mut all: Vec<HostStats> = Vec::new();
    for s in runs.into_iter().flatten() {
        match all.iter_mut().find(|x| x.host == s.host) {
            Some(x) => x.add(&s),
            None => all.push(s),
        }
    }
    all.retain(|s| !s.is_empty());
    all.sort_by(|a, b| a.host.cmp(&b.host));
    all
}

/// The variable world of one playbook: inventory vars with that playbook's adjacent
/// `group_vars`/`host_vars`, and the facts and registered vars of earlier playbooks.
fn build_world(
    inv: &Inventory,
    extra: &Map<String, Value>,
    playbook_vars: Option<&VarsDir>,
    previous: Option<&World>,
) -> World {
    let mut hosts = HashMap::new();
    let mut order = Vec::new();
    let mut group_names = HashMap::new();
    for h in inv.hosts() {
        let mut store = HostStore::new(inv.host_vars_with(&h.name, playbook_vars));
        if let Some(prev) = previous.and_then(|w| w.hosts.get(&h.name)) {
            store.facts = std::sync::RwLock::new(prev.facts());
            store.vars = std::sync::RwLock::new(prev.vars());
            store.facts_gathered = prev.facts_gathered.load(Ordering::SeqCst).into();
        }
        hosts.insert(h.name.clone(), Arc::new(store));
        group_names.insert(h.name.clone(), json!(inv.group_names_of(&h.name)));
        order.push(h.name.clone());
    }
    World {
        hosts,
        order,
        groups: Value::Object(inv.groups_map()),
        group_names,
        extra_vars: Arc::new(extra.clone()),
    }
}
