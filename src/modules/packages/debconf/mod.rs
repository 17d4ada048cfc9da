//! `debconf`: one debconf answer of a package, as Ansible's module sets it. The current
//! answers come from `debconf-show` (and, for a `password` question, from
//! `debconf-get-selections`, since `debconf-show` hides passwords); the comparison is
//! Ansible's (booleans lower-cased, a `multiselect` list sorted against the stored comma
//! list); the answer is given to `debconf-set-selections` on stdin, so a password never
//! appears on a command line. Two round trips when something changes: read, then set.

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::report::{CAPTURE, HELPERS, Report};
use crate::events::FileDiff;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;
use crate::values::to_str;

pub struct Debconf;

const VTYPES: &[&str] = &[
    "boolean",
    "error",
    "multiselect",
    "note",
    "password",
    "seen",
    "select",
    "string",
    "text",
    "title",
];

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "debconf",
    params: &[
        Param::new("name", T::Str).required().aliases(&["pkg"]),
        Param::new("question", T::Str).aliases(&["selection", "setting"]),
        Param::new("vtype", T::Str).choices(VTYPES),
        Param::new("value", T::Raw).aliases(&["answer"]),
        Param::new("unseen", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Debconf {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }
    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(run(ctx, args))
    }
}

/// Ansible's failure when a debconf tool the module needs is not installed.
fn missing(rep: &Report) -> Option<ModuleResult> {
    rep.has("missing").then(|| {
        ModuleResult::failed(format!(
            "Failed to find required executable \"{}\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            rep.text("missing")
        ))
    })
}

/// Reads the package's answers.
pub fn read_script(pkg: &str) -> String {
    let p = sh_quote(pkg);
    format!(
        "export LANG=C LC_ALL=C\n{HELPERS}{CAPTURE}\
         command -v debconf-show >/dev/null 2>&1 || {{ __sx missing debconf-show; exit 0; }}\n\
         __cap show debconf-show {p} || exit 0\n"
    )
}

/// The package's lines of `debconf-get-selections`, read only for a `password` question the
/// package already has, as Ansible reads them (so a first answer needs no debconf-utils).
pub fn selections_script(pkg: &str) -> String {
    let p = sh_quote(pkg);
    format!(
        "export LANG=C LC_ALL=C\n{HELPERS}{CAPTURE}\
         command -v debconf-get-selections >/dev/null 2>&1 || {{ __sx missing debconf-get-selections; exit 0; }}\n\
         __sel() {{ debconf-get-selections | awk -v p={p} 'index($0, p) == 1'; }}\n\
         __cap sel __sel\n"
    )
}

/// Ansible's `get_selections`: `question: value` lines, the `*` of a seen question dropped.
pub fn parse_show(out: &str) -> Result<Map<String, Value>, String> {
    let mut m = Map::new();
    for line in out.lines() {
        let Some((k, v)) = line.split_once(':') else {
            return Err(format!(
                "cannot parse debconf-show output line: {line:?} (not enough values to unpack)"
            ));
        };
        m.insert(
            k.trim_matches('*').trim().to_string(),
            Value::from(v.trim()),
        );
    }
    Ok(m)
}

/// Ansible's `get_password_value` over the package's `debconf-get-selections` lines
/// (`pkg\tquestion\tvtype\tvalue`); `None` when no line matches.
pub fn password_value(lines: &str, pkg: &str, question: &str, vtype: &str) -> Option<String> {
    for line in lines.split('\n').filter(|l| l.starts_with(pkg)) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() <= 3 {
            return Some(String::new());
        }
        if f[1] == question && f[2] == vtype {
            return Some(f[3].to_string());
        }
    }
    None
}

/// The answer as the module compares and stores it.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Text(String),
    /// A `multiselect` given as a list, sorted as Ansible sorts it.
    List(Vec<String>),
}

impl Answer {
    fn to_value(&self) -> Value {
        match self {
            Answer::Text(s) => Value::from(s.as_str()),
            Answer::List(l) => Value::from(l.clone()),
        }
    }
    /// The text given to debconf-set-selections: a list joined with `, `.
    fn text(&self) -> String {
        match self {
            Answer::Text(s) => s.clone(),
            Answer::List(l) => l.join(", "),
        }
    }
}

/// Ansible's decision: the normalised answer, and whether it differs from what is stored.
/// `password` is the stored password (for that vtype), when one was looked up.
pub fn decide(
    prev: &Map<String, Value>,
    question: &str,
    vtype: &str,
    value: &Value,
    password: Option<&str>,
) -> Result<(Answer, bool), String> {
    let text = |v: &Value| to_str(v).unwrap_or_else(|| v.to_string());
    let mut answer = match (vtype, value) {
        ("boolean", v) => Answer::Text(python_str(v).to_lowercase()),
        ("multiselect", Value::Array(items)) => {
            let mut l: Vec<String> = Vec::new();
            for i in items {
                if !i.is_string() {
                    return Err(
                        "Invalid value provided for 'multiselect': '<' not supported between \
                         instances of the given items"
                            .into(),
                    );
                }
                l.push(text(i));
            }
            Answer::List(l)
        }
        (_, v) => Answer::Text(text(v)),
    };
    let Some(existing) = prev.get(question) else {
        return Ok((answer, true));
    };
    let existing = existing.as_str().unwrap_or_default();
    let changed = match (&mut answer, vtype) {
        (Answer::Text(v), "boolean") => *v != existing.to_lowercase(),
        (Answer::Text(v), "password") => password != Some(v.as_str()),
        (Answer::List(l), _) => {
            l.sort();
            let mut e: Vec<&str> = existing.split(',').map(str::trim).collect();
            e.sort();
            *l != e
        }
        (Answer::Text(v), _) => v != existing,
    };
    Ok((answer, changed))
}

