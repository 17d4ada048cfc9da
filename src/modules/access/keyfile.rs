//! What the file-editing access modules (`known_hosts`, `authorized_key`, `htpasswd`) share:
//! a probe that resolves a `type: path` parameter on the host (`~` and `$VARS` as Python's
//! `expanduser`/`expandvars`, which Ansible applies on the host) and reads the file, and an
//! action that replaces the file atomically and sets its attributes. Each module makes one
//! probe round trip, decides in Rust, and one action round trip only when something changes.

use std::collections::HashMap;

use crate::modules::toolkit::atomic_write::{FileAttrs, parse_trailer};
use crate::modules::toolkit::fs_attrs;
use crate::modules::toolkit::remote_stat::{StatInfo, stat_snippet};
use crate::modules::toolkit::replace_file::REPLACE_FN;
use crate::modules::toolkit::script_output::{PRELUDE, block};
use crate::modules::toolkit::sh_words::ShWords;
use crate::modules::{Args, ModuleCtx, ModuleError};
use crate::shell::sh_quote;

/// The first of `names` (a parameter and its aliases) that was given, as a string.
pub fn first(args: &Args, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| args.str(n))
}

/// A probe script under construction: shell lines that report `__o KEY VALUE` and files.
pub struct Probe {
    words: ShWords,
    body: String,
    /// The dumps, printed after every key line.
    tail: String,
}

/// What a probe reported.
pub struct Report {
    pub keys: HashMap<String, String>,
    pub stdout: String,
    pub stderr: String,
}

impl Report {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.keys.get(k).map(String::as_str)
    }
    pub fn flag(&self, k: &str) -> bool {
        self.get(k) == Some("1")
    }
    /// The `add_path_info` keys of a path the probe stat'ed with [`Probe::stat`].
    pub fn path_info(&self, key: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
        path_info(&self.keys, key)
    }

    /// A file the probe dumped with [`Probe::read`].
    pub fn file(&self, name: &str) -> Option<String> {
        block(&self.stdout, name)
    }
}

impl Default for Probe {
    fn default() -> Self {
        Self::new()
    }
}

impl Probe {
    pub fn new() -> Self {
        Probe {
            words: ShWords::default(),
            body: String::new(),
            tail: String::new(),
        }
    }

    /// Sets shell variable `var` to `path` expanded as Ansible's `type: path` and reports it
    /// as `var`.
    pub fn path(&mut self, var: &str, path: &str) -> &mut Self {
        let w = self.words.word(path, true, false);
        self.body
            .push_str(&format!("{var}={w}\n__o {var} \"${var}\"\n"));
        self
    }

    pub fn line(&mut self, s: &str) -> &mut Self {
        self.body.push_str(s);
        self.body.push('\n');
        self
    }

    /// Reports `NAME_exists`, `NAME_file` (a regular file, through links) and dumps it when
    /// readable; the dump comes last in the output, so no content can forge a key line.
    pub fn read(&mut self, name: &str, var: &str) -> &mut Self {
        self.body.push_str(&format!(
            "if [ -e \"${var}\" ] || [ -L \"${var}\" ]; then __o {name}_exists 1; fi\n\
             if [ -f \"${var}\" ]; then __o {name}_file 1; fi\n"
        ));
        self.dump(name, &format!("\"${var}\""));
        self
    }

    /// Reports the `lstat` of the path in `var` as `key`, for [`Report::path_info`].
    pub fn stat(&mut self, key: &str, var: &str) -> &mut Self {
        self.body
            .push_str(&stat_snippet(key, &format!("\"${var}\""), false));
        self
    }

    /// Dumps the file named by the shell word `file` as `name`, when it is a readable file.
    pub fn dump(&mut self, name: &str, file: &str) -> &mut Self {
        self.tail.push_str(&format!(
            "if [ -f {file} ] && [ -r {file} ]; then __dump {name} {file}; fi\n"
        ));
        self
    }

    pub fn build(&self) -> String {
        format!(
            "{PRELUDE}export LANG=C LC_ALL=C\n\
             __t=$(mktemp -d) || exit 1\ntrap 'rm -rf -- \"$__t\"' EXIT\n{}{}__o done 1\n{}",
            self.words.setup(),
            self.body,
            self.tail
        )
    }

    /// Runs the probe; a probe that did not finish is an error with the host's stderr.
    pub async fn run(&self, ctx: &ModuleCtx<'_>) -> Result<Report, ModuleError> {
        self.run_with(ctx, None).await
    }

