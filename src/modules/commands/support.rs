//! What `command`, `shell` and `script` share: the `chdir`/`creates`/`removes` guards, run in
//! the same round trip as the command itself (a short `sh` prelude that reports a skip with a
//! per-run marker instead of running the command), and Ansible's result shape for a finished
//! command.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value};

use crate::modules::toolkit::async_job::{AsyncJob, Detached, launch};
use crate::modules::toolkit::clock::{local_timestamp, timedelta};
pub use crate::modules::toolkit::sh_words::ShWords;
use crate::modules::{Args, ModuleCtx, ModuleError, ModuleResult};
use crate::shell::sh_quote;
use crate::transport::ExecOutput;
use crate::values::splitlines;

/// The guard options as given (after templating).
#[derive(Clone, Debug, Default)]
pub struct Guards {
    pub chdir: Option<String>,
    pub creates: Option<String>,
    pub removes: Option<String>,
}

impl Guards {
    pub fn from_args(args: &Args) -> Self {
        let get = |k: &str| args.str(k).filter(|s| !s.is_empty());
        Guards {
            chdir: get("chdir"),
            creates: get("creates"),
            removes: get("removes"),
        }
    }

    /// Whether `creates`/`removes` can decide the outcome (Ansible's partial check mode).
    pub fn decides(&self) -> bool {
        self.creates.is_some() || self.removes.is_some()
    }
}

/// Why the prelude stopped before the command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// `creates` matched something.
    Creates,
    /// `removes` matched nothing.
    Removes,
    /// `cd` failed; the errno the prelude inferred.
    Chdir(i32),
    /// Check mode: every guard passed, the command would run.
    WouldRun,
}

impl Stop {
    /// The word the prelude prints after its marker for this stop.
    fn word(&self) -> String {
        match self {
            Stop::Creates => "creates".into(),
            Stop::Removes => "removes".into(),
            Stop::WouldRun => "run".into(),
            Stop::Chdir(e) => format!("chdir {e}"),
        }
    }
}

/// A random token the prelude prints alone on stdout to report a [`Stop`]; a command cannot
/// produce it by accident.
#[derive(Clone, Debug)]
pub struct Marker(String);

impl Default for Marker {
    fn default() -> Self {
        Marker(format!("__strata_{:016x}__", rand::random::<u64>()))
    }
}

impl Marker {
    /// The exact text the prelude prints to report `what`.
    pub fn text(&self, what: &str) -> String {
        format!("{} {what}", self.0)
    }

    fn emit(&self, what: &str) -> String {
        format!("printf '%s' {}; exit 0", sh_quote(&self.text(what)))
    }

    /// The stop the prelude reported, if the output is exactly a marker line.
    pub fn parse(&self, out: &ExecOutput) -> Option<Stop> {
        let text = std::str::from_utf8(&out.stdout).ok()?;
        let what = text.strip_prefix(&self.0)?.strip_prefix(' ')?;
        Some(match what {
            "creates" => Stop::Creates,
            "removes" => Stop::Removes,
            "run" => Stop::WouldRun,
            w => Stop::Chdir(w.strip_prefix("chdir ")?.parse().ok()?),
        })
    }

    /// `cd` into `dir`, or report why not (ENOENT, ENOTDIR or EACCES) and stop.
    pub fn chdir(&self, words: &mut ShWords, dir: &str) -> String {
        let d = words.word(dir, true, false);
        format!(
            "cd {d} 2>/dev/null || {{ if [ ! -e {d} ]; then __e=2; elif [ ! -d {d} ]; then __e=20; else __e=13; fi; \
             printf '%s' \"{} chdir $__e\"; exit 0; }}\n",
            self.0
        )
    }

    /// Stop when `pattern` matches an existing path. `glob` follows Ansible's command module
    /// (Python's `glob.glob`); `script` tests the path literally.
    pub fn creates(&self, words: &mut ShWords, pattern: &str, glob: bool) -> String {
        let w = words.word(pattern, true, glob);
        format!(
            "for __g in {w}; do if [ -e \"$__g\" ] || [ -L \"$__g\" ]; then {}; fi; done\n",
            self.emit("creates")
        )
    }

