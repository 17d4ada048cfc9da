//! `unarchive`: unpacks a tar (gzip/bzip2/xz/zstd or plain) or zip archive into an existing
//! directory on the host with GNU tar or unzip, choosing the handler the way Ansible's
//! `pick_handler` does. It is idempotent like Ansible: `tar --diff` (or a member-by-member
//! comparison of `unzip -Z` data with the files on disk) decides whether anything needs
//! extracting. A controller-side `src` rides on the script's stdin into a temp file.

use futures::future::BoxFuture;
use serde_json::Value;

use super::http_client::{HttpRequest, PRELUDE, block, parse_response};
use crate::modules::toolkit::atomic_write::{FileAttrs, parse_trailer};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Fixed, Param, ParamType as T, toolkit::fs_attrs};
use crate::shell::sh_quote;

const SCRIPT: &str = include_str!("unarchive.sh");

pub struct Unarchive;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "unarchive",
    params: &[
        Param::new("src", T::Str).required(),
        Param::new("dest", T::Str).required(),
        Param::new("remote_src", T::Bool),
        Param::new("copy", T::Bool),
        Param::new("creates", T::Str),
        Param::new("extra_opts", T::List),
        Param::new("owner", T::Str),
        Param::new("group", T::Str),
        Param::new("mode", T::Mode),
        Param::new("list_files", T::Bool),
        Param::new("exclude", T::List),
        Param::new("include", T::List),
        Param::new("keep_newer", T::Bool),
        Param::new("validate_certs", T::Bool),
        Param::new("decrypt", T::Bool).only(Fixed::Bool(true)),
        Param::new("io_buffer_size", T::Int).only(Fixed::Int(65536)),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["include", "exclude"]],
    required_one_of: &[],
    any_params: false,
};

