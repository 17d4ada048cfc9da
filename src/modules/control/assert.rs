//! `assert`: evaluates each `that` expression with Ansible's truthiness and fails at the first
//! false one, reporting it as `assertion` with `evaluated_to: false`. An expression that cannot
//! be evaluated (an undefined variable) fails the task with the reason.

use futures::future::BoxFuture;
use serde_json::Value;

use super::debug::with_msg;
use crate::diagnostic::Span;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct Assert;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "assert",
    params: &[
        Param::new("that", T::Raw).required(),
        Param::new("fail_msg", T::Raw).aliases(&["msg"]),
        Param::new("success_msg", T::Raw),
        // Only decides whether Ansible prints the passing result unasked; strata's reporter
        // prints it only with `-v` either way, i.e. always as `quiet: true` (see the README).
        Param::new("quiet", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Assert {
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
    args.bool("quiet")?;
    let thats = match args.get("that") {
        None => {
            return Ok(ModuleResult::failed(
                "conditional required in \"that\" string",
            ));
        }
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
    };
    let fail_msg = args.get("fail_msg").or_else(|| args.get("msg")).cloned();
    for that in &thats {
        let verdict = match that {
            Value::String(expr) => ctx
                .templar
                .eval_bool(expr, ctx.vars, &Span::unknown())
                .map_err(|d| d.message),
            // A bool is what `{{ ... }}` rendered (or a literal `true`), which Ansible accepts.
            Value::Bool(b) => Ok(*b),
            // Anything else YAML gave (a mapping from an unquoted `a: b`, a number, a list) is
            // refused by ansible-core 2.19 rather than judged by its truthiness.
            Value::Null => {
                return Ok(ModuleResult::failed(
                    "Empty conditional expressions are not allowed.",
                ));
            }
            _ => {
                return Ok(ModuleResult::failed(
                    "Conditional expressions must be strings.",
                ));
            }
        };
        let base = ModuleResult::ok().with("assertion", that.clone());
        match verdict {
            Ok(true) => {}
            Ok(false) => {
                let mut r = with_msg(
                    base.with("evaluated_to", false),
                    fail_msg.unwrap_or_else(|| "Assertion failed".into()),
                );
                r.failed = true;
                return Ok(r);
            }
            Err(e) => {
                let text = that
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| that.to_string());
                let mut r = base.msg(format!(
                    "The conditional check '{text}' failed. The error was: {e}"
                ));
                r.failed = true;
                return Ok(r);
            }
        }
    }
    Ok(with_msg(
        ModuleResult::ok(),
        args.get("success_msg")
            .cloned()
            .unwrap_or_else(|| "All assertions passed".into()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Harness, get};
    use serde_json::json;

    #[tokio::test]
    async fn passes_and_fails_like_ansible() {
        let h = Harness::new().vars(json!({"n": 3, "s": "abc", "flag": "False"}));
        let r = h
            .run(
                &Assert,
                json!({"that": ["n > 2", "s == 'abc'", "'b' in s"]}),
            )
            .await;
        assert_eq!(
            (r.failed, r.changed, r.msg.as_deref()),
            (false, false, Some("All assertions passed"))
        );
        let r = h
            .run(&Assert, json!({"that": "n == 3", "success_msg": "fine"}))
            .await;
        assert_eq!(r.msg.as_deref(), Some("fine"));

        let r = h
            .run(&Assert, json!({"that": ["n > 2", "n > 5", "n > 9"]}))
            .await;
        assert!(r.failed);
        assert_eq!(
            (get(&r, "assertion"), get(&r, "evaluated_to")),
            (&json!("n > 5"), &json!(false))
        );
        assert_eq!(r.msg.as_deref(), Some("Assertion failed"));
        let r = h
            .run(&Assert, json!({"that": "flag", "fail_msg": "flag is off"}))
            .await;
        assert_eq!((r.failed, r.msg.as_deref()), (true, Some("flag is off")));
        let r = h
            .run(&Assert, json!({"that": false, "msg": ["a", "b"]}))
            .await;
        assert!(r.failed);
        assert_eq!(r.to_value()["msg"], json!(["a", "b"]));
    }

    #[tokio::test]
    async fn undefined_variable_fails_clearly() {
        let h = Harness::new();
        let r = h.run(&Assert, json!({"that": "missing_var == 1"})).await;
        assert!(r.failed);
        let msg = r.msg.unwrap();
        assert!(
            msg.starts_with("The conditional check 'missing_var == 1' failed. The error was: "),
            "{msg}"
        );
        assert!(msg.contains("undefined"), "{msg}");
    }

    #[tokio::test]
    async fn a_that_entry_that_is_not_a_string_fails_as_in_ansible() {
        let h = Harness::new();
        // `- a: 1` in a `that:` list is a mapping: a missing quote, which Ansible refuses.
        for bad in [json!({"a": 1}), json!(1), json!(["x"])] {
            let r = h.run(&Assert, json!({"that": [bad.clone()]})).await;
            assert_eq!(
                (r.failed, r.msg.as_deref()),
                (true, Some("Conditional expressions must be strings.")),
                "{bad}"
            );
        }
        let r = h.run(&Assert, json!({"that": [null]})).await;
        assert_eq!(
            r.msg.as_deref(),
            Some("Empty conditional expressions are not allowed.")
        );
        let r = h.run(&Assert, json!({"that": [true, "1 == 1"]})).await;
        assert!(!r.failed);
    }
}