    /// [`Probe::run`] with data on the script's stdin.
    pub async fn run_with(
        &self,
        ctx: &ModuleCtx<'_>,
        stdin: Option<&[u8]>,
    ) -> Result<Report, ModuleError> {
        let out = ctx.run(&self.build(), stdin).await?;
        let stdout = out.stdout_str().to_string();
        let head = stdout.split("__strata_begin_").next().unwrap_or("");
        let keys = parse_trailer(head.as_bytes());
        let r = Report {
            keys,
            stdout,
            stderr: out.stderr_str().to_string(),
        };
        if !r.flag("done") {
            return Err(ModuleError::Args(format!(
                "reading the host's state failed: {}",
                r.stderr.trim()
            )));
        }
        Ok(r)
    }
}

/// One atomic replacement of `path` with `content`, with optional directory creation before
/// and attributes after; run by [`write`].
#[derive(Default)]
pub struct Write {
    pub path: String,
    pub content: Option<Vec<u8>>,
    /// `mkdir -p` the parent first (htpasswd's `create_missing_directories`).
    pub mkdir_parent: bool,
    pub attrs: FileAttrs,
    /// Shell lines run before the write (authorized_key's directory and ownership steps);
    /// they report failures with `__o err MSG; exit 0`.
    pub before: String,
}

/// Ansible's `add_path_info` keys (`uid`, `owner`, `mode`, `state`, `size`...) from a stat
/// line reported as `key`; `None` when the path does not exist, as Ansible then adds none.
fn path_info(
    keys: &HashMap<String, String>,
    key: &str,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    keys.get(key)
        .and_then(|l| StatInfo::parse(l))
        .map(|st| st.path_info())
}

/// The outcome of [`write`]: whether attributes changed, the path's attributes afterwards,
/// or the failure's message.
pub struct Written {
    pub attrs_changed: bool,
    pub info: Option<serde_json::Map<String, serde_json::Value>>,
    pub err: Option<String>,
}

/// Writes as [`Write`] says in one round trip; check mode only compares the attributes.
pub async fn write(ctx: &ModuleCtx<'_>, w: &Write) -> Result<Written, ModuleError> {
    let mut s = format!(
        "{PRELUDE}{REPLACE_FN}{fa}export LANG=C LC_ALL=C\n__fa_C={c}; __fa_changed=0\np={p}\n",
        fa = fs_attrs::SCRIPT,
        c = ctx.check_mode as u8,
        p = sh_quote(&w.path)
    );
    if !ctx.check_mode {
        s.push_str(&w.before);
        s.push('\n');
        if w.mkdir_parent {
            s.push_str(
                "d=${p%/*}; if [ -n \"$d\" ] && [ \"$d\" != \"$p\" ] && [ ! -d \"$d\" ]; then \
                 e=$(mkdir -p -- \"$d\" 2>&1) || { __o err \"$e\"; exit 0; }; fi\n",
            );
        }
        if w.content.is_some() {
            s.push_str(
                "e=$(__s_replace \"$p\" 0 0 2>&1) || { __o err \"Failed to write to file $p: $e\"; exit 0; }\n",
            );
        }
    }
    if !w.attrs.is_empty() {
        s.push_str(&format!(
            "if [ -e \"$p\" ]; then __fa \"$p\" {} || {{ __o err \"$__fa_err\"; exit 0; }}; fi\n",
            fs_attrs::call_args(&w.attrs)
        ));
    }
    s.push_str(&stat_snippet("pst", "\"$p\"", false));
    s.push_str("__o attrs \"$__fa_changed\"\n__o done 1\n");
    let stdin = if ctx.check_mode {
        None
    } else {
        w.content.as_deref()
    };
    let out = ctx.run(&s, stdin).await?;
    let keys = parse_trailer(&out.stdout);
    if let Some(e) = keys.get("err") {
        return Ok(Written {
            attrs_changed: false,
            info: None,
            err: Some(e.clone()),
        });
    }
    if keys.get("done").map(String::as_str) != Some("1") {
        return Ok(Written {
            attrs_changed: false,
            info: None,
            err: Some(format!(
                "writing {} failed: {}",
                w.path,
                out.stderr_str().trim()
            )),
        });
    }
    Ok(Written {
        attrs_changed: keys.get("attrs").map(String::as_str) == Some("1"),
        info: path_info(&keys, "pst"),
        err: None,
    })
}
