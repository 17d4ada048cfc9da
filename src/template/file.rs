//! Template files as ansible-core renders them for the `template` module and the `template`
//! lookup: `{% include %}`, `{% import %}`, `{% from %}` and `{% extends %}` find their
//! templates on a search path (Jinja's `FileSystemLoader`: the name joined to each directory
//! in turn, no relative resolution between templates), the whitespace options apply to the
//! included templates too, and a `#jinja2:` first line overrides them for one file.
//!
//! As in ansible-core, the environment does not keep a template's trailing newline (so an
//! included file's last newline is dropped) and the top-level result then gets back as many
//! trailing newlines as its source had, in the chosen newline sequence.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use minijinja::syntax::SyntaxConfig;
use minijinja::{Error, ErrorKind, Value as JValue};

use super::source::{self, Kind};
use super::{Templar, read_template};
use crate::diagnostic::{Diagnostic, Span};

/// How one template file is rendered.
#[derive(Clone, Debug)]
pub struct FileOptions {
    /// Directories `include`/`import`/`extends` search, in order.
    pub searchpath: Vec<PathBuf>,
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
    /// `\n`, `\r\n` or `\r`: the newlines of the template's text become this sequence.
    pub newline_sequence: String,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            searchpath: Vec::new(),
            trim_blocks: true,
            lstrip_blocks: false,
            newline_sequence: "\n".to_string(),
        }
    }
}

/// The newline sequences Jinja accepts, and the escaped spellings Ansible turns into them.
pub fn newline_sequence(s: &str) -> Option<&'static str> {
    match s {
        "\n" | "\\n" => Some("\n"),
        "\r" | "\\r" => Some("\r"),
        "\r\n" | "\\r\\n" => Some("\r\n"),
        _ => None,
    }
}

/// Ansible's search path for a template's includes: each directory's `templates/`, then the
/// directory itself.
pub fn include_searchpath(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dirs {
        out.push(d.join("templates"));
        out.push(d.clone());
    }
    out
}

/// `#jinja2: trim_blocks: False, lstrip_blocks: True` on a template's first line.
fn header_overrides(text: &str, opts: &mut FileOptions) -> Result<usize, String> {
    const PREFIX: &str = "#jinja2:";
    if !text.starts_with(PREFIX) {
        return Ok(0);
    }
    let Some(eol) = text.find('\n') else {
        return Err(format!("Missing newline after {PREFIX:?} override."));
    };
    for pair in text[PREFIX.len()..eol].split(',') {
        let Some((key, val)) = pair.split_once(':') else {
            return Err(format!(
                "Missing key-value separator `:` in {PREFIX:?} override pair {pair:?}."
            ));
        };
        let val = val.trim();
        let flag = || match val {
            "True" => Ok(true),
            "False" => Ok(false),
            _ => Err(format!(
                "{PREFIX:?} override `{}` must be True or False",
                key.trim()
            )),
        };
        match key.trim() {
            "trim_blocks" => opts.trim_blocks = flag()?,
            "lstrip_blocks" => opts.lstrip_blocks = flag()?,
            "newline_sequence" => {
                let unquoted = val
                    .strip_prefix(['\'', '"'])
                    .and_then(|v| v.strip_suffix(['\'', '"']))
                    .unwrap_or(val);
                opts.newline_sequence = newline_sequence(unquoted)
                    .ok_or_else(|| format!("invalid newline_sequence {val} in {PREFIX:?}"))?
                    .to_string();
            }
            k => {
                return Err(format!(
                    "{PREFIX:?} override `{k}` is not supported (supported: trim_blocks, lstrip_blocks, newline_sequence)"
                ));
            }
        }
    }
    Ok(eol + 1)
}

/// Jinja's newline normalisation: every `\r\n`, `\r` and `\n` of the template becomes `nl`.
fn normalize_newlines(text: &str, nl: &str) -> String {
    if nl == "\n" && !text.contains('\r') {
        return text.to_string();
    }
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', nl)
}

fn trailing_newlines(s: &str) -> usize {
    s.len() - s.trim_end_matches('\n').len()
}

