//! `ansible.cfg` and the `ANSIBLE_*` variables, read once by the commands that run plays so
//! that a project made for ansible-playbook runs unchanged: which file applies
//! (`discover.rs`), the file as Python's `configparser` reads it, with spans (`ini.rs`), paths
//! as Ansible resolves them (`paths.rs`), and the typed settings with the environment over
//! the file (`settings.rs`). The command line goes over these, in `commands/`.

mod discover;
mod ini;
mod paths;
mod settings;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use discover::Env;
pub use settings::{BecomeDefaults, Gathering, Settings};

use crate::diagnostic::{Diagnostic, InputErrors, Span};

/// The settings in effect, the file they came from, and warnings to print before anything
/// runs (keys strata does not know, a skipped world-writable `./ansible.cfg`).
#[derive(Clone, Debug)]
pub struct Config {
    pub file: Option<PathBuf>,
    pub settings: Settings,
    pub warnings: Vec<String>,
}

impl Config {
    pub fn print_warnings(&self) {
        for w in &self.warnings {
            eprintln!("[WARNING]: {w}");
        }
    }
}

/// The configuration of this process: its environment, working directory and home.
pub fn load() -> Result<Config, InputErrors> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let var = |k: &str| std::env::var(k).ok();
    load_with(&Env {
        var: &var,
        cwd: &cwd,
        home: home.as_deref(),
        system: Path::new("/etc/ansible/ansible.cfg"),
    })
}

/// The configuration `env` describes. An unreadable or malformed file is an error, as in
/// ansible-core, which stops before it runs anything.
pub fn load_with(env: &Env) -> Result<Config, InputErrors> {
    let found = discover::find(env);
    let mut warnings: Vec<String> = found.warning.into_iter().collect();
    let parsed = match &found.path {
        Some(p) => Some(read(p)?),
        None => None,
    };
    if let (Some(p), Some(ini)) = (&found.path, &parsed) {
        let unknown = settings::unknown_keys(ini);
        if !unknown.is_empty() {
            warnings.push(format!(
                "{}: strata ignores these settings: {}",
                p.display(),
                unknown.join(", ")
            ));
        }
    }
    let settings = settings::resolve_all(&settings::Sources {
        ini: parsed.as_ref(),
        file_dir: found.path.as_deref().and_then(Path::parent),
        var: env.var,
        cwd: env.cwd,
        home: env.home,
    })
    .map_err(InputErrors)?;
    Ok(Config {
        file: found.path,
        settings,
        warnings,
    })
}

/// Reads and parses the file; only INI files (`.cfg`, `.ini`) are configuration, as in
/// ansible-core.
fn read(path: &Path) -> Result<ini::IniFile, InputErrors> {
    let at = Span::file_only(path);
    let one = |msg: String| InputErrors(vec![Diagnostic::new(at.clone(), msg)]);
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(ext, "cfg" | "ini") {
        return Err(one(format!(
            "unsupported configuration file extension \".{ext}\": ansible.cfg files are INI \
             (.cfg or .ini)"
        )));
    }
    let bytes =
        std::fs::read(path).map_err(|e| one(format!("cannot read the configuration file: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| one("the configuration file is not UTF-8 encoded".to_string()))?;
    ini::parse(&text, path).map_err(InputErrors)
}
