//! The reporter's ad-hoc mode (`strata run`): each host's result as Ansible's `ansible`
//! command prints it when the host finishes, through its `minimal` callback (`host | CHANGED
//! | rc=0 >>` and the output for command-like modules, `host | SUCCESS => {...}` for the
//! others, `FAILED!`, `UNREACHABLE!`, and ansible-core 2.19's `[ERROR]` block before a
//! failure) or its `oneline` callback (`-o`); or one JSON object per event (`--json`). With
//! a tree directory, each host's result is also written to `DIR/<host>`, as the `tree`
//! callback does. No headers and no recap, as in Ansible.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{py_json, unified_diff};
use crate::events::{Event, EventRx, HostResult, Status};

/// Modules whose output Ansible shows as text rather than JSON (`MODULE_NO_JSON`).
const NO_JSON: &[&str] = &["command", "shell", "raw"];

#[derive(Clone, Debug, Default)]
pub struct AdhocOptions {
    /// `-o`: one line per host.
    pub one_line: bool,
    /// `--json`: every event as a JSON object, as `strata playbook --json`.
    pub json: bool,
    /// `-t DIR`.
    pub tree: Option<PathBuf>,
    /// `-D`: file diffs before the host's line.
    pub diff: bool,
    /// `<adhoc 'command' task>`, named in the error block.
    pub origin: String,
    /// Python's repr of the task, shown in the error block.
    pub task_repr: String,
}

pub struct AdhocReporter<W: Write, E: Write> {
    out: W,
    err: E,
    opts: AdhocOptions,
    /// Error blocks and warnings already shown: Ansible's display prints each text once per
    /// run, so N hosts failing alike get one `[ERROR]` block, before the first of them.
    shown: HashSet<String>,
}

/// Whether the module's results print as text.
fn no_json(action: &str) -> bool {
    let short = action
        .strip_prefix("ansible.builtin.")
        .or_else(|| action.strip_prefix("ansible.legacy."))
        .unwrap_or(action);
    NO_JSON.contains(&short)
}

/// The result as Ansible's `_dump_results` shows it: without `invocation`, `diff`,
/// `exception`, `warnings`, `deprecations`, internal `_ansible_*` keys, and the status
/// flags its callbacks already stated (`failed`, `skipped`).
fn shown(result: &Value) -> Value {
    let mut v = result.clone();
    if let Value::Object(m) = &mut v {
        m.retain(|k, _| !k.starts_with("_ansible_"));
        for k in [
            "invocation",
            "diff",
            "exception",
            "warnings",
            "deprecations",
            "failed",
            "skipped",
            "ansible_loop_var",
        ] {
            m.remove(k);
        }
    }
    v
}

