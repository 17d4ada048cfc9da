//! The settings strata takes from `ansible.cfg` and `ANSIBLE_*` variables, each resolved as
//! ansible-core resolves it: the environment over the file over the default, the last of
//! several environment names (or file keys) that is set winning, and the value typed as
//! `config/base.yml` (or the connection and become plugins) declares it. Command-line options
//! are applied over these by the commands.

use std::path::{Path, PathBuf};

use super::ini::{DEFAULT_SECTION, Entry, IniFile};
use super::paths::resolve;
use crate::diagnostic::{Diagnostic, Span};
use crate::shell::BecomeMethod;
use crate::transport::ssh::SshParams;

/// `gathering`: when a play without `gather_facts` gathers facts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Gathering {
    /// Every play gathers unless it says `gather_facts: false`.
    #[default]
    Implicit,
    /// Only plays that say `gather_facts: true` gather.
    Explicit,
    /// Like implicit, but a host whose facts were gathered earlier in the run is not asked
    /// again.
    Smart,
}

/// `[privilege_escalation]`: what a task becomes when nothing closer (task, block, play,
/// inventory variables) says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BecomeDefaults {
    pub become_: bool,
    /// `None`: root.
    pub user: Option<String>,
    /// `None`: sudo.
    pub method: Option<BecomeMethod>,
    /// `None`: the method's own flags.
    pub flags: Option<String>,
}

/// The typed settings. `None` leaves the choice to the command line or strata's default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `inventory`; Ansible's default is `/etc/ansible/hosts`.
    pub inventory: Option<Vec<PathBuf>>,
    /// `roles_path`, with Ansible's default when unset.
    pub roles_path: Vec<PathBuf>,
    pub forks: Option<usize>,
    pub remote_user: Option<String>,
    pub private_key_file: Option<PathBuf>,
    pub host_key_checking: bool,
    pub timeout: Option<u64>,
    pub gathering: Gathering,
    pub become_: BecomeDefaults,
    /// `[ssh_connection]` options, checked when loaded; Ansible's default `ssh_args` only
    /// tunes OpenSSH's connection sharing, which strata's one connection per host makes moot.
    pub ssh_args: Option<String>,
    pub ssh_common_args: Option<String>,
    pub ssh_extra_args: Option<String>,
    /// `show_custom_stats` (the default callback's option): `set_stats` in the recap.
    pub show_custom_stats: bool,
}

/// Where one setting may come from: environment names and `(section, key)` pairs, each list
/// in Ansible's order (the last one set wins).
struct Def {
    env: &'static [&'static str],
    ini: &'static [(&'static str, &'static str)],
}

