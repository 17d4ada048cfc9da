//! `assemble`: concatenates the fragments of a directory, in Python's string sort order, into
//! one file. The fragments come from the host (`remote_src`, the default: one round trip reads
//! them all) or from the controller (the action plugin's `remote_src: false`, found as `copy`
//! finds `src`); the joining (regexp filter, hidden files, delimiter with Python's
//! `escape_decode`, the newline between fragments) is Ansible's, done here, and the result is
//! written by the shared atomic writer (validate, backup, mode/owner/group, check mode). As in
//! Ansible, only `remote_src: false` has a diff.

use futures::future::BoxFuture;
use md5::{Digest, Md5};

use crate::modules::files::copy::sha1_hex;
use crate::modules::toolkit::atomic_write::{
    Content, FileAttrs, WriteSpec, add_outcome, content_diff, write_file,
};
use crate::modules::{Args, Fixed, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult};
use crate::modules::{ModuleSpec, Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Assemble;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "assemble",
    params: &[
        Param::new("src", T::Str).required(),
        Param::new("dest", T::Str).required(),
        Param::new("delimiter", T::Str),
        Param::new("backup", T::Bool),
        Param::new("remote_src", T::Bool),
        Param::new("regexp", T::Str),
        Param::new("ignore_hidden", T::Bool),
        Param::new("validate", T::Str),
        Param::new("decrypt", T::Bool).only(Fixed::Bool(true)),
        Param::new("mode", T::Mode),
        Param::new("owner", T::Str),
        Param::new("group", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Assemble {
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

/// A directory entry: its name, and its content when it is a regular file (links followed).
type Fragment = (String, Option<Vec<u8>>);

/// Python's `codecs.escape_decode`: backslash escapes in a byte string.
pub fn escape_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'\n' => {}
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = (c - b'0') as u32;
                for _ in 0..2 {
                    match b.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + (d - b'0') as u32;
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            b'x' if b.len() >= i + 2 && b[i..i + 2].iter().all(u8::is_ascii_hexdigit) => {
                let h = std::str::from_utf8(&b[i..i + 2]).unwrap_or("0");
                out.push(u8::from_str_radix(h, 16).unwrap_or(0));
                i += 2;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    out
}

/// Ansible's `assemble_from_fragments`.
pub fn assemble(
    mut fragments: Vec<Fragment>,
    delimiter: Option<&str>,
    regexp: Option<&fancy_regex::Regex>,
    ignore_hidden: bool,
) -> Vec<u8> {
    // Python sorts str by code point, which UTF-8 byte order preserves.
    fragments.sort_by(|a, b| a.0.cmp(&b.0));
    let delimiter = delimiter.filter(|d| !d.is_empty()).map(escape_decode);
    let mut out = Vec::new();
    let (mut delimit_me, mut add_newline) = (false, false);
    for (name, content) in fragments {
        if let Some(re) = regexp
            && !re.is_match(&name).unwrap_or(false)
        {
            continue;
        }
        let Some(content) = content else { continue };
        if ignore_hidden && name.starts_with('.') {
            continue;
        }
        if add_newline {
            out.push(b'\n');
        }
        if delimit_me && let Some(d) = &delimiter {
            out.extend_from_slice(d);
            if d.last() != Some(&b'\n') {
                out.push(b'\n');
            }
        }
        out.extend_from_slice(&content);
        delimit_me = true;
        add_newline = !content.ends_with(b"\n");
    }
    out
}

/// The fragments of a directory on the host, or the failure message for `src`.
async fn remote_fragments(
    ctx: &ModuleCtx<'_>,
    src: &str,
) -> Result<Result<Vec<Fragment>, String>, ModuleError> {
    let script = format!(
        "s={}\n[ -e \"$s\" ] || {{ printf 'M\\0'; exit 0; }}\n[ -d \"$s\" ] || {{ printf 'N\\0'; exit 0; }}\n\
         printf 'D\\0'\nfor f in \"$s\"/* \"$s\"/.[!.]* \"$s\"/..?*; do\n\
           [ -e \"$f\" ] || [ -L \"$f\" ] || continue\n\
           if [ -f \"$f\" ] && [ -r \"$f\" ]; then printf 'F\\0%s\\0%s\\0' \"${{f##*/}}\" \"$(wc -c < \"$f\")\"; cat -- \"$f\";\n\
           else printf 'O\\0%s\\0' \"${{f##*/}}\"; fi\ndone\n",
        sh_quote(src)
    );
    let out = ctx.run(&script, None).await?;
    let b = &out.stdout[..];
    if b.starts_with(b"M\0") {
        return Ok(Err(format!("Source ({src}) does not exist")));
    }
    if b.starts_with(b"N\0") {
        return Ok(Err(format!("Source ({src}) is not a directory")));
    }
    let Some(mut rest) = b.strip_prefix(b"D\0") else {
        return Ok(Err(out.stderr_str().trim().to_string()));
    };
    let field = |r: &[u8]| -> Option<(String, usize)> {
        let e = r.iter().position(|x| *x == 0)?;
        Some((String::from_utf8_lossy(&r[..e]).into_owned(), e + 1))
    };
    let mut v = Vec::new();
    while !rest.is_empty() {
        let kind = rest[0];
        rest = &rest[2..];
        let Some((name, n)) = field(rest) else { break };
        rest = &rest[n..];
        if kind == b'F' {
            let Some((len, n)) = field(rest) else { break };
            rest = &rest[n..];
            let len = len.trim().parse::<usize>().unwrap_or(0).min(rest.len());
            v.push((name, Some(rest[..len].to_vec())));
            rest = &rest[len..];
        } else {
            v.push((name, None));
        }
    }
    Ok(Ok(v))
}

/// The fragments of a controller directory (`remote_src: false`).
fn local_fragments(dir: &std::path::Path) -> Result<Vec<Fragment>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| e.to_string())?;
    let mut v = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let p = e.path();
        let content = if p.is_file() {
            Some(std::fs::read(&p).map_err(|e| e.to_string())?)
        } else {
            None
        };
        v.push((name, content));
    }
    Ok(v)
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let src = args.req_str("src")?;
    let dest = args.req_str("dest")?;
    let remote = args.bool_or("remote_src", true)?;
    let regexp = match args.str("regexp") {
        None => None,
        Some(r) => match fancy_regex::Regex::new(&r) {
            Ok(re) => Some(re),
            Err(e) => {
                return Ok(ModuleResult::failed(format!(
                    "Invalid Regexp ({e}) in \"{r}\""
                )));
            }
        },
    };
    let validate = args.str("validate");
    if let Some(v) = &validate
        && !v.contains("%s")
    {
        return Ok(ModuleResult::failed(format!(
            "validate must contain %s: {v}"
        )));
    }
    let (fragments, shown_src) = if remote {
        match remote_fragments(ctx, &src).await? {
            Ok(f) => (f, src.clone()),
            Err(m) => return Ok(ModuleResult::failed(m)),
        }
    } else {
        let local = ctx.search.find_local("files", &src)?;
        if !local.is_dir() {
            return Ok(ModuleResult::failed(format!(
                "Source ({}) is not a directory",
                local.display()
            )));
        }
        let f = local_fragments(&local).map_err(ModuleError::Args)?;
        (f, local.display().to_string())
    };
    let content = assemble(
        fragments,
        args.str("delimiter").as_deref(),
        regexp.as_ref(),
        args.bool_or("ignore_hidden", false)?,
    );
    let mut spec = WriteSpec::new(dest.clone(), Content::Bytes(content.clone()));
    spec.attrs = FileAttrs::from_args(args)?;
    spec.validate = validate;
    spec.backup = args.bool_or("backup", false)?;
    let o = write_file(ctx, &spec).await?;
    if let Some(mut e) = o.error.clone() {
        if let Some(rc) = e.rc {
            e.msg = format!("failed to validate: rc:{rc} error:{}", e.stderr);
        }
        return Ok(e.into_result());
    }
    let mut r = ModuleResult::changed(o.changed()).msg("OK");
    add_outcome(&mut r, &o);
    r.data.insert("src".into(), shown_src.clone().into());
    r.data.insert("checksum".into(), sha1_hex(&content).into());
    let md5: String = Md5::digest(&content)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    r.data.insert("md5sum".into(), md5.into());
    if !remote
        && ctx.diff
        && let Some(d) = content_diff(&o, &shown_src, Some(&content))
    {
        r.diff.push(d);
    }
    Ok(r)
}

#[cfg(test)]
mod tests;
