//! What the `file` module needs to know about a host before deciding anything: the path's own
//! metadata, its link target, the link source, the umask, owner/group ids and (for `recurse`)
//! every entry below a directory — gathered in one read-only round trip that is also safe in
//! check mode.

use std::collections::HashMap;

use crate::modules::toolkit::atomic_write::parse_trailer;
use crate::modules::toolkit::remote_stat::{StatInfo, stat_snippet};
use crate::modules::{ModuleCtx, ModuleError};
use crate::shell::sh_quote;

pub struct ProbeRequest<'a> {
    pub path: &'a str,
    /// Link source, already resolved against the link's directory when relative.
    pub src: Option<&'a str>,
    pub recurse: bool,
    pub owner: Option<&'a str>,
    pub group: Option<&'a str>,
    /// `touch -t` timestamps to convert to epoch seconds on the host (its time zone applies).
    pub mtime: Option<&'a str>,
    pub atime: Option<&'a str>,
}

/// One entry below a recursed directory: kind bits, mode, uid, gid.
#[derive(Clone, Debug)]
pub struct TreeEntry {
    pub is_dir: bool,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Clone, Debug)]
pub struct Probe {
    /// `lstat` of the path.
    pub lstat: Option<StatInfo>,
    /// `stat` through a symlink (absent when dangling or not a link).
    pub target: Option<StatInfo>,
    pub link_target: Option<String>,
    pub dir_empty: bool,
    pub src: Option<StatInfo>,
    pub umask: u32,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub mtime: Option<i64>,
    pub atime: Option<i64>,
    pub tree: Vec<TreeEntry>,
}

pub async fn probe(
    ctx: &ModuleCtx<'_>,
    req: &ProbeRequest<'_>,
) -> Result<Result<Probe, String>, ModuleError> {
    let mut s = format!(
        "p={}\nprintf '__strata_umask=%s\\n' \"$(umask)\"\n",
        sh_quote(req.path)
    );
    s.push_str(&stat_snippet("l", "\"$p\"", false));
    s.push_str("if [ -L \"$p\" ]; then printf '__strata_lt=%s\\n' \"$(readlink -- \"$p\")\"; fi\n");
    s.push_str("if [ -L \"$p\" ] && [ -e \"$p\" ]; then ");
    s.push_str(&stat_snippet("t", "\"$p\"", true));
    s.push_str("fi\n");
    s.push_str(
        "if [ -d \"$p\" ] && [ -z \"$(ls -A -- \"$p\")\" ]; then echo __strata_empty=1; fi\n",
    );
    if let Some(src) = req.src {
        s.push_str(&format!("s={}\n", sh_quote(src)));
        s.push_str(&stat_snippet("s", "\"$s\"", true));
    }
    if let Some(o) = req.owner {
        s.push_str(&format!(
            "o={}\ncase $o in *[!0-9]*) __v=$(id -u -- \"$o\" 2>/dev/null) && echo \"__strata_uid=$__v\";; *) echo \"__strata_uid=$o\";; esac\n",
            sh_quote(o)
        ));
    }
    if let Some(g) = req.group {
        s.push_str(&format!(
            "g={}\ncase $g in *[!0-9]*) __v=$(getent group \"$g\" | cut -d: -f3) && [ -n \"$__v\" ] && echo \"__strata_gid=$__v\";; *) echo \"__strata_gid=$g\";; esac\n",
            sh_quote(g)
        ));
    }
    for (key, t) in [("mt", req.mtime), ("at", req.atime)] {
        if let Some(t) = t {
            s.push_str(&format!(
                "r=$(mktemp \"${{TMPDIR:-/tmp}}/.strata.XXXXXX\") && touch -m -t {} \"$r\" 2>/dev/null && printf '__strata_{key}=%s\\n' \"$(stat -c %Y \"$r\")\"; rm -f \"$r\"\n",
                sh_quote(t)
            ));
        }
    }
    if req.recurse {
        s.push_str(&format!(
            "if [ -d \"$p\" ] && [ ! -L \"$p\" ]; then find \"$p\" ! -path \"$p\" ! -type l -exec stat -c {} {{}} + | awk '{{print \"__strata_r\" NR \"=\" $0}}'; fi\n",
            sh_quote("%f %a %u %g")
        ));
    }
    let out = ctx.run(&s, None).await?;
    let k = parse_trailer(&out.stdout);
    if !k.contains_key("umask") {
        return Ok(Err(format!(
            "could not inspect {}: {}",
            req.path,
            out.stderr_str().trim()
        )));
    }
    let st = |key: &str| k.get(key).and_then(|v| StatInfo::parse(v));
    let num = |key: &str| k.get(key).and_then(|v| v.trim().parse::<i64>().ok());
    // In check mode a path that does not exist yet is reported as created before Ansible's
    // file module looks its owner up: the user may be one an earlier task would have made.
    let lookup = !ctx.check_mode || k.contains_key("l");
    if let Some(o) = req.owner
        && !k.contains_key("uid")
        && lookup
    {
        return Ok(Err(format!("chown failed: failed to look up user {o}")));
    }
    if let Some(g) = req.group
        && !k.contains_key("gid")
        && lookup
    {
        return Ok(Err(format!("chgrp failed: failed to look up group {g}")));
    }
    for (key, t) in [("mt", req.mtime), ("at", req.atime)] {
        if let Some(t) = t
            && !k.contains_key(key)
        {
            return Ok(Err(format!(
                "Error while obtaining timestamp for time {t} using format %Y%m%d%H%M.%S"
            )));
        }
    }
    Ok(Ok(Probe {
        lstat: st("l"),
        target: st("t"),
        link_target: k.get("lt").cloned(),
        dir_empty: k.contains_key("empty"),
        src: st("s"),
        umask: k
            .get("umask")
            .and_then(|u| u32::from_str_radix(u.trim(), 8).ok())
            .unwrap_or(0o022),
        uid: num("uid").map(|v| v as u32),
        gid: num("gid").map(|v| v as u32),
        mtime: num("mt"),
        atime: num("at"),
        tree: tree_entries(&k),
    }))
}

fn tree_entries(k: &HashMap<String, String>) -> Vec<TreeEntry> {
    let mut v: Vec<(usize, TreeEntry)> = k
        .iter()
        .filter_map(|(key, val)| {
            let n: usize = key.strip_prefix('r')?.parse().ok()?;
            let f: Vec<&str> = val.split_whitespace().collect();
            let raw = u32::from_str_radix(f.first()?, 16).ok()?;
            Some((
                n,
                TreeEntry {
                    is_dir: raw & 0o170000 == 0o040000,
                    mode: u32::from_str_radix(f.get(1)?, 8).ok()?,
                    uid: f.get(2)?.parse().ok()?,
                    gid: f.get(3)?.parse().ok()?,
                },
            ))
        })
        .collect();
    v.sort_by_key(|(n, _)| *n);
    v.into_iter().map(|(_, e)| e).collect()
}

/// Shell printing the final metadata of `"$p"` after the module acted.
pub fn final_stat_snippet(follow: bool) -> String {
    stat_snippet("final", "\"$p\"", follow)
}
