//! `cron`: one job or environment variable in a user's crontab or an `/etc/cron.d` file,
//! kept under Ansible's `#Ansible: <name>` marker convention (see [`self::tab`]). One
//! round trip reads the crontab (`crontab -l`, as the connection or become user, with `-u`
//! for another user); the edit is computed in Rust; a change is installed with `crontab`
//! from a temp file, or written atomically for cron files.

pub mod tab;

use futures::future::BoxFuture;
use serde_json::Value;

use self::tab::CronTab;
use super::account_db::missing_binary;
use crate::events::FileDiff;
use crate::modules::toolkit::atomic_write::{Content, WriteSpec, parse_trailer, write_file};
use crate::modules::toolkit::mode::ModeSpec;
use crate::modules::toolkit::remote_stat::find;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Cron;

const SPECIALS: &[&str] = &[
    "reboot", "yearly", "annually", "monthly", "weekly", "daily", "hourly",
];

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "cron",
    params: &[
        Param::new("name", T::Str).required(),
        Param::new("user", T::Str),
        Param::new("job", T::Str).aliases(&["value"]),
        Param::new("cron_file", T::Str),
        Param::new("state", T::Str).choices(&["present", "absent"]),
        Param::new("backup", T::Bool),
        Param::new("minute", T::Str),
        Param::new("hour", T::Str),
        Param::new("day", T::Str).aliases(&["dom"]),
        Param::new("month", T::Str),
        Param::new("weekday", T::Str).aliases(&["dow"]),
        Param::new("special_time", T::Str).choices(SPECIALS),
        Param::new("disabled", T::Bool),
        Param::new("env", T::Bool),
        Param::new("insertafter", T::Str),
        Param::new("insertbefore", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["insertafter", "insertbefore"]],
    required_one_of: &[],
    any_params: false,
};

impl Module for Cron {
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

/// The task's arguments after defaults and Ansible's validation.
#[derive(Clone, Debug)]
pub struct CronRequest {
    pub name: String,
    pub user: Option<String>,
    pub job: Option<String>,
    /// The argument as given (returned as `cron_file`) and the path it means.
    pub cron_file: Option<(String, String)>,
    pub present: bool,
    pub backup: bool,
    pub times: [String; 5],
    pub special: Option<String>,
    pub disabled: bool,
    pub env: bool,
    pub insertafter: Option<String>,
    pub insertbefore: Option<String>,
}

impl CronRequest {
    pub fn from_args(args: &Args) -> Result<CronRequest, ModuleError> {
        let t = |k: &str, alias: &str| {
            args.str(k)
                .or_else(|| args.str(alias))
                .unwrap_or_else(|| "*".into())
        };
        let cron_file = args.str("cron_file").map(|f| {
            let path = if f.starts_with('/') {
                f.clone()
            } else {
                format!("/etc/cron.d/{f}")
            };
            (f, path)
        });
        if let Some(s) = args.str("special_time")
            && !SPECIALS.contains(&s.as_str())
        {
            return Err(ModuleError::Args(format!(
                "value of special_time must be one of: {}, got: {s}",
                SPECIALS.join(", ")
            )));
        }
        Ok(CronRequest {
            name: args.req_str("name")?,
            user: args.str("user"),
            job: args.str("job").or_else(|| args.str("value")),
            cron_file,
            present: args.str("state").as_deref() != Some("absent"),
            backup: args.bool_or("backup", false)?,
            times: [
                t("minute", "minute"),
                t("hour", "hour"),
                t("day", "dom"),
                t("month", "month"),
                t("weekday", "dow"),
            ],
            special: args.str("special_time"),
            disabled: args.bool_or("disabled", false)?,
            env: args.bool_or("env", false)?,
            insertafter: args.str("insertafter"),
            insertbefore: args.str("insertbefore"),
        })
    }

