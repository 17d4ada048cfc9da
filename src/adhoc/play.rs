//! The one play of an ad-hoc command, as ansible-core's `AdHocCLI._play_ds` makes it: named
//! `Ansible Ad-Hoc`, on PATTERN, no fact gathering, one task whose module is `-m` and whose
//! arguments are `-a` (a JSON object, else free form / `k=v`). The task is spanned YAML
//! handed to the playbook loader, so it is validated exactly as a playbook task is; spans
//! point into the command line's `-m` and `-a` values.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, InputErrors, Span};
use crate::playbook::freeform::parse_kv;
use crate::playbook::model::{Play, Text};
use crate::playbook::{LoadOptions, play_with_tasks};
use crate::template::Templar;
use crate::template::pyrepr::{py_repr, repr_str};
use crate::yaml::{Node, Yaml};

/// Modules that take their command as free form and refuse to run without one (Ansible's
/// `MODULE_REQUIRE_ARGS`, without the Windows ones).
const REQUIRE_ARGS: &[&str] = &["command", "raw", "script", "shell"];

/// The `k=v` words Ansible's `parse_kv(check_raw=True)` takes as options of those modules;
/// every other word stays part of the command.
const RAW_KEYS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// The task of an ad-hoc command, before the loader has seen it.
pub struct AdhocTask {
    /// `[{MODULE: ARGS}]`, spanned into the command line.
    pub tasks: Node,
    /// Ansible's origin of the task in its error blocks: `<adhoc 'command' task>`.
    pub origin: String,
    /// Python's `repr` of the task as Ansible builds it, shown under an error.
    pub repr: String,
}

/// The module name without `ansible.builtin.` or `ansible.legacy.`.
pub fn short_name(module: &str) -> &str {
    module
        .strip_prefix("ansible.builtin.")
        .or_else(|| module.strip_prefix("ansible.legacy."))
        .unwrap_or(module)
}

/// A span into a command-line option's value (no file to show a snippet from).
fn cli_span(option: &str, offset: usize, len: usize) -> Span {
    Span::new(
        &Arc::new(PathBuf::from(format!("<{option}>"))),
        1,
        offset as u32 + 1,
        len as u32,
    )
}

fn node(value: Yaml, span: &Span) -> Node {
    Node {
        value,
        span: span.clone(),
    }
}

/// `-a` as a JSON object, when it is one (Ansible tries JSON when the text is in braces).
fn json_args(args: &str) -> Option<Map<String, Value>> {
    let t = args.trim();
    if !(t.starts_with('{') && t.ends_with('}')) {
        return None;
    }
    match serde_json::from_str(t) {
        Ok(Value::Object(m)) if !m.is_empty() => Some(m),
        _ => None,
    }
}

/// The ad-hoc task for `-m module -a args`; refuses what Ansible refuses before loading.
pub fn task(module: &str, args: Option<&str>) -> Result<AdhocTask, InputErrors> {
    let short = short_name(module);
    let m_span = cli_span("-m", 0, module.chars().count());
    let args = args.filter(|a| !a.is_empty());
    if module.is_empty() {
        return Err(InputErrors(vec![Diagnostic::new(
            m_span,
            "no module given with -m",
        )]));
    }
    if REQUIRE_ARGS.contains(&short) && args.is_none() {
        return Err(InputErrors(vec![
            Diagnostic::new(
                Span::unknown(),
                format!("No argument passed to {module} module"),
            )
            .help(format!("give the command with -a: -m {module} -a 'uptime'")),
        ]));
    }
    if short == "import_playbook" {
        return Err(InputErrors(vec![Diagnostic::new(
            m_span,
            format!("'{module}' is not a valid action for ad-hoc commands"),
        )]));
    }
    let a_span = cli_span("-a", 0, args.map_or(0, |a| a.chars().count()));
    let json = args.and_then(json_args);
    let (value, repr_args) = match (&json, args) {
        (Some(m), _) => (
            crate::argspec::node_from_json(&Value::Object(m.clone()), &a_span),
            Value::Object(m.clone()),
        ),
        (None, Some(a)) => (
            node(Yaml::Str(a.to_string()), &a_span),
            kv_args(a, REQUIRE_ARGS.contains(&short)),
        ),
        (None, None) => (node(Yaml::Null, &a_span), Value::Object(Map::new())),
    };
    let entry = node(
        Yaml::Map(vec![(node(Yaml::Str(module.to_string()), &m_span), value)]),
        &m_span,
    );
    Ok(AdhocTask {
        tasks: node(Yaml::Seq(vec![entry]), &m_span),
        origin: format!("<adhoc {} task>", repr_str(module)),
        repr: format!(
            "{{'action': {}, 'args': {}, 'timeout': 0, 'async_val': 0, 'poll': 15}}",
            repr_str(module),
            repr(&repr_args)
        ),
    })
}

