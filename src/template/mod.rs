//! Jinja templating with Ansible's semantics on top of minijinja: strict undefined variables
//! (except inside `default` and `is defined`), native types for whole-expression strings, and
//! Ansible's filters, tests and Python-style methods. Contexts are `minijinja::Value`s built
//! once per host and task by the executor, so rendering never deep-copies the variable tree.

mod file;
mod filters;
pub mod lookup;
mod methods;
mod predicates;
pub mod pyrepr;
mod source;
mod undefined;
mod version;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value as JValue};
use serde_json::Value;

use crate::diagnostic::{Diagnostic, Span};
pub use file::{FileOptions, include_searchpath, newline_sequence};
use source::{Kind, Prepared};

/// Prepared sources kept per Templar; `when:` conditions and templated args repeat for every
/// host, so parsing each distinct string once matters on large inventories.
const CACHE_LIMIT: usize = 8192;

/// Shared, immutable template engine. Cheap to share across host tasks behind an `Arc`.
pub struct Templar {
    /// Strings in playbooks: trim_blocks, as Ansible, which then gives back trailing newlines
    /// a block tag swallowed (`{% endfor %}\n` at the end of a string still ends in `\n`).
    env: Environment<'static>,
    /// Template files (see `file.rs`): each render works on a copy with its own whitespace
    /// options and include search path.
    file_env: Environment<'static>,
    cache: Mutex<HashMap<(Kind, String), Arc<Prepared>>>,
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

/// Whether a template error is about an undefined variable or attribute (for `debug: var`,
/// which shows Ansible's `VARIABLE IS NOT DEFINED!` instead of failing).
pub fn is_undefined_error(d: &Diagnostic) -> bool {
    let m = &d.message;
    m.contains("is undefined")
        || m.contains("has no attribute")
        || m.starts_with("undefined variable")
}

/// Converts JSON data (vars files, registered results) into a template value.
pub fn json_to_jinja(v: &Value) -> JValue {
    JValue::from(minijinja::value::Serde(v))
}

/// Converts a template value back into JSON data. Undefined becomes `null`.
pub fn jinja_to_json(v: &JValue) -> Result<Value, String> {
    serde_json::to_value(v).map_err(|e| format!("template result is not data: {e}"))
}

/// `keep_trailing_newline: false` is Jinja's default, which Ansible keeps for strings in
/// playbooks: the source's last newline goes before rendering (`pad_trailing_newlines` gives it
/// back unless the output already ends in one, so `"{{ x }}\n"` with `x` = `"a\n"` is `"a\n"`).
fn build_env(trim_blocks: bool, keep_trailing_newline: bool) -> Environment<'static> {
    let mut env = Environment::new();
    // minijinja 3's debug mode (on by default in debug builds) tracks where undefined values come
    // from and appends "`expr` is undefined" to error details, so messages (and with them
    // `is_undefined_error`) would differ between debug and release builds and from minijinja 2.
    // The debug info the mode also attaches to errors is never read.
    env.set_debug(false);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        SyntaxConfig::builder()
            .keep_trailing_newline(keep_trailing_newline)
            .trim_blocks(trim_blocks)
            .build()
            .expect("default delimiters are valid"),
    );
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_formatter(|out, _state, value| {
        // Only the silent undefined of an `if` without `else` reaches here; it prints nothing.
        // None printed among other text is empty too in ansible-core 2.19 (`{{ n | string }}`
        // is still `None`; a whole-string `{{ n }}` is the native None and never gets here).
        if value.is_undefined() || value.is_none() {
            return Ok(());
        }
        out.write_str(&pyrepr::py_str(value))
            .map_err(minijinja::Error::from)
    });
    env.add_function(source::SOFT_CHAIN_FN, undefined::soft_chain);
    filters::register(&mut env);
    predicates::register(&mut env);
    methods::register(&mut env);
    lookup::register(&mut env);
    env
}

