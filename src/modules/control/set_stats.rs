//! `set_stats`: custom statistics for the end of the run, on the controller (no connection).
//! The module only validates and returns them as Ansible's `ansible_stats` result key; the
//! executor (`executor/custom_stats.rs`) records them per host (`per_host`) or for the whole
//! run, adding to earlier values (`aggregate`, Ansible's default) or replacing them, and the
//! reporter shows them as `CUSTOM STATS` when `show_custom_stats` is on.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct SetStats;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "set_stats",
    params: &[
        Param::new("data", T::Dict).required(),
        Param::new("per_host", T::Bool),
        Param::new("aggregate", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for SetStats {
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
    let Some(Value::Object(given)) = args.get("data") else {
        return Ok(ModuleResult::failed(
            "The 'data' option needs to be a dictionary/hash",
        ));
    };
    let per_host = args.bool_or("per_host", false)?;
    let aggregate = args.bool_or("aggregate", true)?;
    let mut data = Map::new();
    for (k, v) in given {
        let name = match super::set_fact::variable_name(ctx, k) {
            Ok(n) => n,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        data.insert(name, v.clone());
    }
    Ok(ModuleResult::ok().with(
        "ansible_stats",
        json!({"data": data, "per_host": per_host, "aggregate": aggregate}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Harness, load_errors};

    #[tokio::test]
    async fn returns_ansible_stats_with_ansible_s_defaults() {
        let h = Harness::new();
        let r = h.run(&SetStats, json!({"data": {"deployed": 1}})).await;
        assert!(!r.failed && !r.changed, "{r:?}");
        assert_eq!(
            r.data["ansible_stats"],
            json!({"data": {"deployed": 1}, "per_host": false, "aggregate": true})
        );
        let r = h
            .run(
                &SetStats,
                json!({"data": {"x": [1]}, "per_host": "yes", "aggregate": false}),
            )
            .await;
        assert_eq!(
            r.data["ansible_stats"],
            json!({"data": {"x": [1]}, "per_host": true, "aggregate": false})
        );
    }

    #[tokio::test]
    async fn refuses_names_that_are_not_variables() {
        let r = Harness::new()
            .run(&SetStats, json!({"data": {"not a name": 1}}))
            .await;
        assert!(r.failed);
        assert!(
            r.msg
                .unwrap()
                .starts_with("The variable name 'not a name' is not valid.")
        );
    }

    #[test]
    fn data_is_required_and_a_mapping() {
        assert!(!load_errors(&SPEC, "{}").is_empty());
        assert!(!load_errors(&SPEC, "{data: [1]}").is_empty());
        assert!(load_errors(&SPEC, "{data: {a: 1}, per_host: true}").is_empty());
    }
}
