//! The only place that prints during a run. It consumes executor events and draws Ansible-style
//! output (headers, one line per host, diffs, the PLAY RECAP), an indicatif bar of hosts done
//! on the current task when stderr is a terminal, or one JSON object per event with `--json`.
//! `strata run` has a mode of its own, Ansible's ad-hoc output, in `reporter/adhoc.rs`.

pub mod adhoc;

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};

use crate::events::FileDiff;
use crate::events::{Event, EventRx, HostResult, HostStats, Status};

#[derive(Clone, Copy, Debug, Default)]
pub struct ReporterOptions {
    pub json: bool,
    pub verbosity: u8,
    pub diff: bool,
    /// Draw the progress bar (stderr is a terminal and output is not JSON).
    pub progress: bool,
}

impl ReporterOptions {
    pub fn detect(json: bool, verbosity: u8, diff: bool) -> Self {
        ReporterOptions {
            json,
            verbosity,
            diff,
            progress: !json && std::io::stderr().is_terminal(),
        }
    }
}

pub struct Reporter<W: Write> {
    out: W,
    /// Where text-mode warnings go: stderr for a terminal run, as Ansible's `Display.warning`.
    err: Box<dyn Write + Send>,
    opts: ReporterOptions,
    bar: Option<ProgressBar>,
    play_hosts: usize,
    last_header: Option<String>,
}

/// Ansible's banner: the title padded with `*` to 80 columns.
pub fn banner(title: &str) -> String {
    let pad = 80usize.saturating_sub(title.chars().count() + 1).max(3);
    format!("{title} {}", "*".repeat(pad))
}

/// `host : ok=N changed=N ...` exactly as Ansible lays it out (`%-26s` and `%s=%-4s`).
pub fn recap_line(s: &HostStats) -> String {
    let f = |k: &str, v: u32| format!("{k}={v:<4}");
    format!(
        "{:<26} : {} {} {} {} {} {} {}",
        s.host,
        f("ok", s.ok),
        f("changed", s.changed),
        f("unreachable", s.unreachable),
        f("failed", s.failed),
        f("skipped", s.skipped),
        f("rescued", s.rescued),
        f("ignored", s.ignored),
    )
}

/// A unified diff of one file, as `--diff` shows it.
pub fn unified_diff(d: &FileDiff) -> String {
    let diff = similar::TextDiff::from_lines(&d.before, &d.after);
    let mut out = diff
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("before: {}", d.before_header),
            &format!("after: {}", d.after_header),
        )
        .to_string();
    if out.is_empty() && d.before_header != d.after_header {
        out = format!(
            "--- before: {}\n+++ after: {}\n",
            d.before_header, d.after_header
        );
    }
    out
}

/// Writes a line with the progress bar, if any, lifted off the terminal meanwhile.
fn write_line(bar: Option<&ProgressBar>, w: &mut impl Write, s: &str) {
    match bar {
        Some(b) => b.suspend(|| {
            let _ = writeln!(w, "{s}");
        }),
        None => {
            let _ = writeln!(w, "{s}");
        }
    }
}

fn word(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Changed => "changed",
        Status::Failed => "fatal",
        Status::Skipped => "skipping",
        Status::Unreachable => "fatal",
        Status::Ignored => "fatal",
    }
}

impl<W: Write> Reporter<W> {
    pub fn new(out: W, opts: ReporterOptions) -> Self {
        Reporter {
            out,
            err: Box::new(std::io::sink()),
            opts,
            bar: None,
            play_hosts: 0,
            last_header: None,
        }
    }

    /// Sends text-mode warnings to `err` (they are dropped otherwise; `--json` keeps them
    /// on `out` as events).
    pub fn with_err(mut self, err: Box<dyn Write + Send>) -> Self {
        self.err = err;
        self
    }

    /// Drains events until the channel closes; returns the recap stats if one was sent.
    pub async fn run(mut self, mut rx: EventRx) -> Option<Vec<HostStats>> {
        let mut recap = None;
        while let Some(ev) = rx.recv().await {
            if let Event::Recap { stats, .. } = &ev {
                recap = Some(stats.clone());
            }
            self.handle(&ev);
        }
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        recap
    }

    fn line(&mut self, s: &str) {
        write_line(self.bar.as_ref(), &mut self.out, s);
    }

