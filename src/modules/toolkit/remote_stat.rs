//! Reading file metadata and content on a host with `stat(1)` and `cat`, and parsing it back.
//! One fixed `stat -c` format serves `stat`, `file` and the text-editing modules, so there is
//! a single parser for remote metadata.

use serde_json::{Map, Value};

use super::atomic_write::parse_trailer;
use super::mode::mode_string;
use crate::modules::{ModuleCtx, ModuleError};
use crate::shell::sh_quote;

/// Names come last: they are the only fields that could be unusual (`UNKNOWN`).
pub const STAT_FORMAT: &str = "%f %u %g %s %h %i %d %.9X %.9Y %.9Z %b %B %t %T %U %G";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    Link,
    Fifo,
    Socket,
    Char,
    Block,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StatInfo {
    pub kind: FileKind,
    /// Permission bits including setuid/setgid/sticky.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub nlink: u64,
    pub inode: u64,
    pub dev: u64,
    pub atime: f64,
    pub mtime: f64,
    pub ctime: f64,
    pub blocks: u64,
    pub block_size: u64,
    pub rdev_major: u64,
    pub rdev_minor: u64,
    pub owner: String,
    pub group: String,
}

impl StatInfo {
    /// Parses one line produced by `stat -c STAT_FORMAT`.
    pub fn parse(line: &str) -> Option<StatInfo> {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 16 {
            return None;
        }
        let raw = u32::from_str_radix(f[0], 16).ok()?;
        let kind = match raw & 0o170000 {
            0o040000 => FileKind::Dir,
            0o120000 => FileKind::Link,
            0o010000 => FileKind::Fifo,
            0o140000 => FileKind::Socket,
            0o020000 => FileKind::Char,
            0o060000 => FileKind::Block,
            _ => FileKind::File,
        };
        let n = |i: usize| f[i].parse::<u64>().ok();
        let t = |i: usize| f[i].parse::<f64>().ok();
        Some(StatInfo {
            kind,
            mode: raw & 0o7777,
            uid: n(1)? as u32,
            gid: n(2)? as u32,
            size: n(3)?,
            nlink: n(4)?,
            inode: n(5)?,
            dev: n(6)?,
            atime: t(7)?,
            mtime: t(8)?,
            ctime: t(9)?,
            blocks: n(10)?,
            block_size: n(11)?,
            rdev_major: u64::from_str_radix(f[12], 16).ok()?,
            rdev_minor: u64::from_str_radix(f[13], 16).ok()?,
            owner: f[14].to_string(),
            group: f[15..].join(" "),
        })
    }

    /// Ansible's `file` module state name for this entry (a file with several links is `hard`).
    pub fn state_name(&self) -> &'static str {
        match self.kind {
            FileKind::Dir => "directory",
            FileKind::Link => "link",
            FileKind::File if self.nlink > 1 => "hard",
            _ => "file",
        }
    }

    /// The attribute keys Ansible's `file`-like modules add to results (`add_path_info`).
    pub fn path_info(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("uid".into(), self.uid.into());
        m.insert("gid".into(), self.gid.into());
        m.insert("owner".into(), self.owner.clone().into());
        m.insert("group".into(), self.group.clone().into());
        m.insert("mode".into(), mode_string(self.mode).into());
        m.insert("state".into(), self.state_name().into());
        m.insert("size".into(), self.size.into());
        m
    }
}

/// Shell that prints `__strata_<key>=<stat line>` for `path_expr` (already quoted, or a `"$var"`),
/// or nothing when the path does not exist.
pub fn stat_snippet(key: &str, path_expr: &str, follow: bool) -> String {
    let l = if follow { "-L " } else { "" };
    format!(
        "if [ -e {p} ] || [ -L {p} ]; then __v=$(stat {l}-c {fmt} -- {p} 2>/dev/null) && printf '__strata_{key}=%s\\n' \"$__v\"; fi\n",
        p = path_expr,
        fmt = sh_quote(STAT_FORMAT),
    )
}

