//! A YAML emitter shaped like PyYAML's `yaml.dump`, which Ansible's `to_yaml` and
//! `to_nice_yaml` use: sorted keys, sequences not indented inside mappings, `-   ` item
//! prefixes at indent 4, leaf collections in flow style unless `default_flow_style=False`,
//! and strings quoted exactly when YAML 1.1 would read them as something else.
//! Multi-line strings are written double-quoted rather than folded (same data, different
//! layout from PyYAML), and long lines are not wrapped.

use minijinja::value::ValueKind;
use minijinja::{Error, Value};

use super::support::{err, items, pairs, strict};
use crate::template::pyrepr::{py_float, py_str};

pub struct Style {
    pub indent: usize,
    pub sort_keys: bool,
    /// `Some(false)`: block everywhere; `Some(true)`: flow everywhere; `None`: flow for
    /// collections holding only scalars.
    pub flow: Option<bool>,
}

pub fn dump(v: &Value, st: &Style) -> Result<String, Error> {
    let mut out = String::new();
    if is_collection(v) && !use_flow(v, st)? {
        block(&mut out, v, st, 0)?;
    } else {
        out.push_str(&flow(v, st)?);
        out.push('\n');
        if !is_collection(v) {
            // PyYAML ends a bare top-level scalar document explicitly.
            out.push_str("...\n");
        }
    }
    Ok(out)
}

fn is_collection(v: &Value) -> bool {
    matches!(
        v.kind(),
        ValueKind::Map | ValueKind::Seq | ValueKind::Iterable
    )
}

fn is_empty(v: &Value) -> bool {
    v.len() == Some(0)
}

fn use_flow(v: &Value, st: &Style) -> Result<bool, Error> {
    if is_empty(v) {
        return Ok(true);
    }
    Ok(match st.flow {
        Some(f) => f,
        None => {
            let children: Vec<Value> = match v.kind() {
                ValueKind::Map => pairs(v)?.into_iter().map(|(_, x)| x).collect(),
                _ => items(v)?,
            };
            !children.iter().any(is_collection)
        }
    })
}

fn sorted_pairs(v: &Value, st: &Style) -> Result<Vec<(Value, Value)>, Error> {
    let mut ps = pairs(v)?;
    if st.sort_keys {
        ps.sort_by(|a, b| a.0.cmp(&b.0));
    }
    Ok(ps)
}

/// Writes a block collection whose first line continues the current line (after `key:` on
/// its own line or after a `- ` prefix) at column `col`.
fn block(out: &mut String, v: &Value, st: &Style, col: usize) -> Result<(), Error> {
    let pad = " ".repeat(col);
    match v.kind() {
        ValueKind::Map => {
            for (i, (k, x)) in sorted_pairs(v, st)?.iter().enumerate() {
                if i > 0 {
                    out.push_str(&pad);
                }
                out.push_str(&scalar(k, true)?);
                out.push(':');
                child(out, x, st, col, false)?;
            }
        }
        _ => {
            for (i, x) in items(v)?.iter().enumerate() {
                if i > 0 {
                    out.push_str(&pad);
                }
                out.push('-');
                child(out, x, st, col, true)?;
            }
        }
    }
    Ok(())
}

/// Writes the value after `key:` or `-`.
fn child(out: &mut String, x: &Value, st: &Style, col: usize, in_seq: bool) -> Result<(), Error> {
    if is_collection(x) && !use_flow(x, st)? {
        if in_seq {
            // `-   key: v` at indent 4: the item content starts at col + indent.
            out.push_str(&" ".repeat(st.indent - 1));
            block(out, x, st, col + st.indent)
        } else if x.kind() == ValueKind::Map {
            out.push('\n');
            out.push_str(&" ".repeat(col + st.indent));
            block(out, x, st, col + st.indent)
        } else {
            // Sequences inside mappings are not indented.
            out.push('\n');
            out.push_str(&" ".repeat(col));
            block(out, x, st, col)
        }
    } else {
        let gap = if in_seq {
            " ".repeat(st.indent - 1)
        } else {
            " ".to_string()
        };
        out.push_str(&gap);
        out.push_str(&flow(x, st)?);
        out.push('\n');
        Ok(())
    }
}

