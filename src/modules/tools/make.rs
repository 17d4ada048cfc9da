//! `make` (community.general.make): runs targets of a Makefile. As the module does, `make -q`
//! first says whether anything is out of date: up to date is `ok`, otherwise make runs and
//! the task is `changed` (check mode reports the `-q` answer and runs nothing). One round
//! trip: the question and the run are one script.

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::modules::toolkit::sections::{SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Make;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "make",
    params: &[
        Param::new("target", T::Str),
        Param::new("targets", T::List),
        Param::new("params", T::Dict),
        Param::new("chdir", T::Str).required(),
        Param::new("file", T::Str),
        Param::new("make", T::Str),
        Param::new("jobs", T::Int),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["target", "targets"]],
    required_one_of: &[],
    any_params: false,
};

impl Module for Make {
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

/// Python's `str()` of a parameter value, as `k + '=' + str(v)` writes it.
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(n) => n.to_string(),
        other => crate::values::to_str(other).unwrap_or_else(|| other.to_string()),
    }
}

/// The words after the make program: `-j`, `-f`, the targets, then `KEY=value` parameters
/// (a key alone when its value is null).
pub fn words(
    jobs: Option<i64>,
    file: Option<&str>,
    targets: &[String],
    params: Option<&Map<String, Value>>,
) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(j) = jobs {
        w.extend(["-j".to_string(), j.to_string()]);
    }
    if let Some(f) = file {
        w.extend(["-f".to_string(), f.to_string()]);
    }
    w.extend(targets.iter().cloned());
    for (k, v) in params.into_iter().flatten() {
        w.push(if v.is_null() {
            k.clone()
        } else {
            format!("{k}={}", py_str(v))
        });
    }
    w
}

