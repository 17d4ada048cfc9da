//! `pam_limits` (community.general.pam_limits): keeps one `domain type item value` line in
//! `/etc/security/limits.conf` (or `dest`). The line logic is a port of the collection's,
//! quirks included, because they decide what a second run reports: every data line's old
//! comment becomes the comment of a rewritten line when `comment` is empty, `use_min` and
//! `use_max` compare with the value already there, and the result always carries the whole
//! file as `diff` and the line as `msg`. One probe round trip (with the backup, which the
//! collection makes even when nothing changes and in check mode), one write when it changes.

use futures::future::BoxFuture;
use serde_json::json;

use crate::events::FileDiff;
use crate::modules::toolkit::replace_file::REPLACE_FN;
use crate::modules::toolkit::sections::{SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;
use crate::template::pyrepr::repr_str;

pub struct PamLimits;

const ITEMS: &[&str] = &[
    "core",
    "data",
    "fsize",
    "memlock",
    "nofile",
    "rss",
    "stack",
    "cpu",
    "nproc",
    "as",
    "maxlogins",
    "maxsyslogins",
    "priority",
    "locks",
    "sigpending",
    "msgqueue",
    "nice",
    "rtprio",
    "chroot",
];

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "pam_limits",
    params: &[
        Param::new("domain", T::Str).required(),
        Param::new("limit_type", T::Str)
            .required()
            .choices(&["soft", "hard", "-"]),
        Param::new("limit_item", T::Str).required().choices(ITEMS),
        Param::new("value", T::Str).required(),
        Param::new("use_max", T::Bool),
        Param::new("use_min", T::Bool),
        Param::new("backup", T::Bool),
        Param::new("dest", T::Str),
        Param::new("comment", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for PamLimits {
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
    pub domain: String,
    pub limit_type: String,
    pub limit_item: String,
    pub value: String,
    pub use_max: bool,
    pub use_min: bool,
    pub backup: bool,
    pub dest: String,
    pub comment: String,
}

impl Request {
    pub fn from_args(args: &Args) -> Result<Request, ModuleError> {
        Ok(Request {
            domain: args.req_str("domain")?,
            limit_type: args.req_str("limit_type")?,
            limit_item: args.req_str("limit_item")?,
            value: args.req_str("value")?,
            use_max: args.bool_or("use_max", false)?,
            use_min: args.bool_or("use_min", false)?,
            backup: args.bool_or("backup", false)?,
            dest: args
                .str("dest")
                .unwrap_or_else(|| "/etc/security/limits.conf".into()),
            comment: args.str("comment").unwrap_or_default(),
        })
    }
}

const UNLIMITED: &[&str] = &["unlimited", "infinity", "-1"];

/// The collection's `_assert_is_valid_value`: the failure message, if `value` is invalid.
pub fn invalid_value(item: &str, value: &str, prefix: &str) -> Option<String> {
    if item == "nice" || item == "priority" {
        let ok = value
            .trim()
            .parse::<i64>()
            .is_ok_and(|v| (-20..=19).contains(&v));
        return (!ok).then(|| {
            format!(
                "{prefix} Value of {} for item {} is invalid. Value must be a number in the range -20 to 19 \
                 inclusive. Refer to the limits.conf(5) manual pages for more details.",
                repr_str(value),
                repr_str(item)
            )
        });
    }
    let digits = !value.is_empty() && value.chars().all(|c| c.is_ascii_digit());
    (!(UNLIMITED.contains(&value) || digits)).then(|| {
        format!(
            "{prefix} Value of {} for item {} is invalid. Value must either be 'unlimited', 'infinity' or -1, \
             all of which indicate no limit, or a limit of 0 or larger. Refer to the limits.conf(5) manual \
             pages for more details.",
            repr_str(value),
            repr_str(item)
        )
    })
}

/// What the collection's main loop computes: the new file, `changed` and `msg`.
#[derive(Clone, Debug, PartialEq)]
pub struct Edit {
    pub content: String,
    pub changed: bool,
    pub msg: String,
}

/// Python's `int()` on a limit (digits, checked before); a huge value falls back to text
/// comparison length-first, which orders non-negative integers the same way.
fn cmp_int(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn int_str(s: &str) -> String {
    let t = s.trim_start_matches('0');
    if t.is_empty() { "0".into() } else { t.into() }
}

pub fn edit(req: &Request, old: &str, exists: bool) -> Result<Edit, String> {
    let mut out = String::new();
    let mut changed = !exists;
    let mut found = false;
    let mut message = String::new();
    let mut new_comment = req.comment.clone();
    let mut new_value = req.value.clone();
    for line in old.split_inclusive('\n') {
        if line.starts_with('#') {
            out.push_str(line);
            continue;
        }
        let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            out.push_str(line);
            continue;
        }
        let data = collapsed.split('#').next().unwrap_or("").trim_end();
        let old_comment = line.split_once('#').map(|(_, c)| c).unwrap_or("");
        if new_comment.is_empty() {
            new_comment = old_comment.to_string();
        }
        let fields: Vec<&str> = data.split(' ').collect();
        if fields.len() != 4 {
            out.push_str(line);
            continue;
        }
        let (domain, ltype, item, actual) = (fields[0], fields[1], fields[2], fields[3]);
        let prefix = format!("Invalid configuration found in '{}'.", req.dest);
        if let Some(e) = invalid_value(item, actual, &prefix) {
            return Err(e);
        }
        if domain != req.domain || ltype != req.limit_type || item != req.limit_item {
            out.push_str(line);
            continue;
        }
        found = true;
        if req.value == actual {
            message = line.to_string();
            out.push_str(line);
            continue;
        }
        // The collection tests the type, not the item, here: `nice` and `priority` are never
        // types, so unlimited values are always recognised.
        let actual_unl = UNLIMITED.contains(&actual);
        let value_unl = UNLIMITED.contains(&req.value.as_str());
        if req.use_max {
            new_value = if actual_unl {
                actual.to_string()
            } else if value_unl {
                req.value.clone()
            } else if cmp_int(&req.value, actual).is_ge() {
                int_str(&req.value)
            } else {
                int_str(actual)
            };
        }
        if req.use_min {
            new_value = if actual_unl && value_unl {
                actual.to_string()
            } else if actual_unl {
                req.value.clone()
            } else if value_unl {
                actual.to_string()
            } else if cmp_int(&req.value, actual).is_le() {
                int_str(&req.value)
            } else {
                int_str(actual)
            };
        }
        if new_value != actual {
            changed = true;
            if !new_comment.is_empty() {
                new_comment = format!("\t#{new_comment}");
            }
            let l = format!(
                "{}\t{}\t{}\t{}{}\n",
                req.domain, req.limit_type, req.limit_item, new_value, new_comment
            );
            message = l.clone();
            out.push_str(&l);
        } else {
            message = line.to_string();
            out.push_str(line);
        }
    }
    if !found {
        changed = true;
        if !new_comment.is_empty() {
            new_comment = format!("\t#{new_comment}");
        }
        let l = format!(
            "{}\t{}\t{}\t{}{}\n",
            req.domain, req.limit_type, req.limit_item, new_value, new_comment
        );
        message = l.clone();
        out.push_str(&l);
    }
    Ok(Edit {
        content: out,
        changed,
        msg: message,
    })
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let req = Request::from_args(args)?;
    let dest = sh_quote(&req.dest);
    let mut s = SectionScript::new();
    s.line(&format!(
        "__d={dest}\n\
         if [ -f \"$__d\" ]; then\n\
           [ -w \"$__d\" ] || {{ __s_val err \"$__d is not writable. Use sudo\"; exit 0; }}\n\
         else\n\
           __p=$(dirname -- \"$__d\")\n\
           if [ -d \"$__p\" ] && [ -w \"$__p\" ]; then __s_val new 1; else \
             __s_val err \"directory $__p is not writable (check presence, access rights, use sudo)\"; exit 0; fi\n\
         fi"
    ));
    if req.use_max && req.use_min {
        s.line("__s_val err 'Cannot use use_min and use_max at the same time.'; exit 0");
    } else if let Some(e) = invalid_value(&req.limit_item, &req.value, "") {
        s.line(&format!("__s_val err {}; exit 0", sh_quote(&e)));
    }
    if req.backup {
        s.line(
            "if [ -e \"$__d\" ]; then __b=\"$__d.$$.$(date +%Y-%m-%d@%H:%M:%S)~\"; \
             cp -p -- \"$__d\" \"$__b\" && __s_val backup \"$__b\"; else __s_val backup ''; fi",
        );
    }
    s.line("[ -f \"$__d\" ] && __s_sec file cat -- \"$__d\"\n__s_val done 1");
    let out = ctx.run(&s.build(), None).await?;
    let secs = Sections::parse(s.marker(), &out.stdout_str());
    if let Some(e) = secs.val("err") {
        return Ok(ModuleResult::failed(e));
    }
    if !secs.has("done") {
        return Ok(ModuleResult::failed(format!(
            "reading {} failed: {}",
            req.dest,
            out.stderr_str().trim()
        )));
    }
    let exists = !secs.has("new");
    let old = secs
        .get("file")
        .map(|f| f.stdout.clone())
        .unwrap_or_default();
    let e = match edit(&req, &old, exists) {
        Ok(e) => e,
        Err(m) => return Ok(ModuleResult::failed(m)),
    };
    let mut r = ModuleResult::changed(e.changed)
        .msg(e.msg.clone())
        .with("diff", json!({"before": old, "after": e.content}));
    if let Some(b) = secs.val("backup") {
        r = r.with("backup_file", b);
    }
    if ctx.diff && e.changed {
        r.diff.push(FileDiff {
            before_header: req.dest.clone(),
            after_header: req.dest.clone(),
            before: old.clone(),
            after: e.content.clone(),
        });
    }
    if ctx.check_mode || (exists && e.content == old) {
        return Ok(r);
    }
    let mut a = SectionScript::new();
    a.line(REPLACE_FN);
    a.line(&format!(
        "__s_replace {dest} 0 0 2>\"$__s_se\" || {{ __s_val err \"$(cat \"$__s_se\")\"; exit 0; }}\n__s_val done 1"
    ));
    let o = ctx.run(&a.build(), Some(e.content.as_bytes())).await?;
    let done = Sections::parse(a.marker(), &o.stdout_str());
    if let Some(err) = done.val("err") {
        return Ok(ModuleResult::failed(format!(
            "Unable to write {}: {}",
            req.dest,
            err.trim()
        )));
    }
    if !done.has("done") {
        return Ok(ModuleResult::failed(format!(
            "writing {} failed: {}",
            req.dest,
            o.stderr_str().trim()
        )));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Run, Scratch, get, read, run_module};

    fn req(v: serde_json::Value) -> Request {
        Request::from_args(&Args::new(v.as_object().unwrap().clone())).unwrap()
    }

    #[test]
    fn appends_replaces_and_keeps_equal_lines() {
        let r = req(
            json!({"domain": "joe", "limit_type": "soft", "limit_item": "nofile", "value": "64000"}),
        );
        let e = edit(&r, "# c\n\n", true).unwrap();
        assert!(e.changed);
        assert_eq!(e.content, "# c\n\njoe\tsoft\tnofile\t64000\n");
        assert_eq!(e.msg, "joe\tsoft\tnofile\t64000\n");
        let e2 = edit(&r, &e.content, true).unwrap();
        assert!(!e2.changed);
        assert_eq!(e2.content, e.content);
        let e3 = edit(&r, "joe  soft nofile 1024 # old\n", true).unwrap();
        // The old comment, newline included, becomes the rewritten line's comment.
        assert_eq!(e3.content, "joe\tsoft\tnofile\t64000\t# old\n\n");
    }

    #[test]
    fn use_min_and_use_max_compare_with_the_file() {
        let max = req(
            json!({"domain": "@w", "limit_type": "-", "limit_item": "nproc", "value": "10", "use_max": true}),
        );
        assert!(!edit(&max, "@w - nproc 20\n", true).unwrap().changed);
        assert!(!edit(&max, "@w - nproc unlimited\n", true).unwrap().changed);
        let e = edit(&max, "@w - nproc 5\n", true).unwrap();
        assert_eq!(e.content, "@w\t-\tnproc\t10\n");
        let min = req(
            json!({"domain": "@w", "limit_type": "-", "limit_item": "nproc", "value": "10", "use_min": true}),
        );
        assert!(!edit(&min, "@w - nproc 5\n", true).unwrap().changed);
        assert_eq!(
            edit(&min, "@w - nproc unlimited\n", true).unwrap().content,
            "@w\t-\tnproc\t10\n"
        );
    }

    #[test]
    fn invalid_values_are_refused_like_the_collection() {
        let m = invalid_value("nofile", "lots", "").unwrap();
        assert!(
            m.starts_with(" Value of 'lots' for item 'nofile' is invalid."),
            "{m}"
        );
        assert!(invalid_value("nice", "-20", "").is_none());
        assert!(invalid_value("nice", "20", "").is_some());
        assert!(invalid_value("core", "infinity", "").is_none());
        let r =
            req(json!({"domain": "a", "limit_type": "soft", "limit_item": "core", "value": "0"}));
        let e = edit(&r, "b hard nofile many\n", true).unwrap_err();
        assert!(
            e.starts_with(
                "Invalid configuration found in '/etc/security/limits.conf'. Value of 'many'"
            ),
            "{e}"
        );
    }

    #[tokio::test]
    async fn writes_checks_and_backs_up() {
        let d = Scratch::new("pam_limits");
        let dest = d.s("limits.conf");
        let args = json!({"domain": "joe", "limit_type": "hard", "limit_item": "core", "value": "0", "dest": dest, "comment": "no cores"});
        let r = run_module(&PamLimits, args.clone(), Run::check()).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(!d.path("limits.conf").exists());
        let r = run_module(&PamLimits, args.clone(), Run::default()).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(
            read(&d.path("limits.conf")),
            "joe\thard\tcore\t0\t#no cores\n"
        );
        let mut b = args.clone();
        b["backup"] = json!(true);
        let r = run_module(&PamLimits, b, Run::default()).await;
        assert!(!r.changed, "{r:?}");
        let backup = get(&r, "backup_file").as_str().unwrap().to_string();
        assert!(backup.starts_with(&dest), "{backup}");
        assert_eq!(
            read(std::path::Path::new(&backup)),
            "joe\thard\tcore\t0\t#no cores\n"
        );
        let r = run_module(
            &PamLimits,
            json!({"domain": "joe", "limit_type": "hard", "limit_item": "core", "value": "0", "dest": d.s("no/such")}),
            Run::default(),
        )
        .await;
        assert!(r.failed);
        assert!(r.msg.unwrap().starts_with("directory "));
    }
}
