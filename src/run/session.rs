//! One engine run of a [`Plan`]: for each playbook, the variable world (inventory vars with
//! the playbook's adjacent vars, and what earlier playbooks registered), then its plays on
//! the executor; Ctrl-C stops the run after the tasks in flight; per-playbook statistics are
//! merged into one recap. Events go to the caller's channel; nothing here prints.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::{Map, Value};
use tokio::task::JoinHandle;

use super::plan::{Plan, Targets};
use super::request::{Output, RunRequest};
use crate::events::{Event, EventTx, HostStats};
use crate::executor::custom_stats::{self, CustomStats};
use crate::executor::runtime_inventory::refresh;
use crate::executor::vars::{Membership, World};
use crate::executor::{PlayEnd, RunOptions, Runner};
use crate::exit::ExitCode;
use crate::inventory::{Inventory, VarsDir};
use crate::playbook::model::Play;
use crate::reporter::{Reporter, ReporterOptions};
use crate::transport::{HostConnector, LocalTransport, Transport};
use crate::values::to_str;

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
    type Sink = Box<dyn std::io::Write + Send>;
    let (out, err, opts): (Sink, Sink, _) = match output {
        Output::Stdout { json } => (
            Box::new(std::io::stdout()),
            Box::new(std::io::stderr()),
            ReporterOptions::detect(json, req.verbosity, req.diff),
        ),
        Output::Discard => (
            Box::new(std::io::sink()),
            Box::new(std::io::sink()),
            ReporterOptions::default(),
        ),
    };
    let reporter = Reporter::new(out, opts).with_err(err);
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
    let planned: HashSet<String> = targets.keys().cloned().collect();
    let connector = Arc::new(HostConnector {
        targets,
        local: local.clone(),
        opts: req.connect.clone(),
    });
    // Inventory, host pattern and prompt warnings first, as Ansible prints them before the
    // first play; then one per task whose module strata refuses.
    for msg in plan.warnings.iter().cloned().chain(plan.refusal_warnings()) {
        let _ = events.send(Event::Warning { host: None, msg });
    }
    let custom = Arc::new(CustomStats::default());
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
            pv,
            world.as_deref(),
            &planned,
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
            strict: req.strict,
            custom_stats: custom.clone(),
        });
        let mut runner = Runner::new(
            plan.templar.clone(),
            events.clone(),
            opts,
            connector.clone(),
            local.clone(),
            w.clone(),
        );
        let interrupt = runner.interrupt_handle();
        let ctrlc = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupt();
            }
        });
        for (play, hosts) in pb.plays.iter().zip(hosts) {
            let hosts = reselect(&plan, req, &w, play).unwrap_or_else(|| hosts.clone());
            let play = if play.vars_prompt.is_empty() {
                play.clone()
            } else {
                // The plan made sure every prompt can be answered; a closed terminal
                // leaves the variable unset.
                super::prompts::answer(play, &plan.extra_vars).unwrap_or_else(|_| play.clone())
            };
            let end = runner.run_play(Arc::new(play), hosts).await;
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
    let (custom_stats, global_custom_stats) = if req.show_custom_stats {
        shown_custom_stats(&custom)
    } else {
        Default::default()
    };
    let _ = events.send(Event::Recap {
        stats: stats.clone(),
        elapsed_secs: started.elapsed().as_secs_f64(),
        custom_stats,
        global_custom_stats,
    });
    Outcome { stats, interrupted }
}

/// `set_stats` results as the json callback splits them: per host, and the run's own.
fn shown_custom_stats(c: &CustomStats) -> (Map<String, Value>, Map<String, Value>) {
    let mut hosts = Map::new();
    let mut run = Map::new();
    for (k, v) in c.snapshot() {
        if k == custom_stats::RUN {
            run = v;
        } else {
            hosts.insert(k, Value::Object(v));
        }
    }
    (hosts, run)
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

/// A play's hosts chosen again when `add_host` or `group_by` changed the inventory during
/// the run (Ansible evaluates each play's pattern when the play starts); `None` when the
/// inventory is still the one the plan chose from.
fn reselect(plan: &Plan, req: &RunRequest, w: &World, play: &Play) -> Option<Vec<String>> {
    let m = w.membership.read().unwrap_or_else(|e| e.into_inner());
    if m.generation == 0 {
        return None;
    }
    let ctx = minijinja::Value::from(minijinja::value::Serde(&plan.extra_vars));
    let pattern = match plan
        .templar
        .render_str(&play.hosts.value, &ctx, &play.hosts.span)
    {
        Ok(Value::Array(a)) => a.iter().filter_map(to_str).collect::<Vec<_>>().join(","),
        Ok(other) => to_str(&other).unwrap_or_default(),
        Err(_) => return None,
    };
    let limit = match &req.limit {
        Some(l) => Some(crate::inventory::limit_from_arg(l).ok()?),
        None => None,
    };
    m.inventory
        .select_limited(&pattern, limit.as_deref())
        .ok()
        .map(|s| s.hosts)
}

/// The variable world of one playbook: inventory vars with that playbook's adjacent
/// `group_vars`/`host_vars`, and the facts and registered vars of earlier playbooks. The
/// inventory is the one earlier playbooks left (with their `add_host`/`group_by` changes).
fn build_world(
    plan_inventory: &Inventory,
    extra: &Map<String, Value>,
    playbook_vars: &VarsDir,
    previous: Option<&World>,
    planned: &HashSet<String>,
) -> World {
    let (inv, generation) = match previous {
        Some(w) => {
            let m = w.membership.read().unwrap_or_else(|e| e.into_inner());
            (m.inventory.clone(), m.generation)
        }
        None => (plan_inventory.clone(), 0),
    };
    let playbook_vars = match generation {
        0 => playbook_vars.clone(),
        _ => inv
            .reload_vars_dir(playbook_vars)
            .unwrap_or_else(|_| playbook_vars.clone()),
    };
    let world = World {
        extra_vars: Arc::new(extra.clone()),
        ..Default::default()
    };
    let mut m = Membership {
        inventory: inv,
        playbook_vars: Some(playbook_vars),
        planned: planned.clone(),
        generation,
        ..Default::default()
    };
    refresh(&world, &mut m);
    for name in &m.order {
        if let (Some(store), Some(prev)) = (world.host(name), previous.and_then(|w| w.host(name))) {
            *store.facts.write().unwrap() = prev.facts();
            *store.included.write().unwrap() = prev.included();
            *store.vars.write().unwrap() = prev.vars();
            store
                .facts_gathered
                .store(prev.facts_gathered.load(Ordering::SeqCst), Ordering::SeqCst);
        }
    }
    *world.membership.write().unwrap() = m;
    world
}
