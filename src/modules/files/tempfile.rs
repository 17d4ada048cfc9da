//! `tempfile`: a new, private temporary file (0600) or directory (0700), named as Python's
//! `mkstemp`/`mkdtemp` name them (prefix, eight characters of `[a-z0-9_]`, suffix). The names
//! are drawn here and the host creates the first free one exclusively (`set -C` for a file,
//! `mkdir` for a directory), so no existing path is ever reused. Like Ansible's, the module
//! has no check mode: in check mode the task is skipped.

use futures::future::BoxFuture;
use rand::Rng;

use crate::modules::toolkit::atomic_write::parse_trailer;
use crate::modules::toolkit::sh_words::ShWords;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct TempFile;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "tempfile",
    params: &[
        Param::new("state", T::Str).choices(&["file", "directory"]),
        Param::new("path", T::Str),
        Param::new("prefix", T::Str),
        Param::new("suffix", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for TempFile {
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

/// Python's `tempfile._RandomNameSequence` alphabet.
const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
/// Python's `TMP_MAX` bounds its attempts too; a handful is plenty for 37^8 names.
const ATTEMPTS: usize = 16;

fn random_name(rng: &mut impl Rng) -> String {
    (0..8)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// Python's `os.path.basename`: whether `s` is a single file name component.
fn is_component(s: &str) -> bool {
    !s.contains('/')
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    if ctx.check_mode {
        let mut r = ModuleResult::ok().msg("This action (tempfile) does not support check mode.");
        r.skipped = true;
        return Ok(r);
    }
    let dir = args.str("state").unwrap_or_else(|| "file".into()) == "directory";
    let prefix = args.str("prefix").unwrap_or_else(|| "ansible.".into());
    let suffix = args.str("suffix").unwrap_or_default();
    if !prefix.is_empty() && !is_component(&prefix) {
        return Ok(ModuleResult::failed(format!(
            "prefix must be a valid file name component, got {}",
            crate::template::pyrepr::repr_str(&prefix)
        )));
    }
    if !suffix.is_empty() && !is_component(&suffix) {
        return Ok(ModuleResult::failed(format!(
            "suffix must be a valid file name component, got {}",
            crate::template::pyrepr::repr_str(&suffix)
        )));
    }
    let mut words = ShWords::default();
    // `path` is a `type='path'` option: `~` and `$VARS` expand on the host, as in Python.
    let dir_word = match args.str("path") {
        Some(p) => words.word(&p, true, false),
        None => "\"${TMPDIR:-${TEMP:-${TMP:-/tmp}}}\"".into(),
    };
    let names: Vec<String> = {
        let mut rng = rand::rng();
        (0..ATTEMPTS)
            .map(|_| sh_quote(&format!("{prefix}{}{suffix}", random_name(&mut rng))))
            .collect()
    };
    let make = if dir {
        "mkdir -m 0700 -- \"$f\" 2>&1"
    } else {
        "(umask 077; set -C; : > \"$f\") 2>&1"
    };
    let script = format!(
        "{setup}d={dir_word}\ncase $d in /*) ;; *) d=$PWD/$d;; esac\n\
         for n in {names}; do\n  f=${{d%/}}/$n\n  if [ -e \"$f\" ] || [ -L \"$f\" ]; then continue; fi\n\
           if err=$( {make} ); then printf '__strata_path=%s\\n' \"$f\"; exit 0; fi\n\
           if [ ! -d \"$d\" ]; then printf '__strata_err=[Errno 2] No such file or directory: %s\\n' \"'$f'\"; \
         elif [ ! -w \"$d\" ] || [ ! -x \"$d\" ]; then printf '__strata_err=[Errno 13] Permission denied: %s\\n' \"'$f'\"; \
         else printf '__strata_err=%s\\n' \"$(printf '%s' \"$err\" | tr '\\n' ' ')\"; fi\n  exit 0\ndone\n\
         echo '__strata_err=[Errno 17] No usable temporary file name found'\n",
        setup = words.setup(),
        names = names.join(" "),
    );
    let out = ctx.run(&script, None).await?;
    let k = parse_trailer(&out.stdout);
    if let Some(p) = k.get("path") {
        return Ok(ModuleResult::changed(true).with("path", normalize(p)));
    }
    let msg = k
        .get("err")
        .cloned()
        .unwrap_or_else(|| out.stderr_str().trim().to_string());
    Ok(ModuleResult::failed(msg.trim_end().to_string()))
}

/// Python's `os.path.abspath` (normpath) on the path the host reported: `//`, `/./` and
/// `dir/..` collapse without resolving links.
fn normalize(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::modules::harness::{Run, Scratch, get, mode_of, run_module};

    #[tokio::test]
    async fn creates_private_files_and_directories() {
        let d = Scratch::new("tempfile");
        let r = run_module(
            &TempFile,
            json!({"path": d.s(""), "prefix": "pre_", "suffix": ".txt"}),
            Run::default(),
        )
        .await;
        assert!(r.changed && !r.failed, "{r:?}");
        let p = get(&r, "path").as_str().unwrap().to_string();
        let name = p.rsplit('/').next().unwrap();
        assert!(name.starts_with("pre_") && name.ends_with(".txt") && name.len() == 16);
        assert!(std::path::Path::new(&p).is_file());
        assert_eq!(mode_of(std::path::Path::new(&p)), 0o600);
        assert!(p.starts_with(d.0.to_str().unwrap()) && !p.contains("//"));

        let r = run_module(
            &TempFile,
            json!({"path": d.s(""), "state": "directory"}),
            Run::default(),
        )
        .await;
        let p = get(&r, "path").as_str().unwrap().to_string();
        assert!(p.rsplit('/').next().unwrap().starts_with("ansible."));
        assert!(std::path::Path::new(&p).is_dir());
        assert_eq!(mode_of(std::path::Path::new(&p)), 0o700);
    }

    #[tokio::test]
    async fn refusals_and_failures_read_as_ansible() {
        let r = run_module(&TempFile, json!({"prefix": "a/b"}), Run::default()).await;
        assert_eq!(
            r.msg.as_deref(),
            Some("prefix must be a valid file name component, got 'a/b'")
        );
        let r = run_module(
            &TempFile,
            json!({"path": "/nonexistent-strata"}),
            Run::default(),
        )
        .await;
        assert!(r.failed);
        let m = r.msg.unwrap();
        assert!(
            m.starts_with("[Errno 2] No such file or directory: '/nonexistent-strata/ansible."),
            "{m}"
        );
        let r = run_module(&TempFile, json!({}), Run::check()).await;
        assert!(r.skipped && !r.changed);
    }

    #[test]
    fn normalizes_like_abspath() {
        assert_eq!(normalize("/tmp//a/./b"), "/tmp/a/b");
        assert_eq!(normalize("/x/../tmp/f"), "/tmp/f");
    }
}