    /// The checks Ansible makes after reading the crontab, in its order.
    pub fn validate(&self) -> Result<(), String> {
        if self.special.is_some() && self.times.iter().any(|t| t != "*") {
            return Err(
                "You cannot combine special_time with any of the time or day/date parameters."
                    .into(),
            );
        }
        if self.present {
            if self.cron_file.is_some() && self.user.is_none() {
                return Err(
                    "To use cron_file=... parameter you must specify user=... as well".into(),
                );
            }
            if self.job.is_none() {
                return Err("You must specify 'job' to install a new cron job or variable".into());
            }
            if self.insertafter.is_some() && self.insertbefore.is_some() {
                return Err("parameters are mutually exclusive: insertafter|insertbefore".into());
            }
            if (self.insertafter.is_some() || self.insertbefore.is_some()) && !self.env {
                return Err(
                    "Insertafter and insertbefore parameters are valid only with env=yes".into(),
                );
            }
        }
        Ok(())
    }
}

/// What the edit decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Install the crontab (or write the file) if `changed`.
    Edited { changed: bool },
    /// The cron file lost its last entry: Ansible deletes it.
    RemoveFile,
}

/// Applies the request to the crontab in memory, as Ansible's `main()` does. `Err` is a task
/// failure message.
pub fn apply(
    tab: &mut CronTab,
    req: &CronRequest,
    warnings: &mut Vec<String>,
) -> Result<Outcome, String> {
    let mut changed = false;
    let job = req.job.clone();
    if req.env {
        if req.name.contains(' ') {
            return Err("Invalid name for environment variable".into());
        }
        let decl = format!("{}=\"{}\"", req.name, job.as_deref().unwrap_or("None"));
        let old = tab.find_env(&req.name);
        if req.present {
            match old {
                None => {
                    tab.add_env(
                        &decl,
                        req.insertafter.as_deref(),
                        req.insertbefore.as_deref(),
                    )
                    .map_err(|e| e.to_string())?;
                    changed = true;
                }
                Some((_, line)) if line != decl => {
                    tab.update_env(&req.name, Some(&decl));
                    changed = true;
                }
                Some(_) => {}
            }
        } else if old.is_some() {
            tab.update_env(&req.name, None);
            changed = true;
        }
    } else if req.present {
        let job = job.unwrap_or_default();
        if job.trim_matches(['\r', '\n']).contains(['\r', '\n']) {
            warnings.push("Job should not contain line breaks".into());
        }
        let times = req.times.each_ref().map(String::as_str);
        let line = tab.job_line(times, &job, req.special.as_deref(), req.disabled);
        let old = tab.find_job(&req.name, Some(&line));
        if old.is_empty() {
            tab.add_job(&req.name, &line);
            changed = true;
        } else if old[1] != line || old.len() > 2 {
            tab.update_job(&req.name, Some(&line));
            changed = true;
        }
    } else if !tab.find_job(&req.name, None).is_empty() {
        tab.update_job(&req.name, None);
        changed = true;
        if tab.cron_file && tab.is_empty() {
            return Ok(Outcome::RemoveFile);
        }
    }
    if !changed && !tab.existing.is_empty() && !tab.existing.ends_with(['\r', '\n']) {
        changed = true;
    }
    Ok(Outcome::Edited { changed })
}

/// What the probe found on the host.
struct Probe {
    me: String,
    /// The cron file exists.
    exists: bool,
    tab: CronTab,
}

fn user_flag(req: &CronRequest, me: &str) -> String {
    match &req.user {
        Some(u) if u != me => format!("-u {} ", sh_quote(u)),
        _ => String::new(),
    }
}

