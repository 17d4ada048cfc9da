//! YAML loading that keeps a source position on every node. Playbooks, roles, inventories and
//! vars files are all parsed into [`Node`] first, so that every later validation error can
//! point at the offending key or value.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::diagnostic::{Diagnostic, Span};

/// A YAML value with the position it was written at.
#[derive(Clone, Debug)]
pub struct Node {
    pub value: Yaml,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Insertion order matters (Ansible keeps it, and so do diffs and error order).
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Yaml::Null => "null",
            Yaml::Bool(_) => "a boolean",
            Yaml::Int(_) => "an integer",
            Yaml::Float(_) => "a float",
            Yaml::Str(_) => "a string",
            Yaml::Seq(_) => "a list",
            Yaml::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Yaml::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Yaml::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Yaml::Null)
    }

    /// Looks up a key in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The scalar rendered as Ansible would see it as a string (keys, free-form args).
    pub fn scalar_string(&self) -> Option<String> {
        match &self.value {
            Yaml::Null => Some(String::new()),
            Yaml::Bool(b) => Some(if *b { "True".into() } else { "False".into() }),
            Yaml::Int(i) => Some(i.to_string()),
            Yaml::Float(f) => Some(f.to_string()),
            Yaml::Str(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// Converts to a plain JSON value, dropping positions. Map keys that are not strings are
    /// stringified, as Ansible does when it hands values to Jinja.
    pub fn to_json(&self) -> Value {
        match &self.value {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => Value::Bool(*b),
            Yaml::Int(i) => Value::from(*i),
            Yaml::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Yaml::Str(s) => Value::String(s.clone()),
            Yaml::Seq(s) => Value::Array(s.iter().map(Node::to_json).collect()),
            Yaml::Map(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.scalar_string().unwrap_or_default(), v.to_json()))
                    .collect(),
            ),
        }
    }

    pub fn error(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.span.clone(), message)
    }

    fn attach_file(&mut self, file: &Arc<PathBuf>) {
        self.span.file = Some(file.clone());
        match &mut self.value {
            Yaml::Seq(s) => s.iter_mut().for_each(|n| n.attach_file(file)),
            Yaml::Map(m) => m.iter_mut().for_each(|(k, v)| {
                k.attach_file(file);
                v.attach_file(file);
            }),
            _ => {}
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

/// Visitor output before the position is attached by `Spanned`.
struct Inner(Yaml);

impl<'de> Deserialize<'de> for Inner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(InnerVisitor)
    }
}

struct InnerVisitor;

