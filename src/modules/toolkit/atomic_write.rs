//! The one remote file writer shared by `copy`, `template`, `lineinfile`, `blockinfile` and
//! `replace`. A single script (see `atomic_write.sh`) writes each file's new content to a temp
//! file, gives it the wanted mode/owner/group (so `chmod`/`chown` themselves evaluate symbolic
//! modes and names), compares it with the current file (`cmp`), then either discards it, fixes
//! only the attributes, or validates, backs up and renames it over the destination. The temp
//! file of a new file starts in the destination directory; that of an existing one starts
//! outside it and is copied beside it only on a change, so an unchanged file leaves even the
//! directory's mtime alone. Check mode compares outside the directory and writes nothing.

use std::collections::HashMap;

use serde_json::Value;

use super::mode::{ModeSpec, mode_string};
use crate::modules::{Args, ModuleCtx, ModuleError, ModuleResult};
use crate::shell::sh_quote;

const SCRIPT: &str = include_str!("atomic_write.sh");
/// Above this size content goes over SFTP instead of the exec channel's stdin.
pub const SFTP_THRESHOLD: usize = 1 << 20;
/// Old content is returned for `--diff` only up to this size, as Ansible's `max_file_size_for_diff`.
pub const DIFF_MAX: u64 = 65536;

/// Where the new content of a file comes from.
#[derive(Clone, Debug)]
pub enum Content {
    Bytes(Vec<u8>),
    /// A file already on the host (`remote_src: yes`).
    Remote(String),
}

