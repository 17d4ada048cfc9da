//! `git`: clones or updates a checkout on the host with the host's own `git`, following
//! ansible-core's git.py decision by decision (ls-remote probes, clone/fetch/checkout commands,
//! local-modification handling, remote URL updates, check mode via `ls-remote`, submodules
//! initialised and updated recursively unless `recursive: false`). The whole sequence is one
//! shell script (`git.sh`), so a task costs one round trip. Credentials in an HTTP(S) `repo`
//! never reach git's command line (see `credentials`).

mod credentials;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::modules::toolkit::atomic_write::{parse_trailer, unhex};
use crate::modules::toolkit::script_output::PRELUDE;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

const SCRIPT: &str = include_str!("git.sh");

pub struct Git;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "git",
    params: &[
        Param::new("repo", T::Str).required().aliases(&["name"]),
        Param::new("dest", T::Str),
        Param::new("version", T::Str),
        Param::new("remote", T::Str),
        Param::new("force", T::Bool),
        Param::new("depth", T::Int),
        Param::new("update", T::Bool),
        Param::new("clone", T::Bool),
        Param::new("bare", T::Bool),
        Param::new("accept_hostkey", T::Bool),
        Param::new("accept_newhostkey", T::Bool),
        Param::new("key_file", T::Str),
        Param::new("ssh_opts", T::Str),
        Param::new("single_branch", T::Bool),
        Param::new("executable", T::Str),
        Param::new("umask", T::Raw),
        Param::new("recursive", T::Bool),
        Param::new("track_submodules", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["accept_hostkey", "accept_newhostkey"]],
    required_one_of: &[],
    any_params: false,
};

