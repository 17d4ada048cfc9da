//! The part shared by `include_tasks` and `include_role`: its own header line, tags, `when`,
//! and loop expansion into one parameter layer per iteration.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::Value as JValue;
use serde_json::{Map, Value, json};

use super::context::{Flow, HostCtx, Inherited, PlayCtx};
use super::coordinator::{Go, Pos};
use super::outcome::{ResultLine, fail_task};
use super::scope::scope;
use crate::diagnostic::Span;
use crate::events::Status;
use crate::playbook::model::{Common, LoopKind, LoopSpec, RoleCtx, Task};

pub struct Header<'a> {
    pub name: &'a str,
    pub span: &'a Span,
    pub common: &'a Common,
    pub loop_: Option<&'a LoopSpec>,
    pub role: Option<Arc<RoleCtx>>,
}

/// A relative include resolves against the including file's directory.
pub fn resolve(base: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Returns `None` when the include is skipped, else one (params, scope) per iteration.
pub async fn expand(
    h: &mut HostCtx,
    pc: &PlayCtx,
    hd: &Header<'_>,
    pos: Pos,
    inh: &Inherited,
) -> Result<Option<Vec<(Map<String, Value>, JValue)>>, Flow> {
    if !crate::playbook::tags::selected(&hd.common.tags, &pc.opts.tags, &pc.opts.skip_tags) {
        return Ok(None);
    }
    let mut p = pos;
    p.push(0);
    if pc
        .coord
        .arrive(
            h.idx,
            p,
            hd.name,
            false,
            hd.role.as_ref().map(|r| r.name.as_str()),
        )
        .await
        == Go::Stop
    {
        return Err(Flow::End);
    }
    // A stand-in task so the include's own `vars` are visible to its conditions and loop.
    let t = Task::internal(
        hd.name,
        "include",
        hd.span,
        hd.common.clone(),
        hd.role.clone(),
    );
    let sc = scope(h, pc, &t, inh, &[]);
    for c in inh.when.iter().chain(&hd.common.when) {
        match pc.templar.eval_bool(&c.expr, &sc, &c.span) {
            Ok(true) => {}
            Ok(false) => {
                report(
                    h,
                    pc,
                    hd.name,
                    Status::Skipped,
                    json!({"skipped": true, "changed": false, "false_condition": c.expr}),
                );
                return Ok(None);
            }
            Err(e) => return Err(fail_task(h, pc, &t, &e.message)),
        }
    }
    let items = match hd.loop_ {
        None => vec![None],
        Some(lp) if matches!(lp.kind, LoopKind::Lookup(_)) => {
            match super::task::loop_items(pc, &t, lp, &sc) {
                Ok(items) => items.into_iter().map(Some).collect(),
                Err(e) => return Err(fail_task(h, pc, &t, &e)),
            }
        }
        Some(lp) => match pc.templar.render_value(&lp.value, &sc, &lp.span) {
            Ok(Value::Array(a)) => a.into_iter().map(Some).collect(),
            Ok(Value::Null) => vec![],
            Ok(Value::Object(m)) => m
                .into_iter()
                .map(|(k, v)| Some(json!({"key": k, "value": v})))
                .collect(),
            Ok(other) => {
                return Err(fail_task(
                    h,
                    pc,
                    &t,
                    &format!(
                        "Invalid data passed to 'loop', it requires a list, got this instead: {other}"
                    ),
                ));
            }
            Err(e) => return Err(fail_task(h, pc, &t, &e.message)),
        },
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let mut params = hd.common.vars.clone();
        if let (Some(item), Some(lp)) = (item, hd.loop_) {
            params.insert(lp.loop_var.clone(), item);
        }
        let extra = [Arc::new(params.clone())];
        out.push((params, scope(h, pc, &t, inh, &extra)));
    }
    // Ansible reports (and counts as ok) one "included" result per loop item.
    for _ in 0..out.len().max(1) {
        let result = json!({"changed": false, "include": hd.name});
        report(h, pc, hd.name, Status::Ok, result);
    }
    Ok(Some(out))
}

fn report(h: &mut HostCtx, pc: &PlayCtx, name: &str, status: Status, result: Value) {
    h.stats.count(status, false);
    ResultLine::new(h, name, "include_tasks", status)
        .result(result)
        .send(pc);
}
