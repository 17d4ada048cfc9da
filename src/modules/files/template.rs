//! `template`: renders a Jinja file on the controller with the host's variables and writes the
//! result exactly as `copy` writes inline content (same writer, same options and results).

use futures::future::BoxFuture;

use super::copy::{WriteOptions, single_file_result};
use crate::modules::toolkit::atomic_write::{Content, write_file};
use crate::modules::toolkit::mode::ModeSpec;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct Template;

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
    // Like Ansible, `ansible_managed` exists only while rendering a template file.
    let vars = minijinja::context! { ansible_managed => "Ansible managed", ..ctx.vars.clone() };
    let rendered = match ctx.templar.render_file(&local, &vars) {
        Ok(s) => s,
        Err(d) => return Ok(ModuleResult::failed(d.render().trim_end().to_string())),
    };
    let bytes = rendered.into_bytes();
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
