//! `replace`: every match of a regex (Python `re.MULTILINE` semantics: `^`/`$` at line
//! boundaries) replaced, optionally only between `after` and `before` matches. The `regex`
//! crate handles the common Python syntax; lookaround is not supported.

use futures::future::BoxFuture;

use super::text_edit::python_template;
use super::text_edit::{EditOptions, TextEdit, compile, finish, load, missing};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct Replace;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "replace",
    params: &[
        Param::new("path", T::Str)
            .required()
            .aliases(&["dest", "destfile", "name"]),
        Param::new("regexp", T::Str).required(),
        Param::new("replace", T::Str),
        Param::new("after", T::Str),
        Param::new("before", T::Str),
        Param::new("backup", T::Bool),
        Param::new("mode", T::Mode),
        Param::new("owner", T::Str),
        Param::new("group", T::Str),
        Param::new("validate", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Replace {
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

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let opts = EditOptions::from_args(args, "backup_file")?;
    let regexp = args.req_str("regexp")?;
    let replacement = args.str("replace").unwrap_or_default();
    let (after, before) = (args.str("after"), args.str("before"));
    let file = match load(ctx, &opts.path).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    if file.stat.is_none() {
        return Ok(missing(format!("Path {} does not exist !", opts.path)));
    }
    let text = String::from_utf8_lossy(&file.content).into_owned();
    let edit = match substitute(
        &text,
        &regexp,
        &replacement,
        after.as_deref(),
        before.as_deref(),
    )? {
        Ok(e) => e,
        Err(msg) => return Ok(ModuleResult::changed(false).msg(msg)),
    };
    finish(ctx, &opts, &file, edit).await
}

/// Ansible's replace: the section is located with DOTALL, the substitution runs with MULTILINE.
/// `Ok(Err(msg))` means the `after`/`before` section was not found (not a failure in Ansible).
pub fn substitute(
    text: &str,
    regexp: &str,
    replacement: &str,
    after: Option<&str>,
    before: Option<&str>,
) -> Result<Result<TextEdit, String>, ModuleError> {
    let section_pat = match (after, before) {
        (Some(a), Some(b)) => Some(format!("{a}(?P<subsection>.*?){b}")),
        (Some(a), None) => Some(format!("{a}(?P<subsection>.*)")),
        (None, Some(b)) => Some(format!("(?P<subsection>.*){b}")),
        (None, None) => None,
    };
    let (start, end) = match &section_pat {
        None => (0, text.len()),
        Some(p) => match compile(p, "s")?
            .captures(text)
            .and_then(|c| c.name("subsection"))
        {
            Some(m) => (m.start(), m.end()),
            None => {
                return Ok(Err(format!(
                    "Pattern for before/after params did not match the given file: {p}"
                )));
            }
        },
    };
    let section = &text[start..end];
    let re = compile(regexp, "m")?;
    let count = re.find_iter(section).count();
    let new_section = re.replace_all(section, python_template(replacement).as_str());
    if count == 0 || new_section == section {
        return Ok(Ok(TextEdit {
            content: text.as_bytes().to_vec(),
            changed: false,
            msg: String::new(),
        }));
    }
    let content = format!("{}{new_section}{}", &text[..start], &text[end..]);
    Ok(Ok(TextEdit {
        content: content.into_bytes(),
        changed: true,
        msg: format!("{count} replacements made"),
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::modules::harness::{Run, Scratch, read, run_module};

    fn sub(
        text: &str,
        re: &str,
        rep: &str,
        after: Option<&str>,
        before: Option<&str>,
    ) -> (String, String) {
        let e = substitute(text, re, rep, after, before).unwrap().unwrap();
        (String::from_utf8(e.content).unwrap(), e.msg)
    }

    #[test]
    fn multiline_and_sections() {
        assert_eq!(
            sub("a 1\nb 2\n", r"^(\w) (\d)$", r"\2=\1", None, None),
            ("1=a\n2=b\n".into(), "2 replacements made".into())
        );
        let t = "x=1\n[s]\nx=1\n[t]\nx=1\n";
        assert_eq!(
            sub(t, "x=1", "x=2", Some(r"\[s\]"), Some(r"\[t\]")).0,
            "x=1\n[s]\nx=2\n[t]\nx=1\n"
        );
        assert_eq!(
            sub(t, "x=1", "x=2", Some(r"\[t\]"), None).0,
            "x=1\n[s]\nx=1\n[t]\nx=2\n"
        );
        assert!(
            substitute(t, "x", "y", Some("nomatch"), None)
                .unwrap()
                .is_err()
        );
        assert!(
            !substitute("abc", "z", "y", None, None)
                .unwrap()
                .unwrap()
                .changed
        );
    }

    #[tokio::test]
    async fn module_on_real_files() {
        let d = Scratch::new("repl");
        let p = d.s("f");
        std::fs::write(d.path("f"), "host old.example\nhost old.example\n").unwrap();
        let args =
            json!({"path": p, "regexp": r"old\.example", "replace": "new.example", "backup": true});
        let r = run_module(&Replace, args.clone(), Run::check()).await;
        assert!(r.changed && read(&d.path("f")).contains("old"));
        let r = run_module(&Replace, args.clone(), Run::diff()).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(r.msg.as_deref(), Some("2 replacements made"));
        assert_eq!(read(&d.path("f")), "host new.example\nhost new.example\n");
        assert_eq!(r.diff[0].after, "host new.example\nhost new.example\n");
        assert!(r.data["backup_file"].as_str().is_some());
        let r = run_module(&Replace, args.clone(), Run::default()).await;
        assert!(!r.changed && !r.failed, "{r:?}");
        let r = run_module(
            &Replace,
            json!({"path": d.s("zz"), "regexp": "a"}),
            Run::default(),
        )
        .await;
        assert_eq!(
            r.msg.unwrap(),
            format!("Path {} does not exist !", d.s("zz"))
        );
    }
}