impl<'de> Visitor<'de> for InnerVisitor {
    type Value = Inner;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Inner, E> {
        Ok(Inner(Yaml::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Inner, E> {
        Ok(Inner(Yaml::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Inner, E> {
        Ok(Inner(
            i64::try_from(v)
                .map(Yaml::Int)
                .unwrap_or(Yaml::Float(v as f64)),
        ))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Inner, E> {
        Ok(Inner(
            i64::try_from(v)
                .map(Yaml::Int)
                .unwrap_or(Yaml::Float(v as f64)),
        ))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Inner, E> {
        Ok(Inner(
            i64::try_from(v)
                .map(Yaml::Int)
                .unwrap_or(Yaml::Float(v as f64)),
        ))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Inner, E> {
        Ok(Inner(Yaml::Float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Inner, E> {
        Ok(Inner(Yaml::Str(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Inner, E> {
        Ok(Inner(Yaml::Str(v)))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Inner, E> {
        Ok(Inner(Yaml::Str(String::from_utf8_lossy(v).into_owned())))
    }
    fn visit_none<E: de::Error>(self) -> Result<Inner, E> {
        Ok(Inner(Yaml::Null))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Inner, E> {
        Ok(Inner(Yaml::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Inner, D::Error> {
        Inner::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Inner, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            items.push(n);
        }
        Ok(Inner(Yaml::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Inner, A::Error> {
        let mut items: Vec<(Node, Node)> = Vec::new();
        while let Some(k) = map.next_key::<Node>()? {
            let v = map.next_value::<Node>()?;
            items.push((k, v));
        }
        Ok(Inner(Yaml::Map(items)))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Inner>::deserialize(d)?;
        let loc = s.referenced;
        let span = Span {
            file: None,
            line: loc.line() as u32,
            col: loc.column() as u32,
            len: loc.span().len() as u32,
        };
        Ok(Node {
            value: s.value.0,
            span,
        })
    }
}

fn options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    // Ansible (PyYAML) reads `0644` as octal 420; users write modes that way.
    #[allow(deprecated)]
    {
        o.legacy_octal_numbers = true;
    }
    o
}

/// Parses YAML text. `file` is used only for error positions.
pub fn parse_str(text: &str, file: &Path) -> Result<Node, Diagnostic> {
    let file = Arc::new(file.to_path_buf());
    if text.trim().is_empty() {
        return Ok(Node {
            value: Yaml::Null,
            span: Span::new(&file, 1, 1, 0),
        });
    }
    let mut node: Node = serde_saphyr::from_str_with_options(text, options()).map_err(|e| {
        let (line, col) = e
            .location()
            .map(|l| (l.line() as u32, l.column() as u32))
            .unwrap_or((0, 0));
        let msg = first_line(&e.to_string());
        Diagnostic::new(
            Span::new(&file, line, col, 1),
            format!("malformed YAML: {msg}"),
        )
        .label("here")
    })?;
    node.attach_file(&file);
    let lines: Vec<&str> = text.lines().collect();
    fix_scalars(&mut node, &lines, &mut HashMap::new());
    Ok(node)
}

/// Post-parse fixes that need the source text:
/// - serde-saphyr resolves plain scalars with YAML 1.2-ish rules (`0o17`, `1e3`, `tRue`, `y`
///   are numbers or booleans, `1:30` and `1_000` are strings); PyYAML, and so Ansible, uses
///   YAML 1.1's. A plain, untagged scalar written on one line is resolved again from its
///   source text by [`pyyaml_plain`], so variables get the type Ansible gives them; an alias
///   of an anchored scalar gets the anchor's fixed value.
/// - A quoted scalar's position is its opening quote; move it onto the content so positions
///   computed inside the string (Jinja errors) land on the right column.
fn fix_scalars(node: &mut Node, lines: &[&str], anchors: &mut HashMap<String, Yaml>) {
    let raw = |span: &Span| -> Option<String> {
        let line = lines.get(span.line.checked_sub(1)? as usize)?;
        let start = span.col.checked_sub(1)? as usize;
        let text: String = line.chars().skip(start).take(span.len as usize).collect();
        (text.chars().count() == span.len as usize).then_some(text)
    };
    let plain =
        |text: &str| !text.is_empty() && !text.starts_with(['"', '\'', '|', '>', '!', '&', '*']);
    // `!!str 123` and `&name 1:30`: the tag or anchor precedes the scalar on its line.
    let (tagged, anchor) = properties(lines, &node.span);
    match &mut node.value {
        Yaml::Seq(s) => s.iter_mut().for_each(|n| fix_scalars(n, lines, anchors)),
        Yaml::Map(m) => m.iter_mut().for_each(|(k, v)| {
            fix_scalars(k, lines, anchors);
            fix_scalars(v, lines, anchors);
        }),
        _ => {
            let text = raw(&node.span);
            match text {
                Some(t) if t.starts_with('*') => {
                    if let Some(v) = anchors.get(&t[1..]) {
                        node.value = v.clone();
                    }
                }
                Some(t) if t.starts_with(['"', '\'']) && matches!(node.value, Yaml::Str(_)) => {
                    node.span.col += 1;
                    node.span.len = node.span.len.saturating_sub(2);
                }
                Some(t) if !tagged && plain(&t) && read_as(&t, &node.value) => {
                    node.value = pyyaml_plain(&t).unwrap_or(Yaml::Str(t));
                }
                _ => {}
            }
            if let Some(a) = anchor {
                anchors.insert(a, node.value.clone());
            }
        }
    }
}

/// Whether a tag (`!!str`) and which anchor (`&name`) precede the scalar at `span`.
fn properties(lines: &[&str], span: &Span) -> (bool, Option<String>) {
    let Some(line) = span.line.checked_sub(1).and_then(|l| lines.get(l as usize)) else {
        return (false, None);
    };
    let before: String = line
        .chars()
        .take(span.col.saturating_sub(1) as usize)
        .collect();
    let mut tagged = false;
    let mut anchor = None;
    for word in before.split_whitespace().rev().take(2) {
        let word = word.trim_start_matches(['[', '{', ',']);
        if word.starts_with('!') {
            tagged = true;
        } else if let Some(a) = word.strip_prefix('&') {
            anchor.get_or_insert_with(|| a.to_string());
        } else {
            break;
        }
    }
    (tagged, anchor)
}

/// Whether serde-saphyr could have read `text` as `value`: merged and aliased nodes keep the
/// position of something else, and only a scalar really written there may be re-read.
fn read_as(text: &str, value: &Yaml) -> bool {
    let digits = text.replace('_', "");
    let (neg, body) = match digits.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, digits.strip_prefix('+').unwrap_or(&digits)),
    };
    match value {
        Yaml::Str(s) => s == text,
        Yaml::Null => matches!(text, "~" | "null" | "Null" | "NULL"),
        Yaml::Bool(b) => {
            let t = text.to_ascii_lowercase();
            let truthy = matches!(t.as_str(), "true" | "yes" | "on" | "y");
            let falsy = matches!(t.as_str(), "false" | "no" | "off" | "n");
            (*b && truthy) || (!*b && falsy)
        }
        Yaml::Int(v) => {
            let abs = [("0x", 16), ("0o", 8), ("0b", 2), ("0", 8), ("", 10)]
                .into_iter()
                .filter_map(|(p, r)| i64::from_str_radix(body.strip_prefix(p)?, r).ok())
                .collect::<Vec<_>>();
            abs.iter().any(|a| if neg { -a == *v } else { a == v })
        }
        Yaml::Float(f) => {
            let lower = text.to_ascii_lowercase();
            body.parse::<f64>()
                .is_ok_and(|x| (if neg { -x } else { x }) == *f)
                || lower.contains(".inf")
                || lower.contains(".nan")
        }
        Yaml::Seq(_) | Yaml::Map(_) => false,
    }
}

/// PyYAML's implicit resolvers and constructors (YAML 1.1) for a plain scalar: `None` when it
/// stays a string. Timestamps are left as strings, as strata has no date type.
fn pyyaml_plain(text: &str) -> Option<Yaml> {
    static INT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$").expect("static regex")
    });
    static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$").expect("static regex")
    });
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Some(Yaml::Bool(true));
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Some(Yaml::Bool(false));
        }
        "~" | "null" | "Null" | "NULL" => return Some(Yaml::Null),
        _ => {}
    }
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let sign = |v: f64| if neg { -v } else { v };
    let body = body.replace('_', "");
    if FLOAT.is_match(text) {
        let body = body.to_ascii_lowercase();
        let v = match body.as_str() {
            ".inf" => f64::INFINITY,
            ".nan" => f64::NAN,
            b if b.contains(':') => sexagesimal(b)?,
            b => b.parse().ok()?,
        };
        return Some(Yaml::Float(sign(v)));
    }
    if INT.is_match(text) {
        let v = if body == "0" {
            0
        } else if let Some(b) = body.strip_prefix("0b") {
            i64::from_str_radix(b, 2).ok()?
        } else if let Some(h) = body.strip_prefix("0x") {
            i64::from_str_radix(h, 16).ok()?
        } else if let Some(o) = body.strip_prefix('0') {
            i64::from_str_radix(o, 8).ok()?
        } else if body.contains(':') {
            let v = sexagesimal(&body)?;
            (v.abs() < 9.0e15).then_some(v as i64)?
        } else {
            // Beyond i64, as serde-saphyr's reading does: a float.
            match body.parse::<i64>() {
                Ok(v) => v,
                Err(_) => return Some(Yaml::Float(sign(body.parse().ok()?))),
            }
        };
        return Some(Yaml::Int(if neg { -v } else { v }));
    }
    None
}

/// `190:20:30` is 190*3600 + 20*60 + 30 (YAML 1.1 base 60); the last part may be a float.
fn sexagesimal(body: &str) -> Option<f64> {
    body.split(':').try_fold(0.0, |acc, part| {
        Some(acc * 60.0 + part.parse::<f64>().ok()?)
    })
}

/// Reads and parses a YAML file; I/O errors name the file.
pub fn load_file(path: &Path) -> Result<Node, Diagnostic> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::new(
            Span::file_only(path),
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    parse_str(&text, path)
}

/// serde-saphyr's messages embed their own snippet; keep only the headline since we render ours.
fn first_line(s: &str) -> String {
    let mut l = s.lines().next().unwrap_or("").trim();
    l = l.strip_prefix("error: ").unwrap_or(l);
    // Drop a leading "line X column Y: " that would duplicate our location.
    if l.starts_with("line ")
        && let Some(i) = l.find(": ")
    {
        l = &l[i + 2..];
    }
    // Drop a trailing " at line X column Y" that would duplicate our location.
    match l.find(" at line ") {
        Some(i) => l[..i].to_string(),
        None => l.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_of_nested_nodes() {
        let n = parse_str(
            "- hosts: all\n  tasks:\n    - name: x\n      debug: {msg: hi}\n",
            Path::new("p.yml"),
        )
        .unwrap();
        let play = &n.as_seq().unwrap()[0];
        let tasks = play.get("tasks").unwrap();
        let t = &tasks.as_seq().unwrap()[0];
        let (k, _) = &t.as_map().unwrap()[1];
        assert_eq!(k.as_str(), Some("debug"));
        assert_eq!((k.span.line, k.span.col), (4, 7));
        assert_eq!(
            k.span.file.as_deref().map(|p| p.as_path()),
            Some(Path::new("p.yml"))
        );
    }

    #[test]
    fn yaml_11_booleans_and_octal() {
        let n = parse_str(
            "a: yes\nb: no\nc: 0644\nd: '0644'\ny: n\ne: [Y, on]\n",
            Path::new("v.yml"),
        )
        .unwrap();
        let j = n.to_json();
        assert_eq!(j["a"], Value::Bool(true));
        assert_eq!(j["b"], Value::Bool(false));
        assert_eq!(j["c"], Value::from(420));
        assert_eq!(j["d"], Value::from("0644"));
        assert_eq!(j["y"], Value::from("n"));
        assert_eq!(j["e"], serde_json::json!(["Y", true]));
    }

    /// Plain scalars get PyYAML's YAML 1.1 types, as Ansible reads vars files.
    #[test]
    fn yaml_11_plain_scalars() {
        let n = parse_str(
            "a: 0o17\nb: 1e3\nc: 1.0e+3\nd: 09\ne: 0.1_2\nf: tRue\ng: 1:30\nh: -1:30\n\
             i: 1:30.5\nj: 1__0\nk: 0x_1f\nl: '1:30'\nm: OFF\nn: ~\no: 08\np: 1.\n\
             q: !!str 123\nr: &x 0o17\ns: *x\nt: {<<: [{u: 1}]}\n",
            Path::new("v.yml"),
        )
        .unwrap();
        assert_eq!(
            n.to_json(),
            serde_json::json!({"a": "0o17", "b": "1e3", "c": 1000.0, "d": "09", "e": 0.12,
                "f": "tRue", "g": 90, "h": -90, "i": 90.5, "j": 10, "k": 31, "l": "1:30",
                "m": false, "n": null, "o": "08", "p": 1.0, "q": "123", "r": "0o17",
                "s": "0o17", "t": {"u": 1}})
        );
    }

    #[test]
    fn malformed_yaml_is_located() {
        let e = parse_str("- hosts: all\n  tasks: [\n", Path::new("bad.yml")).unwrap_err();
        assert!(e.message.starts_with("malformed YAML"), "{}", e.message);
        assert!(e.span.line >= 2, "{:?}", e.span);
    }
}