    pub fn handle(&mut self, ev: &Event) {
        if self.opts.json {
            let _ = serde_json::to_writer(&mut self.out, ev);
            let _ = writeln!(self.out);
            return;
        }
        match ev {
            Event::StackEvent { kind, hosts } => {
                self.line(&format!(
                    "\n{}",
                    banner(&format!("EVENT {kind} [{}]", hosts.join(" ")))
                ));
            }
            Event::PlaybookStart { .. } => {}
            Event::PlayStart { name, hosts } => {
                self.play_hosts = hosts.len();
                self.line(&format!("\n{}", banner(&format!("PLAY [{name}]"))));
            }
            Event::TaskStart { name, handler, .. } => {
                let kind = if *handler { "RUNNING HANDLER" } else { "TASK" };
                let header = format!("{kind} [{name}]");
                self.last_header = Some(header.clone());
                self.line(&format!("\n{}", banner(&header)));
                if self.opts.progress {
                    if let Some(b) = self.bar.take() {
                        b.finish_and_clear();
                    }
                    let b = ProgressBar::new(self.play_hosts as u64);
                    b.set_style(
                        ProgressStyle::with_template(
                            "{spinner} {pos}/{len} hosts {wide_bar} {elapsed}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    self.bar = Some(b);
                }
            }
            Event::HostResult(r) => self.host_result(r),
            Event::Warning { host, msg } => {
                let who = host
                    .as_ref()
                    .map(|h| format!("[{h}]: "))
                    .unwrap_or_default();
                let text = format!("[WARNING]: {who}{msg}");
                write_line(self.bar.as_ref(), &mut self.err, &text);
            }
            Event::Retry {
                host,
                task,
                attempt,
                retries,
            } => {
                let left = retries.saturating_sub(*attempt) + 1;
                self.line(&format!(
                    "FAILED - RETRYING: [{host}]: {task} ({left} retries left)."
                ));
            }
            Event::NoHostsMatched { pattern } => {
                self.line(&format!("skipping: no hosts matched `{pattern}`"));
            }
            Event::PlayEnd { .. } => {}
            Event::Recap {
                stats,
                elapsed_secs,
                custom_stats,
                global_custom_stats,
            } => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
                self.line(&format!("\n{}", banner("PLAY RECAP")));
                for s in stats {
                    let l = recap_line(s);
                    self.line(&l);
                }
                for l in custom_stats_lines(custom_stats, global_custom_stats) {
                    self.line(&l);
                }
                self.line(&format!("\nElapsed: {elapsed_secs:.2}s"));
            }
        }
    }

    fn host_result(&mut self, r: &HostResult) {
        let (host, status, msg, result) = (&r.host, r.status, &r.msg, &r.result);
        let item = r.item.as_deref();
        // `debug` results are always shown, as in Ansible.
        let always_show = r.action == "debug";
        if item.is_none()
            && let Some(b) = &self.bar
        {
            b.inc(1);
        }
        if self.opts.diff {
            for d in &r.diff {
                let text = unified_diff(d);
                if !text.is_empty() {
                    self.line(text.trim_end());
                }
            }
        }
        let who = match r.delegated_to.as_deref() {
            Some(d) => format!("[{host} -> {d}]"),
            None => format!("[{host}]"),
        };
        // Loop tasks already printed one line per item; Ansible adds the aggregate only when
        // it failed or every item was skipped.
        if item.is_none()
            && result.get("results").is_some()
            && matches!(status, Status::Ok | Status::Changed)
        {
            return;
        }
        let item_part = item.map(|i| format!(" => (item={i})")).unwrap_or_default();
        let v = self.opts.verbosity;
        let line = match status {
            Status::Failed | Status::Ignored => format!(
                "{}: {who}{item_part}: FAILED! => {}",
                word(status),
                compact(result, msg, v)
            ),
            Status::Unreachable => {
                format!("fatal: {who}: UNREACHABLE! => {}", compact(result, msg, v))
            }
            _ => {
                let show = self.opts.verbosity > 0 || always_show;
                if show && status != Status::Skipped {
                    format!(
                        "{}: {who}{item_part} => {}",
                        word(status),
                        pretty(result, v)
                    )
                } else {
                    format!("{}: {who}{item_part}", word(status))
                }
            }
        };
        self.line(&line);
        if status == Status::Ignored {
            self.line("...ignoring");
        }
    }
}

/// The default callback's `CUSTOM STATS` block (when `show_custom_stats` gave any): each
/// host's, then the run's, as `json.dumps(indent=1)` with its newlines removed.
fn custom_stats_lines(hosts: &Map<String, Value>, run: &Map<String, Value>) -> Vec<String> {
    if hosts.is_empty() && run.is_empty() {
        return Vec::new();
    }
    let one_line = |v: &Value| py_json(v, Some(1)).replace('\n', "");
    // Ansible ends the recap with an empty line, and its banners start with one.
    let mut out = vec![String::new(), format!("\n{}", banner("CUSTOM STATS:"))];
    let mut names: Vec<&String> = hosts.keys().collect();
    names.sort();
    for h in names {
        out.push(format!("\t{h}: {}", one_line(&hosts[h])));
    }
    if !run.is_empty() {
        out.push(String::new());
        out.push(format!("\tRUN: {}", one_line(&Value::Object(run.clone()))));
    }
    out.push(String::new());
    out
}

/// Keys Ansible never shows in a result line.
fn displayable(result: &Value, drop_false: bool, verbosity: u8) -> Value {
    let mut v = result.clone();
    if let Value::Object(m) = &mut v {
        m.remove("ansible_loop_var");
        if drop_false {
            m.remove("item");
        }
        m.remove("_ansible_no_log");
        // Modules that return `diff` as data (timezone, pam_limits...): Ansible's
        // `_dump_results` leaves it off the screen below -vvv.
        if verbosity < 3 {
            m.remove("diff");
        }
        for k in ["changed", "failed"] {
            if drop_false && m.get(k) == Some(&Value::Bool(false)) {
                m.remove(k);
            }
        }
        if m.get("failed") == Some(&Value::Bool(true)) {
            m.remove("failed");
        }
    }
    v
}

/// Python's `json.dumps(sort_keys=True)` with an optional indent, as Ansible prints results.
pub fn py_json(v: &Value, indent: Option<usize>) -> String {
    fn go(v: &Value, indent: Option<usize>, level: usize, out: &mut String) {
        let nl = |out: &mut String, level: usize| {
            if let Some(n) = indent {
                out.push('\n');
                out.push_str(&" ".repeat(n * level));
            }
        };
        let sep = if indent.is_some() { "," } else { ", " };
        match v {
            Value::Array(a) if !a.is_empty() => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(sep);
                    }
                    nl(out, level + 1);
                    go(x, indent, level + 1, out);
                }
                nl(out, level);
                out.push(']');
            }
            Value::Object(m) if !m.is_empty() => {
                out.push('{');
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push_str(sep);
                    }
                    nl(out, level + 1);
                    out.push_str(&Value::String((*k).clone()).to_string());
                    out.push_str(": ");
                    go(&m[*k], indent, level + 1, out);
                }
                nl(out, level);
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    go(v, indent, 0, &mut out);
    out
}

