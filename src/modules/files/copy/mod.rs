//! `copy`: puts controller files, inline `content` or a host-side file (`remote_src`) at
//! `dest`, atomically and idempotently. A whole directory tree goes in the same single round
//! trip: every file rides on stdin and the shared writer splits it on the host.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use serde_json::Value;
use sha1::{Digest, Sha1};

use crate::modules::toolkit::atomic_write::{Content, DirSpec, FileAttrs, WriteOutcome, WriteSpec};
use crate::modules::toolkit::atomic_write::{add_outcome, content_diff, write_file, write_files};
use crate::modules::toolkit::mode::ModeSpec;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct Copy;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "copy",
    params: &[
        Param::new("src", T::Str),
        Param::new("content", T::Raw),
        Param::new("dest", T::Str).required(),
        Param::new("remote_src", T::Bool),
        Param::new("mode", T::Mode),
        Param::new("owner", T::Str),
        Param::new("group", T::Str),
        Param::new("backup", T::Bool),
        Param::new("force", T::Bool).aliases(&["thirsty"]),
        Param::new("validate", T::Str),
        Param::new("directory_mode", T::Mode),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["content", "src"]],
    required_one_of: &[],
    any_params: false,
};

impl Module for Copy {
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

/// Options shared by `copy` and `template`.
pub struct WriteOptions {
    pub dest: String,
    pub attrs: FileAttrs,
    pub validate: Option<String>,
    pub backup: bool,
    pub force: bool,
    pub directory_mode: Option<ModeSpec>,
}

impl WriteOptions {
    pub fn from_args(args: &Args) -> Result<Self, ModuleError> {
        let validate = args.str("validate");
        if let Some(v) = &validate
            && !v.contains("%s")
        {
            return Err(ModuleError::Args(format!("validate must contain %s: {v}")));
        }
        let directory_mode = match args.get("directory_mode") {
            Some(v) => Some(ModeSpec::parse(v).map_err(ModuleError::Args)?),
            None => None,
        };
        Ok(WriteOptions {
            dest: args.req_str("dest")?,
            attrs: FileAttrs::from_args(args)?,
            validate,
            backup: args.bool_or("backup", false)?,
            force: args.bool_or("force", true)?,
            directory_mode,
        })
    }

