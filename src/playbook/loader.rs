//! Loader state and the small keyword value parsers shared by plays, blocks, tasks and roles.
//! Parsers never stop at the first problem: they record a located diagnostic and carry on, so
//! one run reports every error in the playbook.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::LoadOptions;
use super::model::{Cond, Handler, RoleCtx, Text};
use super::module_table::ModuleTable;
use crate::diagnostic::{Diagnostic, Span};
use crate::shell::BecomeMethod;
use crate::template::{Templar, is_template};
use crate::values::to_bool;
use crate::yaml::{Node, Yaml};

/// Per-play bookkeeping: role handlers collected while expanding roles, and the role uses
/// already expanded (Ansible runs a role once per play unless its parameters differ).
#[derive(Default)]
pub struct PlayState {
    pub handlers: Vec<Handler>,
    pub roles_run: Vec<(PathBuf, String)>,
    pub role_handlers_loaded: Vec<(PathBuf, String)>,
    /// The context each role use got when it was first expanded: a use that runs no second
    /// time still brings its variables to the roles depending on it.
    pub role_ctxs: Vec<((PathBuf, String), Arc<RoleCtx>)>,
    /// Roles whose variables the whole play sees (see [`super::model::Play::public_roles`]).
    pub public_roles: Vec<Arc<RoleCtx>>,
}

pub struct Loader<'a> {
    pub opts: &'a LoadOptions,
    pub templar: &'a Templar,
    pub modules: &'a ModuleTable,
    pub diags: Vec<Diagnostic>,
    /// Files being loaded right now, to report import cycles instead of recursing forever.
    pub stack: Vec<PathBuf>,
    pub play: PlayState,
}

/// Where the items being parsed live.
#[derive(Clone, Debug)]
pub struct Scope {
    pub role: Option<Arc<RoleCtx>>,
    /// `Task.base_dir`: the role directory for role tasks, else the playbook directory.
    pub base_dir: PathBuf,
    /// Directory of the file being parsed; relative includes resolve from here.
    pub file_dir: PathBuf,
    pub playbook_dir: PathBuf,
    /// Parsing `handlers:`, where `listen` is allowed.
    pub handlers: bool,
}

impl Scope {
    pub fn play(playbook_dir: &Path) -> Self {
        Scope {
            role: None,
            base_dir: playbook_dir.to_path_buf(),
            file_dir: playbook_dir.to_path_buf(),
            playbook_dir: playbook_dir.to_path_buf(),
            handlers: false,
        }
    }
}

/// A valid Ansible variable name: an identifier.
pub fn is_var_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// A file's directory; `.` for a bare file name, so directories are never empty paths.
pub fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The identity of a file or directory for cycle and duplicate detection.
pub fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| normalize(p))
}

/// Lexical normalisation (no filesystem access): `a/./b/../c` -> `a/c`.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

impl<'a> Loader<'a> {
    pub fn new(opts: &'a LoadOptions, templar: &'a Templar, modules: &'a ModuleTable) -> Self {
        Loader {
            opts,
            templar,
            modules,
            diags: Vec::new(),
            stack: Vec::new(),
            play: PlayState::default(),
        }
    }

    pub fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub fn finish<T>(self, v: T) -> Result<T, Vec<Diagnostic>> {
        if self.diags.is_empty() {
            Ok(v)
        } else {
            Err(self.diags)
        }
    }

    /// Reports a key that is not valid here, suggesting the closest valid one.
    pub fn unknown_key(&mut self, key: &Node, allowed: &[&str], what: &str) {
        let name = key.scalar_string().unwrap_or_default();
        let message = format!("unknown {what} keyword `{name}`");
        self.err(super::suggest::unknown_key(key, allowed, message, false));
    }

    pub fn load_yaml(&mut self, path: &Path) -> Option<Node> {
        match crate::yaml::load_file(path) {
            Ok(n) => Some(n),
            Err(d) => {
                self.err(d);
                None
            }
        }
    }

