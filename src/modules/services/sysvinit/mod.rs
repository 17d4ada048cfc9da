//! `sysvinit`: services as `/etc/init.d` scripts, a port of ansible-core's `sysvinit` module
//! (which is also what `service` runs on hosts whose service manager is `sysvinit`). Whether
//! the service runs comes from `service NAME status` read with Ansible's heuristics, or from
//! `ps` when a `pattern` is given; enabling goes through `update-rc.d` (or `chkconfig`). One
//! probe round trip, plus one action round trip when something changes. Init scripts run
//! with their output in files, not pipes, so a daemon that keeps its descriptors open cannot
//! hold the SSH channel.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use crate::modules::toolkit::sections::{Section, SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct SysVInit;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "sysvinit",
    params: &[
        Param::new("name", T::Str).required().aliases(&["service"]),
        Param::new("state", T::Str).choices(&["started", "stopped", "restarted", "reloaded"]),
        Param::new("enabled", T::Bool),
        Param::new("sleep", T::Int),
        Param::new("pattern", T::Str),
        Param::new("arguments", T::Str).aliases(&["args"]),
        Param::new("runlevels", T::List),
        // Accepted and ignored: init scripts always run with their output in files, so a
        // daemon that keeps its descriptors cannot hold the channel, which is what
        // `daemonize` is for; with or without it the task waits for the script's exit.
        Param::new("daemonize", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[&["state", "enabled"]],
    any_params: false,
};

impl Module for SysVInit {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }
    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(async move { run(ctx, &Request::from_args(args)?).await })
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    pub name: String,
    pub state: Option<String>,
    pub enabled: Option<bool>,
    pub sleep: u64,
    pub pattern: Option<String>,
    pub arguments: Option<String>,
    pub runlevels: Option<Vec<String>>,
}

impl Request {
    pub fn from_args(args: &Args) -> Result<Request, ModuleError> {
        let name = args
            .str("name")
            .or_else(|| args.str("service"))
            .ok_or_else(|| ModuleError::Args("missing required arguments: name".into()))?;
        let state = args.str("state");
        let enabled = args.bool("enabled")?;
        if state.is_none() && enabled.is_none() {
            return Err(ModuleError::Args(
                "one of the following is required: state, enabled".into(),
            ));
        }
        Ok(Request {
            name,
            state,
            enabled,
            sleep: args.int("sleep")?.unwrap_or(1).max(0) as u64,
            pattern: args.str("pattern"),
            arguments: args.str("arguments").or_else(|| args.str("args")),
            runlevels: args.str_list("runlevels")?,
        })
    }

    fn script_path(&self) -> String {
        if self.name.starts_with('/') {
            self.name.clone()
        } else {
            format!("/etc/init.d/{}", self.name)
        }
    }
}

const TOOLS: &[&str] = &["chkconfig", "update-rc.d", "insserv", "service"];

pub fn probe_script(req: &Request) -> SectionScript {
    let mut s = SectionScript::new();
    let script = sh_quote(&req.script_path());
    let name = sh_quote(&req.name);
    s.line(&format!(
        "if [ ! -e {script} ]; then __s_val missing 1; exit 0; fi"
    ));
    for t in TOOLS {
        s.line(&format!(
            "__s_b=$(PATH=/sbin:/usr/sbin:/bin:/usr/bin:$PATH command -v {t}) && __s_val bin_{t} \"$__s_b\""
        ));
    }
    let levels: Vec<String> = match &req.runlevels {
        Some(l) => l.clone(),
        None => vec!["?".into()],
    };
    for rl in levels {
        // `rl` is spliced into a glob: only runlevel characters are kept.
        let rl: String = rl
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '?')
            .collect();
        s.line(&format!(
            "if [ -d /etc/rc0.d/ ]; then set -- /etc/rc{rl}.d/S??{name}; else set -- /etc/init.d/rc{rl}.d/S??{name}; fi\n\
             if [ -e \"$1\" ]; then __s_val en_{rl} 1; fi"
        ));
    }
    if req.pattern.is_none() {
        s.line(&format!(
            "__s_svc=$(PATH=/sbin:/usr/sbin:/bin:/usr/bin:$PATH command -v service)\n\
             if [ -n \"$__s_svc\" ]; then __s_sec status \"$__s_svc\" {name} status; \
             else __s_sec status {script} status; fi"
        ));
    }
    s.sec("ps", &["ps", "auxww"]);
    s.line("__s_val done 1");
    s
}

