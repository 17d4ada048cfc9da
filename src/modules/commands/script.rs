//! `script`: runs a controller-side script on the host in one round trip. The script travels
//! on stdin to a remote `sh` that stores it in a `mktemp` file, makes it executable, runs it
//! with the arguments exactly as written (the remote shell interprets them, as in Ansible),
//! and removes it. `creates`/`removes` are checked first in the same round trip.

use futures::future::BoxFuture;
use serde_json::Value;

use super::support::{Marker, ShWords, Stop, chdir_message, with_streams};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Fixed, Param, ParamType as T};
use crate::shell::shlex;

pub struct Script;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "script",
    params: &[
        Param::new("cmd", T::Str),
        Param::new("chdir", T::Str),
        Param::new("creates", T::Str),
        Param::new("removes", T::Str),
        Param::new("executable", T::Str),
        // Vault is not supported; the option is accepted so playbooks that set it still load.
        Param::new("decrypt", T::Bool).only(Fixed::Bool(true)),
    ],
    free_form: FreeForm::Raw("cmd"),
    mutually_exclusive: &[],
    required_one_of: &[&["cmd"]],
    any_params: false,
};

impl Module for Script {
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
    let raw = args.str("cmd").unwrap_or_default();
    let raw = raw.trim();
    let (source, rest) = match shlex::split_first(raw) {
        Ok(Some(first)) => first,
        Ok(None) => return Ok(ModuleResult::failed("script: no script given")),
        Err(e) => {
            return Ok(ModuleResult::failed(format!(
                "cannot split the script command `{raw}`: {e}"
            )));
        }
    };
    let chdir = args.str("chdir").filter(|d| !d.is_empty());
    if let Some(d) = chdir.as_deref().filter(|d| !d.starts_with('/')) {
        return Ok(ModuleResult::failed(format!(
            "chdir {d} must be an absolute path for a Unix-aware remote node"
        )));
    }
    let Some(local) = ctx.search.find("files", &source) else {
        let searched: Vec<String> = ctx
            .search
            .roots
            .iter()
            .map(|r| format!("\t{}/files\n\t{}", r.display(), r.display()))
            .collect();
        return Ok(ModuleResult::failed(format!(
            "Could not find or access '{source}'\nSearched in:\n{}",
            searched.join("\n")
        )));
    };
    let body = std::fs::read(&local).map_err(|e| {
        ModuleError::Args(format!(
            "Could not read the script {}: {e}",
            local.display()
        ))
    })?;
    let (creates, removes) = (args.str("creates"), args.str("removes"));
    if ctx.check_mode && creates.is_none() && removes.is_none() {
        return Ok(ModuleResult::changed(true));
    }

    let marker = Marker::default();
    let mut words = ShWords::default();
    let mut script = String::new();
    if let Some(c) = creates.as_deref().filter(|c| !c.is_empty()) {
        script.push_str(&marker.creates(&mut words, c, false));
    }
    if let Some(r) = removes.as_deref().filter(|r| !r.is_empty()) {
        script.push_str(&marker.removes(&mut words, r, false));
    }
    if ctx.check_mode {
        script.push_str(&marker.would_run());
    } else {
        script.push_str("__t=$(mktemp \"${TMPDIR:-/tmp}/strata-script.XXXXXX\") || exit 1\n");
        script.push_str("cat >\"$__t\" && chmod 700 \"$__t\" || { rm -f \"$__t\"; exit 1; }\n");
        if let Some(d) = &chdir {
            script.push_str(
                &marker
                    .chdir(&mut words, d)
                    .replace("exit 0;", "rm -f \"$__t\"; exit 0;"),
            );
        }
        let exe = args
            .str("executable")
            .filter(|e| !e.is_empty())
            .map(|e| format!("{e} "))
            .unwrap_or_default();
        script.push_str(&format!(
            "{exe}\"$__t\"{rest}\n__rc=$?\nrm -f \"$__t\"\nexit $__rc\n"
        ));
    }
    let script = format!("{}{script}", words.setup());
    let stdin = (!ctx.check_mode).then_some(body.as_slice());
    let out = ctx.run(&script, stdin).await?;
    Ok(match marker.parse(&out) {
        Some(Stop::Creates) => skipped(format!(
            "{} exists, matching creates option",
            creates.unwrap_or_default()
        )),
        Some(Stop::Removes) => skipped(format!(
            "{} does not exist, matching removes option",
            removes.unwrap_or_default()
        )),
        Some(Stop::WouldRun) => ModuleResult::changed(true),
        Some(Stop::Chdir(errno)) => {
            ModuleResult::failed(chdir_message(errno, chdir.as_deref().unwrap_or_default()))
                .with("rc", Value::Null)
        }
        None => {
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
            r
        }
    })
}

