//! Keywords shared by tasks, blocks, includes and role uses ([`Common`]), and how they flow
//! from a parent (play, role, block, import) down to its children.

use serde_json::Value;

use super::loader::Loader;
use super::model::{Common, Cond, IntKw, Item, Text};
use crate::template::is_template;
use crate::values::to_bool;
use crate::yaml::{Node, Yaml};

pub const COMMON_KEYWORDS: &[&str] = &[
    "when",
    "tags",
    "vars",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "environment",
    "ignore_errors",
    "no_log",
    "check_mode",
    "diff",
    "delegate_to",
    "delegate_facts",
    "run_once",
    "any_errors_fatal",
    "throttle",
    "timeout",
    "ignore_unreachable",
];

/// Parses `key` into `c` when it is a common keyword; returns whether it was one.
pub fn parse_common(ld: &mut Loader, key: &str, v: &Node, c: &mut Common) -> bool {
    match key {
        "when" => c.when = ld.conds_kw(v, key),
        "tags" => c.tags = ld.tags_kw(v),
        "vars" => c.vars = ld.vars_kw(v, "`vars`"),
        "become" => c.become_ = ld.bool_kw(v, key),
        "become_user" => c.become_user = ld.text_kw(v, key),
        "become_method" => c.become_method = ld.become_method(v),
        "become_flags" => c.become_flags = ld.string_kw(v, key),
        "environment" => c.environment = ld.env_kw(v),
        "ignore_errors" => c.ignore_errors = flag_cond(ld, v, key),
        "no_log" => c.no_log = ld.bool_kw(v, key),
        "check_mode" => c.check_mode = ld.bool_kw(v, key),
        "diff" => c.diff = ld.bool_kw(v, key),
        "delegate_to" => match ld.text_kw(v, key) {
            Some(t) if t.value.trim().is_empty() => ld.err(
                v.error("`delegate_to` is empty")
                    .label("no host")
                    .help("name an inventory host, or remove `delegate_to`"),
            ),
            t => c.delegate_to = t,
        },
        "delegate_facts" => c.delegate_facts = ld.bool_kw(v, key),
        "run_once" => c.run_once = ld.bool_kw(v, key).unwrap_or(false),
        "any_errors_fatal" => c.any_errors_fatal = ld.bool_kw(v, key),
        "throttle" => c.throttle = int_kw(ld, v, key),
        "timeout" => c.timeout = int_kw(ld, v, key),
        "ignore_unreachable" => c.ignore_unreachable = ld.bool_kw(v, key),
        _ => return false,
    }
    true
}

