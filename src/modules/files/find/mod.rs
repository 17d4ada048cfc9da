//! `find`: files below `paths` selected by name (fnmatch or Python regex), age, size, mode,
//! type and content, with `stat`'s keys per file. The host lists each tree once (`find` and
//! `stat`, see `tree.rs`); the selection is a port of Ansible's, run here over that listing in
//! `os.walk` order, so `files`, `limit` and `examined` come out as Ansible's. Content
//! (`contains`) and checksums need the files themselves: a second round trip reads just the
//! candidates.

mod select;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::tree::{self, Tree};
use crate::modules::toolkit::sh_words::ShWords;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;
use select::{Fetched, Options};

pub struct Find;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "find",
    params: &[
        Param::new("paths", T::List)
            .required()
            .aliases(&["name", "path"]),
        Param::new("patterns", T::List).aliases(&["pattern"]),
        Param::new("excludes", T::List).aliases(&["exclude"]),
        Param::new("contains", T::Str),
        Param::new("read_whole_file", T::Bool),
        Param::new("file_type", T::Str).choices(&["any", "directory", "file", "link"]),
        Param::new("age", T::Str),
        Param::new("age_stamp", T::Str).choices(&["atime", "ctime", "mtime"]),
        Param::new("size", T::Str),
        Param::new("recurse", T::Bool),
        Param::new("hidden", T::Bool),
        Param::new("follow", T::Bool),
        Param::new("get_checksum", T::Bool),
        Param::new("checksum_algorithm", T::Str)
            .aliases(&["checksum", "checksum_algo"])
            .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
        Param::new("use_regex", T::Bool),
        Param::new("depth", T::Int),
        Param::new("mode", T::Raw),
        Param::new("exact_mode", T::Bool),
        Param::new("encoding", T::Str),
        Param::new("limit", T::Int),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Find {
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

/// The first of a parameter's names that is set.
fn first<'a>(args: &'a Args, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| args.get(n))
}

fn str_list(args: &Args, names: &[&str]) -> Result<Option<Vec<String>>, ModuleError> {
    match names.iter().find(|n| args.has(n)) {
        Some(n) => args.str_list(n),
        None => Ok(None),
    }
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let paths = str_list(args, &["paths", "name", "path"])?.unwrap_or_default();
    if paths.is_empty() {
        return Err(ModuleError::Args(
            "missing required arguments: paths".into(),
        ));
    }
    let opts = match Options::from_args(args, first(args, &["mode"]))? {
        Ok(o) => o,
        Err(failure) => return Ok(failure),
    };
    // One listing per path; `paths` are `type='path'`: `~` and `$VARS` expand on the host.
    let mut words = ShWords::default();
    let mut body = String::new();
    let max_depth = match (opts.recurse, opts.depth) {
        (false, _) => Some(1),
        (true, Some(d)) if d > 0 => Some(d as u32 + 1),
        _ => None,
    };
    for p in &paths {
        let w = words.word(p, true, false);
        body.push_str(&format!("__p={w}\nprintf 'P\\0%s\\0' \"$__p\"\n"));
        body.push_str(&tree::list_snippet("\"$__p\"", opts.follow, max_depth));
    }
    let script = format!(
        "exec 3>&1\nprintf '%s\\0%s\\0' \"$(date +%s.%N)\" \"$(umask)\"\n{}{body}",
        words.setup()
    );
    let out = ctx.run(&script, None).await?;
    let (now, umask, roots) = match parse_listing(&out.stdout) {
        Ok(v) => v,
        Err(e) => {
            let mut r = ModuleResult::failed(e);
            if !out.stderr.is_empty() {
                r = r.with("stderr", out.stderr_str().trim_end().to_string());
            }
            return Ok(r);
        }
    };
    let opts = opts.with_host(now, umask)?;
    // Files whose content or checksum the selection needs, read in one more round trip.
    let wanted = select::wanted(&opts, &roots);
    let fetched = if wanted.is_empty() {
        Fetched::default()
    } else {
        fetch(ctx, &opts, &wanted).await?
    };
    Ok(select::run(&opts, &roots, &fetched))
}

