//! `pip`: installs Python packages on the host with the host's pip, in a virtualenv it creates
//! when missing. Decisions follow ansible-core's pip.py: the real run always calls pip and
//! reads "Successfully installed/uninstalled" (or compares `pip freeze` before and after for
//! requirement files and VCS URLs); check mode compares `pip list --format=freeze` with the
//! requested specifiers without touching anything.

pub mod version;

use futures::future::BoxFuture;
use serde_json::Value;

use self::version::{Requirement, is_present, recover_names};
use crate::modules::toolkit::atomic_write::{parse_trailer, unhex};
use crate::modules::toolkit::script_output::PRELUDE;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;
use crate::shell::shlex;

const SCRIPT: &str = include_str!("pip.sh");

pub struct Pip;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "pip",
    params: &[
        Param::new("name", T::List),
        Param::new("version", T::Str),
        Param::new("requirements", T::Str),
        Param::new("virtualenv", T::Str),
        Param::new("virtualenv_site_packages", T::Bool),
        Param::new("virtualenv_command", T::Str),
        Param::new("virtualenv_python", T::Str),
        Param::new("state", T::Str).choices(&["present", "absent", "latest", "forcereinstall"]),
        Param::new("extra_args", T::Str),
        Param::new("editable", T::Bool),
        Param::new("chdir", T::Str),
        Param::new("executable", T::Str),
        Param::new("umask", T::Str),
        Param::new("break_system_packages", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["name", "requirements"], &["executable", "virtualenv"]],
    required_one_of: &[&["name", "requirements"]],
    any_params: false,
};

impl Module for Pip {
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

fn state_args(state: &str) -> &'static [&'static str] {
    match state {
        "absent" => &["uninstall", "-y"],
        "latest" => &["install", "-U"],
        "forcereinstall" => &["install", "-U", "--force-reinstall"],
        _ => &["install"],
    }
}

/// Ansible's `_is_venv_command`: `pyvenv` or `... -m venv`.
pub fn is_venv_command(words: &[String]) -> bool {
    if words.first().is_some_and(|w| w == "pyvenv") {
        return true;
    }
    words.windows(2).any(|w| w[0] == "-m" && w[1] == "venv") || words.iter().any(|w| w == "-mvenv")
}

fn is_vcs(name: &str) -> bool {
    ["svn+", "git+", "hg+", "bzr+"]
        .iter()
        .any(|p| name.contains(p))
}

/// The package arguments: names with specifiers normalized, `version` folded in.
pub fn package_args(names: &[String], version: Option<&str>) -> Result<Vec<String>, String> {
    let mut pkgs: Vec<String> = recover_names(names)
        .iter()
        .map(|n| {
            if Requirement::parse(n).is_some() {
                Requirement::display(n)
            } else {
                n.clone()
            }
        })
        .collect();
    if let Some(v) = version {
        if pkgs.len() > 1 {
            return Err("'version' argument is ambiguous when installing multiple package distributions. Please specify version restrictions next to each package in 'name' argument.".into());
        }
        if Requirement::parse(&pkgs[0]).is_some_and(|r| r.has_specifier()) {
            return Err("The 'version' argument conflicts with any version specifier provided along with a package name. Please keep the version specifier, but remove the 'version' argument.".into());
        }
        let v = v.trim_start();
        let sep = if v.starts_with(|c: char| c.is_ascii_digit()) {
            "=="
        } else {
            ""
        };
        pkgs[0] = Requirement::display(&format!("{}{sep}{v}", pkgs[0]));
    }
    Ok(pkgs)
}

fn words(ws: &[String]) -> String {
    ws.iter().map(|w| sh_quote(w)).collect::<Vec<_>>().join(" ")
}