/// Jinja's `split_template_path`: `..` may not leave the search path.
fn template_pieces(name: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    for p in name.split('/') {
        match p {
            ".." => return None,
            "" | "." => {}
            p => out.push(p),
        }
    }
    Some(out)
}

impl Templar {
    /// Renders the template file `path` with `opts`; includes are searched on
    /// `opts.searchpath`, and a missing one is an error naming it and every place searched.
    pub fn render_file_with(
        &self,
        path: &Path,
        ctx: &JValue,
        opts: &FileOptions,
    ) -> Result<String, Diagnostic> {
        let raw = read_template(path)?;
        let span = Span::file_only(path);
        let mut opts = opts.clone();
        let body_at = header_overrides(&raw, &mut opts)
            .map_err(|m| Diagnostic::new(span.clone(), format!("template syntax error: {m}")))?;
        let text = normalize_newlines(&raw[body_at..], &opts.newline_sequence);
        let prepared = self
            .prepared(&text, Kind::Template)
            .map_err(|e| self.diag(&e, &text, Kind::Template, None, None, &span, 0))?;

        let mut env = self.file_env.clone();
        env.set_syntax(
            SyntaxConfig::builder()
                .keep_trailing_newline(false)
                .trim_blocks(opts.trim_blocks)
                .lstrip_blocks(opts.lstrip_blocks)
                .build()
                .expect("default delimiters are valid"),
        );
        let loaded: Arc<Mutex<HashMap<String, PathBuf>>> = Arc::default();
        let seen = loaded.clone();
        let searchpath = opts.searchpath.clone();
        let nl = opts.newline_sequence.clone();
        env.set_loader(move |name| {
            let found = template_pieces(name).and_then(|pieces| {
                searchpath
                    .iter()
                    .map(|d| pieces.iter().fold(d.clone(), |p, s| p.join(s)))
                    .find(|p| p.is_file())
            });
            let Some(file) = found else {
                let list = searchpath
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(Error::new(
                    ErrorKind::TemplateNotFound,
                    format!("template `{name}` not found (searched: {list})"),
                ));
            };
            let text = std::fs::read_to_string(&file).map_err(|e| {
                Error::new(
                    ErrorKind::TemplateNotFound,
                    format!("cannot read template {}: {e}", file.display()),
                )
            })?;
            let text = normalize_newlines(&text, &nl);
            let compiled = source::prepare(&text, Kind::Template)?.compiled;
            seen.lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(name.to_string(), file);
            Ok(Some(compiled))
        });
        let main = format!("<template {}>", path.display());
        let out = env
            .add_template_owned(main.clone(), prepared.compiled.clone())
            .and_then(|()| env.get_template(&main)?.render(ctx));
        let out = match out {
            Ok(s) => s,
            Err(e) => {
                let inner = e.name().filter(|n| *n != main).and_then(|n| {
                    loaded
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(n)
                        .cloned()
                });
                return Err(match inner {
                    // An error inside an included template: name that file and line.
                    Some(file) => super::jinja_error(&e, &Span::file_only(&file)),
                    None => self.diag(
                        &e,
                        &text,
                        Kind::Template,
                        Some(&prepared),
                        Some(ctx),
                        &span,
                        0,
                    ),
                });
            }
        };
        let missing = trailing_newlines(&raw).saturating_sub(trailing_newlines(&out));
        Ok(out + &opts.newline_sequence.repeat(missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_overrides_and_newline_sequences() {
        let mut o = FileOptions::default();
        let at = header_overrides(
            "#jinja2: lstrip_blocks: True, trim_blocks: False\nx",
            &mut o,
        );
        assert_eq!(at, Ok(49));
        assert!(o.lstrip_blocks && !o.trim_blocks);
        assert!(header_overrides("#jinja2: variable_start_string: '[%'\n", &mut o).is_err());
        assert_eq!(newline_sequence("\\r\\n"), Some("\r\n"));
        assert_eq!(newline_sequence("\\t"), None);
        assert_eq!(normalize_newlines("a\nb\r\nc", "\r\n"), "a\r\nb\r\nc");
        assert_eq!(template_pieces("../x"), None);
        assert_eq!(template_pieces("./a/b.j2"), Some(vec!["a", "b.j2"]));
    }
}
