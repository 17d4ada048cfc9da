//! `dpkg_selections`: a package's dpkg selection (`install`, `hold`, `deinstall`, `purge`),
//! read with `dpkg --get-selections` and set with `dpkg --set-selections`, the line given on
//! stdin as Ansible does. One round trip: the script compares and sets in place, and strata
//! recomputes `before` from what it read, exactly as Ansible's `out.split()[1]`.

use futures::future::BoxFuture;

use super::report::{CAPTURE, HELPERS, Report, word};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct DpkgSelections;

const SELECTIONS: &[&str] = &["install", "hold", "deinstall", "purge"];

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "dpkg_selections",
    params: &[
        Param::new("name", T::Str).required(),
        Param::new("selection", T::Str)
            .required()
            .choices(SELECTIONS),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for DpkgSelections {
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

/// The one script: read the selection, and set it when it differs (unless in check mode).
pub fn script(name: &str, selection: &str, check: bool) -> String {
    let (n, s) = (sh_quote(name), sh_quote(selection));
    format!(
        "export LANG=C LC_ALL=C LC_MESSAGES=C LC_CTYPE=C LANGUAGE=C\n{HELPERS}\
         command -v dpkg >/dev/null 2>&1 || {{ __sx nodpkg 1; exit 0; }}\n{CAPTURE}\
         __cap get dpkg --get-selections {n} || exit 0\n\
         case $__e in *'no packages found matching'*) exit 0;; esac\n\
         if [ -z \"$__o\" ]; then __cur='not present'; else set -f; set -- $__o; __cur=$2; fi\n\
         [ \"$__cur\" = {s} ] && exit 0\n\
         {set}",
        set = if check {
            String::new()
        } else {
            format!("printf '%s %s' {n} {s} | {{ __cap set dpkg --set-selections; }}\n")
        }
    )
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let name = args.req_str("name")?;
    let selection = args.req_str("selection")?;
    if !SELECTIONS.contains(&selection.as_str()) {
        return Err(ModuleError::Args(format!(
            "value of selection must be one of: {}, got: {selection}",
            SELECTIONS.join(", ")
        )));
    }
    let out = ctx
        .run(&script(&name, &selection, ctx.check_mode), None)
        .await?;
    let rep = Report::parse(&out);
    if rep.has("nodpkg") {
        return Ok(ModuleResult::failed(
            "Failed to find required executable \"dpkg\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ));
    }
    if let Some(f) = command_failure(&rep, "get") {
        return Ok(f);
    }
    if rep.text("get_err").contains("no packages found matching") {
        return Ok(ModuleResult::failed(format!(
            "Failed to find package '{name}' to perform selection '{selection}'."
        )));
    }
    let got = rep.text("get_out");
    let current = match word(&got, 1) {
        _ if got.is_empty() => "not present".to_string(),
        Some(w) => w.to_string(),
        None => String::new(),
    };
    if let Some(f) = command_failure(&rep, "set") {
        return Ok(f);
    }
    Ok(ModuleResult::changed(current != selection)
        .with("before", current)
        .with("after", selection))
}

/// Ansible's `check_rc=True`: a non-zero exit fails with stderr as the message.
fn command_failure(rep: &Report, prefix: &str) -> Option<ModuleResult> {
    let rc = rep.rc(&format!("{prefix}_rc"))?;
    if rc == 0 {
        return None;
    }
    let err = rep.text(&format!("{prefix}_err"));
    Some(
        ModuleResult::failed(err.clone())
            .with("rc", rc)
            .with("stdout", rep.text(&format!("{prefix}_out")))
            .with("stderr", err),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Run, get, run_module};

    #[tokio::test]
    async fn reads_an_installed_package_in_check_mode() {
        let r = run_module(
            &DpkgSelections,
            serde_json::json!({"name": "dpkg", "selection": "hold"}),
            Run::check(),
        )
        .await;
        assert!(!r.failed, "{:?}", r.msg);
        assert!(r.changed);
        assert_eq!(get(&r, "before"), "install");
        assert_eq!(get(&r, "after"), "hold");
        let r = run_module(
            &DpkgSelections,
            serde_json::json!({"name": "dpkg", "selection": "install"}),
            Run::check(),
        )
        .await;
        assert!(!r.changed && !r.failed);
    }

    #[tokio::test]
    async fn an_unknown_package_fails_in_ansibles_words() {
        let r = run_module(
            &DpkgSelections,
            serde_json::json!({"name": "strata-no-such-pkg", "selection": "hold"}),
            Run::check(),
        )
        .await;
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some("Failed to find package 'strata-no-such-pkg' to perform selection 'hold'.")
        );
    }
}
