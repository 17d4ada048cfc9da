//! `strata playbook`: load and validate everything, resolve hosts, then run plays and report.
//! Every input error is found in the first two steps, before any host is contacted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::cli::PlaybookArgs;
use crate::connect::{ConnectDefaults, SshConnector, Target, target};
use crate::diagnostic::Diagnostic;
use crate::events::Event;
use crate::executor::vars::{HostStore, World};
use crate::executor::{PlayEnd, RunOptions, Runner};
use crate::exit::ExitCode;
use crate::inventory::{Inventory, VarsDir, load_vars_dir};
use crate::playbook::model::Playbook;
use crate::playbook::{LoadOptions, load_playbook};
use crate::reporter::{Reporter, ReporterOptions};
use crate::template::Templar;

/// Input errors, rendered like rustc.
pub struct InputErrors(pub Vec<Diagnostic>);

impl InputErrors {
    pub fn render(&self) -> String {
        let mut s: String = self
            .0
            .iter()
            .map(|d| d.render())
            .collect::<Vec<_>>()
            .join("\n");
        if self.0.len() > 1 {
            s.push_str(&format!(
                "\nerror: aborting due to {} previous errors; no host was contacted\n",
                self.0.len()
            ));
        } else {
            s.push_str("\nno host was contacted\n");
        }
        s
    }
}

impl From<Diagnostic> for InputErrors {
    fn from(d: Diagnostic) -> Self {
        InputErrors(vec![d])
    }
}

/// Everything validated and resolved, ready to run.
pub struct Plan {
    pub playbooks: Vec<Playbook>,
    pub inventory: Inventory,
    /// Hosts of each play, per playbook, in Ansible's pattern order.
    pub play_hosts: Vec<Vec<Vec<String>>>,
    /// `group_vars`/`host_vars` beside each playbook (Ansible's playbook-adjacent vars).
    pub playbook_vars: Vec<VarsDir>,
    pub extra_vars: Map<String, Value>,
    pub warnings: Vec<String>,
}