fn text(result: &Value, key: &str) -> String {
    match result.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn rc(result: &Value) -> String {
    match result.get("rc") {
        Some(v) if !v.is_null() => v.to_string(),
        _ => "-1".into(),
    }
}

/// `json.dumps(indent=0)` with its newlines removed, as the `oneline` callback prints.
fn one_line_json(v: &Value) -> String {
    py_json(v, Some(0)).replace('\n', "")
}

impl<W: Write, E: Write> AdhocReporter<W, E> {
    pub fn new(out: W, err: E, opts: AdhocOptions) -> Self {
        AdhocReporter {
            out,
            err,
            opts,
            shown: HashSet::new(),
        }
    }

    /// Drains events until the channel closes.
    pub async fn run(mut self, mut rx: EventRx) {
        while let Some(ev) = rx.recv().await {
            self.handle(&ev);
        }
        let _ = self.out.flush();
    }

    fn line(&mut self, s: &str) {
        let _ = writeln!(self.out, "{s}");
        let _ = self.out.flush();
    }

    fn warn(&mut self, s: &str) {
        let line = format!("[WARNING]: {s}");
        if self.shown.insert(line.clone()) {
            let _ = writeln!(self.err, "{line}");
        }
    }

    pub fn handle(&mut self, ev: &Event) {
        if let Event::HostResult(r) = ev {
            self.tree(r);
        }
        if self.opts.json {
            let _ = serde_json::to_writer(&mut self.out, ev);
            self.line("");
            return;
        }
        match ev {
            Event::HostResult(r) => self.host_result(r),
            Event::Warning { host, msg } => {
                let who = host
                    .as_ref()
                    .map(|h| format!("[{h}]: "))
                    .unwrap_or_default();
                self.warn(&format!("{who}{msg}"));
            }
            Event::NoHostsMatched { .. } => self.warn("No hosts matched, nothing to do"),
            _ => {}
        }
    }

    fn host_result(&mut self, r: &HostResult) {
        // A loop's items are summed up by its aggregate result, the one Ansible reports.
        if r.item.is_some() {
            return;
        }
        if let Some(w) = r.result.get("warnings").and_then(Value::as_array) {
            for w in w.clone() {
                self.warn(&w.as_str().map_or_else(|| w.to_string(), str::to_string));
            }
        }
        if self.opts.diff {
            for d in &r.diff {
                let t = unified_diff(d);
                if !t.is_empty() {
                    self.line(t.trim_end());
                }
            }
        }
        let lines = if self.opts.one_line {
            one_line(r)
        } else {
            self.minimal(r)
        };
        for l in lines {
            self.line(&l);
        }
    }

    /// Ansible's `minimal` callback, with ansible-core 2.19's error block before a failure.
    fn minimal(&mut self, r: &HostResult) -> Vec<String> {
        let host = &r.host;
        let res = &r.result;
        let v = shown(res);
        match r.status {
            Status::Ok | Status::Changed => {
                let state = state(res);
                if no_json(&r.action) {
                    vec![generic(host, res, state)]
                } else {
                    vec![format!("{host} | {state} => {}", py_json(&v, Some(4)))]
                }
            }
            Status::Failed | Status::Ignored => {
                let msg = res
                    .get("msg")
                    .and_then(Value::as_str)
                    .unwrap_or(&r.msg)
                    .to_string();
                let mut out = self.error_block(&format!("Task failed: Module failed: {msg}"));
                if no_json(&r.action) && res.get("module_stderr").is_none() {
                    out.push(generic(host, res, "FAILED"));
                } else {
                    out.push(format!("{host} | FAILED! => {}", py_json(&v, Some(4))));
                }
                out
            }
            Status::Unreachable => {
                let msg = text(res, "msg");
                let msg = if msg.starts_with("Task failed: ") {
                    msg
                } else {
                    format!("Task failed: {msg}")
                };
                let mut out = self.error_block(&msg);
                out.push(format!("{host} | UNREACHABLE! => {}", py_json(&v, Some(4))));
                out
            }
            Status::Skipped => vec![format!("{host} | SKIPPED")],
        }
    }

    /// `[ERROR]: ...`, the task's origin and repr, as ansible-core 2.19 prints on stdout
    /// before a failed or unreachable host's result, once per message.
    fn error_block(&mut self, msg: &str) -> Vec<String> {
        let first = format!("[ERROR]: {msg}");
        if !self.shown.insert(first.clone()) {
            return Vec::new();
        }
        vec![
            first,
            format!("Origin: {}", self.opts.origin),
            String::new(),
            self.opts.task_repr.clone(),
            String::new(),
        ]
    }

    /// `DIR/<host>`: the result as compact JSON, replaced atomically; a failure is a warning,
    /// as in Ansible.
    fn tree(&mut self, r: &HostResult) {
        let Some(dir) = self.opts.tree.clone() else {
            return;
        };
        if r.item.is_some() || r.status == Status::Skipped {
            return;
        }
        let text = py_json(&shown(&r.result), None);
        if let Err(e) = write_atomic(&dir, &r.host, text.as_bytes()) {
            self.warn(&format!(
                "Unable to write to {:?}'s file in {}: {e}",
                r.host,
                dir.display()
            ));
        }
    }
}

/// CHANGED or SUCCESS, from the result's `changed`.
fn state(res: &Value) -> &'static str {
    if res.get("changed").and_then(Value::as_bool) == Some(true) {
        "CHANGED"
    } else {
        "SUCCESS"
    }
}

/// `host | STATE | rc=N >>` and the output: stdout, stderr and msg run together, as
/// Ansible's `minimal` callback joins them.
fn generic(host: &str, res: &Value, state: &str) -> String {
    format!(
        "{host} | {state} | rc={} >>\n{}{}{}",
        rc(res),
        text(res, "stdout"),
        text(res, "stderr"),
        text(res, "msg")
    )
}

