//! `systemd` (also `systemd_service`): a port of ansible-core's `systemd_service` decisions.
//! One probe script runs the requested daemon-reload/-reexec and gathers `systemctl show`,
//! `is-enabled` and the SysV fallbacks; Rust decides, as Ansible does, what must change; one
//! action script then masks, enables and starts. A converged task costs one round trip.
//! `status` is the unit's `systemctl show` before any action, as Ansible returns it. A failed
//! start/stop/restart/reload appends `systemctl status` and the last journal lines to
//! Ansible's message, since the bare "Job failed" line rarely says why.

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::modules::toolkit::sections::{Section, SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct Systemd;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "systemd",
    params: &[
        Param::new("name", T::Str).aliases(&["service", "unit"]),
        Param::new("state", T::Str).choices(&["reloaded", "restarted", "started", "stopped"]),
        Param::new("enabled", T::Bool),
        Param::new("force", T::Bool),
        Param::new("masked", T::Bool),
        Param::new("daemon_reload", T::Bool).aliases(&["daemon-reload"]),
        Param::new("daemon_reexec", T::Bool).aliases(&["daemon-reexec"]),
        Param::new("scope", T::Str).choices(&["system", "user", "global"]),
        Param::new("no_block", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[&[
        "state",
        "enabled",
        "masked",
        "daemon_reload",
        "daemon_reexec",
    ]],
    any_params: false,
};

impl Module for Systemd {
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

/// What the task asks of systemd, after argument checks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    pub unit: Option<String>,
    pub state: Option<String>,
    pub enabled: Option<bool>,
    pub masked: Option<bool>,
    pub daemon_reload: bool,
    pub daemon_reexec: bool,
    pub scope: String,
    pub no_block: bool,
    pub force: bool,
}

impl Request {
    pub fn from_args(args: &Args) -> Result<Request, ModuleError> {
        let unit = ["name", "service", "unit"].iter().find_map(|k| args.str(k));
        let flag = |names: &[&str]| -> Result<bool, ModuleError> {
            for n in names {
                if let Some(b) = args.bool(n)? {
                    return Ok(b);
                }
            }
            Ok(false)
        };
        let req = Request {
            state: args.str("state"),
            enabled: args.bool("enabled")?,
            masked: args.bool("masked")?,
            daemon_reload: flag(&["daemon_reload", "daemon-reload"])?,
            daemon_reexec: flag(&["daemon_reexec", "daemon-reexec"])?,
            scope: args.str("scope").unwrap_or_else(|| "system".into()),
            no_block: args.bool_or("no_block", false)?,
            force: args.bool_or("force", false)?,
            unit,
        };
        req.validate()?;
        Ok(req)
    }

    fn validate(&self) -> Result<(), ModuleError> {
        if let Some(s) = &self.state
            && !["reloaded", "restarted", "started", "stopped"].contains(&s.as_str())
        {
            return Err(ModuleError::Args(format!(
                "value of state must be one of: reloaded, restarted, started, stopped, got: {s}"
            )));
        }
        if !["system", "user", "global"].contains(&self.scope.as_str()) {
            return Err(ModuleError::Args(format!(
                "value of scope must be one of: system, user, global, got: {}",
                self.scope
            )));
        }
        for (given, what) in [
            (self.state.is_some(), "state"),
            (self.enabled.is_some(), "enabled"),
            (self.masked.is_some(), "masked"),
        ] {
            if given && self.unit.is_none() {
                return Err(ModuleError::Args(format!(
                    "missing parameter(s) required by '{what}': name"
                )));
            }
        }
        if let Some(u) = &self.unit
            && let Some(g) = ["*", "?", "["].iter().find(|g| u.contains(**g))
        {
            return Err(ModuleError::Args(format!(
                "This module does not currently support using glob patterns, found '{g}' in service name: {u}"
            )));
        }
        Ok(())
    }

    /// `systemctl` with the scope and job options, as Ansible composes it.
    pub fn systemctl(&self) -> Vec<String> {
        let mut v = vec!["systemctl".to_string()];
        if self.scope != "system" {
            v.push(format!("--{}", self.scope));
        }
        if self.no_block {
            v.push("--no-block".into());
        }
        if self.force {
            v.push("--force".into());
        }
        v
    }
}

/// Runs the request; shared with `service` on systemd hosts.
pub async fn run(ctx: &ModuleCtx<'_>, req: &Request) -> Result<ModuleResult, ModuleError> {
    let sc = req.systemctl();
    let script = probe_script(req, ctx.check_mode);
    let out = ctx.run(&script.build(), None).await?;
    let probe = Probe::from_sections(&Sections::parse(script.marker(), &out.stdout_str()));
    if probe.no_systemctl {
        return Ok(ModuleResult::failed(
            "Failed to find required executable \"systemctl\" in paths: /sbin:/usr/sbin:/bin:/usr/bin",
        ));
    }
    if probe.sections.is_empty() {
        return Ok(ModuleResult::failed(format!(
            "probing systemd failed: {}",
            out.stderr_str().trim()
        )));
    }
    let mut decision = match decide(req, &probe, ctx.check_mode) {
        Ok(d) => d,
        Err(r) => return Ok(*r),
    };
    let unit = req.unit.clone().unwrap_or_default();
    if let Some(action) = decision.mask_action.filter(|_| !ctx.check_mode) {
        // Masking changes what `is-enabled` reports, and Ansible asks it again afterwards.
        let mut s = SectionScript::new();
        s.sec("mask", &words(&sc, &[action, &unit]));
        s.sec("isenl", &words(&sc, &["is-enabled", &unit, "-l"]));
        let o = ctx.run(&s.build(), None).await?;
        let secs = Sections::parse(s.marker(), &o.stdout_str());
        let m = secs.get("mask").cloned().unwrap_or(Section {
            rc: -1,
            stderr: o.stderr_str(),
            ..Default::default()
        });
        if m.rc != 0 {
            if !decision.found {
                return Ok(missing(&unit));
            }
            return Ok(ModuleResult::failed(format!(
                "Failed to {action} the service ({unit}): {}",
                m.stderr.trim()
            )));
        }
        let mut probe2 = probe.clone();
        probe2.is_enabled_l = secs.get("isenl").cloned();
        decision = match decide_after_mask(req, &probe2, decision) {
            Ok(d) => d,
            Err(r) => return Ok(*r),
        };
    }
    let r = decision.result;
    if ctx.check_mode || decision.actions.is_empty() {
        return Ok(r);
    }
    let mut s = SectionScript::new();
    for (i, (verb, is_state)) in decision.actions.iter().enumerate() {
        let name = format!("act{i}");
        if *is_state {
            s.sec_raw(&name, &quoted(&words(&sc, &[verb, &unit])));
            s.line("if [ \"$__s_r\" != 0 ]; then");
            s.sec(
                "status",
                &words(&sc, &["status", "--no-pager", "-l", &unit]),
            );
            let unit_flag = if req.scope == "system" {
                "-u"
            } else {
                "--user-unit"
            };
            s.sec(
                "journal",
                &["journalctl", unit_flag, &unit, "-n", "20", "--no-pager"],
            );
            s.line("exit 0; fi");
        } else {
            s.sec(&name, &words(&sc, &[verb, &unit]));
            s.line("[ \"$__s_r\" = 0 ] || exit 0");
        }
    }
    let o = ctx.run(&s.build(), None).await?;
    let secs = Sections::parse(s.marker(), &o.stdout_str());
    for (i, (verb, is_state)) in decision.actions.iter().enumerate() {
        let Some(sec) = secs.get(&format!("act{i}")) else {
            return Ok(ModuleResult::failed(format!(
                "Unable to {verb} service {unit}: {}",
                o.stderr_str().trim()
            )));
        };
        if sec.rc == 0 {
            continue;
        }
        // Ansible's fail_json carries only the message: `changed` is false.
        if !is_state {
            return Ok(ModuleResult::failed(format!(
                "Unable to {verb} service {unit}: {}{}",
                sec.stdout, sec.stderr
            )));
        }
        let mut msg = format!("Unable to {verb} service {unit}: {}", sec.stderr);
        for (title, key) in [("status", "status"), ("journal", "journal")] {
            if let Some(x) = secs.get(key) {
                let text = format!("{}{}", x.stdout, x.stderr);
                msg.push_str(&format!("\n--- {title} ---\n{}", text.trim_end()));
            }
        }
        return Ok(ModuleResult::failed(msg));
    }
    Ok(r)
}

fn words<'a>(sc: &'a [String], rest: &[&'a str]) -> Vec<&'a str> {
    sc.iter()
        .map(String::as_str)
        .chain(rest.iter().copied())
        .collect()
}

fn quoted(w: &[&str]) -> String {
    w.iter()
        .map(|x| crate::shell::sh_quote(x))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Builds the read-only probe (plus the daemon-reload/-reexec Ansible runs first).
pub fn probe_script(req: &Request, check_mode: bool) -> SectionScript {
    let sc = req.systemctl();
    let mut s = SectionScript::new();
    s.line("[ -n \"${XDG_RUNTIME_DIR:-}\" ] || export XDG_RUNTIME_DIR=/run/user/$(id -u)");
    s.line("command -v systemctl >/dev/null 2>&1 || { __s_val nosystemctl 1; exit 0; }");
    if req.daemon_reload && !check_mode {
        s.sec("reload", &words(&sc, &["daemon-reload"]));
    }
    if req.daemon_reexec && !check_mode {
        s.sec("reexec", &words(&sc, &["daemon-reexec"]));
    }
    if let Some(unit) = &req.unit {
        s.sec("show", &words(&sc, &["show", unit]));
        s.line("__s_show=$__s_r");
        s.sec("isen", &words(&sc, &["is-enabled", unit]));
        s.sec("isenl", &words(&sc, &["is-enabled", unit, "-l"]));
        // `list-unit-files` is Ansible's fallback for hosts where `show` fails (chroots).
        s.line("if [ \"$__s_show\" != 0 ]; then");
        s.sec("luf", &words(&sc, &["list-unit-files", unit]));
        // Ansible then runs bare `systemctl` with check_rc: its error ends the task.
        s.line("[ \"$__s_r\" = 0 ] || __s_sec bare systemctl");
        s.line("fi");
        s.line(&sysv_probe(unit));
    }
    s.line("__s_val done 1");
    s
}

/// `sysv_exists` and `sysv_is_enabled` of Ansible's `module_utils.service`.
pub fn sysv_probe(unit: &str) -> String {
    let script = if unit.starts_with('/') {
        unit.to_string()
    } else {
        format!("/etc/init.d/{unit}")
    };
    let q = crate::shell::sh_quote(unit);
    format!(
        "if [ -e {s} ]; then __s_val initd 1; fi\n\
         if [ -d /etc/rc0.d/ ]; then set -- /etc/rc?.d/S??{q}; else set -- /etc/init.d/rc?.d/S??{q}; fi\n\
         if [ -e \"$1\" ]; then __s_val sysv_enabled 1; fi",
        s = crate::shell::sh_quote(&script)
    )
}

/// Everything the probe learned.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    pub sections: Vec<String>,
    pub no_systemctl: bool,
    pub reload: Option<Section>,
    pub reexec: Option<Section>,
    pub show: Option<Section>,
    pub is_enabled: Option<Section>,
    pub is_enabled_l: Option<Section>,
    pub list_unit_files: Option<Section>,
    pub bare: Option<Section>,
    pub initd: bool,
    pub sysv_enabled: bool,
}

impl Probe {
    pub fn from_sections(s: &Sections) -> Probe {
        let names = [
            "reload",
            "reexec",
            "show",
            "isen",
            "isenl",
            "luf",
            "done",
            "nosystemctl",
        ];
        Probe {
            sections: names
                .iter()
                .filter(|n| s.has(n))
                .map(|n| n.to_string())
                .collect(),
            no_systemctl: s.has("nosystemctl"),
            reload: s.get("reload").cloned(),
            reexec: s.get("reexec").cloned(),
            show: s.get("show").cloned(),
            is_enabled: s.get("isen").cloned(),
            is_enabled_l: s.get("isenl").cloned(),
            list_unit_files: s.get("luf").cloned(),
            bare: s.get("bare").cloned(),
            initd: s.has("initd"),
            sysv_enabled: s.has("sysv_enabled"),
        }
    }
}

/// The decided outcome: the result so far and the commands still to run.
#[derive(Debug)]
pub struct Decision {
    pub result: ModuleResult,
    pub found: bool,
    pub mask_action: Option<&'static str>,
    /// `(systemctl verb, is the state change)` in order.
    pub actions: Vec<(String, bool)>,
    status: Map<String, Value>,
}

fn missing(unit: &str) -> ModuleResult {
    ModuleResult::failed(format!("Could not find the requested service {unit}: host"))
}

/// Ansible's `request_was_ignored`.
fn request_was_ignored(out: &str) -> bool {
    !out.contains('=') && (out.contains("ignoring request") || out.contains("ignoring command"))
}

/// Ansible's `parse_systemctl_show`: only `Exec*` values may span lines.
pub fn parse_show(text: &str) -> Map<String, Value> {
    let mut parsed = Map::new();
    let mut multi: Vec<&str> = Vec::new();
    let mut key: Option<&str> = None;
    for line in text.split('\n') {
        match key {
            None => {
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                if k.starts_with("Exec")
                    && v.trim_start().starts_with('{')
                    && !v.trim_end().ends_with('}')
                {
                    multi.push(v);
                    key = Some(k);
                    continue;
                }
                parsed.insert(k.to_string(), v.trim().into());
            }
            Some(k) => {
                multi.push(line);
                if line.trim_end().ends_with('}') {
                    parsed.insert(k.to_string(), multi.join("\n").trim().into());
                    multi.clear();
                    key = None;
                }
            }
        }
    }
    parsed
}

const VALID_ENABLED_STATES: &[&str] = &[
    "enabled",
    "enabled-runtime",
    "linked",
    "linked-runtime",
    "masked",
    "masked-runtime",
    "static",
    "indirect",
    "disabled",
    "generated",
    "transient",
];

/// Everything up to (and including) the mask decision, then the rest via
/// [`decide_after_mask`]. `Err` is a finished failed result.
pub fn decide(req: &Request, p: &Probe, check_mode: bool) -> Result<Decision, Box<ModuleResult>> {
    let fail = |m: String| Err(Box::new(ModuleResult::failed(m)));
    for (sec, what) in [(&p.reload, "daemon-reload"), (&p.reexec, "daemon-reexec")] {
        if let Some(s) = sec
            && s.rc != 0
        {
            return fail(format!("failure {} during {what}: {}", s.rc, s.stderr));
        }
    }
    let mut result = ModuleResult::changed(false);
    result.data.insert(
        "name".into(),
        req.unit.clone().map(Value::from).unwrap_or(Value::Null),
    );
    let mut d = Decision {
        result,
        found: false,
        mask_action: None,
        actions: vec![],
        status: Map::new(),
    };
    let Some(unit) = &req.unit else {
        d.result
            .data
            .insert("status".into(), Value::Object(Map::new()));
        return Ok(d);
    };
    let mut is_systemd = false;
    let show = p.show.clone().unwrap_or_default();
    if show.rc == 0 && !request_was_ignored(&show.stdout) && !request_was_ignored(&show.stderr) {
        if !show.stdout.is_empty() {
            d.status = parse_show(&show.stdout);
            let load = d.status.get("LoadState").and_then(Value::as_str);
            is_systemd = load.is_some_and(|l| l != "not-found");
            let is_masked = load == Some("masked");
            if is_systemd
                && !is_masked
                && let Some(e) = d.status.get("LoadError").and_then(Value::as_str)
            {
                return fail(format!("Error loading unit file '{unit}': {e}"));
            }
        }
    } else {
        let ie = p.is_enabled.clone().unwrap_or_default();
        is_systemd = VALID_ENABLED_STATES.contains(&ie.stdout.trim())
            || p.list_unit_files.as_ref().is_some_and(|s| s.rc == 0);
        if !is_systemd && let Some(b) = p.bare.as_ref().filter(|b| b.rc != 0) {
            let text = if b.stderr.trim().is_empty() {
                &b.stdout
            } else {
                &b.stderr
            };
            return fail(text.trim_end().to_string());
        }
    }
    d.found = is_systemd || p.initd;
    d.result
        .data
        .insert("status".into(), Value::Object(d.status.clone()));
    // Check mode predicts a run: a unit an earlier task would install (its unit file written by
    // `template`) is not there yet. Ansible fails here; strata reports the start or enable it
    // would do. A real run still fails on a missing unit.
    if check_mode
        && !d.found
        && req.masked.is_none()
        && (req.state.as_deref().is_some_and(|s| s != "stopped") || req.enabled == Some(true))
    {
        d.result.changed = true;
        d.result.data.insert(
            "warnings".into(),
            Value::from(vec![format!(
                "unit {unit} not found: check mode assumes an earlier task of the run installs it"
            )]),
        );
        return Ok(d);
    }
    if let Some(want) = req.masked {
        let masked = p
            .is_enabled
            .as_ref()
            .is_some_and(|s| s.stdout.trim() == "masked");
        if masked != want {
            d.result.changed = true;
            d.mask_action = Some(if want { "mask" } else { "unmask" });
        }
    }
    if d.mask_action.is_some() && !check_mode {
        return Ok(d);
    }
    decide_after_mask(req, p, d)
}

/// The `enabled` and `state` decisions, from `is-enabled` as it is after any masking.
pub fn decide_after_mask(
    req: &Request,
    p: &Probe,
    mut d: Decision,
) -> Result<Decision, Box<ModuleResult>> {
    let unit = req.unit.clone().unwrap_or_default();
    if let Some(want) = req.enabled {
        if !d.found {
            return Err(Box::new(missing(&unit)));
        }
        let ie = p.is_enabled_l.clone().unwrap_or(Section {
            rc: -1,
            ..Default::default()
        });
        let enabled = match ie.rc {
            0 => !["enabled-runtime", "indirect", "alias"].contains(&ie.stdout.trim_end()),
            1 => {
                req.scope == "system"
                    && p.initd
                    && !ie.stdout.trim().ends_with("disabled")
                    && p.sysv_enabled
            }
            _ => false,
        };
        d.result.data.insert("enabled".into(), enabled.into());
        if enabled != want {
            d.result.changed = true;
            d.actions
                .push((if want { "enable" } else { "disable" }.to_string(), false));
            d.result.data.insert("enabled".into(), (!enabled).into());
        }
    }
    if let Some(state) = &req.state {
        if !d.found {
            return Err(Box::new(missing(&unit)));
        }
        let mut shown_state = state.clone();
        let Some(active) = d.status.get("ActiveState").and_then(Value::as_str) else {
            let mut r = ModuleResult::failed("Service is in unknown state");
            r.data
                .insert("status".into(), Value::Object(d.status.clone()));
            return Err(Box::new(r));
        };
        let running = active == "active" || active == "activating";
        let action = match state.as_str() {
            "started" => (!running).then_some("start"),
            "stopped" => (running || active == "deactivating").then_some("stop"),
            other => {
                shown_state = "started".into();
                Some(if !running {
                    "start"
                } else if other == "restarted" {
                    "restart"
                } else {
                    "reload"
                })
            }
        };
        d.result.data.insert("state".into(), shown_state.into());
        if let Some(a) = action {
            d.result.changed = true;
            d.actions.push((a.to_string(), true));
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests;
