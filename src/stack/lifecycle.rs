//! The lifecycle steps the commands share: bringing instances online (setup, then deploy of
//! every app on their layers, as OpsWorks does when an instance boots) and the configure
//! broadcast to every online instance.

use std::collections::HashMap;

use serde_json::json;

use super::StackError;
use super::deploy::{self, Deployment};
use super::event::{Engine, EventSpec};
use super::report::Report;
use super::state::{EventResult, InstanceRecord, StateStore, Status};

/// Runs setup on `ids`, then deploy on those whose setup succeeded, and marks each instance
/// `online`, `setup_failed` or `deploy_failed`. Each step is one engine run on all of them.
pub async fn bring_online(
    engine: &Engine<'_>,
    store: &mut dyn StateStore,
    ids: &[String],
    report: &mut Report,
) -> Result<(), StackError> {
    if ids.is_empty() {
        return Ok(());
    }
    let check = engine.req.check;
    if !check {
        let setup: Vec<(String, Status)> = ids.iter().map(|i| (i.clone(), Status::Setup)).collect();
        store.set_statuses(&setup, None)?;
    }
    let records = store.instances()?;
    let targets = pick(&records, ids);
    let spec = EventSpec {
        kind: "setup",
        targets: targets.clone(),
        layers: None,
        args: json!({}),
        deploy: HashMap::new(),
    };
    let mut ok: Vec<String> = ids.to_vec();
    if let Some(ev) = engine.run(store, &records, spec).await? {
        let failed = ids_of(&records, &ev.failed);
        let statuses: Vec<(String, Status)> = failed
            .iter()
            .map(|i| (i.clone(), Status::SetupFailed))
            .collect();
        finish(engine, store, &ev.id, ev.result, &ev.recap, &statuses)?;
        ok.retain(|i| !failed.contains(i));
        report.add(&ev);
        if ev.result == EventResult::Interrupted {
            return Ok(());
        }
    }
    if ok.is_empty() {
        return Ok(());
    }
    let records = store.instances()?;
    let targets = pick(&records, &ok);
    let plan = Deployment::all_apps(engine.stack, store, &targets)?;
    let mut online = ok.clone();
    let mut statuses = Vec::new();
    if let Some(ev) = deploy::run(engine, store, &records, &targets, &plan, "deploy").await? {
        let failed = ids_of(&records, &ev.failed);
        statuses.extend(failed.iter().map(|i| (i.clone(), Status::DeployFailed)));
        online.retain(|i| !failed.contains(i));
        if !check {
            plan.record(store, &online, ev.id)?;
        }
        statuses.extend(online.iter().map(|i| (i.clone(), Status::Online)));
        finish(engine, store, &ev.id, ev.result, &ev.recap, &statuses)?;
        report.add(&ev);
    } else if !check {
        statuses.extend(online.iter().map(|i| (i.clone(), Status::Online)));
        store.set_statuses(&statuses, None)?;
    }
    Ok(())
}

/// Configure on every online instance, with the stack's current state.
pub async fn configure_all(
    engine: &Engine<'_>,
    store: &mut dyn StateStore,
    report: &mut Report,
) -> Result<(), StackError> {
    let records = store.instances()?;
    let targets: Vec<&InstanceRecord> = records
        .iter()
        .filter(|r| r.status == Status::Online && engine.inventory.contains_host(&r.name))
        .collect();
    if targets.is_empty() {
        return Ok(());
    }
    let spec = EventSpec {
        kind: "configure",
        targets,
        layers: None,
        args: json!({}),
        deploy: HashMap::new(),
    };
    if let Some(ev) = engine.run(store, &records, spec).await? {
        finish(engine, store, &ev.id, ev.result, &ev.recap, &[])?;
        report.add(&ev);
    }
    Ok(())
}

/// Ends an event in the state; in check mode the statuses stay as they were, since nothing
/// was really set up or deployed.
pub fn finish(
    engine: &Engine<'_>,
    store: &mut dyn StateStore,
    id: &i64,
    result: EventResult,
    recap: &serde_json::Value,
    statuses: &[(String, Status)],
) -> Result<(), StackError> {
    let statuses = if engine.req.check { &[][..] } else { statuses };
    store.finish_event(*id, result, recap, statuses)?;
    Ok(())
}

/// The records with these ids, in the state's order.
pub fn pick<'r>(records: &'r [InstanceRecord], ids: &[String]) -> Vec<&'r InstanceRecord> {
    records.iter().filter(|r| ids.contains(&r.id)).collect()
}

/// The ids of live (not terminated) instances by inventory name.
pub fn ids_of(records: &[InstanceRecord], names: &[String]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.status != Status::Terminated && names.contains(&r.name))
        .map(|r| r.id.clone())
        .collect()
}