    /// Checks the Jinja syntax of every string inside a value.
    pub fn check_tree(&mut self, n: &Node) {
        match &n.value {
            Yaml::Str(s) if is_template(s) => {
                if let Err(d) = self.templar.check_syntax(s, &n.span) {
                    self.err(d);
                }
            }
            Yaml::Seq(s) => s.iter().for_each(|x| self.check_tree(x)),
            Yaml::Map(m) => m.iter().for_each(|(k, v)| {
                self.check_tree(k);
                self.check_tree(v);
            }),
            _ => {}
        }
    }

    pub fn bool_kw(&mut self, v: &Node, kw: &str) -> Option<bool> {
        let b = match &v.value {
            Yaml::Bool(b) => Some(*b),
            Yaml::Str(s) if !is_template(s) => to_bool(&Value::String(s.clone())),
            Yaml::Int(i) => to_bool(&Value::from(*i)),
            _ => None,
        };
        if b.is_none() {
            self.err(
                v.error(format!("`{kw}` must be a boolean, found {}", v.kind()))
                    .label("expected true or false"),
            );
        }
        b
    }

    /// A scalar keyword value as a string (numbers are stringified, as YAML users expect).
    pub fn string_kw(&mut self, v: &Node, kw: &str) -> Option<String> {
        match &v.value {
            Yaml::Str(_) | Yaml::Int(_) | Yaml::Float(_) | Yaml::Bool(_) => v.scalar_string(),
            _ => {
                self.err(v.error(format!("`{kw}` must be a string, found {}", v.kind())));
                None
            }
        }
    }

    /// A possibly templated string keyword, syntax-checked now.
    pub fn text_kw(&mut self, v: &Node, kw: &str) -> Option<Text> {
        let s = self.string_kw(v, kw)?;
        if let Err(d) = self.templar.check_syntax(&s, &v.span) {
            self.err(d);
        }
        Some(Text {
            value: s,
            span: v.span.clone(),
        })
    }

    pub fn u32_kw(&mut self, v: &Node, kw: &str) -> Option<u32> {
        let n = match &v.value {
            Yaml::Int(i) => u32::try_from(*i).ok(),
            Yaml::Str(s) => s.trim().parse().ok(),
            _ => None,
        };
        if n.is_none() {
            self.err(v.error(format!(
                "`{kw}` must be a non-negative integer, found {}",
                v.kind()
            )));
        }
        n
    }

    pub fn f64_kw(&mut self, v: &Node, kw: &str) -> Option<f64> {
        let n = match &v.value {
            Yaml::Int(i) => Some(*i as f64),
            Yaml::Float(f) => Some(*f),
            Yaml::Str(s) => s.trim().trim_end_matches('%').parse().ok(),
            _ => None,
        };
        if n.is_none() {
            self.err(v.error(format!("`{kw}` must be a number, found {}", v.kind())));
        }
        n
    }

