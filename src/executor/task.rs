//! Running one task on one host: conditionals, loops, templated arguments, the module call,
//! retries, `changed_when`/`failed_when`, registering, notifying, and reporting.

use std::sync::Arc;
use std::time::Duration;

use minijinja::Value as JValue;
use serde_json::{Map, Value, json};

use super::context::{Flow, HostCtx, PlayCtx, Shared};
use super::coordinator::{Go, Pos};
use super::host::Inherited;
use super::report::{finish, report_item};
pub use super::scope::scope;
use super::settings::Effective;
use super::vars::Layer;
use crate::events::Event;
use crate::modules::{self, Args, ModuleCtx, ModuleError, SearchPaths};
use crate::playbook::model::{LoopKind, Task};

/// Ansible's placeholder for `{{ omit }}`: arguments equal to it are dropped.
pub const OMIT: &str = "__omit_place_holder__strata";

fn layer(pairs: &[(&str, Value)]) -> Layer {
    Arc::new(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// What one module invocation (one loop item, or the whole task without a loop) produced.
pub(super) struct Step {
    pub(super) value: Value,
    pub(super) changed: bool,
    pub(super) failed: bool,
    pub(super) skipped: bool,
    pub(super) unreachable: bool,
    pub(super) diff: Vec<crate::modules::FileDiff>,
}

impl Step {
    pub(super) fn failed(msg: impl Into<String>) -> Step {
        let msg = msg.into();
        Step {
            value: json!({"failed": true, "changed": false, "msg": msg}),
            changed: false,
            failed: true,
            skipped: false,
            unreachable: false,
            diff: vec![],
        }
    }
    fn skipped(cond: &str) -> Step {
        Step {
            value: json!({"changed": false, "skipped": true, "skip_reason": "Conditional result was False", "false_condition": cond}),
            changed: false,
            failed: false,
            skipped: true,
            unreachable: false,
            diff: vec![],
        }
    }
    pub(super) fn msg(&self) -> String {
        self.value
            .get("msg")
            .and_then(|m| {
                m.as_str()
                    .map(str::to_string)
                    .or_else(|| Some(m.to_string()))
            })
            .unwrap_or_default()
    }
}

/// Fails the current task on this host with `msg` (used for errors found before the module ran).
pub fn fail_task(h: &mut HostCtx, pc: &PlayCtx, t: &Task, msg: &str) -> Flow {
    let step = Step::failed(msg);
    finish(h, pc, t, step, false, false, None)
}

/// Runs a task on this host and reports it. `handler` marks handler runs for the header.
pub async fn run(
    h: &mut HostCtx,
    pc: &PlayCtx,
    t: &Task,
    pos: Pos,
    inh: &Inherited,
    handler: bool,
) -> Flow {
    if !handler
        && !crate::playbook::tags::selected(&t.common.tags, &pc.opts.tags, &pc.opts.skip_tags)
    {
        return Flow::Continue;
    }
    let role = t
        .role
        .as_ref()
        .or(inh.role.as_ref())
        .map(|r| r.name.clone());
    if pc
        .coord
        .arrive(
            h.idx,
            pos.clone(),
            &t.display_name(),
            handler,
            role.as_deref(),
        )
        .await
        == Go::Stop
    {
        return Flow::End;
    }
    let base = scope(h, pc, t, inh, &[]);
    let eff = match Effective::new(pc, t, inh, &base) {
        Ok(e) => e,
        Err(msg) => return fail_task(h, pc, t, &msg),
    };
    if eff.run_once {
        let once = pc
            .run_once
            .lock()
            .unwrap()
            .entry(pos.clone())
            .or_default()
            .clone();
        if pc.coord.leader(&pos).is_some_and(|l| l != h.idx) {
            // Another host runs it; every host gets its result, as in Ansible, but only the
            // host that ran it reports and counts it.
            let shared = once.wait().await;
            if let Some(r) = &t.register {
                h.store.set_var(r, shared.result.clone());
            }
            if shared.changed && !shared.failed {
                let _ = h.notify(pc, &t.notify);
            }
            return Flow::Continue;
        }
        let step = {
            let _permit = pc.forks.clone().acquire_owned().await;
            execute(h, pc, t, inh, &eff, &base).await
        };
        once.publish(Shared {
            result: step.value.clone(),
            changed: step.changed,
            failed: step.failed,
        });
        return finish(
            h,
            pc,
            t,
            step,
            eff.ignore_errors,
            eff.no_log,
            eff.delegate_to.clone(),
        );
    }
    let _permit = pc.forks.clone().acquire_owned().await;
    let step = execute(h, pc, t, inh, &eff, &base).await;
    finish(
        h,
        pc,
        t,
        step,
        eff.ignore_errors,
        eff.no_log,
        eff.delegate_to.clone(),
    )
}

async fn execute(
    h: &mut HostCtx,
    pc: &PlayCtx,
    t: &Task,
    inh: &Inherited,
    eff: &Effective,
    base: &JValue,
) -> Step {
    let Some(lp) = &t.loop_ else {
        if let Some(cond) = first_false(pc, t, inh, base) {
            return match cond {
                Ok(c) => Step::skipped(&c),
                Err(e) => Step::failed(e),
            };
        }
        return invoke(h, pc, t, eff, base).await;
    };
    let items = match loop_items(pc, lp, base) {
        Ok(i) => i,
        Err(e) => return Step::failed(e),
    };
    let mut results = Vec::with_capacity(items.len());
    let (mut changed, mut failed, mut unreachable, mut all_skipped) = (false, false, false, true);
    let mut diffs = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut pairs = vec![
            (lp.loop_var.as_str(), item.clone()),
            ("ansible_loop_var", json!(lp.loop_var)),
        ];
        if let Some(iv) = &lp.index_var {
            pairs.push((iv.as_str(), json!(i)));
            pairs.push(("ansible_index_var", json!(iv)));
        }
        pairs.push(("ansible_loop", json!({"index": i + 1, "index0": i, "first": i == 0, "last": i + 1 == items.len(), "length": items.len()})));
        let extra = [layer(&pairs)];
        let sc = scope(h, pc, t, inh, &extra);
        let mut step = match first_false(pc, t, inh, &sc) {
            Some(Ok(c)) => Step::skipped(&c),
            Some(Err(e)) => Step::failed(e),
            None => invoke(h, pc, t, eff, &sc).await,
        };
        if let Value::Object(m) = &mut step.value {
            m.insert(lp.loop_var.clone(), item.clone());
            m.insert("item".into(), item.clone());
            m.insert("ansible_loop_var".into(), json!(lp.loop_var));
            if let Some(iv) = &lp.index_var {
                m.insert(iv.clone(), json!(i));
            }
        }
        let label = match &lp.label {
            Some(l) => pc
                .templar
                .render_str(l, &sc, &lp.span)
                .ok()
                .and_then(|v| crate::modules::args::to_str(&v)),
            None => None,
        }
        .unwrap_or_else(|| item_label(item));
        report_item(h, pc, t, &step, &label, eff.no_log);
        changed |= step.changed;
        failed |= step.failed;
        unreachable |= step.unreachable;
        all_skipped &= step.skipped;
        diffs.append(&mut step.diff);
        results.push(step.value);
        if unreachable {
            break;
        }
        if let Some(p) = lp.pause {
            tokio::time::sleep(Duration::from_secs_f64(p)).await;
        }
    }
    let mut v = json!({"changed": changed, "results": results, "msg": if failed { "One or more items failed" } else { "All items completed" }});
    if failed {
        v["failed"] = json!(true);
    }
    if all_skipped {
        v["skipped"] = json!(true);
        if items.is_empty() {
            v["skipped_reason"] = json!("No items in the list");
        }
    }
    Step {
        value: v,
        changed,
        failed,
        skipped: all_skipped,
        unreachable,
        diff: diffs,
    }
}

/// Evaluates block and task `when`; returns the first false condition (or an error).
fn first_false(
    pc: &PlayCtx,
    t: &Task,
    inh: &Inherited,
    sc: &JValue,
) -> Option<Result<String, String>> {
    for c in inh.when.iter().chain(&t.common.when) {
        match pc.templar.eval_bool(&c.expr, sc, &c.span) {
            Ok(true) => {}
            Ok(false) => return Some(Ok(c.expr.clone())),
            Err(e) => {
                return Some(Err(format!(
                    "The conditional check '{}' failed. The error was: {}",
                    c.expr, e.message
                )));
            }
        }
    }
    None
}

fn loop_items(
    pc: &PlayCtx,
    lp: &crate::playbook::model::LoopSpec,
    sc: &JValue,
) -> Result<Vec<Value>, String> {
    let v = pc
        .templar
        .render_value(&lp.value, sc, &lp.span)
        .map_err(|e| e.message)?;
    let list = match (v, &lp.kind) {
        (Value::Array(a), LoopKind::Items) => a
            .into_iter()
            .flat_map(|x| {
                if let Value::Array(inner) = x {
                    inner
                } else {
                    vec![x]
                }
            })
            .collect(),
        (Value::Array(a), _) => a,
        (Value::Object(m), LoopKind::Dict) => m
            .into_iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
        (Value::Null, _) => vec![],
        (Value::String(s), LoopKind::Items) => vec![Value::String(s)],
        (other, _) => {
            return Err(format!(
                "Invalid data passed to 'loop', it requires a list, got this instead: {other}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup."
            ));
        }
    };
    Ok(list)
}

fn item_label(item: &Value) -> String {
    match item {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Templating, the module call with retries, and result conditions for one invocation.
async fn invoke(h: &mut HostCtx, pc: &PlayCtx, t: &Task, eff: &Effective, sc: &JValue) -> Step {
    let Some(module) = modules::lookup(&t.action) else {
        return Step::failed(format!("unknown module `{}`", t.action));
    };
    let args = match pc
        .templar
        .render_value(&Value::Object(t.args.clone()), sc, &t.span)
    {
        Ok(Value::Object(mut m)) => {
            m.retain(|_, v| v.as_str() != Some(OMIT));
            m
        }
        Ok(_) => Map::new(),
        Err(e) => {
            return Step::failed(format!(
                "The task includes an option with an undefined variable or a template error: {}",
                e.message
            ));
        }
    };
    let args = Args::new(args);
    let role = t.role.as_ref();
    let mut roots = Vec::new();
    if let Some(r) = role {
        roots.push(r.path.clone());
    }
    roots.push(t.base_dir.clone());
    roots.push(pc.opts.playbook_dir.clone());
    let search = SearchPaths { roots };
    let conn: &dyn crate::transport::Transport = if eff.delegate_local {
        pc.local.as_ref()
    } else {
        h.conn.as_ref()
    };
    let retries = t.retries.unwrap_or(if t.until.is_some() { 3 } else { 0 });
    let delay = t.delay.unwrap_or(5.0);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let ctx = ModuleCtx {
            host: &h.name,
            conn,
            become_: eff.become_.clone(),
            env: eff.environment.clone(),
            check_mode: eff.check_mode,
            diff: eff.diff,
            search: &search,
            templar: &pc.templar,
            vars: sc,
            verbosity: pc.opts.verbosity,
        };
        let res = module.run(&ctx, &args).await;
        let mut step = match res {
            Err(ModuleError::Transport(e)) if e.is_unreachable() => {
                let msg = e.to_string();
                return Step {
                    value: json!({"unreachable": true, "changed": false, "msg": msg}),
                    changed: false,
                    failed: false,
                    skipped: false,
                    unreachable: true,
                    diff: vec![],
                };
            }
            Err(e) => Step::failed(e.to_string()),
            Ok(r) => {
                if !r.facts.is_empty() {
                    if t.action == "set_fact" {
                        for (k, v) in &r.facts {
                            h.store.set_var(k, v.clone());
                        }
                    } else {
                        h.store.merge_facts(&r.facts);
                    }
                }
                Step {
                    value: r.to_value(),
                    changed: r.changed,
                    failed: r.failed,
                    skipped: r.skipped,
                    unreachable: false,
                    diff: if eff.diff { r.diff } else { vec![] },
                }
            }
        };
        if let Err(e) = apply_conditions(pc, t, sc, &mut step) {
            return Step::failed(e);
        }
        let Some(until) = &t.until else { return step };
        let ok = match eval_with_result(pc, t, sc, &step.value, until) {
            Ok(b) => b,
            Err(e) => return Step::failed(e),
        };
        if let Value::Object(m) = &mut step.value {
            m.insert("attempts".into(), json!(attempt));
        }
        if ok {
            return step;
        }
        if attempt > retries {
            step.failed = true;
            if let Value::Object(m) = &mut step.value {
                m.insert("failed".into(), json!(true));
            }
            return step;
        }
        let _ = pc.events.send(Event::Retry {
            host: h.name.clone(),
            task: t.display_name(),
            attempt,
            retries,
        });
        tokio::time::sleep(Duration::from_secs_f64(delay)).await;
    }
}

/// Evaluates conditions with the result bound to the `register` name (and `result`), as
/// Ansible does for `changed_when`, `failed_when` and `until`.
fn eval_with_result(
    pc: &PlayCtx,
    t: &Task,
    sc: &JValue,
    result: &Value,
    conds: &[crate::playbook::model::Cond],
) -> Result<bool, String> {
    let mut over = Map::new();
    if let Some(r) = &t.register {
        over.insert(r.clone(), result.clone());
    }
    let ctx = minijinja::context! { ..JValue::from(minijinja::value::Serde(&over)), ..sc.clone() };
    for c in conds {
        if !pc.templar.eval_bool(&c.expr, &ctx, &c.span).map_err(|e| {
            format!(
                "The conditional check '{}' failed. The error was: {}",
                c.expr, e.message
            )
        })? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn apply_conditions(pc: &PlayCtx, t: &Task, sc: &JValue, step: &mut Step) -> Result<(), String> {
    if step.skipped {
        return Ok(());
    }
    if let Some(cw) = &t.changed_when {
        step.changed = eval_with_result(pc, t, sc, &step.value, cw)?;
        step.value["changed"] = json!(step.changed);
    }
    if let Some(fw) = &t.failed_when {
        step.failed = eval_with_result(pc, t, sc, &step.value, fw)?;
        step.value["failed"] = json!(step.failed);
        if step.failed {
            step.value["failed_when_result"] = json!(true);
        } else {
            step.value["failed_when_result"] = json!(false);
        }
    }
    Ok(())
}
