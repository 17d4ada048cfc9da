//! Turning a task's outcome into registered variables, notifications, statistics and events.

use serde_json::{Value, json};

use super::context::{Flow, HostCtx, PlayCtx};
use super::task::Step;
use crate::events::{Event, Status};
use crate::playbook::model::Task;

fn censor(v: &Value) -> Value {
    json!({"censored": "the output has been hidden due to the fact that 'no_log: true' was specified for this result", "changed": v.get("changed").cloned().unwrap_or(json!(false))})
}

pub(super) fn report_item(
    h: &HostCtx,
    pc: &PlayCtx,
    t: &Task,
    step: &Step,
    label: &str,
    no_log: bool,
) {
    let status = status_of(step, false);
    let _ = pc.events.send(Event::HostResult {
        host: h.name.clone(),
        task: t.display_name(),
        action: t.action.clone(),
        status,
        msg: if no_log {
            String::new()
        } else if step.failed {
            step.msg()
        } else {
            String::new()
        },
        item: Some(if no_log {
            "None".into()
        } else {
            label.to_string()
        }),
        result: if no_log {
            censor(&step.value)
        } else {
            step.value.clone()
        },
        diff: if no_log { vec![] } else { step.diff.clone() },
        delegated_to: None,
    });
}

fn status_of(step: &Step, ignore: bool) -> Status {
    if step.unreachable {
        Status::Unreachable
    } else if step.failed {
        if ignore {
            Status::Ignored
        } else {
            Status::Failed
        }
    } else if step.skipped {
        Status::Skipped
    } else if step.changed {
        Status::Changed
    } else {
        Status::Ok
    }
}

/// Registers, notifies, counts and reports the task's result, and decides the host's flow.
pub(super) fn finish(
    h: &mut HostCtx,
    pc: &PlayCtx,
    t: &Task,
    step: Step,
    ignore_errors: bool,
    no_log: bool,
    delegated: Option<String>,
) -> Flow {
    let ignore = step.failed && !step.unreachable && ignore_errors;
    let status = status_of(&step, ignore);
    if let Some(r) = &t.register {
        h.store.set_var(r, step.value.clone());
    }
    let mut notify_err = None;
    if step.changed && !step.failed && !step.unreachable && !t.notify.is_empty() {
        notify_err = h.notify(pc, &t.notify).err();
    }
    h.stats.count(status, step.changed);
    let msg = match status {
        Status::Failed | Status::Ignored | Status::Unreachable if !no_log => step.msg(),
        _ => String::new(),
    };
    let _ = pc.events.send(Event::HostResult {
        host: h.name.clone(),
        task: t.display_name(),
        action: t.action.clone(),
        status,
        msg,
        item: None,
        result: if no_log {
            censor(&step.value)
        } else {
            step.value.clone()
        },
        diff: if no_log || t.loop_.is_some() {
            vec![]
        } else {
            step.diff
        },
        delegated_to: delegated,
    });
    if let Some(e) = notify_err {
        let _ = pc.events.send(Event::Warning {
            host: Some(h.name.clone()),
            msg: e,
        });
    }
    match status {
        Status::Unreachable => {
            h.unreachable = true;
            Flow::Unreachable
        }
        Status::Failed => {
            h.failed = true;
            if let Some(r) = pc.world.hosts.get(&h.name) {
                r.set_var(
                    "ansible_failed_task",
                    json!({"name": t.name.clone().unwrap_or_default(), "action": t.action}),
                );
                r.set_var("ansible_failed_result", step.value);
            }
            pc.coord.host_failed(h.idx);
            Flow::Failed
        }
        _ => Flow::Continue,
    }
}