const HOME: Def = Def {
    env: &["ANSIBLE_HOME"],
    ini: &[("defaults", "home")],
};
const INVENTORY: Def = Def {
    env: &["ANSIBLE_INVENTORY"],
    ini: &[("defaults", "inventory")],
};
/// `STRATA_ROLES_PATH` is strata's older name; it wins over Ansible's when both are set.
const ROLES_PATH: Def = Def {
    env: &["ANSIBLE_ROLES_PATH", "STRATA_ROLES_PATH"],
    ini: &[("defaults", "roles_path")],
};
const FORKS: Def = Def {
    env: &["ANSIBLE_FORKS"],
    ini: &[("defaults", "forks")],
};
const REMOTE_USER: Def = Def {
    env: &["ANSIBLE_REMOTE_USER"],
    ini: &[("defaults", "remote_user")],
};
const PRIVATE_KEY_FILE: Def = Def {
    env: &["ANSIBLE_PRIVATE_KEY_FILE"],
    ini: &[("defaults", "private_key_file")],
};
const HOST_KEY_CHECKING: Def = Def {
    env: &["ANSIBLE_HOST_KEY_CHECKING", "ANSIBLE_SSH_HOST_KEY_CHECKING"],
    ini: &[
        ("defaults", "host_key_checking"),
        ("ssh_connection", "host_key_checking"),
    ],
};
const TIMEOUT: Def = Def {
    env: &["ANSIBLE_TIMEOUT", "ANSIBLE_SSH_TIMEOUT"],
    ini: &[("defaults", "timeout"), ("ssh_connection", "timeout")],
};
const GATHERING: Def = Def {
    env: &["ANSIBLE_GATHERING"],
    ini: &[("defaults", "gathering")],
};
const BECOME: Def = Def {
    env: &["ANSIBLE_BECOME"],
    ini: &[("privilege_escalation", "become")],
};
const BECOME_USER: Def = Def {
    env: &["ANSIBLE_BECOME_USER"],
    ini: &[("privilege_escalation", "become_user")],
};
const BECOME_METHOD: Def = Def {
    env: &["ANSIBLE_BECOME_METHOD"],
    ini: &[("privilege_escalation", "become_method")],
};
const BECOME_FLAGS: Def = Def {
    env: &["ANSIBLE_BECOME_FLAGS"],
    ini: &[("privilege_escalation", "become_flags")],
};
const SSH_ARGS: Def = Def {
    env: &["ANSIBLE_SSH_ARGS"],
    ini: &[("ssh_connection", "ssh_args")],
};
const SSH_COMMON_ARGS: Def = Def {
    env: &["ANSIBLE_SSH_COMMON_ARGS"],
    ini: &[("ssh_connection", "ssh_common_args")],
};
const SSH_EXTRA_ARGS: Def = Def {
    env: &["ANSIBLE_SSH_EXTRA_ARGS"],
    ini: &[("ssh_connection", "ssh_extra_args")],
};

const SHOW_CUSTOM_STATS: Def = Def {
    env: &["ANSIBLE_SHOW_CUSTOM_STATS"],
    ini: &[("defaults", "show_custom_stats")],
};

const ALL: &[&Def] = &[
    &HOME,
    &INVENTORY,
    &ROLES_PATH,
    &FORKS,
    &REMOTE_USER,
    &PRIVATE_KEY_FILE,
    &HOST_KEY_CHECKING,
    &TIMEOUT,
    &GATHERING,
    &BECOME,
    &BECOME_USER,
    &BECOME_METHOD,
    &BECOME_FLAGS,
    &SSH_ARGS,
    &SSH_COMMON_ARGS,
    &SSH_EXTRA_ARGS,
    &SHOW_CUSTOM_STATS,
];

/// A setting's text and where it came from.
struct Raw<'a> {
    value: String,
    from: Origin<'a>,
}

enum Origin<'a> {
    Env(&'static str),
    File(&'a Entry),
}

impl Raw<'_> {
    /// A located error: at the value in the file, or naming the variable.
    fn error(&self, what: &str) -> Diagnostic {
        match &self.from {
            Origin::File(e) => Diagnostic::new(
                e.value_span.clone(),
                format!("`{}` {what}, got {:?}", e.key, self.value),
            )
            .label("invalid value"),
            Origin::Env(name) => Diagnostic::new(
                Span::unknown(),
                format!("{name} {what}, got {:?}", self.value),
            ),
        }
    }

    fn in_file(&self) -> bool {
        matches!(self.from, Origin::File(_))
    }
}

/// Ansible's `unquote` for string settings read from the file: one pair of matching outer
/// quotes goes.
fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && matches!(b[0], b'"' | b'\'') {
        s[1..s.len() - 1].to_string()
    } else {
        s.to_string()
    }
}

/// Everything a value's resolution reads: the parsed file and its directory, the environment.
pub struct Sources<'a> {
    pub ini: Option<&'a IniFile>,
    /// The config file's directory: the base of relative paths written in it.
    pub file_dir: Option<&'a Path>,
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub cwd: &'a Path,
    pub home: Option<&'a Path>,
}

