//! Ansible's value rules: how a YAML or Jinja value reads as a boolean or a string where
//! Ansible expects one. Inventory, templates, the loader, the executor and the modules all
//! apply the same rules, so they live here, below all of them.

use serde_json::Value;

/// Ansible's boolean conversion (`module_utils.parsing.convert_bool`).
pub fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "t" | "y" | "1.0" => Some(true),
            "no" | "off" | "0" | "false" | "f" | "n" | "0.0" | "" => Some(false),
            _ => None,
        },
        Value::Null => Some(false),
        _ => None,
    }
}

/// Stringifies a scalar the way Ansible does when a module expects `str`.
pub fn to_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True".into() } else { "False".into() }),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Python's type name of a value, as Ansible's conversion errors print it.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's `json.dumps` defaults (`", "`/`": "` separators, ASCII only), so request bodies
/// and written content are byte-identical to Ansible's.
pub fn python_json(v: &Value) -> String {
    match v {
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(python_json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    python_json(&Value::from(k.as_str())),
                    python_json(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::String(s) => {
            let mut out = String::new();
            python_json_str(&mut out, s, true);
            out
        }
        Value::Bool(b) => if *b { "true" } else { "false" }.into(),
        other => other.to_string(),
    }
}

/// A string as Python's `json.dumps` writes it: `\"`, `\\`, the short escapes, other control
/// characters as `\u00XX`, and with `ensure_ascii` (Python's default) every non-ASCII
/// character as `\uXXXX` (surrogate pairs beyond the BMP).
pub fn python_json_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && (c as u32) > 0x7e) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `str.splitlines()`: Ansible builds `stdout_lines` with it.
pub fn splitlines(s: &str) -> Vec<Value> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\r' => {
                if it.peek() == Some(&'\n') {
                    it.next();
                }
                lines.push(Value::from(std::mem::take(&mut cur)));
            }
            '\n' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => {
                lines.push(Value::from(std::mem::take(&mut cur)));
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        lines.push(Value::from(cur));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_json_escapes_like_json_dumps() {
        // json.dumps({"a": [1, True, None], "b": "é\"x\b\f\u0001"})
        assert_eq!(
            python_json(&serde_json::json!({"a": [1, true, null], "b": "é\"x\u{8}\u{c}\u{1}"})),
            r#"{"a": [1, true, null], "b": "\u00e9\"x\b\f\u0001"}"#
        );
    }
}