/// Ansible's `oneline` callback.
fn one_line(r: &HostResult) -> Vec<String> {
    let host = &r.host;
    let res = &r.result;
    let escape = |s: String| s.replace('\n', "\\n").replace('\r', "\\r");
    let generic = |state: &str| {
        let stdout = escape(text(res, "stdout"));
        let stderr = escape(text(res, "stderr"));
        if stderr.is_empty() {
            format!("{host} | {state} | rc={} | (stdout) {stdout}", rc(res))
        } else {
            format!(
                "{host} | {state} | rc={} | (stdout) {stdout} (stderr) {stderr}",
                rc(res)
            )
        }
    };
    let v = shown(res);
    match r.status {
        Status::Ok | Status::Changed => {
            let state = state(res);
            if no_json(&r.action) {
                vec![generic(state)]
            } else {
                vec![format!("{host} | {state} => {}", one_line_json(&v))]
            }
        }
        Status::Failed | Status::Ignored => {
            let first = if no_json(&r.action) && res.get("module_stderr").is_none() {
                generic("FAILED")
            } else {
                "An exception occurred during task execution. To see the full traceback, use \
                 -vvv. The error was: (traceback unavailable)"
                    .to_string()
            };
            vec![first, format!("{host} | FAILED! => {}", one_line_json(&v))]
        }
        Status::Unreachable => vec![format!("{host} | UNREACHABLE!: {}", text(res, "msg"))],
        Status::Skipped => vec![format!("{host} | SKIPPED")],
    }
}

/// Writes `name` in `dir` (created if needed) through a temporary file and a rename, so a
/// reader never sees half a result.
fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, dir.join(name)).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result(action: &str, status: Status, v: Value) -> HostResult {
        HostResult {
            host: "web1".into(),
            task: action.into(),
            action: action.into(),
            status,
            msg: String::new(),
            item: None,
            result: v,
            diff: Vec::new(),
            delegated_to: None,
        }
    }

    fn render(opts: AdhocOptions, r: HostResult) -> String {
        let mut out = Vec::new();
        let mut rep = AdhocReporter::new(&mut out, std::io::sink(), opts);
        rep.handle(&Event::HostResult(r));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn minimal_layouts() {
        let o = AdhocOptions {
            origin: "<adhoc 'command' task>".into(),
            task_repr: "{'action': 'command'}".into(),
            ..Default::default()
        };
        let cmd = json!({"changed": true, "failed": false, "rc": 0, "stdout": "hi", "stderr": "", "msg": ""});
        assert_eq!(
            render(o.clone(), result("command", Status::Changed, cmd)),
            "web1 | CHANGED | rc=0 >>\nhi\n"
        );
        let ping = json!({"changed": false, "failed": false, "ping": "pong"});
        assert_eq!(
            render(o.clone(), result("ping", Status::Ok, ping.clone())),
            "web1 | SUCCESS => {\n    \"changed\": false,\n    \"ping\": \"pong\"\n}\n"
        );
        let failed = json!({"changed": true, "failed": true, "rc": 2, "stdout": "", "stderr": "no", "msg": "non-zero return code"});
        assert_eq!(
            render(o.clone(), result("shell", Status::Failed, failed.clone())),
            "[ERROR]: Task failed: Module failed: non-zero return code\nOrigin: <adhoc 'command' task>\n\n{'action': 'command'}\n\nweb1 | FAILED | rc=2 >>\nnonon-zero return code\n"
        );
        let one = AdhocOptions {
            one_line: true,
            ..o
        };
        assert_eq!(
            render(one.clone(), result("ping", Status::Ok, ping)),
            "web1 | SUCCESS => {\"changed\": false,\"ping\": \"pong\"}\n"
        );
        let out = render(one.clone(), result("shell", Status::Failed, failed));
        assert!(
            out.starts_with("web1 | FAILED | rc=2 | (stdout)  (stderr) no\nweb1 | FAILED! => {\"changed\": true,"),
            "{out}"
        );
        let unreachable = json!({"changed": false, "unreachable": true, "msg": "gone"});
        assert_eq!(
            render(one, result("ping", Status::Unreachable, unreachable)),
            "web1 | UNREACHABLE!: gone\n"
        );
    }

    #[test]
    fn tree_writes_one_file_per_host() {
        let dir = crate::scratch::root().join(format!("strata-tree-{}", std::process::id()));
        let o = AdhocOptions {
            tree: Some(dir.clone()),
            ..Default::default()
        };
        let ping = json!({"changed": false, "failed": false, "ping": "pong"});
        render(o, result("ping", Status::Ok, ping));
        assert_eq!(
            std::fs::read_to_string(dir.join("web1")).unwrap(),
            r#"{"changed": false, "ping": "pong"}"#
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
