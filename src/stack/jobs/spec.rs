//! A scheduled job as the stack file's `jobs:` section defines it, checked when the stack file
//! loads: a schedule that cannot fire, an unknown layer or key, both or neither of `layers`
//! and `hosts` are located errors before any host is touched (and before a timer is
//! installed that would only fail at 21:00).

use std::time::Duration;

use super::schedule::{self, Calendar};
use super::span;
use crate::diagnostic::{Diagnostic, Span};
use crate::playbook::suggest::{did_you_mean, unknown_key};
use crate::yaml::{Node, Yaml};

pub const JOB_KEYS: &[&str] = &[
    "run",
    "layers",
    "hosts",
    "schedule",
    "timeout",
    "overlap",
    "jitter",
    "on_failure",
];

/// What a run does when another run of the same job holds its lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlap {
    /// Exit 0 at once with a one-line note; the skipped run is recorded.
    Skip,
    /// Block until the running one ends, however many runs wait.
    Wait,
    /// Wait, but at most one run waits: a second one while a run is queued is skipped.
    Queue,
}

impl Overlap {
    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Skip => "skip",
            Overlap::Wait => "wait",
            Overlap::Queue => "queue",
        }
    }
}

/// Which instances a job runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Targets {
    Layers(Vec<String>),
    Hosts(Vec<String>),
}

#[derive(Clone, Debug)]
pub struct Job {
    /// `[A-Za-z0-9_-]`: it becomes part of unit names, lock files and log directories.
    pub name: String,
    /// The event (tasks file) it runs, as `strata stack run EVENT`.
    pub event: String,
    pub targets: Targets,
    /// The schedule as written.
    pub schedule: String,
    pub calendar: Calendar,
    /// Killed past this; `None` runs as long as it takes.
    pub timeout: Option<Duration>,
    pub overlap: Overlap,
    /// `RandomizedDelaySec=` of its timer.
    pub jitter: Option<Duration>,
    /// A shell command on the bastion when a run fails or times out.
    pub on_failure: Option<String>,
    pub span: Span,
    /// The `run:` value, where an event no role of the job's layers has is reported.
    pub event_span: Span,
}

/// The `jobs:` mapping. `layers` are the stack's layer shortnames, for unknown-layer errors.
pub fn parse(v: &Node, layers: &[&str]) -> (Vec<Job>, Vec<Diagnostic>) {
    let mut p = JobParser { errors: Vec::new() };
    let mut jobs = Vec::new();
    match &v.value {
        Yaml::Map(m) => {
            for (k, body) in m {
                if let Some(j) = p.job(k, body, layers) {
                    jobs.push(j);
                }
            }
        }
        Yaml::Null => {}
        _ => p.errors.push(v.error(format!(
            "`jobs` must be a mapping of job names to jobs, found {}",
            v.kind()
        ))),
    }
    (jobs, p.errors)
}

struct JobParser {
    errors: Vec<Diagnostic>,
}

impl JobParser {
    fn string(&mut self, n: &Node, what: &str) -> Option<String> {
        match &n.value {
            Yaml::Str(s) if !s.trim().is_empty() => Some(s.clone()),
            Yaml::Int(_) => n.scalar_string(),
            _ => {
                self.errors.push(n.error(format!(
                    "{what} must be a non-empty string, found {}",
                    n.kind()
                )));
                None
            }
        }
    }

    fn names(&mut self, n: &Node, what: &str) -> Vec<(String, Span)> {
        let items: Vec<&Node> = match &n.value {
            Yaml::Seq(items) => items.iter().collect(),
            Yaml::Str(_) => vec![n],
            _ => {
                self.errors
                    .push(n.error(format!("{what} must be a list, found {}", n.kind())));
                return Vec::new();
            }
        };
        if items.is_empty() {
            self.errors.push(
                n.error(format!("{what} is empty"))
                    .label("name at least one"),
            );
        }
        items
            .into_iter()
            .filter_map(|i| self.string(i, what).map(|s| (s, i.span.clone())))
            .collect()
    }

    fn span_value(&mut self, n: &Node, what: &str) -> Option<Duration> {
        let text = match &n.value {
            Yaml::Int(_) | Yaml::Str(_) => n.scalar_string()?,
            _ => {
                self.errors.push(n.error(format!(
                    "{what} must be a time span such as `90s`, `30min` or `1h 30min`, found {}",
                    n.kind()
                )));
                return None;
            }
        };
        match span::parse(&text) {
            Ok(d) if d.is_zero() => {
                self.errors
                    .push(n.error(format!("{what} must be longer than 0")));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.errors.push(
                    n.error(format!("bad {what}: {e}"))
                        .help("systemd time spans: `90s`, `30min`, `2h`, `1d`, `1h 30min`"),
                );
                None
            }
        }
    }