impl Templar {
    pub fn new() -> Self {
        Templar {
            env: build_env(true, false),
            file_env: build_env(true, true),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Registers globals or functions (`lookup()`, `omit`) on both environments before the
    /// templar is shared.
    pub fn configure(&mut self, f: impl Fn(&mut Environment<'static>)) {
        f(&mut self.env);
        f(&mut self.file_env);
    }

    /// Renders a YAML string value. A string that is exactly one `{{ expr }}` yields the
    /// expression's native value (list, dict, int, bool), as Ansible does; anything else is
    /// rendered as text (Ansible 2.19 no longer re-parses text that looks like a literal).
    pub fn render_str(&self, s: &str, ctx: &JValue, span: &Span) -> Result<Value, Diagnostic> {
        if !is_template(s) {
            return Ok(Value::String(s.to_string()));
        }
        if let Some((expr, offset)) = single_expression_at(s) {
            let v = self.eval_value(expr, ctx, span, offset)?;
            let (lead, trail) = (
                &s[..s.len() - s.trim_start().len()],
                &s[s.trim_end().len()..],
            );
            if let Some(text) = v.as_str()
                && !(lead.is_empty() && trail.is_empty())
            {
                return Ok(Value::String(format!("{lead}{text}{trail}")));
            }
            return jinja_to_json(&v).map_err(|m| Diagnostic::new(span.clone(), m));
        }
        self.render_text(s, ctx, span).map(Value::String)
    }

    /// Renders a string as text, whatever its shape (task names, file contents).
    pub fn render_text(&self, s: &str, ctx: &JValue, span: &Span) -> Result<String, Diagnostic> {
        if !is_template(s) {
            return Ok(s.to_string());
        }
        self.run_template(s, ctx, span)
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
        let v = self.eval_value(expr, ctx, span, 0)?;
        jinja_to_json(&v).map_err(|m| Diagnostic::new(span.clone(), m))
    }

    /// Evaluates a bare expression to a template value; an undefined result is an error
    /// naming the missing variable.
    pub fn eval_value(
        &self,
        expr: &str,
        ctx: &JValue,
        span: &Span,
        col_offset: usize,
    ) -> Result<JValue, Diagnostic> {
        let prepared = self
            .prepared(expr, Kind::Expression)
            .map_err(|e| self.diag(&e, expr, Kind::Expression, None, None, span, col_offset))?;
        let compiled = self
            .env
            .compile_expression(&prepared.compiled)
            .map_err(|e| {
                self.diag(
                    &e,
                    expr,
                    Kind::Expression,
                    Some(&prepared),
                    None,
                    span,
                    col_offset,
                )
            })?;
        let v = compiled.eval(ctx).map_err(|e| {
            self.diag(
                &e,
                expr,
                Kind::Expression,
                Some(&prepared),
                Some(ctx),
                span,
                col_offset,
            )
        })?;
        if v.is_undefined() {
            let e = minijinja::Error::from(ErrorKind::UndefinedError);
            return Err(self.diag(
                &e,
                expr,
                Kind::Expression,
                Some(&prepared),
                Some(ctx),
                span,
                col_offset,
            ));
        }
        Ok(v)
    }

    /// Evaluates a conditional with Ansible's truthiness; a bare string result such as
    /// `"False"` counts as false, as in Ansible. An undefined variable is an error.
    pub fn eval_bool(&self, expr: &str, ctx: &JValue, span: &Span) -> Result<bool, Diagnostic> {
        let (expr, offset) = match single_expression_at(expr.trim()) {
            Some((inner, off)) => (inner, off),
            None => (expr.trim(), 0),
        };
        let v = self.eval_value(expr, ctx, span, offset)?;
        if let Some(s) = v.as_str() {
            return Ok(
                crate::values::to_bool(&Value::String(s.to_string())).unwrap_or(!s.is_empty())
            );
        }
        Ok(v.is_true())
    }

    /// Renders a template file with the template module's defaults, its includes searched
    /// in its own directory; errors name the template file and line.
    pub fn render_file(&self, path: &Path, ctx: &JValue) -> Result<String, Diagnostic> {
        let opts = FileOptions {
            searchpath: vec![path.parent().unwrap_or(Path::new(".")).to_path_buf()],
            ..FileOptions::default()
        };
        self.render_file_with(path, ctx, &opts)
    }

    /// Load-time check of a string's Jinja syntax.
    pub fn check_syntax(&self, s: &str, span: &Span) -> Result<(), Diagnostic> {
        if !is_template(s) {
            return Ok(());
        }
        self.check(s, Kind::Template, span, 0)
    }

    /// Load-time check of a bare expression's syntax (`when:`).
    pub fn check_expr_syntax(&self, expr: &str, span: &Span) -> Result<(), Diagnostic> {
        match single_expression_at(expr.trim()) {
            Some((inner, off)) => self.check(inner, Kind::Expression, span, off),
            None => self.check(expr, Kind::Expression, span, 0),
        }
    }

    /// Load-time check of a template file's syntax.
    pub fn check_file_syntax(&self, path: &Path) -> Result<(), Diagnostic> {
        let text = read_template(path)?;
        self.check(&text, Kind::Template, &Span::file_only(path), 0)
    }

    fn check(&self, s: &str, kind: Kind, span: &Span, col_offset: usize) -> Result<(), Diagnostic> {
        let prepared = self
            .prepared(s, kind)
            .map_err(|e| self.diag(&e, s, kind, None, None, span, col_offset))?;
        let r = match kind {
            Kind::Template => self.env.template_from_str(&prepared.compiled).map(|_| ()),
            Kind::Expression => self.env.compile_expression(&prepared.compiled).map(|_| ()),
        };
        r.map_err(|e| self.diag(&e, s, kind, Some(&prepared), None, span, col_offset))
    }

    fn run_template(&self, s: &str, ctx: &JValue, span: &Span) -> Result<String, Diagnostic> {
        let prepared = self
            .prepared(s, Kind::Template)
            .map_err(|e| self.diag(&e, s, Kind::Template, None, None, span, 0))?;
        let out = self
            .env
            .render_str(&prepared.compiled, ctx)
            .map_err(|e| self.diag(&e, s, Kind::Template, Some(&prepared), Some(ctx), span, 0))?;
        Ok(pad_trailing_newlines(s, out))
    }

    fn prepared(&self, s: &str, kind: Kind) -> Result<Arc<Prepared>, minijinja::Error> {
        let key = (kind, s.to_string());
        if let Some(p) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(p.clone());
        }
        let p = Arc::new(source::prepare(s, kind)?);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, p.clone());
        Ok(p)
    }

    /// Maps a minijinja error on `src` to a diagnostic pointing at the right line (and, best
    /// effort, column) of the YAML file or template file, with Ansible's wording for
    /// undefined variables.
    #[allow(clippy::too_many_arguments)]
    fn diag(
        &self,
        e: &minijinja::Error,
        src: &str,
        kind: Kind,
        prepared: Option<&Prepared>,
        ctx: Option<&JValue>,
        span: &Span,
        col_offset: usize,
    ) -> Diagnostic {
        let mut offset = e.range().map(|r| {
            prepared
                .map(|p| p.original_offset(r.start))
                .unwrap_or(r.start)
        });
        let mut msg = error_message(e);
        let undefinedish = matches!(e.kind(), ErrorKind::UndefinedError)
            || (matches!(e.kind(), ErrorKind::InvalidOperation)
                && e.detail().is_some_and(|d| d.contains("undefined")));
        let mut explained = false;
        if let (true, Some(ctx)) = (undefinedish, ctx) {
            let is_global = |name: &str| self.env.globals().any(|(g, _)| g == name);
            if let Some(x) = undefined::explain(src, kind, offset.unwrap_or(0), ctx, &is_global) {
                msg = if e.detail() == Some(filters::MANDATORY) {
                    format!("Mandatory variable '{}' not defined.", x.name)
                } else {
                    x.message
                };
                offset = Some(x.offset);
                explained = true;
            }
        }
        let (line, col) = match offset {
            Some(o) => source::line_col(src, o),
            None => (e.line().unwrap_or(1) as u32, 1),
        };
        if undefinedish && !explained {
            // Nothing the user named is missing (e.g. `[] | first`): show what produced it.
            if let Some(text) = src.lines().nth(line as usize - 1) {
                msg = format!("{msg} in `{}`", text.trim());
            }
        }
        let mut sp = span.clone();
        if sp.line == 0 {
            if sp.file.is_some() {
                sp.line = line;
                sp.col = col;
            }
        } else if line > 1 {
            sp = sp.shifted(line - 1, col);
        } else {
            sp.col += (col - 1) + col_offset as u32;
        }
        let mut d = Diagnostic::new(sp, msg);
        if kind == Kind::Template || offset.is_none() {
            return d;
        }
        if let Some(snippet) = src.lines().nth(line as usize - 1) {
            d = d.label(format!("in `{}`", snippet.trim()));
        }
        d
    }
}

/// Ansible's templar ends a rendered string with at least as many newlines as its source did.
fn pad_trailing_newlines(source: &str, mut out: String) -> String {
    let trailing = |t: &str| t.len() - t.trim_end_matches('\n').len();
    let missing = trailing(source).saturating_sub(trailing(&out));
    out.extend(std::iter::repeat_n('\n', missing));
    out
}

fn read_template(path: &Path) -> Result<String, Diagnostic> {
    std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::new(
            Span::file_only(path),
            format!("cannot read template {}: {e}", path.display()),
        )
    })
}