fn flow(v: &Value, st: &Style) -> Result<String, Error> {
    Ok(match v.kind() {
        ValueKind::Map => {
            let parts = sorted_pairs(v, st)?
                .iter()
                .map(|(k, x)| Ok(format!("{}: {}", scalar_in_flow(k)?, flow(x, st)?)))
                .collect::<Result<Vec<_>, Error>>()?;
            format!("{{{}}}", parts.join(", "))
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let parts = items(v)?
                .iter()
                .map(|x| flow(x, st))
                .collect::<Result<Vec<_>, Error>>()?;
            format!("[{}]", parts.join(", "))
        }
        _ => scalar_in_flow(v)?,
    })
}

fn scalar_in_flow(v: &Value) -> Result<String, Error> {
    scalar(v, false)
}

/// A scalar in plain, single-quoted or double-quoted style. `block` is false inside flow
/// collections, where `,[]{}` also force quoting.
fn scalar(v: &Value, block: bool) -> Result<String, Error> {
    strict(v)?;
    Ok(match v.kind() {
        ValueKind::None => "null".into(),
        ValueKind::Bool => if v.is_true() { "true" } else { "false" }.into(),
        ValueKind::Number if v.is_integer() => v.to_string(),
        ValueKind::Number => yaml_float(f64::try_from(v.clone()).unwrap_or(f64::NAN)),
        ValueKind::String => yaml_str(v.as_str().unwrap_or_default(), block),
        ValueKind::Map | ValueKind::Seq | ValueKind::Iterable => {
            return Err(err("complex keys cannot be written as YAML"));
        }
        _ => yaml_str(&py_str(v), block),
    })
}

fn yaml_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    let s = py_float(f);
    // PyYAML writes exponents with a mantissa dot: 1e+16 -> 1.0e+16.
    match s.split_once('e') {
        Some((m, e)) if !m.contains('.') => format!("{m}.0e{e}"),
        _ => s,
    }
}

fn yaml_str(s: &str, block: bool) -> String {
    if s.chars()
        .any(|c| (c < ' ' && c != '\n' && c != '\t') || c == '\u{7f}' || c == '\u{feff}')
        || s.contains('\n')
    {
        return double_quoted(s);
    }
    if needs_quotes(s, block) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        s.to_string()
    }
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c < ' ' || c == '\u{7f}' || c == '\u{feff}' => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn needs_quotes(s: &str, block: bool) -> bool {
    if s.is_empty() || s.starts_with([' ', '\t']) || s.ends_with([' ', '\t']) {
        return true;
    }
    if resolves_to_other_type(s) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "#,[]{}&*!|>'\"%@`".contains(first) {
        return true;
    }
    let second = s.chars().nth(1);
    if "-?:".contains(first) && second.is_none_or(|c| c == ' ') {
        return true;
    }
    if s == "---" || s == "..." || s.starts_with("--- ") || s.starts_with("... ") {
        return true;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return true;
    }
    !block && s.contains([',', '[', ']', '{', '}', '?'])
}

/// YAML 1.1 implicit types PyYAML resolves: booleans, null, ints, floats, timestamps.
fn resolves_to_other_type(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
        "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~", "<<", "=",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let digits_us = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '_');
    // ints: decimal, 0x, 0o/0 octal, 0b, sexagesimal
    if digits_us(body) && body.starts_with(|c: char| c.is_ascii_digit()) {
        return true;
    }
    if let Some(h) = body.strip_prefix("0x") {
        return !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    }
    if let Some(b) = body.strip_prefix("0b") {
        return !b.is_empty() && b.chars().all(|c| c == '0' || c == '1' || c == '_');
    }
    if body.contains(':')
        && body
            .split(':')
            .all(|p| digits_us(p) || p.parse::<f64>().is_ok())
    {
        return true;
    }
    // floats need a dot in YAML 1.1 (or are .inf/.nan)
    let lower = body.to_lowercase();
    if lower == ".inf" || s.to_lowercase() == ".nan" {
        return true;
    }
    if body.contains('.') {
        let (mant, exp) = match lower.split_once('e') {
            Some((m, e)) => (m, Some(e)),
            None => (lower.as_str(), None),
        };
        let (ip, fp) = mant.split_once('.').unwrap_or((mant, ""));
        let mant_ok = (ip.is_empty() || digits_us(ip))
            && (fp.is_empty() || digits_us(fp))
            && !(ip.is_empty() && fp.is_empty());
        let exp_ok = exp.is_none_or(|e| {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
        });
        if mant_ok && exp_ok {
            return true;
        }
    }
    // timestamps: YYYY-MM-DD...
    let b = s.as_bytes();
    b.len() >= 8
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && s[5..].starts_with(|c: char| c.is_ascii_digit())
        && s[5..].contains('-')
}