async fn probe(
    ctx: &ModuleCtx<'_>,
    req: &CronRequest,
) -> Result<Result<Probe, String>, ModuleError> {
    let read = match &req.cron_file {
        Some((_, path)) => format!(
            "if [ -f {p} ]; then echo __strata_exists=1; echo __strata_end; cat -- {p}; else echo __strata_end; fi\n",
            p = sh_quote(path)
        ),
        None => {
            let u = match &req.user {
                Some(u) => format!(
                    "if [ \"$__me\" != {q} ]; then __u='-u '{q}; else __u=; fi\n",
                    q = sh_quote(u)
                ),
                None => "__u=\n".into(),
            };
            format!(
                "{u}__o=$(crontab $__u -l 2>/dev/null; __r=$?; echo x; exit $__r); __r=$?\n\
                 echo __strata_rc=$__r; echo __strata_end; printf '%s' \"${{__o%x}}\"\n"
            )
        }
    };
    let script = format!(
        "command -v crontab >/dev/null 2>&1 || {{ echo __strata_nocrontab=$PATH; exit 0; }}\n\
         __me=$(id -un); echo __strata_me=$__me\n{read}"
    );
    let out = ctx.run(&script, None).await?;
    let (head, body) = match find(&out.stdout, b"__strata_end\n") {
        Some(i) => (&out.stdout[..i], &out.stdout[i + 13..]),
        None => (&out.stdout[..], &b""[..]),
    };
    let keys = parse_trailer(head);
    if let Some(path) = keys.get("nocrontab") {
        return Ok(Err(missing_binary("crontab", path)));
    }
    let Some(me) = keys.get("me").cloned() else {
        return Ok(Err(format!(
            "Unable to read crontab: {}",
            out.stderr_str().trim()
        )));
    };
    let body = String::from_utf8_lossy(body).into_owned();
    let tab = match &req.cron_file {
        Some(_) => CronTab::from_file(&body, req.user.clone()),
        None => {
            let rc: i32 = keys.get("rc").and_then(|r| r.parse().ok()).unwrap_or(-1);
            if rc != 0 && rc != 1 {
                return Ok(Err("Unable to read crontab".into()));
            }
            CronTab::from_user_listing(&body, req.user.clone())
        }
    };
    Ok(Ok(Probe {
        me,
        exists: keys.contains_key("exists"),
        tab,
    }))
}

fn header(req: &CronRequest) -> String {
    match (&req.cron_file, &req.user) {
        (Some((_, p)), _) => p.clone(),
        (None, Some(u)) => format!("crontab for user \"{u}\""),
        (None, None) => "crontab".into(),
    }
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let req = CronRequest::from_args(args)?;
    let mut warnings = Vec::new();
    if let Some((f, path)) = &req.cron_file {
        if path == "/etc/crontab" {
            return Ok(ModuleResult::failed(
                "Will not manage /etc/crontab via cron_file, see documentation.",
            ));
        }
        let base = f.rsplit('/').next().unwrap_or(f);
        if base.is_empty()
            || !base
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            warnings.push(format!("Filename portion of cron_file (\"{base}\") should consist solely of upper- and lower-case letters, digits, underscores, and hyphens"));
        }
    }
    let p = match probe(ctx, &req).await? {
        Ok(p) => p,
        Err(msg) => return Ok(ModuleResult::failed(msg)),
    };
    if let Err(msg) = req.validate() {
        return Ok(ModuleResult::failed(msg));
    }
    let mut tab = p.tab.clone();
    let before = p.tab.render();
    let outcome = match apply(&mut tab, &req, &mut warnings) {
        Ok(o) => o,
        Err(msg) => return Ok(with_warnings(ModuleResult::failed(msg), warnings)),
    };
    let hdr = header(&req);
    let mut diff = FileDiff {
        before_header: hdr.clone(),
        after_header: hdr,
        before: tab.existing.clone(),
        after: String::new(),
    };
    let cron_file_arg = req.cron_file.as_ref().map(|(f, _)| f.clone());
    if outcome == Outcome::RemoveFile {
        let path = req
            .cron_file
            .as_ref()
            .map(|(_, p)| p.clone())
            .unwrap_or_default();
        let changed = if ctx.check_mode {
            p.exists
        } else {
            let out = ctx
                .run(
                    &format!("rm -f -- {} && echo __strata_removed=1", sh_quote(&path)),
                    None,
                )
                .await?;
            parse_trailer(&out.stdout).contains_key("removed")
        };
        let mut r = ModuleResult::changed(changed)
            .with("cron_file", cron_file_arg)
            .with("state", "absent");
        if ctx.diff {
            diff.after_header = "/dev/null".into();
            r.diff.push(diff);
        }
        return Ok(with_warnings(r, warnings));
    }
    let Outcome::Edited { changed } = outcome else {
        unreachable!("RemoveFile handled above")
    };
    let mut r = ModuleResult::changed(changed)
        .with("jobs", tab.job_names())
        .with("envs", tab.env_names());
    if let Some(f) = cron_file_arg {
        r = r.with("cron_file", f);
    }
    if changed && ctx.diff {
        diff.after = tab.render();
        r.diff.push(diff);
    }
    if changed
        && !ctx.check_mode
        && let Err(fail) =
            install(ctx, &req, &p, &tab, req.backup.then_some(&before), &mut r).await?
    {
        return Ok(with_warnings(fail, warnings));
    }
    Ok(with_warnings(r, warnings))
}

