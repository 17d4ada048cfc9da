//! Role argument specs, Ansible's `meta/argument_specs.yml` (or `argument_specs:` in
//! `meta/main.yml`): what each entry point (`main`, or the `tasks_from` name) accepts, read
//! with spans so that a refused value can be explained by the role author's `description`.
//!
//! ansible-core checks a spec with a `validate_argument_spec` task it prepends to the role and
//! runs on every host; strata does the same (the module of that name uses this checker), and
//! also checks the values it can already see before any host is contacted: a playbook's
//! literal role parameters, and in a stack every attribute a role will see.
//!
//! A leaf room (YAML and diagnostics only), so that the loader, the module and the stack
//! model can all use it.

mod check;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use check::{Violation, check_entry, is_templated, node_from_json};

use crate::diagnostic::{Diagnostic, Span};
use crate::yaml::{Node, Yaml};

/// An option's `type`; Ansible's default, when none is given, is `str`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptType {
    Str,
    Int,
    Bool,
    Float,
    List,
    Dict,
    Path,
    Raw,
}

impl OptType {
    const NAMES: &'static [&'static str] =
        &["str", "int", "bool", "float", "list", "dict", "path", "raw"];

    fn parse(s: &str) -> Option<OptType> {
        Some(match s {
            "str" => OptType::Str,
            "int" => OptType::Int,
            "bool" => OptType::Bool,
            "float" => OptType::Float,
            "list" => OptType::List,
            "dict" => OptType::Dict,
            "path" => OptType::Path,
            "raw" => OptType::Raw,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            OptType::Str => "str",
            OptType::Int => "int",
            OptType::Bool => "bool",
            OptType::Float => "float",
            OptType::List => "list",
            OptType::Dict => "dict",
            OptType::Path => "path",
            OptType::Raw => "raw",
        }
    }
}