fn compact(result: &Value, msg: &str, verbosity: u8) -> String {
    let mut v = displayable(result, false, verbosity);
    if let Value::Object(m) = &mut v
        && !msg.is_empty()
        && !m.contains_key("msg")
    {
        m.insert("msg".into(), msg.into());
    }
    py_json(&v, None)
}

/// Ansible's `-v`/debug display: indented, without bookkeeping keys.
fn pretty(result: &Value, verbosity: u8) -> String {
    py_json(&displayable(result, true, verbosity), Some(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recap_matches_ansible_layout() {
        let s = HostStats {
            host: "web1".into(),
            ok: 3,
            changed: 1,
            ..Default::default()
        };
        assert_eq!(
            recap_line(&s),
            "web1                       : ok=3    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   "
        );
        assert_eq!(
            py_json(&serde_json::json!({"b": [1, "x"], "a": {}}), None),
            r#"{"a": {}, "b": [1, "x"]}"#
        );
        assert_eq!(banner("PLAY RECAP").len(), 80);
    }

    #[test]
    fn custom_stats_as_the_default_callback_prints_them() {
        let hosts = serde_json::json!({"web1": {"b": [1, 2], "a": 1}});
        let run = serde_json::json!({"deployed": 2});
        let lines = custom_stats_lines(hosts.as_object().unwrap(), run.as_object().unwrap());
        assert_eq!(lines[0], "");
        assert!(lines[1].starts_with("\nCUSTOM STATS: ***"), "{lines:?}");
        assert_eq!(lines[2], "\tweb1: { \"a\": 1, \"b\": [  1,  2 ]}");
        assert_eq!(lines[3], "");
        assert_eq!(lines[4], "\tRUN: { \"deployed\": 2}");
        assert!(custom_stats_lines(&Map::new(), &Map::new()).is_empty());
    }

    #[test]
    fn diff_is_unified() {
        let d = FileDiff {
            before_header: "/etc/x".into(),
            after_header: "/etc/x".into(),
            before: "a\nb\n".into(),
            after: "a\nc\n".into(),
        };
        let u = unified_diff(&d);
        assert!(
            u.contains("--- before: /etc/x") && u.contains("-b") && u.contains("+c"),
            "{u}"
        );
    }

    /// A `Write` both the reporter and the test hold.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn warnings_go_to_stderr_and_diff_data_shows_from_vvv() {
        let opts = |verbosity| ReporterOptions {
            verbosity,
            ..Default::default()
        };
        let (out, err) = (Shared::default(), Shared::default());
        let mut r = Reporter::new(out.clone(), opts(1)).with_err(Box::new(err.clone()));
        r.handle(&Event::Warning {
            host: None,
            msg: "Could not match supplied host pattern, ignoring: web9".into(),
        });
        let result = HostResult {
            host: "web1".into(),
            task: "tz".into(),
            action: "timezone".into(),
            status: Status::Changed,
            msg: String::new(),
            item: None,
            result: serde_json::json!({"changed": true, "diff": {"before": "UTC"}}),
            diff: vec![],
            delegated_to: None,
        };
        r.handle(&Event::HostResult(result.clone()));
        assert_eq!(
            err.text(),
            "[WARNING]: Could not match supplied host pattern, ignoring: web9\n"
        );
        assert!(!out.text().contains("WARNING"), "{}", out.text());
        assert!(!out.text().contains("\"diff\""), "{}", out.text());

        let out = Shared::default();
        let mut r = Reporter::new(out.clone(), opts(3));
        r.handle(&Event::HostResult(result));
        assert!(out.text().contains("\"diff\": {"), "{}", out.text());
    }
}
