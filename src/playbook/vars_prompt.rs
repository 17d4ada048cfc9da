//! Play `vars_prompt`: the variables a play asks the operator for before it runs. Only the
//! entries' shape is checked here; whether they can be asked at all (a terminal, or `-e`)
//! is decided by the run before any host is touched.

use super::loader::{Loader, is_var_name};
use super::model::VarPrompt;
use crate::yaml::{Node, Yaml};

const KEYS: &[&str] = &["name", "prompt", "private", "default", "confirm", "unsafe"];

/// Keys Ansible accepts that strata refuses, with why.
const REFUSED: &[(&str, &str)] = &[
    (
        "encrypt",
        "strata does not hash prompted values; hash the value with the `password_hash` filter",
    ),
    ("salt", "strata does not hash prompted values"),
    ("salt_size", "strata does not hash prompted values"),
];

pub fn parse_vars_prompt(ld: &mut Loader, v: &Node) -> Vec<VarPrompt> {
    let entries = match &v.value {
        Yaml::Seq(s) => &s[..],
        Yaml::Null => &[][..],
        _ => {
            ld.err(v.error(format!(
                "`vars_prompt` must be a list of prompts, found {}",
                v.kind()
            )));
            return Vec::new();
        }
    };
    entries.iter().filter_map(|e| entry(ld, e)).collect()
}

fn entry(ld: &mut Loader, e: &Node) -> Option<VarPrompt> {
    let Some(map) = e.as_map() else {
        ld.err(e.error(format!(
            "a `vars_prompt` entry must be a mapping, found {}",
            e.kind()
        )));
        return None;
    };
    let mut p = VarPrompt {
        name: String::new(),
        prompt: String::new(),
        private: true,
        default: None,
        confirm: false,
        span: e.span.clone(),
    };
    for (k, v) in map {
        let key = k.as_str().unwrap_or_default();
        match key {
            "name" => p.name = ld.string_kw(v, key).unwrap_or_default(),
            "prompt" => p.prompt = ld.string_kw(v, key).unwrap_or_default(),
            "private" => p.private = ld.bool_kw(v, key).unwrap_or(true),
            "confirm" => p.confirm = ld.bool_kw(v, key).unwrap_or(false),
            "default" => p.default = Some(v.to_json()),
            "unsafe" => {
                ld.bool_kw(v, key);
            }
            _ => match REFUSED.iter().find(|(r, _)| *r == key) {
                Some((_, why)) => ld.err(
                    k.error(format!("`vars_prompt` option `{key}` is not supported"))
                        .label("not supported")
                        .help(*why),
                ),
                None => ld.unknown_key(k, KEYS, "vars_prompt entry"),
            },
        }
    }
    if p.name.is_empty() {
        ld.err(
            e.error("a `vars_prompt` entry needs a `name`")
                .label("this entry"),
        );
        return None;
    }
    if !is_var_name(&p.name) {
        ld.err(e.error(format!("`{}` is not a valid variable name", p.name)));
        return None;
    }
    if p.prompt.is_empty() {
        p.prompt = p.name.clone();
    }
    Some(p)
}
