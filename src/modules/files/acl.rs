//! `acl` (ansible.posix.acl): POSIX ACL entries through `setfacl`/`getfacl`, in one round
//! trip. As in ansible.posix, whether an entry would change anything is asked of `setfacl
//! --test` (a line ending in `*,*` means the ACL already holds it), the same command then runs
//! without `--test` unless in check mode, and the result's `acl` is `getfacl`'s listing
//! afterwards. NFSv4 ACLs (`use_nfsv4_acls`) are not implemented.

use futures::future::BoxFuture;

use crate::modules::toolkit::sections::{Section, SectionScript, Sections};
use crate::modules::{Args, Fixed, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult};
use crate::modules::{ModuleSpec, Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Acl;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "acl",
    params: &[
        Param::new("path", T::Str).required().aliases(&["name"]),
        Param::new("entry", T::Str),
        Param::new("entity", T::Str),
        Param::new("etype", T::Str).choices(&["group", "mask", "other", "user"]),
        Param::new("permissions", T::Str),
        Param::new("state", T::Str).choices(&["absent", "present", "query"]),
        Param::new("follow", T::Bool),
        Param::new("default", T::Bool),
        Param::new("recursive", T::Bool).aliases(&["recurse"]),
        Param::new("recalculate_mask", T::Str).choices(&["default", "mask", "no_mask"]),
        Param::new("use_nfsv4_acls", T::Bool).only(Fixed::Bool(false)),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Acl {
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

/// What the task asks for, after ansible.posix's checks.
#[derive(Clone, Debug, PartialEq)]
struct Request {
    state: String,
    /// `etype:entity[:perms]`, as `build_entry` makes it.
    entry: Option<String>,
    follow: bool,
    default: bool,
    recursive: bool,
    recalculate_mask: String,
}

/// ansible.posix's `split_entry`: `[d[efault]:]type:qualifier[:perms]` into its parts.
fn split_entry(entry: &str) -> Result<(bool, String, String, Option<String>), String> {
    let mut a: Vec<&str> = entry.split(':').collect();
    let default = entry.to_lowercase().starts_with('d');
    if default {
        a.remove(0);
    }
    let (t, e, p) = match a.as_slice() {
        [t, e] => (*t, *e, None),
        [t, e, p] => (*t, *e, Some(p.to_string())),
        _ => return Err(format!("'entry' could not be parsed: {entry}")),
    };
    let t = t.to_lowercase();
    let t = if t.starts_with('u') {
        "user"
    } else if t.starts_with('g') {
        "group"
    } else if t.starts_with('m') {
        "mask"
    } else if t.starts_with('o') {
        "other"
    } else {
        return Err(format!("'entry' has an unknown entry type: {entry}"));
    };
    Ok((default, t.to_string(), e.to_string(), p))
}

fn request(args: &Args) -> Result<Result<Request, String>, ModuleError> {
    let state = args.str("state").unwrap_or_else(|| "query".into());
    let mut default = args.bool_or("default", false)?;
    let recursive = args
        .bool("recursive")?
        .unwrap_or(args.bool_or("recurse", false)?);
    let recalculate_mask = args
        .str("recalculate_mask")
        .unwrap_or_else(|| "default".into());
    let entry = args.str("entry").filter(|e| !e.is_empty());
    let mut entity = args.str("entity").unwrap_or_default();
    let mut etype = args.str("etype").filter(|s| !s.is_empty());
    let mut permissions = args.str("permissions").filter(|s| !s.is_empty());
    let fail = |m: &str| Ok(Err(m.to_string()));
    if state == "query" {
        if recursive {
            return fail("'recursive' MUST NOT be set when 'state=query'.");
        }
        if recalculate_mask != "default" {
            return fail(
                "'recalculate_mask' MUST NOT be set to 'mask' or 'no_mask' when 'state=query'.",
            );
        }
    }
    match &entry {
        None => {
            if state == "absent" && permissions.is_some() {
                return fail("'permissions' MUST NOT be set when 'state=absent'.");
            }
            if state == "absent" && entity.is_empty() {
                return fail("'entity' MUST be set when 'state=absent'.");
            }
            if state != "query" && etype.is_none() {
                return Ok(Err(format!("'etype' MUST be set when 'state={state}'.")));
            }
        }
        Some(e) => {
            if etype.is_some() || !entity.is_empty() || permissions.is_some() {
                return fail(
                    "'entry' MUST NOT be set when 'entity', 'etype' or 'permissions' are set.",
                );
            }
            let colons = e.matches(':').count();
            if state == "present" && !(2..=3).contains(&colons) {
                return fail(
                    "'entry' MUST have 3 or 4 sections divided by ':' when 'state=present'.",
                );
            }
            if state == "absent" && !(1..=2).contains(&colons) {
                return fail(
                    "'entry' MUST have 2 or 3 sections divided by ':' when 'state=absent'.",
                );
            }
            if state == "query" {
                return fail("'entry' MUST NOT be set when 'state=query'.");
            }
            let (d, t, en, p) = match split_entry(e) {
                Ok(parts) => parts,
                Err(m) => return Ok(Err(m)),
            };
            default |= d;
            etype = Some(t);
            entity = en;
            permissions = p.filter(|p| !p.is_empty());
        }
    }
    let entry = etype.map(|t| match (&state[..], &permissions) {
        ("present", Some(p)) => format!("{t}:{entity}:{p}"),
        _ => format!("{t}:{entity}"),
    });
    Ok(Ok(Request {
        state,
        entry,
        follow: args.bool_or("follow", true)?,
        default,
        recursive,
        recalculate_mask,
    }))
}

/// ansible.posix's `build_command`, as words (`mode` is `set`, `rm` or `get`).
fn command(r: &Request, mode: &str, path: &str) -> Vec<String> {
    let mut cmd: Vec<String> = match mode {
        "set" => vec![
            "setfacl".into(),
            "-m".into(),
            r.entry.clone().unwrap_or_default(),
        ],
        "rm" => vec![
            "setfacl".into(),
            "-x".into(),
            r.entry.clone().unwrap_or_default(),
        ],
        _ => vec![
            "getfacl".into(),
            "--absolute-names".into(),
            "--omit-header".into(),
        ],
    };
    if r.recursive {
        cmd.push("--recursive".into());
    }
    if mode != "get" {
        match &r.recalculate_mask[..] {
            "mask" => cmd.push("--mask".into()),
            "no_mask" => cmd.push("--no-mask".into()),
            _ => {}
        }
    }
    if !r.follow {
        cmd.push("--physical".into());
    }
    if r.default {
        cmd.insert(1, "-d".into());
    }
    cmd.push(path.into());
    cmd
}

/// ansible.posix's `run_acl`: lines not starting with `#`, stripped, a blank last one dropped.
fn acl_lines(out: &str) -> Vec<String> {
    let mut lines: Vec<String> = crate::values::splitlines(out)
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.trim().to_string())
        .collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

fn quoted(words: &[String]) -> String {
    words
        .iter()
        .map(|w| sh_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A failed command, as `run_command(check_rc=True)` fails a module.
fn command_failed(cmd: &[String], s: &Section) -> ModuleResult {
    ModuleResult::failed(s.stderr.trim_end().to_string())
        .with("cmd", cmd.join(" "))
        .with("rc", s.rc)
        .with("stdout", s.stdout.clone())
        .with("stderr", s.stderr.clone())
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let path = args
        .str("path")
        .or_else(|| args.str("name"))
        .ok_or_else(|| ModuleError::Args("missing required arguments: path".into()))?;
    let r = match request(args)? {
        Ok(r) => r,
        Err(m) => return Ok(ModuleResult::failed(m)),
    };
    let action = match &r.state[..] {
        "present" => Some("set"),
        "absent" => Some("rm"),
        _ => None,
    };
    let get = command(&r, "get", &path);
    let mut s = SectionScript::new();
    s.line(&format!(
        "if [ ! -e {} ]; then __s_val missing 1; exit 0; fi",
        sh_quote(&path)
    ));
    let act = action.map(|m| command(&r, m, &path));
    if let Some(cmd) = &act {
        let mut test = cmd.clone();
        test.insert(1, "--test".into());
        s.sec_raw("test", &quoted(&test))
            .line("[ \"$__s_r\" = 0 ] || exit 0");
        // Unchanged when a listed entry (comments aside, stripped) ends with `*,*`.
        s.line(
            "if awk '!/^#/ { sub(/[ \\t\\r\\f\\v]+$/, \"\"); if ($0 ~ /\\*,\\*$/) f = 1 } \
             END { exit !f }' \"$__s_so\"; then __s_val same 1; else",
        );
        if ctx.check_mode {
            s.line(":");
        } else {
            // `state=absent` ignores setfacl's status, as ansible.posix does.
            s.sec_raw("act", &quoted(cmd));
            if r.state == "present" {
                s.line("[ \"$__s_r\" = 0 ] || exit 0");
            }
        }
        s.line("fi");
    }
    s.sec_raw("get", &quoted(&get));
    let out = ctx.run(&s.build(), None).await?;
    let sec = Sections::parse(s.marker(), &out.stdout_str());
    if sec.has("missing") {
        return Ok(ModuleResult::failed("Path not found or not accessible."));
    }
    let mut changed = false;
    if let Some(cmd) = &act {
        let Some(t) = sec.get("test") else {
            return Ok(ModuleResult::failed(out.stderr_str().trim().to_string()));
        };
        if t.rc != 0 {
            let mut test = cmd.clone();
            test.insert(1, "--test".into());
            return Ok(command_failed(&test, t));
        }
        changed = !sec.has("same");
        if let Some(a) = sec.get("act")
            && a.rc != 0
            && r.state == "present"
        {
            return Ok(command_failed(cmd, a));
        }
    }
    let Some(g) = sec.get("get") else {
        return Ok(ModuleResult::failed(out.stderr_str().trim().to_string()));
    };
    if g.rc != 0 {
        return Ok(command_failed(&get, g));
    }
    let entry = r.entry.clone().unwrap_or_default();
    let msg = match &r.state[..] {
        "present" => format!("{entry} is present"),
        "absent" => format!("{entry} is absent"),
        _ => "current acl".to_string(),
    };
    let acl: Vec<serde_json::Value> = acl_lines(&g.stdout).into_iter().map(Into::into).collect();
    Ok(ModuleResult::changed(changed)
        .msg(msg)
        .with("acl", serde_json::Value::Array(acl)))
}

#[cfg(test)]
mod tests;
