//! The old-style `action:` and `local_action:` keywords, where the module is named inside the
//! value (`local_action: command echo hi`, or a mapping with `module:`). They are turned into
//! the module key and value a task normally has, with spans inside the original scalar, so
//! the module's arguments are validated like any other task's. `local_action` also delegates
//! the task to the controller, as Ansible's argument parser does.

use super::loader::Loader;
use super::module_args::inner_span;
use crate::yaml::{Node, Yaml};

pub const ACTION_KEYS: &[&str] = &["action", "local_action"];

/// The module key and value `action`/`local_action` stand for, or `None` after an error.
pub fn split_action(ld: &mut Loader, key: &Node, value: &Node) -> Option<(Node, Node)> {
    let kw = key.as_str().unwrap_or("action");
    match &value.value {
        Yaml::Str(s) => {
            let Some((name, rest_at)) = first_word(s) else {
                ld.err(
                    value
                        .error(format!("`{kw}` names no module"))
                        .label("empty"),
                );
                return None;
            };
            let module = Node {
                value: Yaml::Str(name.to_string()),
                span: inner_span(value, s, s.len() - s.trim_start().len(), name.len()),
            };
            let rest = s[rest_at..].trim_start();
            let offset = s.len() - rest.len();
            let args = Node {
                value: if rest.trim().is_empty() {
                    Yaml::Null
                } else {
                    Yaml::Str(rest.to_string())
                },
                span: inner_span(value, s, offset, rest.len().max(1)),
            };
            Some((module, args))
        }
        Yaml::Map(m) => {
            let Some((_, module)) = m.iter().find(|(k, _)| k.as_str() == Some("module")) else {
                ld.err(
                    value
                        .error(format!("`{kw}` as a mapping needs a `module` key"))
                        .label("no `module`"),
                );
                return None;
            };
            let name = module.as_str().map(str::trim).unwrap_or_default();
            if name.is_empty() || name.contains(char::is_whitespace) {
                ld.err(
                    module
                        .error("`module` must be just the module's name")
                        .help("put the module's arguments beside `module:` as keys"),
                );
                return None;
            }
            let args = m
                .iter()
                .filter(|(k, _)| k.as_str() != Some("module"))
                .cloned()
                .collect();
            let module = Node {
                value: Yaml::Str(name.to_string()),
                span: module.span.clone(),
            };
            Some((
                module,
                Node {
                    value: Yaml::Map(args),
                    span: value.span.clone(),
                },
            ))
        }
        _ => {
            ld.err(value.error(format!(
                "`{kw}` must be a string or a mapping, found {}",
                value.kind()
            )));
            None
        }
    }
}

/// The first whitespace-separated word and the byte offset just after it.
fn first_word(s: &str) -> Option<(&str, usize)> {
    let start = s.len() - s.trim_start().len();
    let word = s[start..].split_whitespace().next()?;
    Some((word, start + word.len()))
}