/// Python's `str()` of a value, for `to_text(value).lower()` on booleans.
fn python_str(v: &Value) -> String {
    match v {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        v => to_str(v).unwrap_or_else(|| v.to_string()),
    }
}

/// Ansible's callback shows dict diffs as JSON with sorted keys and four-space indents.
fn json_text(m: &Map<String, Value>) -> String {
    use serde::Serialize;
    let sorted: std::collections::BTreeMap<_, _> = m.iter().collect();
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    sorted.serialize(&mut ser).expect("a JSON map serializes");
    String::from_utf8(buf).unwrap_or_default() + "\n"
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let pkg = args.req_str("name")?;
    let question = args.str("question");
    let vtype = args.str("vtype");
    let value = args.get("value").cloned();
    let unseen = args.bool_or("unseen", false)?;
    let given = [question.is_some(), vtype.is_some(), value.is_some()];
    if given.contains(&true) && given.contains(&false) {
        return Err(ModuleError::Args(
            "parameters are required together: question, vtype, value".into(),
        ));
    }
    if let Some(v) = &vtype
        && !VTYPES.contains(&v.as_str())
    {
        return Err(ModuleError::Args(format!(
            "value of vtype must be one of: {}, got: {v}",
            VTYPES.join(", ")
        )));
    }
    let password = vtype.as_deref() == Some("password");
    let out = ctx.run(&read_script(&pkg), None).await?;
    let rep = Report::parse(&out);
    if let Some(f) = missing(&rep) {
        return Ok(f);
    }
    if rep.rc("show_rc") != Some(0) {
        return Ok(ModuleResult::failed(rep.text("show_err")));
    }
    let mut prev = parse_show(&rep.text("show_out")).map_err(ModuleError::Args)?;
    let (Some(question), Some(vtype), Some(value)) = (question, vtype, value) else {
        return Ok(ModuleResult::changed(false)
            .with("msg", "")
            .with("current", Value::Object(prev)));
    };
    let stored = if password && prev.contains_key(&question) {
        let rep = Report::parse(&ctx.run(&selections_script(&pkg), None).await?);
        if let Some(f) = missing(&rep) {
            return Ok(f);
        }
        if rep.rc("sel_rc") != Some(0) {
            return Ok(ModuleResult::failed(format!(
                "Failed to get the value '{question}' from '{pkg}': {}",
                rep.text("sel_err")
            )));
        }
        password_value(&rep.text("sel_out"), &pkg, &question, &vtype)
    } else {
        None
    };
    let (answer, changed) =
        decide(&prev, &question, &vtype, &value, stored.as_deref()).map_err(ModuleError::Args)?;
    if !changed {
        return Ok(ModuleResult::changed(false)
            .with("msg", "")
            .with("current", Value::Object(prev)));
    }
    let mut msg = String::new();
    let mut current = answer.to_value();
    if !ctx.check_mode {
        let line = format!("{pkg} {question} {vtype} {}", answer.text());
        let cmd = if unseen {
            "debconf-set-selections -u"
        } else {
            "debconf-set-selections"
        };
        let script = format!(
            "export LANG=C LC_ALL=C\n{HELPERS}{CAPTURE}\
             command -v debconf-set-selections >/dev/null 2>&1 || {{ __sx missing 1; exit 0; }}\n\
             __cap set {cmd}\n"
        );
        let out = ctx.run(&script, Some(line.as_bytes())).await?;
        let rep = Report::parse(&out);
        if rep.has("missing") {
            return Ok(ModuleResult::failed(
                "Failed to find required executable \"debconf-set-selections\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ));
        }
        if rep.rc("set_rc") != Some(0) {
            return Ok(ModuleResult::failed(rep.text("set_err")));
        }
        msg = rep.text("set_out");
        current = Value::from(answer.text());
    }
    let mut curr = Map::new();
    curr.insert(question.clone(), current);
    if let Some(old) = prev.get(&question).cloned() {
        prev = Map::from_iter([(question.clone(), old)]);
    } else {
        prev.insert(question.clone(), Value::from(""));
    }
    let mut r = ModuleResult::changed(true)
        .with("msg", msg)
        .with("current", Value::Object(curr.clone()))
        .with("previous", Value::Object(prev.clone()));
    if ctx.diff {
        let mut after = prev.clone();
        after.extend(curr);
        r.diff.push(FileDiff {
            before_header: "before".into(),
            after_header: "after".into(),
            before: json_text(&prev),
            after: json_text(&after),
        });
    }
    Ok(r)
}

#[cfg(test)]
mod tests;
