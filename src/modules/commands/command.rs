//! `command`: runs a program with arguments, no shell. The string form is split like Python's
//! `shlex.split`, and every word is quoted for the remote `sh`, so pipes, redirections and
//! globs are plain arguments. As in ansible-core 2.16+, `$VAR` and `~` in arguments are
//! expanded from the remote environment unless `expand_argument_vars: false`, and unknown
//! variables are left as written.

use futures::future::BoxFuture;
use serde_json::Value;

use super::support::{Guarded, Guards, ShWords, launch_guarded, not_run, run_guarded, stdin_data};
use crate::modules::toolkit::async_job::AsyncJob;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::shlex;

pub struct Command;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "command",
    params: &[
        Param::new("cmd", T::Str),
        Param::new("argv", T::List),
        Param::new("chdir", T::Str),
        Param::new("creates", T::Str),
        Param::new("removes", T::Str),
        Param::new("stdin", T::Str),
        Param::new("stdin_add_newline", T::Bool),
        Param::new("strip_empty_ends", T::Bool),
        Param::new("expand_argument_vars", T::Bool),
        // Accepted and ignored with a warning, as Ansible has done since 2.4.
        Param::new("executable", T::Str),
    ],
    free_form: FreeForm::Raw("cmd"),
    mutually_exclusive: &[&["cmd", "argv"]],
    required_one_of: &[],
    any_params: false,
};

impl Module for Command {
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

/// `command` under `async:`: the same run, started as a detached job.
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
    let cmd = args.str("cmd").filter(|c| !c.trim().is_empty());
    let argv = args.str_list("argv")?.filter(|a| !a.is_empty());
    let words = match (cmd, argv) {
        (Some(_), Some(_)) => {
            return Ok(usage_failure("only command or argv can be given, not both"));
        }
        (None, None) => return Ok(usage_failure("no command given")),
        (None, Some(a)) => a,
        (Some(c), None) => match shlex::split(&c) {
            Ok(w) => w,
            Err(e) => {
                return Ok(usage_failure(&format!(
                    "cannot split the command line `{c}`: {e}"
                )));
            }
        },
    };
    let expand = args.bool_or("expand_argument_vars", true)?;
    let mut sh = ShWords::default();
    let quoted: Vec<String> = words.iter().map(|w| sh.word(w, expand, false)).collect();
    // dash's `exec` takes no `--`, so a program name that looks like an option runs without exec.
    let exec = if words[0].starts_with('-') {
        ""
    } else {
        "exec "
    };
    let guards = Guards::from_args(args);
    let g = Guarded {
        cmd: Value::from(words),
        guards: &guards,
        words: sh,
        body: format!("{exec}{}\n", quoted.join(" ")),
        stdin: stdin_data(args)?,
        strip: args.bool_or("strip_empty_ends", true)?,
    };
    let mut r = match job {
        None => run_guarded(ctx, g).await?,
        Some(j) => launch_guarded(ctx, g, j).await?,
    };
    if let Some(e) = args.str("executable") {
        let w = format!(
            "As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '{e}'."
        );
        r.data.insert("warnings".into(), Value::from(vec![w]));
    }
    Ok(r)
}

