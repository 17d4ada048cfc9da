//! `file`: the state of one path (file, directory, link, hard, absent, touch) and its mode,
//! owner and group. Unlike the writers, this module probes first and decides in Rust (mode
//! arithmetic, Ansible's state transitions and error messages), then acts in a second round
//! trip only when something has to change: an already-converged path costs one round trip.

pub mod plan;
pub mod probe;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use self::plan::{Plan, Stamp, attr_plan, recurse_plan, time_plan};
use self::probe::{Probe, ProbeRequest, final_stat_snippet, probe};
use crate::events::FileDiff;
use crate::modules::toolkit::atomic_write::{FileAttrs, parent_dir};
use crate::modules::toolkit::mode::ModeSpec;
use crate::modules::toolkit::remote_stat::{FileKind, StatInfo};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct File;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "file",
    params: &[
        Param::new("path", T::Str)
            .required()
            .aliases(&["dest", "name"]),
        Param::new("state", T::Str).choices(&[
            "absent",
            "directory",
            "file",
            "hard",
            "link",
            "touch",
        ]),
        Param::new("src", T::Str),
        Param::new("mode", T::Mode),
        Param::new("owner", T::Str),
        Param::new("group", T::Str),
        Param::new("recurse", T::Bool),
        Param::new("force", T::Bool),
        Param::new("follow", T::Bool),
        Param::new("modification_time", T::Str),
        Param::new("access_time", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for File {
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

fn fail(path: &str, msg: impl Into<String>) -> Result<ModuleResult, ModuleError> {
    Ok(ModuleResult::failed(msg).with("path", path))
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let path = args
        .str("path")
        .or_else(|| args.str("dest"))
        .or_else(|| args.str("name"))
        .ok_or_else(|| ModuleError::Args("missing required arguments: path".into()))?;
    let attrs = FileAttrs::from_args(args)?;
    if attrs.mode == Some(ModeSpec::Preserve) {
        return Err(ModuleError::Args(
            "mode 'preserve' is only valid with the copy and template modules".into(),
        ));
    }
    let recurse = args.bool_or("recurse", false)?;
    let force = args.bool_or("force", false)?;
    let follow = args.bool_or("follow", true)?;
    let src = args.str("src");
    let req_state = args.str("state");
    let is_touch = req_state.as_deref() == Some("touch");
    let default_stamp = if is_touch {
        Stamp::Now
    } else {
        Stamp::Preserve
    };
    let mtime = Stamp::parse(args.str("modification_time"), default_stamp.clone());
    let atime = Stamp::parse(args.str("access_time"), default_stamp);
    // Link sources are relative to the link's directory, as the kernel resolves them.
    let src_abs = src.as_ref().map(|s| {
        if s.starts_with('/') {
            s.clone()
        } else {
            format!("{}/{s}", parent_dir(&path))
        }
    });
    let req = ProbeRequest {
        path: &path,
        src: src_abs.as_deref(),
        recurse,
        owner: attrs.owner.as_deref(),
        group: attrs.group.as_deref(),
        mtime: mtime.explicit(),
        atime: atime.explicit(),
    };
    let pr = match probe(ctx, &req).await? {
        Ok(p) => p,
        Err(msg) => return fail(&path, msg),
    };
    let prev_state = pr
        .lstat
        .as_ref()
        .map(StatInfo::state_name)
        .unwrap_or("absent");
    let state = match req_state.as_deref() {
        Some(s) => s.to_string(),
        None if prev_state == "hard" => "file".into(),
        None if prev_state != "absent" => prev_state.into(),
        None if recurse => "directory".into(),
        None => "file".into(),
    };
    if recurse && state != "directory" {
        return fail(&path, "recurse option requires state to be 'directory'");
    }
    let mut plan = Plan::default();
    plan.before.insert("path".into(), path.clone().into());
    plan.after.insert("path".into(), path.clone().into());
    // With `follow`, a symlink stands for what it points to (for file/directory/touch).
    let (eff, eff_state) = match (&pr.lstat, &pr.target) {
        (Some(l), Some(t)) if follow && l.kind == FileKind::Link => {
            (Some(t.clone()), t.state_name())
        }
        (Some(l), None) if follow && l.kind == FileKind::Link && state != "link" => {
            (None, "absent")
        }
        (l, _) => (l.clone(), prev_state),
    };
    let mut extra = Map::new();
    match state.as_str() {
        "absent" => {
            if let Some(l) = &pr.lstat {
                let rm = if l.kind == FileKind::Dir {
                    "rm -rf"
                } else {
                    "rm -f"
                };
                plan.cmds.push(format!("{rm} -- \"$p\""));
                plan.change("state", prev_state, "absent");
            }
            return finish(ctx, &path, plan, follow, Some("absent"), extra).await;
        }
        "file" => {
            let Some(t) = &eff else {
                // Ansible names the state it found.
                return fail(&path, format!("file ({path}) is absent, cannot continue"))
                    .map(|r| r.with("state", "absent"));
            };
            if !matches!(eff_state, "file" | "hard") {
                return fail(
                    &path,
                    format!("file ({path}) is {eff_state}, cannot continue"),
                );
            }
            attr_plan(&mut plan, t, &attrs, &pr, false).map_err(ModuleError::Args)?;
        }
        "directory" => match &eff {
            None => {
                let base = 0o777 & !pr.umask;
                let mode = match &attrs.mode {
                    Some(m) => Some(m.apply(base, true, pr.umask).map_err(ModuleError::Args)?),
                    None => None,
                };
                for dir in missing_ancestors(&path) {
                    let d = sh_quote(&dir);
                    // Another process may create the same parent meanwhile (as Ansible, that
                    // is fine); only a directory this command made gets the attributes.
                    let mut c =
                        format!("if [ ! -d {d} ]; then if mkdir -- {d} 2>/dev/null; then :");
                    if let Some(m) = mode {
                        c.push_str(&format!(" && chmod {m:04o} -- {d}"));
                    }
                    if let Some(u) = pr.uid {
                        c.push_str(&format!(" && chown {u} -- {d}"));
                    }
                    if let Some(g) = pr.gid {
                        c.push_str(&format!(" && chgrp {g} -- {d}"));
                    }
                    plan.cmds
                        .push(c + &format!("; elif [ ! -d {d} ]; then mkdir -- {d}; fi; fi"));
                }
                plan.change("state", "absent", "directory");
                plan.predicted = Some(synthetic(FileKind::Dir, mode.unwrap_or(base), &pr));
            }
            Some(t) if t.kind == FileKind::Dir => {
                attr_plan(&mut plan, t, &attrs, &pr, false).map_err(ModuleError::Args)?;
                if recurse {
                    recurse_plan(&mut plan, &attrs, &pr).map_err(ModuleError::Args)?;
                }
            }
            Some(_) => return fail(&path, format!("{path} already exists as a {eff_state}")),
        },
        "link" => {
            let src = match (&src, &pr.link_target) {
                (Some(s), _) => s.clone(),
                (None, Some(cur)) if prev_state == "link" => cur.clone(),
                _ => return fail(&path, "src is required for creating new symlinks"),
            };
            if pr.src.is_none() && !force {
                let shown = src_abs.clone().unwrap_or_else(|| src.clone());
                return fail(
                    &path,
                    format!(
                        "src file does not exist, use \"force=yes\" if you really want to create the link: {shown}"
                    ),
                );
            }
            let needs_link = match prev_state {
                "absent" => {
                    plan.change("state", "absent", "link");
                    true
                }
                "link" if pr.link_target.as_deref() != Some(src.as_str()) => {
                    plan.change(
                        "src",
                        pr.link_target.clone().unwrap_or_default(),
                        src.clone(),
                    );
                    true
                }
                "link" => false,
                "directory" if !force => {
                    return fail(
                        &path,
                        format!("refusing to convert from directory to symlink for {path}"),
                    );
                }
                "directory" if !pr.dir_empty => {
                    return fail(
                        &path,
                        format!("the directory {path} is not empty, refusing to convert it"),
                    );
                }
                "directory" => {
                    plan.cmds.push("rmdir -- \"$p\"".into());
                    plan.change("state", "directory", "link");
                    true
                }
                other if !force => {
                    return fail(
                        &path,
                        format!("refusing to convert from {other} to symlink for {path}"),
                    );
                }
                other => {
                    plan.change("state", other, "link");
                    true
                }
            };
            if needs_link {
                plan.cmds
                    .push(replace_with(&format!("ln -s -- {} \"$t\"", sh_quote(&src))));
            }
            let link = pr
                .lstat
                .clone()
                .filter(|l| l.kind == FileKind::Link)
                .unwrap_or_else(|| synthetic(FileKind::Link, 0o777, &pr));
            attr_plan(
                &mut plan,
                &link,
                &FileAttrs {
                    mode: None,
                    ..attrs.clone()
                },
                &pr,
                true,
            )
            .map_err(ModuleError::Args)?;
            extra.insert("dest".into(), path.clone().into());
            extra.insert("src".into(), src.into());
            return finish(ctx, &path, plan, false, None, extra).await;
        }
        "hard" => {
            let Some(src) = &src else {
                return fail(&path, "src is required for creating new hard links");
            };
            let Some(s) = &pr.src else {
                return fail(&path, "src does not exist")
                    .map(|r| r.with("dest", path.clone()).with("src", src.clone()));
            };
            let same = pr
                .lstat
                .as_ref()
                .is_some_and(|l| l.inode == s.inode && l.dev == s.dev && l.kind != FileKind::Link);
            if !same {
                match prev_state {
                    "absent" | "link" => {}
                    "hard" if !force => {
                        return fail(
                            &path,
                            "Cannot link, different hard link exists at destination",
                        );
                    }
                    "file" | "directory" if !force => {
                        return fail(
                            &path,
                            format!("Cannot link, {prev_state} exists at destination"),
                        );
                    }
                    _ => {}
                }
                if prev_state == "directory" {
                    plan.cmds.push("rmdir -- \"$p\"".into());
                }
                plan.cmds.push(replace_with(&format!(
                    "ln -- {} \"$t\"",
                    sh_quote(src_abs.as_deref().unwrap_or(src))
                )));
                plan.change("state", prev_state, "hard");
            }
            attr_plan(&mut plan, s, &attrs, &pr, false).map_err(ModuleError::Args)?;
            extra.insert("dest".into(), path.clone().into());
            extra.insert("src".into(), src.clone().into());
        }
        "touch" => match &eff {
            None => {
                plan.cmds.push("touch -- \"$p\"".into());
                plan.change("state", "absent", "file");
                let base = synthetic(FileKind::File, 0o666 & !pr.umask, &pr);
                plan.predicted = Some(base.clone());
                attr_plan(&mut plan, &base, &attrs, &pr, false).map_err(ModuleError::Args)?;
            }
            Some(t) => attr_plan(&mut plan, t, &attrs, &pr, false).map_err(ModuleError::Args)?,
        },
        other => {
            return Err(ModuleError::Args(format!(
                "value of state must be one of: absent, directory, file, hard, link, touch, got: {other}"
            )));
        }
    }
    time_plan(&mut plan, &eff, &mtime, &atime, &pr);
    finish(ctx, &path, plan, follow, None, extra).await
}

/// Puts a new link (made by `make`, which creates `"$t"`) in place of `"$p"` by rename.
fn replace_with(make: &str) -> String {
    format!(
        "t=\"$(dirname -- \"$p\")/.strata.$$.lnk\" && rm -f -- \"$t\" && {make} && mv -fT -- \"$t\" \"$p\""
    )
}

/// `/a/b/c` -> `/a`, `/a/b`, `/a/b/c`: each is created only if missing when the script runs.
fn missing_ancestors(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, part) in path.split('/').enumerate() {
        if part.is_empty() {
            if i == 0 {
                cur.push('/');
            }
            continue;
        }
        if !cur.is_empty() && !cur.ends_with('/') {
            cur.push('/');
        }
        cur.push_str(part);
        out.push(cur.clone());
    }
    out
}

fn synthetic(kind: FileKind, mode: u32, pr: &Probe) -> StatInfo {
    StatInfo {
        kind,
        mode,
        uid: pr.uid.unwrap_or(0),
        gid: pr.gid.unwrap_or(0),
        size: 0,
        nlink: 1,
        inode: 0,
        dev: 0,
        atime: 0.0,
        mtime: 0.0,
        ctime: 0.0,
        blocks: 0,
        block_size: 0,
        rdev_major: 0,
        rdev_minor: 0,
        owner: String::new(),
        group: String::new(),
    }
}

/// Runs the plan (unless in check mode) and builds Ansible's result.
async fn finish(
    ctx: &ModuleCtx<'_>,
    path: &str,
    plan: Plan,
    follow: bool,
    fixed_state: Option<&str>,
    extra: Map<String, Value>,
) -> Result<ModuleResult, ModuleError> {
    let changed = !plan.cmds.is_empty();
    let mut r = ModuleResult::changed(changed);
    r.data.insert("path".into(), path.into());
    // Unchanged or check mode: what the probe saw, adjusted by the plan.
    let mut final_stat = plan.predicted.clone();
    if changed && !ctx.check_mode {
        let mut script = format!("p={}\n", sh_quote(path));
        for c in &plan.cmds {
            script.push_str(&format!("{{ {c}; }} || exit 1\n"));
        }
        if fixed_state.is_none() {
            script.push_str(&final_stat_snippet(follow));
        }
        let out = ctx.run(&script, None).await?;
        if out.rc != 0 {
            let err = out.stderr_str().trim().to_string();
            return Ok(ModuleResult::failed(if err.is_empty() {
                format!("changing {path} failed")
            } else {
                err
            })
            .with("path", path));
        }
        final_stat = crate::modules::toolkit::atomic_write::parse_trailer(&out.stdout)
            .get("final")
            .and_then(|s| StatInfo::parse(s));
    }
    if fixed_state.is_none()
        && let Some(st) = final_stat
    {
        r.data.extend(st.path_info());
    }
    if let Some(s) = fixed_state {
        r.data.insert("state".into(), s.into());
    }
    r.data.extend(extra);
    if changed && ctx.diff {
        r.diff.push(FileDiff {
            before_header: path.to_string(),
            after_header: path.to_string(),
            before: pretty(&plan.before),
            after: pretty(&plan.after),
        });
    }
    Ok(r)
}

/// Ansible shows `file` diffs as JSON dicts with sorted keys.
fn pretty(m: &Map<String, Value>) -> String {
    let sorted: std::collections::BTreeMap<_, _> = m.iter().collect();
    serde_json::to_string_pretty(&sorted).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests;
