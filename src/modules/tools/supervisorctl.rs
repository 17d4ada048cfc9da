//! `supervisorctl` (community.general.supervisorctl): the state of a program, a group
//! (`name:`) or `all` under supervisord, decided from `supervisorctl status` as the module does
//! (its line parsing, its status filters, its "expected text in the output" checks and its
//! messages). One round trip reads the status (after `update` for `restarted`, which Ansible
//! runs even in check mode); a second one acts, stopping at the first process whose output
//! lacks the expected `name: started` line, as the module stops at the first failure.
//!
//! The password never reaches a command line: Ansible passes `-p PASSWORD`, strata writes a
//! private copy of the configuration supervisorctl would read with the password appended to
//! its `[supervisorctl]` section (supervisor's parser merges repeated sections, later values
//! winning), and passes `-c` with that copy. The password itself comes in on stdin.

use futures::future::BoxFuture;
use serde_json::Value;

use crate::modules::toolkit::sections::{Section, SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Supervisorctl;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "supervisorctl",
    params: &[
        Param::new("name", T::Str).required(),
        Param::new("config", T::Str),
        Param::new("server_url", T::Str),
        Param::new("username", T::Str),
        Param::new("password", T::Str),
        Param::new("supervisorctl_path", T::Str),
        Param::new("state", T::Str).required().choices(&[
            "present",
            "started",
            "restarted",
            "stopped",
            "absent",
            "signalled",
        ]),
        Param::new("stop_before_removing", T::Bool),
        Param::new("signal", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Supervisorctl {
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

/// The validated request.
#[derive(Clone, Debug)]
pub struct Request {
    /// Without the trailing `:` of a group name, as the module keeps it.
    pub name: String,
    pub is_group: bool,
    pub state: String,
    pub stop_before_removing: bool,
    pub config: Option<String>,
    pub server_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub path: Option<String>,
    pub signal: Option<String>,
}

impl Request {
    pub fn from_args(args: &Args) -> Result<Request, ModuleError> {
        let raw = args.req_str("name")?;
        let state = args.req_str("state")?;
        let signal = args.str("signal");
        if state == "signalled" && signal.is_none() {
            return Err(ModuleError::Args(
                "state is signalled but all of the following are missing: signal".into(),
            ));
        }
        let password = args.str("password").filter(|p| !p.is_empty());
        if let Some(p) = &password
            && (p.contains(['\n', '\r']) || p.contains(" ;") || p.contains(" #") || p != p.trim())
        {
            // supervisor's INI parser would cut or strip such a value; `-p` is what would
            // carry it, and strata keeps passwords off command lines.
            return Err(ModuleError::Args(
                "supervisorctl: strata passes the password in a private configuration file, \
                 which cannot hold a password with a line break, surrounding spaces, or \" ;\" \
                 or \" #\" (an INI comment)"
                    .into(),
            ));
        }
        let is_group = raw.ends_with(':');
        Ok(Request {
            name: raw.trim_end_matches(':').to_string(),
            is_group,
            state,
            stop_before_removing: args.bool_or("stop_before_removing", false)?,
            config: args.str("config").filter(|s| !s.is_empty()),
            server_url: args.str("server_url").filter(|s| !s.is_empty()),
            username: args.str("username").filter(|s| !s.is_empty()),
            password,
            path: args.str("supervisorctl_path").filter(|s| !s.is_empty()),
            signal,
        })
    }

    /// The command line Ansible would report (`cmd` of a failed call), the password masked as
    /// Ansible's `no_log` masks it.
    fn cmd(&self, bin: &str, words: &[&str]) -> String {
        let mut v = vec![bin.to_string()];
        for (flag, val) in [
            ("-c", &self.config),
            ("-s", &self.server_url),
            ("-u", &self.username),
        ] {
            if let Some(x) = val {
                v.extend([flag.to_string(), x.clone()]);
            }
        }
        if self.password.is_some() {
            v.extend(["-p".to_string(), "********".to_string()]);
        }
        v.extend(words.iter().map(|w| w.to_string()));
        v.iter()
            .map(|w| crate::shell::sh_quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The module's `get_matched_processes`: `(name, status)` of each status line that names the
/// program, a member of the group, or anything for `all`.
pub fn matched(req: &Request, status_out: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in status_out.lines() {
        let fields: Vec<&str> = line.split(' ').filter(|f| !f.is_empty()).collect();
        let (Some(process), Some(status)) = (fields.first(), fields.get(1)) else {
            continue;
        };
        let keep = if req.is_group {
            process
                .split_once(':')
                .is_some_and(|(group, _)| group == req.name)
        } else {
            *process == req.name || req.name == "all"
        };
        if keep {
            out.push((process.to_string(), status.to_string()));
        }
    }
    out
}

/// The script's preamble: the C locale (messages are matched), the `supervisorctl` found as
/// `get_bin_path` finds it, and `__sc`, which runs it with the connection options.
fn preamble(req: &Request) -> String {
    let mut s = String::from("export LANG=C LC_ALL=C LC_MESSAGES=C LC_CTYPE=C\n");
    match &req.path {
        Some(p) => {
            let q = sh_quote(p);
            s.push_str(&format!(
                "if [ -e {q} ] && [ -x {q} ]; then __scbin={q}; else __s_val nobin {m}; exit 0; fi\n",
                m = sh_quote(&format!(
                    "Provided path to supervisorctl does not exist or isn't executable: {p}"
                ))
            ));
        }
        None => s.push_str(
            "__scpath=\"$PATH:/sbin:/usr/sbin:/usr/local/sbin\"\n\
             __scbin=$(PATH=\"$__scpath\" command -v supervisorctl) || { __s_val nobin \
             \"Failed to find required executable \\\"supervisorctl\\\" in paths: $__scpath\"; exit 0; }\n",
        ),
    }
    let mut opts = String::new();
    if req.password.is_some() {
        // The configuration supervisorctl would read: `config`, else the first of its default
        // paths that exists (relative ones from the working directory, as it searches). The
        // copy gets the password from stdin (`printf` is the shell's builtin, so it is on no
        // command line), and its `%(here)s` is the original file's directory, which
        // supervisor expands from the path of the file it reads.
        let search = match &req.config {
            Some(c) => format!("[ -e {q} ] && __scfg={q}\n", q = sh_quote(c)),
            None => "__here=$(dirname \"$(dirname \"$__scbin\")\")\n\
                     for __f in \"$__here/etc/supervisord.conf\" \"$__here/supervisord.conf\" \
                     supervisord.conf etc/supervisord.conf /etc/supervisord.conf \
                     /etc/supervisor/supervisord.conf; do \
                     if [ -e \"$__f\" ]; then __scfg=$__f; break; fi; done\n"
                .to_string(),
        };
        s.push_str("__scfg=\nIFS= read -r __scpw || true\n");
        s.push_str(&search);
        s.push_str(
            "__scd=$(umask 077 && mktemp -d) || exit 1\n\
             trap 'rm -f -- \"$__s_so\" \"$__s_se\"; rm -rf -- \"$__scd\"' EXIT\n\
             { if [ -n \"$__scfg\" ]; then \
             __sch=$(cd \"$(dirname -- \"$__scfg\")\" && pwd) && H=$__sch awk \
             '{ o = \"\"; r = $0; while ((i = index(r, \"%(here)s\")) > 0) \
             { o = o substr(r, 1, i - 1) ENVIRON[\"H\"]; r = substr(r, i + 8) } print o r }' \
             \"$__scfg\"; fi; \
             printf '\\n[supervisorctl]\\npassword = %s\\n' \"$(printf '%s' \"$__scpw\" | sed 's/%/%%/g')\"; \
             } > \"$__scd/supervisorctl.conf\" || exit 1\n",
        );
        // A missing `config` is left for supervisorctl to report, as without a password.
        match &req.config {
            Some(c) => opts.push_str(&format!(
                " -c \"$(if [ -n \"$__scfg\" ]; then echo \"$__scd/supervisorctl.conf\"; else printf %s {}; fi)\"",
                sh_quote(c)
            )),
            None => opts.push_str(" -c \"$__scd/supervisorctl.conf\""),
        }
    } else if let Some(c) = &req.config {
        opts.push_str(&format!(" -c {}", sh_quote(c)));
    }
    if let Some(u) = &req.server_url {
        opts.push_str(&format!(" -s {}", sh_quote(u)));
    }
    if let Some(u) = &req.username {
        opts.push_str(&format!(" -u {}", sh_quote(u)));
    }
    s.push_str(&format!("__sc() {{ \"$__scbin\"{opts} \"$@\"; }}\n"));
    s
}

/// One supervisorctl call, the way a module step runs it.
struct Step {
    words: Vec<String>,
    /// `check_rc=True`: a non-zero status ends the module with stderr as the message.
    check_rc: bool,
    /// The text the output must contain (`name: started`), or the module fails with the
    /// output as its message.
    expect: Option<String>,
    /// Whether the module's `name` and `state` go with a failure (`present`/`absent`).
    fail_with_name: bool,
}

async fn call(
    ctx: &ModuleCtx<'_>,
    req: &Request,
    steps: &[Step],
) -> Result<(Sections, String), ModuleError> {
    let mut s = SectionScript::new();
    s.line(&preamble(req));
    for (i, st) in steps.iter().enumerate() {
        let words: Vec<String> = st.words.iter().map(|w| sh_quote(w)).collect();
        s.sec_raw(&format!("s{i}"), &format!("__sc {}", words.join(" ")));
        if st.check_rc {
            s.line("[ \"$__s_r\" = 0 ] || exit 0");
        }
        if let Some(e) = &st.expect {
            s.line(&format!(
                "grep -qF -- {} \"$__s_so\" || exit 0",
                sh_quote(e)
            ));
        }
    }
    s.line("__s_val bin \"$__scbin\"");
    let stdin = req.password.as_ref().map(|p| format!("{p}\n").into_bytes());
    let out = ctx.run(&s.build(), stdin.as_deref()).await?;
    let secs = Sections::parse(s.marker(), &out.stdout_str());
    if let Some(m) = secs.val("nobin") {
        return Err(ModuleError::Args(m.to_string()));
    }
    let bin = secs.val("bin").unwrap_or("supervisorctl").to_string();
    if secs.get("s0").is_none() && !steps.is_empty() {
        return Err(ModuleError::Args(format!(
            "supervisorctl could not run: {}",
            out.stderr_str().trim()
        )));
    }
    Ok((secs, bin))
}

/// The first step that failed, as the module's result; `None` when all succeeded.
fn first_failure(
    req: &Request,
    steps: &[Step],
    secs: &Sections,
    bin: &str,
) -> Option<ModuleResult> {
    for (i, st) in steps.iter().enumerate() {
        let Some(sec) = secs.get(&format!("s{i}")) else {
            return Some(ModuleResult::failed(format!(
                "supervisorctl stopped before `{}`",
                st.words.join(" ")
            )));
        };
        if st.check_rc && sec.rc != 0 {
            let words: Vec<&str> = st.words.iter().map(String::as_str).collect();
            return Some(rc_failure(sec, req.cmd(bin, &words)));
        }
        if let Some(e) = &st.expect
            && !sec.stdout.contains(e.as_str())
        {
            let mut r = ModuleResult::failed(sec.stdout.clone());
            if st.fail_with_name {
                r = r
                    .with("name", req.name.clone())
                    .with("state", req.state.clone());
            }
            return Some(r);
        }
    }
    None
}

/// `run_command(..., check_rc=True)`'s failure: stderr as the message, and the call's output.
fn rc_failure(sec: &Section, cmd: String) -> ModuleResult {
    let lines = |s: &str| Value::Array(s.lines().map(Value::from).collect());
    ModuleResult::failed(sec.stderr.trim_end().to_string())
        .with("cmd", cmd)
        .with("rc", sec.rc)
        .with("stdout", sec.stdout.clone())
        .with("stderr", sec.stderr.clone())
        .with("stdout_lines", lines(&sec.stdout))
        .with("stderr_lines", lines(&sec.stderr))
}

fn unchanged(req: &Request) -> ModuleResult {
    ModuleResult::changed(false)
        .with("name", req.name.clone())
        .with("state", req.state.clone())
}

fn action_steps(procs: &[String], action: &[String], expected: &str) -> Vec<Step> {
    procs
        .iter()
        .map(|p| {
            let mut words = action.to_vec();
            words.push(p.clone());
            Step {
                words,
                check_rc: true,
                expect: Some(format!("{p}: {expected}")),
                fail_with_name: false,
            }
        })
        .collect()
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let req = Request::from_args(args)?;
    let mut probe = Vec::new();
    if req.state == "restarted" {
        probe.push(Step {
            words: vec!["update".into()],
            check_rc: true,
            expect: None,
            fail_with_name: false,
        });
    }
    probe.push(Step {
        words: vec!["status".into()],
        check_rc: false,
        expect: None,
        fail_with_name: false,
    });
    let (secs, bin) = call(ctx, &req, &probe).await?;
    if let Some(f) = first_failure(&req, &probe, &secs, &bin) {
        return Ok(f);
    }
    let status = secs
        .get(&format!("s{}", probe.len() - 1))
        .map(|s| s.stdout.clone())
        .unwrap_or_default();
    let procs = matched(&req, &status);
    let names = |filter: &dyn Fn(&str) -> bool| -> Vec<String> {
        procs
            .iter()
            .filter(|(_, s)| filter(s))
            .map(|(n, _)| n.clone())
            .collect()
    };
    let no_such = || ModuleResult::failed("ERROR (no such process)").with("name", req.name.clone());
    let running = |s: &str| s == "RUNNING" || s == "STARTING";
    let (targets, action, expected): (Vec<String>, Vec<String>, &str) = match req.state.as_str() {
        "restarted" if procs.is_empty() => return Ok(no_such()),
        "restarted" => (names(&|_| true), vec!["restart".into()], "started"),
        "absent" | "present" => return group_change(ctx, &req, &procs).await,
        _ if procs.is_empty() => return Ok(no_such()),
        "started" => (names(&|s| !running(s)), vec!["start".into()], "started"),
        "stopped" => (names(&running), vec!["stop".into()], "stopped"),
        _ => (
            names(&|s| s == "RUNNING"),
            vec![format!("signal {}", req.signal.clone().unwrap_or_default())],
            "signalled",
        ),
    };
    if targets.is_empty() {
        return Ok(unchanged(&req));
    }
    if ctx.check_mode {
        return Ok(ModuleResult::changed(true));
    }
    let steps = action_steps(&targets, &action, expected);
    let (secs, bin) = call(ctx, &req, &steps).await?;
    if let Some(f) = first_failure(&req, &steps, &secs, &bin) {
        return Ok(f);
    }
    Ok(ModuleResult::changed(true)
        .with("name", req.name.clone())
        .with("state", req.state.clone())
        .with("affected", targets))
}

/// `present` (`reread`, `add`) and `absent` (optionally `stop`, then `reread`, `remove`).
async fn group_change(
    ctx: &ModuleCtx<'_>,
    req: &Request,
    procs: &[(String, String)],
) -> Result<ModuleResult, ModuleError> {
    let present = req.state == "present";
    if present != procs.is_empty() {
        return Ok(unchanged(req));
    }
    if ctx.check_mode {
        return Ok(ModuleResult::changed(true));
    }
    let mut steps = Vec::new();
    if !present && req.stop_before_removing {
        let running: Vec<String> = procs
            .iter()
            .filter(|(_, s)| s == "RUNNING" || s == "STARTING")
            .map(|(n, _)| n.clone())
            .collect();
        steps = action_steps(&running, &["stop".into()], "stopped");
    }
    steps.push(Step {
        words: vec!["reread".into()],
        check_rc: true,
        expect: None,
        fail_with_name: false,
    });
    let (verb, done) = if present {
        ("add", "added process group")
    } else {
        ("remove", "removed process group")
    };
    steps.push(Step {
        words: vec![verb.into(), req.name.clone()],
        check_rc: false,
        expect: Some(format!("{}: {done}", req.name)),
        fail_with_name: true,
    });
    let (secs, bin) = call(ctx, req, &steps).await?;
    if let Some(f) = first_failure(req, &steps, &secs, &bin) {
        return Ok(f);
    }
    Ok(ModuleResult::changed(true)
        .with("name", req.name.clone())
        .with("state", req.state.clone()))
}

#[cfg(test)]
mod tests;
