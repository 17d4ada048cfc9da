//! A task's loop keywords: `loop`, `with_items`, `with_dict`, `with_<lookup>` (each lookup as
//! its `with_` keyword) and `loop_control`, parsed into a [`LoopSpec`] with its span.

use super::loader::{Loader, is_var_name};
use super::model::{LoopKind, LoopSpec};
use crate::template::is_template;
use crate::yaml::{Node, Yaml};

pub fn loop_name(k: &LoopKind) -> String {
    match k {
        LoopKind::Loop => "loop".into(),
        LoopKind::Items => "with_items".into(),
        LoopKind::Dict => "with_dict".into(),
        LoopKind::Lookup(l) => format!("with_{l}"),
    }
}

/// The lookup behind a `with_<lookup>:` keyword other than the three with kinds of their own.
pub fn lookup_loop(keyword: &str) -> Option<&str> {
    keyword
        .strip_prefix("with_")
        .filter(|l| crate::template::lookup::is_known(l) && !l.contains('.'))
}

pub fn parse_loop(ld: &mut Loader, name: &str, v: &Node) -> Option<LoopSpec> {
    let kind = match name {
        "with_items" => LoopKind::Items,
        "with_dict" => LoopKind::Dict,
        "loop" | "with_list" => LoopKind::Loop,
        other => LoopKind::Lookup(lookup_loop(other).unwrap_or_default().to_string()),
    };
    let ok = match (&v.value, &kind) {
        // A lookup's terms may be anything (a `k=v` string, a list, a mapping).
        (_, LoopKind::Lookup(_)) => true,
        (Yaml::Str(s), _) if is_template(s) => true,
        (Yaml::Map(_), LoopKind::Dict) => true,
        (Yaml::Seq(_), LoopKind::Loop | LoopKind::Items) => true,
        // `with_items: foo` loops over the one string, as Ansible does today.
        (Yaml::Str(_), LoopKind::Items) => true,
        _ => false,
    };
    if !ok {
        let expected = if kind == LoopKind::Dict {
            "a mapping or a template"
        } else {
            "a list or a template"
        };
        ld.err(v.error(format!("`{name}` must be {expected}, found {}", v.kind())));
        return None;
    }
    ld.check_tree(v);
    Some(LoopSpec {
        kind,
        value: v.to_json(),
        span: v.span.clone(),
        loop_var: "item".into(),
        index_var: None,
        label: None,
        pause: None,
    })
}

pub fn parse_loop_control(ld: &mut Loader, v: &Node, l: &mut LoopSpec) {
    const KEYS: &[&str] = &["loop_var", "index_var", "label", "pause"];
    let Some(map) = v.as_map() else {
        ld.err(v.error(format!(
            "`loop_control` must be a mapping, found {}",
            v.kind()
        )));
        return;
    };
    for (k, val) in map {
        let name = k.as_str().unwrap_or_default();
        match name {
            "loop_var" | "index_var" => match ld.string_kw(val, name) {
                Some(s) if is_var_name(&s) => {
                    if name == "loop_var" {
                        l.loop_var = s;
                    } else {
                        l.index_var = Some(s);
                    }
                }
                Some(s) => {
                    ld.err(val.error(format!("`{s}` is not a valid variable name for `{name}`")))
                }
                None => {}
            },
            "label" => l.label = ld.text_kw(val, name).map(|t| t.value),
            "pause" => l.pause = ld.f64_kw(val, name),
            _ => ld.unknown_key(k, KEYS, "loop_control"),
        }
    }
}
