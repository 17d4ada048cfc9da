//! Load-time checks of the local files a task will read: a `template` whose source is
//! missing or has a Jinja syntax error, or a missing `copy`/`script` source, is reported
//! before any host is touched.

use serde_json::{Map, Value};

use super::freeform::{parse_kv, split_args, unquote};
use super::loader::{Loader, Scope};
use super::module_args::inner_span;
use super::module_table::{FreeForm, ModuleSpec, SearchPaths};
use crate::diagnostic::Span;
use crate::template::is_template;
use crate::values::to_bool;
use crate::yaml::Node;

/// Search roots as the executor uses them: the task's base directory, then the playbook's.
pub fn search_paths(scope: &Scope) -> SearchPaths {
    let mut roots = vec![scope.base_dir.clone()];
    if scope.playbook_dir != scope.base_dir {
        roots.push(scope.playbook_dir.clone());
    }
    SearchPaths { roots }
}

/// The position of parameter `name` where it was written (inside a free-form string when
/// possible), else the module key. For a raw command the file is its first word.
pub(super) fn param_span(
    name: &str,
    raw: bool,
    key: &Node,
    value: &Node,
    args_kw: Option<&Node>,
) -> Span {
    if let Some(n) = value
        .get(name)
        .or_else(|| args_kw.and_then(|a| a.get(name)))
    {
        return n.span.clone();
    }
    let Some(s) = value.as_str() else {
        return key.span.clone();
    };
    let Ok(parsed) = parse_kv(s, raw.then_some(&[][..])) else {
        return value.span.clone();
    };
    if raw {
        let len = s[parsed.raw_offset..]
            .split_whitespace()
            .next()
            .map_or(1, str::len);
        return inner_span(value, s, parsed.raw_offset, len);
    }
    match parsed.options.iter().find(|o| o.key == name) {
        Some(o) => inner_span(value, s, o.offset + o.key.len() + 1, o.value.len().max(1)),
        None => value.span.clone(),
    }
}

pub fn check(
    ld: &mut Loader,
    spec: &ModuleSpec,
    args: &Map<String, Value>,
    key: &Node,
    value: &Node,
    args_kw: Option<&Node>,
    scope: &Scope,
) {
    let static_str = |name: &str| {
        args.get(name)
            .and_then(Value::as_str)
            .filter(|s| !is_template(s))
            .map(str::to_string)
    };
    let (subdir, param, path) = match spec.name {
        "template" => ("templates", "src", static_str("src")),
        "copy" if !args.get("remote_src").and_then(to_bool).unwrap_or(false) => {
            ("files", "src", static_str("src"))
        }
        "script" => {
            let FreeForm::Raw(raw) = spec.free_form else {
                return;
            };
            let first = static_str(raw)
                .and_then(|cmd| split_args(&cmd).ok())
                .and_then(|t| t.into_iter().next())
                .map(|t| unquote(&t.text).to_string());
            ("files", raw, first)
        }
        _ => return,
    };
    let Some(path) = path else { return };
    let sp = search_paths(scope);
    match sp.find(subdir, &path) {
        Some(found) if spec.name == "template" => {
            if let Err(d) = ld.templar.check_file_syntax(&found) {
                ld.err(d);
            }
        }
        Some(_) => {}
        None => {
            let looked: Vec<String> = sp
                .roots
                .iter()
                .map(|r| r.join(subdir).display().to_string())
                .collect();
            let span = param_span(param, spec.name == "script", key, value, args_kw);
            ld.err(
                crate::diagnostic::Diagnostic::new(
                    span,
                    format!("`{}` source file `{path}` not found", spec.name),
                )
                .label("no such file")
                .help(format!(
                    "looked in {} (and their parent directories)",
                    looked.join(", ")
                )),
            );
        }
    }
}
