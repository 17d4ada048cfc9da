//! A finished task on one host becomes its registered variable, handler notifications, recap
//! counts and result line. Every `HostResult` event is built here, by [`ResultLine`].

use serde_json::{Value, json};

use super::context::{Flow, HostCtx, PlayCtx};
use super::step::Step;
use crate::events::{Event, FileDiff, HostResult, Status};
use crate::playbook::model::Task;

/// How a task's result is judged and shown, beyond the result itself (the task's effective
/// keywords).
#[derive(Clone, Debug, Default)]
pub struct Disposition {
    /// `ignore_errors`: a failure is counted as ignored and the host goes on.
    pub ignore_errors: bool,
    /// `no_log`: the result, message and diff are censored in every event.
    pub no_log: bool,
    /// `delegate_to`, shown on the result line.
    pub delegated_to: Option<String>,
    /// `ignore_unreachable`: an unreachable result is shown, counted as ok and ignored, and
    /// the host stays in the play.
    pub ignore_unreachable: bool,
}

/// One result line of one host, as the reporter shows it and `--json` prints it.
pub struct ResultLine(HostResult);

impl ResultLine {
    pub fn new(
        h: &HostCtx,
        task: impl Into<String>,
        action: impl Into<String>,
        status: Status,
    ) -> Self {
        ResultLine(HostResult {
            host: h.name.clone(),
            task: task.into(),
            action: action.into(),
            status,
            msg: String::new(),
            item: None,
            result: Value::Null,
            diff: vec![],
            delegated_to: None,
        })
    }

    pub fn of(h: &HostCtx, t: &Task, status: Status) -> Self {
        ResultLine::new(h, t.display_name(), t.action.clone(), status)
    }

    pub fn msg(mut self, msg: impl Into<String>) -> Self {
        self.0.msg = msg.into();
        self
    }

    pub fn result(mut self, result: Value) -> Self {
        self.0.result = result;
        self
    }

    /// Result (the step's registered value), diff and delegation under the task's `no_log`:
    /// censored, no diff.
    fn step(mut self, value: Value, diff: Vec<FileDiff>, d: &Disposition) -> Self {
        self.0.result = if d.no_log { censor(&value) } else { value };
        self.0.diff = if d.no_log { vec![] } else { diff };
        self.0.delegated_to = d.delegated_to.clone();
        self
    }

    pub fn send(self, pc: &PlayCtx) {
        let _ = pc.events.send(Event::HostResult(self.0));
    }
}

fn censor(v: &Value) -> Value {
    json!({"censored": "the output has been hidden due to the fact that 'no_log: true' was specified for this result", "changed": v.get("changed").cloned().unwrap_or(json!(false))})
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

/// Reports one loop item's line (the task's summary follows from [`finish`]). As Ansible's,
/// item lines do not show a failure as ignored, and show where a delegated item ran.
pub fn report_item(h: &HostCtx, pc: &PlayCtx, t: &Task, step: &Step, label: &str, d: &Disposition) {
    let no_log = d.no_log;
    let d = Disposition {
        no_log,
        delegated_to: step.delegated_to.clone(),
        ..Default::default()
    };
    let mut line =
        ResultLine::of(h, t, status_of(step, false)).step(step.value(), step.diff.clone(), &d);
    if step.failed && !no_log {
        line = line.msg(step.msg());
    }
    line.0.item = Some(if no_log {
        "None".into()
    } else {
        label.to_string()
    });
    line.send(pc);
}

/// Fails the current task on this host with `msg` (an error found before the module ran).
pub fn fail_task(h: &mut HostCtx, pc: &PlayCtx, t: &Task, msg: &str) -> Flow {
    finish(h, pc, t, Step::failed(msg), &Disposition::default())
}

/// Registers, notifies, counts and reports the task's result, and decides the host's flow.
pub fn finish(h: &mut HostCtx, pc: &PlayCtx, t: &Task, mut step: Step, d: &Disposition) -> Flow {
    let ignore = step.failed && !step.unreachable && d.ignore_errors;
    let status = status_of(&step, ignore);
    let value = step.value();
    if let Some(r) = &t.register {
        h.store.set_var(r, value.clone());
    }
    let mut notify_err = None;
    if step.changed && !step.failed && !step.unreachable && !t.notify.is_empty() {
        notify_err = h.notify(pc, &t.notify).err();
    }
    let ignored_unreachable = status == Status::Unreachable && d.ignore_unreachable;
    if ignored_unreachable {
        h.stats.count(Status::Ignored, false);
    } else {
        h.stats.count(status, step.changed);
    }
    let msg = match status {
        Status::Failed | Status::Ignored | Status::Unreachable if !d.no_log => step.msg(),
        _ => String::new(),
    };
    // A loop's diffs were shown item by item.
    let diff = if t.loop_.is_some() {
        vec![]
    } else {
        std::mem::take(&mut step.diff)
    };
    ResultLine::of(h, t, status)
        .step(value.clone(), diff, d)
        .msg(msg)
        .send(pc);
    if let Some(e) = notify_err {
        let _ = pc.events.send(Event::Warning {
            host: Some(h.name.clone()),
            msg: e,
        });
    }
    // A module's `warnings` are printed as [WARNING] lines, as Ansible's callback does, not
    // only kept in the result where nobody reads them without -v.
    if !d.no_log {
        let warnings = value.get("warnings").and_then(Value::as_array);
        for w in warnings.into_iter().flatten().filter_map(Value::as_str) {
            let _ = pc.events.send(Event::Warning {
                host: Some(h.name.clone()),
                msg: w.to_string(),
            });
        }
    }
    match status {
        Status::Unreachable if ignored_unreachable => Flow::Continue,
        Status::Unreachable => {
            h.unreachable = true;
            Flow::Unreachable
        }
        Status::Failed => {
            h.failed = true;
            if let Some(r) = pc.world.host(&h.name) {
                r.set_var(
                    "ansible_failed_task",
                    json!({"name": t.name.clone().unwrap_or_default(), "action": t.action}),
                );
                r.set_var("ansible_failed_result", value);
            }
            pc.coord.host_failed(h.idx);
            Flow::Failed
        }
        _ => Flow::Continue,
    }
}
