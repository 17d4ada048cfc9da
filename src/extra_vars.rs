//! `-e/--extra-vars` parsing with Ansible's forms: `k=v` pairs (shell-like quoting), `@file`
//! (YAML or JSON), and inline JSON/YAML mappings. Later options override earlier ones.

use std::path::Path;

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Span};

pub fn parse(args: &[String]) -> Result<Map<String, Value>, Diagnostic> {
    let mut out = Map::new();
    for a in args {
        let a = a.trim();
        if let Some(file) = a.strip_prefix('@') {
            let node = crate::yaml::load_file(Path::new(file))?;
            match node.to_json() {
                Value::Object(m) => out.extend(m),
                Value::Null => {}
                _ => {
                    return Err(
                        node.error(format!("extra vars file {file} must contain a mapping"))
                    );
                }
            }
        } else if a.starts_with('{') {
            let node = crate::yaml::parse_str(a, Path::new("<extra-vars>"))?;
            match node.to_json() {
                Value::Object(m) => out.extend(m),
                _ => {
                    return Err(Diagnostic::new(
                        Span::unknown(),
                        format!("extra vars `{a}` must be a mapping"),
                    ));
                }
            }
        } else {
            for (k, v) in split_kv(a)? {
                out.insert(k, Value::String(v));
            }
        }
    }
    Ok(out)
}

/// Splits `a=1 b="x y" c='z'` into pairs. Values stay strings, as Ansible keeps them.
pub fn split_kv(s: &str) -> Result<Vec<(String, String)>, Diagnostic> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            chars.next();
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => word.push(c),
                None if c == '"' || c == '\'' => quote = Some(c),
                None if c == '\\' => {
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                }
                None if c.is_whitespace() => break,
                None => word.push(c),
            }
        }
        if quote.is_some() {
            return Err(Diagnostic::new(
                Span::unknown(),
                format!("unbalanced quotes in extra vars `{s}`"),
            ));
        }
        match word.split_once('=') {
            Some((k, v)) if !k.is_empty() => out.push((k.to_string(), v.to_string())),
            _ => {
                return Err(Diagnostic::new(
                    Span::unknown(),
                    format!("extra vars must be key=value, @file or a JSON mapping; got `{word}`"),
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn all_forms() {
        let dir = crate::scratch::root().join(format!("strata-ev-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("v.yml");
        std::fs::write(&f, "x: 1\nl: [a]\n").unwrap();
        let m = parse(&[
            "a=1 b=\"two words\"".into(),
            format!("@{}", f.display()),
            r#"{"j": true, "a": "over"}"#.into(),
        ])
        .unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"a": "over", "b": "two words", "x": 1, "l": ["a"], "j": true})
        );
        assert!(parse(&["novalue".into()]).is_err());
    }
}