/// Whether any `ps` line other than this probe's own mentions `pattern` (Ansible's `get_ps`).
pub fn ps_has(ps: &str, pattern: &str, marker: &str) -> bool {
    ps.lines()
        .any(|l| l.contains(pattern) && !l.contains(marker))
}

/// Ansible's reading of a status command: `(is_started, worked)`.
pub fn status_says_started(name: &str, rc: i32, out: &str, ps_match: bool) -> (bool, bool) {
    let (mut started, mut worked) = (false, false);
    if name == "iptables" && out.contains("ACCEPT") {
        return (true, true);
    }
    if out.matches('\n').count() <= 1 {
        let clean = out.to_lowercase().replace(&name.to_lowercase(), "");
        if [
            "stop",
            "is dead ",
            "dead but ",
            "could not access pid file",
            "inactive",
        ]
        .iter()
        .any(|s| clean.contains(s))
        {
            worked = true;
        }
        if !worked
            && ["run", "start", "active"].iter().any(|s| clean.contains(s))
            && !clean.contains("not ")
        {
            started = true;
            worked = true;
        }
    }
    if !worked && [1, 2, 3, 4, 69].contains(&rc) {
        worked = true;
    }
    // Hail mary: a zero status, else `ps` (which can only prove it runs).
    if !worked && (rc == 0 || ps_match) {
        started = true;
        worked = true;
    }
    (started, worked)
}

fn sub_status() -> Value {
    json!({"changed": false, "rc": null, "stdout": null, "stderr": null})
}

pub async fn run(ctx: &ModuleCtx<'_>, req: &Request) -> Result<ModuleResult, ModuleError> {
    let probe = probe_script(req);
    let out = ctx.run(&probe.build(), None).await?;
    let secs = Sections::parse(probe.marker(), &out.stdout_str());
    if secs.has("missing") {
        return Ok(ModuleResult::failed(format!(
            "Could not find the requested service {}: ",
            req.name
        )));
    }
    if !secs.has("done") {
        return Ok(ModuleResult::failed(format!(
            "probing service {} failed: {}",
            req.name,
            out.stderr_str().trim()
        )));
    }
    let ps = secs.get("ps").map(|s| s.stdout.clone()).unwrap_or_default();
    let is_started = match &req.pattern {
        Some(p) => ps_has(&ps, p, secs.marker()),
        None => {
            let st = secs.get("status").cloned().unwrap_or_default();
            let ps_match = ps_has(&ps, &req.name, secs.marker());
            status_says_started(&req.name, st.rc, &st.stdout, ps_match).0
        }
    };
    let plan = plan(req, &secs, is_started);
    let mut r = ModuleResult::changed(plan.enable_changed || plan.state_changed);
    r.data.insert("name".into(), req.name.clone().into());
    let mut status = Map::new();
    let mut en = sub_status();
    en["changed"] = plan.enable_changed.into();
    if let Some(rl) = &req.runlevels {
        en["runlevels"] = json!(rl);
    }
    status.insert("enabled".into(), en);
    let state_key = req.state.clone().unwrap_or_else(|| "null".into());
    let mut st = sub_status();
    st["changed"] = plan.state_changed.into();
    status.insert(state_key.clone(), st);
    r.data
        .insert("status".into(), Value::Object(status.clone()));
    if ctx.check_mode || (plan.enable_cmd.is_none() && plan.state_cmds.is_empty()) {
        return Ok(r);
    }
    let mut s = SectionScript::new();
    if let Some(cmd) = &plan.enable_cmd {
        s.sec_raw("enable", cmd);
    }
    for (i, (_, cmd)) in plan.state_cmds.iter().enumerate() {
        s.sec_raw(&format!("state{i}"), cmd);
        s.line("[ \"$__s_r\" = 0 ] || exit 0");
        if plan.restart && req.sleep > 0 {
            s.line(&format!("sleep {}", req.sleep));
        }
    }
    let o = ctx.run(&s.build(), None).await?;
    let done = Sections::parse(s.marker(), &o.stdout_str());
    let fill = |v: &mut Value, sec: &Section| {
        v["rc"] = sec.rc.into();
        v["stdout"] = sec.stdout.clone().into();
        v["stderr"] = sec.stderr.clone().into();
    };
    if plan.enable_changed {
        // Without update-rc.d or chkconfig nothing ran: Ansible then reports the status
        // command's outcome here; an empty result says the same more honestly.
        let sec = done.get("enable").cloned().unwrap_or_default();
        let en = status.get_mut("enabled").expect("enabled status");
        fill(en, &sec);
        if sec.stderr.contains("illegal runlevel specified") {
            r.data.insert("status".into(), Value::Object(status));
            r.failed = true;
            r.msg = Some(format!(
                "Illegal runlevel specified for enable operation on service {}",
                req.name
            ));
            return Ok(r);
        }
    }
    let mut last = None;
    for (i, (verb, _)) in plan.state_cmds.iter().enumerate() {
        let Some(sec) = done.get(&format!("state{i}")) else {
            return Ok(ModuleResult::failed(format!(
                "Failed to {verb} service: {} ({})",
                req.name,
                o.stderr_str().trim()
            )));
        };
        if sec.rc != 0 {
            return Ok(ModuleResult::failed(format!(
                "Failed to {} service: {}",
                plan.action, req.name
            ))
            .with("rc", sec.rc)
            .with("stdout", sec.stdout.clone())
            .with("stderr", sec.stderr.clone()));
        }
        last = Some(sec.clone());
    }
    if let Some(sec) = last {
        fill(status.get_mut(&state_key).expect("state status"), &sec);
    }
    r.data.insert("status".into(), Value::Object(status));
    Ok(r)
}

