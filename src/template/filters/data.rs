//! Serialisation, encoding, hashing and path filters. JSON output follows Python's
//! `json.dumps` byte for byte (separators, `ensure_ascii`, key sorting) because rendered
//! config files are compared for idempotence.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use minijinja::value::{Rest, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, Value};

use super::support::{FArgs, err, items, pairs, strict};
use super::yaml_dump;
use crate::template::pyrepr::{py_number, py_str};
use crate::values::python_json_str;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("to_json", |v: Value, args: Rest<ValueOrKwargs>| {
        to_json(v, &args.into_values(), None, false)
    });
    env.add_filter("to_nice_json", |v: Value, args: Rest<ValueOrKwargs>| {
        to_json(v, &args.into_values(), Some(4), true)
    });
    env.add_filter("from_json", |s: String| -> Result<Value, Error> {
        serde_json::from_str::<serde_json::Value>(&s)
            .map(|j| Value::from(minijinja::value::Serde(&j)))
            .map_err(|e| err(format!("from_json: {e}")))
    });
    env.add_filter("to_yaml", |v: Value, args: Rest<ValueOrKwargs>| {
        to_yaml(v, &args.into_values(), false)
    });
    env.add_filter("to_nice_yaml", |v: Value, args: Rest<ValueOrKwargs>| {
        to_yaml(v, &args.into_values(), true)
    });
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("from_yaml_all", from_yaml_all);
    env.add_filter("b64encode", |v: Value| -> Result<String, Error> {
        strict(&v)?;
        Ok(STANDARD.encode(py_str(&v)))
    });
    env.add_filter("b64decode", |v: Value| -> Result<String, Error> {
        strict(&v)?;
        let bytes = STANDARD
            .decode(py_str(&v).trim())
            .map_err(|e| err(format!("b64decode: {e}")))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    });
    env.add_filter("basename", |p: String| basename(&p).to_string());
    env.add_filter("dirname", |p: String| dirname(&p));
    env.add_filter("splitext", |p: String| {
        let (root, ext) = splitext(&p);
        Value::from(vec![Value::from(root), Value::from(ext)])
    });
    env.add_filter("path_join", path_join);
    env.add_filter("hash", |v: Value, kind: Option<String>| {
        hash(&v, kind.as_deref().unwrap_or("sha1"))
    });
    env.add_filter("checksum", |v: Value| hash(&v, "sha1"));
    env.add_filter("sha1", |v: Value| hash(&v, "sha1"));
    env.add_filter("md5", |v: Value| hash(&v, "md5"));
}

fn to_json(v: Value, args: &[Value], indent: Option<usize>, sort: bool) -> Result<String, Error> {
    let a = FArgs::new(args)?;
    let indent = a
        .int(usize::MAX, "indent")?
        .map(|i| i.max(0) as usize)
        .or(indent);
    let sort_keys = a.bool(usize::MAX, "sort_keys", sort)?;
    let ensure_ascii = a.bool(usize::MAX, "ensure_ascii", true)?;
    a.done()?;
    let mut out = String::new();
    let opts = JsonOpts {
        indent,
        sort_keys,
        ensure_ascii,
    };
    write_json(&mut out, &v, &opts, 0)?;
    Ok(out)
}

struct JsonOpts {
    indent: Option<usize>,
    sort_keys: bool,
    ensure_ascii: bool,
}

fn write_json(out: &mut String, v: &Value, o: &JsonOpts, depth: usize) -> Result<(), Error> {
    strict(v)?;
    let (item_sep, newline) = match o.indent {
        Some(n) => (",", Some(n)),
        None => (", ", None),
    };
    let open = |out: &mut String, c: char, d: usize| {
        out.push(c);
        if let Some(n) = newline {
            out.push('\n');
            out.push_str(&" ".repeat(n * d));
        }
    };
    let close = |out: &mut String, c: char, d: usize| {
        if let Some(n) = newline {
            out.push('\n');
            out.push_str(&" ".repeat(n * d));
        }
        out.push(c);
    };
    let sep = |out: &mut String, d: usize| {
        out.push_str(item_sep);
        if let Some(n) = newline {
            out.push('\n');
            out.push_str(&" ".repeat(n * d));
        }
    };
    match v.kind() {
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => {
            let n = py_number(v);
            out.push_str(match n.as_str() {
                "inf" => "Infinity",
                "-inf" => "-Infinity",
                "nan" => "NaN",
                s => s,
            });
        }
        ValueKind::String => python_json_str(out, v.as_str().unwrap_or_default(), o.ensure_ascii),
        ValueKind::Map => {
            let mut ps = pairs(v)?;
            if ps.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            if o.sort_keys {
                ps.sort_by_key(|(a, _)| json_key(a));
            }
            open(out, '{', depth + 1);
            for (i, (k, x)) in ps.iter().enumerate() {
                if i > 0 {
                    sep(out, depth + 1);
                }
                python_json_str(out, &json_key(k), o.ensure_ascii);
                out.push_str(": ");
                write_json(out, x, o, depth + 1)?;
            }
            close(out, '}', depth);
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let xs = items(v)?;
            if xs.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            open(out, '[', depth + 1);
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    sep(out, depth + 1);
                }
                write_json(out, x, o, depth + 1)?;
            }
            close(out, ']', depth);
        }
        _ => {
            return Err(err(format!(
                "Object of type {} is not JSON serializable",
                v.kind()
            )));
        }
    }
    Ok(())
}