    /// Tags: a comma-separated string, a scalar, or a list of scalars.
    pub fn tags_kw(&mut self, v: &Node) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |s: String| {
            for t in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                if !out.iter().any(|x| x == t) {
                    out.push(t.to_string());
                }
            }
        };
        match &v.value {
            Yaml::Null => {}
            Yaml::Seq(items) => {
                for i in items {
                    match i.scalar_string() {
                        Some(s) if !i.is_null() => push(s),
                        _ => {
                            self.err(i.error(format!("a tag must be a string, found {}", i.kind())))
                        }
                    }
                }
            }
            Yaml::Map(_) => {
                self.err(v.error("`tags` must be a string or a list of strings, found a mapping"))
            }
            _ => push(v.scalar_string().unwrap_or_default()),
        }
        out
    }

    /// A condition list (`when`, `changed_when`, ...): a string, a boolean or a list of them,
    /// each a bare Jinja expression checked now.
    pub fn conds_kw(&mut self, v: &Node, kw: &str) -> Vec<Cond> {
        let items: Vec<&Node> = match &v.value {
            Yaml::Seq(s) => s.iter().collect(),
            Yaml::Null => Vec::new(),
            _ => vec![v],
        };
        let mut out = Vec::new();
        for i in items {
            let expr = match &i.value {
                Yaml::Bool(b) => if *b { "True" } else { "False" }.to_string(),
                Yaml::Str(s) => s.clone(),
                Yaml::Int(_) | Yaml::Float(_) => i.scalar_string().unwrap_or_default(),
                _ => {
                    self.err(i.error(format!(
                        "`{kw}` must be an expression, a boolean or a list of them, found {}",
                        i.kind()
                    )));
                    continue;
                }
            };
            if expr.trim().is_empty() {
                self.err(i.error(format!("`{kw}` has an empty condition")));
                continue;
            }
            if let Err(d) = self.templar.check_expr_syntax(&expr, &i.span) {
                self.err(d);
            }
            out.push(Cond {
                expr,
                span: i.span.clone(),
            });
        }
        out
    }

    /// `vars:`: a mapping (or a list of mappings, merged), kept untemplated.
    pub fn vars_kw(&mut self, v: &Node, what: &str) -> Map<String, Value> {
        let mut out = Map::new();
        let maps: Vec<&Node> = match &v.value {
            Yaml::Null => Vec::new(),
            Yaml::Seq(s) => s.iter().collect(),
            _ => vec![v],
        };
        for m in maps {
            let Some(pairs) = m.as_map() else {
                self.err(m.error(format!("{what} must be a mapping, found {}", m.kind())));
                continue;
            };
            for (k, val) in pairs {
                let name = k.scalar_string().unwrap_or_default();
                if !is_var_name(&name) {
                    self.err(
                        k.error(format!("`{name}` is not a valid variable name"))
                            .label("in the variables of this item"),
                    );
                    continue;
                }
                self.check_tree(val);
                out.insert(name, val.to_json());
            }
        }
        out
    }

    /// `environment:`: a mapping of strings, or a template producing one.
    pub fn env_kw(&mut self, v: &Node) -> Option<Value> {
        match &v.value {
            Yaml::Map(_) => {
                self.check_tree(v);
                Some(v.to_json())
            }
            Yaml::Str(s) if is_template(s) => {
                self.check_tree(v);
                Some(v.to_json())
            }
            Yaml::Null => None,
            _ => {
                self.err(v.error(format!(
                    "`environment` must be a mapping, found {}",
                    v.kind()
                )));
                None
            }
        }
    }

    /// `sudo` and `su` are implemented; anything else (`doas`, `pbrun`...) would silently run
    /// as the wrong user, so it is refused before any host is contacted.
    pub fn become_method(&mut self, v: &Node) -> Option<BecomeMethod> {
        let method = v.as_str().and_then(BecomeMethod::parse);
        if method.is_none() {
            self.err(
                v.error("only `become_method: sudo` and `become_method: su` are supported")
                    .label("unsupported become method"),
            );
        }
        method
    }

    /// A string needed at load time (a role name, an import path): templates may only use
    /// extra vars, the one source of variables known before any host is contacted.
    pub fn render_static(&mut self, v: &Node, what: &str) -> Option<String> {
        let s = self.string_kw(v, what)?;
        if !is_template(&s) {
            return Some(s);
        }
        let ctx = minijinja::Value::from(minijinja::value::Serde(&self.opts.extra_vars));
        match self.templar.render_str(&s, &ctx, &v.span) {
            Ok(Value::String(r)) => Some(r),
            Ok(other) => Some(crate::values::to_str(&other).unwrap_or_default()),
            Err(d) => {
                self.err(Diagnostic::new(
                    d.span,
                    format!(
                        "{what} can only use extra vars (-e) at load time: {}",
                        d.message
                    ),
                ));
                None
            }
        }
    }

    /// Runs a nested load with cycle detection on `path`; `None` when it is a cycle.
    pub fn enter(&mut self, path: &Path, at: &Span) -> Option<PathBuf> {
        let canon = canonical(path);
        if self.stack.contains(&canon) {
            self.err(
                Diagnostic::new(
                    at.clone(),
                    format!("{} includes itself (cycle)", path.display()),
                )
                .label("cycle starts here"),
            );
            return None;
        }
        self.stack.push(canon.clone());
        Some(canon)
    }

    pub fn leave(&mut self) {
        self.stack.pop();
    }
}