fn skipped(msg: String) -> ModuleResult {
    ModuleResult {
        skipped: true,
        ..ModuleResult::default()
    }
    .msg(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::SearchPaths;
    use crate::modules::harness::{Harness, Scratch, get};
    use serde_json::json;

    fn harness(d: &Scratch) -> Harness {
        std::fs::create_dir_all(d.0.join("files")).unwrap();
        std::fs::write(
            d.0.join("files/show args.sh"),
            format!(
                "#!/bin/sh\n# {}\necho \"n=$# 1=$1 2=$2\"\npwd\necho err >&2\nexit \"${{3:-0}}\"\n",
                d.0.display()
            ),
        )
        .unwrap();
        let mut h = Harness::new();
        h.search = SearchPaths {
            roots: vec![d.0.clone()],
        };
        h
    }

    #[tokio::test]
    async fn runs_local_script_with_args_and_cleans_up() {
        let d = Scratch::new("script");
        let h = harness(&d);
        let r = h
            .run(
                &Script,
                json!({"cmd": "'show args.sh' 'a b' \"$HOME\"", "chdir": "/"}),
            )
            .await;
        assert!(r.changed && !r.failed, "{r:?}");
        let home = std::env::var("HOME").unwrap();
        assert_eq!(
            get(&r, "stdout_lines"),
            &json!([format!("n=2 1=a b 2={home}"), "/"])
        );
        assert_eq!(get(&r, "stderr"), "err\n");
        // Other tests (running the same script) and processes use /tmp too: look for this
        // test's copy by its content, which names this test's own directory.
        let marker = format!("# {}\n", d.0.display());
        let left: Vec<_> = std::fs::read_dir("/tmp")
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("strata-script.")
            })
            .filter(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(&marker)))
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "temporary script left behind: {left:?}");

        let r = h
            .run(
                &Script,
                json!({"cmd": "'show args.sh' x y 5", "executable": "/bin/bash"}),
            )
            .await;
        assert!(r.failed && r.changed);
        assert_eq!(
            (get(&r, "rc"), r.msg.as_deref()),
            (&json!(5), Some("non-zero return code"))
        );
    }

    #[tokio::test]
    async fn guards_check_mode_and_errors() {
        let d = Scratch::new("script");
        let h = harness(&d);
        let present = d.s("files");
        let r = h
            .run(
                &Script,
                json!({"cmd": "'show args.sh'", "creates": present}),
            )
            .await;
        assert!(r.skipped && !r.changed);
        assert_eq!(
            r.msg,
            Some(format!("{present} exists, matching creates option"))
        );
        let r = h
            .run(
                &Script,
                json!({"cmd": "'show args.sh'", "removes": d.s("nope")}),
            )
            .await;
        assert!(r.skipped);
        assert_eq!(
            r.msg,
            Some(format!(
                "{} does not exist, matching removes option",
                d.s("nope")
            ))
        );

        let mut hc = harness(&d);
        hc.check_mode = true;
        let r = hc
            .run(
                &Script,
                json!({"cmd": "'show args.sh'", "removes": present}),
            )
            .await;
        assert!(r.changed && !r.skipped && !get(&r, "stdout").is_string());

        let r = h.run(&Script, json!({"cmd": "missing.sh"})).await;
        assert!(
            r.failed
                && r.msg
                    .as_deref()
                    .unwrap()
                    .starts_with("Could not find or access 'missing.sh'")
        );
        let r = h
            .run(&Script, json!({"cmd": "'show args.sh'", "chdir": "rel"}))
            .await;
        assert_eq!(
            r.msg.as_deref(),
            Some("chdir rel must be an absolute path for a Unix-aware remote node")
        );
        let r = h
            .run(
                &Script,
                json!({"cmd": "'show args.sh'", "chdir": d.s("none")}),
            )
            .await;
        assert!(
            r.failed
                && r.msg
                    .as_deref()
                    .unwrap()
                    .contains("No such file or directory")
        );
    }
}