/// `-a` as Ansible's `parse_kv` splits it, for the task's repr: options in order, then the
/// leftover words as `_raw_params`.
fn kv_args(args: &str, check_raw: bool) -> Value {
    let mut m = Map::new();
    if let Ok(p) = parse_kv(args, check_raw.then_some(RAW_KEYS)) {
        for o in p.options {
            m.insert(o.key, Value::String(o.value));
        }
        if let Some(raw) = p.raw {
            m.insert("_raw_params".into(), Value::String(raw));
        }
    }
    Value::Object(m)
}

/// Python's `repr` of a JSON value, keys in their order.
fn repr(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, x)| format!("{}: {}", repr_str(k), repr(x)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(repr).collect::<Vec<_>>().join(", ")),
        other => py_repr(&minijinja::Value::from(minijinja::value::Serde(other))),
    }
}

/// What the play needs beyond the task.
pub struct PlaySpec<'a> {
    pub pattern: &'a str,
    pub base_dir: &'a Path,
    pub become_: bool,
    pub become_user: Option<&'a str>,
    /// Per-host variables at play-`vars` precedence (a stack's `stack` and attributes).
    pub host_vars: std::collections::HashMap<String, Arc<Map<String, Value>>>,
}

/// The validated play: the task through the playbook loader.
pub fn play(
    spec: PlaySpec,
    task: &AdhocTask,
    load: &LoadOptions,
    templar: &Templar,
) -> Result<Play, InputErrors> {
    let span = cli_span("PATTERN", 0, spec.pattern.chars().count());
    let mut play = Play::new(span.clone(), spec.base_dir.to_path_buf());
    play.name = "Ansible Ad-Hoc".into();
    play.hosts = Text {
        value: spec.pattern.to_string(),
        span,
    };
    play.gather_facts = false;
    if spec.become_ {
        play.become_ = Some(true);
    }
    play.become_user = spec.become_user.map(str::to_string);
    play.host_vars = spec.host_vars;
    play_with_tasks(play, &task.tasks, load, templar).map_err(InputErrors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_follows_ansible() {
        let t = task("command", Some("chdir=/tmp ls -l")).unwrap();
        assert_eq!(
            t.repr,
            "{'action': 'command', 'args': {'chdir': '/tmp', '_raw_params': 'ls -l'}, 'timeout': 0, 'async_val': 0, 'poll': 15}"
        );
        assert_eq!(t.origin, "<adhoc 'command' task>");
        let t = task("copy", Some(r#"{"dest": "/x", "mode": 420}"#)).unwrap();
        assert!(
            t.repr.contains("'args': {'dest': '/x', 'mode': 420}"),
            "{}",
            t.repr
        );
        let t = task("ping", None).unwrap();
        assert!(t.repr.contains("'args': {}"), "{}", t.repr);
    }

    #[test]
    fn refuses_what_ansible_refuses() {
        let e = task("shell", None).err().unwrap();
        assert!(
            e.0[0]
                .message
                .contains("No argument passed to shell module")
        );
        assert!(task("ansible.builtin.import_playbook", Some("x.yml")).is_err());
    }

    #[test]
    fn the_task_is_validated_by_the_loader() {
        let templar = Templar::new();
        let load = LoadOptions::default();
        let spec = || PlaySpec {
            pattern: "all",
            base_dir: Path::new("/tmp"),
            become_: true,
            become_user: None,
            host_vars: Default::default(),
        };
        let t = task("copy", Some("dest=/x content=hi")).unwrap();
        let p = play(spec(), &t, &load, &templar).unwrap();
        assert_eq!(
            (p.tasks.len(), p.gather_facts, p.become_),
            (1, false, Some(true))
        );
        let t = task("nosuch", Some("a=b")).unwrap();
        let e = play(spec(), &t, &load, &templar).err().unwrap();
        assert!(e.0[0].span.to_string().starts_with("<-m>:1:1"), "{:?}", e.0);
        let t = task("copy", Some("dest=/x bogus=1")).unwrap();
        assert!(play(spec(), &t, &load, &templar).is_err());
    }
}
