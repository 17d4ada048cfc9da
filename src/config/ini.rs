//! `ansible.cfg` as Python's `configparser.ConfigParser(inline_comment_prefixes=(';',))` reads
//! it, which is what ansible-core uses, keeping each key's line and column so that a bad value
//! is reported where it was written. The rules that surprise people are kept on purpose: `#`
//! starts a comment only at the start of a line, `;` also after whitespace, keys are lowercased,
//! lines indented deeper than their key continue its value, and a duplicate section or key is
//! an error.

use std::path::Path;
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Span};

/// One `key = value` line (with its continuation lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Lowercased, as `configparser`'s `optionxform` does.
    pub key: String,
    /// Stripped; continuation lines joined with `\n`.
    pub value: String,
    /// Where the key starts.
    pub key_span: Span,
    /// Where the value starts (its first line).
    pub value_span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// As written (section names are case-sensitive).
    pub name: String,
    pub span: Span,
    pub entries: Vec<Entry>,
}

/// A parsed file: its sections in order, `[DEFAULT]` among them if present.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IniFile {
    pub sections: Vec<Section>,
}

/// `configparser`'s name for the section whose keys every other section inherits.
pub const DEFAULT_SECTION: &str = "DEFAULT";

impl IniFile {
    /// `parser.get(section, key, fallback=None)`: the section's own entry, else `[DEFAULT]`'s,
    /// and nothing when the section itself is absent.
    pub fn get(&self, section: &str, key: &str) -> Option<&Entry> {
        let own = self.sections.iter().find(|s| s.name == section)?;
        own.entries.iter().find(|e| e.key == key).or_else(|| {
            self.sections
                .iter()
                .find(|s| s.name == DEFAULT_SECTION)
                .and_then(|d| d.entries.iter().find(|e| e.key == key))
        })
    }
}

/// The whitespace Python's `str.strip()` removes that matters in a text file.
fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// Where a line's comment starts: `;` at the start or after whitespace, or the whole line when
/// it starts (after indentation) with `#` or `;`.
fn comment_start(line: &str) -> Option<usize> {
    let trimmed = line.trim_start_matches(is_space);
    if trimmed.starts_with('#') || trimmed.starts_with(';') {
        return Some(0);
    }
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        if c == ';' && prev_space {
            return Some(i);
        }
        prev_space = is_space(c);
    }
    None
}

/// 1-based column of byte offset `at` in `line`, counted in characters.
fn col(line: &str, at: usize) -> u32 {
    line[..at].chars().count() as u32 + 1
}

/// Parses `text`, the contents of `path`. Every line `configparser` would reject is reported,
/// as its `ParsingError` lists them all; a missing section header or a duplicate stops there,
/// as it does in Python.
pub fn parse(text: &str, path: &Path) -> Result<IniFile, Vec<Diagnostic>> {
    let file = Arc::new(path.to_path_buf());
    let mut out = IniFile::default();
    let mut errors = Vec::new();
    // (section index, entry index) of the value being continued, and its lines.
    let mut current: Option<(usize, usize)> = None;
    let mut pending: Vec<String> = Vec::new();
    let mut indent_level = 0usize;
    let mut in_section = false;
    let flush = |out: &mut IniFile, cur: Option<(usize, usize)>, lines: &mut Vec<String>| {
        if let Some((s, e)) = cur {
            out.sections[s].entries[e].value = lines.join("\n").trim_end().to_string();
        }
        lines.clear();
    };
    for (n, raw) in text.split('\n').enumerate() {
        let line_no = n as u32 + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let cut = comment_start(line);
        let value = line[..cut.unwrap_or(line.len())].trim_matches(is_space);
        if value.is_empty() {
            // Python keeps blank lines inside a value (not comment lines), then strips the end.
            if cut.is_none() && current.is_some() {
                pending.push(String::new());
            }
            continue;
        }
        let indent = line.len() - line.trim_start_matches(is_space).len();
        let indent_chars = line[..indent].chars().count();
        if current.is_some() && indent_chars > indent_level {
            pending.push(value.to_string());
            continue;
        }
        flush(&mut out, current.take(), &mut pending);
        indent_level = indent_chars;
        let at = |c: usize, len: usize| Span::new(&file, line_no, col(line, c), len as u32);
        if let Some(name) = value
            .strip_prefix('[')
            .and_then(|v| v.rfind(']').map(|i| &v[..i]))
            .filter(|h| !h.is_empty())
        {
            let span = at(indent, value.chars().count());
            if let Some(prev) = out.sections.iter().find(|s| s.name == name) {
                errors.push(
                    Diagnostic::new(span, format!("section [{name}] already exists"))
                        .label("duplicate section")
                        .help(format!("first defined at {}", prev.span)),
                );
                return Err(errors);
            }
            out.sections.push(Section {
                name: name.to_string(),
                span,
                entries: Vec::new(),
            });
            in_section = true;
            continue;
        }
        if !in_section {
            errors.push(
                Diagnostic::new(
                    at(indent, value.chars().count()),
                    "file contains no section headers",
                )
                .label("a setting before any [section]")
                .help("settings go under a section such as [defaults]"),
            );
            return Err(errors);
        }
        let Some(delim) = value.find(['=', ':']) else {
            errors.push(
                Diagnostic::new(
                    at(indent, value.chars().count()),
                    "a line that is not `key = value`",
                )
                .label("no `=` or `:`"),
            );
            continue;
        };
        let key = value[..delim].trim_end_matches(is_space);
        if key.is_empty() {
            errors.push(
                Diagnostic::new(
                    at(indent, value.chars().count()),
                    "a setting without a name",
                )
                .label("nothing before the `=`"),
            );
            continue;
        }
        let key = key.to_lowercase();
        let v = value[delim + 1..].trim_matches(is_space);
        let v_at = indent
            + delim
            + 1
            + (value[delim + 1..].len() - value[delim + 1..].trim_start_matches(is_space).len());
        let s = out.sections.len() - 1;
        let section = &mut out.sections[s];
        if let Some(prev) = section.entries.iter().find(|e| e.key == key) {
            errors.push(
                Diagnostic::new(
                    at(indent, key.chars().count()),
                    format!(
                        "option `{key}` in section [{}] already exists",
                        section.name
                    ),
                )
                .label("duplicate option")
                .help(format!("first set at {}", prev.key_span)),
            );
            return Err(errors);
        }
        section.entries.push(Entry {
            key_span: at(indent, key.chars().count()),
            value_span: at(v_at, v.chars().count()),
            key,
            value: v.to_string(),
        });
        current = Some((s, section.entries.len() - 1));
        pending.push(v.to_string());
    }
    flush(&mut out, current.take(), &mut pending);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
