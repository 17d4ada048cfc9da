//! An event as plays for the engine: one play per layer, in declared order, on the event's
//! target instances in that layer, running each role's `tasks/EVENT.yml` (or the layer's
//! `events:` override), with per-host `stack` and attribute variables.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::file::{LIFECYCLE_EVENTS, StackFile};
use super::jobs::spec::Targets;
use crate::diagnostic::{Diagnostic, InputErrors};
use crate::playbook::model::Play;
use crate::playbook::{EventPlaySpec, LoadOptions, event_play};
use crate::template::Templar;

/// One layer's play for an event, with its hosts.
pub struct LayerPlay {
    pub layer: String,
    pub play: Play,
    pub hosts: Vec<String>,
}

/// Loader options for the stack's roles: `roles/` beside the stack file first, then
/// `roles_path` (`ansible.cfg`, `ANSIBLE_ROLES_PATH`), as for a playbook in that directory.
pub fn load_options(stack: &StackFile, roles_path: &[PathBuf]) -> LoadOptions {
    LoadOptions {
        extra_vars: Map::new(),
        roles_path: roles_path.to_vec(),
        playbook_dir: Some(stack.dir.clone()),
        gathering: Default::default(),
        strict: false,
    }
}

/// The plays of `event` for `hosts` (layer shortname → instance names in it). Layers with no
/// target, or whose roles have nothing for the event, get no play.
pub fn build(
    stack: &StackFile,
    event: &str,
    hosts: &HashMap<String, Vec<String>>,
    host_vars: &HashMap<String, Arc<Map<String, Value>>>,
    opts: &LoadOptions,
    templar: &Templar,
) -> Result<Vec<LayerPlay>, InputErrors> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for layer in &stack.layers {
        let Some(names) = hosts.get(&layer.shortname).filter(|h| !h.is_empty()) else {
            continue;
        };
        let (roles, strict) = layer.roles_for(event);
        let spec = EventPlaySpec {
            name: format!("{event}: {}", layer.name),
            span: layer.span.clone(),
            base_dir: &stack.dir,
            roles,
            event,
            strict,
            hosts: names.clone(),
            host_vars: names
                .iter()
                .filter_map(|n| host_vars.get(n).map(|v| (n.clone(), v.clone())))
                .collect(),
        };
        match event_play(spec, opts, templar) {
            Ok((_, 0)) => {}
            Ok((play, _)) => out.push(LayerPlay {
                layer: layer.shortname.clone(),
                play,
                hosts: names.clone(),
            }),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(InputErrors(errors))
    }
}

/// A job on layers must run an event some role of those layers has: `run: bakcup` would
/// otherwise run nothing, every night, and say ok. A job on `hosts` is checked when it runs,
/// since which layers those hosts are in is known only from the instance source.
fn validate_jobs(
    stack: &StackFile,
    opts: &LoadOptions,
    templar: &Templar,
    errors: &mut Vec<Diagnostic>,
) {
    for job in &stack.jobs {
        let Targets::Layers(layers) = &job.targets else {
            continue;
        };
        let hosts: HashMap<String, Vec<String>> = layers
            .iter()
            .map(|l| (l.clone(), vec!["-".to_string()]))
            .collect();
        match build(stack, &job.event, &hosts, &HashMap::new(), opts, templar) {
            Ok(plays) if plays.is_empty() => {
                let names: Vec<String> = layers.iter().map(|l| format!("`{l}`")).collect();
                errors.push(
                    Diagnostic::new(
                        job.event_span.clone(),
                        format!(
                            "job `{}` runs event `{}`, but no role of layer {} has tasks/{}.yml",
                            job.name,
                            job.event,
                            names.join(", "),
                            job.event
                        ),
                    )
                    .label("no role runs this event")
                    .help("name a tasks file of one of the layer's roles, as `strata stack run EVENT` takes it"),
                );
            }
            Ok(_) => {}
            Err(mut e) => errors.append(&mut e.0),
        }
    }
}

/// Checks every layer's roles for every lifecycle event and every `events:` override, so
/// that a missing role, tasks file or a bad task anywhere is reported before any host is
/// touched, whichever command runs; and every job's event.
pub fn validate(
    stack: &StackFile,
    opts: &LoadOptions,
    templar: &Templar,
) -> Result<(), InputErrors> {
    let mut errors: Vec<Diagnostic> = Vec::new();
    for layer in &stack.layers {
        let mut events: Vec<&str> = LIFECYCLE_EVENTS.to_vec();
        events.extend(layer.events.iter().map(|(e, _)| e.as_str()));
        let hosts = HashMap::from([(layer.shortname.clone(), vec!["-".to_string()])]);
        for event in events {
            if let Err(mut e) = build(stack, event, &hosts, &HashMap::new(), opts, templar) {
                errors.append(&mut e.0);
            }
        }
    }
    validate_jobs(stack, opts, templar, &mut errors);
    // The same role is loaded for several events: report each problem once (a refused role
    // parameter differs per event only in the entry point its help names).
    let mut seen = Vec::new();
    errors.retain(|d| {
        let key = (d.span.clone(), d.message.clone(), d.label.clone());
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    if errors.is_empty() {
        Ok(())
    } else {
        Err(InputErrors(errors))
    }
}