impl Module for Git {
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

/// The `GIT_SSH_COMMAND` Ansible's ssh wrapper amounts to, if any option needs one.
pub fn ssh_command(
    key_file: Option<&str>,
    ssh_opts: Option<&str>,
    accept: Option<&str>,
) -> Option<String> {
    let mut opts = ssh_opts.unwrap_or("").to_string();
    if let Some(a) = accept
        && !opts.contains("-o StrictHostKeyChecking=no")
        && !opts.contains("-o StrictHostKeyChecking=accept-new")
    {
        if !opts.is_empty() {
            opts.push(' ');
        }
        opts.push_str(&format!("-o StrictHostKeyChecking={a}"));
    }
    if key_file.is_none() && opts.is_empty() {
        return None;
    }
    let mut cmd = String::from("ssh");
    if let Some(k) = key_file {
        cmd.push_str(&format!(" -i {} -o IdentitiesOnly=yes", sh_quote(k)));
    }
    if !opts.is_empty() {
        cmd.push(' ');
        cmd.push_str(&opts);
    }
    Some(cmd)
}

/// Paths become `file://` URLs, as Ansible does so `depth` works on local repositories.
pub fn normalize_repo(repo: &str) -> String {
    if repo.starts_with('/') {
        format!("file://{repo}")
    } else {
        repo.to_string()
    }
}

fn hex_text(h: Option<&String>) -> String {
    let b = h.and_then(|h| unhex(h)).unwrap_or_default();
    let s = String::from_utf8_lossy(&b).into_owned();
    s.strip_suffix('\n').unwrap_or(&s).to_string()
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let (repo, creds) = credentials::split(&normalize_repo(&args.req_str("repo")?));
    let clone = args.bool_or("clone", true)?;
    let dest = match args.str("dest") {
        Some(d) => d,
        None if clone => {
            return Ok(ModuleResult::failed(
                "the destination directory must be specified unless clone=no",
            ));
        }
        None => String::new(),
    };
    let depth = args.int("depth")?;
    let umask = match args.get("umask") {
        None => None,
        Some(Value::String(s)) => match u32::from_str_radix(s, 8) {
            Ok(u) => Some(u),
            Err(_) => return Ok(ModuleResult::failed("umask must be an octal integer")),
        },
        Some(_) => {
            return Ok(ModuleResult::failed(
                "umask must be defined as a quoted octal integer",
            ));
        }
    };
    let accept = if args.bool_or("accept_hostkey", false)? {
        Some("no")
    } else if args.bool_or("accept_newhostkey", false)? {
        Some("accept-new")
    } else {
        None
    };
    let ssh = ssh_command(
        args.str("key_file").as_deref(),
        args.str("ssh_opts").as_deref(),
        accept,
    );
    let b = |name: &str, default: bool| -> Result<u8, ModuleError> {
        Ok(args.bool_or(name, default)? as u8)
    };
    let mut script = String::from(PRELUDE);
    if let Some(u) = umask {
        script.push_str(&format!("umask {u:03o}\n"));
    }
    if let Some(s) = &ssh {
        script.push_str(&format!("export GIT_SSH_COMMAND={}\n", sh_quote(s)));
    }
    if let Some(c) = &creds {
        script.push_str(&credentials::askpass_script(c));
    }
    if let Some(exe) = args.str("executable") {
        script.push_str(&format!("git() {{ {} \"$@\"; }}\n", sh_quote(&exe)));
    }
    let dest_abs = if dest.is_empty() || dest.starts_with('/') {
        sh_quote(&dest)
    } else {
        format!("\"$PWD\"/{}", sh_quote(&dest))
    };
    let gitx = args.str("executable").unwrap_or_else(|| "git".into());
    script.push_str(&format!(
        "repo={}; dest={dest_abs}; version={}; remote={}; force={}; depth={}; update={}; clone={}; bare={}; single_branch={}; recursive={}; track_submodules={}; gitx={}; C={}\n",
        sh_quote(&repo),
        sh_quote(&args.str("version").unwrap_or_else(|| "HEAD".into())),
        sh_quote(&args.str("remote").unwrap_or_else(|| "origin".into())),
        b("force", false)?,
        depth.filter(|d| *d > 0).map(|d| d.to_string()).unwrap_or_default(),
        b("update", true)?,
        clone as u8,
        b("bare", false)?,
        b("single_branch", false)?,
        b("recursive", true)?,
        b("track_submodules", false)?,
        sh_quote(&gitx),
        ctx.check_mode as u8,
    ));
    script.push_str(SCRIPT);
    let out = ctx.run(&script, None).await?;
    let keys = parse_trailer(&out.stdout);
    let before = keys
        .get("before")
        .filter(|s| !s.is_empty())
        .map(|s| Value::from(s.clone()))
        .unwrap_or(Value::Null);
    if keys.contains_key("failx") {
        let mut r = ModuleResult::failed(hex_text(keys.get("failx"))).with("before", before);
        // A refusal before any command (local modifications) carries no command output.
        let cmd = hex_text(keys.get("cmdx"));
        if !cmd.is_empty() {
            r = r
                .with("cmd", cmd)
                .with("stdout", hex_text(keys.get("stdoutx")))
                .with("stderr", hex_text(keys.get("stderrx")));
            if let Some(rc) = keys.get("rc").and_then(|s| s.parse::<i64>().ok()) {
                r.data.insert("rc".into(), rc.into());
            }
        }
        return Ok(r);
    }
    let Some(after) = keys.get("after") else {
        return Ok(ModuleResult::failed(format!(
            "git module script failed: {}",
            out.stderr_str().trim()
        )));
    };
    let mut r = ModuleResult::changed(keys.get("changed").is_some_and(|c| c == "1"))
        .with("before", before)
        .with("after", after.clone());
    if let Some(ruc) = keys.get("remote_url_changed") {
        r.data
            .insert("remote_url_changed".into(), (ruc == "1").into());
    }
    if keys.contains_key("submodules_changed") {
        r.data.insert("submodules_changed".into(), true.into());
    }
    if keys.contains_key("local_mods") {
        r.msg = Some(format!(
            "Local modifications exist in the destination: {dest}"
        ));
    }
    if let Some(w) = keys.get("warning") {
        r.data
            .insert("warnings".into(), Value::Array(vec![w.clone().into()]));
    }
    Ok(r)
}

#[cfg(test)]
mod tests;