fn error_message(e: &minijinja::Error) -> String {
    match (e.kind(), e.detail()) {
        (ErrorKind::UndefinedError, Some(d)) => format!("undefined value: {d}"),
        (ErrorKind::UndefinedError, None) => "undefined value".to_string(),
        (ErrorKind::SyntaxError, Some(d)) => format!("template syntax error: {d}"),
        (ErrorKind::InvalidOperation, Some(d)) => d.to_string(),
        (k, Some(d)) => format!("{k}: {d}"),
        (k, None) => k.to_string(),
    }
}

/// `"{{ x }}"` -> `Some("x")`; anything with text around or several blocks -> `None`.
pub fn single_expression(s: &str) -> Option<&str> {
    single_expression_at(s).map(|(e, _)| e)
}

/// Like [`single_expression`], also returning the byte offset of the expression in `s`.
/// Whitespace control markers (`{{- x -}}`) are accepted.
fn single_expression_at(s: &str) -> Option<(&str, usize)> {
    let t = s.trim();
    let lead = s.len() - s.trim_start().len();
    let mut inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") || inner.contains("{#")
    {
        return None;
    }
    let mut off = lead + 2;
    if let Some(r) = inner.strip_prefix(['-', '+']) {
        inner = r;
        off += 1;
    }
    inner = inner.strip_suffix(['-', '+']).unwrap_or(inner);
    let trimmed = inner.trim_start();
    off += inner.len() - trimmed.len();
    let e = trimmed.trim_end();
    if e.is_empty() { None } else { Some((e, off)) }
}

/// Maps a minijinja error to a diagnostic without access to the source. Line numbers inside
/// the template are added to the span's line so errors in multi-line YAML scalars and
/// template files point at the right line.
pub fn jinja_error(e: &minijinja::Error, span: &Span) -> Diagnostic {
    let msg = error_message(e);
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