    pub fn spec(&self, dest: &str, name: Option<String>, content: Content) -> WriteSpec {
        WriteSpec {
            dest: dest.to_string(),
            name,
            content,
            attrs: self.attrs.clone(),
            validate: self.validate.clone(),
            backup: self.backup,
            force: self.force,
            directory_mode: self.directory_mode.clone(),
            parent_may_be_created: false,
        }
    }
}

pub fn sha1_hex(b: &[u8]) -> String {
    Sha1::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

/// The result of writing one file with known content: Ansible's keys plus the diff.
pub fn single_file_result(
    ctx: &ModuleCtx<'_>,
    o: WriteOutcome,
    src: &str,
    content: Option<&[u8]>,
) -> ModuleResult {
    if let Some(e) = o.error.clone() {
        return e.into_result();
    }
    let mut r = ModuleResult::changed(o.changed());
    add_outcome(&mut r, &o);
    r.data.insert("src".into(), src.into());
    if let Some(c) = content {
        r.data.insert("checksum".into(), sha1_hex(c).into());
    }
    if o.state == crate::modules::toolkit::atomic_write::WriteState::Skipped {
        r.msg = Some("file already exists".into());
    }
    if ctx.diff
        && let Some(d) = content_diff(&o, src, content)
    {
        r.diff.push(d);
    }
    r
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let opts = WriteOptions::from_args(args)?;
    if args.bool_or("remote_src", false)? {
        let src = args
            .str("src")
            .ok_or_else(|| ModuleError::Args("src (or content) is required".into()))?;
        let spec = opts.spec(
            &opts.dest,
            Some(basename(&src)),
            Content::Remote(src.clone()),
        );
        let o = write_file(ctx, &spec).await?;
        return Ok(single_file_result(ctx, o, &src, None));
    }
    if let Some(content) = args.get("content") {
        if opts.dest.ends_with('/') {
            return Err(ModuleError::Args(
                "can not use content with a dir as dest".into(),
            ));
        }
        let bytes = match content {
            Value::String(s) => s.clone().into_bytes(),
            // The action plugin writes `json.dumps(content)`: Python separators, ASCII only.
            v @ (Value::Array(_) | Value::Object(_)) => crate::values::python_json(v).into_bytes(),
            other => crate::values::to_str(other)
                .unwrap_or_default()
                .into_bytes(),
        };
        if opts.attrs.mode == Some(ModeSpec::Preserve) {
            return Err(ModuleError::Args(
                "mode=preserve is not supported with content".into(),
            ));
        }
        let spec = opts.spec(&opts.dest, None, Content::Bytes(bytes.clone()));
        let o = write_file(ctx, &spec).await?;
        return Ok(single_file_result(ctx, o, "(content)", Some(&bytes)));
    }
    let src = args
        .str("src")
        .ok_or_else(|| ModuleError::Args("src (or content) is required".into()))?;
    let local = ctx.search.find_local("files", &src)?;
    if local.is_dir() {
        return copy_tree(ctx, &opts, &src, &local).await;
    }
    let bytes = std::fs::read(&local)
        .map_err(|e| ModuleError::Args(format!("could not read {}: {e}", local.display())))?;
    let mut spec = opts.spec(
        &opts.dest,
        Some(basename(&src)),
        Content::Bytes(bytes.clone()),
    );
    if spec.attrs.mode == Some(ModeSpec::Preserve) {
        spec.attrs.mode = Some(ModeSpec::Octal(local_mode(&local)));
    }
    let o = write_file(ctx, &spec).await?;
    Ok(single_file_result(
        ctx,
        o,
        &local.display().to_string(),
        Some(&bytes),
    ))
}

fn basename(p: &str) -> String {
    Path::new(p.trim_end_matches('/'))
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn local_mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644)
}

/// Recursive copy: `src/` copies the directory's contents into `dest`, `src` copies the
/// directory itself (as `dest/<name>`), following rsync's and Ansible's convention.
async fn copy_tree(
    ctx: &ModuleCtx<'_>,
    opts: &WriteOptions,
    src: &str,
    local: &Path,
) -> Result<ModuleResult, ModuleError> {
    let dest = opts.dest.trim_end_matches('/');
    let dest = if dest.is_empty() { "/" } else { dest };
    let root = if src.ends_with('/') {
        dest.to_string()
    } else {
        format!("{}/{}", dest.trim_end_matches('/'), basename(src))
    };
    let mut dirs = vec![DirSpec {
        path: root.clone(),
        mode: opts.directory_mode.clone(),
    }];
    let mut files = Vec::new();
    let mut entries = Vec::new();
    walk(local, Path::new(""), &mut entries)
        .map_err(|e| ModuleError::Args(format!("could not read {}: {e}", local.display())))?;
    for (rel, is_dir) in entries {
        let remote = format!("{}/{}", root.trim_end_matches('/'), rel.display());
        if is_dir {
            dirs.push(DirSpec {
                path: remote,
                mode: opts.directory_mode.clone(),
            });
            continue;
        }
        let path = local.join(&rel);
        let bytes = std::fs::read(&path)
            .map_err(|e| ModuleError::Args(format!("could not read {}: {e}", path.display())))?;
        let mut spec = opts.spec(&remote, None, Content::Bytes(bytes));
        spec.parent_may_be_created = true;
        if spec.attrs.mode == Some(ModeSpec::Preserve) {
            spec.attrs.mode = Some(ModeSpec::Octal(local_mode(&path)));
        }
        files.push(spec);
    }
    let (outcomes, dir_results) = write_files(ctx, &dirs, &files).await?;
    let mut changed = false;
    for (d, res) in dirs.iter().zip(&dir_results) {
        match res {
            Err(e) => return Ok(ModuleResult::failed(e.clone()).with("dest", d.path.clone())),
            Ok(created) => changed |= created,
        }
    }
    let mut r = ModuleResult::ok();
    for (spec, o) in files.iter().zip(&outcomes) {
        if let Some(e) = &o.error {
            return Ok(e.clone().into_result().with("dest", o.dest.clone()));
        }
        changed |= o.changed();
        if ctx.diff
            && let Content::Bytes(b) = &spec.content
            && let Some(d) = content_diff(o, &o.dest, Some(b))
        {
            r.diff.push(d);
        }
    }
    r.changed = changed;
    r.data.insert(
        "dest".into(),
        format!("{}/", dest.trim_end_matches('/')).into(),
    );
    r.data
        .insert("src".into(), local.display().to_string().into());
    Ok(r)
}

/// Lists a local tree, parents before children, in a stable order.
fn walk(base: &Path, rel: &Path, out: &mut Vec<(PathBuf, bool)>) -> std::io::Result<()> {
    let mut names: Vec<_> = std::fs::read_dir(base.join(rel))?.collect::<Result<_, _>>()?;
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let r = rel.join(e.file_name());
        // Symlinks are followed, as with Ansible's default `local_follow: yes`.
        if std::fs::metadata(e.path())?.is_dir() {
            out.push((r.clone(), true));
            walk(base, &r, out)?;
        } else {
            out.push((r, false));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
