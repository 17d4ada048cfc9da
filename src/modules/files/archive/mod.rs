//! `archive` (community.general.archive): tar (plain, gz, bz2, xz) or zip archives of files and
//! trees, or one compressed file, made with the host's `tar`, `gzip`/`bzip2`/`xz` and `zip`.
//! A first round trip expands the globs and lists the trees (`tree.rs`); the entries, their
//! archive names, `exclusion_patterns` and the `archived` list are the collection's decisions,
//! ported here in `os.walk` order. The second round trip writes the archive from that explicit
//! list (`--no-recursion`), and `changed` compares the archive before and after as the
//! collection does: its members' headers (`tar -tv`: name, mode, owner, size, mtime) or, for
//! zip, names and CRCs; a compressed single file by the CRC of its content.

mod plan;

use futures::future::BoxFuture;
use serde_json::Value;

use super::tree::{self, Tree};
use crate::modules::toolkit::atomic_write::{FileAttrs, parse_trailer};
use crate::modules::toolkit::fs_attrs;
use crate::modules::toolkit::remote_stat::{StatInfo, stat_snippet};
use crate::modules::toolkit::sh_words::ShWords;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;
use plan::{Plan, Probe, Source};

pub struct Archive;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "archive",
    params: &[
        Param::new("path", T::List).required(),
        Param::new("format", T::Str).choices(&["bz2", "gz", "tar", "xz", "zip"]),
        Param::new("dest", T::Str),
        Param::new("exclude_path", T::List),
        Param::new("exclusion_patterns", T::List),
        Param::new("force_archive", T::Bool),
        Param::new("remove", T::Bool),
        Param::new("mode", T::Mode),
        Param::new("owner", T::Str),
        Param::new("group", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Archive {
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

/// Python's `b'*' in path or b'?' in path`: only those make a path a glob here.
fn globby(p: &str) -> bool {
    p.contains('*') || p.contains('?')
}

/// The probe: every path expanded (`E`) with whether it exists and, for a directory, its
/// listing; every exclude path expanded (`Z`).
fn probe_script(paths: &[String], excludes: &[String]) -> String {
    let mut w = ShWords::default();
    let mut body = String::new();
    for p in paths {
        let word = w.word(p, true, globby(p));
        if globby(p) {
            body.push_str(&format!(
                "for __f in {word}; do if [ -e \"$__f\" ] || [ -L \"$__f\" ]; then __one \"$__f\"; fi; done\n"
            ));
        } else {
            body.push_str(&format!("__one {word}\n"));
        }
    }
    for p in excludes {
        let word = w.word(p, true, globby(p));
        if globby(p) {
            body.push_str(&format!(
                "for __f in {word}; do if [ -e \"$__f\" ] || [ -L \"$__f\" ]; then printf 'Z\\0%s\\0' \"$__f\"; fi; done\n"
            ));
        } else {
            body.push_str(&format!("printf 'Z\\0%s\\0' {word}\n"));
        }
    }
    format!(
        "exec 3>&1\n__one() {{ printf 'E\\0%s\\0' \"$1\"\n\
         if [ -e \"$1\" ] || [ -L \"$1\" ]; then if [ -d \"$1\" ]; then printf 'd\\0'\n{list}\
         else printf 'f\\0'; fi; else printf 'n\\0'; fi; }}\n{setup}{body}",
        list = tree::list_snippet("\"$1\"", false, None),
        setup = w.setup(),
    )
}

fn parse_probe(out: &[u8]) -> Result<Probe, String> {
    let bad = || "unexpected output from the host".to_string();
    let mut p = Probe::default();
    let mut rest = out;
    let field = |r: &[u8]| -> Option<(String, usize)> {
        let e = r.iter().position(|b| *b == 0)?;
        Some((String::from_utf8_lossy(&r[..e]).into_owned(), e + 1))
    };
    while !rest.is_empty() {
        let kind = rest[0];
        let (path, n) = field(&rest[2..]).ok_or_else(bad)?;
        rest = &rest[2 + n..];
        if kind == b'Z' {
            p.excludes.push(path);
            continue;
        }
        let state = rest.first().copied().ok_or_else(bad)?;
        rest = &rest[2..];
        let src = match state {
            b'n' => Source::Missing,
            b'f' => Source::File,
            _ => {
                let (t, r) = tree::parse(rest)?;
                rest = r;
                Source::Dir(t.unwrap_or_else(Tree::default))
            }
        };
        p.expanded.push((path, src));
    }
    Ok(p)
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let paths = args.str_list("path")?.unwrap_or_default();
    let excludes = args.str_list("exclude_path")?.unwrap_or_default();
    let out = ctx.run(&probe_script(&paths, &excludes), None).await?;
    let probe = match parse_probe(&out.stdout) {
        Ok(p) => p,
        Err(e) => return Ok(ModuleResult::failed(e)),
    };
    let plan = match Plan::new(args, &paths, probe)? {
        Ok(p) => p.in_check_mode(ctx.check_mode),
        Err(failure) => return Ok(failure),
    };
    let attrs = FileAttrs::from_args(args)?;
    let script = action_script(&plan, &attrs, ctx.check_mode);
    let names: Vec<u8> = plan
        .entries
        .iter()
        .flat_map(|e| {
            e.name
                .bytes()
                .chain([if plan.format == "zip" { b'\n' } else { 0 }])
        })
        .collect();
    let out = ctx.run(&script, Some(&names)).await?;
    let k = parse_trailer(&out.stdout);
    if let Some(e) = k.get("err") {
        return Ok(ModuleResult::failed(e.clone()));
    }
    Ok(plan.result(&k))
}

/// The archive's signature for `changed`, as [`plan`] describes; empty for no archive.
fn sig_fn(format: &str) -> String {
    let decomp = match format {
        "bz2" => "bzip2 -dc",
        "xz" => "xz -dc",
        "gz" => "gzip -dc",
        _ => "false",
    };
    let body = if format == "zip" {
        "unzip -lv \"$d\" 2>/dev/null | awk 'NR > 3 { print $7, $8 }'".to_string()
    } else {
        format!(
            "tar -tv --full-time --numeric-owner -f \"$d\" 2>/dev/null || {decomp} < \"$d\" 2>/dev/null | cksum"
        )
    };
    format!(
        "__sig() {{ if [ -e \"$d\" ] && [ -r \"$d\" ]; then {{ {body}; }} | cksum; stat -c %s -- \"$d\"; \
         else echo none; if [ -e \"$d\" ]; then stat -c %s -- \"$d\"; else echo 0; fi; fi | tr '\\n' ' '; }}\n"
    )
}

/// Creates the archive (stdin holds the entry names), compares, removes sources, fixes
/// attributes; in check mode only the attributes are compared.
fn action_script(plan: &Plan, attrs: &FileAttrs, check: bool) -> String {
    let d = sh_quote(&plan.dest);
    let mut s = format!(
        "d={d}\n{sig}{fa}__fa_C={c}\n",
        sig = sig_fn(&plan.format),
        fa = fs_attrs::SCRIPT,
        c = if check { 1 } else { 0 },
    );
    s.push_str("[ -e \"$d\" ] && echo __strata_existed=1\n");
    if !check && plan.act {
        s.push_str("printf '__strata_before=%s\\n' \"$(__sig)\"\n");
        s.push_str(&plan.create_cmd());
        s.push_str("printf '__strata_after=%s\\n' \"$(__sig)\"\n");
        if plan.remove {
            for p in plan.removals() {
                s.push_str(&format!(
                    "if [ -e {q} ] || [ -L {q} ]; then rm -rf -- {q} 2>/dev/null || printf '__strata_rmerr=%s\\n' {q}; fi\n",
                    q = sh_quote(&p)
                ));
            }
        }
    }
    if !attrs.is_empty() {
        s.push_str(&format!(
            "if [ -e \"$d\" ]; then __fa \"$d\" {} || {{ printf '__strata_err=%s\\n' \"$__fa_err\"; exit 0; }}; \
             [ \"$__fa_changed\" = 1 ] && echo __strata_attrs=1; fi\n",
            fs_attrs::call_args(attrs)
        ));
    }
    s.push_str(&stat_snippet("st", "\"$d\"", false));
    s
}

/// `add_path_info` keys for the archive, when it exists.
fn path_info(
    k: &std::collections::HashMap<String, String>,
) -> Option<serde_json::Map<String, Value>> {
    k.get("st")
        .and_then(|l| StatInfo::parse(l))
        .map(|s| s.path_info())
}

#[cfg(test)]
mod tests;
