//! `sequence` (`with_sequence`): numbers as formatted strings, from the shortcut form
//! `[start-]end[/stride][:format]` or `start= end= count= stride= format=` pairs, with
//! Ansible's checks and messages.

use minijinja::State;
use minijinja::value::{Kwargs, Value};

use super::{fail, term_str};

#[derive(Clone, Default)]
struct Opts {
    start: Option<String>,
    end: Option<String>,
    count: Option<String>,
    stride: Option<String>,
    format: Option<String>,
}

pub fn run(_: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, minijinja::Error> {
    let mut base = Opts::default();
    for (name, slot) in [
        ("start", &mut base.start),
        ("end", &mut base.end),
        ("count", &mut base.count),
        ("stride", &mut base.stride),
        ("format", &mut base.format),
    ] {
        if let Some(v) = kwargs.get::<Option<Value>>(name)? {
            *slot = Some(term_str(&v));
        }
    }
    let terms: Vec<String> = if terms.is_empty() {
        vec![String::new()]
    } else {
        terms.iter().map(term_str).collect()
    };
    let mut out = Vec::new();
    for term in terms {
        let mut o = base.clone();
        if !shortcut(&term, &mut o) {
            key_values(&term, &mut o)?;
        }
        out.extend(generate(&o)?.into_iter().map(Value::from));
    }
    Ok(out)
}

/// The shortcut form; false when the term is not one (then it is read as `k=v` pairs).
fn shortcut(term: &str, o: &mut Opts) -> bool {
    let re =
        regex::Regex::new(r"(?i)^((0?x?[0-9a-f]+)-)?(0?x?[0-9a-f]+)(/(0?x?[0-9a-f]+))?(:(.+))?$")
            .expect("valid regex");
    let Some(c) = re.captures(term) else {
        return false;
    };
    let g = |i: usize| c.get(i).map(|m| m.as_str().to_string());
    if let Some(s) = g(2) {
        o.start = Some(s);
    }
    o.end = g(3);
    if let Some(s) = g(5) {
        o.stride = Some(s);
    }
    if let Some(f) = g(7) {
        o.format = Some(f);
    }
    true
}

fn key_values(term: &str, o: &mut Opts) -> Result<(), minijinja::Error> {
    let words = crate::shell::shlex::split(term).map_err(|e| {
        fail(format!(
            "unknown error parsing with_sequence arguments: '{term}'. Error was: {e}"
        ))
    })?;
    let mut unknown = Vec::new();
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            unknown.push("_raw_params".to_string());
            continue;
        };
        let v = Some(v.to_string());
        match k {
            "start" => o.start = v,
            "end" => o.end = v,
            "count" => o.count = v,
            "stride" => o.stride = v,
            "format" => o.format = v,
            other => unknown.push(other.to_string()),
        }
    }
    if !unknown.is_empty() {
        let keys: Vec<String> = unknown.iter().map(|k| format!("'{k}'")).collect();
        return Err(fail(format!(
            "unrecognized arguments to with_sequence: [{}]",
            keys.join(", ")
        )));
    }
    Ok(())
}

/// An integer option as Ansible's config reads it: decimal, `1.0` allowed.
fn int(
    name: &str,
    v: &Option<String>,
    default: Option<i64>,
) -> Result<Option<i64>, minijinja::Error> {
    let Some(s) = v else { return Ok(default) };
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Ok(Some(i));
    }
    match t.parse::<f64>() {
        Ok(f) if f.fract() == 0.0 && f.is_finite() => Ok(Some(f as i64)),
        _ => Err(fail(format!(
            "Invalid type for configuration option 'lookup_sequence.{name}': '{s}' is not a valid integer"
        ))),
    }
}

