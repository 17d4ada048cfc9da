//! `shell`: like `command`, but the string runs under `/bin/sh -c` (or `executable -c`), so
//! pipes, redirections, globs and variables work. `cmd` is reported as the string.

use futures::future::BoxFuture;
use serde_json::Value;

use super::support::{Guarded, Guards, ShWords, launch_guarded, not_run, run_guarded, stdin_data};
use crate::modules::toolkit::async_job::AsyncJob;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Shell;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "shell",
    params: &[
        Param::new("cmd", T::Str),
        Param::new("chdir", T::Str),
        Param::new("creates", T::Str),
        Param::new("removes", T::Str),
        Param::new("executable", T::Str),
        Param::new("stdin", T::Str),
        Param::new("stdin_add_newline", T::Bool),
        Param::new("strip_empty_ends", T::Bool),
    ],
    free_form: FreeForm::Raw("cmd"),
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Shell {
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
    go(ctx, args, None).await
}

/// `shell` under `async:`: the same run, started as a detached job.
pub async fn launch(
    ctx: &ModuleCtx<'_>,
    args: &Args,
    job: &AsyncJob,
) -> Result<ModuleResult, ModuleError> {
    go(ctx, args, Some(job)).await
}

async fn go(
    ctx: &ModuleCtx<'_>,
    args: &Args,
    job: Option<&AsyncJob>,
) -> Result<ModuleResult, ModuleError> {
    let Some(cmd) = args.str("cmd").filter(|c| !c.trim().is_empty()) else {
        let mut r = not_run(Value::Null, 256.into(), "no command given".into(), "");
        r.failed = true;
        return Ok(r);
    };
    let executable = args
        .str("executable")
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "/bin/sh".into());
    let guards = Guards::from_args(args);
    let g = Guarded {
        body: format!("exec {} -c {}\n", sh_quote(&executable), sh_quote(&cmd)),
        cmd: Value::from(cmd),
        guards: &guards,
        words: ShWords::default(),
        stdin: stdin_data(args)?,
        strip: args.bool_or("strip_empty_ends", true)?,
    };
    match job {
        None => run_guarded(ctx, g).await,
        Some(j) => launch_guarded(ctx, g, j).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Harness, Scratch, get};
    use serde_json::json;

    #[tokio::test]
    async fn runs_through_the_shell() {
        let d = Scratch::new("shell");
        std::fs::write(d.0.join("a.txt"), "x").unwrap();
        let h = Harness::new();
        let r = h
            .run(
                &Shell,
                json!({"cmd": "echo $HOME | tr a-z A-Z; ls *.txt", "chdir": d.s("")}),
            )
            .await;
        assert!(r.changed && !r.failed, "{r:?}");
        let home = std::env::var("HOME").unwrap().to_uppercase();
        assert_eq!(get(&r, "stdout_lines"), &json!([home, "a.txt"]));
        assert_eq!(get(&r, "cmd"), "echo $HOME | tr a-z A-Z; ls *.txt");
    }

    #[tokio::test]
    async fn executable_stdin_and_failure() {
        let h = Harness::new();
        let r = h
            .run(
                &Shell,
                json!({"cmd": "echo ${BASH_VERSION:+bash}", "executable": "/bin/bash"}),
            )
            .await;
        assert_eq!(get(&r, "stdout"), "bash");
        let r = h
            .run(
                &Shell,
                json!({"cmd": "read x; echo \"got $x\"", "stdin": "hi"}),
            )
            .await;
        assert_eq!(get(&r, "stdout"), "got hi");
        let r = h.run(&Shell, json!({"cmd": "echo oops >&2; exit 7"})).await;
        assert!(r.failed);
        assert_eq!(
            (get(&r, "rc"), get(&r, "stderr_lines")),
            (&json!(7), &json!(["oops"]))
        );
        assert_eq!(r.msg.as_deref(), Some("non-zero return code"));
    }

    #[tokio::test]
    async fn guards_and_check_mode() {
        let d = Scratch::new("shell");
        let f = d.s("f");
        let h = Harness::new();
        let args = json!({"cmd": format!("echo made > {f}"), "creates": f});
        assert!(h.run(&Shell, args.clone()).await.changed);
        let r = h.run(&Shell, args.clone()).await;
        assert!(!r.changed && !r.failed);
        let r = Harness::new()
            .check()
            .run(&Shell, json!({"cmd": "exit 1"}))
            .await;
        assert!(r.skipped && !r.failed);
        let r = Harness::new()
            .check()
            .run(&Shell, json!({"cmd": format!("rm -f {f}"), "removes": f}))
            .await;
        assert!(r.changed && std::path::Path::new(&f).exists());
    }
}
