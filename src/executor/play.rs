//! Runs plays: splits a play's hosts into `serial` batches, starts one tokio task per host
//! per batch, applies the failure policy between batches, and keeps per-host statistics and
//! connections for the whole run.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Map;
use tokio::sync::Semaphore;

use super::context::{ConnPool, Flow, HostCtx, Inherited, LazyConn, PlayCtx, RunOptions, TaskKind};
use super::coordinator::Coordinator;
use super::public_roles::PublicRoles;
use super::vars::World;
use crate::config::Gathering;
use crate::events::{Event, EventTx, HostStats};
use crate::playbook::model::{Common, Item, Play, Serial, Strategy, Task};
use crate::template::Templar;
use crate::transport::Connector;
use crate::transport::Transport;

/// How a play ended, for the playbook loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlayEnd {
    Completed,
    /// any_errors_fatal, max_fail_percentage, or a whole batch failed: the playbook stops.
    Aborted,
    Interrupted,
}

pub struct Runner {
    pub templar: Arc<Templar>,
    pub events: EventTx,
    pub opts: Arc<RunOptions>,
    pub connector: Arc<dyn Connector>,
    pub local: Arc<dyn Transport>,
    pub world: Arc<World>,
    conns: HashMap<String, Arc<LazyConn>>,
    other_conns: Arc<ConnPool>,
    pub stats: Vec<HostStats>,
    /// Failed or unreachable hosts leave the rest of the run, as in Ansible.
    pub dead: HashSet<String>,
    pub interrupted: Arc<AtomicBool>,
    current: Arc<Mutex<Option<Arc<Coordinator>>>>,
}

/// Splits `n` hosts into batch sizes per Ansible's `serial` (the last value repeats).
pub fn batch_sizes(serial: &[Serial], n: usize) -> Vec<usize> {
    if serial.is_empty() || n == 0 {
        return vec![n];
    }
    let mut out = Vec::new();
    let mut left = n;
    let mut i = 0;
    while left > 0 {
        let s = serial[i.min(serial.len() - 1)];
        let size = match s {
            Serial::Count(c) => c as usize,
            Serial::Percent(p) => ((p / 100.0) * n as f64) as usize,
        };
        let size = size.clamp(1, left);
        out.push(size);
        left -= size;
        i += 1;
    }
    out
}

impl Runner {
    pub fn new(
        templar: Arc<Templar>,
        events: EventTx,
        opts: Arc<RunOptions>,
        connector: Arc<dyn Connector>,
        local: Arc<dyn Transport>,
        world: Arc<World>,
    ) -> Self {
        let stats = world
            .order()
            .iter()
            .map(|h| HostStats {
                host: h.clone(),
                ..Default::default()
            })
            .collect();
        Runner {
            templar,
            events,
            opts,
            other_conns: Arc::new(ConnPool::new(connector.clone())),
            connector,
            local,
            world,
            conns: HashMap::new(),
            stats,
            dead: HashSet::new(),
            interrupted: Arc::new(AtomicBool::new(false)),
            current: Arc::new(Mutex::new(None)),
        }
    }

