//! `strata stack sync`: OpsWorks' automation. Read the instance source, set up and deploy
//! new instances, mark departed ones terminated, check that online ones still answer, and
//! when the set of online instances changed, run configure on every online instance so each
//! sees the new stack. Changes that arrive while a round runs are seen by the next round.

use std::time::Duration;

use super::StackError;
use super::instances::{Discovery, Instance};
use super::lifecycle::{bring_online, configure_all, needs_configure};
use super::open::Stack;
use super::probe::reachable;
use super::report::Report;
use super::state::{InstanceRecord, StateStore, Status};

/// Statuses from which `sync` (re)runs setup: new, interrupted mid-setup, or failed last time.
const NEEDS_SETUP: [Status; 4] = [
    Status::Pending,
    Status::Setup,
    Status::SetupFailed,
    Status::DeployFailed,
];

/// The state's instances updated from the source: new ones `pending`, departed ones
/// `terminated`, known ones with fresh names, layers and addresses. A terminated instance
/// that reappears under the same id is new again.
fn reconcile(records: &[InstanceRecord], found: &[Instance]) -> (Vec<InstanceRecord>, Report) {
    let now = super::clock::now_rfc3339();
    let mut report = Report::default();
    let mut out: Vec<InstanceRecord> = Vec::new();
    for i in found {
        let old = records.iter().find(|r| r.id == i.id);
        let rec = i.record(old, &now);
        if old.is_none_or(|r| r.status == Status::Terminated) {
            report.joined.push(i.name.clone());
        }
        out.push(rec);
    }
    for r in records {
        if r.status != Status::Terminated && !found.iter().any(|i| i.id == r.id) {
            report.left.push(r.name.clone());
            let mut gone = r.clone();
            gone.status = Status::Terminated;
            gone.status_since = now.clone();
            out.push(gone);
        }
    }
    (out, report)
}

/// One sync round. The caller holds the lock.
pub async fn round(stack: &mut Stack, d: &Discovery, dry_run: bool) -> Result<Report, StackError> {
    let before = stack.store.instances()?;
    let (updated, mut report) = reconcile(&before, &d.instances);
    let new: Vec<String> = updated
        .iter()
        .filter(|r| NEEDS_SETUP.contains(&r.status))
        .map(|r| r.id.clone())
        .collect();
    if dry_run {
        report.dry_run = true;
        let names = |ids: &[String]| -> Vec<String> {
            updated
                .iter()
                .filter(|r| ids.contains(&r.id))
                .map(|r| r.name.clone())
                .collect()
        };
        if !new.is_empty() {
            report.would_run.push(("setup".into(), names(&new)));
            let app_layers: Vec<&String> =
                stack.ctx.file.apps.iter().flat_map(|a| &a.layers).collect();
            let deploy: Vec<String> = updated
                .iter()
                .filter(|r| new.contains(&r.id) && r.layers.iter().any(|l| app_layers.contains(&l)))
                .map(|r| r.id.clone())
                .collect();
            if !deploy.is_empty() {
                report.would_run.push(("deploy".into(), names(&deploy)));
            }
        }
        let mut predicted = updated.clone();
        for r in predicted.iter_mut().filter(|r| new.contains(&r.id)) {
            r.status = Status::Online;
        }
        if needs_configure(&stack.store, &predicted)? {
            let all: Vec<String> = predicted
                .iter()
                .filter(|r| r.status == Status::Online)
                .map(|r| r.id.clone())
                .collect();
            report.would_run.push(("configure".into(), names(&all)));
        }
        return Ok(report);
    }
    stack.store.put_instances(&updated)?;
    let engine = stack.ctx.engine(d);
    let store: &mut dyn StateStore = &mut stack.store;
    bring_online(&engine, store, &new, &mut report).await?;
    if report.interrupted() {
        return Ok(report);
    }

    // Reachability: online instances that stopped answering leave the configure set, and
    // lost ones that answer again rejoin it. Instances just brought online were just reached.
    let records = store.instances()?;
    let probe: Vec<&InstanceRecord> = records
        .iter()
        .filter(|r| {
            matches!(r.status, Status::Online | Status::ConnectionLost) && !new.contains(&r.id)
        })
        .collect();
    let names: Vec<String> = probe.iter().map(|r| r.name.clone()).collect();
    let answers = reachable(&d.inventory, &names, &engine.req.connect).await;
    let mut changes = Vec::new();
    for r in probe {
        match (r.status, answers.get(&r.name)) {
            (Status::Online, Some(Err(e))) => {
                if engine.req.verbosity > 0 {
                    eprintln!("[WARNING]: {}: {e}", r.name);
                }
                report.lost.push(r.name.clone());
                changes.push((r.id.clone(), Status::ConnectionLost));
            }
            (Status::ConnectionLost, Some(Ok(()))) => {
                report.back.push(r.name.clone());
                changes.push((r.id.clone(), Status::Online));
            }
            _ => {}
        }
    }
    if !changes.is_empty() {
        store.set_statuses(&changes, None)?;
    }

    // Configure when the online set differs from what the last successful configure told
    // the instances: this round's changes, or an earlier round's broadcast that failed or
    // never finished.
    if needs_configure(store, &store.instances()?)? {
        configure_all(&engine, store, &mut report).await?;
    }
    Ok(report)
}

/// `sync [--watch SECONDS]`: one round, or a round every `watch` seconds until interrupted.
/// The lock is held for a round only, so other commands can run between rounds. A watcher
/// outlives what a single command would stop on: an instance source that cannot be read
/// (the EC2 API down, a file being edited) or another command holding the lock skips this
/// round, with the reason on stderr, and the next round tries again.
pub async fn sync(
    stack: &mut Stack,
    dry_run: bool,
    watch: Option<Duration>,
    mut on_round: impl FnMut(&Report),
) -> Result<Report, StackError> {
    let mut last = Report::default();
    loop {
        match sync_round(stack, dry_run).await {
            Ok(report) => {
                on_round(&report);
                last = report;
            }
            Err(e) if watch.is_some() && skippable(&e) => {
                eprintln!("[WARNING]: sync round skipped: {e}");
            }
            Err(e) => return Err(e),
        }
        let Some(every) = watch.filter(|_| !last.interrupted()) else {
            return Ok(last);
        };
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = tokio::signal::ctrl_c() => return Ok(last),
        }
    }
}

async fn sync_round(stack: &mut Stack, dry_run: bool) -> Result<Report, StackError> {
    let d = stack.discover(true)?;
    if dry_run {
        return round(stack, &d, true).await;
    }
    let _guard = stack.lock()?;
    round(stack, &d, false).await
}

/// Errors a watcher waits out: the instance source, or the lock held by another command.
fn skippable(e: &StackError) -> bool {
    matches!(
        e,
        StackError::Input(_) | StackError::State(super::state::StateError::Busy(_))
    )
}