impl<'a> Sources<'a> {
    fn raw(&self, def: &Def) -> Option<Raw<'a>> {
        let env = def
            .env
            .iter()
            .filter_map(|n| (self.var)(n).map(|v| (*n, v)))
            .next_back();
        if let Some((name, value)) = env {
            return Some(Raw {
                value,
                from: Origin::Env(name),
            });
        }
        let ini = self.ini?;
        def.ini
            .iter()
            .filter_map(|(s, k)| ini.get(s, k))
            .next_back()
            .map(|e| Raw {
                value: e.value.clone(),
                from: Origin::File(e),
            })
    }

    fn base(&self, raw: &Raw) -> &Path {
        match (raw.in_file(), self.file_dir) {
            (true, Some(d)) => d,
            _ => self.cwd,
        }
    }

    fn path(&self, raw: &Raw, p: &str) -> PathBuf {
        resolve(p, self.base(raw), self.cwd, self.var, self.home)
    }

    fn string(&self, def: &Def) -> Option<String> {
        self.raw(def).map(|r| {
            if r.in_file() {
                unquote(&r.value)
            } else {
                r.value
            }
        })
    }

    /// `boolean(value, strict=False)`: anything but a true word is false.
    fn boolean(&self, def: &Def) -> Option<bool> {
        self.raw(def).map(|r| {
            matches!(
                r.value.trim().to_lowercase().as_str(),
                "y" | "yes" | "on" | "1" | "true" | "t"
            )
        })
    }

    /// An integer, as Python's `Decimal` reads one (`5`, `+5`, `5.0`); an empty environment
    /// variable means the default.
    fn integer(&self, def: &Def) -> Result<Option<i64>, Diagnostic> {
        let Some(r) = self.raw(def) else {
            return Ok(None);
        };
        let t = r.value.trim();
        if let Ok(n) = t.parse::<i64>() {
            return Ok(Some(n));
        }
        match t.parse::<f64>() {
            Ok(f) if f.is_finite() && f.fract() == 0.0 => Ok(Some(f as i64)),
            _ if t.is_empty() && !r.in_file() => Ok(None),
            _ => Err(r.error("must be an integer")),
        }
    }

    /// `type: path`.
    fn one_path(&self, def: &Def) -> Option<PathBuf> {
        let r = self.raw(def)?;
        let p = self.path(&r, &r.value);
        Some(if r.in_file() {
            PathBuf::from(unquote(&p.to_string_lossy()))
        } else {
            p
        })
    }

    /// `type: pathlist` (`,`-separated, each stripped) or `pathspec` (`:`-separated).
    fn paths(&self, def: &Def, sep: char) -> Option<Vec<PathBuf>> {
        let r = self.raw(def)?;
        Some(
            r.value
                .split(sep)
                .map(|p| if sep == ',' { p.trim() } else { p })
                .map(|p| self.path(&r, p))
                .collect(),
        )
    }

    /// An `[ssh_connection]` argument string, checked as a host's would be.
    fn ssh(&self, def: &Def) -> Result<Option<String>, Diagnostic> {
        let Some(r) = self.raw(def) else {
            return Ok(None);
        };
        let s = if r.in_file() {
            unquote(&r.value)
        } else {
            r.value.clone()
        };
        SshParams::new("host", "user")
            .apply_ssh_args(&s)
            .map_err(|e| r.error(&format!("is not usable: {e}")))?;
        Ok(Some(s))
    }
}

/// The value, or nothing with its error kept.
fn take<T>(errors: &mut Vec<Diagnostic>, r: Result<Option<T>, Diagnostic>) -> Option<T> {
    r.unwrap_or_else(|e| {
        errors.push(e);
        None
    })
}

