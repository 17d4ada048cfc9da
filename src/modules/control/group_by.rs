//! `group_by`: puts the host in a group named by data (`key`), made a child of `parents`
//! (default `all`), as Ansible's action plugin does: the result carries `add_group` and
//! `parent_groups` (spaces become dashes), and the executor changes the run's inventory and
//! sets `changed`. Later plays can target the group.

use futures::future::BoxFuture;
use serde_json::Value;

use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::values::to_str;

pub struct GroupBy;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "group_by",
    params: &[
        Param::new("key", T::Raw).required(),
        Param::new("parents", T::Raw),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for GroupBy {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn run<'a>(
        &'a self,
        _ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(async move { Ok(run(args)) })
    }
}

fn run(args: &Args) -> ModuleResult {
    let Some(key) = args.get("key").and_then(to_str) else {
        return ModuleResult::failed("the 'key' param is required when using group_by");
    };
    let parents: Vec<String> = match args.get("parents") {
        None | Some(Value::Null) => vec!["all".into()],
        Some(Value::Array(a)) => a.iter().filter_map(to_str).collect(),
        Some(other) => to_str(other).into_iter().collect(),
    };
    let dash = |s: &str| s.replace(' ', "-");
    ModuleResult::ok().with("add_group", dash(&key)).with(
        "parent_groups",
        Value::Array(parents.iter().map(|p| Value::from(dash(p))).collect()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Harness, get, load_errors};
    use serde_json::json;

    #[test]
    fn key_is_required_and_options_checked() {
        assert!(load_errors(&SPEC, "key: web\nparents: [a, b]\n").is_empty());
        let e = load_errors(&SPEC, "parents: a\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("key"), "{e:?}");
        let e = load_errors(&SPEC, "key: a\ngroup: b\n");
        assert_eq!(e.len(), 1, "{e:?}");
    }

    #[tokio::test]
    async fn result_asks_for_the_group() {
        let h = Harness::new();
        let r = h.run(&GroupBy, json!({"key": "os Debian 12"})).await;
        assert!(!r.failed && !r.changed);
        assert_eq!(get(&r, "add_group"), &json!("os-Debian-12"));
        assert_eq!(get(&r, "parent_groups"), &json!(["all"]));
        let r = h
            .run(&GroupBy, json!({"key": "x", "parents": "my parent"}))
            .await;
        assert_eq!(get(&r, "parent_groups"), &json!(["my-parent"]));
    }
}
