//! `sysctl` (ansible.posix.sysctl): keeps one `name=value` line in a sysctl file and, with
//! `reload`, applies the file with `sysctl -p`; `sysctl_set` also sets the live value with
//! `sysctl -w`. The file logic is a port of Ansible's: every line is stripped, `key = value`
//! lines are rewritten as `key=value`, later duplicates of a key are dropped. Live values
//! compare field by field, so tabs and runs of spaces do not matter. One probe round trip,
//! plus one action round trip (set, write, reload) when something changes.

use futures::future::BoxFuture;

use crate::events::FileDiff;
use crate::modules::toolkit::replace_file::REPLACE_FN;
use crate::modules::toolkit::sections::{SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Sysctl;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "sysctl",
    params: &[
        Param::new("name", T::Str).required().aliases(&["key"]),
        Param::new("value", T::Str).aliases(&["val"]),
        Param::new("state", T::Str).choices(&["present", "absent"]),
        Param::new("reload", T::Bool),
        Param::new("sysctl_set", T::Bool),
        Param::new("ignoreerrors", T::Bool),
        Param::new("sysctl_file", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Sysctl {
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

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub name: String,
    /// Normalised as Ansible's `_parse_value`: booleans become `1`/`0`, text is stripped.
    pub value: String,
    pub present: bool,
    pub reload: bool,
    pub sysctl_set: bool,
    pub ignoreerrors: bool,
    pub file: String,
}

/// Ansible's `_parse_value` for a value given as text.
pub fn parse_value(v: &str) -> String {
    match v.to_lowercase().as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => "1".into(),
        "n" | "no" | "off" | "0" | "false" | "f" | "0.0" => "0".into(),
        _ => v.trim().to_string(),
    }
}

impl Request {
    pub fn from_args(args: &Args) -> Result<Request, ModuleError> {
        let name = args
            .str("name")
            .or_else(|| args.str("key"))
            .ok_or_else(|| ModuleError::Args("missing required arguments: name".into()))?;
        let value = args.str("value").or_else(|| args.str("val"));
        let state = args.str("state").unwrap_or_else(|| "present".into());
        let present = match state.as_str() {
            "present" => true,
            "absent" => false,
            s => {
                return Err(ModuleError::Args(format!(
                    "value of state must be one of: present, absent, got: {s}"
                )));
            }
        };
        if present && value.is_none() {
            return Err(ModuleError::Args(
                "state is present but all of the following are missing: value".into(),
            ));
        }
        if name.is_empty() {
            return Err(ModuleError::Args("name cannot be blank".into()));
        }
        if present && value.as_deref() == Some("") {
            return Err(ModuleError::Args("value cannot be blank".into()));
        }
        Ok(Request {
            name: name.trim().to_string(),
            value: value.as_deref().map(parse_value).unwrap_or_default(),
            present,
            reload: args.bool_or("reload", true)?,
            sysctl_set: args.bool_or("sysctl_set", false)?,
            ignoreerrors: args.bool_or("ignoreerrors", false)?,
            file: args
                .str("sysctl_file")
                .unwrap_or_else(|| "/etc/sysctl.conf".into()),
        })
    }
}

/// Ansible's `_values_is_equal`: the same whitespace-separated fields in the same order.
pub fn values_equal(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// What Ansible's `process()` decides from the live value and the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub changed: bool,
    pub set_proc: bool,
    pub write_file: bool,
    /// The whole file as it would be written.
    pub content: String,
}

/// `proc_value` is `None` when `sysctl -n` failed.
pub fn plan(req: &Request, proc_value: Option<&str>, file: &str) -> Plan {
    let lines: Vec<&str> = file.lines().map(str::trim).collect();
    let mut file_value: Option<String> = None;
    for l in &lines {
        if l.is_empty() || l.starts_with(['#', ';']) || !l.contains('=') {
            continue;
        }
        let (k, v) = l.split_once('=').expect("has =");
        if k.trim() == req.name {
            file_value = Some(v.trim().to_string());
        }
    }
    let mut fixed: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for l in &lines {
        if l.is_empty() || l.starts_with(['#', ';']) || !l.contains('=') {
            fixed.push(l.to_string());
            continue;
        }
        let (k, v) = l.split_once('=').expect("has =");
        let (k, v) = (k.trim(), v.trim());
        if seen.iter().any(|s| s == k) {
            continue;
        }
        seen.push(k.to_string());
        if k == req.name {
            if req.present {
                fixed.push(format!("{k}={}", req.value));
            }
        } else {
            fixed.push(format!("{k}={v}"));
        }
    }
    if req.present && !seen.contains(&req.name) {
        fixed.push(format!("{}={}", req.name, req.value));
    }
    let content: String = fixed.iter().map(|l| format!("{}\n", l.trim())).collect();
    let mut p = Plan {
        changed: false,
        set_proc: false,
        write_file: false,
        content,
    };
    let live_differs = proc_value.is_none_or(|v| !values_equal(v, &req.value));
    match (&file_value, req.present) {
        (None, true) => (p.changed, p.write_file) = (true, true),
        (None, false) => {}
        (Some(v), false) if !v.is_empty() => (p.changed, p.write_file) = (true, true),
        (Some(v), _) if *v != req.value => (p.changed, p.write_file) = (true, true),
        _ if req.reload => p.changed |= live_differs,
        _ => {}
    }
    if req.sysctl_set && req.present {
        match proc_value {
            None => p.changed = true,
            Some(v) if !values_equal(v, &req.value) => (p.changed, p.set_proc) = (true, true),
            _ => {}
        }
    }
    p
}

/// Ansible's `_stderr_failed`: sysctl may exit 0 and still have failed.
pub fn stderr_failed(err: &str) -> bool {
    err.lines().any(|l| {
        l.starts_with("sysctl: setting key \"")
            && (l.ends_with("\": Invalid argument") || l.ends_with("\": Read-only file system"))
    })
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let req = Request::from_args(args)?;
    let file = sh_quote(&req.file);
    let mut s = SectionScript::new();
    s.line("export LANG=C LC_ALL=C LC_MESSAGES=C");
    s.sec("proc", &["sysctl", "-e", "-n", &req.name]);
    s.line(&format!(
        "if [ -f {file} ]; then __s_sec file cat -- {file}; fi\n__s_val done 1"
    ));
    let out = ctx.run(&s.build(), None).await?;
    let secs = Sections::parse(s.marker(), &out.stdout_str());
    if !secs.has("done") {
        return Ok(ModuleResult::failed(format!(
            "reading sysctl {} failed: {}",
            req.name,
            out.stderr_str().trim()
        )));
    }
    let proc = secs
        .get("proc")
        .filter(|p| p.rc == 0)
        .map(|p| p.stdout.as_str());
    let old = match secs.get("file") {
        Some(f) if f.rc != 0 => {
            return Ok(ModuleResult::failed(format!(
                "Failed to open {}: {}",
                req.file,
                f.stderr.trim()
            )));
        }
        Some(f) => f.stdout.clone(),
        None => String::new(),
    };
    let p = plan(&req, proc, &old);
    let mut r = ModuleResult::changed(p.changed);
    if ctx.diff && p.write_file {
        r.diff.push(FileDiff {
            before_header: req.file.clone(),
            after_header: req.file.clone(),
            before: old.clone(),
            after: p.content.clone(),
        });
    }
    if !p.changed || ctx.check_mode {
        return Ok(r);
    }
    let e: &[&str] = if req.ignoreerrors { &["-e"] } else { &[] };
    let mut a = SectionScript::new();
    a.line("export LANG=C LC_ALL=C LC_MESSAGES=C")
        .line(REPLACE_FN);
    if p.set_proc {
        let assign = format!("{}={}", req.name, req.value);
        let words: Vec<&str> = ["sysctl"]
            .into_iter()
            .chain(e.iter().copied())
            .chain(["-w", assign.as_str()])
            .collect();
        a.sec("set", &words);
        a.line("[ \"$__s_r\" = 0 ] || exit 0");
    }
    if p.write_file {
        a.line(&format!(
            "__s_replace {file} 0 0 2>\"$__s_se\" || {{ __s_val write_err \"$(cat \"$__s_se\")\"; exit 0; }}"
        ));
    }
    if req.reload {
        let words: Vec<&str> = ["sysctl"]
            .into_iter()
            .chain(e.iter().copied())
            .chain(["-p", req.file.as_str()])
            .collect();
        a.sec("reload", &words);
    }
    a.line("__s_val done 1");
    let stdin = p.write_file.then(|| p.content.as_bytes().to_vec());
    let o = ctx.run(&a.build(), stdin.as_deref()).await?;
    let done = Sections::parse(a.marker(), &o.stdout_str());
    if let Some(set) = done.get("set")
        && (set.rc != 0 || stderr_failed(&set.stderr))
    {
        return Ok(ModuleResult::failed(format!(
            "setting {} failed: {}{}",
            req.name, set.stdout, set.stderr
        )));
    }
    if let Some(w) = done.val("write_err") {
        return Ok(ModuleResult::failed(format!(
            "Failed to write to file {}: {}",
            req.file,
            w.trim()
        )));
    }
    if let Some(rl) = done.get("reload")
        && (rl.rc != 0 || stderr_failed(&rl.stderr))
    {
        return Ok(ModuleResult::failed(format!(
            "Failed to reload sysctl: {}{}",
            rl.stdout, rl.stderr
        )));
    }
    if !done.has("done") {
        return Ok(ModuleResult::failed(format!(
            "sysctl {} failed: {}",
            req.name,
            o.stderr_str().trim()
        )));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(v: serde_json::Value) -> Request {
        Request::from_args(&Args::new(v.as_object().unwrap().clone())).unwrap()
    }

    #[test]
    fn values_are_normalised_like_ansible() {
        assert_eq!(parse_value("Yes"), "1");
        assert_eq!(parse_value("off"), "0");
        assert_eq!(parse_value(" 1024 65000 "), "1024 65000");
        let r = req(json!({"key": "net.ipv4.ip_forward", "val": true}));
        assert_eq!(
            (r.name.as_str(), r.value.as_str()),
            ("net.ipv4.ip_forward", "1")
        );
        assert!(values_equal("32768\t60999\n", "32768 60999"));
        assert!(!values_equal("1 2", "1 2 3"));
    }

    #[test]
    fn file_is_rewritten_in_ansibles_format() {
        let r = req(json!({"name": "net.ipv4.ip_forward", "value": 1}));
        let file = "# comment \n  net.core.somaxconn = 1024\nnet.ipv4.ip_forward = 0\n\nnet.ipv4.ip_forward=0\n";
        let p = plan(&r, Some("0\n"), file);
        assert!(p.changed && p.write_file && !p.set_proc);
        assert_eq!(
            p.content,
            "# comment\nnet.core.somaxconn=1024\nnet.ipv4.ip_forward=1\n\n"
        );
        let p = plan(&r, Some("0\n"), "");
        assert_eq!(p.content, "net.ipv4.ip_forward=1\n");
    }

    #[test]
    fn changed_follows_file_then_live_value() {
        let r = req(json!({"name": "net.ipv4.ip_forward", "value": "1"}));
        let file = "net.ipv4.ip_forward = 1\n";
        assert!(!plan(&r, Some("1\n"), file).changed);
        // The file is right but the kernel is not: reload fixes it.
        let p = plan(&r, Some("0\n"), file);
        assert!(p.changed && !p.write_file);
        let no_reload = req(json!({"name": "net.ipv4.ip_forward", "value": "1", "reload": false}));
        assert!(!plan(&no_reload, Some("0\n"), file).changed);
        let set = req(
            json!({"name": "net.ipv4.ip_forward", "value": "1", "reload": false, "sysctl_set": true}),
        );
        let p = plan(&set, Some("0\n"), file);
        assert!(p.changed && p.set_proc);
        // Unknown to the kernel: a change that the reload will report as an error.
        assert!(plan(&r, None, file).changed);
    }

    #[test]
    fn absent_removes_only_an_existing_line() {
        let r = req(json!({"name": "net.ipv4.ip_forward", "state": "absent"}));
        let p = plan(&r, Some("1\n"), "a.b=1\nnet.ipv4.ip_forward=1\n");
        assert!(p.changed && p.write_file);
        assert_eq!(p.content, "a.b=1\n");
        assert!(!plan(&r, Some("1\n"), "a.b=1\n").changed);
    }

    #[test]
    fn argument_errors_and_stderr_failures() {
        let err = |v: serde_json::Value| {
            Request::from_args(&Args::new(v.as_object().unwrap().clone()))
                .unwrap_err()
                .to_string()
        };
        assert!(err(json!({"name": "x"})).contains("missing: value"));
        assert_eq!(
            err(json!({"name": "x", "value": ""})),
            "value cannot be blank"
        );
        assert!(stderr_failed(
            "sysctl: setting key \"net.x\": Invalid argument\n"
        ));
        assert!(!stderr_failed("net.x = 1\n"));
    }
}
