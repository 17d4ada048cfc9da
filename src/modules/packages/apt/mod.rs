//! `apt`: Debian packages, following Ansible's apt module step by step (same order of
//! operations, same decisions per package, same `changed` rules and messages), with apt-get,
//! apt-cache and dpkg-query instead of python-apt. A task is one read-only probe round trip
//! (cache refresh, package state) and, only when something must change, one apt-get run.
//! Check mode runs apt-get with `--simulate`, as Ansible does. `upgrade` always uses apt-get
//! (Ansible prefers aptitude when installed).

pub mod cmd;
pub mod deb;
pub mod opts;
pub mod plan;
pub mod probe;
pub mod state;
pub mod version;

use std::collections::HashMap;

use futures::future::BoxFuture;

use self::cmd::with_streams;
use self::cmd::{CacheReport, Cmd, ENV, HELPERS, SEP, hex_text, no_apt};
use self::cmd::{split_report, with_lock_holder, with_policy_rc_d};
use self::deb::DebJob;
pub use self::opts::{DPKG_OPTIONS, Opts, State};
use self::plan::{check_specs, plan_install, plan_remove, virtual_names};
use self::probe::Probe;
use self::state::split_spec;
use crate::fnmatch::has_wildcard;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Apt;

const APT_GET_ZERO: &str = "\n0 upgraded, 0 newly installed, 0 to remove";

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "apt",
    params: &[
        Param::new("name", T::List).aliases(&["pkg", "package"]),
        Param::new("state", T::Str).choices(&["absent", "build-dep", "fixed", "latest", "present"]),
        Param::new("update_cache", T::Bool).aliases(&["update-cache"]),
        Param::new("update_cache_retries", T::Int),
        Param::new("update_cache_retry_max_delay", T::Int),
        Param::new("cache_valid_time", T::Int),
        Param::new("purge", T::Bool),
        Param::new("deb", T::Str),
        Param::new("default_release", T::Str).aliases(&["default-release"]),
        Param::new("install_recommends", T::Bool).aliases(&["install-recommends"]),
        Param::new("force", T::Bool),
        // Checked at run time: YAML turns `upgrade: yes` into a boolean, which Ansible maps
        // back onto the `yes`/`no` choices.
        Param::new("upgrade", T::Raw),
        Param::new("dpkg_options", T::Str),
        Param::new("autoremove", T::Bool),
        Param::new("autoclean", T::Bool),
        Param::new("fail_on_autoremove", T::Bool),
        Param::new("policy_rc_d", T::Int),
        Param::new("only_upgrade", T::Bool),
        // strata always runs apt-get, which is what `force_apt_get: true` asks for; Ansible's
        // default differs only for `upgrade` on hosts with aptitude (see the README).
        Param::new("force_apt_get", T::Bool),
        Param::new("clean", T::Bool),
        Param::new("allow_unauthenticated", T::Bool).aliases(&["allow-unauthenticated"]),
        Param::new("allow_downgrade", T::Bool).aliases(&[
            "allow-downgrade",
            "allow_downgrades",
            "allow-downgrades",
        ]),
        Param::new("allow_change_held_packages", T::Bool),
        Param::new("lock_timeout", T::Int),
        // Accepted and ignored: it installs python3-apt for Ansible's module, which strata
        // does not need; there is nothing to install and nothing to fail on.
        Param::new("auto_install_module_deps", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["deb", "name", "upgrade"]],
    required_one_of: &[],
    any_params: false,
};

