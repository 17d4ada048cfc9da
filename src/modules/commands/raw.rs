//! `raw`: runs the string as-is, as Ansible's raw action does: no module wrapper, no
//! `environment` (Ansible ignores it with a warning), and no check mode support (the task is
//! skipped). Output is returned unstripped. Unlike Ansible, the string reaches the host on
//! stdin, like every script, and runs under `/bin/sh` rather than the login shell, so it
//! never shows in the host's process list; with `executable`, it is that shell's `-c`
//! argument, as in Ansible.

use futures::future::BoxFuture;
use serde_json::Value;

use super::support::with_streams;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Raw;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "raw",
    params: &[
        Param::new("_raw_params", T::Str).required(),
        Param::new("executable", T::Str),
    ],
    free_form: FreeForm::Raw("_raw_params"),
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Raw {
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
    if ctx.check_mode {
        return Ok(ModuleResult {
            skipped: true,
            ..Default::default()
        });
    }
    let raw = args.req_str("_raw_params")?;
    // Ansible puts the executable in front unquoted, so it may carry flags (`/bin/bash -l`).
    let cmd = match args.str("executable").filter(|e| !e.is_empty()) {
        Some(exe) => format!("{exe} -c {}", sh_quote(&raw)),
        None => raw,
    };
    let out = ctx.run_with_env(&cmd, &[], None).await?;
    let mut r = with_streams(
        ModuleResult::changed(true).with("rc", out.rc),
        &out.stdout_str(),
        &out.stderr_str(),
        false,
    );
    if out.rc != 0 {
        r.failed = true;
        r.msg = Some("non-zero return code".into());
    }
    if !ctx.env.is_empty() {
        r.data.insert(
            "warnings".into(),
            Value::from(vec!["raw module does not support the environment keyword"]),
        );
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Harness, get};
    use serde_json::json;

    #[tokio::test]
    async fn runs_verbatim_and_keeps_output() {
        let h = Harness::new();
        let r = h
            .run(&Raw, json!({"_raw_params": "echo $((6*7)); echo e >&2"}))
            .await;
        assert!(r.changed && !r.failed);
        assert_eq!(
            (get(&r, "stdout"), get(&r, "stderr")),
            (&json!("42\n"), &json!("e\n"))
        );
        assert_eq!(get(&r, "stdout_lines"), &json!(["42"]));
        let r = h
            .run(
                &Raw,
                json!({"_raw_params": "echo ${BASH_VERSION:+bash}", "executable": "/bin/bash"}),
            )
            .await;
        assert_eq!(get(&r, "stdout"), "bash\n");
        let r = h.run(&Raw, json!({"_raw_params": "exit 4"})).await;
        assert!(r.failed && r.changed);
        assert_eq!(
            (get(&r, "rc"), r.msg.as_deref()),
            (&json!(4), Some("non-zero return code"))
        );
    }

    #[tokio::test]
    async fn skipped_in_check_mode() {
        let r = Harness::new()
            .check()
            .run(&Raw, json!({"_raw_params": "exit 1"}))
            .await;
        assert!(r.skipped && !r.changed && !r.failed);
    }
}