/// A non-negative integer, or a template rendered when the task runs (Ansible templates
/// `throttle` and `timeout` then); anything else is refused now, since Ansible would fail
/// the task with "Failed to convert the throttle value to an integer" on every host.
pub fn int_kw(ld: &mut Loader, v: &Node, kw: &str) -> Option<IntKw> {
    let n = match &v.value {
        Yaml::Int(i) => Some(*i),
        Yaml::Str(s) if is_template(s) => {
            if let Err(d) = ld.templar.check_syntax(s, &v.span) {
                ld.err(d);
            }
            return Some(IntKw::Template(Text {
                value: s.clone(),
                span: v.span.clone(),
            }));
        }
        Yaml::Str(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n >= 0 => Some(IntKw::Int(n)),
        _ => {
            let found = v.scalar_string().unwrap_or_else(|| v.kind().to_string());
            ld.err(
                v.error(format!(
                    "`{kw}` must be a non-negative integer or a template, found `{found}`"
                ))
                .label("not an integer"),
            );
            None
        }
    }
}

/// A boolean that may also be a template (`ignore_errors: "{{ x }}"`), kept as a condition.
fn flag_cond(ld: &mut Loader, v: &Node, kw: &str) -> Option<Cond> {
    match &v.value {
        Yaml::Str(s) if is_template(s) => {
            if let Err(d) = ld.templar.check_expr_syntax(s, &v.span) {
                ld.err(d);
            }
            Some(Cond {
                expr: s.clone(),
                span: v.span.clone(),
            })
        }
        Yaml::Str(s) if to_bool(&Value::String(s.clone())).is_none() => {
            ld.err(v.error(format!(
                "`{kw}` must be a boolean or a template, found `{s}`"
            )));
            None
        }
        _ => ld.bool_kw(v, kw).map(|b| Cond {
            expr: if b { "True" } else { "False" }.to_string(),
            span: v.span.clone(),
        }),
    }
}

/// Merges what a child inherits from `parent`: tags accumulate, vars are overridden by the
/// child's own, other keywords apply when the child does not set them. `when` is never
/// copied: a block's condition is evaluated by the executor for each of its children.
pub fn merge_into(child: &mut Common, parent: &Common) {
    let mut tags = parent.tags.clone();
    for t in &child.tags {
        if !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    child.tags = tags;
    if !parent.vars.is_empty() {
        let mut vars = parent.vars.clone();
        vars.extend(std::mem::take(&mut child.vars));
        child.vars = vars;
    }
    child.become_ = child.become_.or(parent.become_);
    child.become_user = child
        .become_user
        .take()
        .or_else(|| parent.become_user.clone());
    child.become_method = child.become_method.or(parent.become_method);
    child.become_flags = child
        .become_flags
        .take()
        .or_else(|| parent.become_flags.clone());
    child.environment = match (child.environment.take(), &parent.environment) {
        (Some(Value::Object(c)), Some(Value::Object(p))) => {
            let mut env = p.clone();
            env.extend(c);
            Some(Value::Object(env))
        }
        (Some(c), _) => Some(c),
        (None, p) => p.clone(),
    };
    child.ignore_errors = child
        .ignore_errors
        .take()
        .or_else(|| parent.ignore_errors.clone());
    child.no_log = child.no_log.or(parent.no_log);
    child.check_mode = child.check_mode.or(parent.check_mode);
    child.diff = child.diff.or(parent.diff);
    child.delegate_to = child
        .delegate_to
        .take()
        .or_else(|| parent.delegate_to.clone());
    child.delegate_facts = child.delegate_facts.or(parent.delegate_facts);
    child.run_once |= parent.run_once;
    child.any_errors_fatal = child.any_errors_fatal.or(parent.any_errors_fatal);
    child.throttle = child.throttle.take().or_else(|| parent.throttle.clone());
    child.timeout = child.timeout.take().or_else(|| parent.timeout.clone());
    child.ignore_unreachable = child.ignore_unreachable.or(parent.ignore_unreachable);
}

/// What children inherit from an item: everything but its `when`.
pub fn heritable(c: &Common) -> Common {
    Common {
        when: Vec::new(),
        ..c.clone()
    }
}

/// What a dynamic include passes to its content: tags and `when` of an `include_tasks` or
/// `include_role` apply to the include itself only (Ansible's rule); the rest is inherited.
pub fn include_heritable(c: &Common) -> Common {
    Common {
        tags: Vec::new(),
        when: Vec::new(),
        ..c.clone()
    }
}

/// Applies `parent` to items and, recursively, to their children (including the preloaded
/// contents of static includes). The executor uses this for includes loaded at run time.
pub fn inherit(items: &mut [Item], parent: &Common) {
    for item in items {
        match item {
            Item::Task(t) => merge_into(&mut t.common, parent),
            Item::Block(b) => {
                merge_into(&mut b.common, parent);
                inherit(&mut b.block, parent);
                inherit(&mut b.rescue, parent);
                inherit(&mut b.always, parent);
            }
            Item::IncludeTasks(i) => {
                merge_into(&mut i.common, parent);
                merge_into(&mut i.inherited, parent);
                if let Some(p) = &mut i.preloaded {
                    inherit(p, parent);
                }
            }
            Item::IncludeRole(i) => {
                merge_into(&mut i.common, parent);
                merge_into(&mut i.inherited, parent);
                if let Some((p, _)) = &mut i.preloaded {
                    inherit(p, parent);
                }
            }
        }
    }
}