impl Module for Apt {
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

fn with_cache(r: ModuleResult, c: &CacheReport) -> ModuleResult {
    r.with("cache_updated", c.updated)
        .with("cache_update_time", c.time)
}

/// One apt-get run, then optionally `apt-mark manual` for the named packages.
pub struct Action {
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
    pub mark_error: Option<String>,
}

pub async fn run_action(
    ctx: &ModuleCtx<'_>,
    cmd: &Cmd,
    marks: &[String],
    policy_rc_d: Option<i64>,
) -> Result<Action, ModuleError> {
    let mut s = format!("{ENV}{HELPERS}");
    s.push_str(&with_policy_rc_d(&cmd.shell(), policy_rc_d));
    s.push_str(&format!(
        "printf '\\n{SEP}\\n__strata_rc=%s\\n' \"$__rc\"\n"
    ));
    if !marks.is_empty() {
        let q: Vec<String> = marks.iter().map(|m| sh_quote(m)).collect();
        s.push_str(&format!(
            "if [ \"$__rc\" = 0 ]; then __me=$(apt-mark manual -- {} 2>&1 >/dev/null) || __sx markfail \"$__me\"; fi\n",
            q.join(" ")
        ));
    }
    let out = ctx.run(&s, None).await?;
    let rep = split_report(&out);
    Ok(Action {
        rc: rep
            .keys
            .get("rc")
            .and_then(|r| r.parse().ok())
            .unwrap_or(out.rc),
        stdout: rep.stdout,
        stderr: out.stderr_str(),
        mark_error: rep.keys.get("markfail").map(|h| {
            format!(
                "'apt-mark manual {}' failed: {}",
                marks.join(" "),
                hex_text(h).trim()
            )
        }),
    })
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let o = Opts::from_args(args)?;
    let check = ctx.check_mode;
    let has_pkgs = o.packages.as_ref().is_some_and(|p| !p.is_empty());
    if o.clean {
        let a = run_action(ctx, &Cmd::new("apt-get").arg("clean"), &[], None).await?;
        if a.rc != 0 || !a.stderr.is_empty() {
            return Ok(
                ModuleResult::failed(format!("apt-get clean failed: {}", a.stderr.trim()))
                    .with("stdout", a.stdout)
                    .with("rc", a.rc),
            );
        }
        if !has_pkgs && o.upgrade.is_none() && o.deb.is_none() {
            return Ok(
                with_streams(ModuleResult::changed(true), &a.stdout, &a.stderr).msg(a.stdout),
            );
        }
    }
    let all = o.packages.clone().unwrap_or_default();
    let all_installed = all.iter().any(|p| p == "*");
    let specs: Vec<String> = all.into_iter().filter(|p| p != "*").collect();
    // Package state is only needed when the task ends in install/remove.
    let goes_to_packages =
        o.upgrade.is_none() && o.deb.is_none() && !(o.state == State::Latest && all_installed);
    let (globs, literal): (Vec<String>, Vec<String>) = if goes_to_packages {
        specs
            .iter()
            .map(|s| split_spec(s).0.to_string())
            .partition(|n| has_wildcard(n))
    } else {
        (vec![], vec![])
    };
    let update = o.cache_update(check);
    let probe = Probe {
        update: update.as_ref(),
        globs: &globs,
        names: &literal,
        default_release: o.default_release.as_deref(),
    };
    let mut pr = probe::run(ctx, &probe).await?;
    if pr.no_apt {
        return Ok(no_apt());
    }
    let cache = pr.cache.clone().unwrap_or_default();
    if let Some(e) = &cache.error {
        return Ok(ModuleResult::failed(e.clone()));
    }
    if update.is_some() && !has_pkgs && o.upgrade.is_none() && o.deb.is_none() {
        return Ok(with_cache(ModuleResult::changed(cache.updated), &cache));
    }
    if let Some(mode) = &o.upgrade {
        return upgrade(ctx, &o, mode).await;
    }
    if let Some(deb) = &o.deb {
        if o.state != State::Present {
            return Ok(ModuleResult::failed("deb only supports state=present"));
        }
        let job = DebJob {
            debs: deb.split(',').map(|d| d.trim().to_string()).collect(),
            cmd: o.deb_cmd(check),
            allow_downgrade: o.allow_downgrade || o.force,
            policy_rc_d: o.policy_rc_d,
        };
        return deb::run(ctx, &job).await;
    }
    if o.state == State::Latest && all_installed {
        if !specs.is_empty() {
            return Ok(ModuleResult::failed(
                "unable to install additional packages when upgrading all installed packages",
            ));
        }
        return upgrade(ctx, &o, "yes").await;
    }
    if let Err(e) = check_specs(&specs) {
        return Ok(ModuleResult::failed(e.to_string()));
    }
    if specs.is_empty() {
        if o.autoclean {
            return cleanup(ctx, &o, "autoclean").await;
        }
        if o.autoremove {
            return cleanup(ctx, &o, "autoremove").await;
        }
    }
    let specs = match expand_globs(ctx, &o, &specs, &mut pr).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    match o.state {
        State::Absent => remove(ctx, &o, &specs, &pr.db).await,
        _ => install(ctx, &o, &specs, &mut pr, &cache).await,
    }
}

/// Replaces wildcard specs by the names they matched and reads those packages' state.
async fn expand_globs(
    ctx: &ModuleCtx<'_>,
    o: &Opts,
    specs: &[String],
    pr: &mut probe::ProbeResult,
) -> Result<Result<Vec<String>, ModuleResult>, ModuleError> {
    let mut out = Vec::new();
    let mut extra = Vec::new();
    let mut gi = 0;
    for s in specs {
        let name = split_spec(s).0;
        if !has_wildcard(name) {
            out.push(s.clone());
            continue;
        }
        let m = pr.expanded.get(gi).cloned().unwrap_or_default();
        gi += 1;
        if m.is_empty() {
            return Ok(Err(ModuleResult::failed(format!(
                "No package(s) matching '{name}' available"
            ))));
        }
        extra.extend(m.iter().cloned());
        out.extend(m);
    }
    if !extra.is_empty() {
        merge_state(ctx, o, &extra, pr).await?;
    }
    Ok(Ok(out))
}

async fn merge_state(
    ctx: &ModuleCtx<'_>,
    o: &Opts,
    names: &[String],
    pr: &mut probe::ProbeResult,
) -> Result<(), ModuleError> {
    let p = Probe {
        names,
        default_release: o.default_release.as_deref(),
        ..Default::default()
    };
    let more = probe::run(ctx, &p).await?;
    pr.db.pkgs.extend(more.db.pkgs);
    pr.db.auto.extend(more.db.auto);
    Ok(())
}

async fn install(
    ctx: &ModuleCtx<'_>,
    o: &Opts,
    specs: &[String],
    pr: &mut probe::ProbeResult,
    cache: &CacheReport,
) -> Result<ModuleResult, ModuleError> {
    let virt = virtual_names(specs, &pr.db);
    let mut providers = HashMap::new();
    if !virt.is_empty() {
        providers = probe::providers(ctx, &virt).await?;
        let single: Vec<String> = providers
            .values()
            .filter(|v| v.len() == 1)
            .map(|v| v[0].clone())
            .collect();
        if !single.is_empty() {
            merge_state(ctx, o, &single, pr).await?;
        }
    }
    let plan = match plan_install(
        specs,
        &pr.db,
        &providers,
        o.state == State::Latest,
        o.only_upgrade,
    ) {
        Ok(p) => p,
        Err(e @ self::plan::PlanError::NoPackage(_)) => {
            return Ok(ModuleResult::failed(e.to_string()));
        }
        Err(e) => return Ok(with_cache(ModuleResult::failed(e.to_string()), cache)),
    };
    let check = ctx.check_mode;
    if plan.args.is_empty() {
        // Ansible marks the named packages manual even when nothing is installed.
        let auto: Vec<String> = plan
            .names
            .iter()
            .filter(|n| pr.db.auto.contains(*n))
            .cloned()
            .collect();
        if !check && !auto.is_empty() {
            let a = run_action(ctx, &Cmd::new("true"), &auto, None).await?;
            if let Some(e) = a.mark_error {
                return Ok(ModuleResult::failed(e));
            }
        }
        return Ok(with_cache(ModuleResult::changed(false), cache));
    }
    let cmd = o.install_cmd(&plan.args, check);
    let marks = if check { vec![] } else { plan.names.clone() };
    let a = run_action(ctx, &cmd, &marks, o.policy_rc_d).await?;
    if a.rc != 0 {
        let msg = format!("'{}' failed: {}", cmd.shell(), a.stderr.trim());
        let r = ModuleResult::failed(with_lock_holder(msg, &a.stdout));
        return Ok(with_cache(
            with_streams(r, &a.stdout, &a.stderr).with("rc", a.rc),
            cache,
        ));
    }
    if let Some(e) = a.mark_error {
        return Ok(with_streams(ModuleResult::failed(e), &a.stdout, &a.stderr));
    }
    Ok(with_cache(
        with_streams(ModuleResult::changed(true), &a.stdout, &a.stderr),
        cache,
    ))
}

async fn remove(
    ctx: &ModuleCtx<'_>,
    o: &Opts,
    specs: &[String],
    db: &self::state::PkgDb,
) -> Result<ModuleResult, ModuleError> {
    let pkgs = plan_remove(specs, db, o.purge);
    if pkgs.is_empty() {
        return Ok(ModuleResult::changed(false));
    }
    let cmd = o.remove_cmd(&pkgs, ctx.check_mode);
    let a = run_action(ctx, &cmd, &[], o.policy_rc_d).await?;
    if a.rc != 0 {
        let shown: Vec<String> = pkgs.iter().map(|p| format!("'{p}'")).collect();
        let msg = format!(
            "'apt-get remove {}' failed: {}",
            shown.join(" "),
            a.stderr.trim()
        );
        let r = ModuleResult::failed(with_lock_holder(msg, &a.stdout));
        return Ok(with_streams(r, &a.stdout, &a.stderr).with("rc", a.rc));
    }
    Ok(with_streams(
        ModuleResult::changed(true),
        &a.stdout,
        &a.stderr,
    ))
}

async fn upgrade(ctx: &ModuleCtx<'_>, o: &Opts, mode: &str) -> Result<ModuleResult, ModuleError> {
    let (cmd, words) = o.upgrade_cmd(mode, ctx.check_mode);
    let a = run_action(ctx, &cmd, &[], o.policy_rc_d).await?;
    if a.rc != 0 {
        return Ok(
            ModuleResult::failed(format!("'apt-get {words}' failed: {}", a.stderr.trim()))
                .with("stdout", a.stdout)
                .with("rc", a.rc),
        );
    }
    let changed = !a.stdout.contains(APT_GET_ZERO);
    Ok(with_streams(ModuleResult::changed(changed), &a.stdout, &a.stderr).msg(a.stdout))
}

async fn cleanup(ctx: &ModuleCtx<'_>, o: &Opts, op: &str) -> Result<ModuleResult, ModuleError> {
    let cmd = o.cleanup_cmd(op, ctx.check_mode);
    let a = run_action(ctx, &cmd, &[], o.policy_rc_d).await?;
    if a.rc != 0 {
        return Ok(with_streams(
            ModuleResult::failed(with_lock_holder(
                format!("'apt-get {op}' failed: {}", a.stderr.trim()),
                &a.stdout,
            )),
            &a.stdout,
            &a.stderr,
        )
        .with("rc", a.rc));
    }
    let marker = if op == "autoremove" {
        "The following packages will be REMOVED"
    } else {
        "Del "
    };
    Ok(with_streams(
        ModuleResult::changed(a.stdout.contains(marker)),
        &a.stdout,
        &a.stderr,
    ))
}

#[cfg(test)]
mod tests;
