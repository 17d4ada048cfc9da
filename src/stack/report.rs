//! What a stack command did, for its closing summary (text or one JSON object) and its exit
//! code: who joined, who left, whose connection was lost or came back, and each event run.

use serde::Serialize;

use super::event::EventReport;
use crate::exit::ExitCode;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub joined: Vec<String>,
    pub left: Vec<String>,
    pub lost: Vec<String>,
    pub back: Vec<String>,
    pub events: Vec<EventLine>,
    /// Set by `--dry-run`: what would run, nothing ran.
    pub dry_run: bool,
    /// `--dry-run`: `(event, hosts)` that would run.
    pub would_run: Vec<(String, Vec<String>)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct EventLine {
    pub id: i64,
    pub kind: String,
    pub hosts: Vec<String>,
    pub result: String,
    pub failed: Vec<String>,
    #[serde(skip)]
    pub exit: i32,
}

impl Report {
    pub fn add(&mut self, ev: &EventReport) {
        self.events.push(EventLine {
            id: ev.id,
            kind: ev.kind.clone(),
            hosts: ev.hosts.clone(),
            result: ev.result.as_str().to_string(),
            failed: ev.failed.clone(),
            exit: ev.outcome.exit_code() as i32,
        });
    }

    /// Whether an event was stopped by Ctrl-C: the command stops there.
    pub fn interrupted(&self) -> bool {
        self.events.iter().any(|e| e.result == "interrupted")
    }

    /// The worst exit code of the events, in `strata playbook`'s order: interrupted, failed,
    /// unreachable, ok.
    pub fn exit_code(&self) -> ExitCode {
        let codes: Vec<i32> = self.events.iter().map(|e| e.exit).collect();
        for c in [
            ExitCode::Interrupted,
            ExitCode::HostFailed,
            ExitCode::Unreachable,
        ] {
            if codes.contains(&(c as i32)) {
                return c;
            }
        }
        ExitCode::Ok
    }

    /// The closing summary.
    pub fn render(&self, title: &str) -> String {
        let mut s = format!("\n{}\n", crate::reporter::banner(&format!("STACK {title}")));
        let list = |v: &[String]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.join(" ")
            }
        };
        if !(self.joined.is_empty() && self.left.is_empty()) || title == "sync" {
            s.push_str(&format!("joined: {}\n", list(&self.joined)));
            s.push_str(&format!("left: {}\n", list(&self.left)));
        }
        if !self.lost.is_empty() {
            s.push_str(&format!("connection lost: {}\n", list(&self.lost)));
        }
        if !self.back.is_empty() {
            s.push_str(&format!("back online: {}\n", list(&self.back)));
        }
        if self.dry_run {
            for (kind, hosts) in &self.would_run {
                s.push_str(&format!("would run {kind} on [{}]\n", hosts.join(" ")));
            }
            if self.would_run.is_empty() {
                s.push_str("nothing to run\n");
            }
            s.push_str("(dry run: no host was contacted, the state is unchanged)\n");
            return s;
        }
        for e in &self.events {
            let failed = if e.failed.is_empty() {
                String::new()
            } else {
                format!(" (failed: {})", e.failed.join(" "))
            };
            s.push_str(&format!(
                "event #{} {} [{}]: {}{failed}\n",
                e.id,
                e.kind,
                e.hosts.join(" "),
                e.result
            ));
        }
        if self.events.is_empty() {
            s.push_str("no event ran\n");
        }
        s
    }
}