/// Python's `shlex.quote`, for the `command` the module reports.
fn py_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let chdir = args.req_str("chdir")?;
    let target = args.str("target").filter(|t| !t.is_empty());
    let targets = args.str_list("targets")?;
    let params = args.dict("params")?;
    let file = args.str("file");
    let jobs = args.int("jobs")?;
    let listed: Vec<String> = match (&target, &targets) {
        (Some(t), _) => vec![t.clone()],
        (None, Some(ts)) => ts.clone(),
        _ => vec![],
    };
    let w = words(jobs, file.as_deref(), &listed, params.as_ref());
    let quoted: Vec<String> = w.iter().map(|x| sh_quote(x)).collect();
    let mut s = SectionScript::new();
    // `run_command` ignores a `cwd` that is not a directory, and so does this.
    s.line(&format!("cd {} 2>/dev/null", sh_quote(&chdir)));
    match args.str("make") {
        Some(m) => s.line(&format!("__make={}", sh_quote(&m))),
        None => s.line(
            "__p=\"$PATH:/sbin:/usr/sbin:/usr/local/sbin\"\n\
             __make=$(PATH=\"$__p\" command -v gmake || PATH=\"$__p\" command -v make) || \
             { __s_val nobin \"Failed to find required executable \\\"make\\\" in paths: $__p\"; exit 0; }",
        ),
    };
    s.line("__s_val bin \"$__make\"");
    s.sec_raw("q", &format!("\"$__make\" {} -q", quoted.join(" ")));
    if !ctx.check_mode {
        s.line("[ \"$__s_r\" = 0 ] && exit 0");
        s.sec_raw("make", &format!("\"$__make\" {}", quoted.join(" ")));
    }
    let out = ctx.run(&s.build(), None).await?;
    let secs = Sections::parse(s.marker(), &out.stdout_str());
    if let Some(m) = secs.val("nobin") {
        return Ok(ModuleResult::failed(m.to_string()));
    }
    let Some(q) = secs.get("q") else {
        return Ok(ModuleResult::failed(format!(
            "make could not run: {}",
            out.stderr_str().trim()
        )));
    };
    let bin = secs.val("bin").unwrap_or("make").to_string();
    let command: Vec<String> = std::iter::once(bin.as_str())
        .chain(w.iter().map(String::as_str))
        .map(py_quote)
        .collect();
    let command = command.join(" ");
    let (changed, shown) = match secs.get("make") {
        _ if ctx.check_mode => (q.rc != 0, q),
        None => (false, q),
        Some(m) if m.rc != 0 => {
            let lines = |s: &str| Value::Array(s.lines().map(Value::from).collect());
            return Ok(ModuleResult::failed(m.stderr.trim_end().to_string())
                .with("cmd", command.clone() + "")
                .with("rc", m.rc)
                .with("stdout", m.stdout.clone())
                .with("stderr", m.stderr.clone())
                .with("stdout_lines", lines(&m.stdout))
                .with("stderr_lines", lines(&m.stderr)));
        }
        Some(m) => (true, m),
    };
    let sanitize = |s: &str| s.trim_end_matches(['\r', '\n']).to_string();
    let (so, se) = (sanitize(&shown.stdout), sanitize(&shown.stderr));
    let lines = |s: &str| Value::Array(s.lines().map(Value::from).collect());
    let opt = |v: Option<Value>| v.unwrap_or(Value::Null);
    Ok(ModuleResult::changed(changed)
        .with("stdout_lines", lines(&so))
        .with("stderr_lines", lines(&se))
        .with("stdout", so)
        .with("stderr", se)
        .with("target", opt(target.map(Value::from)))
        .with("targets", opt(targets.map(Value::from)))
        .with("params", opt(params.map(Value::Object)))
        .with("chdir", chdir)
        .with("file", opt(file.map(Value::from)))
        .with("jobs", opt(jobs.map(Value::from)))
        .with("command", command))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Harness, Scratch, get};
    use serde_json::json;

    #[test]
    fn parameters_are_written_as_the_module_writes_them() {
        let p = json!({"NUM": 4, "FLAG": true, "-DWITH_FDT": null, "NAME": "a b"});
        let w = words(Some(2), Some("/x/Makefile"), &["all".into()], p.as_object());
        assert_eq!(
            w,
            vec![
                "-j",
                "2",
                "-f",
                "/x/Makefile",
                "all",
                "NUM=4",
                "FLAG=True",
                "-DWITH_FDT",
                "NAME=a b"
            ]
        );
    }

    #[tokio::test]
    async fn up_to_date_targets_are_ok_and_check_mode_runs_nothing() {
        let d = Scratch::new("make");
        std::fs::write(
            d.path("Makefile"),
            "out.txt:\n\techo $(GREETING) > out.txt\n\techo building >&2\n\
             fail:\n\techo nope >&2; false\n",
        )
        .unwrap();
        let args = json!({"chdir": d.s(""), "target": "out.txt", "params": {"GREETING": "hi"}});
        let r = Harness::new().check().run(&Make, args.clone()).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(!d.path("out.txt").exists());
        let h = Harness::new();
        let r = h.run(&Make, args.clone()).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(std::fs::read_to_string(d.path("out.txt")).unwrap(), "hi\n");
        assert_eq!(get(&r, "stdout"), "echo hi > out.txt\necho building >&2");
        assert_eq!(get(&r, "stderr"), "building");
        assert_eq!(get(&r, "params"), &json!({"GREETING": "hi"}));
        assert_eq!(get(&r, "targets"), &Value::Null);
        let cmd = get(&r, "command").as_str().unwrap();
        assert!(cmd.ends_with("make out.txt GREETING=hi"), "{cmd}");
        let r = h.run(&Make, args).await;
        assert!(!r.changed && !r.failed, "{r:?}");
        let r = h
            .run(&Make, json!({"chdir": d.s(""), "targets": ["fail"]}))
            .await;
        assert!(r.failed, "{r:?}");
        let msg = r.msg.as_deref().unwrap();
        assert!(
            msg.starts_with("nope\n") && msg.ends_with("make: *** [Makefile:5: fail] Error 1"),
            "{msg}"
        );
        assert_eq!(get(&r, "rc"), 2);
    }
}