/// Ansible reports argument misuse with `rc: 256`.
fn usage_failure(msg: &str) -> ModuleResult {
    let mut r = not_run(Value::Null, 256.into(), msg.into(), "");
    r.failed = true;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Harness, Scratch, get};
    use serde_json::json;

    #[tokio::test]
    async fn runs_without_a_shell() {
        let h = Harness::new();
        let r = h
            .run(
                &Command,
                json!({"cmd": "echo 'a  b' * | ; > x $((1+1)) `id`"}),
            )
            .await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(get(&r, "stdout"), "a  b * | ; > x $((1+1)) `id`");
        assert_eq!(
            get(&r, "cmd"),
            &json!(["echo", "a  b", "*", "|", ";", ">", "x", "$((1+1))", "`id`"])
        );
        assert_eq!(get(&r, "rc"), 0);
        assert_eq!(
            get(&r, "stdout_lines"),
            &json!(["a  b * | ; > x $((1+1)) `id`"])
        );
        assert_eq!(r.msg.as_deref(), Some(""));
        let delta = get(&r, "delta").as_str().unwrap();
        assert!(delta.starts_with("0:00:0"), "{delta}");
        let start = get(&r, "start").as_str().unwrap();
        assert!(
            start.len() >= "2024-01-01 00:00:00".len() && start.as_bytes()[10] == b' ',
            "{start}"
        );
    }

    #[tokio::test]
    async fn expands_environment_variables_like_ansible() {
        let home = std::env::var("HOME").unwrap();
        let h = Harness::new();
        let r = h
            .run(
                &Command,
                json!({"cmd": "echo $HOME ${HOME}/x $STRATA_NOT_SET ~"}),
            )
            .await;
        assert_eq!(
            get(&r, "stdout"),
            &json!(format!("{home} {home}/x $STRATA_NOT_SET {home}"))
        );
        let r = h
            .run(
                &Command,
                json!({"cmd": "echo $HOME ~", "expand_argument_vars": false}),
            )
            .await;
        assert_eq!(get(&r, "stdout"), "$HOME ~");
        let r = h
            .run(
                &Command,
                json!({"argv": ["printf", "%s|", "a b", "$HOME", "*"]}),
            )
            .await;
        assert_eq!(get(&r, "stdout"), &json!(format!("a b|{home}|*|")));
    }

    #[tokio::test]
    async fn failure_and_usage_errors() {
        let h = Harness::new();
        let r = h
            .run(
                &Command,
                json!({"cmd": "sh -c 'echo out; echo err >&2; exit 3'"}),
            )
            .await;
        assert!(r.failed && r.changed);
        assert_eq!(r.msg.as_deref(), Some("non-zero return code"));
        assert_eq!(
            (get(&r, "rc"), get(&r, "stdout"), get(&r, "stderr")),
            (&json!(3), &json!("out"), &json!("err"))
        );
        let r = h
            .run(&Command, json!({"cmd": "strata-no-such-program"}))
            .await;
        assert!(r.failed);
        assert_eq!(get(&r, "rc"), 127);
        let r = h.run(&Command, json!({"cmd": "  "})).await;
        assert_eq!(
            (r.failed, r.msg.as_deref(), get(&r, "rc")),
            (true, Some("no command given"), &json!(256))
        );
        let r = h
            .run(&Command, json!({"cmd": "echo", "argv": ["echo"]}))
            .await;
        assert_eq!(
            r.msg.as_deref(),
            Some("only command or argv can be given, not both")
        );
        let r = h.run(&Command, json!({"cmd": "echo 'oops"})).await;
        assert!(
            r.failed && r.msg.as_deref().unwrap().contains("No closing quotation"),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn stdin_chdir_and_strip() {
        let d = Scratch::new("cmd");
        let h = Harness::new();
        let r = h
            .run(&Command, json!({"cmd": "cat", "stdin": "hello"}))
            .await;
        assert_eq!(get(&r, "stdout"), "hello");
        let r = h
            .run(
                &Command,
                json!({"cmd": "od -c", "stdin": "x", "stdin_add_newline": false}),
            )
            .await;
        assert!(
            !get(&r, "stdout").as_str().unwrap().contains("\\n"),
            "{r:?}"
        );
        let r = h
            .run(&Command, json!({"cmd": "pwd", "chdir": d.s("")}))
            .await;
        assert_eq!(
            get(&r, "stdout").as_str().unwrap().trim_end_matches('/'),
            d.s("").trim_end_matches('/')
        );
        let r = h
            .run(
                &Command,
                json!({"argv": ["printf", "a\n\n\n"], "strip_empty_ends": false}),
            )
            .await;
        assert_eq!(get(&r, "stdout"), "a\n\n\n");
        assert_eq!(get(&r, "stdout_lines"), &json!(["a", "", ""]));
        let r = h
            .run(&Command, json!({"cmd": "pwd", "chdir": d.s("nope")}))
            .await;
        assert!(r.failed && !r.changed);
        let msg = format!(
            "Unable to change directory before execution: [Errno 2] No such file or directory: '{}'",
            d.s("nope")
        );
        assert_eq!(r.msg.as_deref(), Some(msg.as_str()));
        assert_eq!(get(&r, "rc"), &Value::Null);
    }

    #[tokio::test]
    async fn creates_and_removes_guard_the_run() {
        let d = Scratch::new("cmd");
        let h = Harness::new();
        let marker = d.s("made");
        let args = json!({"cmd": format!("touch {marker}"), "creates": d.s("ma*")});
        let r = h.run(&Command, args.clone()).await;
        assert!(r.changed && !r.failed && std::path::Path::new(&marker).exists());
        let r = h.run(&Command, args).await;
        assert!(!r.changed && !r.failed && !r.skipped);
        assert_eq!(
            r.msg,
            Some(format!("Did not run command since '{}' exists", d.s("ma*")))
        );
        assert_eq!(
            get(&r, "stdout"),
            &json!(format!("skipped, since {} exists", d.s("ma*")))
        );
        assert_eq!(get(&r, "rc"), 0);

        let args = json!({"cmd": "rm made", "chdir": d.s(""), "removes": "made"});
        let r = h.run(&Command, args.clone()).await;
        assert!(
            r.changed && !std::path::Path::new(&marker).exists(),
            "{r:?}"
        );
        let r = h.run(&Command, args).await;
        assert!(!r.changed);
        assert_eq!(
            r.msg.as_deref(),
            Some("Did not run command since 'made' does not exist")
        );
        assert_eq!(get(&r, "stdout"), "skipped, since made does not exist");
    }

    #[tokio::test]
    async fn check_mode_runs_nothing() {
        let d = Scratch::new("cmd");
        let h = Harness::new().check();
        let marker = d.s("made");
        let r = h
            .run(&Command, json!({"cmd": format!("touch {marker}")}))
            .await;
        assert!(r.skipped && !r.changed);
        assert_eq!(
            r.msg.as_deref(),
            Some("Command would have run if not in check mode")
        );
        let r = h
            .run(
                &Command,
                json!({"cmd": format!("touch {marker}"), "creates": marker}),
            )
            .await;
        assert!(r.changed && !r.skipped && !r.failed);
        assert!(!std::path::Path::new(&marker).exists());
        std::fs::write(&marker, "").unwrap();
        let r = h
            .run(
                &Command,
                json!({"cmd": format!("rm {marker}"), "creates": marker}),
            )
            .await;
        assert!(!r.changed);
        assert_eq!(
            r.msg,
            Some(format!("Would not run command since '{marker}' exists"))
        );
    }
}
