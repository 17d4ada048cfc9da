//! Lockstep for the `linear` strategy without a central task iterator. Each host walks the
//! play tree on its own tokio task and, before every task, calls [`Coordinator::arrive`] with the
//! task's position (a path through the tree, which orders tasks the way Ansible runs them).
//! Once every live host is waiting, the smallest position is released. Hosts in `rescue`,
//! running handlers or skipping ahead therefore line up exactly as under Ansible's linear
//! strategy, while `free` simply never waits.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::events::{Event, EventTx};

pub type Pos = Vec<u32>;

/// What a host is told when its position is released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Go {
    Run,
    /// The play was stopped (any_errors_fatal, max_fail_percentage, end_play, Ctrl-C).
    Stop,
}

struct Waiting {
    host: usize,
    tx: oneshot::Sender<Go>,
}

struct State {
    /// Hosts still walking the tree.
    live: usize,
    /// Hosts released and currently executing their task.
    running: usize,
    waiting: BTreeMap<Pos, (String, bool, Option<String>, Vec<Waiting>)>,
    stopped: bool,
    /// Positions whose header has been announced (free strategy announces on first arrival).
    announced: HashSet<Pos>,
    failed: HashSet<usize>,
    /// The first host (smallest index under `linear`) released at each position: the one that
    /// runs a `run_once` task, as Ansible picks the first host of the batch.
    leaders: std::collections::HashMap<Pos, usize>,
}

pub struct Coordinator {
    linear: bool,
    batch_size: usize,
    max_fail_pct: Option<f64>,
    any_errors_fatal: bool,
    events: EventTx,
    state: Mutex<State>,
}

impl Coordinator {
    pub fn new(
        hosts: usize,
        linear: bool,
        max_fail_pct: Option<f64>,
        any_errors_fatal: bool,
        events: EventTx,
    ) -> Self {
        Coordinator {
            linear,
            batch_size: hosts,
            max_fail_pct,
            any_errors_fatal,
            events,
            state: Mutex::new(State {
                live: hosts,
                running: hosts,
                waiting: BTreeMap::new(),
                stopped: false,
                announced: HashSet::new(),
                failed: HashSet::new(),
                leaders: std::collections::HashMap::new(),
            }),
        }
    }

    /// Waits until this host may run the task at `pos`. `name`/`handler`/`role` label the header.
    pub async fn arrive(
        &self,
        host: usize,
        pos: Pos,
        name: &str,
        handler: bool,
        role: Option<&str>,
    ) -> Go {
        let rx = {
            let mut st = self.state.lock().unwrap();
            if st.stopped {
                return Go::Stop;
            }
            if !self.linear {
                st.leaders.entry(pos.clone()).or_insert(host);
                if st.announced.insert(pos) {
                    self.announce(name, handler, role);
                }
                return Go::Run;
            }
            let (tx, rx) = oneshot::channel();
            st.running -= 1;
            st.waiting
                .entry(pos)
                .or_insert_with(|| {
                    (
                        name.to_string(),
                        handler,
                        role.map(str::to_string),
                        Vec::new(),
                    )
                })
                .3
                .push(Waiting { host, tx });
            self.release(&mut st);
            rx
        };
        rx.await.unwrap_or(Go::Stop)
    }

    /// The host finished the play (or was removed from it).
    pub fn leave(&self) {
        let mut st = self.state.lock().unwrap();
        st.live -= 1;
        st.running -= 1;
        if self.linear {
            self.release(&mut st);
        }
    }

    /// Records a host failure; applies `any_errors_fatal` and `max_fail_percentage` at the next
    /// release, as Ansible checks them between tasks.
    pub fn host_failed(&self, host: usize) {
        let mut st = self.state.lock().unwrap();
        st.failed.insert(host);
        if !self.linear && self.policy_stops(&st) {
            st.stopped = true;
        }
    }

    /// The host that runs a `run_once` task at `pos`.
    pub fn leader(&self, pos: &Pos) -> Option<usize> {
        self.state.lock().unwrap().leaders.get(pos).copied()
    }