    /// Stop when `pattern` matches nothing.
    pub fn removes(&self, words: &mut ShWords, pattern: &str, glob: bool) -> String {
        let w = words.word(pattern, true, glob);
        format!(
            "__h=; for __g in {w}; do if [ -e \"$__g\" ] || [ -L \"$__g\" ]; then __h=1; break; fi; done\n\
             [ -n \"$__h\" ] || {{ {}; }}\n",
            self.emit("removes")
        )
    }

    /// Reports that all guards passed (check mode ends the script here).
    pub fn would_run(&self) -> String {
        format!("{}\n", self.emit("run"))
    }
}

/// Python's error text for the errno the `chdir` prelude reports.
pub fn chdir_message(errno: i32, dir: &str) -> String {
    let what = match errno {
        2 => "No such file or directory",
        20 => "Not a directory",
        _ => "Permission denied",
    };
    format!("Unable to change directory before execution: [Errno {errno}] {what}: '{dir}'")
}

/// Wall-clock bounds of one command run, measured around the round trip.
pub struct Timing {
    start: SystemTime,
    started: Instant,
}

impl Timing {
    pub fn start() -> Self {
        Timing {
            start: SystemTime::now(),
            started: Instant::now(),
        }
    }

    fn finish(&self) -> (String, String, Duration) {
        let took = self.started.elapsed();
        (
            local_timestamp(self.start),
            local_timestamp(self.start + took),
            took,
        )
    }
}

/// Ansible's keys for stdout/stderr: text, with trailing newlines stripped when `strip`.
pub fn with_streams(mut r: ModuleResult, stdout: &str, stderr: &str, strip: bool) -> ModuleResult {
    let clean = |s: &str| {
        if strip {
            s.trim_end_matches(['\r', '\n']).to_string()
        } else {
            s.to_string()
        }
    };
    let (so, se) = (clean(stdout), clean(stderr));
    r.data
        .insert("stdout_lines".into(), Value::Array(splitlines(&so)));
    r.data
        .insert("stderr_lines".into(), Value::Array(splitlines(&se)));
    r.data.insert("stdout".into(), so.into());
    r.data.insert("stderr".into(), se.into());
    r
}

/// The result of a command that ran: `changed`, and failed with "non-zero return code".
pub fn ran(cmd: Value, out: &ExecOutput, timing: &Timing, strip: bool) -> ModuleResult {
    let (start, end, took) = timing.finish();
    let mut r = ModuleResult::changed(true)
        .with("cmd", cmd)
        .with("rc", out.rc)
        .with("start", start)
        .with("end", end)
        .with("delta", timedelta(took))
        .msg("");
    r = with_streams(r, &out.stdout_str(), &out.stderr_str(), strip);
    if out.rc != 0 {
        r.failed = true;
        r.msg = Some("non-zero return code".into());
    }
    r
}

/// A command that did not run: the keys Ansible always returns, with `rc` and `msg` set.
pub fn not_run(cmd: Value, rc: Value, msg: String, stdout: &str) -> ModuleResult {
    let r = ModuleResult::changed(false)
        .with("cmd", cmd)
        .with("rc", rc)
        .with("start", Value::Null)
        .with("end", Value::Null)
        .with("delta", Value::Null)
        .msg(msg);
    with_streams(r, stdout, "", true)
}

/// Ansible's result when `creates`/`removes` skip a command (`shoulda` is "Did" or "Would").
pub fn guard_skip(cmd: Value, g: &Guards, stop: &Stop, check_mode: bool) -> ModuleResult {
    let shoulda = if check_mode { "Would" } else { "Did" };
    let (msg, stdout) = match stop {
        Stop::Creates => {
            let c = g.creates.as_deref().unwrap_or_default();
            (
                format!("{shoulda} not run command since '{c}' exists"),
                format!("skipped, since {c} exists"),
            )
        }
        _ => {
            let r = g.removes.as_deref().unwrap_or_default();
            (
                format!("{shoulda} not run command since '{r}' does not exist"),
                format!("skipped, since {r} does not exist"),
            )
        }
    };
    not_run(cmd, 0.into(), msg, &stdout)
}