fn with_warnings(mut r: ModuleResult, w: Vec<String>) -> ModuleResult {
    if !w.is_empty() {
        r.data.insert(
            "warnings".into(),
            Value::Array(w.into_iter().map(Value::from).collect()),
        );
    }
    r
}

/// Writes the backup (a temp file named like Ansible's `crontabXXXXXX`) and installs the new
/// crontab. `Err` carries a ready failed result.
async fn install(
    ctx: &ModuleCtx<'_>,
    req: &CronRequest,
    p: &Probe,
    tab: &CronTab,
    backup: Option<&String>,
    r: &mut ModuleResult,
) -> Result<Result<(), ModuleResult>, ModuleError> {
    let mut script = String::new();
    if let Some(b) = backup {
        script.push_str(&format!(
            "__b=$(mktemp \"${{TMPDIR:-/tmp}}/crontabXXXXXXXX\") && printf '%s' {} > \"$__b\" && echo __strata_backup=$__b\n",
            sh_quote(b)
        ));
    }
    if req.cron_file.is_none() {
        script.push_str(&format!(
            "__t=$(mktemp \"${{TMPDIR:-/tmp}}/crontabXXXXXXXX\") || exit 1\nchmod 0666 \"$__t\"\n\
             printf '%s' {} > \"$__t\"\necho __strata_tmp=$__t\n\
             __e=$(crontab {}\"$__t\" 2>&1); __r=$?; rm -f -- \"$__t\"\n\
             printf '__strata_rc=%s\\n' $__r; [ $__r = 0 ] || printf '%s' \"$__e\"\n",
            sh_quote(&tab.render()),
            user_flag(req, &p.me)
        ));
    }
    if !script.is_empty() {
        let out = ctx.run(&script, None).await?;
        let keys = parse_trailer(&out.stdout);
        if let Some(b) = keys.get("backup") {
            r.data.insert("backup_file".into(), b.clone().into());
        }
        if req.cron_file.is_none() && keys.get("rc").map(String::as_str) != Some("0") {
            let tmp = keys.get("tmp").cloned().unwrap_or_default();
            let text = out.stdout_str();
            let err = text
                .lines()
                .filter(|l| !l.starts_with("__strata_"))
                .collect::<Vec<_>>()
                .join("\n");
            let rc: i64 = keys.get("rc").and_then(|s| s.parse().ok()).unwrap_or(1);
            return Ok(Err(ModuleResult::failed(format!(
                "Failed to install new cronfile: {tmp}"
            ))
            .with("stderr", err)
            .with("stdout", "")
            .with("rc", rc)));
        }
    }
    if let Some((_, path)) = &req.cron_file {
        let mut spec = WriteSpec::new(path.clone(), Content::Bytes(tab.render().into_bytes()));
        if !p.exists {
            spec.attrs.mode = Some(ModeSpec::Octal(0o644));
        }
        let o = write_file(ctx, &spec).await?;
        if let Some(e) = o.error {
            return Ok(Err(e.into_result()));
        }
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests;
