//! Deployments: what `stack.deploy` holds on each instance, the release names (a UTC
//! timestamp, the last five kept per app and instance), and what a successful deploy,
//! rollback or undeploy records.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::StackError;
use super::event::{Engine, EventReport, EventSpec};
use super::file::{App, StackFile};
use super::state::{InstanceRecord, Release, StateStore};

/// Releases kept per app and instance.
pub const KEEP_RELEASES: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Deploy,
    Rollback,
    Undeploy,
}

/// One deployment across its target instances.
pub struct Deployment {
    pub kind: Kind,
    /// Host name → app → its `stack.deploy` entry.
    pub per_host: HashMap<String, Map<String, Value>>,
    /// Layers whose plays run: the apps' layers.
    pub layers: Vec<String>,
    /// Logged with the event.
    pub args: Value,
    /// Per instance id: `(app, revision, release)` to record on success.
    pending: Vec<(String, String, Option<String>, String)>,
}

fn entry(app: &App, revision: Option<&str>, release: &str, previous: Option<&str>) -> Value {
    json!({
        "name": app.name,
        "type": app.kind(),
        "layers": app.layers,
        "source": app.source,
        "deploy_to": app.deploy_to,
        "environment": app.environment,
        "revision": revision,
        "release": release,
        "previous_release": previous,
    })
}

/// The active release of `app` on instance `id`, and the one before it.
fn active_and_previous<'r>(
    rels: &'r [Release],
    app: &str,
    id: &str,
) -> (Option<&'r Release>, Option<&'r Release>) {
    let mine: Vec<&Release> = rels
        .iter()
        .filter(|r| r.app == app && r.instance == id)
        .collect();
    let active = mine.iter().position(|r| r.active);
    match active {
        Some(i) => (Some(mine[i]), mine.get(i + 1).copied()),
        None => (None, mine.first().copied()),
    }
}

impl Deployment {
    fn new(kind: Kind, layers: Vec<String>, args: Value) -> Self {
        Deployment {
            kind,
            per_host: HashMap::new(),
            layers,
            args,
            pending: Vec::new(),
        }
    }

    /// Adds `app`'s `stack.deploy` entry for instance `t`, and what to record if it succeeds.
    fn add(
        &mut self,
        t: &InstanceRecord,
        app: &str,
        e: Value,
        rev: Option<String>,
        release: String,
    ) {
        self.per_host
            .entry(t.name.clone())
            .or_default()
            .insert(app.to_string(), e);
        self.pending
            .push((t.id.clone(), app.to_string(), rev, release));
    }

    /// Every app on each target's layers, at its configured revision: the deploy that follows
    /// a new instance's setup.
    pub fn all_apps(
        stack: &StackFile,
        store: &dyn StateStore,
        targets: &[&InstanceRecord],
    ) -> Result<Deployment, StackError> {
        let apps: Vec<&App> = stack.apps.iter().collect();
        Self::deploy(store, &apps, targets, None)
    }

    /// `deploy APP [--revision REV]`.
    pub fn deploy(
        store: &dyn StateStore,
        apps: &[&App],
        targets: &[&InstanceRecord],
        revision: Option<&str>,
    ) -> Result<Deployment, StackError> {
        let rels = store.releases(None)?;
        let taken: Vec<&str> = rels.iter().map(|r| r.release.as_str()).collect();
        let release = super::clock::release_id(&taken);
        let mut layers: Vec<String> = Vec::new();
        for a in apps {
            for l in &a.layers {
                if !layers.contains(l) {
                    layers.push(l.clone());
                }
            }
        }
        let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
        let mut d = Deployment::new(
            Kind::Deploy,
            layers,
            json!({"apps": names, "revision": revision, "release": release}),
        );
        for t in targets {
            for a in apps
                .iter()
                .filter(|a| a.layers.iter().any(|l| t.layers.contains(l)))
            {
                let rev = revision
                    .map(str::to_string)
                    .or_else(|| a.source.get("revision").and_then(crate::values::to_str));
                let (active, _) = active_and_previous(&rels, &a.name, &t.id);
                let prev = active.map(|r| r.release.as_str());
                let e = entry(a, rev.as_deref(), &release, prev);
                d.add(t, &a.name, e, rev, release.clone());
            }
        }
        Ok(d)
    }