impl Module for Unarchive {
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

fn words<'a>(items: impl IntoIterator<Item = &'a str>, prefix: &str) -> String {
    items
        .into_iter()
        .map(|s| sh_quote(&format!("{prefix}{s}")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where the archive comes from on the host.
enum Source {
    /// Sent over stdin into a temp file.
    Upload(Vec<u8>),
    /// Already on the host.
    Path(String),
    /// Downloaded on the host first.
    Url(String),
}

fn build_script(args: &Args, src: &Source, dest: &str, check: bool) -> Result<String, ModuleError> {
    let attrs = FileAttrs::from_args(args)?;
    let list =
        |n: &str| -> Result<Vec<String>, ModuleError> { Ok(args.str_list(n)?.unwrap_or_default()) };
    let (extra, excl, incl) = (list("extra_opts")?, list("exclude")?, list("include")?);
    let topts = if extra.is_empty() {
        String::new()
    } else {
        format!(
            "--show-transformed-names {}",
            words(extra.iter().map(String::as_str), "")
        )
    };
    let zexcl = if excl.is_empty() {
        String::new()
    } else {
        format!("-x {}", words(excl.iter().map(String::as_str), ""))
    };
    let mode = attrs
        .mode
        .as_ref()
        .and_then(|m| m.chmod_arg())
        .unwrap_or_default();
    let mut s = String::from(PRELUDE);
    // The action plugin's check, made before anything is transferred or downloaded.
    s.push_str(&format!(
        "if [ ! -d {q} ]; then {drain}__o fail \"dest '\"{q}\"' must be an existing dir\"; exit 0; fi\n",
        q = sh_quote(dest),
        drain = if matches!(src, Source::Upload(_)) { "cat > /dev/null; " } else { "" },
    ));
    s.push_str(fs_attrs::SCRIPT);
    s.push_str(&format!(
        "dest={}; C={}; KEEP={}; OWNER={}; GROUP={}; MODE={}\nTOPTS={}; ZOPTS={}; TEXCL={}; ZEXCL={}; EXCL={}; INCL={}\n",
        sh_quote(dest),
        check as u8,
        args.bool_or("keep_newer", false)? as u8,
        sh_quote(attrs.owner.as_deref().unwrap_or("")),
        sh_quote(attrs.group.as_deref().unwrap_or("")),
        sh_quote(&mode),
        sh_quote(&topts),
        sh_quote(&words(extra.iter().map(String::as_str), "")),
        sh_quote(&words(excl.iter().map(String::as_str), "--exclude=")),
        sh_quote(&zexcl),
        sh_quote(&words(excl.iter().map(String::as_str), "")),
        sh_quote(&words(incl.iter().map(String::as_str), "")),
    ));
    match src {
        Source::Path(p) => s.push_str(&format!("src={}\n", sh_quote(p))),
        Source::Upload(_) => s.push_str(
            "src=$(mktemp \"${TMPDIR:-/tmp}/.strata_unarchive.XXXXXX\") || exit 1\n\
             cat > \"$src\"\n",
        ),
        Source::Url(u) => {
            let mut req = HttpRequest::get(u);
            req.validate_certs = args.bool_or("validate_certs", true)?;
            s.push_str(&req.shell_function());
            s.push_str(
                "src=$(mktemp \"${TMPDIR:-/tmp}/.strata_unarchive.XXXXXX\") || exit 1\n\
                 __hd=$(mktemp \"${TMPDIR:-/tmp}/.strata.XXXXXX\")\n\
                 __h_req \"$src\" \"$__hd\"; __o rc \"$__h_rc\"; __o err \"$__h_err\"; __dump hdrs \"$__hd\"; rm -f -- \"$__hd\"\n\
                 if [ \"$__h_status\" != 200 ]; then rm -f -- \"$src\"; __o download_failed 1; exit 0; fi\n",
            );
        }
    }
    // The archive temp file must outlive the script's own trap for Path sources only.
    let body = match src {
        Source::Path(_) => SCRIPT.to_string(),
        _ => SCRIPT.replace(
            "trap 'rm -f -- \"$__lst\" \"$__tmp\"' EXIT",
            "trap 'rm -f -- \"$src\" \"$__lst\" \"$__tmp\"' EXIT",
        ),
    };
    s.push_str(&body);
    Ok(s)
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let src_arg = args.req_str("src")?;
    let dest = args.req_str("dest")?;
    let remote_src = match args.bool("remote_src")? {
        Some(b) => b,
        None => !args.bool_or("copy", true)?,
    };
    if let Some(c) = args.str("creates") {
        let out = ctx.run(&format!("test -e {}", sh_quote(&c)), None).await?;
        if out.rc == 0 {
            let mut r = ModuleResult::ok().msg(format!("skipped, since {c} exists"));
            r.skipped = true;
            return Ok(r);
        }
    }
    let src =
        if remote_src {
            if src_arg.contains("://") {
                Source::Url(src_arg.clone())
            } else {
                Source::Path(src_arg.clone())
            }
        } else if src_arg.contains("://") {
            return Ok(ModuleResult::failed(
                "'remote_src' must be set when 'src' is a URL",
            ));
        } else {
            let local = ctx.search.find_local("files", &src_arg)?;
            if local.is_dir() {
                return Ok(ModuleResult::failed(format!(
                    "Source '{}' is a directory, not an archive",
                    local.display()
                )));
            }
            Source::Upload(std::fs::read(&local).map_err(|e| {
                ModuleError::Args(format!("could not read {}: {e}", local.display()))
            })?)
        };
    let script = build_script(args, &src, &dest, ctx.check_mode)?;
    let stdin = match &src {
        Source::Upload(b) => Some(b.as_slice()),
        _ => None,
    };
    let out = ctx.run(&script, stdin).await?;
    let stdout = out.stdout_str();
    let keys = parse_trailer(&out.stdout);
    let shown_src = match &src {
        Source::Upload(_) => src_arg.clone(),
        Source::Path(p) | Source::Url(p) => p.clone(),
    };
    if keys.contains_key("download_failed") {
        let resp = parse_response(
            &block(&stdout, "hdrs").unwrap_or_default(),
            &shown_src,
            keys.get("err").map(String::as_str).unwrap_or(""),
        );
        return Ok(ModuleResult::failed(format!(
            "Failure downloading {shown_src}, {}",
            resp.msg
        )));
    }
    if let Some(f) = keys.get("fail") {
        let mut r = ModuleResult::failed(f.clone())
            .with("dest", dest.clone())
            .with("src", shown_src);
        if let Some(h) = keys.get("handler") {
            r.data.insert("handler".into(), h.clone().into());
        }
        if let Some(o) = block(&stdout, "out") {
            r.data.insert(
                "extract_results".into(),
                serde_json::json!({"rc": keys.get("rc").and_then(|s| s.parse::<i64>().ok()), "err": o}),
            );
        }
        return Ok(r);
    }
    let Some(handler) = keys.get("handler") else {
        return Ok(ModuleResult::failed(format!(
            "unarchive script failed: {}",
            out.stderr_str().trim()
        )));
    };
    let mut r = ModuleResult::changed(keys.get("changed").is_some_and(|c| c == "1"))
        .with("handler", handler.clone())
        .with("dest", dest)
        .with("src", shown_src);
    if args.bool_or("list_files", false)? {
        let files: Vec<Value> = block(&stdout, "files")
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(Value::from)
            .collect();
        r.data.insert("files".into(), Value::Array(files));
    }
    Ok(r)
}

#[cfg(test)]
mod tests;