    /// Stops the running batch after the tasks in flight (Ctrl-C).
    pub fn interrupt_handle(&self) -> impl Fn() + Send + Sync + 'static {
        let flag = self.interrupted.clone();
        let cur = self.current.clone();
        move || {
            flag.store(true, Ordering::SeqCst);
            if let Some(c) = cur.lock().unwrap().as_ref() {
                c.stop();
            }
        }
    }

    /// The host's own connection, made from the target checked before the run, or from its
    /// inventory variables for a host the run's plays reach only through `add_host` or
    /// `group_by`.
    fn conn(&mut self, host: &str) -> Arc<LazyConn> {
        let connector = self.connector.clone();
        let planned = self.world.membership.read().unwrap().planned.contains(host);
        let vars = match planned {
            true => Map::new(),
            false => self
                .world
                .host(host)
                .map(|s| (*s.inventory()).clone())
                .unwrap_or_default(),
        };
        self.conns
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(LazyConn::new(host, vars, connector)))
            .clone()
    }

    pub async fn run_play(&mut self, play: Arc<Play>, hosts: Vec<String>) -> PlayEnd {
        let hosts: Vec<String> = hosts
            .into_iter()
            .filter(|h| !self.dead.contains(h))
            .collect();
        // Batches follow the play's `order`; `ansible_play_hosts_all` keeps the pattern's.
        let in_order = super::host_order::ordered(hosts.clone(), play.order);
        let _ = self.events.send(Event::PlayStart {
            name: play.name.clone(),
            hosts: hosts.clone(),
        });
        if hosts.is_empty() {
            let _ = self.events.send(Event::NoHostsMatched {
                pattern: play.hosts.value.clone(),
            });
            return PlayEnd::Completed;
        }
        let sizes = batch_sizes(&play.serial, hosts.len());
        let mut start = 0;
        let mut end = PlayEnd::Completed;
        for size in sizes {
            let batch: Vec<String> = in_order[start..start + size]
                .iter()
                .filter(|h| !self.dead.contains(*h))
                .cloned()
                .collect();
            start += size;
            if batch.is_empty() {
                continue;
            }
            let (result, ended_play) = self.run_batch(&play, &batch, &hosts).await;
            if self.interrupted.load(Ordering::SeqCst) {
                end = PlayEnd::Interrupted;
                break;
            }
            if result == PlayEnd::Aborted {
                end = PlayEnd::Aborted;
                break;
            }
            if ended_play {
                break;
            }
        }
        let _ = self.events.send(Event::PlayEnd {
            name: play.name.clone(),
        });
        end
    }

    async fn run_batch(
        &mut self,
        play: &Arc<Play>,
        batch: &[String],
        all: &[String],
    ) -> (PlayEnd, bool) {
        let coord = Arc::new(Coordinator::new(
            batch.len(),
            play.strategy == Strategy::Linear,
            play.max_fail_percentage,
            play.any_errors_fatal,
            self.events.clone(),
        ));
        *self.current.lock().unwrap() = Some(coord.clone());
        if self.interrupted.load(Ordering::SeqCst) {
            coord.stop();
        }
        let pc = Arc::new(PlayCtx {
            play: play.clone(),
            world: self.world.clone(),
            templar: self.templar.clone(),
            events: self.events.clone(),
            coord: coord.clone(),
            opts: self.opts.clone(),
            play_hosts: batch.to_vec(),
            play_hosts_all: all.to_vec(),
            play_hosts_ordered: all.iter().filter(|h| batch.contains(h)).cloned().collect(),
            forks: Arc::new(Semaphore::new(self.opts.forks.max(1))),
            run_once: Mutex::new(HashMap::new()),
            play_vars: Arc::new(play.vars.clone()),
            vars_files: Arc::new(play.vars_files.clone()),
            local: self.local.clone(),
            end_play: AtomicBool::new(false),
            other_conns: self.other_conns.clone(),
            throttles: Mutex::new(HashMap::new()),
            public_roles: PublicRoles::new(&play.public_roles),
        });
        let mut joins = Vec::with_capacity(batch.len());
        for (idx, name) in batch.iter().enumerate() {
            let h = HostCtx {
                idx,
                name: name.clone(),
                store: self.world.host(name).unwrap_or_default(),
                conn: self.conn(name),
                stats: HostStats {
                    host: name.clone(),
                    ..Default::default()
                },
                notified: HashSet::new(),
                extra_handlers: vec![],
                failed: false,
                unreachable: false,
            };
            let pc = pc.clone();
            joins.push(tokio::spawn(async move { host_main(h, pc).await }));
        }
        let mut failed = 0;
        for j in joins {
            let h = match j.await {
                Ok(h) => h,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            };
            if h.failed || h.unreachable {
                failed += 1;
                self.dead.insert(h.name.clone());
            }
            match self.stats.iter_mut().find(|s| s.host == h.name) {
                Some(s) => s.add(&h.stats),
                // A host `add_host` made during the run.
                None => self.stats.push(h.stats.clone()),
            }
        }
        *self.current.lock().unwrap() = None;
        let ended_play = pc.end_play.load(Ordering::SeqCst);
        let aborted = (coord.stopped() && !ended_play && !self.interrupted.load(Ordering::SeqCst))
            || failed == batch.len();
        (
            if aborted {
                PlayEnd::Aborted
            } else {
                PlayEnd::Completed
            },
            ended_play,
        )
    }
}

fn gather_task(play: &Play) -> Task {
    let common = Common {
        tags: vec!["always".into()],
        ..Default::default()
    };
    Task::internal("Gathering Facts", "setup", &play.span, common, None)
}

/// One host's whole play: facts, pre_tasks, roles and tasks, post_tasks, each followed by a
/// handler flush, as Ansible orders them.
async fn host_main(mut h: HostCtx, pc: Arc<PlayCtx>) -> HostCtx {
    let play = pc.play.clone();
    let top = Inherited::default();
    let sections: [(&[Item], u32); 3] = [
        (&play.pre_tasks, 1),
        (&play.tasks, 3),
        (&play.post_tasks, 5),
    ];
    let mut flow = Flow::Continue;
    let smart_skip =
        pc.opts.gathering == Gathering::Smart && h.store.facts_gathered.load(Ordering::SeqCst);
    if play.gather_facts && !smart_skip {
        let t = gather_task(&play);
        flow = super::task::run(&mut h, &pc, &t, vec![0], &top, TaskKind::Task).await;
        if flow == Flow::Continue && !h.failed && !h.unreachable {
            h.store.facts_gathered.store(true, Ordering::SeqCst);
        }
    }
    for (items, sec) in sections {
        if flow != Flow::Continue {
            break;
        }
        flow = h.run_items(&pc, items, vec![sec], &top).await;
        if flow == Flow::Continue {
            flow = h.flush_handlers(&pc, vec![sec + 1]).await;
        }
    }
    pc.coord.leave();
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_batches_follow_ansible() {
        assert_eq!(batch_sizes(&[], 5), vec![5]);
        assert_eq!(batch_sizes(&[Serial::Count(2)], 5), vec![2, 2, 1]);
        assert_eq!(
            batch_sizes(&[Serial::Count(1), Serial::Count(3)], 6),
            vec![1, 3, 2]
        );
        assert_eq!(batch_sizes(&[Serial::Percent(30.0)], 10), vec![3, 3, 3, 1]);
        assert_eq!(batch_sizes(&[Serial::Percent(1.0)], 10), vec![1; 10]);
    }
}