/// JSON object keys: Python converts `True`/`None`/numbers to their JSON spelling.
fn json_key(k: &Value) -> String {
    match k.kind() {
        ValueKind::Bool => if k.is_true() { "true" } else { "false" }.into(),
        ValueKind::None => "null".into(),
        _ => py_str(k),
    }
}

fn to_yaml(v: Value, args: &[Value], nice: bool) -> Result<String, Error> {
    let a = FArgs::new(args)?;
    let indent = a
        .int(usize::MAX, "indent")?
        .map(|i| i.clamp(2, 9) as usize)
        .unwrap_or(if nice { 4 } else { 2 });
    let sort_keys = a.bool(usize::MAX, "sort_keys", true)?;
    let flow = match a.get(usize::MAX, "default_flow_style")? {
        Some(f) if f.is_none() => None,
        Some(f) => Some(f.is_true()),
        None if nice => Some(false),
        None => None,
    };
    a.done()?;
    yaml_dump::dump(
        &v,
        &yaml_dump::Style {
            indent,
            sort_keys,
            flow,
        },
    )
}

fn from_yaml(v: Value) -> Result<Value, Error> {
    strict(&v)?;
    if v.kind() != ValueKind::String {
        return Ok(v);
    }
    let node = crate::yaml::parse_str(
        v.as_str().unwrap_or_default(),
        std::path::Path::new("<from_yaml>"),
    )
    .map_err(|d| err(format!("from_yaml: {}", d.message)))?;
    Ok(Value::from(minijinja::value::Serde(node.to_json())))
}

/// Documents separated by `---` lines, each parsed like `from_yaml`.
fn from_yaml_all(v: Value) -> Result<Value, Error> {
    strict(&v)?;
    let text = py_str(&v);
    let mut docs = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            if !cur.trim().is_empty() {
                docs.push(from_yaml(Value::from(std::mem::take(&mut cur)))?);
            }
            cur = line.strip_prefix("---").unwrap_or("").to_string();
            cur.push('\n');
        } else if line.trim_end() != "..." {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    if !cur.trim().is_empty() {
        docs.push(from_yaml(Value::from(cur))?);
    }
    Ok(Value::from(docs))
}

/// Python's `os.path.basename`.
pub fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Python's `os.path.dirname`.
pub fn dirname(p: &str) -> String {
    let head = &p[..p.rfind('/').map(|i| i + 1).unwrap_or(0)];
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/').to_string()
    } else {
        head.to_string()
    }
}

/// Python's `os.path.splitext`: a leading dot of the basename is not an extension.
fn splitext(p: &str) -> (String, String) {
    let base = basename(p);
    let stem_start = p.len() - base.len();
    let lead = base.len() - base.trim_start_matches('.').len();
    match base[lead..].rfind('.') {
        Some(i) => {
            let at = stem_start + lead + i;
            (p[..at].to_string(), p[at..].to_string())
        }
        None => (p.to_string(), String::new()),
    }
}

/// Python's `os.path.join` over a list of segments.
fn path_join(v: Value) -> Result<String, Error> {
    let parts = if v.kind() == ValueKind::Seq {
        items(&v)?.iter().map(py_str).collect()
    } else {
        vec![py_str(&v)]
    };
    let mut out = String::new();
    for p in parts {
        if p.starts_with('/') || out.is_empty() {
            out = p;
        } else {
            if !out.ends_with('/') {
                out.push('/');
            }
            out.push_str(&p);
        }
    }
    Ok(out)
}

fn hash(v: &Value, kind: &str) -> Result<String, Error> {
    use sha2::Digest;
    strict(v)?;
    let data = py_str(v);
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    Ok(match kind {
        "sha1" => hex(&sha1::Sha1::digest(data.as_bytes())),
        "md5" => hex(&md5::Md5::digest(data.as_bytes())),
        "sha224" => hex(&sha2::Sha224::digest(data.as_bytes())),
        "sha256" => hex(&sha2::Sha256::digest(data.as_bytes())),
        "sha384" => hex(&sha2::Sha384::digest(data.as_bytes())),
        "sha512" => hex(&sha2::Sha512::digest(data.as_bytes())),
        other => return Err(err(format!("unsupported hash type {other}"))),
    })
}