/// A file read from a host together with its metadata, for modules that edit text in Rust.
#[derive(Clone, Debug)]
pub struct ReadFile {
    /// `None` when the path does not exist.
    pub stat: Option<StatInfo>,
    pub content: Vec<u8>,
    /// Whether the parent directory exists (for `create: yes`).
    pub parent_exists: bool,
    pub umask: u32,
    /// The host's own `sha1sum` of the file, when asked for.
    pub sha1: Option<String>,
    /// Where a symlinked path really points: edits go there, keeping the link.
    pub real_path: Option<String>,
}

/// Why a path could not be read; each module words these its own way, as Ansible does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    IsDir,
    Unreadable,
    Other(String),
}

/// Reads `path` (following symlinks) in one round trip, optionally with the host's SHA-1.
pub async fn read_file(
    ctx: &ModuleCtx<'_>,
    path: &str,
    with_sha1: bool,
) -> Result<Result<ReadFile, ReadError>, ModuleError> {
    let p = sh_quote(path);
    let sum = if with_sha1 {
        "if [ -f \"$p\" ]; then printf '__strata_sha1=%s\\n' \"$(sha1sum < \"$p\" | cut -d' ' -f1)\"; fi\n"
    } else {
        ""
    };
    let script = format!(
        "p={p}\nprintf '__strata_umask=%s\\n' \"$(umask)\"\n\
         if [ -d \"$(dirname -- \"$p\")\" ]; then echo __strata_parent=1; fi\n\
         if [ -L \"$p\" ]; then printf '__strata_real=%s\\n' \"$(readlink -f -- \"$p\")\"; fi\n\
         {stat}\
         if [ -d \"$p\" ]; then echo __strata_isdir=1; exit 0; fi\n\
         if [ -e \"$p\" ] && [ ! -r \"$p\" ]; then echo __strata_unreadable=1; exit 0; fi\n\
         {sum}echo __strata_end\nif [ -e \"$p\" ]; then cat -- \"$p\"; fi\n",
        stat = stat_snippet("stat", "\"$p\"", true),
    );
    let out = ctx.run(&script, None).await?;
    let (head, content) = match find(&out.stdout, b"__strata_end\n") {
        Some(i) => (&out.stdout[..i], out.stdout[i + 13..].to_vec()),
        None => (&out.stdout[..], Vec::new()),
    };
    let keys = parse_trailer(head);
    if keys.contains_key("isdir") {
        return Ok(Err(ReadError::IsDir));
    }
    if keys.contains_key("unreadable") {
        return Ok(Err(ReadError::Unreadable));
    }
    if !keys.contains_key("umask") || out.rc != 0 {
        return Ok(Err(ReadError::Other(format!(
            "reading {path} failed: {}",
            out.stderr_str().trim()
        ))));
    }
    Ok(Ok(ReadFile {
        stat: keys.get("stat").and_then(|s| StatInfo::parse(s)),
        content,
        parent_exists: keys.contains_key("parent"),
        umask: keys
            .get("umask")
            .and_then(|u| u32::from_str_radix(u.trim(), 8).ok())
            .unwrap_or(0o022),
        sha1: keys.get("sha1").cloned(),
        real_path: keys.get("real").cloned(),
    }))
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gnu_stat_lines() {
        let s = StatInfo::parse("81a4 0 0 1267 1 1196066 65024 1.5 2.25 3.0 8 512 0 0 root root")
            .unwrap();
        assert_eq!(
            (s.kind, s.mode, s.size, s.mtime),
            (FileKind::File, 0o644, 1267, 2.25)
        );
        assert_eq!(s.state_name(), "file");
        let d = StatInfo::parse("43ff 0 0 4096 31 2 3 1 1 1 8 512 0 0 root root").unwrap();
        assert_eq!((d.kind, d.mode), (FileKind::Dir, 0o1777));
        assert_eq!(d.path_info()["mode"], "1777");
        assert!(StatInfo::parse("garbage").is_none());
    }
}
