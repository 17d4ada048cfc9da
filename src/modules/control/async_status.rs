//! `async_status`: reads (or erases) an async job's status file, as Ansible's action plugin
//! and module together return it. While the job runs, `started` and not `finished`; once done,
//! the module's own result with `finished: true`; "could not find job" when there is no file.
//! The executor polls through [`status`] and cleans up through it too, so `poll:` and a
//! playbook's own `until: job is finished` loop see the same results.

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::modules::toolkit::async_job::{async_dir, dir_word};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;
use crate::values::{splitlines, to_bool};

pub struct AsyncStatus;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "async_status",
    params: &[
        Param::new("jid", T::Str).required(),
        Param::new("mode", T::Str).choices(&["status", "cleanup"]),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for AsyncStatus {
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

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let jid = args.req_str("jid")?;
    let cleanup = args.str("mode").as_deref() == Some("cleanup");
    status(ctx, &jid, cleanup, &async_dir(ctx.vars)).await
}

/// One look at job `jid` in the async directory `dir` (and its removal when `cleanup`).
/// Runs in check mode too: it changes nothing but the file `cleanup` was asked to erase.
pub async fn status(
    ctx: &ModuleCtx<'_>,
    jid: &str,
    cleanup: bool,
    dir: &str,
) -> Result<ModuleResult, ModuleError> {
    let action = if cleanup {
        "rm -f \"$__f\"; echo erased"
    } else {
        "echo found; cat \"$__f\""
    };
    let script = format!(
        "__f={}/{}\nprintf '%s\\n' \"$__f\"\nif [ ! -e \"$__f\" ]; then echo missing; exit 0; fi\n{action}\n",
        dir_word(dir),
        sh_quote(jid)
    );
    let out = ctx.run(&script, None).await?;
    let text = out.stdout_str();
    let (path, rest) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    let (what, body) = rest.split_once('\n').unwrap_or((rest, ""));
    // The action plugin's keys, under the module's.
    let mut m = Map::new();
    m.insert("started".into(), false.into());
    m.insert("finished".into(), false.into());
    for k in ["stdout", "stderr"] {
        m.insert(k.into(), "".into());
        m.insert(format!("{k}_lines"), Value::Array(vec![]));
    }
    m.insert("ansible_job_id".into(), jid.into());
    if cleanup {
        m.insert("erased".into(), path.into());
    } else {
        m.insert("results_file".into(), path.into());
        m.insert("started".into(), true.into());
    }
    let module: Map<String, Value> = match what {
        "found" => job_data(jid, path, body),
        "erased" => Map::new(),
        "missing" => obj(serde_json::json!({
            "failed": true, "msg": "could not find job", "started": true, "finished": true,
        })),
        _ => {
            return Ok(ModuleResult::failed(format!(
                "could not read the async job's status (rc {}): {}",
                out.rc,
                out.stderr_str().trim()
            )));
        }
    };
    for k in ["stdout", "stderr"] {
        if let Some(s) = module.get(k)
            && !module.contains_key(&format!("{k}_lines"))
        {
            let s = s.as_str().unwrap_or_default();
            m.insert(format!("{k}_lines"), Value::Array(splitlines(s)));
        }
    }
    m.extend(module);
    for k in ["started", "finished"] {
        let b = m.get(k).is_some_and(truthy);
        m.insert(k.into(), b.into());
    }
    Ok(from_result(m))
}

/// The status file as Ansible's `async_status` module reads it.
fn job_data(jid: &str, path: &str, body: &str) -> Map<String, Value> {
    let mut data = match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(d)) => d,
        _ if body.trim().is_empty() => {
            return obj(serde_json::json!({
                "results_file": path, "ansible_job_id": jid, "started": true, "finished": false,
            }));
        }
        _ => {
            return obj(serde_json::json!({
                "failed": true, "ansible_job_id": jid, "results_file": path,
                "msg": format!("Could not parse job output: {body}"),
                "started": true, "finished": true,
            }));
        }
    };
    if !data.contains_key("started") {
        data.insert("finished".into(), true.into());
        data.insert("ansible_job_id".into(), jid.into());
    } else if !data.contains_key("finished") {
        data.insert("finished".into(), false.into());
    }
    data
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Python's truth of a JSON value (`1`, `true`, a non-empty string).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        other => to_bool(other).unwrap_or(false),
    }
}

/// A result read back as JSON, its flags taken out into the [`ModuleResult`]'s own.
pub fn from_result(mut m: Map<String, Value>) -> ModuleResult {
    let flag = |m: &mut Map<String, Value>, k: &str| m.remove(k).is_some_and(|v| truthy(&v));
    let changed = flag(&mut m, "changed");
    let failed = flag(&mut m, "failed");
    let skipped = flag(&mut m, "skipped");
    let msg = m.remove("msg").map(|v| match v {
        Value::String(s) => s,
        other => other.to_string(),
    });
    ModuleResult {
        changed,
        failed,
        skipped,
        msg,
        data: m,
        ..Default::default()
    }
}
