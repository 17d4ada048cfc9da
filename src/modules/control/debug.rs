//! `debug`: prints a message or an expression's value, on the controller only. With `var`
//! the result key is the expression itself (`{"my.var": value}`), and an undefined variable
//! shows Ansible's `VARIABLE IS NOT DEFINED!` instead of failing.

use futures::future::BoxFuture;
use serde_json::Value;

use crate::diagnostic::Span;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::values::to_str;

pub struct Debug;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "debug",
    params: &[
        Param::new("msg", T::Raw),
        Param::new("var", T::Raw),
        Param::new("verbosity", T::Int),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["msg", "var"]],
    required_one_of: &[],
    any_params: false,
};

pub const NOT_DEFINED: &str = "VARIABLE IS NOT DEFINED!";

impl Module for Debug {
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
    if args.has("msg") && args.has("var") {
        return Ok(ModuleResult::failed(
            "'msg' and 'var' are incompatible options",
        ));
    }
    let verbosity = args.int("verbosity")?.unwrap_or(0);
    if verbosity > i64::from(ctx.verbosity) {
        let mut r = ModuleResult::ok().with("skipped_reason", "Verbosity threshold not met.");
        r.skipped = true;
        return Ok(r);
    }
    let Some(var) = args.get("var") else {
        return Ok(with_msg(
            ModuleResult::ok(),
            args.get("msg")
                .cloned()
                .unwrap_or_else(|| "Hello world!".into()),
        ));
    };
    let mut r = ModuleResult::ok();
    match var {
        Value::String(expr) => match ctx.templar.eval(expr, ctx.vars, &Span::unknown()) {
            Ok(v) => {
                r.data.insert(expr.clone(), v);
            }
            Err(d) if crate::template::is_undefined_error(&d) => {
                r.data.insert(expr.clone(), NOT_DEFINED.into());
            }
            Err(d) => return Ok(ModuleResult::failed(d.message)),
        },
        // Already templated to a value by the executor: show it under its text form.
        other => {
            r.data
                .insert(to_str(other).unwrap_or_default(), other.clone());
        }
    }
    Ok(r)
}

/// A string message is the result's `msg`; lists and dicts stay native in the data.
pub fn with_msg(mut r: ModuleResult, msg: Value) -> ModuleResult {
    match msg {
        Value::String(s) => r.msg = Some(s),
        other => {
            r.data.insert("msg".into(), other);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Harness, get};
    use serde_json::json;

    #[tokio::test]
    async fn msg_and_var() {
        let h = Harness::new().vars(json!({"xs": [1, 2], "d": {"k": "v"}, "s": "text"}));
        let r = h.run(&Debug, json!({})).await;
        assert_eq!(
            (r.msg.as_deref(), r.changed, r.failed),
            (Some("Hello world!"), false, false)
        );
        let r = h.run(&Debug, json!({"msg": ["a", 1]})).await;
        assert_eq!(r.to_value()["msg"], json!(["a", 1]));
        let r = h.run(&Debug, json!({"var": "xs"})).await;
        assert_eq!(get(&r, "xs"), &json!([1, 2]));
        let r = h.run(&Debug, json!({"var": "d.k ~ '!'"})).await;
        assert_eq!(get(&r, "d.k ~ '!'"), "v!");
        let r = h.run(&Debug, json!({"var": "nope"})).await;
        assert_eq!(get(&r, "nope"), NOT_DEFINED);
        let r = h.run(&Debug, json!({"var": "d.missing"})).await;
        assert_eq!(get(&r, "d.missing"), NOT_DEFINED);
        let r = h.run(&Debug, json!({"var": "s |"})).await;
        assert!(r.failed, "{r:?}");
    }

    #[tokio::test]
    async fn verbosity_threshold() {
        let mut h = Harness::new();
        let r = h.run(&Debug, json!({"msg": "hi", "verbosity": 2})).await;
        assert!(r.skipped && r.msg.is_none());
        assert_eq!(get(&r, "skipped_reason"), "Verbosity threshold not met.");
        h.verbosity = 2;
        let r = h.run(&Debug, json!({"msg": "hi", "verbosity": 2})).await;
        assert_eq!((r.skipped, r.msg.as_deref()), (false, Some("hi")));
    }
}