/// Mode, owner and group as given to a file module.
#[derive(Clone, Debug, Default)]
pub struct FileAttrs {
    pub mode: Option<ModeSpec>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl FileAttrs {
    pub fn from_args(args: &Args) -> Result<Self, ModuleError> {
        let mode = match args.get("mode") {
            None => None,
            Some(v) => Some(ModeSpec::parse(v).map_err(ModuleError::Args)?),
        };
        Ok(FileAttrs {
            mode,
            owner: args.str("owner"),
            group: args.str("group"),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.mode.is_none() && self.owner.is_none() && self.group.is_none()
    }
}

#[derive(Clone, Debug)]
pub struct WriteSpec {
    pub dest: String,
    /// Used when `dest` is (or ends with `/` as) a directory: the file lands at `dest/name`.
    pub name: Option<String>,
    pub content: Content,
    pub attrs: FileAttrs,
    /// Validation command with `%s` standing for the file to check.
    pub validate: Option<String>,
    pub backup: bool,
    /// `force: no`: never replace an existing file.
    pub force: bool,
    pub directory_mode: Option<ModeSpec>,
    /// In check mode, the parent directory may legitimately be missing (it would be created).
    pub parent_may_be_created: bool,
}

impl WriteSpec {
    pub fn new(dest: impl Into<String>, content: Content) -> Self {
        WriteSpec {
            dest: dest.into(),
            name: None,
            content,
            attrs: FileAttrs::default(),
            validate: None,
            backup: false,
            force: true,
            directory_mode: None,
            parent_may_be_created: false,
        }
    }
}

/// A directory to ensure before files are written (recursive `copy`).
#[derive(Clone, Debug)]
pub struct DirSpec {
    pub path: String,
    pub mode: Option<ModeSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteAttrs {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub owner: String,
    pub group: String,
}

impl RemoteAttrs {
    /// Parses `stat -c '%a %u %g %s %U %G'` output.
    pub fn parse(s: &str) -> Option<Self> {
        let f: Vec<&str> = s.split_whitespace().collect();
        let mode = u32::from_str_radix(f.first()?, 8).ok()?;
        let uid: u32 = f.get(1)?.parse().ok()?;
        let gid: u32 = f.get(2)?.parse().ok()?;
        let size = f.get(3)?.parse().ok()?;
        let owner = f
            .get(4)
            .map(|s| s.to_string())
            .unwrap_or_else(|| uid.to_string());
        let group = f
            .get(5)
            .map(|s| s.to_string())
            .unwrap_or_else(|| gid.to_string());
        Some(RemoteAttrs {
            mode,
            uid,
            gid,
            size,
            owner,
            group,
        })
    }

    /// Ansible's `mode`/`owner`/`group`/`uid`/`gid`/`size` return keys.
    pub fn add_to(&self, r: &mut ModuleResult) {
        r.data.insert("mode".into(), mode_string(self.mode).into());
        r.data.insert("owner".into(), self.owner.clone().into());
        r.data.insert("group".into(), self.group.clone().into());
        r.data.insert("uid".into(), self.uid.into());
        r.data.insert("gid".into(), self.gid.into());
        r.data.insert("size".into(), self.size.into());
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteState {
    Unchanged,
    AttrsChanged,
    Created,
    Updated,
    /// `force: no` and the file exists.
    Skipped,
}

/// Why a file could not be written; validation failures carry the validator's output.
#[derive(Clone, Debug, Default)]
pub struct WriteFailure {
    pub msg: String,
    pub rc: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl WriteFailure {
    pub fn into_result(self) -> ModuleResult {
        let mut r = ModuleResult::failed(self.msg);
        if let Some(rc) = self.rc {
            r = r
                .with("exit_status", rc)
                .with("stdout", self.stdout)
                .with("stderr", self.stderr);
        }
        r
    }
}

#[derive(Clone, Debug)]
pub struct WriteOutcome {
    /// The final path (after `dest/name` resolution).
    pub dest: String,
    pub state: WriteState,
    pub existed: bool,
    pub backup_file: Option<String>,
    pub attrs: Option<RemoteAttrs>,
    /// The previous content, when diffing and the file was small enough.
    pub old_content: Option<Vec<u8>>,
    pub old_size: Option<u64>,
    pub error: Option<WriteFailure>,
}

impl WriteOutcome {
    pub fn changed(&self) -> bool {
        matches!(
            self.state,
            WriteState::AttrsChanged | WriteState::Created | WriteState::Updated
        )
    }
    pub fn content_changed(&self) -> bool {
        matches!(self.state, WriteState::Created | WriteState::Updated)
    }
}

/// Writes every file (and creates every directory) in one round trip where possible.
pub async fn write_files(
    ctx: &ModuleCtx<'_>,
    dirs: &[DirSpec],
    files: &[WriteSpec],
) -> Result<(Vec<WriteOutcome>, Vec<Result<bool, String>>), ModuleError> {
    let stdin_files: Vec<&Vec<u8>> = files
        .iter()
        .filter_map(|f| match &f.content {
            Content::Bytes(b) => Some(b),
            Content::Remote(_) => None,
        })
        .collect();
    let total: usize = stdin_files.iter().map(|b| b.len()).sum();
    let mut uploaded: Option<String> = None;
    // Large single files go over SFTP, which writes as the login user; under become the file
    // would have the wrong owner and might not even be writable, so it is streamed instead.
    if total >= SFTP_THRESHOLD && stdin_files.len() == 1 && ctx.become_.is_none() && !ctx.check_mode
    {
        let f = files
            .iter()
            .find(|f| matches!(f.content, Content::Bytes(_)))
            .expect("one stdin file");
        let dir = match f.dest.strip_suffix('/') {
            Some(d) => d.to_string(),
            None => parent_dir(&f.dest),
        };
        let tmp = format!(
            "{}/.strata.{:016x}.upload",
            dir.trim_end_matches('/'),
            rand::random::<u64>()
        );
        if ctx.conn.put_file(&tmp, stdin_files[0], 0o600).await.is_ok() {
            uploaded = Some(tmp);
        }
    }
    let staged = uploaded.is_none() && stdin_files.len() > 1;
    let mut script = String::with_capacity(SCRIPT.len() + 256 * files.len());
    script.push_str(&format!(
        "__s_C={}; __s_D={}; __s_stage=; __s_tmp=\n",
        ctx.check_mode as u8, ctx.diff as u8
    ));
    script.push_str(SCRIPT);
    script.push_str(
        "__s_mkdir() { __s_i=d$1; __s_tmp=; if [ -d \"$2\" ]; then __s_o state ok; \
         elif [ -e \"$2\" ] || [ -L \"$2\" ]; then __s_o err \"$2 exists and is not a directory\"; \
         else if [ \"$__s_C\" = 0 ]; then mkdir -p -- \"$2\" || { __s_o err \"could not create directory $2\"; return; }; \
         if [ -n \"$3\" ]; then chmod -- \"$3\" \"$2\"; fi; fi; __s_o state created; fi; }\n",
    );
    if staged {
        script.push_str(
            "__s_stage=$(mktemp \"${TMPDIR:-/tmp}/.strata.XXXXXX\") || exit 1\n\
             trap 'rm -f -- \"$__s_stage\"' EXIT\ncat > \"$__s_stage\"\n",
        );
    }
    for (i, d) in dirs.iter().enumerate() {
        let m = d
            .mode
            .as_ref()
            .and_then(ModeSpec::chmod_arg)
            .unwrap_or_default();
        script.push_str(&format!(
            "__s_mkdir {i} {} {}\n",
            sh_quote(&d.path),
            sh_quote(&m)
        ));
    }
    let mut offset = 0usize;
    for (i, f) in files.iter().enumerate() {
        let src = match &f.content {
            Content::Remote(p) => format!("@{p}"),
            Content::Bytes(_) if uploaded.is_some() => {
                format!("%{}", uploaded.as_deref().unwrap_or_default())
            }
            Content::Bytes(b) if staged => {
                let s = format!("={offset}:{}", b.len());
                offset += b.len();
                s
            }
            Content::Bytes(_) => "-".to_string(),
        };
        let mode = match &f.attrs.mode {
            Some(ModeSpec::Preserve) => "preserve".to_string(),
            Some(m) => m.chmod_arg().unwrap_or_default(),
            None => String::new(),
        };
        let validate = f
            .validate
            .as_deref()
            .map(|v| v.replace("%s", "\"$__s_tmp\""))
            .unwrap_or_default();
        let dmode = f
            .directory_mode
            .as_ref()
            .and_then(ModeSpec::chmod_arg)
            .unwrap_or_default();
        let q = |s: &Option<String>| sh_quote(s.as_deref().unwrap_or(""));
        script.push_str(&format!(
            "__s_put {i} {} {} {} {} {} {} {} {} {} {} {}\n",
            sh_quote(&f.dest),
            q(&f.name),
            sh_quote(&src),
            sh_quote(&mode),
            q(&f.attrs.owner),
            q(&f.attrs.group),
            sh_quote(&validate),
            f.backup as u8,
            f.force as u8,
            sh_quote(&dmode),
            f.parent_may_be_created as u8,
        ));
    }
    let stdin: Option<Vec<u8>> = if uploaded.is_some() || stdin_files.is_empty() {
        None
    } else {
        Some(stdin_files.iter().flat_map(|b| b.iter().copied()).collect())
    };
    let out = ctx.run(&script, stdin.as_deref()).await?;
    let keys = parse_trailer(&out.stdout);
    let get = |k: String| keys.get(&k).cloned();
    let mut outcomes = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let err = get(format!("{i}_err")).map(|msg| WriteFailure {
            msg,
            rc: get(format!("{i}_vrc")).and_then(|s| s.parse().ok()),
            stdout: get(format!("{i}_vout"))
                .map(|h| unhex_lossy(&h))
                .unwrap_or_default(),
            stderr: get(format!("{i}_verr"))
                .map(|h| unhex_lossy(&h))
                .unwrap_or_default(),
        });
        let state = match get(format!("{i}_state")).as_deref() {
            Some("ok") => WriteState::Unchanged,
            Some("attrs") => WriteState::AttrsChanged,
            Some("created") => WriteState::Created,
            Some("updated") => WriteState::Updated,
            Some("skipped") => WriteState::Skipped,
            _ => WriteState::Unchanged,
        };
        let error = match (err, get(format!("{i}_state"))) {
            (Some(e), _) => Some(e),
            (None, None) => Some(WriteFailure {
                msg: format!("writing {} failed: {}", f.dest, out.stderr_str().trim()),
                ..Default::default()
            }),
            (None, Some(_)) => None,
        };
        let before = get(format!("{i}_before"));
        outcomes.push(WriteOutcome {
            dest: get(format!("{i}_dest")).unwrap_or_else(|| f.dest.clone()),
            state,
            existed: before.is_some(),
            backup_file: get(format!("{i}_backup")),
            attrs: get(format!("{i}_final"))
                .as_deref()
                .and_then(RemoteAttrs::parse),
            old_content: get(format!("{i}_old")).and_then(|h| unhex(&h)),
            old_size: before
                .as_deref()
                .and_then(|b| b.split_whitespace().nth(3)?.parse().ok()),
            error,
        });
    }
    let dir_results = (0..dirs.len())
        .map(
            |i| match (get(format!("d{i}_err")), get(format!("d{i}_state"))) {
                (Some(e), _) => Err(e),
                (None, Some(s)) => Ok(s == "created"),
                (None, None) => Err(format!(
                    "creating {} failed: {}",
                    dirs[i].path,
                    out.stderr_str().trim()
                )),
            },
        )
        .collect();
    Ok((outcomes, dir_results))
}

/// Writes one file; the common case for every module but recursive `copy`.
pub async fn write_file(
    ctx: &ModuleCtx<'_>,
    spec: &WriteSpec,
) -> Result<WriteOutcome, ModuleError> {
    let (mut v, _) = write_files(ctx, &[], std::slice::from_ref(spec)).await?;
    Ok(v.remove(0))
}

/// `dirname(1)` for remote paths.
pub fn parent_dir(p: &str) -> String {
    let t = p.trim_end_matches('/');
    match t.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => t[..i].to_string(),
        None => ".".into(),
    }
}

/// Reads `__strata_KEY=VALUE` lines; anything else on stdout is ignored.
pub fn parse_trailer(stdout: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(stdout);
    text.lines()
        .filter_map(|l| l.strip_prefix("__strata_"))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn unhex(h: &str) -> Option<Vec<u8>> {
    let h = h.trim();
    if !h.len().is_multiple_of(2) {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).ok())
        .collect()
}

fn unhex_lossy(h: &str) -> String {
    let s = String::from_utf8_lossy(&unhex(h).unwrap_or_default()).into_owned();
    s.strip_suffix('\n').unwrap_or(&s).to_string()
}

/// Whether bytes can be shown as a text diff (Ansible treats NUL bytes as binary).
pub fn is_text(b: &[u8]) -> bool {
    !b.contains(&0) && std::str::from_utf8(b).is_ok()
}

/// The `--diff` entry for a written file, like Ansible's: text before/after, or a note when
/// either side is binary or too large to show.
pub fn content_diff(
    o: &WriteOutcome,
    after_header: &str,
    new: Option<&[u8]>,
) -> Option<crate::events::FileDiff> {
    if !o.content_changed() {
        return None;
    }
    let mut d = crate::events::FileDiff {
        before_header: o.dest.clone(),
        after_header: after_header.to_string(),
        ..Default::default()
    };
    if o.existed {
        match &o.old_content {
            Some(b) if is_text(b) => d.before = String::from_utf8_lossy(b).into_owned(),
            Some(_) => d.before = "Binary file, diff skipped".into(),
            None => {
                d.before = format!(
                    "File too large ({} bytes), diff skipped",
                    o.old_size.unwrap_or(0)
                )
            }
        }
    }
    match new {
        Some(b) if b.len() as u64 > DIFF_MAX => {
            d.after = format!("File too large ({} bytes), diff skipped", b.len())
        }
        Some(b) if is_text(b) => d.after = String::from_utf8_lossy(b).into_owned(),
        Some(_) => d.after = "Binary file, diff skipped".into(),
        None => d.after = "(remote source)".into(),
    }
    Some(d)
}

/// Adds `dest`, `backup_file`, `state` and the attribute keys of a finished write.
pub fn add_outcome(r: &mut ModuleResult, o: &WriteOutcome) {
    r.data.insert("dest".into(), Value::from(o.dest.clone()));
    if let Some(b) = &o.backup_file {
        r.data.insert("backup_file".into(), b.clone().into());
    }
    if let Some(a) = &o.attrs {
        a.add_to(r);
    }
    r.data.insert("state".into(), "file".into());
}