    /// Whether the failure policy has stopped the play.
    pub fn stopped(&self) -> bool {
        self.state.lock().unwrap().stopped
    }

    /// `meta: end_play` and Ctrl-C.
    pub fn stop(&self) {
        let mut st = self.state.lock().unwrap();
        st.stopped = true;
        let all: Vec<_> = std::mem::take(&mut st.waiting)
            .into_values()
            .flat_map(|w| w.3)
            .collect();
        for w in all {
            st.running += 1;
            let _ = w.tx.send(Go::Stop);
        }
    }

    fn policy_stops(&self, st: &State) -> bool {
        if st.failed.is_empty() {
            return false;
        }
        if self.any_errors_fatal {
            return true;
        }
        match self.max_fail_pct {
            Some(pct) => (st.failed.len() as f64) * 100.0 / (self.batch_size as f64) > pct,
            None => false,
        }
    }

    fn announce(&self, name: &str, handler: bool, role: Option<&str>) {
        let _ = self.events.send(Event::TaskStart {
            name: name.to_string(),
            role: role.map(str::to_string),
            handler,
        });
    }

    fn release(&self, st: &mut State) {
        if st.running > 0 || st.waiting.is_empty() {
            return;
        }
        if !st.stopped && self.policy_stops(st) {
            st.stopped = true;
        }
        if st.stopped {
            let all: Vec<_> = std::mem::take(&mut st.waiting)
                .into_values()
                .flat_map(|w| w.3)
                .collect();
            for w in all {
                st.running += 1;
                let _ = w.tx.send(Go::Stop);
            }
            return;
        }
        let (pos, (name, handler, role, hosts)) = st.waiting.pop_first().expect("non-empty");
        if let Some(first) = hosts.iter().map(|w| w.host).min() {
            st.leaders.insert(pos.clone(), first);
        }
        if st.announced.insert(pos) {
            self.announce(&name, handler, role.as_deref());
        }
        for w in hosts {
            st.running += 1;
            if w.tx.send(Go::Run).is_err() {
                st.running -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn linear_releases_smallest_position_first() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let c = Arc::new(Coordinator::new(2, true, None, false, tx));
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut js = Vec::new();
        for (h, path) in [
            (0usize, vec![vec![1], vec![3]]),
            (1, vec![vec![2], vec![3]]),
        ] {
            let c = c.clone();
            let order = order.clone();
            js.push(tokio::spawn(async move {
                for p in path {
                    assert_eq!(
                        c.arrive(h, p.clone(), &format!("t{p:?}"), false, None)
                            .await,
                        Go::Run
                    );
                    order.lock().unwrap().push((h, p));
                }
                c.leave();
            }));
        }
        for j in js {
            j.await.unwrap();
        }
        let o = order.lock().unwrap().clone();
        assert_eq!(o[0], (0, vec![1]));
        assert_eq!(o[1], (1, vec![2]));
        let mut names = Vec::new();
        while let Ok(Event::TaskStart { name, .. }) = rx.try_recv() {
            names.push(name);
        }
        assert_eq!(names, vec!["t[1]", "t[2]", "t[3]"]);
    }

    #[tokio::test]
    async fn any_errors_fatal_stops_everyone() {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let c = Arc::new(Coordinator::new(2, true, None, true, tx));
        let c2 = c.clone();
        let a = tokio::spawn(async move {
            assert_eq!(c2.arrive(0, vec![1], "a", false, None).await, Go::Run);
            c2.host_failed(0);
            c2.arrive(0, vec![2], "b", false, None).await
        });
        let c3 = c.clone();
        let b = tokio::spawn(async move {
            assert_eq!(c3.arrive(1, vec![1], "a", false, None).await, Go::Run);
            c3.arrive(1, vec![2], "b", false, None).await
        });
        assert_eq!(a.await.unwrap(), Go::Stop);
        assert_eq!(b.await.unwrap(), Go::Stop);
    }
}
