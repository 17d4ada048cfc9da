//! `apt_repository`: one-line apt sources, as Ansible's module manages them. One round trip
//! reads every `sources.list`/`sources.list.d/*.list` file; the change is computed here; the
//! changed files are written atomically (or deleted once empty), then the cache is refreshed.
//! A failed refresh puts the files back as they were, as Ansible does. PPAs (which need
//! Launchpad and key handling) are refused.

pub mod sources;

use self::sources::suggest_filename;
use self::sources::{SourcesList, expand_path, parse_repo};
use super::apt::cmd::split_report;
use super::apt::cmd::{CacheReport, CacheUpdate, ENV, HELPERS, REQUIRE_APT};
use crate::events::FileDiff;
use crate::modules::toolkit::atomic_write::write_files;
use crate::modules::toolkit::atomic_write::{Content, FileAttrs, WriteSpec, parse_trailer, unhex};
use crate::modules::toolkit::mode::ModeSpec;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;
use futures::future::BoxFuture;

pub struct AptRepository;

const SOURCES_LIST: &str = "/etc/apt/sources.list";
const SOURCES_DIR: &str = "/etc/apt/sources.list.d";

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "apt_repository",
    params: &[
        Param::new("repo", T::Str).required(),
        Param::new("state", T::Str).choices(&["absent", "present"]),
        Param::new("mode", T::Mode),
        Param::new("update_cache", T::Bool).aliases(&["update-cache"]),
        Param::new("update_cache_retries", T::Int),
        Param::new("update_cache_retry_max_delay", T::Int),
        // Accepted and ignored, as Ansible does for every repository but a PPA: it uses
        // them only to ask Launchpad for a PPA's key and to expand a `ppa:` line, and
        // strata refuses PPAs.
        Param::new("validate_certs", T::Bool),
        Param::new("filename", T::Str),
        Param::new("codename", T::Str),
        // Accepted and ignored: it installs python3-apt for Ansible's module, which strata
        // does not need; there is nothing to install and nothing to fail on.
        Param::new("install_python_apt", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for AptRepository {
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

/// Reads every one-line sources file, hex-encoded so any content survives.
fn read_script() -> String {
    format!(
        "{ENV}{REQUIRE_APT}for __f in {SOURCES_LIST} {SOURCES_DIR}/*.list; do\n\
         \x20 [ -f \"$__f\" ] || continue\n\
         \x20 printf '__strata_file=%s\\n' \"$__f\"; printf '__strata_hex='; od -An -v -tx1 -- \"$__f\" | tr -d ' \\n'; echo\n\
         done\n"
    )
}

/// Parses the read script's output into the host's sources, in load order.
pub fn parse_sources(stdout: &str) -> SourcesList {
    let mut s = SourcesList::default();
    let mut path: Option<String> = None;
    for line in stdout.lines() {
        if let Some(p) = line.strip_prefix("__strata_file=") {
            path = Some(p.to_string());
        } else if let (Some(h), Some(p)) = (line.strip_prefix("__strata_hex="), path.take()) {
            let content = String::from_utf8_lossy(&unhex(h).unwrap_or_default()).into_owned();
            s.load(&p, &content);
        }
    }
    s
}

/// Files whose rendered content differs between two dumps: `(path, before, after)`, with
/// `None` for a file that does not exist (or is empty) on that side.
type Change = (String, Option<String>, Option<String>);

fn changes(before: &[(String, String)], after: &[(String, String)]) -> Vec<Change> {
    let mut out = Vec::new();
    let find =
        |d: &[(String, String)], p: &str| d.iter().find(|(q, _)| q == p).map(|x| x.1.clone());
    for (p, b) in before {
        let a = find(after, p);
        if a.as_ref() != Some(b) {
            out.push((p.clone(), Some(b.clone()), a));
        }
    }
    for (p, a) in after {
        if find(before, p).is_none() {
            out.push((p.clone(), None, Some(a.clone())));
        }
    }
    out
}

/// Writes every changed file (deleting those left empty) and reports the first error.
async fn apply(
    ctx: &ModuleCtx<'_>,
    set: &[Change],
    modes: &[(String, ModeSpec)],
) -> Result<Option<String>, ModuleError> {
    let deletions: Vec<String> = set
        .iter()
        .filter(|(_, _, a)| a.is_none())
        .map(|(p, _, _)| sh_quote(p))
        .collect();
    if !deletions.is_empty() {
        let out = ctx
            .run(&format!("rm -f -- {}", deletions.join(" ")), None)
            .await?;
        if out.rc != 0 {
            return Ok(Some(out.stderr_str().trim().to_string()));
        }
    }
    let specs: Vec<WriteSpec> = set
        .iter()
        .filter_map(|(p, _, a)| {
            let a = a.as_ref()?;
            let mut w = WriteSpec::new(p.clone(), Content::Bytes(a.clone().into_bytes()));
            w.attrs = FileAttrs {
                mode: modes.iter().find(|(f, _)| f == p).map(|(_, m)| m.clone()),
                ..Default::default()
            };
            Some(w)
        })
        .collect();
    if specs.is_empty() {
        return Ok(None);
    }
    let (outcomes, _) = write_files(ctx, &[], &specs).await?;
    Ok(outcomes.into_iter().find_map(|o| o.error.map(|e| e.msg)))
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let repo = args.req_str("repo")?;
    let present = match args.str("state").as_deref().unwrap_or("present") {
        "present" => true,
        "absent" => false,
        s => {
            return Err(ModuleError::Args(format!(
                "value of state must be one of: absent, present, got: {s}"
            )));
        }
    };
    if repo.trim().is_empty() {
        return Ok(ModuleResult::failed(
            "Please set argument 'repo' to a non-empty value",
        ));
    }
    if repo.trim_start().starts_with("ppa:") {
        return Ok(ModuleResult::failed(format!(
            "apt_repository: PPA repositories ({repo}) are not supported by strata; add the \
             repository's `deb` line and its signing key instead"
        )));
    }
    let mode = match args.get("mode") {
        Some(v) => Some(ModeSpec::parse(v).map_err(ModuleError::Args)?),
        None => None,
    };
    let update_cache = args.bool_or("update_cache", true)?;
    let retries = args.int("update_cache_retries")?.unwrap_or(5);
    let max_delay = args.int("update_cache_retry_max_delay")?.unwrap_or(12);

    let out = ctx.run(&read_script(), None).await?;
    let stdout = out.stdout_str();
    if parse_trailer(stdout.as_bytes()).contains_key("noapt") {
        return Ok(super::apt::cmd::no_apt());
    }
    let mut sources = parse_sources(&stdout);
    let before = sources.dump();
    let source = match parse_repo(&repo) {
        Ok(s) => s,
        Err(msg) => return Ok(ModuleResult::failed(msg)),
    };
    if present {
        let file = expand_path(
            &suggest_filename(&source, args.str("filename").as_deref()),
            SOURCES_DIR,
        );
        sources.add(&source, &file);
    } else {
        sources.remove(&source);
    }
    let after = sources.dump();
    let set = changes(&before, &after);
    let changed = !set.is_empty();
    let added: Vec<String> = set
        .iter()
        .filter(|c| c.1.is_none())
        .map(|c| c.0.clone())
        .collect();
    let removed: Vec<String> = set
        .iter()
        .filter(|c| c.2.is_none())
        .map(|c| c.0.clone())
        .collect();
    let mut result = ModuleResult::changed(changed)
        .with("repo", repo.clone())
        .with("state", if present { "present" } else { "absent" })
        .with("sources_added", added.clone())
        .with("sources_removed", removed.clone());
    if ctx.diff {
        for (p, b, a) in set.iter().filter(|c| c.1.is_none() || c.2.is_none()) {
            result.diff.push(FileDiff {
                before_header: if b.is_some() {
                    p.clone()
                } else {
                    "/dev/null".into()
                },
                after_header: if a.is_some() {
                    p.clone()
                } else {
                    "/dev/null".into()
                },
                before: b.clone().unwrap_or_default(),
                after: a.clone().unwrap_or_default(),
            });
        }
    }
    if !changed || ctx.check_mode {
        return Ok(result);
    }
    let modes: Vec<(String, ModeSpec)> = match &mode {
        Some(m) => sources
            .new_repos
            .iter()
            .map(|f| (f.clone(), m.clone()))
            .collect(),
        None => vec![],
    };
    if let Some(e) = apply(ctx, &set, &modes).await? {
        return Ok(ModuleResult::failed(format!(
            "writing the apt sources failed: {e}"
        )));
    }
    if update_cache {
        let cu = CacheUpdate {
            valid_time: 0,
            retries,
            max_delay,
            lock_timeout: 60,
            check_mode: false,
        };
        let out = ctx
            .run(&format!("{ENV}{HELPERS}{}", cu.script()), None)
            .await?;
        let rep = CacheReport::parse(&split_report(&out).keys, retries);
        if let Some(e) = rep.error {
            // Put every file back as it was before failing, as Ansible's revert does.
            let revert: Vec<Change> = set
                .iter()
                .map(|(p, b, a)| (p.clone(), a.clone(), b.clone()))
                .collect();
            if let Some(re) = apply(ctx, &revert, &[]).await? {
                return Ok(ModuleResult::failed(format!(
                    "{e} (and reverting the sources failed: {re})"
                )));
            }
            return Ok(ModuleResult::failed(e));
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::LocalShell;
    use crate::transport::Transport;

    #[tokio::test]
    async fn reads_sources_files_of_this_machine() {
        // Read-only: the same script the module runs first.
        let out = LocalShell.exec(&read_script(), None).await.unwrap();
        let s = parse_sources(&out.stdout_str());
        for (p, _) in &s.files {
            assert!(p == SOURCES_LIST || p.starts_with(SOURCES_DIR), "{p}");
        }
    }

    #[test]
    fn parses_hex_sources_and_computes_changes() {
        let hex: String = b"deb http://a/ x main\n"
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut s = parse_sources(&format!(
            "__strata_file=/etc/apt/sources.list\n__strata_hex={hex}\n__strata_file=/etc/apt/sources.list.d/e.list\n__strata_hex=\n"
        ));
        assert_eq!(s.files.len(), 2);
        let before = s.dump();
        assert_eq!(before.len(), 1, "empty files are not in the dump");
        s.add("deb http://c/ ./", "/etc/apt/sources.list.d/c.list");
        let set = changes(&before, &s.dump());
        assert_eq!(
            set,
            vec![(
                "/etc/apt/sources.list.d/c.list".to_string(),
                None,
                Some("deb http://c/ ./\n".to_string())
            )]
        );
        s.remove("deb http://a/ x main");
        let set = changes(&before, &s.dump());
        assert!(set.contains(&(
            "/etc/apt/sources.list".to_string(),
            Some("deb http://a/ x main\n".to_string()),
            None
        )));
    }
}