/// One guarded run: `body` is the sh text that runs the command (its words built with
/// `words`, which the guards extend); `cmd` is what the result reports as `cmd`.
pub struct Guarded<'a> {
    pub cmd: Value,
    pub guards: &'a Guards,
    pub words: ShWords,
    pub body: String,
    pub stdin: Option<Vec<u8>>,
    pub strip: bool,
}

/// Runs `chdir`, `creates`, `removes` and the command in one round trip, with Ansible's
/// results for each outcome and its partial check mode (only the guards are evaluated, and
/// without guards the task is skipped).
pub async fn run_guarded(ctx: &ModuleCtx<'_>, g: Guarded<'_>) -> Result<ModuleResult, ModuleError> {
    let job = match plan(ctx.check_mode, g) {
        Planned::Done(r) => return Ok(r),
        Planned::Run(job) => job,
    };
    let timing = Timing::start();
    let out = ctx.run(&job.script, job.stdin.as_deref()).await?;
    Ok(match job.marker.parse(&out) {
        Some(stop) => job.stopped(&stop),
        None => ran(job.cmd, &out, &timing, job.strip),
    })
}

/// The same run as an async job (`async:`): the script runs detached on the host, and the
/// prelude's stops and the command's result are turned into Ansible's result there.
pub async fn launch_guarded(
    ctx: &ModuleCtx<'_>,
    g: Guarded<'_>,
    async_job: &AsyncJob,
) -> Result<ModuleResult, ModuleError> {
    let strip = g.strip;
    let detached = match plan(ctx.check_mode, g) {
        // Nothing to run (check mode without guards): the job only reports the result.
        Planned::Done(r) => {
            let marker = Marker::default();
            let text = marker.text("done");
            Detached {
                script: format!("printf '%s' {}\n", sh_quote(&text)),
                stdin: None,
                stops: vec![(text, r)],
                ran: Map::new(),
                strip,
            }
        }
        Planned::Run(job) => {
            let stops = [
                Stop::Creates,
                Stop::Removes,
                Stop::WouldRun,
                Stop::Chdir(2),
                Stop::Chdir(20),
                Stop::Chdir(13),
            ]
            .into_iter()
            .map(|s| (job.marker.text(&s.word()), job.stopped(&s)))
            .collect();
            let mut ran = Map::new();
            ran.insert("changed".into(), true.into());
            ran.insert("cmd".into(), job.cmd.clone());
            Detached {
                script: job.script,
                stdin: job.stdin,
                stops,
                ran,
                strip: job.strip,
            }
        }
    };
    launch(ctx, async_job, detached).await
}

/// What a guarded run needs once its arguments are known.
enum Planned {
    /// The result is known without running anything.
    Done(ModuleResult),
    Run(GuardedJob),
}

/// A guarded run's script and how to read what it printed.
struct GuardedJob {
    script: String,
    stdin: Option<Vec<u8>>,
    marker: Marker,
    cmd: Value,
    guards: Guards,
    strip: bool,
    check_mode: bool,
}

impl GuardedJob {
    /// The result when the prelude stopped before (or instead of) the command.
    fn stopped(&self, stop: &Stop) -> ModuleResult {
        let would_run = "Command would have run if not in check mode";
        match stop {
            Stop::Chdir(errno) => {
                let dir = self.guards.chdir.as_deref().unwrap_or_default();
                let mut r = not_run(
                    self.cmd.clone(),
                    Value::Null,
                    chdir_message(*errno, dir),
                    "",
                );
                r.failed = true;
                r
            }
            Stop::Creates | Stop::Removes => {
                guard_skip(self.cmd.clone(), &self.guards, stop, self.check_mode)
            }
            Stop::WouldRun => {
                let mut r = not_run(self.cmd.clone(), 0.into(), would_run.into(), "");
                r.changed = true;
                r
            }
        }
    }
}