fn generate(o: &Opts) -> Result<Vec<String>, minijinja::Error> {
    let start = int("start", &o.start, Some(1))?.unwrap_or(1);
    let mut end = int("end", &o.end, None)?;
    let count = int("count", &o.count, None)?;
    let stride = int("stride", &o.stride, Some(1))?.unwrap_or(1);
    let format = o.format.clone().unwrap_or_else(|| "%d".into());
    match (count, end) {
        (None, None) => return Err(fail("must specify count or end in with_sequence")),
        (Some(_), Some(_)) => {
            return Err(fail("can't specify both count and end in with_sequence"));
        }
        (Some(0), None) => return Ok(vec![]),
        (Some(c), None) => end = Some(start + c * stride - 1),
        _ => {}
    }
    let end = end.unwrap_or_default();
    if stride > 0 && end < start {
        return Err(fail("to count backwards make stride negative"));
    }
    if stride < 0 && end > start {
        return Err(fail("to count forward don't make stride negative"));
    }
    if stride == 0 {
        return Ok(vec![]);
    }
    if format.matches('%').count() != 1 {
        return Err(fail(format!("bad formatting string: {format}")));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        out.push(
            percent_format(&format, i)
                .ok_or_else(|| fail(format!("problem formatting {i} with '{format}'")))?,
        );
        i += stride;
    }
    Ok(out)
}

/// Python's `format % i` for a format with one conversion (`%d`, `%05d`, `%x`, `%o`, `%s`,
/// `%f`, ...).
pub fn percent_format(format: &str, i: i64) -> Option<String> {
    let (before, rest) = format.split_once('%')?;
    let spec_end = rest.find(|c: char| c.is_ascii_alphabetic())?;
    let (spec, after) = rest.split_at(spec_end);
    let conv = after.chars().next()?;
    let after = &after[1..];
    let flags: String = spec.chars().take_while(|c| "-+ 0#".contains(*c)).collect();
    let rest = &spec[flags.len()..];
    let (width, prec) = match rest.split_once('.') {
        Some((w, p)) => (w, Some(p.parse::<usize>().ok()?)),
        None => (rest, None),
    };
    let width: usize = if width.is_empty() {
        0
    } else {
        width.parse().ok()?
    };
    let neg = i < 0;
    let mag = i.unsigned_abs();
    let (mut digits, prefix) = match conv {
        'd' | 'i' | 'u' => (mag.to_string(), ""),
        'x' => (format!("{mag:x}"), "0x"),
        'X' => (format!("{mag:X}"), "0X"),
        'o' => (format!("{mag:o}"), "0o"),
        's' | 'r' => {
            let s = i.to_string();
            let s = match prec {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            };
            return Some(format!(
                "{before}{}{after}",
                pad(&s, width, flags.contains('-'), ' ')
            ));
        }
        'f' | 'F' => (format!("{:.*}", prec.unwrap_or(6), mag as f64), ""),
        'e' | 'E' => {
            let s = format!("{:.*e}", prec.unwrap_or(6), mag as f64);
            let (m, e) = s.split_once('e')?;
            let e: i32 = e.parse().ok()?;
            let sign = if e < 0 { '-' } else { '+' };
            let s = format!("{m}e{sign}{:02}", e.abs());
            (if conv == 'E' { s.to_uppercase() } else { s }, "")
        }
        _ => return None,
    };
    if let (Some(p), true) = (prec, "diuxXo".contains(conv))
        && digits.len() < p
    {
        digits = format!("{}{digits}", "0".repeat(p - digits.len()));
    }
    let sign = if neg {
        "-"
    } else if flags.contains('+') {
        "+"
    } else if flags.contains(' ') {
        " "
    } else {
        ""
    };
    let prefix = if flags.contains('#') { prefix } else { "" };
    let head = format!("{sign}{prefix}");
    let body = if flags.contains('0') && !flags.contains('-') && width > head.len() + digits.len() {
        format!(
            "{head}{}{digits}",
            "0".repeat(width - head.len() - digits.len())
        )
    } else {
        pad(&format!("{head}{digits}"), width, flags.contains('-'), ' ')
    };
    Some(format!("{before}{body}{after}"))
}

fn pad(s: &str, width: usize, left: bool, fill: char) -> String {
    let n = s.chars().count();
    if n >= width {
        return s.to_string();
    }
    let f: String = std::iter::repeat_n(fill, width - n).collect();
    if left {
        format!("{s}{f}")
    } else {
        format!("{f}{s}")
    }
}