/// Load + validate + resolve. No I/O to hosts happens here.
pub fn plan(args: &PlaybookArgs, templar: &Templar) -> Result<Plan, InputErrors> {
    let extra_vars = crate::extra_vars::parse(&args.extra_vars)?;
    let inventory = crate::inventory::load(
        &args.inventory,
        &crate::inventory::LoadOptions {
            flush_cache: args.flush_cache,
        },
    )?;
    let limit = match &args.limit {
        Some(l) => Some(
            crate::inventory::pattern::limit_from_arg(l)
                .map_err(|e| Diagnostic::new(Default::default(), format!("--limit: {e}")))?,
        ),
        None => None,
    };
    let load = LoadOptions {
        extra_vars: extra_vars.clone(),
        roles_path: roles_path(),
        playbook_dir: None,
    };
    let mut playbooks = Vec::new();
    let mut errors = Vec::new();
    for p in &args.playbooks {
        match load_playbook(p, &load, templar) {
            Ok(pb) => playbooks.push(pb),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        return Err(InputErrors(errors));
    }
    let mut playbook_vars = Vec::new();
    for pb in &playbooks {
        let dir = pb.path.parent().filter(|d| !d.as_os_str().is_empty());
        playbook_vars.push(load_vars_dir(dir.unwrap_or(Path::new(".")), &inventory)?);
    }
    let ctx = minijinja::Value::from(minijinja::value::Serde(&extra_vars));
    let mut warnings: Vec<String> = inventory.warnings().to_vec();
    let mut play_hosts = Vec::new();
    for pb in &playbooks {
        let mut per = Vec::new();
        for play in &pb.plays {
            let pattern = match templar.render_str(&play.hosts.value, &ctx, &play.hosts.span) {
                Ok(v) => match v {
                    Value::Array(a) => a
                        .iter()
                        .filter_map(crate::modules::args::to_str)
                        .collect::<Vec<_>>()
                        .join(","),
                    other => crate::modules::args::to_str(&other).unwrap_or_default(),
                },
                Err(e) => {
                    errors.push(e.label(
                        "in `hosts:` (only extra vars are defined before hosts are chosen)",
                    ));
                    continue;
                }
            };
            match inventory.select_limited(&pattern, limit.as_deref()) {
                Ok(sel) => {
                    warnings.extend(sel.warnings);
                    per.push(sel.hosts);
                }
                Err(e) => errors.push(Diagnostic::new(
                    play.hosts.span.clone(),
                    format!("bad host pattern `{pattern}`: {e}"),
                )),
            }
        }
        play_hosts.push(per);
    }
    if !errors.is_empty() {
        return Err(InputErrors(errors));
    }
    Ok(Plan {
        playbooks,
        inventory,
        play_hosts,
        playbook_vars,
        extra_vars,
        warnings,
    })
}

/// `ANSIBLE_ROLES_PATH`-style search path, colon separated.
fn roles_path() -> Vec<PathBuf> {
    std::env::var("STRATA_ROLES_PATH")
        .or_else(|_| std::env::var("ANSIBLE_ROLES_PATH"))
        .map(|s| {
            s.split(':')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
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

pub async fn run(args: PlaybookArgs) -> ExitCode {
    let templar = Arc::new(Templar::new());
    let plan = match plan(&args, &templar) {
        Ok(p) => p,
        Err(e) => {
            eprint!("{}", e.render());
            return ExitCode::BadInput;
        }
    };
    for w in &plan.warnings {
        eprintln!("[WARNING]: {w}");
    }
    if args.syntax_check {
        for p in &args.playbooks {
            println!("\nplaybook: {}", p.display());
        }
        return ExitCode::Ok;
    }
    if args.list_hosts || args.list_tasks {
        print!(
            "{}",
            super::listing::render(
                &plan,
                args.list_hosts,
                args.list_tasks,
                &args.tags,
                &args.skip_tags
            )
        );
        return ExitCode::Ok;
    }
    let defaults = ConnectDefaults {
        user: args.user.clone(),
        private_key: args.private_key.clone(),
        accept_new: args.accept_new_host_keys,
        insecure: args.insecure_ignore_host_keys,
        timeout: Duration::from_secs(args.timeout),
    };
    let mut targets = HashMap::new();
    let mut errors = Vec::new();
    // Each host's connection comes from the first playbook that uses it, with that playbook's
    // adjacent vars (where `ansible_user` and friends often live).
    let mut used: Vec<(&String, &VarsDir)> = Vec::new();
    for (per, pv) in plan.play_hosts.iter().zip(&plan.playbook_vars) {
        for h in per.iter().flatten() {
            if !used.iter().any(|(u, _)| *u == h) {
                used.push((h, pv));
            }
        }
    }
    for (h, pv) in used {
        match target(h, &plan.inventory.host_vars_with(h, Some(pv)), &defaults) {
            Ok(t) => {
                targets.insert(h.clone(), t);
            }
            Err(e) => errors.push(Diagnostic::new(
                plan.inventory
                    .host(h)
                    .map(|x| x.span.clone())
                    .unwrap_or_default(),
                e,
            )),
        }
    }
    if !errors.is_empty() {
        eprint!("{}", InputErrors(errors).render());
        return ExitCode::BadInput;
    }
    execute(plan, targets, &args, templar).await
}

async fn execute(
    plan: Plan,
    targets: HashMap<String, Target>,
    args: &PlaybookArgs,
    templar: Arc<Templar>,
) -> ExitCode {
    let started = Instant::now();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let reporter = Reporter::new(
        std::io::stdout(),
        ReporterOptions::detect(args.json, args.verbose, args.diff),
    );
    let reporter = tokio::spawn(reporter.run(rx));
    let local: Arc<dyn crate::transport::Transport> = Arc::new(crate::local::LocalTransport::new());
    let connector = Arc::new(SshConnector {
        targets,
        local: local.clone(),
    });
    let mut world: Option<Arc<World>> = None;
    let mut exit = ExitCode::Ok;
    let mut all_stats_order = Vec::new();
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
        let _ = tx.send(Event::PlaybookStart {
            file: pb.path.display().to_string(),
        });
        let opts = Arc::new(RunOptions {
            check: args.check,
            diff: args.diff,
            verbosity: args.verbose,
            tags: args.tags.clone(),
            skip_tags: args.skip_tags.clone(),
            forks: args.forks as usize,
            extra_vars: plan.extra_vars.clone(),
            playbook_dir: pb.path.parent().map(Path::to_path_buf).unwrap_or_default(),
            roles_path: roles_path(),
        });
        let mut runner = Runner::new(
            templar.clone(),
            tx.clone(),
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
                exit = ExitCode::Interrupted;
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
    // Merge per-playbook stats, keeping inventory order and only hosts that did something.
    for stats in runner_stats {
        for s in stats {
            match all_stats_order
                .iter_mut()
                .find(|x: &&mut crate::events::HostStats| x.host == s.host)
            {
                Some(x) => x.add(&s),
                None => all_stats_order.push(s),
            }
        }
    }
    all_stats_order.retain(|s| !s.is_empty());
    all_stats_order.sort_by(|a, b| a.host.cmp(&b.host));
    if exit == ExitCode::Ok {
        exit = ExitCode::from_stats(&all_stats_order);
    }
    let _ = tx.send(Event::Recap {
        stats: all_stats_order,
        elapsed_secs: started.elapsed().as_secs_f64(),
    });
    drop(tx);
    let _ = reporter.await;
    exit
}