/// The host's clock, umask, and each given path with its listing (`None`: not a directory).
type Listing = (f64, u32, Vec<(String, Option<Tree>)>);

fn parse_listing(out: &[u8]) -> Result<Listing, String> {
    let bad = || "unexpected output from the host".to_string();
    let mut it = out.splitn(3, |b| *b == 0);
    let (Some(now), Some(umask), Some(mut rest)) = (it.next(), it.next(), it.next()) else {
        return Err(bad());
    };
    let now: f64 = String::from_utf8_lossy(now)
        .trim()
        .parse()
        .map_err(|_| bad())?;
    let umask = u32::from_str_radix(String::from_utf8_lossy(umask).trim(), 8).unwrap_or(0o022);
    let mut roots = Vec::new();
    while let Some(r) = rest.strip_prefix(b"P\0") {
        let e = r.iter().position(|b| *b == 0).ok_or_else(bad)?;
        let path = String::from_utf8_lossy(&r[..e]).into_owned();
        let (t, r) = tree::parse(&r[e + 1..])?;
        roots.push((path, t));
        rest = r;
    }
    Ok((now, umask, roots))
}

/// Reads the wanted files: content (for `contains`) and the checksum (for `get_checksum`).
async fn fetch(
    ctx: &ModuleCtx<'_>,
    opts: &Options,
    wanted: &[(String, bool, bool)],
) -> Result<Fetched, ModuleError> {
    let mut s = String::new();
    for (i, (path, content, sum)) in wanted.iter().enumerate() {
        s.push_str(&format!("f={}\n", sh_quote(path)));
        if *sum {
            s.push_str(&format!(
                "if [ -r \"$f\" ]; then printf '__strata_s{i}=%s\\n' \"$({}sum < \"$f\" | cut -d' ' -f1)\"; fi\n",
                opts.checksum_algorithm
            ));
        }
        if *content {
            s.push_str(&format!(
                "if [ -r \"$f\" ] && __n=$(wc -c < \"$f\"); then printf '__strata_c{i}=%s\\n' $__n; cat -- \"$f\"; fi\n"
            ));
        }
    }
    let out = ctx.run(&s, None).await?;
    Ok(Fetched::parse(&out.stdout, wanted))
}

/// `statinfo` of Ansible's `find`, after `path`.
pub(crate) fn file_entry(e: &tree::Entry, path: &str) -> Map<String, Value> {
    let st = &e.stat;
    let m = st.mode;
    let name = |s: &str| {
        if s == "UNKNOWN" {
            String::new()
        } else {
            s.to_string()
        }
    };
    let mut r = Map::new();
    r.insert("path".into(), path.into());
    r.insert("mode".into(), format!("{:04o}", m & 0o7777).into());
    use crate::modules::toolkit::remote_stat::FileKind as K;
    for (k, kind) in [
        ("isdir", K::Dir),
        ("ischr", K::Char),
        ("isblk", K::Block),
        ("isreg", K::File),
        ("isfifo", K::Fifo),
        ("islnk", K::Link),
        ("issock", K::Socket),
    ] {
        r.insert(k.into(), (st.kind == kind).into());
    }
    r.insert("uid".into(), st.uid.into());
    r.insert("gid".into(), st.gid.into());
    r.insert("size".into(), st.size.into());
    r.insert("inode".into(), st.inode.into());
    r.insert("dev".into(), st.dev.into());
    r.insert("nlink".into(), st.nlink.into());
    r.insert("atime".into(), e.atime.into());
    r.insert("mtime".into(), e.mtime.into());
    r.insert("ctime".into(), e.ctime.into());
    r.insert("gr_name".into(), name(&st.group).into());
    r.insert("pw_name".into(), name(&st.owner).into());
    for &(k, b) in super::stat::MODE_BITS {
        r.insert(k.into(), (m & b != 0).into());
    }
    r
}

#[cfg(test)]
mod tests;
