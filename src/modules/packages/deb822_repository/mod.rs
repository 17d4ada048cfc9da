//! `deb822_repository`: one `/etc/apt/sources.list.d/<slug>.sources` file in deb822 form, as
//! Ansible's module writes it (see `render`), with `signed_by` as Ansible reads it: a file on
//! the host is referenced by path, a URL is downloaded *on the host* into
//! `/etc/apt/keyrings/<slug>.asc` (armored) or `.gpg`, anything else (inline key, fingerprint)
//! goes into the file as written. The first round trip looks at `signed_by` on the host (and
//! brings a downloaded key back); the second writes the key and the sources file through the
//! toolkit's atomic writer, which compares content and mode and writes nothing in check mode.

pub mod render;

use futures::future::BoxFuture;
use serde_json::Value;

use self::render::{
    Field, KEYRINGS_DIR, has_scheme, render, signed_by_filename, slug, sources_filename,
};
use super::report::{CAPTURE, DOWNLOAD, HELPERS, Report};
use crate::modules::toolkit::atomic_write::{
    Content, DirSpec, FileAttrs, WriteSpec, parse_trailer, unhex, write_files,
};
use crate::modules::toolkit::mode::ModeSpec;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Deb822Repository;

const BOOLS: &[&str] = &[
    "allow_downgrade_to_insecure",
    "allow_insecure",
    "allow_weak",
    "by_hash",
    "check_date",
    "check_valid_until",
    "enabled",
    "pdiffs",
    "trusted",
];
const LISTS: &[&str] = &[
    "architectures",
    "components",
    "languages",
    "suites",
    "targets",
    "types",
    "uris",
];
const TEXTS: &[&str] = &["inrelease_path", "name"];

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "deb822_repository",
    params: &[
        Param::new("allow_downgrade_to_insecure", T::Bool),
        Param::new("allow_insecure", T::Bool),
        Param::new("allow_weak", T::Bool),
        Param::new("architectures", T::List),
        Param::new("by_hash", T::Bool),
        Param::new("check_date", T::Bool),
        Param::new("check_valid_until", T::Bool),
        Param::new("components", T::List),
        Param::new("date_max_future", T::Int),
        Param::new("enabled", T::Bool),
        Param::new("inrelease_path", T::Str),
        Param::new("languages", T::List),
        Param::new("name", T::Str).required(),
        Param::new("pdiffs", T::Bool),
        Param::new("signed_by", T::Str),
        Param::new("suites", T::List),
        Param::new("targets", T::List),
        Param::new("trusted", T::Bool),
        Param::new("types", T::List),
        Param::new("uris", T::List),
        Param::new("mode", T::Mode),
        Param::new("state", T::Str).choices(&["present", "absent"]),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Deb822Repository {
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

/// Ansible's `check_type_list`: a string is split at commas and *not* stripped, so
/// `main, contrib` is written `main  contrib`, as Ansible writes it.
fn python_list(args: &Args, name: &str) -> Result<Option<Vec<String>>, ModuleError> {
    match args.get(name) {
        Some(Value::String(s)) => Ok(Some(s.split(',').map(str::to_string).collect())),
        _ => args.str_list(name),
    }
}

/// The parameters as Ansible formats them, `types` defaulting to `deb`.
fn fields(args: &Args) -> Result<Vec<(&'static str, Field)>, ModuleError> {
    let mut out = Vec::new();
    for &p in BOOLS {
        if let Some(b) = args.bool(p)? {
            out.push((p, Field::Bool(b)));
        }
    }
    for &p in LISTS {
        match python_list(args, p)? {
            Some(l) => out.push((p, Field::List(l))),
            None if p == "types" => out.push((p, Field::List(vec!["deb".into()]))),
            None => {}
        }
    }
    if let Some(types) = out.iter().find_map(|(p, f)| match f {
        Field::List(l) if *p == "types" => Some(l),
        _ => None,
    }) && let Some(bad) = types.iter().find(|t| *t != "deb" && *t != "deb-src")
    {
        return Err(ModuleError::Args(format!(
            "value of types must be one or more of: deb, deb-src. Got no match for: {bad}"
        )));
    }
    for &p in TEXTS {
        if let Some(s) = args.str(p) {
            out.push((p, Field::Text(s)));
        }
    }
    if let Some(i) = args.int("date_max_future")? {
        out.push(("date_max_future", Field::Int(i)));
    }
    Ok(out)
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let name = args.req_str("name")?;
    let slug = slug(&name);
    let dest = sources_filename(&slug);
    let present = match args.str("state").as_deref().unwrap_or("present") {
        "present" => true,
        "absent" => false,
        s => {
            return Err(ModuleError::Args(format!(
                "value of state must be one of: present, absent, got: {s}"
            )));
        }
    };
    if !present {
        return absent(ctx, &slug, &dest).await;
    }
    let mode = match args.get("mode") {
        Some(v) => ModeSpec::parse(v).map_err(ModuleError::Args)?,
        None => ModeSpec::parse(&Value::from("0644")).map_err(ModuleError::Args)?,
    };
    let mut fields = fields(args)?;
    let mut key: Option<(String, Vec<u8>)> = None;
    let mut key_filename: Option<String> = None;
    if let Some(v) = args.str("signed_by") {
        let (value, file, write) = signed_by(ctx, &v, &slug)
            .await?
            .map_err(|m| ModuleError::Args(format!("Could not fetch signed_by key: {m}")))?;
        key_filename = file;
        key = write;
        fields.push(("signed_by", Field::Text(value)));
    }
    let repo = render(&fields);
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    if let Some((path, data)) = &key {
        dirs.push(DirSpec {
            path: KEYRINGS_DIR.into(),
            mode: Some(ModeSpec::parse(&Value::from("0755")).map_err(ModuleError::Args)?),
        });
        let mut w = WriteSpec::new(path.clone(), Content::Bytes(data.clone()));
        w.attrs = FileAttrs {
            mode: Some(ModeSpec::parse(&Value::from("0644")).map_err(ModuleError::Args)?),
            ..Default::default()
        };
        w.parent_may_be_created = true;
        files.push(w);
    }
    let mut w = WriteSpec::new(dest.clone(), Content::Bytes(repo.clone().into_bytes()));
    w.attrs = FileAttrs {
        mode: Some(mode),
        ..Default::default()
    };
    files.push(w);
    let (outcomes, dir_results) = write_files(ctx, &dirs, &files).await?;
    let mut changed = false;
    for d in dir_results {
        match d {
            Ok(created) => changed |= created,
            Err(e) => return Ok(ModuleResult::failed(e)),
        }
    }
    for o in outcomes {
        if let Some(e) = o.error {
            return Ok(e.into_result());
        }
        changed |= o.changed();
    }
    Ok(ModuleResult::changed(changed)
        .with("repo", repo)
        .with("dest", dest)
        .with(
            "key_filename",
            key_filename.map_or(Value::Null, Value::from),
        ))
}

/// What `signed_by` becomes: (the field's value, `key_filename`, a key file to write).
type SignedBy = (String, Option<String>, Option<(String, Vec<u8>)>);

/// Ansible's `write_signed_by_key`, with the file test and the download on the host.
async fn signed_by(
    ctx: &ModuleCtx<'_>,
    v: &str,
    slug: &str,
) -> Result<Result<SignedBy, String>, ModuleError> {
    let url = has_scheme(v);
    let mut s = format!(
        "export LANG=C LC_ALL=C\n{HELPERS}{CAPTURE}{DOWNLOAD}\
         if [ -f {q} ]; then __sx isfile 1; exit 0; fi\n",
        q = sh_quote(v)
    );
    if url {
        s.push_str(&format!(
            "__kf=$(mktemp) || exit 1; trap 'rm -f -- \"$__ef\" \"$__kf\"' EXIT\n\
             __dl {} 0 \"$__kf\" || {{ __sx dl_rc $?; exit 0; }}\n\
             __sx dl_rc 0; printf '__strata_dl_data='; od -An -v -tx1 < \"$__kf\" | tr -d ' \\n'; echo\n",
            sh_quote(v)
        ));
    }
    let out = ctx.run(&s, None).await?;
    let rep = Report::parse(&out);
    if rep.has("isfile") {
        return Ok(Ok((v.to_string(), Some(v.to_string()), None)));
    }
    if !url {
        return Ok(Ok((v.to_string(), None, None)));
    }
    let code = rep.text("dl_code");
    if rep.rc("dl_rc") != Some(0) || code.trim() != "200" {
        return Ok(Err(match code.trim().parse::<u16>() {
            Ok(c) if c >= 400 => format!("HTTP Error {c}: {}", super::report::http_reason(c)),
            _ => format!("<urlopen error {}>", rep.text("dl_err").trim()),
        }));
    }
    let raw = parse_trailer(out.stdout_str().as_bytes())
        .remove("dl_data")
        .unwrap_or_default();
    let data = unhex(&raw).unwrap_or_default();
    if data.is_empty() {
        return Ok(Ok((v.to_string(), Some(v.to_string()), None)));
    }
    let armored = data
        .windows(36)
        .any(|w| w == b"-----BEGIN PGP PUBLIC KEY BLOCK-----");
    let path = signed_by_filename(slug, if armored { "asc" } else { "gpg" });
    Ok(Ok((path.clone(), Some(path.clone()), Some((path, data)))))
}

/// `state: absent`: the sources file and both possible key files go.
async fn absent(ctx: &ModuleCtx<'_>, slug: &str, dest: &str) -> Result<ModuleResult, ModuleError> {
    let paths = [
        dest.to_string(),
        signed_by_filename(slug, "asc"),
        signed_by_filename(slug, "gpg"),
    ];
    let mut s = HELPERS.to_string();
    for (i, p) in paths.iter().enumerate() {
        let q = sh_quote(p);
        s.push_str(&format!(
            "if [ -e {q} ] || [ -L {q} ]; then __sx e{i} 1; {rm}fi\n",
            rm = if ctx.check_mode {
                String::new()
            } else {
                format!(
                    "rm -f -- {q} 2>/dev/null || {{ __sx err \"could not remove {p}\"; exit 0; }}; "
                )
            }
        ));
    }
    let out = ctx.run(&s, None).await?;
    let rep = Report::parse(&out);
    if rep.has("err") {
        return Ok(ModuleResult::failed(rep.text("err")));
    }
    let changed = (0..paths.len()).any(|i| rep.has(&format!("e{i}")));
    Ok(ModuleResult::changed(changed)
        .with("repo", Value::Null)
        .with("dest", dest)
        .with("key_filename", paths[2].clone()))
}

#[cfg(test)]
mod tests;