/// Resolves every setting; all bad values are reported together.
pub fn resolve_all(src: &Sources) -> Result<Settings, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let forks = take(
        &mut errors,
        src.integer(&FORKS).and_then(|n| match n {
            Some(n) if n < 1 => Err(src
                .raw(&FORKS)
                .map(|r| r.error("must be at least 1"))
                .unwrap_or_else(|| Diagnostic::new(Span::unknown(), "forks must be at least 1"))),
            n => Ok(n.map(|n| n as usize)),
        }),
    );
    let timeout = take(
        &mut errors,
        src.integer(&TIMEOUT).and_then(|n| match n {
            Some(n) if n < 0 => Err(src
                .raw(&TIMEOUT)
                .map(|r| r.error("must not be negative"))
                .unwrap_or_else(|| Diagnostic::new(Span::unknown(), "bad timeout"))),
            n => Ok(n.map(|n| n as u64)),
        }),
    );
    let gathering = take(
        &mut errors,
        match src.raw(&GATHERING) {
            None => Ok(None),
            Some(r) => {
                let v = if r.in_file() {
                    unquote(&r.value)
                } else {
                    r.value.clone()
                };
                match v.as_str() {
                    "implicit" => Ok(Some(Gathering::Implicit)),
                    "explicit" => Ok(Some(Gathering::Explicit)),
                    "smart" => Ok(Some(Gathering::Smart)),
                    _ => Err(r.error("must be implicit, explicit or smart")),
                }
            }
        },
    )
    .unwrap_or_default();
    let method = take(
        &mut errors,
        match src.raw(&BECOME_METHOD) {
            None => Ok(None),
            Some(r) => {
                let v = if r.in_file() {
                    unquote(&r.value)
                } else {
                    r.value.clone()
                };
                BecomeMethod::parse(&v).map(Some).ok_or_else(|| {
                    r.error("is not supported: strata becomes another user with sudo or su")
                })
            }
        },
    );
    let ssh_args = take(&mut errors, src.ssh(&SSH_ARGS));
    let ssh_common_args = take(&mut errors, src.ssh(&SSH_COMMON_ARGS));
    let ssh_extra_args = take(&mut errors, src.ssh(&SSH_EXTRA_ARGS));
    let roles_path = src.paths(&ROLES_PATH, ':').unwrap_or_else(|| {
        let home = src
            .one_path(&HOME)
            .unwrap_or_else(|| super::paths::unfrack("~/.ansible", src.cwd, src.var, src.home));
        vec![
            home.join("roles"),
            PathBuf::from("/usr/share/ansible/roles"),
            PathBuf::from("/etc/ansible/roles"),
        ]
    });
    let settings = Settings {
        inventory: src.paths(&INVENTORY, ','),
        roles_path,
        forks,
        remote_user: src.string(&REMOTE_USER).filter(|u| !u.is_empty()),
        private_key_file: src.one_path(&PRIVATE_KEY_FILE),
        host_key_checking: src.boolean(&HOST_KEY_CHECKING).unwrap_or(true),
        timeout,
        gathering,
        become_: BecomeDefaults {
            become_: src.boolean(&BECOME).unwrap_or(false),
            user: src.string(&BECOME_USER),
            method,
            flags: src.string(&BECOME_FLAGS),
        },
        ssh_args,
        ssh_common_args,
        ssh_extra_args,
        show_custom_stats: src.boolean(&SHOW_CUSTOM_STATS).unwrap_or(false),
    };
    if errors.is_empty() {
        Ok(settings)
    } else {
        Err(errors)
    }
}

/// `[section] key` of every key in the file that no setting reads, in file order. A key of
/// `[DEFAULT]` is known when some setting reads it in any section.
pub fn unknown_keys(ini: &IniFile) -> Vec<String> {
    let known = |section: &str, key: &str| {
        ALL.iter()
            .flat_map(|d| d.ini.iter())
            .any(|(s, k)| *k == key && (section == DEFAULT_SECTION || *s == section))
    };
    ini.sections
        .iter()
        .flat_map(|s| s.entries.iter().map(move |e| (s, e)))
        .filter(|(s, e)| !known(&s.name, &e.key))
        .map(|(s, e)| format!("[{}] {}", s.name, e.key))
        .collect()
}