    fn job(&mut self, k: &Node, body: &Node, layers: &[&str]) -> Option<Job> {
        let name = self.string(k, "a job name")?;
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            self.errors.push(
                k.error(format!(
                    "job name `{name}` may only use letters, digits, `_` and `-`"
                ))
                .note("it becomes part of systemd unit names, lock files and log directories"),
            );
            return None;
        }
        let Yaml::Map(m) = &body.value else {
            self.errors.push(body.error(format!(
                "job `{name}` must be a mapping with `run`, `layers` or `hosts`, and `schedule`, found {}",
                body.kind()
            )));
            return None;
        };
        let errors_before = self.errors.len();
        let mut event = None;
        let mut event_span = k.span.clone();
        let mut targets: Vec<(Targets, &Node)> = Vec::new();
        let mut sched = None;
        let mut timeout = None;
        let mut overlap = Overlap::Skip;
        let mut jitter = None;
        let mut on_failure = None;
        for (jk, jv) in m {
            match jk.as_str().unwrap_or_default() {
                "run" => {
                    event = self.string(jv, "a job's `run` (the event to run)");
                    event_span = jv.span.clone();
                }
                "layers" => {
                    let mut ok = Vec::new();
                    for (l, span) in self.names(jv, "a job's `layers`") {
                        if layers.contains(&l.as_str()) {
                            ok.push(l);
                            continue;
                        }
                        let mut d = Diagnostic::new(span, format!("unknown layer `{l}`"))
                            .label("not a layer of this stack");
                        if let Some(h) = did_you_mean(&l, layers.iter().copied()) {
                            d = d.help(h);
                        }
                        self.errors.push(d);
                    }
                    targets.push((Targets::Layers(ok), jk));
                }
                "hosts" => {
                    let hosts = self.names(jv, "a job's `hosts`");
                    targets.push((Targets::Hosts(hosts.into_iter().map(|h| h.0).collect()), jk));
                }
                "schedule" => {
                    if let Some(text) = self.string(jv, "a job's `schedule`") {
                        match schedule::parse(&text) {
                            Ok(c) => sched = Some((text, c)),
                            Err(e) => self.errors.push(
                                jv.error(format!("bad schedule `{text}`: {e}"))
                                    .label("not a calendar event or cron expression")
                                    .help(
                                        "a systemd calendar event (`*-*-* 21:00:00`, \
                                         `Sun *-*-* 01:00:00`, `daily`) or 5 cron fields \
                                         (`0 21 * * *`)",
                                    ),
                            ),
                        }
                    }
                }
                "timeout" => timeout = self.span_value(jv, "`timeout`"),
                "jitter" => jitter = self.span_value(jv, "`jitter`"),
                "overlap" => match jv.as_str() {
                    Some("skip") => overlap = Overlap::Skip,
                    Some("wait") => overlap = Overlap::Wait,
                    Some("queue") => overlap = Overlap::Queue,
                    _ => {
                        let mut d = jv
                            .error("`overlap` must be `skip`, `wait` or `queue`")
                            .label("unknown overlap policy");
                        if let Some(h) = jv
                            .as_str()
                            .and_then(|s| did_you_mean(s, ["skip", "wait", "queue"]))
                        {
                            d = d.help(h);
                        }
                        self.errors.push(d);
                    }
                },
                "on_failure" => on_failure = self.string(jv, "`on_failure`"),
                _ => {
                    let key = jk.scalar_string().unwrap_or_default();
                    self.errors.push(unknown_key(
                        jk,
                        JOB_KEYS,
                        format!("unknown key `{key}` in job `{name}`"),
                        true,
                    ));
                }
            }
        }
        let missing = |what: &str, help: &str| {
            k.error(format!("job `{name}` has no `{what}`"))
                .help(help.to_string())
        };
        if event.is_none() && !m.iter().any(|(k, _)| k.as_str() == Some("run")) {
            self.errors.push(missing(
                "run",
                "name the event (tasks file) it runs: `run: backup`",
            ));
        }
        if sched.is_none() && !m.iter().any(|(k, _)| k.as_str() == Some("schedule")) {
            self.errors.push(missing(
                "schedule",
                "e.g. `schedule: \"*-*-* 21:00:00\"` or `schedule: \"0 21 * * *\"`",
            ));
        }
        let target = match targets.len() {
            0 => {
                self.errors.push(missing(
                    "layers",
                    "say where it runs: `layers: [maintenance]` or `hosts: [maint1]`",
                ));
                None
            }
            1 => targets.pop().map(|t| t.0),
            _ => {
                self.errors.push(
                    targets[1]
                        .1
                        .error(format!("job `{name}` has both `layers` and `hosts`"))
                        .label("second target")
                        .help("keep one of the two"),
                );
                None
            }
        };
        if self.errors.len() > errors_before {
            return None;
        }
        let (schedule, calendar) = sched?;
        Some(Job {
            name,
            event: event?,
            targets: target?,
            schedule,
            calendar,
            timeout,
            overlap,
            jitter,
            on_failure,
            span: k.span.clone(),
            event_span,
        })
    }
}
