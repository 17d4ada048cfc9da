//! `fetch`: copies a file from the host to the controller, under `dest/<host>/<path>` (or
//! exactly `dest` with `flat`). One round trip returns the content and the host's own SHA-1,
//! so the transfer is verified end to end; an identical local copy is left untouched.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::copy::sha1_hex;
use crate::modules::toolkit::remote_stat::{ReadError, read_file};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct Fetch;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "fetch",
    params: &[
        Param::new("src", T::Str).required(),
        Param::new("dest", T::Str).required(),
        Param::new("flat", T::Bool),
        Param::new("fail_on_missing", T::Bool),
        Param::new("validate_checksum", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Fetch {
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

/// Lexical normalisation (`os.path.normpath`): drops `.`, empty parts and resolves `..`.
fn normpath(p: &str) -> PathBuf {
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            x => parts.push(x),
        }
    }
    let joined = parts.join("/");
    PathBuf::from(if p.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    })
}

/// Where the file lands on the controller, as Ansible's fetch action computes it.
fn local_dest(ctx: &ModuleCtx<'_>, src: &str, dest: &str, flat: bool) -> Result<PathBuf, String> {
    let base = ctx
        .search
        .roots
        .last()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let dwim = |d: &str| {
        if d.starts_with('/') {
            d.to_string()
        } else {
            base.join(d).display().to_string()
        }
    };
    if flat {
        if Path::new(&dwim(dest)).is_dir() && !dest.ends_with('/') {
            return Err("dest is an existing directory, use a trailing slash if you want to fetch src into that directory".into());
        }
        let d = if dest.ends_with('/') {
            format!("{dest}{}", src.rsplit('/').next().unwrap_or(src))
        } else {
            dest.to_string()
        };
        return Ok(normpath(&dwim(&d)));
    }
    Ok(normpath(&format!("{}/{}/{}", dwim(dest), ctx.host, src)))
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let src = args.req_str("src")?;
    let dest = args.req_str("dest")?;
    let flat = args.bool_or("flat", false)?;
    let fail_on_missing = args.bool_or("fail_on_missing", true)?;
    let validate = args.bool_or("validate_checksum", true)?;
    let problem = match read_file(ctx, &src, true).await? {
        Ok(f) if f.stat.is_some() => Ok(f),
        Ok(_) => Err("the remote file does not exist"),
        Err(ReadError::IsDir) => {
            Err("remote file is a directory, fetch cannot work on directories")
        }
        Err(ReadError::Unreadable) => Err("no read permission on remote file"),
        Err(ReadError::Other(_)) => Err("unable to calculate the checksum of the remote file"),
    };
    let file = match problem {
        Ok(f) => f,
        Err(msg) if fail_on_missing => return Ok(ModuleResult::failed(msg).with("file", src)),
        Err(msg) => {
            return Ok(ModuleResult::ok()
                .msg(format!("{msg}, not transferring, ignored"))
                .with("file", src));
        }
    };
    let local = match local_dest(ctx, &src, &dest, flat) {
        Ok(p) => p,
        Err(msg) => return Ok(ModuleResult::failed(msg)),
    };
    let checksum = sha1_hex(&file.content);
    let remote_checksum = file.sha1.clone().unwrap_or_else(|| checksum.clone());
    if validate && remote_checksum != checksum {
        return Ok(ModuleResult::failed("checksum mismatch")
            .with("file", src)
            .with("dest", local.display().to_string()));
    }
    let existing = std::fs::read(&local).ok().map(|b| sha1_hex(&b));
    let changed = existing.as_deref() != Some(checksum.as_str());
    if changed && !ctx.check_mode {
        write_local(&local, &file.content)
            .map_err(|e| ModuleError::Args(format!("could not write {}: {e}", local.display())))?;
    }
    let mut r = ModuleResult::changed(changed)
        .with("file", src)
        .with("dest", local.display().to_string())
        .with("checksum", checksum)
        .with("remote_checksum", remote_checksum);
    r.data
        .insert("remote_md5sum".into(), serde_json::Value::Null);
    Ok(r)
}

/// Writes atomically on the controller too: temp file in the same directory, then rename.
fn write_local(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".strata.{:016x}.tmp", rand::random::<u64>()));
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Fetch, normpath};
    use crate::modules::harness::{Run, Scratch, read, run_module};

    #[tokio::test]
    async fn fetches_per_host_and_flat() {
        let remote = Scratch::new("fetchr");
        let local = Scratch::new("fetchl");
        std::fs::write(remote.path("app.log"), "line\n").unwrap();
        let src = remote.s("app.log");
        let run = || Run {
            roots: vec![local.0.clone()],
            host: "web1",
            ..Default::default()
        };
        let r = run_module(&Fetch, json!({"src": src, "dest": "out"}), run()).await;
        assert!(r.changed && !r.failed, "{r:?}");
        let want = local.path(&format!("out/web1{src}"));
        assert_eq!(read(&want), "line\n");
        assert_eq!(r.data["dest"], want.display().to_string().as_str());
        assert_eq!(r.data["checksum"], r.data["remote_checksum"]);
        let r = run_module(&Fetch, json!({"src": src, "dest": "out"}), run()).await;
        assert!(!r.changed && !r.failed, "{r:?}");

        let r = run_module(
            &Fetch,
            json!({"src": src, "dest": "flat/", "flat": true}),
            run(),
        )
        .await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(read(&local.path("flat/app.log")), "line\n");
        let r = run_module(
            &Fetch,
            json!({"src": src, "dest": "flat", "flat": true}),
            run(),
        )
        .await;
        assert!(r.failed && r.msg.unwrap().starts_with("dest is an existing directory"));

        let r = run_module(
            &Fetch,
            json!({"src": remote.s("nope"), "dest": "out"}),
            run(),
        )
        .await;
        assert_eq!(
            (r.failed, r.msg.as_deref()),
            (true, Some("the remote file does not exist"))
        );
        let r = run_module(
            &Fetch,
            json!({"src": remote.s("nope"), "dest": "out", "fail_on_missing": false}),
            run(),
        )
        .await;
        assert!(!r.failed && !r.changed);
        assert_eq!(
            r.msg.as_deref(),
            Some("the remote file does not exist, not transferring, ignored")
        );

        let r = run_module(
            &Fetch,
            json!({"src": src, "dest": "chk"}),
            Run {
                check: true,
                ..run()
            },
        )
        .await;
        assert!(r.changed && !local.path("chk").exists());
    }

    #[test]
    fn normalises_paths() {
        assert_eq!(normpath("/a/b//./c/../d").display().to_string(), "/a/b/d");
        assert_eq!(
            normpath("out/h//etc/x").display().to_string(),
            "out/h/etc/x"
        );
    }
}
