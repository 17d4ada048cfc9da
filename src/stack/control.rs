//! The operator's commands on a running stack: `configure`, `run EVENT` (OpsWorks' Run
//! Command and execute recipes), `start HOST`, `stop HOST`, and `deploy`, `rollback`,
//! `undeploy` of an app. Each takes the lock, runs its events, and returns a [`Report`].

use std::collections::HashMap;

use serde_json::json;

use super::StackError;
use super::deploy::{self, Deployment};
use super::event::EventSpec;
use super::instances::Discovery;
use super::lifecycle::{bring_online, configure_all, ids_of};
use super::open::Stack;
use super::report::Report;
use super::state::{EventResult, InstanceRecord, StateStore, Status};

/// `configure`: the broadcast, on demand.
pub async fn configure(stack: &mut Stack, d: &Discovery) -> Result<Report, StackError> {
    let _guard = stack.lock()?;
    let engine = stack.ctx.engine(d);
    let mut report = Report::default();
    configure_all(&engine, &mut stack.store, &mut report).await?;
    Ok(report)
}

/// Online instances reachable through the instance source, optionally only these names;
/// a named host that is unknown or not online is an error.
fn online<'r>(
    records: &'r [InstanceRecord],
    d: &Discovery,
    hosts: &[String],
) -> Result<Vec<&'r InstanceRecord>, StackError> {
    for h in hosts {
        let live = records
            .iter()
            .find(|r| &r.name == h && r.status != Status::Terminated);
        match live {
            None => {
                return Err(StackError::Usage(format!(
                    "`{h}` is not an instance of this stack"
                )));
            }
            Some(r) if r.status != Status::Online => {
                return Err(StackError::Usage(format!(
                    "instance `{h}` is {}, not online",
                    r.status
                )));
            }
            Some(_) => {}
        }
    }
    Ok(records
        .iter()
        .filter(|r| r.status == Status::Online && d.inventory.contains_host(&r.name))
        .filter(|r| hosts.is_empty() || hosts.contains(&r.name))
        .collect())
}

/// `run EVENT [--layer L]... [--host H]...`.
pub async fn run(
    stack: &mut Stack,
    d: &Discovery,
    event: &str,
    layers: &[String],
    hosts: &[String],
) -> Result<Report, StackError> {
    for l in layers {
        if stack.ctx.file.layer(l).is_none() {
            return Err(StackError::Usage(format!("the stack has no layer `{l}`")));
        }
    }
    let _guard = stack.lock()?;
    let records = stack.store.instances()?;
    let targets: Vec<&InstanceRecord> = online(&records, d, hosts)?
        .into_iter()
        .filter(|r| layers.is_empty() || r.layers.iter().any(|l| layers.contains(l)))
        .collect();
    let engine = stack.ctx.engine(d);
    let mut report = Report::default();
    let spec = EventSpec {
        kind: event,
        targets,
        layers: (!layers.is_empty()).then_some(layers),
        args: json!({"layers": layers, "hosts": hosts}),
        deploy: HashMap::new(),
    };
    match engine.run(&mut stack.store, &records, spec).await? {
        Some(ev) => {
            stack.store.finish_event(ev.id, ev.result, &ev.recap, &[])?;
            report.add(&ev);
        }
        None => eprintln!(
            "[WARNING]: no online instance has a role with `tasks/{event}.yml`; nothing ran"
        ),
    }
    Ok(report)
}

/// `start HOST`: setup and deploy on it, then configure on all.
pub async fn start(stack: &mut Stack, d: &Discovery, host: &str) -> Result<Report, StackError> {
    let Some(found) = d.instances.iter().find(|i| i.name == host) else {
        return Err(StackError::Usage(format!(
            "`{host}` is not in the stack's instance source (or in none of its layers' groups)"
        )));
    };
    let _guard = stack.lock()?;
    let records = stack.store.instances()?;
    let now = super::clock::now_rfc3339();
    let rec = found.record(records.iter().find(|r| r.id == found.id), &now);
    let mut report = Report::default();
    if rec.status == Status::Pending {
        report.joined.push(rec.name.clone());
    }
    // An instance replaced under the same name (EC2) is gone, as `sync` would find.
    let mut put: Vec<InstanceRecord> = records
        .iter()
        .filter(|r| r.name == found.name && r.id != found.id && r.status != Status::Terminated)
        .map(|r| InstanceRecord {
            status: Status::Terminated,
            status_since: now.clone(),
            ..r.clone()
        })
        .collect();
    put.push(rec);
    stack.store.put_instances(&put)?;
    let before = stack.store.instances()?;
    let was_online = before
        .iter()
        .any(|r| r.id == found.id && r.status == Status::Online);
    let engine = stack.ctx.engine(d);
    bring_online(
        &engine,
        &mut stack.store,
        std::slice::from_ref(&found.id),
        &mut report,
    )
    .await?;
    if report.interrupted() {
        return Ok(report);
    }
    let now_online = stack
        .store
        .instances()?
        .iter()
        .any(|r| r.id == found.id && r.status == Status::Online);
    if now_online || was_online {
        configure_all(&engine, &mut stack.store, &mut report).await?;
    }
    Ok(report)
}