/// What to run: decided by Ansible's rules, independent of the host.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub enable_changed: bool,
    pub enable_cmd: Option<String>,
    pub state_changed: bool,
    /// `start`, `stop`, `restart` or `reload` (Ansible's `re.sub('p?ed$', '')`).
    pub action: String,
    pub restart: bool,
    pub state_cmds: Vec<(String, String)>,
}

pub fn plan(req: &Request, secs: &Sections, is_started: bool) -> Plan {
    let mut p = Plan::default();
    let bin = |t: &str| secs.val(&format!("bin_{t}")).map(str::to_string);
    let name = sh_quote(&req.name);
    let is_enabled = |rl: &str| secs.has(&format!("en_{rl}"));
    match &req.runlevels {
        Some(levels) => {
            p.enable_changed = levels.iter().any(|rl| req.enabled != Some(is_enabled(rl)));
            if p.enable_changed {
                let want = req.enabled == Some(true);
                let (verb, onoff) = if want {
                    ("enable", "on")
                } else {
                    ("disable", "off")
                };
                p.enable_cmd = if let Some(u) = bin("update-rc.d") {
                    Some(format!(
                        "{} {name} {verb} {}",
                        sh_quote(&u),
                        levels
                            .iter()
                            .map(|l| sh_quote(l))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ))
                } else {
                    bin("chkconfig").map(|c| {
                        format!(
                            "{} --level {} {name} {onoff}",
                            sh_quote(&c),
                            sh_quote(&levels.concat())
                        )
                    })
                };
            }
        }
        None => {
            if let Some(want) = req.enabled
                && want != is_enabled("?")
            {
                p.enable_changed = true;
                let (verb, onoff) = if want {
                    ("defaults", "on")
                } else {
                    ("disable", "off")
                };
                p.enable_cmd = bin("update-rc.d")
                    .map(|u| format!("{} {name} {verb}", sh_quote(&u)))
                    .or_else(|| {
                        bin("chkconfig").map(|c| format!("{} {name} {onoff}", sh_quote(&c)))
                    });
            }
        }
    }
    let Some(state) = &req.state else {
        return p;
    };
    // Ansible's `re.sub(r'p?ed$', '', state)`.
    let lower = state.to_lowercase();
    let action = lower
        .strip_suffix("ped")
        .or_else(|| lower.strip_suffix("ed"))
        .unwrap_or(&lower)
        .to_string();
    let script = req.script_path();
    // Ansible runs "script verb args" split like a shell line (shlex), without a shell.
    let extra: Vec<String> = req
        .arguments
        .as_deref()
        .map(|a| {
            crate::shell::shlex::split(a)
                .unwrap_or_else(|_| a.split_whitespace().map(String::from).collect())
        })
        .unwrap_or_default();
    let run = |verb: &str| {
        let mut words = vec![sh_quote(&script), sh_quote(verb)];
        words.extend(extra.iter().map(|w| sh_quote(w)));
        (verb.to_string(), words.join(" "))
    };
    if action == "restart" {
        p.state_changed = true;
        p.restart = true;
        p.state_cmds = vec![run("stop"), run("start")];
    } else if is_started != (action == "start") || is_started == (action == "stop") {
        p.state_changed = true;
        p.state_cmds = vec![run(&action)];
    }
    p.action = action;
    p
}

#[cfg(test)]
mod tests;
