//! Unit tests of the templar; expected values are what Ansible 2.19 / Jinja2 produce.

mod collections;
mod core;
mod data;
mod errors;
mod filters_scalar;
mod methods;
mod predicates;

use std::sync::OnceLock;

use minijinja::Value as JValue;
use serde_json::Value;

use super::Templar;
use crate::diagnostic::{Diagnostic, Span};

pub fn templar() -> &'static Templar {
    static T: OnceLock<Templar> = OnceLock::new();
    T.get_or_init(Templar::new)
}

pub fn ctx(v: Value) -> JValue {
    super::json_to_jinja(&v)
}

/// Renders a template to text.
pub fn render(tpl: &str, c: &Value) -> String {
    templar()
        .render_text(tpl, &ctx(c.clone()), &Span::unknown())
        .unwrap_or_else(|e| panic!("{tpl}: {}", e.message))
}

/// Evaluates an expression to data.
pub fn eval(expr: &str, c: &Value) -> Value {
    templar()
        .eval(expr, &ctx(c.clone()), &Span::unknown())
        .unwrap_or_else(|e| panic!("{expr}: {}", e.message))
}

pub fn eval_err(expr: &str, c: &Value) -> Diagnostic {
    match templar().eval(expr, &ctx(c.clone()), &Span::unknown()) {
        Ok(v) => panic!("{expr}: expected an error, got {v}"),
        Err(e) => e,
    }
}

pub fn render_err(tpl: &str, c: &Value) -> Diagnostic {
    match templar().render_text(tpl, &ctx(c.clone()), &Span::unknown()) {
        Ok(v) => panic!("{tpl}: expected an error, got {v:?}"),
        Err(e) => e,
    }
}