/// The script for `chdir`, `creates`, `removes` and the command (or, in check mode, only the
/// guards), or the result when check mode has nothing to evaluate.
fn plan(check_mode: bool, mut g: Guarded<'_>) -> Planned {
    let would_run = "Command would have run if not in check mode";
    if check_mode && !g.guards.decides() {
        let mut r = not_run(g.cmd, 0.into(), would_run.into(), "");
        r.skipped = true;
        return Planned::Done(r);
    }
    let marker = Marker::default();
    let mut script = String::new();
    if let Some(d) = &g.guards.chdir {
        script.push_str(&marker.chdir(&mut g.words, d));
    }
    if let Some(c) = &g.guards.creates {
        script.push_str(&marker.creates(&mut g.words, c, true));
    }
    if let Some(r) = &g.guards.removes {
        script.push_str(&marker.removes(&mut g.words, r, true));
    }
    if check_mode {
        script.push_str(&marker.would_run());
    } else {
        script.push_str(&g.body);
    }
    Planned::Run(GuardedJob {
        script: format!("{}{script}", g.words.setup()),
        stdin: g.stdin,
        marker,
        cmd: g.cmd,
        guards: g.guards.clone(),
        strip: g.strip,
        check_mode,
    })
}

/// `stdin` as Ansible feeds it: a non-empty value gets a newline unless `stdin_add_newline: false`.
pub fn stdin_data(args: &Args) -> Result<Option<Vec<u8>>, ModuleError> {
    let Some(mut data) = args.str("stdin") else {
        return Ok(None);
    };
    if !data.is_empty() && args.bool_or("stdin_add_newline", true)? {
        data.push('\n');
    }
    Ok(Some(data.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("STRATA_T", "v a l")
            .env_remove("STRATA_UNSET")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn words_expand_like_python_and_quote_the_rest() {
        let mut w = ShWords::default();
        let words = [
            w.word("$STRATA_T/${STRATA_T}x", true, false),
            w.word("$STRATA_UNSET ${STRATA_UNSET} $1 ${} $", true, false),
            w.word("~root/a b", true, false),
            w.word("'q' \"d\" `x` *", true, false),
            w.word("$STRATA_T", false, false),
            w.word("", true, false),
        ];
        let script = format!("{}printf '[%s]' {}", w.setup(), words.join(" "));
        assert_eq!(
            sh(&script),
            "[v a l/v a lx][$STRATA_UNSET ${STRATA_UNSET} $1 ${} $][/root/a b]['q' \"d\" `x` *][$STRATA_T][]"
        );
    }

    #[test]
    fn glob_words_keep_wildcards_active() {
        let dir = crate::scratch::root().join(format!("strata-glob-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("x y")).unwrap();
        std::fs::write(dir.join("x y/f1.txt"), "").unwrap();
        std::fs::write(dir.join("x y/g.txt"), "").unwrap();
        let base = dir.join("x y").to_string_lossy().into_owned();
        let mut w = ShWords::default();
        let a = w.word(&format!("{base}/f*.txt"), true, true);
        let b = w.word(&format!("{base}/[!f].txt"), true, true);
        let c = w.word(&format!("{base}/f*.txt"), true, false);
        let out = sh(&format!(
            "{}for f in {a} {b} {c}; do printf '[%s]' \"${{f##*/}}\"; done",
            w.setup()
        ));
        assert_eq!(out, "[f1.txt][g.txt][f*.txt]");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn splitlines_like_python() {
        assert_eq!(splitlines("a\nb\r\nc\rd\n"), ["a", "b", "c", "d"]);
        assert_eq!(splitlines("a\n\nb"), ["a", "", "b"]);
        assert!(splitlines("").is_empty());
    }
}
