//! One host's walk through a play: blocks with rescue/always, includes, handlers and meta. Each
//! host runs this on its own tokio task; the coordinator keeps hosts in step under `linear`.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value;

use super::context::{Flow, HostCtx, Inherited, PlayCtx, TaskKind};
use super::coordinator::{Go, Pos};
use super::outcome::{ResultLine, fail_task};
use super::scope::scope;
use super::task;
use crate::events::Status;
use crate::playbook::model::{Block, Handler, IncludeRole, IncludeTasks, Item, Task};
use crate::values::to_str;

fn child(pos: &Pos, i: u32) -> Pos {
    let mut p = pos.clone();
    p.push(i);
    p
}

impl HostCtx {
    /// Walks `items`, stopping at the first failure (which an enclosing block may rescue).
    pub fn run_items<'a>(
        &'a mut self,
        pc: &'a PlayCtx,
        items: &'a [Item],
        pos: Pos,
        inh: &'a Inherited,
    ) -> BoxFuture<'a, Flow> {
        Box::pin(async move {
            for (i, item) in items.iter().enumerate() {
                let p = child(&pos, i as u32);
                let flow = match item {
                    Item::Task(t) => self.run_task_item(pc, t, p, inh).await,
                    Item::Block(b) => self.run_block(pc, b, p, inh).await,
                    Item::IncludeTasks(inc) => self.run_include_tasks(pc, inc, p, inh).await,
                    Item::IncludeRole(inc) => self.run_include_role(pc, inc, p, inh).await,
                };
                if flow != Flow::Continue {
                    return flow;
                }
            }
            Flow::Continue
        })
    }

    async fn run_block(&mut self, pc: &PlayCtx, b: &Block, pos: Pos, inh: &Inherited) -> Flow {
        let inner = inh.with_block(&b.common, &b.role);
        let mut flow = self.run_items(pc, &b.block, child(&pos, 0), &inner).await;
        if flow == Flow::Failed && !b.rescue.is_empty() {
            // The failure is rescued: Ansible counts it as `rescued`, not `failed`.
            self.failed = false;
            self.stats.failed = self.stats.failed.saturating_sub(1);
            self.stats.rescued += 1;
            flow = self.run_items(pc, &b.rescue, child(&pos, 1), &inner).await;
        }
        if matches!(flow, Flow::Continue | Flow::Failed) && !b.always.is_empty() {
            let was_failed = flow == Flow::Failed;
            let always = self.run_items(pc, &b.always, child(&pos, 2), &inner).await;
            flow = if always != Flow::Continue {
                always
            } else if was_failed {
                Flow::Failed
            } else {
                Flow::Continue
            };
        }
        flow
    }

    async fn run_task_item(&mut self, pc: &PlayCtx, t: &Task, pos: Pos, inh: &Inherited) -> Flow {
        if t.action == "meta" {
            return self.run_meta(pc, t, pos, inh).await;
        }
        task::run(self, pc, t, pos, inh, TaskKind::Task).await
    }

    async fn run_meta(&mut self, pc: &PlayCtx, t: &Task, pos: Pos, inh: &Inherited) -> Flow {
        let what = t
            .args
            .get("_raw_params")
            .and_then(Value::as_str)
            .unwrap_or("noop")
            .to_string();
        if what == "flush_handlers" {
            // Ansible runs the flush for every host, without evaluating `when`.
            return self.flush_handlers(pc, pos).await;
        }
        if pc
            .coord
            .arrive(
                self.idx,
                pos.clone(),
                &t.display_name(),
                false,
                inh.role.as_ref().map(|r| r.name.as_str()),
            )
            .await
            == Go::Stop
        {
            return Flow::End;
        }
        let scope = scope(self, pc, t, inh, &[]);
        for c in inh.when.iter().chain(&t.common.when) {
            match pc.templar.eval_bool(&c.expr, &scope, &c.span) {
                Ok(true) => {}
                Ok(false) => {
                    // Ansible prints skipped meta tasks but never counts them.
                    ResultLine::of(self, t, Status::Skipped)
                        .result(serde_json::json!({"skipped": true, "changed": false}))
                        .send(pc);
                    return Flow::Continue;
                }
                Err(e) => {
                    return fail_task(self, pc, t, &e.message);
                }
            }
        }
        match what.as_str() {
            "end_play" => {
                pc.end_play.store(true, std::sync::atomic::Ordering::SeqCst);
                pc.coord.stop();
                Flow::End
            }
            "end_host" => Flow::End,
            "noop" | "clear_facts" | "refresh_inventory" => Flow::Continue,
            "clear_host_errors" => {
                self.failed = false;
                Flow::Continue
            }
            other => fail_task(self, pc, t, &format!("unsupported meta action `{other}`")),
        }
    }

    /// Runs every notified handler, in the order handlers are defined (not notified).
    pub async fn flush_handlers(&mut self, pc: &PlayCtx, pos: Pos) -> Flow {
        let total = pc.play.handlers.len() + self.extra_handlers.len();
        for i in 0..total {
            if !self.notified.remove(&i) {
                continue;
            }
            let h: Handler = if i < pc.play.handlers.len() {
                pc.play.handlers[i].clone()
            } else {
                self.extra_handlers[i - pc.play.handlers.len()].clone()
            };
            let inh = Inherited {
                role: h.task.role.clone(),
                ..Default::default()
            };
            let flow = task::run(
                self,
                pc,
                &h.task,
                child(&pos, i as u32),
                &inh,
                TaskKind::Handler,
            )
            .await;
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    async fn run_include_tasks(
        &mut self,
        pc: &PlayCtx,
        inc: &IncludeTasks,
        pos: Pos,
        inh: &Inherited,
    ) -> Flow {
        let name = inc
            .name
            .clone()
            .unwrap_or_else(|| "include_tasks".to_string());
        let header = super::include::Header {
            name: &name,
            span: &inc.span,
            common: &inc.common,
            loop_: inc.loop_.as_ref(),
            role: inc.role.clone().or(inh.role.clone()),
        };
        let expansions = match super::include::expand(self, pc, &header, pos.clone(), inh).await {
            Ok(Some(v)) => v,
            Ok(None) => return Flow::Continue,
            Err(flow) => return flow,
        };
        for (i, (params, scope)) in expansions.into_iter().enumerate() {
            let file = match pc
                .templar
                .render_str(&inc.file.value, &scope, &inc.file.span)
            {
                Ok(v) => to_str(&v).unwrap_or_default(),
                Err(e) => return self.include_failed(pc, &name, &e.message),
            };
            let items = match (
                &inc.preloaded,
                crate::template::is_template(&inc.file.value),
            ) {
                (Some(items), false) => items.clone(),
                _ => {
                    let path = super::include::resolve(&inc.base_dir, &file);
                    match crate::playbook::load_tasks_file(
                        &path,
                        inc.role.clone().or(inh.role.clone()),
                        &pc.load_options(),
                        &pc.templar,
                    ) {
                        Ok(items) => items,
                        Err(errs) => {
                            let msg = errs
                                .iter()
                                .map(|d| d.render())
                                .collect::<Vec<_>>()
                                .join("\n");
                            return self.include_failed(pc, &name, &msg);
                        }
                    }
                }
            };
            let mut inner = inh.clone();
            if inc.role.is_some() {
                inner.role = inc.role.clone();
            }
            inner.params.push(Arc::new(params));
            let flow = self
                .run_items(pc, &items, child(&pos, 1 + i as u32), &inner)
                .await;
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    async fn run_include_role(
        &mut self,
        pc: &PlayCtx,
        inc: &IncludeRole,
        pos: Pos,
        inh: &Inherited,
    ) -> Flow {
        let name = inc
            .name
            .clone()
            .unwrap_or_else(|| format!("include_role : {}", inc.role_name.value));
        let header = super::include::Header {
            name: &name,
            span: &inc.span,
            common: &inc.common,
            loop_: inc.loop_.as_ref(),
            role: inh.role.clone(),
        };
        let expansions = match super::include::expand(self, pc, &header, pos.clone(), inh).await {
            Ok(Some(v)) => v,
            Ok(None) => return Flow::Continue,
            Err(flow) => return flow,
        };
        for (i, (params, scope)) in expansions.into_iter().enumerate() {
            let loaded = match (
                &inc.preloaded,
                crate::template::is_template(&inc.role_name.value),
            ) {
                (Some(p), false) => Ok(p.clone()),
                _ => match pc
                    .templar
                    .render_str(&inc.role_name.value, &scope, &inc.role_name.span)
                {
                    Ok(v) => {
                        let role = to_str(&v).unwrap_or_default();
                        // `tasks_from` is templated too, per loop item, as in Ansible.
                        let tasks_from = match inc.tasks_from.as_deref() {
                            Some(t) if crate::template::is_template(t) => pc
                                .templar
                                .render_str(t, &scope, &inc.role_name.span)
                                .map(|v| Some(to_str(&v).unwrap_or_default()))
                                .map_err(|e| e.message),
                            other => Ok(other.map(str::to_string)),
                        };
                        tasks_from.and_then(|tasks_from| {
                            crate::playbook::load_role(
                                &role,
                                tasks_from.as_deref(),
                                inc.common.vars.clone(),
                                &inc.base_dir,
                                inh.role.clone(),
                                &pc.load_options(),
                                &pc.templar,
                            )
                            .map(|(mut items, handlers)| {
                                crate::playbook::inherit(&mut items, &inc.inherited);
                                (items, handlers)
                            })
                            .map_err(|errs| {
                                errs.iter()
                                    .map(|d| d.render())
                                    .collect::<Vec<_>>()
                                    .join("\n")
                            })
                        })
                    }
                    Err(e) => Err(e.message),
                },
            };
            let (items, handlers) = match loaded {
                Ok(x) => x,
                Err(msg) => return self.include_failed(pc, &name, &msg),
            };
            if inc.public {
                // The role's own block comes last, after its dependencies'.
                let role = items.iter().rev().find_map(|i| match i {
                    Item::Block(b) => b.role.clone(),
                    _ => None,
                });
                if let Some(r) = role {
                    pc.public_roles.add(&r);
                }
            }
            for h in handlers {
                if !self
                    .extra_handlers
                    .iter()
                    .any(|e| e.listen == h.listen && e.task.span == h.task.span)
                {
                    self.extra_handlers.push(h);
                }
            }
            let mut inner = inh.clone();
            inner.params.push(Arc::new(params));
            let flow = self
                .run_items(pc, &items, child(&pos, 1 + i as u32), &inner)
                .await;
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    fn include_failed(&mut self, pc: &PlayCtx, name: &str, msg: &str) -> Flow {
        self.failed = true;
        self.stats.count(Status::Failed, false);
        pc.coord.host_failed(self.idx);
        ResultLine::new(self, name, "include_tasks", Status::Failed)
            .msg(msg)
            .result(serde_json::json!({"failed": true, "msg": msg}))
            .send(pc);
        Flow::Failed
    }
}
