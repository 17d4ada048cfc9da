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

/// The state-meta key of [`membership`] as last broadcast.
const CONFIGURED: &str = "configured_membership";

/// What the configure broadcast tells each instance about the others: every online
/// instance's identity, name, layers and address. When this differs from what the last
/// successful configure sent, configure must run again, whatever happened in between (a
/// crash, Ctrl-C, a failed configure, an instance moving between layers).
pub fn membership(records: &[InstanceRecord]) -> String {
    let mut online: Vec<(&str, &str, &[String], Option<&str>)> = records
        .iter()
        .filter(|r| r.status == Status::Online)
        .map(|r| {
            (
                r.id.as_str(),
                r.name.as_str(),
                &r.layers[..],
                r.private_ip.as_deref(),
            )
        })
        .collect();
    online.sort();
    serde_json::to_string(&online).unwrap_or_default()
}

/// Whether `records` differ from what the last successful configure broadcast.
pub fn needs_configure(
    store: &dyn StateStore,
    records: &[InstanceRecord],
) -> Result<bool, StackError> {
    let now = membership(records);
    Ok(store.meta(CONFIGURED)?.as_deref() != Some(now.as_str()))
}

/// Runs setup on `ids`, then deploy on those whose setup succeeded, and marks each instance
/// `online`, `setup_failed` or `deploy_failed`. Each step is one engine run on all of them.
/// After Ctrl-C the instances stay in `setup`, so that the next sync starts them again, and
/// the caller stops (see [`Report::interrupted`]).
pub async fn bring_online(
    engine: &Engine<'_>,
    store: &mut dyn StateStore,
    ids: &[String],
    report: &mut Report,
) -> Result<(), StackError> {
    if ids.is_empty() {
        return Ok(());
    }
    let setup: Vec<(String, Status)> = ids.iter().map(|i| (i.clone(), Status::Setup)).collect();
    store.set_statuses(&setup, None)?;
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
        report.add(&ev);
        if ev.result == EventResult::Interrupted {
            store.finish_event(ev.id, ev.result, &ev.recap, &[])?;
            return Ok(());
        }
        let failed = ids_of(&records, &ev.failed);
        let statuses: Vec<(String, Status)> = failed
            .iter()
            .map(|i| (i.clone(), Status::SetupFailed))
            .collect();
        store.finish_event(ev.id, ev.result, &ev.recap, &statuses)?;
        ok.retain(|i| !failed.contains(i));
    }
    if ok.is_empty() {
        return Ok(());
    }
    let records = store.instances()?;
    let targets = pick(&records, &ok);
    let plan = Deployment::all_apps(engine.stack, store, &targets)?;
    let mut online = ok.clone();
    let mut statuses = Vec::new();
    match deploy::run(engine, store, &records, &targets, &plan, "deploy").await? {
        Some(ev) if ev.result == EventResult::Interrupted => {
            report.add(&ev);
            store.finish_event(ev.id, ev.result, &ev.recap, &[])?;
        }
        Some(ev) => {
            report.add(&ev);
            let failed = ids_of(&records, &ev.failed);
            statuses.extend(failed.iter().map(|i| (i.clone(), Status::DeployFailed)));
            online.retain(|i| !failed.contains(i));
            statuses.extend(online.iter().map(|i| (i.clone(), Status::Online)));
            store.finish_event(ev.id, ev.result, &ev.recap, &statuses)?;
            plan.record(store, &online, ev.id)?;
        }
        None => {
            statuses.extend(online.iter().map(|i| (i.clone(), Status::Online)));
            store.set_statuses(&statuses, None)?;
        }
    }
    Ok(())
}

/// Configure on every online instance, with the stack's current state; a success (or no
/// instance to tell) records the membership it broadcast.
pub async fn configure_all(
    engine: &Engine<'_>,
    store: &mut dyn StateStore,
    report: &mut Report,
) -> Result<(), StackError> {
    let records = store.instances()?;
    let fingerprint = membership(&records);
    let targets: Vec<&InstanceRecord> = records
        .iter()
        .filter(|r| r.status == Status::Online && engine.inventory.contains_host(&r.name))
        .collect();
    let spec = EventSpec {
        kind: "configure",
        targets,
        layers: None,
        args: json!({}),
        deploy: HashMap::new(),
    };
    let ok = match engine.run(store, &records, spec).await? {
        Some(ev) => {
            store.finish_event(ev.id, ev.result, &ev.recap, &[])?;
            report.add(&ev);
            ev.result == EventResult::Ok
        }
        None => true,
    };
    if ok {
        store.set_meta(CONFIGURED, &fingerprint)?;
    }
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
