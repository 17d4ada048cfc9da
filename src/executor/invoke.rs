//! One invocation of a task's module on a host: templated arguments (with `omit`), the
//! module call over the host's connection (or the delegated host's, see
//! [`delegate`](super::delegate)) within the task's `timeout`, `until`/`retries`, and
//! `changed_when`/`failed_when` on the result. This is the executor's one door to the modules.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use minijinja::Value as JValue;
use serde_json::{Map, Value, json};

use super::context::{HostCtx, Inherited, LazyConn, PlayCtx, connection_override};
use super::delegate::{self, Delegated, Via};
use super::scope::OMIT;
use super::settings::{Effective, become_of};
use super::step::Step;
use super::vars::HostStore;
use crate::events::Event;
use crate::modules::{self, Args, ModuleCtx, ModuleError, SearchPaths};
use crate::playbook::model::Task;
use crate::transport::Transport;

/// Templating, the module call with retries, and result conditions for one invocation.
pub async fn invoke(
    h: &mut HostCtx,
    pc: &PlayCtx,
    t: &Task,
    inh: &Inherited,
    eff: &Effective,
    sc: &JValue,
) -> Step {
    let Some(module) = modules::lookup(&t.action) else {
        // A known Ansible module strata refuses: the task fails where it would run.
        return Step::failed(match crate::playbook::refused::refusal(t) {
            Some(r) => crate::playbook::refused::runtime_message(t, &r),
            None => format!("unknown module `{}`", t.action),
        });
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
    // A templated value of a parameter strata supports only at its default is checked now.
    for p in module.spec().params {
        if let (Some(f), Some(v)) = (p.only, args.get(p.name))
            && !f.accepts(v)
        {
            let given = crate::values::to_str(v).unwrap_or_else(|| v.to_string());
            return Step::failed(f.refusal(module.spec().name, p.name, &given));
        }
    }
    let args = Args::new(args);
    let role = t.role.as_ref();
    let mut roots = Vec::new();
    if let Some(r) = role {
        roots.push(r.path.clone());
    }
    roots.push(t.base_dir.clone());
    roots.push(pc.opts.playbook_dir.clone());
    let search = SearchPaths { roots };
    // The rendered name, kept even when it is the host itself (no other connection then).
    let mut delegate_name = None;
    let delegated = match &eff.delegate {
        None => None,
        Some(d) => match delegate::render_name(pc, d, sc) {
            Ok(name) => {
                delegate_name.clone_from(&name);
                name.and_then(|n| delegate::resolve(pc, &h.name, t, inh, n))
            }
            Err(e) => return Step::failed(e),
        },
    };
    let other = match &delegated {
        Some(_) => None,
        None => connection_override(&h.store.inventory(), sc)
            .map(|vars| pc.other_conns.get(&h.name, vars)),
    };
    let (conn, lazy): (&dyn Transport, Option<&LazyConn>) = match (&delegated, &other) {
        (Some(d), _) => match &d.conn {
            Via::Local(l) => (l.as_ref(), None),
            Via::Pooled(c) => (c.as_ref(), Some(c.as_ref())),
        },
        (None, Some(c)) => (c.as_ref(), Some(c.as_ref())),
        (None, None) => (h.conn.as_ref(), Some(h.conn.as_ref())),
    };
    let host_conn: &dyn Transport = match &other {
        Some(c) => c.as_ref(),
        None => h.conn.as_ref(),
    };
    let fact_hosts = fact_hosts(h, pc, eff, delegated.as_ref());
    // A delegated task becomes another user with the delegated host's `ansible_become*`.
    let become_ = match delegated.as_ref().and_then(|d| d.vars.as_ref()) {
        Some(dv) => match become_of(pc, t, inh, sc, dv) {
            Ok(b) => b,
            Err(e) => return Step::failed(e),
        },
        None => eff.become_.clone(),
    };
    let async_run = match super::async_task::settings(pc, t, sc) {
        Ok(a) => a,
        Err(e) => return Step::failed(e),
    };
    let retries = t.retries.unwrap_or(if t.until.is_some() { 3 } else { 0 });
    let delay = t.delay.unwrap_or(5.0);
    let mut attempt = 0;
    // `set_stats` data counts with the final attempt only, and only from a result that did not
    // fail and was not skipped, as Ansible's strategy reads `ansible_stats` (from each item of a
    // loop; strata, running items one by one, cannot drop a passing item's data when a later
    // item fails, as Ansible does for the whole loop).
    let record = |stats: Option<Value>, step: &Step| {
        if let Some(stats) = stats
            && !(step.failed || step.skipped || step.unreachable)
        {
            pc.opts
                .custom_stats
                .record(&stats, &stats_hosts(h, pc, eff));
        }
    };
    loop {
        attempt += 1;
        let mut stats = None;
        let ctx = ModuleCtx {
            host: &h.name,
            conn,
            become_: become_.clone(),
            env: eff.environment.clone(),
            check_mode: eff.check_mode,
            diff: eff.diff,
            search: &search,
            templar: &pc.templar,
            vars: sc,
            verbosity: pc.opts.verbosity,
            delegated_to: delegate_name.as_deref(),
            host_conn,
        };
        let call = async {
            match &async_run {
                None => module.run(&ctx, &args).await,
                Some(a) => super::async_task::run(module, &ctx, &args, a).await,
            }
        };
        let res = match eff.timeout {
            None => call.await,
            Some(secs) => match tokio::time::timeout(Duration::from_secs(secs), call).await {
                Ok(r) => r,
                Err(_) => return timed_out(secs),
            },
        };
        let mut step = match res {
            Err(ModuleError::Transport(e)) if e.is_unreachable() => {
                // The next task dials again rather than reusing a dead session.
                if let Some(c) = lazy {
                    c.reset();
                }
                return Step::unreachable(e.to_string());
            }
            Err(e) => Step::failed(e.to_string()),
            Ok(mut r) => {
                super::runtime_inventory::apply(h, pc, t, &mut r);
                stats = r.data.get("ansible_stats").cloned();
                if !r.facts.is_empty() {
                    for store in &fact_hosts {
                        if t.action == "set_fact" {
                            for (k, v) in &r.facts {
                                store.set_var(k, v.clone());
                            }
                            if r.facts_cacheable {
                                store.merge_facts(&r.facts);
                            }
                        } else if t.action == "include_vars" {
                            for (k, v) in &r.facts {
                                store.set_included(k, v.clone());
                            }
                        } else {
                            store.merge_facts(&r.facts);
                        }
                        if t.action == "gather_facts" {
                            store.facts_gathered.store(true, Ordering::SeqCst);
                        }
                    }
                }
                let (v, flags) = (r.to_value(), (r.changed, r.failed, r.skipped, false));
                Step::new(v, flags, if eff.diff { r.diff } else { vec![] })
            }
        };
        step.delegated_to = delegated.as_ref().map(|d| d.name.clone());
        if let Err(e) = apply_conditions(pc, t, sc, &mut step) {
            return Step::failed(e);
        }
        let Some(until) = &t.until else {
            record(stats, &step);
            return step;
        };
        let ok = match eval_with_result(pc, t, sc, &step.value(), until) {
            Ok(b) => b,
            Err(e) => return Step::failed(e),
        };
        step.insert("attempts", json!(attempt));
        if ok {
            record(stats, &step);
            return step;
        }
        if attempt > retries {
            step.failed = true;
            record(stats, &step);
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

/// The hosts a module's facts go to, as Ansible's strategy assigns them: the delegated host
/// under `delegate_facts`, every host of the batch under `run_once`, else the host itself.
fn fact_hosts(
    h: &HostCtx,
    pc: &PlayCtx,
    eff: &Effective,
    delegated: Option<&Delegated>,
) -> Vec<Arc<HostStore>> {
    if eff.delegate_facts
        && let Some(d) = delegated
    {
        return d.store.iter().cloned().collect();
    }
    if eff.run_once {
        return pc
            .play_hosts
            .iter()
            .filter_map(|n| pc.world.host(n))
            .collect();
    }
    vec![h.store.clone()]
}

/// The hosts a `set_stats` result counts for under `per_host`, as Ansible's strategy picks
/// them: every host of the batch under `run_once`, else the host itself.
fn stats_hosts(h: &HostCtx, pc: &PlayCtx, eff: &Effective) -> Vec<String> {
    if eff.run_once {
        pc.play_hosts.clone()
    } else {
        vec![h.name.clone()]
    }
}

/// A module attempt that outlived the task's `timeout`, as Ansible reports it.
fn timed_out(secs: u64) -> Step {
    let v = json!({
        "failed": true,
        "changed": false,
        "msg": format!("Task failed: Timed out after {secs} second(s)."),
        "timedout": {"period": secs},
    });
    Step::new(v, (false, true, false, false), vec![])
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
        step.changed = eval_with_result(pc, t, sc, &step.value(), cw)?;
    }
    if let Some(fw) = &t.failed_when {
        step.failed = eval_with_result(pc, t, sc, &step.value(), fw)?;
        step.insert("failed_when_result", json!(step.failed));
    }
    Ok(())
}
