//! The shared flow of `lineinfile`, `blockinfile` and `replace`: read the file in one round
//! trip, let the module compute the new text in Rust, and write it (only when it or the
//! requested attributes differ) with the shared atomic writer. A converged file costs one
//! round trip; a change costs two.

use regex::Regex;

use crate::events::FileDiff;
use crate::modules::toolkit::atomic_write::{
    Content, FileAttrs, WriteSpec, parent_dir, write_file,
};
use crate::modules::toolkit::remote_stat::{ReadError, ReadFile, StatInfo, read_file};
use crate::modules::{Args, ModuleCtx, ModuleError, ModuleResult};

const ATTRS_MSG: &str = "ownership, perms or SE linux context changed";

/// Options every text-editing module shares.
pub struct EditOptions {
    pub path: String,
    pub attrs: FileAttrs,
    pub backup: bool,
    pub validate: Option<String>,
    /// Result key naming the backup: `backup` for lineinfile, `backup_file` for the others.
    pub backup_key: &'static str,
}

impl EditOptions {
    pub fn from_args(args: &Args, backup_key: &'static str) -> Result<Self, ModuleError> {
        let path = args
            .str("path")
            .or_else(|| args.str("dest"))
            .or_else(|| args.str("destfile"))
            .or_else(|| args.str("name"))
            .ok_or_else(|| ModuleError::Args("missing required arguments: path".into()))?;
        let validate = args.str("validate");
        if let Some(v) = &validate
            && !v.contains("%s")
        {
            return Err(ModuleError::Args(format!("validate must contain %s: {v}")));
        }
        Ok(EditOptions {
            path,
            attrs: FileAttrs::from_args(args)?,
            backup: args.bool_or("backup", false)?,
            validate,
            backup_key,
        })
    }
}

/// A module's decision about the file's text.
pub struct TextEdit {
    pub content: Vec<u8>,
    pub changed: bool,
    pub msg: String,
}

/// Reads the file; `Err` carries a ready failed result (directory, unreadable).
pub async fn load(
    ctx: &ModuleCtx<'_>,
    path: &str,
) -> Result<Result<ReadFile, ModuleResult>, ModuleError> {
    Ok(read_file(ctx, path, false).await?.map_err(|e| {
        ModuleResult::failed(match e {
            ReadError::IsDir => format!("Path {path} is a directory !"),
            ReadError::Unreadable => format!("Path {path} is not readable !"),
            ReadError::Other(m) => m,
        })
    }))
}

/// Ansible's "missing file" failure for these modules (`rc: 257`).
pub fn missing(msg: String) -> ModuleResult {
    ModuleResult::failed(msg).with("rc", 257)
}

/// Writes the edit if needed and builds the result, with the content diff and attribute changes.
pub async fn finish(
    ctx: &ModuleCtx<'_>,
    opts: &EditOptions,
    file: &ReadFile,
    edit: TextEdit,
) -> Result<ModuleResult, ModuleError> {
    let attrs_differ = match &file.stat {
        Some(st) => attrs_differ(st, &opts.attrs, file.umask).map_err(ModuleError::Args)?,
        None => false,
    };
    let mut r = ModuleResult::changed(edit.changed || attrs_differ);
    r.msg = Some(match (edit.changed, attrs_differ) {
        (true, true) => format!("{} and {ATTRS_MSG}", edit.msg),
        (false, true) => ATTRS_MSG.to_string(),
        _ => edit.msg.clone(),
    });
    if ctx.diff && edit.changed {
        r.diff.push(FileDiff {
            before_header: format!("{} (content)", opts.path),
            after_header: format!("{} (content)", opts.path),
            before: String::from_utf8_lossy(&file.content).into_owned(),
            after: String::from_utf8_lossy(&edit.content).into_owned(),
        });
    }
    if !r.changed {
        return Ok(r);
    }
    // A new file in a missing directory: `dir/` makes the writer create the directory.
    let (dest, name) = if file.stat.is_none() && !file.parent_exists {
        let base = opts
            .path
            .rsplit('/')
            .next()
            .unwrap_or(&opts.path)
            .to_string();
        (format!("{}/", parent_dir(&opts.path)), Some(base))
    } else {
        (
            file.real_path.clone().unwrap_or_else(|| opts.path.clone()),
            None,
        )
    };
    let mut spec = WriteSpec::new(dest, Content::Bytes(edit.content));
    spec.name = name;
    spec.attrs = opts.attrs.clone();
    spec.validate = opts.validate.clone();
    spec.backup = opts.backup;
    let o = write_file(ctx, &spec).await?;
    if let Some(e) = o.error {
        return Ok(e.into_result());
    }
    if let Some(b) = o.backup_file {
        r.data.insert(opts.backup_key.into(), b.into());
    }
    Ok(r)
}

/// Whether `chmod`/`chown`/`chgrp` would change the file (names or ids are accepted).
pub fn attrs_differ(st: &StatInfo, attrs: &FileAttrs, umask: u32) -> Result<bool, String> {
    if let Some(m) = &attrs.mode
        && m.apply(st.mode, false, umask)? != st.mode
    {
        return Ok(true);
    }
    let differs = |want: &Option<String>, name: &str, id: u32| {
        want.as_ref()
            .is_some_and(|w| w != name && *w != id.to_string())
    };
    Ok(differs(&attrs.owner, &st.owner, st.uid) || differs(&attrs.group, &st.group, st.gid))
}

/// Compiles a user regex (Python `re` syntax); lookaround and backreferences inside patterns
/// are not supported by the `regex` crate and are reported as such.
pub fn compile(pattern: &str, flags: &str) -> Result<Regex, ModuleError> {
    let full = if flags.is_empty() {
        pattern.to_string()
    } else {
        format!("(?{flags}){pattern}")
    };
    Regex::new(&full)
        .map_err(|e| ModuleError::Args(format!("invalid regular expression '{pattern}': {e}")))
}

/// Converts a Python replacement template (`\1`, `\g<1>`, `\g<name>`, `\n`) to the `regex`
/// crate's syntax (`${1}`, `${name}`), escaping literal `$`.
pub fn python_template(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        if n.len() == 2 {
                            break;
                        }
                        n.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// Splits text into lines that keep their terminators, like Python's `readlines()`.
pub fn lines_with_endings(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_templates() {
        assert_eq!(python_template(r"\1=\2"), "${1}=${2}");
        assert_eq!(python_template(r"\g<1>0 \g<name>"), "${1}0 ${name}");
        assert_eq!(python_template("cost $5"), "cost $$5");
        let re = compile(r"^(\w+)=(\d+)$", "").unwrap();
        assert_eq!(
            re.replace("port=80", python_template(r"\1: \2").as_str()),
            "port: 80"
        );
        assert!(
            compile("(?<=x)y", "")
                .unwrap_err()
                .to_string()
                .contains("invalid regular expression")
        );
    }
}
