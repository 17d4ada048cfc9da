//! `expect` (ansible.builtin.expect): runs a command on a terminal and answers its prompts.
//! Ansible's module needs Python's pexpect on the host; strata needs no Python there and drives
//! the command with the Tcl `expect` program instead (Debian's `expect` package), through a
//! script generated here. The command, the patterns, the responses and the timeout are in
//! that script, which travels on stdin into a private temporary file: none of them is on a
//! command line. Strings go into the Tcl script hex-encoded, so no quoting can break it.
//!
//! What follows pexpect's `run`: the command is split into words (no shell), runs on a pty
//! with echo off unless `echo: true`, each pattern is a regular expression searched in the
//! output, a list answers successive matches and fails once exhausted, the timeout counts per
//! wait, and the output is the terminal's (with its `\r\n`). A list that runs out fails with
//! the output since the previous answer shown as Ansible shows it, Python's repr of bytes
//! (`output was 'b': Color''`). One difference: when several patterns match the same output,
//! pexpect takes the earliest match in the output, Tcl expect the first pattern in the order
//! given; and Tcl's regular expressions are not Python's in rare constructs (lookbehind, for
//! one).

use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use serde_json::Value;

use crate::modules::toolkit::clock::{local_timestamp, timedelta};
use crate::modules::toolkit::sections::{SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::{sh_quote, shlex};
use crate::template::pyrepr::repr_bytes;

pub struct Expect;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "expect",
    params: &[
        Param::new("command", T::Str).required(),
        Param::new("chdir", T::Str),
        Param::new("creates", T::Str),
        Param::new("removes", T::Str),
        Param::new("responses", T::Dict).required(),
        Param::new("timeout", T::Raw),
        Param::new("echo", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Expect {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }
    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(run(ctx, args))
    }
}

/// A Tcl expression that yields `s` exactly, whatever it holds.
fn tcl_str(s: &str) -> String {
    let hex: String = s.bytes().map(|b| format!("{b:02x}")).collect();
    format!("[encoding convertfrom utf-8 [binary format H* {hex}]]")
}

/// One `responses` entry: the pattern and the answers (one, or a list for successive matches).
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub pattern: String,
    pub answers: Vec<String>,
    pub list: bool,
}

/// The Tcl script: spawn, answer, collect the output, and report how it ended on the lines
/// after `marker` (`rc N`, `timeout`, `exhausted I`, `notfound`).
pub fn tcl_script(
    words: &[String],
    responses: &[Response],
    timeout: Option<i64>,
    echo: bool,
    marker: &str,
) -> String {
    let mut t = String::from("log_user 0\nfconfigure stdout -translation binary -encoding utf-8\n");
    t.push_str(&format!(
        "set timeout {}\nmatch_max -d 4000000\n",
        timeout.unwrap_or(-1)
    ));
    if !echo {
        t.push_str("set stty_init -echo\n");
    }
    t.push_str(&format!("set m {}\n", tcl_str(marker)));
    t.push_str("set argv0 {}\nset cmd [list");
    for w in words {
        t.push_str(&format!(" {}", tcl_str(w)));
    }
    t.push_str("]\n");
    t.push_str(
        "if {[auto_execok [lindex $cmd 0]] eq {}} { puts \"\\n$m\\nnotfound\"; exit 0 }\n\
         if {[catch {spawn -noecho {*}$cmd} err]} { puts \"\\n$m\\nspawnerr\\n$err\"; exit 0 }\n",
    );
    for (i, r) in responses.iter().enumerate() {
        t.push_str(&format!("set n{i} 0\nset a{i} [list"));
        for a in &r.answers {
            t.push_str(&format!(" {}", tcl_str(a.trim_end_matches('\n'))));
        }
        t.push_str("]\n");
    }
    t.push_str("set out {}\nset how eof\nexpect {\n");
    for (i, r) in responses.iter().enumerate() {
        let answer = if r.list {
            format!(
                "if {{$n{i} >= [llength $a{i}]}} {{ set how \"exhausted {i}\"; set last $expect_out(buffer) }} else {{ \
                 send -- \"[lindex $a{i} $n{i}]\\n\"; incr n{i}; exp_continue }}"
            )
        } else {
            format!("send -- \"[lindex $a{i} 0]\\n\"; exp_continue")
        };
        // Python's leading `(?i)` is expect's `-nocase`: expect's pre-filter ("gate keeper")
        // would otherwise look for the pattern's literal text case-sensitively.
        let (nocase, pattern) = match r.pattern.strip_prefix("(?i)") {
            Some(rest) => ("-nocase ", rest),
            None => ("", r.pattern.as_str()),
        };
        t.push_str(&format!(
            "  {nocase}-re {} {{ append out $expect_out(buffer); {answer} }}\n",
            tcl_str(pattern)
        ));
    }
    t.push_str(
        "  timeout { set how timeout; expect -timeout 0 -re {.+} { append out $expect_out(buffer) } }\n  eof { append out $expect_out(buffer) }\n}\n\
         if {$how eq {eof}} { set w [wait]; if {[lindex $w 2] == 0 && [llength $w] == 4} \
         { set how \"rc [lindex $w 3]\" } else { set how \"signal $w\" } } else { catch {close}; catch {wait} }\n\
         puts -nonewline $out\nputs \"\\n$m\\n$how\"\n\
         if {[string match exhausted* $how]} { puts -nonewline $last }\nflush stdout\nexit 0\n",
    );
    t
}