/// `stop HOST`: shutdown on it, mark it stopped (even when shutdown failed: the operator
/// takes it out), then configure on the rest.
pub async fn stop(stack: &mut Stack, d: &Discovery, host: &str) -> Result<Report, StackError> {
    let _guard = stack.lock()?;
    let records = stack.store.instances()?;
    let Some(rec) = records
        .iter()
        .find(|r| r.name == host && r.status != Status::Terminated)
    else {
        return Err(StackError::Usage(format!(
            "`{host}` is not an instance of this stack"
        )));
    };
    let id = rec.id.clone();
    let engine = stack.ctx.engine(d);
    let mut report = Report::default();
    let spec = EventSpec {
        kind: "shutdown",
        targets: vec![rec],
        layers: None,
        args: json!({"host": host}),
        deploy: HashMap::new(),
    };
    let stopped = [(id.clone(), Status::Stopped)];
    match engine.run(&mut stack.store, &records, spec).await? {
        Some(ev) if ev.result == EventResult::Interrupted => {
            stack.store.finish_event(ev.id, ev.result, &ev.recap, &[])?;
            report.add(&ev);
            return Ok(report);
        }
        Some(ev) => {
            stack
                .store
                .finish_event(ev.id, ev.result, &ev.recap, &stopped)?;
            report.add(&ev);
        }
        None => stack.store.set_statuses(&stopped, None)?,
    }
    report.left.push(host.to_string());
    configure_all(&engine, &mut stack.store, &mut report).await?;
    Ok(report)
}

/// What `deploy`, `rollback` and `undeploy` do to an app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppAction {
    Deploy,
    Rollback,
    Undeploy,
}

/// `deploy APP [--revision REV] [--host H]...`, `rollback APP`, `undeploy APP`: on the
/// app's layers' online instances.
pub async fn app(
    stack: &mut Stack,
    d: &Discovery,
    action: AppAction,
    name: &str,
    revision: Option<&str>,
    hosts: &[String],
) -> Result<Report, StackError> {
    let Some(app) = stack.ctx.file.app(name).cloned() else {
        let names: Vec<&str> = stack
            .ctx
            .file
            .apps
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        return Err(StackError::Usage(format!(
            "the stack has no app `{name}` (apps: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    let _guard = stack.lock()?;
    let records = stack.store.instances()?;
    let targets: Vec<&InstanceRecord> = online(&records, d, hosts)?
        .into_iter()
        .filter(|r| r.layers.iter().any(|l| app.layers.contains(l)))
        .collect();
    let plan = match action {
        AppAction::Deploy => Deployment::deploy(&stack.store, &[&app], &targets, revision)?,
        AppAction::Rollback => Deployment::rollback(&stack.store, &app, &targets)?,
        AppAction::Undeploy => Deployment::undeploy(&stack.store, &app, &targets)?,
    };
    let event = if action == AppAction::Undeploy {
        "undeploy"
    } else {
        "deploy"
    };
    let engine = stack.ctx.engine(d);
    let mut report = Report::default();
    if let Some(ev) =
        deploy::run(&engine, &mut stack.store, &records, &targets, &plan, event).await?
    {
        stack.store.finish_event(ev.id, ev.result, &ev.recap, &[])?;
        if ev.result != EventResult::Interrupted {
            let ok = ids_of(&records, &ev.ok_hosts().cloned().collect::<Vec<_>>());
            plan.record(&mut stack.store, &ok, ev.id)?;
        }
        report.add(&ev);
    }
    Ok(report)
}
