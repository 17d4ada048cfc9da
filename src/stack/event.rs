//! One lifecycle event as one engine run: the event's plays on all its targets at once (one
//! SSH connection per host for the whole event), logged in the state from start to end. The
//! plan is built and validated before the event is logged, so a bad role never leaves a
//! `running` event behind.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::StackError;
use super::file::StackFile;
use super::plays::{self, LayerPlay};
use super::state::{EventResult, InstanceRecord, StateStore};
use super::variable::{EventVars, host_vars};
use crate::events::Event;
use crate::inventory::{Inventory, load_vars_dir};
use crate::playbook::LoadOptions;
use crate::playbook::model::Playbook;
use crate::run::{Outcome, Output, Plan, RunRequest, execute, start_reporter};
use crate::template::Templar;

/// What every event of one command shares: the stack, the instance source as read once, and
/// the engine options from the command line.
pub struct Engine<'a> {
    pub stack: &'a StackFile,
    pub inventory: &'a Inventory,
    pub req: &'a RunRequest,
    pub output: Output,
    pub templar: Arc<Templar>,
    pub load: LoadOptions,
    /// `-e`, parsed once.
    pub extra_vars: Map<String, Value>,
    pub cli_attributes: Map<String, Value>,
    /// The command line, for the event log.
    pub command: String,
}

/// One event to run.
pub struct EventSpec<'a> {
    pub kind: &'a str,
    pub targets: Vec<&'a InstanceRecord>,
    /// Only these layers' plays (an app's layers for deploy); all layers when `None`.
    pub layers: Option<&'a [String]>,
    /// Logged with the event.
    pub args: Value,
    /// `stack.deploy` per host name.
    pub deploy: HashMap<String, Map<String, Value>>,
}

/// How an event went.
pub struct EventReport {
    pub id: i64,
    pub kind: String,
    pub hosts: Vec<String>,
    pub result: EventResult,
    /// Targets that failed a task or were unreachable.
    pub failed: Vec<String>,
    pub outcome: Outcome,
    /// Recap counts per host, as logged.
    pub recap: Value,
}

impl EventReport {
    pub fn ok_hosts(&self) -> impl Iterator<Item = &String> {
        self.hosts.iter().filter(|h| !self.failed.contains(h))
    }
}

impl Engine<'_> {
    /// Builds the plays of `spec` (an input error touches nothing and logs nothing), logs the
    /// event, runs it, and returns the report. The caller ends the event in the state with
    /// the status changes it implies (`StateStore::finish_event`). `None`: no role of the
    /// targets' layers has the event, so nothing ran and nothing was logged.
    pub async fn run(
        &self,
        store: &mut dyn StateStore,
        records: &[InstanceRecord],
        spec: EventSpec<'_>,
    ) -> Result<Option<EventReport>, StackError> {
        let mut by_layer: HashMap<String, Vec<String>> = HashMap::new();
        for r in &spec.targets {
            for l in &r.layers {
                if spec.layers.is_none_or(|ls| ls.contains(l)) {
                    by_layer.entry(l.clone()).or_default().push(r.name.clone());
                }
            }
        }
        let vars = host_vars(
            self.stack,
            records,
            &spec.targets,
            &EventVars {
                event: spec.kind,
                deploy: &spec.deploy,
                cli_attributes: &self.cli_attributes,
            },
        );
        let layer_plays = plays::build(
            self.stack,
            spec.kind,
            &by_layer,
            &vars,
            &self.load,
            &self.templar,
        )?;
        if layer_plays.is_empty() {
            return Ok(None);
        }
        let mut hosts: Vec<String> = Vec::new();
        for lp in &layer_plays {
            for h in &lp.hosts {
                if !hosts.contains(h) {
                    hosts.push(h.clone());
                }
            }
        }
        // Keep the targets' order (the instance source's), not the layers'.
        hosts.sort_by_key(|h| spec.targets.iter().position(|r| &r.name == h));
        let mut plan = self.plan(layer_plays)?;
        let targets = plan.targets(&self.req.connect)?;

        let id = store.begin_event(spec.kind, &spec.args, &self.command, &hosts)?;
        let (tx, reporter) = start_reporter(self.output, self.req);
        let _ = tx.send(Event::StackEvent {
            kind: spec.kind.to_string(),
            hosts: hosts.clone(),
        });
        let outcome = execute(plan, targets, self.req, &tx).await;
        drop(tx);
        let _ = reporter.await;

        let failed: Vec<String> = outcome
            .stats
            .iter()
            .filter(|s| s.failed > 0 || s.unreachable > 0)
            .map(|s| s.host.clone())
            .collect();
        let result = if outcome.interrupted {
            EventResult::Interrupted
        } else if failed.is_empty() {
            EventResult::Ok
        } else {
            EventResult::Failed
        };
        let recap: Map<String, Value> = outcome
            .stats
            .iter()
            .map(|s| {
                let mut v = json!(s);
                if let Value::Object(o) = &mut v {
                    o.remove("host");
                }
                (s.host.clone(), v)
            })
            .collect();
        Ok(Some(EventReport {
            id,
            kind: spec.kind.to_string(),
            hosts,
            result,
            failed,
            outcome,
            recap: Value::Object(recap),
        }))
    }

    fn plan(&self, layer_plays: Vec<LayerPlay>) -> Result<Plan, StackError> {
        let vars_dir = load_vars_dir(&self.stack.dir, self.inventory)
            .map_err(|d| crate::diagnostic::InputErrors(vec![d]))?;
        let (plays, hosts): (Vec<_>, Vec<_>) = layer_plays
            .into_iter()
            .map(|lp| (lp.play, lp.hosts))
            .unzip();
        Ok(Plan {
            playbooks: vec![Playbook {
                path: self.stack.path.clone(),
                plays,
            }],
            inventory: self.inventory.clone(),
            play_hosts: vec![hosts],
            playbook_vars: vec![vars_dir],
            extra_vars: self.extra_vars.clone(),
            warnings: Vec::new(),
            roles_path: self.load.roles_path.clone(),
            templar: self.templar.clone(),
            independent_plays: true,
        })
    }
}
