//! `set_fact`: sets host variables from its arguments, on the controller. Values arrive
//! already templated with native types; as in ansible-core 2.19 a literal string such as
//! `"yes"` stays a string.

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::diagnostic::Span;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::template::is_template;

pub struct SetFact;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "set_fact",
    // `cacheable: true` also makes the values facts (`ansible_facts.NAME`, the fact cache,
    // which lives as long as the run: strata keeps no fact cache between runs, as Ansible's
    // default `memory` cache keeps none).
    params: &[Param::new("cacheable", T::Bool)],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: true,
};

impl Module for SetFact {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(async move { run(ctx, args) })
    }
}

fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let facts_cacheable = args.bool_or("cacheable", false)?;
    let mut facts = Map::new();
    for (k, v) in args.0.iter().filter(|(k, _)| k.as_str() != "cacheable") {
        let name = match variable_name(ctx, k) {
            Ok(n) => n,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        facts.insert(name, v.clone());
    }
    if facts.is_empty() {
        return Ok(ModuleResult::failed(
            "No key/value pairs provided, at least one is required for this action to succeed",
        ));
    }
    Ok(ModuleResult {
        facts,
        facts_cacheable,
        ..ModuleResult::default()
    })
}

/// Python's `str.isidentifier()` for ASCII names, as Ansible's variable name check.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// A variable name as `set_fact` and `set_stats` take it: templated (facts named after
/// data), then checked to be an identifier, with Ansible's message.
pub fn variable_name(ctx: &ModuleCtx<'_>, k: &str) -> Result<String, String> {
    let name = if is_template(k) {
        match ctx.templar.render_str(k, ctx.vars, &Span::unknown()) {
            Ok(Value::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(d) => return Err(d.message),
        }
    } else {
        k.to_string()
    };
    if !is_identifier(&name) {
        return Err(format!(
            "The variable name '{name}' is not valid. Variables must start with a letter or underscore character, and contain only letters, numbers and underscores."
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Harness, load_errors};
    use serde_json::json;

    #[tokio::test]
    async fn cacheable_facts_are_marked_for_the_fact_cache() {
        assert!(load_errors(&SPEC, "a: 1\ncacheable: yes\n").is_empty());
        let h = Harness::new();
        let r = h.run(&SetFact, json!({"a": 1, "cacheable": true})).await;
        assert!(r.facts_cacheable && !r.failed);
        assert_eq!(r.facts.get("a"), Some(&json!(1)));
        let r = h.run(&SetFact, json!({"a": 1})).await;
        assert!(!r.facts_cacheable);
    }

    #[tokio::test]
    async fn sets_facts_with_native_values() {
        let h = Harness::new().vars(json!({"name": "dyn"}));
        let r = h.run(&SetFact, json!({"a": 1, "b": "yes", "c": [1, {"x": true}], "{{ name }}_x": "v", "cacheable": false})).await;
        assert!(!r.changed && !r.failed);
        assert_eq!(
            Value::Object(r.facts.clone()),
            json!({"a": 1, "b": "yes", "c": [1, {"x": true}], "dyn_x": "v"})
        );
        assert_eq!(r.to_value()["ansible_facts"]["a"], 1);
    }

    #[tokio::test]
    async fn rejects_bad_names_and_empty_args() {
        let h = Harness::new();
        let r = h.run(&SetFact, json!({"1x": 1})).await;
        assert!(
            r.failed
                && r.msg
                    .as_deref()
                    .unwrap()
                    .starts_with("The variable name '1x' is not valid.")
        );
        let r = h.run(&SetFact, json!({"a-b": 1})).await;
        assert!(r.failed);
        let r = h.run(&SetFact, json!({"cacheable": false})).await;
        assert!(
            r.failed
                && r.msg
                    .as_deref()
                    .unwrap()
                    .starts_with("No key/value pairs provided")
        );
    }
}
