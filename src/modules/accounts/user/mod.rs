//! `user`: a local account present (with its groups, home, shell, password hash, expiry,
//! lock and SSH key) or absent, through shadow-utils. One probe round trip reads the current
//! state; the decisions are Ansible's (see [`self::plan`]); a change costs one more
//! round trip that also reads the result back. Check mode predicts from the probe, as Ansible
//! does from the same facts, and touches nothing.

pub mod plan;
pub mod script;

use futures::future::BoxFuture;
use serde_json::Value;

use self::plan::modify_command;
use self::plan::{UserRequest, create_command, delete_command, home_mode};
use self::script::probe_script;
use self::script::{ApplySteps, KeyState, Observed, Reply, apply_script};
use super::account_db::Passwd;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct User;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "user",
    params: &[
        Param::new("name", T::Str).required().aliases(&["user"]),
        Param::new("state", T::Str).choices(&["absent", "present"]),
        Param::new("uid", T::Int),
        Param::new("non_unique", T::Bool),
        Param::new("group", T::Str),
        Param::new("groups", T::List),
        Param::new("append", T::Bool),
        Param::new("comment", T::Str),
        Param::new("home", T::Str),
        Param::new("shell", T::Str),
        Param::new("password", T::Str),
        Param::new("update_password", T::Str).choices(&["always", "on_create"]),
        Param::new("password_lock", T::Bool),
        Param::new("force", T::Bool),
        Param::new("remove", T::Bool),
        Param::new("create_home", T::Bool).aliases(&["createhome"]),
        Param::new("move_home", T::Bool),
        Param::new("system", T::Bool),
        Param::new("skeleton", T::Str),
        Param::new("expires", T::Float),
        Param::new("generate_ssh_key", T::Bool),
        Param::new("ssh_key_bits", T::Int),
        Param::new("ssh_key_type", T::Str),
        Param::new("ssh_key_file", T::Str),
        Param::new("ssh_key_comment", T::Str),
        Param::new("ssh_key_passphrase", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for User {
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

/// What Ansible's `ssh_key_gen` would do, judged from the probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyPlan {
    Generate,
    SkipPrivate,
    SkipPublic,
}

fn key_plan(req: &UserRequest, key: &KeyState) -> KeyPlan {
    if !key.dir_exists || req.force {
        KeyPlan::Generate
    } else if key.key_exists {
        KeyPlan::SkipPrivate
    } else if key.pub_exists {
        KeyPlan::SkipPublic
    } else {
        KeyPlan::Generate
    }
}

fn key_warning(plan: KeyPlan, key: &KeyState, force: bool) -> Option<String> {
    match plan {
        KeyPlan::SkipPrivate => Some(format!(
            "Found existing ssh key private file \"{}\", no force, so skipping ssh-keygen generation",
            key.path
        )),
        KeyPlan::SkipPublic => Some(format!(
            "Found existing ssh key public file \"{}.pub\", no force, so skipping ssh-keygen generation",
            key.path
        )),
        KeyPlan::Generate if force && key.key_exists => Some(format!(
            "Overwriting existing ssh key private file \"{}\"",
            key.path
        )),
        KeyPlan::Generate => None,
    }
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let req = UserRequest::from_args(args)?;
    let mut warnings: Vec<String> = req.password_warning().into_iter().collect();
    if req.append && req.groups.is_none() {
        warnings.push("'append' is set, but no 'groups' are specified. Use 'groups' for appending new groups.This will change to an error in Ansible 2.14.".into());
    }
    let reply = Reply::parse(&ctx.run(&probe_script(&req), None).await?.stdout);
    if reply.get("host").is_none() {
        return Ok(ModuleResult::failed(format!(
            "could not read the accounts of {}",
            ctx.host
        )));
    }
    let before = Observed::from_reply(&reply);
    let exists = before.acct.pw.is_some();
    let state = if req.present { "present" } else { "absent" };
    let base = || {
        ModuleResult::ok()
            .with("name", req.name.clone())
            .with("state", state)
    };
    let fail = |msg: String, rc: Option<i64>| {
        let mut r = ModuleResult::failed(msg).with("name", req.name.clone());
        if let Some(rc) = rc {
            r = r.with("rc", rc);
        }
        r
    };

    if !req.present {
        if !exists {
            return Ok(finish(base(), warnings));
        }
        if ctx.check_mode {
            return Ok(finish(ModuleResult::changed(true), warnings));
        }
        let cmd = delete_command(&req);
        let steps = ApplySteps {
            command: Some(&cmd),
            home_before: None,
            ensure_home: false,
            home_mode: None,
            key_comment: String::new(),
        };
        let out = Reply::parse(&ctx.run(&apply_script(&req, &steps), None).await?.stdout);
        if let Some(f) = command_failure(&out) {
            return Ok(finish(fail(f.0, Some(f.1)), warnings));
        }
        let mut r = with_output(base(), &out)
            .with("force", req.force)
            .with("remove", req.remove);
        r.changed = true;
        return Ok(finish(r, warnings));
    }

    let key_comment = req.ssh_key_comment.clone().unwrap_or_else(|| {
        format!(
            "ansible-generated on {}",
            reply.get("host").unwrap_or_default()
        )
    });
    let hmode = home_mode(reply.has("ldexists").then(|| reply.all("ld")));
    let mut r = base();
    let (cmd, creating) = if exists {
        r = r
            .with("append", req.append)
            .with("move_home", req.move_home);
        match modify_command(&req, &before.acct) {
            Ok(c) => (c, false),
            Err(msg) => return Ok(finish(ModuleResult::failed(msg), warnings)),
        }
    } else {
        if ctx.check_mode {
            return Ok(finish(ModuleResult::changed(true), warnings));
        }
        match create_command(&req, &before.acct) {
            Ok(c) => (c, true),
            Err(msg) => return Ok(finish(ModuleResult::failed(msg), warnings)),
        }
    };

    // Predictions from the probe (exact when nothing else changes, and all check mode sees).
    let home_missing = req.create_home
        && match &req.home {
            Some(_) => !reply.has("hwant"),
            None => !before.home_exists,
        };
    let plan = before.key.as_ref().map(|k| key_plan(&req, k));
    let key_needs_run = plan == Some(KeyPlan::Generate)
        || (req.generate_ssh_key
            && !req.ssh_key_file.starts_with('/')
            && !before.home_exists
            && !home_missing);

    let after;
    if ctx.check_mode || (!creating && cmd.is_empty() && !home_missing && !key_needs_run) {
        r.changed = !cmd.is_empty() || home_missing || plan == Some(KeyPlan::Generate);
        if let (Some(p), Some(k)) = (plan, &before.key) {
            warnings.extend(key_warning(p, k, req.force));
        }
        after = before;
    } else {
        let home_before = (creating && req.create_home && !reply.has("hparent"))
            .then_some(req.home.as_deref())
            .flatten();
        let steps = ApplySteps {
            command: (!cmd.is_empty()).then_some(cmd.as_slice()),
            home_before,
            ensure_home: req.create_home,
            home_mode: hmode,
            key_comment,
        };
        let out = Reply::parse(&ctx.run(&apply_script(&req, &steps), None).await?.stdout);
        if let Some((msg, rc)) = command_failure(&out) {
            return Ok(finish(fail(msg, Some(rc)), warnings));
        }
        if out.has("fail") {
            let rc = out.get("frc").and_then(|s| s.parse().ok()).unwrap_or(1);
            return Ok(finish(fail(out.text("fail"), Some(rc)), warnings));
        }
        r = with_output(r, &out);
        r.changed = out.has("rc") || out.has("homemade") || out.has("keygen");
        if let Some(k) = &before.key {
            let p = match out.get("keyskip") {
                Some("priv") => KeyPlan::SkipPrivate,
                Some("pub") => KeyPlan::SkipPublic,
                _ => KeyPlan::Generate,
            };
            let mut k = k.clone();
            k.key_exists = out.has("keyover") || (p == KeyPlan::SkipPrivate);
            if p != KeyPlan::Generate || out.has("keyover") {
                warnings.extend(key_warning(p, &k, req.force));
            }
        }
        after = Observed::from_reply(&out);
    }
    if creating {
        r = r
            .with("system", req.system)
            .with("create_home", req.create_home);
    }
    let Some(pw) = &after.acct.pw else {
        return Ok(finish(
            ModuleResult::failed(format!("failed to look up user name: {}", req.name)),
            warnings,
        ));
    };
    add_account(&mut r, pw, &req);
    if let Some(k) = &after.key {
        r = r
            .with("ssh_fingerprint", k.fingerprint.clone())
            .with("ssh_key_file", k.path.clone())
            .with(
                "ssh_public_key",
                k.public_key.clone().map_or(Value::Null, Value::from),
            );
    }
    Ok(finish(r, warnings))
}

/// `(stderr, rc)` when the account command failed.
fn command_failure(out: &Reply) -> Option<(String, i64)> {
    let rc: i64 = out.get("rc")?.parse().ok()?;
    (rc != 0).then(|| (out.text("err"), rc))
}

fn with_output(mut r: ModuleResult, out: &Reply) -> ModuleResult {
    for (k, key) in [("stdout", "out"), ("stderr", "err")] {
        let t = out.text(key);
        if !t.is_empty() {
            // Ansible adds the `_lines` form of every string stdout/stderr in a result.
            let lines: Vec<Value> = t.lines().map(Value::from).collect();
            r = r.with(&format!("{k}_lines"), lines).with(k, t);
        }
    }
    r
}

/// Ansible's account keys: `group` is the primary gid, `groups` the argument as given.
fn add_account(r: &mut ModuleResult, pw: &Passwd, req: &UserRequest) {
    let d = &mut r.data;
    d.insert("uid".into(), pw.uid.into());
    d.insert("group".into(), pw.gid.into());
    d.insert("comment".into(), pw.gecos.clone().into());
    d.insert("home".into(), pw.home.clone().into());
    d.insert("shell".into(), pw.shell.clone().into());
    if let Some(g) = &req.groups {
        d.insert("groups".into(), g.clone().into());
    }
    if req.password.is_some() {
        d.insert("password".into(), "NOT_LOGGING_PASSWORD".into());
    }
}

fn finish(mut r: ModuleResult, warnings: Vec<String>) -> ModuleResult {
    if !warnings.is_empty() {
        r.data.insert(
            "warnings".into(),
            Value::Array(warnings.into_iter().map(Value::from).collect()),
        );
    }
    r
}

#[cfg(test)]
mod tests;
