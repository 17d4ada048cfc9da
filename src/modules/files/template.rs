//! `template`: renders a Jinja file on the controller with the host's variables and writes the
//! result exactly as `copy` writes inline content (same writer, same options and results).
//! Includes, imports and `extends` search ansible-core's path: the task's
//! `ansible_search_path`, the playbook directory, then the template's own directory, each as
//! `<dir>/templates` then `<dir>`. `trim_blocks`, `lstrip_blocks` and `newline_sequence` shape
//! the rendering, `output_encoding` the bytes written.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::copy::{WriteOptions, single_file_result};
use super::output_encoding;
use crate::modules::toolkit::atomic_write::{Content, write_file};
use crate::modules::toolkit::mode::ModeSpec;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::template::{FileOptions, include_searchpath, newline_sequence};

pub struct Template;

/// What ansible-core accepts, escaped spellings included.
const NEWLINE_SEQUENCES: &[&str] = &["\n", "\r", "\r\n", "\\n", "\\r", "\\r\\n"];

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "template",
    params: &[
        Param::new("src", T::Str).required(),
        Param::new("dest", T::Str).required(),
        Param::new("mode", T::Mode),
        Param::new("owner", T::Str),
        Param::new("group", T::Str),
        Param::new("backup", T::Bool),
        Param::new("force", T::Bool),
        Param::new("validate", T::Str),
        Param::new("trim_blocks", T::Bool),
        Param::new("lstrip_blocks", T::Bool),
        Param::new("newline_sequence", T::Str).choices(NEWLINE_SEQUENCES),
        Param::new("output_encoding", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Template {
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
    let opts = WriteOptions::from_args(args)?;
    let src = args.req_str("src")?;
    let local = ctx.search.find_local("templates", &src)?;
    let newline = args
        .str("newline_sequence")
        .unwrap_or_else(|| "\n".to_string());
    let Some(newline) = newline_sequence(&newline) else {
        return Err(ModuleError::Args(
            "newline_sequence needs to be one of: \n, \r or \r\n".into(),
        ));
    };
    let encoding = args.str("output_encoding").unwrap_or_default();
    let encoding = if encoding.is_empty() {
        "utf-8".to_string()
    } else {
        encoding
    };
    let Some(codec) = output_encoding::codec(&encoding) else {
        return Err(ModuleError::Args(format!(
            "output_encoding `{encoding}` is not supported (supported: {})",
            output_encoding::SUPPORTED
        )));
    };
    let file_opts = FileOptions {
        searchpath: include_searchpath(&include_dirs(ctx, &local)),
        trim_blocks: args.bool_or("trim_blocks", true)?,
        lstrip_blocks: args.bool_or("lstrip_blocks", false)?,
        newline_sequence: newline.to_string(),
    };
    // Like Ansible, `ansible_managed` exists only while rendering a template file.
    let vars = minijinja::context! { ansible_managed => "Ansible managed", ..ctx.vars.clone() };
    let rendered = match ctx.templar.render_file_with(&local, &vars, &file_opts) {
        Ok(s) => s,
        Err(d) => return Ok(ModuleResult::failed(d.render().trim_end().to_string())),
    };
    let rendered = match output_encoding::encode(&rendered, codec) {
        Ok(b) => b,
        Err(m) => return Ok(ModuleResult::failed(m)),
    };
    let bytes = rendered;
    let name = local.file_name().map(|n| n.to_string_lossy().into_owned());
    let mut spec = opts.spec(&opts.dest, name, Content::Bytes(bytes.clone()));
    if spec.attrs.mode == Some(ModeSpec::Preserve) {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(&local)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        spec.attrs.mode = Some(ModeSpec::Octal(m));
    }
    let o = write_file(ctx, &spec).await?;
    Ok(single_file_result(
        ctx,
        o,
        &local.display().to_string(),
        Some(&bytes),
    ))
}

/// The directories includes are searched in: the task's `ansible_search_path`, the playbook
/// directory, then the template's own directory (the module's search roots without a task).
fn include_dirs(ctx: &ModuleCtx<'_>, template: &Path) -> Vec<PathBuf> {
    let var = |name: &str| ctx.vars.get_attr(name).ok().filter(|v| !v.is_undefined());
    let mut dirs: Vec<PathBuf> = match var("ansible_search_path").and_then(|v| v.try_iter().ok()) {
        Some(it) => it.filter_map(|p| p.as_str().map(PathBuf::from)).collect(),
        None => ctx.search.roots.clone(),
    };
    if let Some(pb) = var("playbook_dir").and_then(|v| v.as_str().map(PathBuf::from)) {
        dirs.push(pb);
    }
    dirs.push(template.parent().unwrap_or(Path::new(".")).to_path_buf());
    dirs
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Template;
    use crate::modules::harness::{Run, Scratch, mode_of, read, run_module};

    #[tokio::test]
    async fn renders_with_host_vars_idempotently() {
        let pb = Scratch::new("tplpb");
        std::fs::create_dir_all(pb.path("templates")).unwrap();
        std::fs::write(
            pb.path("templates/app.conf.j2"),
            "port={{ port }}\n{% for u in users %}user {{ u }}\n{% endfor %}",
        )
        .unwrap();
        std::fs::write(pb.path("templates/broken.j2"), "line one\n{{ nope }}\n").unwrap();
        let d = Scratch::new("tpl");
        let run = |check: bool, diff: bool| Run {
            roots: vec![pb.0.clone()],
            vars: json!({"port": 8080, "users": ["a", "b"]}),
            check,
            diff,
            ..Default::default()
        };
        let args = json!({"src": "app.conf.j2", "dest": d.s("app.conf"), "mode": "0600"});
        let r = run_module(&Template, args.clone(), run(true, true)).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(!d.path("app.conf").exists());
        assert_eq!(r.diff[0].after, "port=8080\nuser a\nuser b\n");
        assert_eq!(r.diff[0].before, "");

        let r = run_module(&Template, args.clone(), run(false, false)).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(read(&d.path("app.conf")), "port=8080\nuser a\nuser b\n");
        assert_eq!(mode_of(&d.path("app.conf")), 0o600);
        let r = run_module(&Template, args.clone(), run(false, false)).await;
        assert!(!r.changed && !r.failed, "{r:?}");

        // Into a directory: the template's file name is kept.
        let r = run_module(
            &Template,
            json!({"src": "app.conf.j2", "dest": d.s("")}),
            run(false, false),
        )
        .await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(d.path("app.conf.j2").exists());

        let r = run_module(
            &Template,
            json!({"src": "broken.j2", "dest": d.s("x")}),
            run(false, false),
        )
        .await;
        assert!(r.failed);
        let msg = r.msg.unwrap();
        assert!(
            msg.contains("undefined") && msg.contains("broken.j2:2"),
            "{msg}"
        );
        assert!(!d.path("x").exists());
    }
}
