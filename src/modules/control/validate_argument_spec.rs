//! `validate_argument_spec`: checks variables against an argument spec, as ansible-core's
//! action does. The loader prepends it to a role whose `meta/argument_specs.yml` describes
//! the entry point being run, so it runs on every host when the role starts, with every value
//! rendered (templates, inventory and facts included) — what the load-time checks cannot see.
//! It never touches the host.

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::argspec::{EntryPoint, check_entry, node_from_json, options_from_node};
use crate::diagnostic::Span;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct ValidateArgumentSpec;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "validate_argument_spec",
    params: &[
        Param::new("argument_spec", T::Raw).required(),
        Param::new("provided_arguments", T::Raw),
        // What is being validated (role, name, entry point), echoed in the result.
        Param::new("validate_args_context", T::Raw),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for ValidateArgumentSpec {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(async move { Ok(run(ctx, args)) })
    }
}

fn run(ctx: &ModuleCtx<'_>, args: &Args) -> ModuleResult {
    let context = args
        .get("validate_args_context")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let Some(Value::Object(spec)) = args.get("argument_spec") else {
        return ModuleResult::failed("Incorrect type for argument_spec, expected dict");
    };
    let provided = match args.get("provided_arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return ModuleResult::failed("Incorrect type for provided_arguments, expected dict");
        }
    };
    let spec_value = Value::Object(spec.clone());
    let options = match options_from_node(&node_from_json(&spec_value, &Span::unknown())) {
        Ok(o) => o,
        Err(e) => {
            let lines: Vec<String> = e.iter().map(|d| d.message.clone()).collect();
            return ModuleResult::failed(format!("invalid argument spec: {}", lines.join("; ")));
        }
    };
    // The values the role sees: its parameters over the host's variables, rendered.
    let mut values = Vec::new();
    for opt in &options {
        let v = match provided.get(&opt.name) {
            Some(v) => v.clone(),
            None => match ctx.templar.eval(&opt.name, ctx.vars, &Span::unknown()) {
                Ok(v) => v,
                Err(d) if crate::template::is_undefined_error(&d) => continue,
                Err(d) => return ModuleResult::failed(d.message),
            },
        };
        values.push((opt.name.clone(), node_from_json(&v, &Span::unknown())));
    }
    let entry = EntryPoint {
        name: String::new(),
        short_description: None,
        description: None,
        options,
        raw_options: spec_value.clone(),
    };
    let errors: Vec<String> = check_entry(&entry, &values, true, &Span::unknown())
        .into_iter()
        .map(|v| format!("{}: {} (allowed: {})", v.path, v.problem, v.allowed))
        .collect();
    let base = ModuleResult::ok().with("validate_args_context", context);
    if errors.is_empty() {
        let mut r = base;
        r.msg = Some("The arg spec validation passed".into());
        return r;
    }
    let mut r = base
        .with("argument_errors", errors.clone())
        .with("argument_spec_data", spec_value);
    r.failed = true;
    r.msg = Some(format!(
        "Validation of arguments failed:\n{}",
        errors.join("\n")
    ));
    r
}