    /// `rollback APP`: each instance's previous release again, with `rollback: true`.
    pub fn rollback(
        store: &dyn StateStore,
        app: &App,
        targets: &[&InstanceRecord],
    ) -> Result<Deployment, StackError> {
        let rels = store.releases(Some(&app.name))?;
        let mut d = Deployment::new(
            Kind::Rollback,
            app.layers.clone(),
            json!({"apps": [app.name], "rollback": true}),
        );
        for t in targets {
            let (active, previous) = active_and_previous(&rels, &app.name, &t.id);
            let (Some(active), Some(prev)) = (active, previous) else {
                continue;
            };
            let mut e = entry(
                app,
                prev.revision.as_deref(),
                &prev.release,
                Some(&active.release),
            );
            e["rollback"] = json!(true);
            d.add(t, &app.name, e, prev.revision.clone(), prev.release.clone());
        }
        if d.per_host.is_empty() {
            return Err(StackError::Usage(format!(
                "app `{}` has no previous release to roll back to on the target instances",
                app.name
            )));
        }
        Ok(d)
    }

    /// `undeploy APP`: the active release is what goes away.
    pub fn undeploy(
        store: &dyn StateStore,
        app: &App,
        targets: &[&InstanceRecord],
    ) -> Result<Deployment, StackError> {
        let rels = store.releases(Some(&app.name))?;
        let mut d = Deployment::new(
            Kind::Undeploy,
            app.layers.clone(),
            json!({"apps": [app.name]}),
        );
        for t in targets {
            let (active, _) = active_and_previous(&rels, &app.name, &t.id);
            let rev = active.and_then(|r| r.revision.clone());
            let release = active.map(|r| r.release.clone()).unwrap_or_default();
            let e = entry(app, rev.as_deref(), &release, None);
            d.add(t, &app.name, e, rev, release);
        }
        Ok(d)
    }

    /// Records what succeeded on the instances `ok` (ids).
    pub fn record(
        &self,
        store: &mut dyn StateStore,
        ok: &[String],
        event: i64,
    ) -> Result<(), StackError> {
        let mine = self.pending.iter().filter(|p| ok.contains(&p.0));
        match self.kind {
            Kind::Deploy => {
                let now = super::clock::now_rfc3339();
                let rels: Vec<Release> = mine
                    .map(|(id, app, rev, release)| Release {
                        app: app.clone(),
                        instance: id.clone(),
                        revision: rev.clone(),
                        release: release.clone(),
                        deployed_at: now.clone(),
                        active: true,
                        event: Some(event),
                    })
                    .collect();
                store.add_releases(&rels, KEEP_RELEASES)?;
            }
            Kind::Rollback => {
                let mut by_release: HashMap<(&str, &str), Vec<String>> = HashMap::new();
                for (id, app, _, release) in mine {
                    by_release
                        .entry((app, release))
                        .or_default()
                        .push(id.clone());
                }
                for ((app, release), ids) in by_release {
                    store.activate_release(app, release, &ids)?;
                }
            }
            Kind::Undeploy => {
                let mut by_app: HashMap<&str, Vec<String>> = HashMap::new();
                for (id, app, _, _) in mine {
                    by_app.entry(app).or_default().push(id.clone());
                }
                for (app, ids) in by_app {
                    store.deactivate_releases(app, &ids)?;
                }
            }
        }
        Ok(())
    }
}

/// Runs `event` (deploy or undeploy) for the deployment on the targets that have something
/// to deploy.
pub async fn run(
    engine: &Engine<'_>,
    store: &mut dyn StateStore,
    records: &[InstanceRecord],
    targets: &[&InstanceRecord],
    d: &Deployment,
    event: &str,
) -> Result<Option<EventReport>, StackError> {
    let targets: Vec<&InstanceRecord> = targets
        .iter()
        .filter(|t| d.per_host.contains_key(&t.name))
        .copied()
        .collect();
    if targets.is_empty() {
        return Ok(None);
    }
    let spec = EventSpec {
        kind: event,
        targets,
        layers: Some(&d.layers),
        args: d.args.clone(),
        deploy: d.per_host.clone(),
    };
    engine.run(store, records, spec).await
}
