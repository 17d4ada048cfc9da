//! Which `ansible.cfg` applies, found as ansible-core's `find_ini_config_file` finds it: the
//! first of `ANSIBLE_CONFIG` (a file, or a directory holding `ansible.cfg`), `./ansible.cfg`,
//! `~/.ansible.cfg` and `/etc/ansible/ansible.cfg` that exists and is readable. Only one file
//! is read; settings are never merged across them.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::paths::unfrack;

/// What the search depends on, passed in so tests need not change the process's environment.
pub struct Env<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub cwd: &'a Path,
    pub home: Option<&'a Path>,
    /// The system-wide file, `/etc/ansible/ansible.cfg` outside tests.
    pub system: &'a Path,
}

/// The file found, if any, and the warning Ansible gives when it skipped a world-writable
/// working directory's `ansible.cfg`.
pub struct Found {
    pub path: Option<PathBuf>,
    pub warning: Option<String>,
}

/// `os.access(path, R_OK)`: as root every file passes, as in Python.
fn readable(p: &Path) -> bool {
    let Ok(c) = CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    unsafe { libc::access(c.as_ptr(), libc::R_OK) == 0 }
}

pub fn find(env: &Env) -> Found {
    let mut candidates = Vec::new();
    let from_env = (env.var)("ANSIBLE_CONFIG").map(|v| {
        let p = unfrack(&v, env.cwd, env.var, env.home);
        if p.is_dir() { p.join("ansible.cfg") } else { p }
    });
    candidates.extend(from_env.clone());
    // A world-writable directory (such as /tmp) could hold anybody's ansible.cfg, so it is
    // skipped, with a warning when there is one to skip.
    let cwd_cfg = env.cwd.join("ansible.cfg");
    let mut skipped_public = false;
    match std::fs::metadata(env.cwd) {
        Ok(m) if m.permissions().mode() & 0o002 != 0 => skipped_public = cwd_cfg.exists(),
        Ok(_) => candidates.push(cwd_cfg),
        Err(_) => {}
    }
    if let Some(home) = env.home {
        candidates.push(home.join(".ansible.cfg"));
    }
    candidates.push(env.system.to_path_buf());
    let path = candidates.into_iter().find(|p| p.exists() && readable(p));
    let warning = (skipped_public && (from_env.is_none() || path != from_env)).then(|| {
        format!(
            "strata is being run in a world writable directory ({}), ignoring it as an \
             ansible.cfg source. For more information see \
             https://docs.ansible.com/ansible/devel/reference_appendices/config.html#cfg-in-world-writable-dir",
            env.cwd.display()
        )
    });
    Found { path, warning }
}