fn parse_responses(args: &Args) -> Result<Vec<Response>, ModuleError> {
    let map = args.dict("responses")?.unwrap_or_default();
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let text = |v: &Value| crate::values::to_str(v).unwrap_or_else(|| v.to_string());
            match v {
                Value::Array(a) => Response {
                    pattern: k,
                    answers: a.iter().map(text).collect(),
                    list: true,
                },
                other => Response {
                    pattern: k,
                    answers: vec![text(&other)],
                    list: false,
                },
            }
        })
        .collect())
}

fn timeout_of(args: &Args) -> Result<Option<i64>, ModuleError> {
    match args.0.get("timeout") {
        None => Ok(Some(30)),
        Some(Value::Null) => Ok(None),
        Some(v @ Value::String(_)) => args
            .int("timeout")
            .map_err(|_| {
                ModuleError::Args(format!(
                    "argument 'timeout' is of type <class 'str'> and we were unable to convert to int: {v}"
                ))
            }),
        Some(_) => args.int("timeout"),
    }
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let command = args.req_str("command")?;
    let responses = parse_responses(args)?;
    let timeout = timeout_of(args)?;
    let echo = args.bool_or("echo", false)?;
    if ctx.check_mode {
        let mut r = ModuleResult::ok().msg("remote module (expect) does not support check mode");
        r.skipped = true;
        return Ok(r);
    }
    if command.trim().is_empty() {
        return Ok(ModuleResult::failed("no command given").with("rc", 256));
    }
    let words = shlex::split(&command).map_err(|e| ModuleError::Args(e.to_string()))?;
    let mut s = SectionScript::new();
    let marker = s.marker().to_string();
    s.line(
        "__x=$(PATH=\"$PATH:/sbin:/usr/sbin:/usr/local/sbin\" command -v expect) || \
            { __s_val noexpect 1; exit 0; }",
    );
    if let Some(d) = args.str("chdir") {
        // Python's os.chdir: a missing directory is an error that ends the module.
        s.line(&format!(
            "cd {} || {{ __s_val nochdir 1; exit 0; }}",
            sh_quote(&d)
        ));
    }
    for (key, test, shown) in [
        ("creates", "", "exists"),
        ("removes", "!", "does not exist"),
    ] {
        if let Some(p) = args.str(key) {
            s.line(&format!(
                "if {test} [ -e {q} ]; then __s_val skip {m}; exit 0; fi",
                q = sh_quote(&p),
                m = sh_quote(&format!("skipped, since {p} {shown}"))
            ));
        }
    }
    s.line(
        "__t=$(umask 077 && mktemp) || exit 1\n\
         trap 'rm -f -- \"$__s_so\" \"$__s_se\" \"$__t\"' EXIT\n\
         cat > \"$__t\"",
    );
    s.sec_raw("expect", "\"$__x\" -f \"$__t\"");
    let tcl = tcl_script(&words, &responses, timeout, echo, &marker);
    let start = SystemTime::now();
    let began = std::time::Instant::now();
    let out = ctx.run(&s.build(), Some(tcl.as_bytes())).await?;
    let took: Duration = began.elapsed();
    let secs = Sections::parse(s.marker(), &out.stdout_str());
    if secs.has("noexpect") {
        return Ok(ModuleResult::failed(
            "Failed to find required executable \"expect\" on the host: strata runs the expect \
             module with the Tcl expect program instead of Python's pexpect; install it (the \
             Debian package \"expect\")",
        ));
    }
    if secs.has("nochdir") {
        return Ok(ModuleResult::failed(format!(
            "[Errno 2] No such file or directory: '{}'",
            args.str("chdir").unwrap_or_default()
        )));
    }
    if let Some(skip) = secs.val("skip") {
        return Ok(ModuleResult::changed(false)
            .with("cmd", command)
            .with("stdout", skip.to_string())
            .with("stdout_lines", vec![Value::from(skip)])
            .with("rc", 0));
    }
    let Some(sec) = secs.get("expect") else {
        return Ok(ModuleResult::failed(format!(
            "expect could not run: {}",
            out.stderr_str().trim()
        )));
    };
    let Some((output, tail)) = sec.stdout.rsplit_once(&format!("\n{marker}\n")) else {
        let err = sec.stderr.trim();
        return Ok(ModuleResult::failed(format!("expect failed: {err}")).with("rc", sec.rc));
    };
    let (how, last) = tail.split_once('\n').unwrap_or((tail, ""));
    let how = how.trim_end();
    if let Some(err) = how.strip_prefix("spawnerr") {
        return Ok(ModuleResult::failed(format!("{}{last}", err.trim())));
    }
    if how == "notfound" {
        return Ok(ModuleResult::failed(format!(
            "The command was not found or was not executable: {}.",
            words[0]
        )));
    }
    if let Some(i) = how.strip_prefix("exhausted ") {
        let i: usize = i.parse().unwrap_or(0);
        let q = responses
            .get(i)
            .map(|r| r.pattern.clone())
            .unwrap_or_default();
        // Ansible formats pexpect's last output, which is bytes, with `%s`: Python 3 prints
        // it as `b'...'`, so the message reads `output was 'b': Color''`.
        return Ok(ModuleResult::failed(format!(
            "No remaining responses for '{q}', output was '{}'",
            repr_bytes(last.as_bytes())
        )));
    }
    let stdout = output.trim_end_matches(['\r', '\n']).to_string();
    let rc: Value = match how.strip_prefix("rc ") {
        Some(n) => n
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or(Value::Null),
        None => Value::Null,
    };
    let mut r = ModuleResult::changed(true)
        .with("cmd", command)
        .with(
            "stdout_lines",
            Value::Array(crate::values::splitlines(&stdout)),
        )
        .with("stdout", stdout)
        .with("rc", rc.clone())
        .with("start", local_timestamp(start))
        .with("end", local_timestamp(start + took))
        .with("delta", timedelta(took));
    if rc.is_null() {
        r.failed = true;
        r.msg = Some("command exceeded timeout".into());
    } else if rc != 0 {
        r.failed = true;
        r.msg = Some("non-zero return code".into());
    }
    Ok(r)
}

#[cfg(test)]
mod tests;
