//! `stat`: a path's metadata with Ansible's keys, checksum, MIME type and file attributes,
//! gathered by one read-only script.

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::modules::toolkit::atomic_write::parse_trailer;
use crate::modules::toolkit::mode::mode_string;
use crate::modules::toolkit::remote_stat::{FileKind, stat_snippet};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

/// The permission flags of a stat result (`wusr`, `isuid`...), Ansible's keys with their mode
/// bits; `find`'s file entries carry them too.
pub const MODE_BITS: &[(&str, u32)] = &[
    ("wusr", 0o200),
    ("rusr", 0o400),
    ("xusr", 0o100),
    ("wgrp", 0o020),
    ("rgrp", 0o040),
    ("xgrp", 0o010),
    ("woth", 0o002),
    ("roth", 0o004),
    ("xoth", 0o001),
    ("isuid", 0o4000),
    ("isgid", 0o2000),
];

pub struct Stat;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "stat",
    params: &[
        Param::new("path", T::Str)
            .required()
            .aliases(&["dest", "name"]),
        Param::new("follow", T::Bool),
        Param::new("get_checksum", T::Bool),
        Param::new("checksum_algorithm", T::Str)
            .aliases(&["checksum", "checksum_algo"])
            .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
        Param::new("get_mime", T::Bool).aliases(&["mime", "mime_type", "mime-type"]),
        Param::new("get_attributes", T::Bool).aliases(&["attr", "attributes"]),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Stat {
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

/// `lsattr` letters and Ansible's names for them.
const ATTR_NAMES: &[(char, &str)] = &[
    ('A', "noatime"),
    ('a', "append"),
    ('c', "compressed"),
    ('C', "nocow"),
    ('d', "nodump"),
    ('D', "dirsync"),
    ('e', "extents"),
    ('E', "encrypted"),
    ('h', "blocksize"),
    ('i', "immutable"),
    ('I', "indexed"),
    ('j', "journalled"),
    ('N', "inline"),
    ('s', "zero"),
    ('S', "synchronous"),
    ('t', "notail"),
    ('T', "blockroot"),
    ('u', "undelete"),
    ('X', "compressedraw"),
    ('Z', "compresseddirty"),
];

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let path = args
        .str("path")
        .or_else(|| args.str("dest"))
        .or_else(|| args.str("name"))
        .ok_or_else(|| ModuleError::Args("missing required arguments: path".into()))?;
    let follow = args.bool_or("follow", false)?;
    let algo = args
        .str("checksum_algorithm")
        .or_else(|| args.str("checksum"))
        .or_else(|| args.str("checksum_algo"))
        .unwrap_or_else(|| "sha1".into());
    if !["md5", "sha1", "sha224", "sha256", "sha384", "sha512"].contains(&algo.as_str()) {
        return Err(ModuleError::Args(format!(
            "value of checksum_algorithm must be one of: md5, sha1, sha224, sha256, sha384, sha512, got: {algo}"
        )));
    }
    let get_checksum = args.bool_or("get_checksum", true)?;
    let get_mime = args.bool_or("get_mime", true)?;
    let get_attrs = args.bool_or("get_attributes", true)?;
    // A regular file (after `follow`) that we can read gets a checksum, as in Ansible.
    let isreg = if follow {
        "[ -f \"$p\" ]"
    } else {
        "[ -f \"$p\" ] && [ ! -L \"$p\" ]"
    };
    let mut s = format!("p={}\n", sh_quote(&path));
    s.push_str(&stat_snippet("s", "\"$p\"", follow));
    s.push_str("if [ -L \"$p\" ]; then printf '__strata_lt=%s\\n' \"$(readlink -- \"$p\")\"; printf '__strata_ls=%s\\n' \"$(readlink -f -- \"$p\")\"; fi\n");
    s.push_str("[ -r \"$p\" ] && echo __strata_r=1; [ -w \"$p\" ] && echo __strata_w=1; [ -x \"$p\" ] && echo __strata_x=1\n");
    if get_checksum {
        s.push_str(&format!(
            "if {isreg} && [ -r \"$p\" ]; then printf '__strata_ck=%s\\n' \"$({algo}sum < \"$p\" | cut -d' ' -f1)\"; fi\n"
        ));
    }
    if get_mime {
        s.push_str(
            "if [ -e \"$p\" ] && command -v file >/dev/null 2>&1; then \
             printf '__strata_mime=%s\\n' \"$(file -b --mime-type -- \"$p\")\"; \
             printf '__strata_cs=%s\\n' \"$(file -b --mime-encoding -- \"$p\")\"; fi\n",
        );
    }
    if get_attrs {
        s.push_str(
            "if [ -e \"$p\" ] && command -v lsattr >/dev/null 2>&1; then \
             __v=$(lsattr -d -- \"$p\" 2>/dev/null) && printf '__strata_attr=%s\\n' \"${__v%% *}\"; fi\n",
        );
    }
    let out = ctx.run(&s, None).await?;
    let k = parse_trailer(&out.stdout);
    let mut st = Map::new();
    let Some(info) = k
        .get("s")
        .and_then(|v| crate::modules::toolkit::remote_stat::StatInfo::parse(v))
    else {
        if out.rc != 0 {
            return Ok(ModuleResult::failed(out.stderr_str().trim().to_string()));
        }
        st.insert("exists".into(), false.into());
        return Ok(ModuleResult::ok().with("stat", Value::Object(st)));
    };
    let m = info.mode;
    let bit = |b: u32| Value::Bool(m & b != 0);
    let set = |st: &mut Map<String, Value>, k: &str, v: Value| {
        st.insert(k.into(), v);
    };
    set(&mut st, "exists", true.into());
    set(&mut st, "path", path.clone().into());
    set(&mut st, "mode", mode_string(m).into());
    for (key, kind) in [
        ("isdir", FileKind::Dir),
        ("ischr", FileKind::Char),
        ("isblk", FileKind::Block),
        ("isreg", FileKind::File),
        ("isfifo", FileKind::Fifo),
        ("islnk", FileKind::Link),
        ("issock", FileKind::Socket),
    ] {
        set(&mut st, key, (info.kind == kind).into());
    }
    set(&mut st, "uid", info.uid.into());
    set(&mut st, "gid", info.gid.into());
    set(&mut st, "size", info.size.into());
    set(&mut st, "inode", info.inode.into());
    set(&mut st, "dev", info.dev.into());
    set(&mut st, "nlink", info.nlink.into());
    set(&mut st, "atime", info.atime.into());
    set(&mut st, "mtime", info.mtime.into());
    set(&mut st, "ctime", info.ctime.into());
    for &(key, b) in MODE_BITS {
        set(&mut st, key, bit(b));
    }
    set(&mut st, "blocks", info.blocks.into());
    set(&mut st, "block_size", info.block_size.into());
    let rdev =
        (info.rdev_minor & 0xff) | (info.rdev_major << 8) | ((info.rdev_minor & !0xff) << 12);
    set(&mut st, "device_type", rdev.into());
    set(&mut st, "readable", k.contains_key("r").into());
    set(&mut st, "writeable", k.contains_key("w").into());
    set(&mut st, "executable", k.contains_key("x").into());
    set(&mut st, "pw_name", info.owner.clone().into());
    set(&mut st, "gr_name", info.group.clone().into());
    if info.kind == FileKind::Link || (follow && k.contains_key("lt")) {
        set(
            &mut st,
            "lnk_source",
            k.get("ls").cloned().unwrap_or_default().into(),
        );
        set(
            &mut st,
            "lnk_target",
            k.get("lt").cloned().unwrap_or_default().into(),
        );
    }
    if let Some(ck) = k.get("ck") {
        set(&mut st, "checksum", ck.clone().into());
    }
    if let Some(mime) = k.get("mime") {
        set(&mut st, "mimetype", mime.clone().into());
        set(
            &mut st,
            "charset",
            k.get("cs").cloned().unwrap_or_default().into(),
        );
    }
    if let Some(flags) = k.get("attr") {
        let names: Vec<Value> = ATTR_NAMES
            .iter()
            .filter(|(c, _)| flags.contains(*c))
            .map(|(_, n)| Value::from(*n))
            .collect();
        let letters: String = flags.chars().filter(|c| *c != '-').collect();
        set(&mut st, "attr_flags", letters.into());
        set(&mut st, "attributes", Value::Array(names));
    }
    Ok(ModuleResult::ok().with("stat", Value::Object(st)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Stat;
    use crate::modules::harness::{Run, Scratch, run_module};

    #[tokio::test]
    async fn reports_files_links_and_missing() {
        let d = Scratch::new("stat");
        std::fs::write(d.path("f"), "hello\n").unwrap();
        std::os::unix::fs::symlink("f", d.path("l")).unwrap();
        let r = run_module(&Stat, json!({"path": d.s("f")}), Run::default()).await;
        assert!(!r.changed && !r.failed, "{r:?}");
        let s = &r.data["stat"];
        assert_eq!(s["exists"], true);
        assert_eq!(s["isreg"], true);
        assert_eq!(s["size"], 6);
        assert_eq!(s["checksum"], "f572d396fae9206628714fb2ce00f72e94f2258f");
        assert_eq!(s["mode"], "0644");
        assert_eq!(s["path"], d.s("f").as_str());
        assert!(s["mtime"].as_f64().unwrap() > 1e9);
        assert!(s["pw_name"].is_string() && s["readable"] == true);

        let r = run_module(
            &Stat,
            json!({"path": d.s("l"), "checksum_algorithm": "sha256"}),
            Run::default(),
        )
        .await;
        let s = &r.data["stat"];
        assert_eq!(
            (s["islnk"].as_bool(), s["isreg"].as_bool()),
            (Some(true), Some(false))
        );
        assert_eq!(s["lnk_target"], "f");
        assert_eq!(s["lnk_source"], d.s("f").as_str());
        assert!(
            s.get("checksum").is_none(),
            "links are not checksummed without follow"
        );
        let r = run_module(
            &Stat,
            json!({"path": d.s("l"), "follow": true, "checksum_algorithm": "sha256"}),
            Run::default(),
        )
        .await;
        assert_eq!(
            r.data["stat"]["checksum"],
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );

        let r = run_module(&Stat, json!({"path": d.s("missing")}), Run::default()).await;
        assert_eq!(r.data["stat"], json!({"exists": false}));
        assert!(!r.failed);
    }
}
