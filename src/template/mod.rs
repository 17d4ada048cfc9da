//! Jinja templating with Ansible's semantics on top of minijinja: strict undefined variables
//! (except inside `default`), native types for whole-expression strings, and Ansible's filters
//! and tests. Contexts are `minijinja::Value`s built once per host and task by the executor,
//! so rendering never deep-copies the variable tree.

use std::path::Path;

use minijinja::{Environment, UndefinedBehavior, Value as JValue};
use serde_json::Value;

use crate::diagnostic::{Diagnostic, Span};

/// Shared, immutable template engine. Cheap to share across host tasks behind an `Arc`.
pub struct Templar {
    env: Environment<'static>,
}

impl Default for Templar {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a string needs templating at all; plain strings skip the engine.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

impl Templar {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        Templar { env }
    }

    /// Renders a YAML string value. A string that is exactly one `{{ expr }}` yields the
    /// expression's native value (list, dict, int, bool), as Ansible does.
    pub fn render_str(&self, s: &str, ctx: &JValue, span: &Span) -> Result<Value, Diagnostic> {
        if !is_template(s) {
            return Ok(Value::String(s.to_string()));
        }
        if let Some(expr) = single_expression(s) {
            return self.eval(expr, ctx, span);
        }
        self.env
            .render_str(s, ctx)
            .map(Value::String)
            .map_err(|e| jinja_error(&e, span))
    }

    /// Templates every string inside a JSON value (module args, vars).
    pub fn render_value(&self, v: &Value, ctx: &JValue, span: &Span) -> Result<Value, Diagnostic> {
        Ok(match v {
            Value::String(s) => self.render_str(s, ctx, span)?,
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.render_value(x, ctx, span))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| Ok((k.clone(), self.render_value(x, ctx, span)?)))
                    .collect::<Result<_, Diagnostic>>()?,
            ),
            other => other.clone(),
        })
    }

    /// Evaluates a bare Jinja expression (`when:`, `that:`, `var:`).
    pub fn eval(&self, expr: &str, ctx: &JValue, span: &Span) -> Result<Value, Diagnostic> {
        let e = self
            .env
            .compile_expression(expr)
            .map_err(|e| jinja_error(&e, span))?;
        let v = e.eval(ctx).map_err(|e| jinja_error(&e, span))?;
        if v.is_undefined() {
            return Err(Diagnostic::new(
                span.clone(),
                format!("undefined variable in `{expr}`"),
            ));
        }
        serde_json::to_value(&v)
            .map_err(|e| Diagnostic::new(span.clone(), format!("template result is not data: {e}")))
    }

    /// Evaluates a conditional with Ansible's truthiness; a bare string result such as
    /// `"False"` counts as false, as in Ansible.
    pub fn eval_bool(&self, expr: &str, ctx: &JValue, span: &Span) -> Result<bool, Diagnostic> {
        let expr = expr.trim();
        let expr = single_expression(expr).unwrap_or(expr);
        let e = self
            .env
            .compile_expression(expr)
            .map_err(|e| jinja_error(&e, span))?;
        let v = e.eval(ctx).map_err(|e| jinja_error(&e, span))?;
        if let Some(s) = v.as_str() {
            return Ok(crate::modules::args::to_bool(&Value::String(s.to_string()))
                .unwrap_or(!s.is_empty()));
        }
        Ok(v.is_true())
    }

    /// Renders a template file for the `template` module; errors name the template file.
    pub fn render_file(&self, path: &Path, ctx: &JValue) -> Result<String, Diagnostic> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostic::new(
                Span::file_only(path),
                format!("cannot read template {}: {e}", path.display()),
            )
        })?;
        let span = Span::file_only(path);
        self.env
            .render_str(&text, ctx)
            .map_err(|e| jinja_error(&e, &span))
    }

    /// Load-time check of a string's Jinja syntax.
    pub fn check_syntax(&self, s: &str, span: &Span) -> Result<(), Diagnostic> {
        if !is_template(s) {
            return Ok(());
        }
        self.env
            .template_from_str(s)
            .map(|_| ())
            .map_err(|e| jinja_error(&e, span))
    }

    /// Load-time check of a bare expression's syntax (`when:`).
    pub fn check_expr_syntax(&self, expr: &str, span: &Span) -> Result<(), Diagnostic> {
        let expr = single_expression(expr.trim()).unwrap_or(expr);
        self.env
            .compile_expression(expr)
            .map(|_| ())
            .map_err(|e| jinja_error(&e, span))
    }

    /// Load-time check of a template file's syntax.
    pub fn check_file_syntax(&self, path: &Path) -> Result<(), Diagnostic> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostic::new(
                Span::file_only(path),
                format!("cannot read template {}: {e}", path.display()),
            )
        })?;
        let span = Span::file_only(path);
        self.env
            .template_from_str(&text)
            .map(|_| ())
            .map_err(|e| jinja_error(&e, &span))
    }
}

/// `"{{ x }}"` -> `Some("x")`; anything with text around or several blocks -> `None`.
pub fn single_expression(s: &str) -> Option<&str> {
    let t = s.trim();
    let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") {
        return None;
    }
    Some(inner.trim())
}

/// Maps a minijinja error to a diagnostic. Line numbers inside the template are added to the
/// span's line so errors in multi-line YAML scalars and template files point at the right line.
pub fn jinja_error(e: &minijinja::Error, span: &Span) -> Diagnostic {
    let mut msg = e
        .detail()
        .map(|d| format!("{}: {d}", e.kind()))
        .unwrap_or_else(|| e.kind().to_string());
    if matches!(e.kind(), minijinja::ErrorKind::UndefinedError) {
        msg = format!(
            "undefined variable: {}",
            e.detail().unwrap_or("a variable is undefined")
        );
    }
    let mut sp = span.clone();
    if let Some(l) = e.line() {
        if sp.line == 0 {
            sp.line = l as u32;
            sp.col = 1;
        } else if l > 1 {
            sp = sp.shifted(l as u32 - 1, 1);
        }
    }
    Diagnostic::new(sp, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(v: Value) -> JValue {
        JValue::from_serialize(&v)
    }

    #[test]
    fn native_types_for_single_expression() {
        let t = Templar::new();
        let c = ctx(json!({"xs": [1, 2], "n": 3}));
        assert_eq!(
            t.render_str("{{ xs }}", &c, &Span::unknown()).unwrap(),
            json!([1, 2])
        );
        assert_eq!(
            t.render_str("n={{ n }}", &c, &Span::unknown()).unwrap(),
            json!("n=3")
        );
    }

    #[test]
    fn undefined_is_an_error() {
        let t = Templar::new();
        let e = t
            .render_str("{{ nope }}", &ctx(json!({})), &Span::unknown())
            .unwrap_err();
        assert!(e.message.contains("undefined"), "{}", e.message);
    }
}