/// One option of an entry point, or a sub-option of a `dict` option (or of the `dict`
/// elements of a `list` option).
#[derive(Clone, Debug)]
pub struct Opt {
    pub name: String,
    pub ty: OptType,
    pub required: bool,
    pub default: Option<Node>,
    pub choices: Option<Vec<Node>>,
    pub elements: Option<OptType>,
    pub options: Vec<Opt>,
    /// The role author's explanation, paragraphs joined by newlines.
    pub description: Option<String>,
    /// The option's key in the spec file.
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct EntryPoint {
    pub name: String,
    pub short_description: Option<String>,
    pub description: Option<String>,
    pub options: Vec<Opt>,
    /// `options` as written, what the `validate_argument_spec` task is given.
    pub raw_options: serde_json::Value,
}

/// A role's argument specs.
#[derive(Clone, Debug)]
pub struct ArgSpecs {
    /// The file they were read from.
    pub file: PathBuf,
    pub entries: Vec<EntryPoint>,
}

impl ArgSpecs {
    /// The spec of the entry point a role use runs: its `tasks_from`, else `main`. As in
    /// ansible-core, an entry point without a spec is not checked (there is no fallback to
    /// `main` for a `tasks_from` the spec does not list).
    pub fn entry(&self, tasks_from: Option<&str>) -> Option<&EntryPoint> {
        let name = tasks_from.unwrap_or("main");
        self.entries.iter().find(|e| e.name == name)
    }
}

const ENTRY_KEYS: &[&str] = &[
    "short_description",
    "description",
    "options",
    "author",
    "version_added",
    "seealso",
    "notes",
    "examples",
    // ansible-core passes only `options` to its validator, so these are documentation there.
    "mutually_exclusive",
    "required_together",
    "required_one_of",
    "required_if",
    "required_by",
];
const OPTION_KEYS: &[&str] = &[
    "type",
    "required",
    "default",
    "choices",
    "elements",
    "options",
    "description",
    "version_added",
    "no_log",
    "apply_defaults",
];
/// Option keys ansible-core's validator honours and strata does not: refused, so that a
/// constraint the role author wrote is never silently dropped.
const UNSUPPORTED_OPTION_KEYS: &[&str] = &[
    "aliases",
    "fallback",
    "deprecated_aliases",
    "removed_in_version",
    "removed_at_date",
    "mutually_exclusive",
    "required_together",
    "required_one_of",
    "required_if",
    "required_by",
];

/// An unknown key, with the keys allowed there.
fn unknown_key(k: &Node, allowed: &[&str], message: String) -> Diagnostic {
    k.error(message)
        .label("not a valid key here")
        .help(format!("valid keys: {}", allowed.join(", ")))
}

/// `meta/argument_specs.yml` (or `.yaml`), else the `argument_specs` key of `meta/main.yml`,
/// as ansible-core looks for them (the two are not combined). `Ok(None)`: the role has none.
pub fn load(role_dir: &Path) -> Result<Option<ArgSpecs>, Vec<Diagnostic>> {
    let meta = role_dir.join("meta");
    let own = ["argument_specs.yml", "argument_specs.yaml"]
        .into_iter()
        .map(|f| meta.join(f))
        .find(|p| p.is_file());
    let (file, root, key_required) = match own {
        Some(p) => (p.clone(), load_yaml(&p)?, true),
        None => {
            let Some(p) = ["main.yml", "main.yaml", "main"]
                .into_iter()
                .map(|f| meta.join(f))
                .find(|p| p.is_file())
            else {
                return Ok(None);
            };
            (p.clone(), load_yaml(&p)?, false)
        }
    };
    let mut errors = Vec::new();
    let specs = match root.as_map() {
        Some(m) => {
            let mut specs = None;
            for (k, v) in m {
                if k.as_str() == Some("argument_specs") {
                    specs = Some(v);
                } else if key_required {
                    let msg = format!("unknown key `{}` in a role's argument specs", k);
                    errors.push(unknown_key(k, &["argument_specs"], msg));
                }
            }
            specs
        }
        None if root.is_null() => None,
        None => {
            errors.push(root.error(format!(
                "role argument specs must be a mapping with `argument_specs`, found {}",
                root.kind()
            )));
            None
        }
    };
    let Some(specs) = specs else {
        return if errors.is_empty() {
            Ok(None)
        } else {
            Err(errors)
        };
    };
    let mut entries = Vec::new();
    match &specs.value {
        Yaml::Map(m) => {
            for (k, v) in m {
                if let Some(e) = entry_point(k, v, &mut errors) {
                    entries.push(e);
                }
            }
        }
        Yaml::Null => {}
        _ => errors.push(specs.error(format!(
            "`argument_specs` must map entry point names to their specs, found {}",
            specs.kind()
        ))),
    }
    if errors.is_empty() {
        Ok(Some(ArgSpecs { file, entries }))
    } else {
        Err(errors)
    }
}

/// An entry point's `options` given as a value (the `argument_spec` argument of the
/// `validate_argument_spec` module), checked as the file's are.
pub fn options_from_node(v: &Node) -> Result<Vec<Opt>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let opts = options(v, &mut errors);
    if errors.is_empty() {
        Ok(opts)
    } else {
        Err(errors)
    }
}

fn load_yaml(p: &Path) -> Result<Node, Vec<Diagnostic>> {
    crate::yaml::load_file(p).map_err(|d| vec![d])
}

fn entry_point(k: &Node, v: &Node, errors: &mut Vec<Diagnostic>) -> Option<EntryPoint> {
    let name = k.scalar_string()?;
    let mut e = EntryPoint {
        name,
        short_description: None,
        description: None,
        options: Vec::new(),
        raw_options: serde_json::Value::Object(Default::default()),
    };
    let Some(m) = mapping(v, &format!("entry point `{}`", e.name), errors) else {
        return Some(e);
    };
    for (ek, ev) in m {
        match ek.as_str().unwrap_or_default() {
            "short_description" => e.short_description = description(ev, errors),
            "description" => e.description = description(ev, errors),
            "options" => {
                e.options = options(ev, errors);
                e.raw_options = ev.to_json();
            }
            key if ENTRY_KEYS.contains(&key) => {}
            key => {
                let msg = format!("unknown key `{key}` in entry point `{}`", e.name);
                errors.push(unknown_key(ek, ENTRY_KEYS, msg));
            }
        }
    }
    Some(e)
}

fn mapping<'n>(
    v: &'n Node,
    what: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<&'n [(Node, Node)]> {
    match &v.value {
        Yaml::Map(m) => Some(m),
        Yaml::Null => None,
        _ => {
            errors.push(v.error(format!("{what} must be a mapping, found {}", v.kind())));
            None
        }
    }
}

