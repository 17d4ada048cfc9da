//! Running one task on one host: tags, the coordinator's release, keyword inheritance,
//! `run_once`, `when` and loops; each invocation goes to [`invoke`](super::invoke), and the
//! result to [`finish`].

use std::sync::Arc;
use std::time::Duration;

use minijinja::Value as JValue;
use serde_json::{Value, json};

use super::context::{Flow, HostCtx, Inherited, PlayCtx, Shared, TaskKind};
use super::coordinator::{Go, Pos};
use super::invoke::invoke;
use super::outcome::{fail_task, finish, report_item};
use super::scope::scope;
use super::settings::Effective;
use super::step::Step;
use super::vars::Layer;
use crate::playbook::model::{LoopKind, Task};
use crate::values::to_str;

fn layer(pairs: &[(&str, Value)]) -> Layer {
    Arc::new(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// Runs a task (or handler) on this host and reports it.
pub async fn run(
    h: &mut HostCtx,
    pc: &PlayCtx,
    t: &Task,
    pos: Pos,
    inh: &Inherited,
    kind: TaskKind,
) -> Flow {
    let handler = kind == TaskKind::Handler;
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
    let base = scope(h, pc, t, inh, &[]);
    if pc
        .coord
        .arrive(
            h.idx,
            pos.clone(),
            &shown_name(pc, t, &base),
            handler,
            role.as_deref(),
        )
        .await
        == Go::Stop
    {
        return Flow::End;
    }
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
            result: step.value(),
            changed: step.changed,
            failed: step.failed,
        });
        return finish(h, pc, t, step, &eff.disposition());
    }
    let _permit = pc.forks.clone().acquire_owned().await;
    // `throttle` limits the hosts running this task at once below `forks` (Ansible ignores
    // it under `run_once`, which runs on one host anyway).
    let _throttle = match eff.throttle {
        0 => None,
        n => {
            let sem = pc
                .throttles
                .lock()
                .unwrap()
                .entry(pos.clone())
                .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(n)))
                .clone();
            sem.acquire_owned().await.ok()
        }
    };
    let step = execute(h, pc, t, inh, &eff, &base).await;
    finish(h, pc, t, step, &eff.disposition())
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
        return invoke(h, pc, t, inh, eff, base).await;
    };
    let items = match loop_items(pc, t, lp, base) {
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
            None => invoke(h, pc, t, inh, eff, &sc).await,
        };
        step.insert(&lp.loop_var, item.clone());
        step.insert("item", item.clone());
        step.insert("ansible_loop_var", json!(lp.loop_var));
        if let Some(iv) = &lp.index_var {
            step.insert(iv, json!(i));
        }
        let label = match &lp.label {
            Some(l) => pc
                .templar
                .render_str(l, &sc, &lp.span)
                .ok()
                .and_then(|v| to_str(&v)),
            None => None,
        }
        .unwrap_or_else(|| item_label(item));
        report_item(h, pc, t, &step, &label, &eff.disposition());
        changed |= step.changed;
        failed |= step.failed;
        unreachable |= step.unreachable;
        all_skipped &= step.skipped;
        diffs.append(&mut step.diff);
        results.push(step.value());
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
    Step::new(v, (changed, failed, all_skipped, unreachable), diffs)
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

/// A task's (or an include's) loop items.
pub fn loop_items(
    pc: &PlayCtx,
    t: &Task,
    lp: &crate::playbook::model::LoopSpec,
    sc: &JValue,
) -> Result<Vec<Value>, String> {
    let v = pc
        .templar
        .render_value(&lp.value, sc, &lp.span)
        .map_err(|e| e.message)?;
    if let LoopKind::Lookup(name) = &lp.kind {
        return lookup_items(pc, t, lp, name, v, sc);
    }
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

/// `with_<lookup>:`: Ansible's `listify_lookup_plugin_terms`, then the lookup on the terms,
/// exactly `query('<lookup>', *terms)`.
fn lookup_items(
    pc: &PlayCtx,
    t: &Task,
    lp: &crate::playbook::model::LoopSpec,
    name: &str,
    terms: Value,
    sc: &JValue,
) -> Result<Vec<Value>, String> {
    use crate::template::lookup::{LOOP_ACTION, LOOP_TERMS, query_expr};
    let terms = match terms {
        Value::Array(a) => a,
        other => vec![other],
    };
    let mut over = serde_json::Map::new();
    over.insert(LOOP_TERMS.into(), Value::Array(terms));
    over.insert(LOOP_ACTION.into(), json!(t.action));
    let ctx = minijinja::context! { ..JValue::from(minijinja::value::Serde(&over)), ..sc.clone() };
    match pc.templar.eval(&query_expr(name), &ctx, &lp.span) {
        Ok(Value::Array(a)) => Ok(a),
        Ok(other) => Ok(vec![other]),
        Err(e) => Err(e.message),
    }
}

fn item_label(item: &Value) -> String {
    match item {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The task's name as its header shows it: templated with the variables of the host that
/// reaches it first, as Ansible's linear strategy does, and left as written when something in
/// it is undefined there (a loop variable, a later `register`).
fn shown_name(pc: &PlayCtx, t: &Task, scope: &JValue) -> String {
    match &t.name {
        Some(n) if crate::template::is_template(n) => {
            match pc.templar.render_str(n, scope, &t.span) {
                Ok(Value::String(s)) => t.display_as(&s),
                Ok(other) => t.display_as(&other.to_string()),
                Err(_) => t.display_name(),
            }
        }
        _ => t.display_name(),
    }
}