fn hex_text(h: Option<&String>) -> String {
    String::from_utf8_lossy(&h.and_then(|h| unhex(h)).unwrap_or_default()).into_owned()
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let state = args.str("state").unwrap_or_else(|| "present".into());
    let names = args.str_list("name")?;
    let version = args.str("version");
    let requirements = args.str("requirements");
    let chdir = args.str("chdir");
    let mut env = args.str("virtualenv");
    if let (Some(e), Some(c)) = (&env, &chdir)
        && !e.starts_with('/')
    {
        env = Some(format!("{}/{e}", c.trim_end_matches('/')));
    }
    let umask = match args.str("umask") {
        None => None,
        Some(u) => match u32::from_str_radix(&u, 8) {
            Ok(u) => Some(u),
            Err(_) => return Ok(ModuleResult::failed("umask must be an octal integer")),
        },
    };
    if state == "latest" && version.is_some() {
        return Ok(ModuleResult::failed(
            "version is incompatible with state=latest",
        ));
    }
    let pkgs = match &names {
        Some(n) => match package_args(n, version.as_deref()) {
            Ok(p) => Some(p),
            Err(e) => return Ok(ModuleResult::failed(e)),
        },
        None => None,
    };
    let mut extra = args.str("extra_args");
    if args.bool_or("editable", false)? {
        let mut list: Vec<String> = extra
            .as_deref()
            .map(|e| e.split(' ').map(String::from).collect())
            .unwrap_or_default();
        if !list.iter().any(|w| w == "-e") {
            list.push("-e".into());
            extra = Some(list.join(" "));
        }
    }
    let extra_words = match &extra {
        Some(e) => shlex::split(e).map_err(|e| ModuleError::Args(format!("extra_args: {e}")))?,
        None => vec![],
    };
    let venv_cmd = shlex::split(
        &args
            .str("virtualenv_command")
            .unwrap_or_else(|| "virtualenv".into()),
    )
    .map_err(|e| ModuleError::Args(format!("virtualenv_command: {e}")))?;
    let venv_python = args.str("virtualenv_python");
    let is_venv = is_venv_command(&venv_cmd);
    if is_venv && venv_python.is_some() && env.is_some() {
        return Ok(ModuleResult::failed(
            "virtualenv_python should not be used when using the venv module or pyvenv as virtualenv_command",
        ));
    }
    let mut pip_cmd: Vec<String> = state_args(&state).iter().map(|s| s.to_string()).collect();
    pip_cmd.extend(extra_words);
    match (&pkgs, &requirements) {
        (Some(p), _) => pip_cmd.extend(p.iter().cloned()),
        (None, Some(r)) => pip_cmd.extend(["-r".to_string(), r.clone()]),
        (None, None) => {}
    }
    let has_vcs = pkgs.as_ref().is_some_and(|p| p.iter().any(|n| is_vcs(n)));
    let check_all_changed =
        extra.is_some() || requirements.is_some() || state == "latest" || pkgs.is_none();
    let mut script = String::from(PRELUDE);
    script.push_str(&format!(
        "env={}; chdir={}; C={}; umask_={}; exe={}; site={}; isvenv={}; vpy={}; freeze_before={}; check_all={}; absent={}\n\
         VCMD={}; VCMD0={}; PIPARGS={}\n",
        sh_quote(env.as_deref().unwrap_or("")),
        sh_quote(chdir.as_deref().unwrap_or("")),
        ctx.check_mode as u8,
        umask.map(|u| format!("{u:03o}")).unwrap_or_default(),
        sh_quote(&args.str("executable").unwrap_or_default()),
        args.bool_or("virtualenv_site_packages", false)? as u8,
        is_venv as u8,
        sh_quote(venv_python.as_deref().unwrap_or("")),
        (requirements.is_some() || has_vcs) as u8,
        check_all_changed as u8,
        (state == "absent") as u8,
        sh_quote(&words(&venv_cmd)),
        sh_quote(venv_cmd.first().map(String::as_str).unwrap_or("virtualenv")),
        sh_quote(&words(&pip_cmd)),
    ));
    if args.bool_or("break_system_packages", false)? {
        script.push_str("export PIP_BREAK_SYSTEM_PACKAGES=1\n");
    }
    script.push_str(SCRIPT);
    let out = ctx.run(&script, None).await?;
    let keys = parse_trailer(&out.stdout);
    let stdout = hex_text(keys.get("stdoutx"));
    let stderr = hex_text(keys.get("stderrx"));
    let cmd = hex_text(keys.get("cmdx"));
    if let Some(f) = keys.get("failx") {
        return Ok(ModuleResult::failed(hex_text(Some(f)))
            .with("cmd", cmd)
            .with("stdout", stdout)
            .with("stderr", stderr));
    }
    let Some(outcome) = keys.get("outcome") else {
        return Ok(ModuleResult::failed(format!(
            "pip module script failed: {}",
            out.stderr_str().trim()
        )));
    };
    match outcome.as_str() {
        // Check mode without a virtualenv yet: Ansible exits right there.
        "venv_missing" => Ok(ModuleResult::changed(true)),
        "check_all" => Ok(ModuleResult::changed(true)),
        "check" => {
            let freeze = hex_text(keys.get("freezex"));
            let mut changed = false;
            for p in pkgs.iter().flatten() {
                let present = Requirement::parse(p).is_some_and(|r| is_present(&r, &freeze));
                if (state == "present" && !present) || (state == "absent" && present) {
                    changed = true;
                    break;
                }
            }
            Ok(ModuleResult::changed(changed)
                .with("cmd", cmd)
                .with("stdout", format!("{stdout}{freeze}"))
                .with("stderr", stderr))
        }
        _ => {
            let changed = keys.get("changed").is_some_and(|c| c == "1");
            let cmd_list: Vec<Value> = shlex::split(&cmd)
                .unwrap_or_default()
                .into_iter()
                .map(Value::from)
                .collect();
            Ok(ModuleResult::changed(changed)
                .with("cmd", Value::Array(cmd_list))
                .with(
                    "name",
                    names
                        .map(|n| Value::Array(n.into_iter().map(Value::from).collect()))
                        .unwrap_or(Value::Null),
                )
                .with("version", version.map(Value::from).unwrap_or(Value::Null))
                .with("state", state)
                .with(
                    "requirements",
                    requirements.map(Value::from).unwrap_or(Value::Null),
                )
                .with("virtualenv", env.map(Value::from).unwrap_or(Value::Null))
                .with("stdout", stdout)
                .with("stderr", stderr))
        }
    }
}

#[cfg(test)]
mod tests;