/// A `description`: a string, or a list of paragraphs.
fn description(v: &Node, errors: &mut Vec<Diagnostic>) -> Option<String> {
    match &v.value {
        Yaml::Str(s) => Some(s.trim_end().to_string()),
        Yaml::Seq(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter_map(|i| match i.scalar_string() {
                    Some(s) => Some(s.trim_end().to_string()),
                    None => {
                        errors.push(i.error("a description paragraph must be a string"));
                        None
                    }
                })
                .collect();
            Some(parts.join("\n"))
        }
        Yaml::Null => None,
        _ => {
            errors.push(v.error(format!(
                "a description must be a string or a list of strings, found {}",
                v.kind()
            )));
            None
        }
    }
}

fn options(v: &Node, errors: &mut Vec<Diagnostic>) -> Vec<Opt> {
    let Some(m) = mapping(v, "`options`", errors) else {
        return Vec::new();
    };
    m.iter().filter_map(|(k, v)| option(k, v, errors)).collect()
}

fn type_name(v: &Node, errors: &mut Vec<Diagnostic>) -> Option<OptType> {
    let t = v.as_str().and_then(OptType::parse);
    if t.is_none() {
        errors.push(
            v.error(format!(
                "unknown option type `{}`",
                v.scalar_string().unwrap_or_else(|| v.to_string())
            ))
            .label("not a type strata checks")
            .help(format!("use one of: {}", OptType::NAMES.join(", "))),
        );
    }
    t
}

fn option(k: &Node, v: &Node, errors: &mut Vec<Diagnostic>) -> Option<Opt> {
    let name = k.scalar_string()?;
    let mut o = Opt {
        name,
        ty: OptType::Str,
        required: false,
        default: None,
        choices: None,
        elements: None,
        options: Vec::new(),
        description: None,
        span: k.span.clone(),
    };
    let Some(m) = mapping(v, &format!("option `{}`", o.name), errors) else {
        return Some(o);
    };
    for (ok, ov) in m {
        match ok.as_str().unwrap_or_default() {
            "type" => o.ty = type_name(ov, errors).unwrap_or(OptType::Raw),
            "elements" => o.elements = type_name(ov, errors),
            "required" => match &ov.value {
                Yaml::Bool(b) => o.required = *b,
                _ => errors.push(ov.error("`required` must be true or false")),
            },
            "default" => o.default = Some(ov.clone()),
            "choices" => match &ov.value {
                Yaml::Seq(items) => o.choices = Some(items.clone()),
                _ => {
                    errors.push(ov.error(format!("`choices` must be a list, found {}", ov.kind())))
                }
            },
            "options" => o.options = options(ov, errors),
            "description" => o.description = description(ov, errors),
            key if OPTION_KEYS.contains(&key) => {}
            key if UNSUPPORTED_OPTION_KEYS.contains(&key) => errors.push(
                ok.error(format!(
                    "strata does not check `{key}` in role argument specs"
                ))
                .label("not supported")
                .help(format!(
                    "supported option keys: {}",
                    OPTION_KEYS[..7].join(", ")
                )),
            ),
            key => {
                let msg = format!("unknown key `{key}` in option `{}`", o.name);
                errors.push(unknown_key(ok, OPTION_KEYS, msg));
            }
        }
    }
    if o.required && o.default.is_some() {
        errors.push(
            k.error(format!(
                "option `{}` is both `required` and has a `default`",
                o.name
            ))
            .help("ansible-core refuses this spec too: drop one of them"),
        );
    }
    Some(o)
}

/// A violation as an input error: `what` names where the value comes from (`attribute`,
/// `variable`, `role parameter`), the label says what is allowed, the option's description is
/// the note (the role author's reason), and the help points at the spec and its entry points.
pub fn diagnostic(
    v: &Violation,
    what: &str,
    role: &str,
    specs: &ArgSpecs,
    entry_points: &[String],
) -> Diagnostic {
    let mut d = Diagnostic::new(
        v.span.clone(),
        format!(
            "{what} `{}` is refused by role `{role}`'s argument spec: {}",
            v.path, v.problem
        ),
    )
    .label(format!("allowed: {}", v.allowed));
    if let Some(desc) = &v.description {
        d = d.note(format!("`{}`: {desc}", v.path));
    }
    let points = entry_points
        .iter()
        .map(|e| format!("`{e}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let plural = if entry_points.len() == 1 { "" } else { "s" };
    d.help(format!(
        "checked against entry point{plural} {points} of {}",
        specs.file.display()
    ))
}
