//! Ansible's regex filters and tests with Python `re` semantics. fancy-regex is used because
//! playbooks written for Python's `re` rely on look-around and back-references, which the
//! `regex` crate does not support.

use fancy_regex::{Captures, Regex, RegexBuilder};
use minijinja::value::{Rest, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, Value};

use super::support::{FArgs, err, strict};
use crate::template::pyrepr::py_str;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", regex_escape);
}

/// Compiles a Python-syntax pattern with `re.I`/`re.M` flags.
pub fn compile(pattern: &str, ignorecase: bool, multiline: bool) -> Result<Regex, Error> {
    let pat = pattern.replace("\\Z", "\\z");
    RegexBuilder::new(&pat)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| err(format!("invalid regular expression '{pattern}': {e}")))
}

/// Python `re.match`/`re.search`/`re.fullmatch` as a boolean.
pub fn matches(
    value: &str,
    pattern: &str,
    ignorecase: bool,
    multiline: bool,
    how: &str,
) -> Result<bool, Error> {
    let wrapped = match how {
        "match" => format!("\\A(?:{pattern})"),
        "fullmatch" => format!("\\A(?:{pattern})\\z"),
        "search" => pattern.to_string(),
        other => return Err(err(format!("unknown match_type {other}"))),
    };
    let re = compile(&wrapped, ignorecase, multiline)?;
    re.is_match(value).map_err(|e| err(e.to_string()))
}

fn text(v: &Value) -> Result<String, Error> {
    strict(v)?;
    Ok(if v.is_none() {
        String::new()
    } else {
        py_str(v)
    })
}

/// `regex_replace(pattern, replacement='', ignorecase=False, multiline=False, count=0,
/// mandatory_count=0)`.
fn regex_replace(v: &Value, args: Rest<ValueOrKwargs>) -> Result<String, Error> {
    let args = args.into_values();
    let a = FArgs::new(&args)?;
    let pattern = a.str(0, "pattern")?.unwrap_or_default();
    let replacement = a.str(1, "replacement")?.unwrap_or_default();
    let ignorecase = a.bool(2, "ignorecase", false)?;
    let multiline = a.bool(3, "multiline", false)?;
    let count = a.int(4, "count")?.unwrap_or(0).max(0) as usize;
    let mandatory = a.int(5, "mandatory_count")?.unwrap_or(0).max(0) as usize;
    a.done()?;
    let s = text(v)?;
    let re = compile(&pattern, ignorecase, multiline)?;
    let mut out = String::new();
    let mut last = 0;
    let mut n = 0;
    for caps in re.captures_iter(s.as_str()) {
        if count > 0 && n == count {
            break;
        }
        let caps = caps.map_err(|e| err(e.to_string()))?;
        let m = caps.get(0).expect("group 0 always exists");
        out.push_str(&s[last..m.start()]);
        out.push_str(&expand(&caps, &replacement)?);
        last = m.end();
        n += 1;
    }
    out.push_str(&s[last..]);
    if mandatory > 0 && n != mandatory {
        return Err(err(format!(
            "'{pattern}' should match {mandatory} times, but matches {n} times"
        )));
    }
    Ok(out)
}

/// Expands a Python replacement template (`\1`, `\g<name>`, `\n`, `\\`).
fn expand(caps: &Captures<'_, str>, repl: &str) -> Result<String, Error> {
    let mut out = String::new();
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(d) if d.is_ascii_digit() => {
                let mut num = d.to_string();
                if let Some(&d2) = chars.peek()
                    && d2.is_ascii_digit()
                {
                    num.push(d2);
                    chars.next();
                }
                let i: usize = num.parse().unwrap_or(0);
                if i >= caps.len() {
                    return Err(err(format!("invalid group reference {i}")));
                }
                out.push_str(caps.get(i).map(|m| m.as_str()).unwrap_or(""));
            }
            Some('g') if chars.peek() == Some(&'<') => {
                chars.next();
                let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                let m = match name.parse::<usize>() {
                    Ok(i) => caps.get(i),
                    Err(_) => caps.name(&name),
                };
                out.push_str(m.map(|m| m.as_str()).unwrap_or(""));
            }
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Ok(out)
}

/// `regex_search(regex, *groups, ignorecase=False, multiline=False)`: the match, the listed
/// groups (`'\\1'`, `'\\g<name>'`), or None without a match.
fn regex_search(v: &Value, pattern: String, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let a = FArgs::new(&args)?;
    let ignorecase = a.bool(usize::MAX, "ignorecase", false)?;
    let multiline = a.bool(usize::MAX, "multiline", false)?;
    a.done()?;
    let mut groups = Vec::new();
    for g in a.positional() {
        let g = py_str(g);
        if let Some(name) = g.strip_prefix("\\g<").and_then(|r| r.strip_suffix('>')) {
            groups.push(name.to_string());
        } else if let Some(num) = g
            .strip_prefix('\\')
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        {
            groups.push(num.to_string());
        } else {
            return Err(err("Unknown argument"));
        }
    }
    let s = text(v)?;
    let re = compile(&pattern, ignorecase, multiline)?;
    let Some(caps) = re.captures(s.as_str()).map_err(|e| err(e.to_string()))? else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(caps.get(0).map(|m| m.as_str()).unwrap_or("")));
    }
    let group = |g: &String| -> Value {
        let m = match g.parse::<usize>() {
            Ok(i) => caps.get(i),
            Err(_) => caps.name(g),
        };
        m.map(|m| Value::from(m.as_str()))
            .unwrap_or(Value::from(()))
    };
    Ok(Value::from(groups.iter().map(group).collect::<Vec<_>>()))
}

/// Python `re.findall`: whole matches, the single group, or lists of all groups.
fn regex_findall(v: &Value, pattern: String, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let args = args.into_values();
    let a = FArgs::new(&args)?;
    let multiline = a.bool(0, "multiline", false)?;
    let ignorecase = a.bool(1, "ignorecase", false)?;
    a.done()?;
    let s = text(v)?;
    let re = compile(&pattern, ignorecase, multiline)?;
    let ngroups = re.captures_len() - 1;
    let mut out = Vec::new();
    for caps in re.captures_iter(s.as_str()) {
        let caps = caps.map_err(|e| err(e.to_string()))?;
        let g = |i: usize| Value::from(caps.get(i).map(|m| m.as_str()).unwrap_or(""));
        out.push(match ngroups {
            0 => g(0),
            1 => g(1),
            n => Value::from((1..=n).map(g).collect::<Vec<_>>()),
        });
    }
    Ok(Value::from(out))
}

/// `regex_escape(re_type='python')`: Python 3.7+ `re.escape`, or POSIX basic escaping.
fn regex_escape(v: &Value, re_type: Option<String>) -> Result<String, Error> {
    let s = text(v)?;
    let special: &str = match re_type.as_deref().unwrap_or("python") {
        "python" => "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}",
        "posix_basic" => "[].^$*\\",
        other => return Err(err(format!("Regex type ({other}) not yet implemented"))),
    };
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if special.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

/// Whether a value counts as text for the regex tests (numbers are stringified by Ansible).
pub fn test_input(v: &Value) -> Result<String, Error> {
    strict(v)?;
    match v.kind() {
        ValueKind::None => Ok(String::new()),
        _ => Ok(py_str(v)),
    }
}
