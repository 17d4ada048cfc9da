//! `strata stack state export|import`: a stack's whole state as one JSON file, to move it
//! between backends (a SQLite file and a PostgreSQL database) with nothing lost.
//!
//! Import replaces everything, so it is refused over a state that already holds something,
//! or with another stack's dump, unless forced: the usual move is into a new, empty backend.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::state::{StateDump, StateStore};
use super::{Stack, StackError};

/// The whole state, read in one transaction, labelled with the stack's name.
pub fn export(stack: &Stack) -> Result<StateDump, StackError> {
    let mut d = stack.store.export()?;
    d.stack = Some(stack.ctx.file.name.clone());
    Ok(d)
}

/// The dump as pretty JSON with a final newline.
pub fn to_json(d: &StateDump) -> String {
    let mut s = serde_json::to_string_pretty(d).unwrap_or_default();
    s.push('\n');
    s
}

/// Writes `text` to `path` through a temporary file and a rename, so a reader never sees
/// half a dump and a failed write leaves the old file.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), StackError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.strata-{}.tmp", std::process::id()));
    let fail = |e: std::io::Error| StackError::Usage(format!("writing {}: {e}", path.display()));
    let write = || -> std::io::Result<()> {
        // Private: a dump holds the whole state, `-e` values and attributes included.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

/// Reads a dump from `path` (`-`: stdin); a bad file is an input error naming the line and
/// column.
pub fn read(path: &Path) -> Result<StateDump, StackError> {
    let text = if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| StackError::Usage(format!("reading stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| StackError::Usage(format!("reading {}: {e}", path.display())))?
    };
    let d: StateDump = serde_json::from_str(&text).map_err(|e| {
        StackError::Usage(format!(
            "{}:{}:{}: not a strata state dump: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    d.check_format()
        .map_err(|e| StackError::Usage(format!("{}: {e}", path.display())))?;
    Ok(d)
}

/// Replaces the stack's state with `dump` under the stack's lock (so no event runs
/// meanwhile). Without `force`, refuses a dump of another stack and a state that is not empty.
pub fn import(stack: &mut Stack, dump: &StateDump, force: bool) -> Result<(), StackError> {
    let name = &stack.ctx.file.name;
    if let Some(other) = dump.stack.as_deref().filter(|s| s != name)
        && !force
    {
        return Err(StackError::Usage(format!(
            "the dump is of stack `{other}`, not `{name}`; --force imports it anyway"
        )));
    }
    let holder = stack.holder();
    let _guard = stack.store.lock(&holder, stack.ctx.req.wait)?;
    let current = stack.store.export()?;
    if !current.is_empty() && !force {
        return Err(StackError::Usage(format!(
            "the state at {} is not empty ({} instances, {} events, {} releases, {} job runs); \
             --force replaces it",
            stack.store.describe(),
            current.instances.len(),
            current.events.len(),
            current.releases.len(),
            current.job_runs.len()
        )));
    }
    stack.store.import(dump)?;
    Ok(())
}
