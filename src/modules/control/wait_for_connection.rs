//! `wait_for_connection`: waits until the host answers over its connection again, as
//! Ansible's action does: after `delay`, each attempt drops the host's connection (a host
//! that went away leaves a dead session behind) and runs a trivial command over a fresh one,
//! within `connect_timeout`, `sleep` seconds apart, until `timeout`.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct WaitForConnection;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "wait_for_connection",
    params: &[
        Param::new("connect_timeout", T::Int),
        Param::new("delay", T::Int),
        Param::new("sleep", T::Int),
        Param::new("timeout", T::Int),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for WaitForConnection {
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
    let secs = |name: &str, default: i64| -> Result<Duration, ModuleError> {
        Ok(Duration::from_secs(
            args.int(name)?.unwrap_or(default).max(0) as u64,
        ))
    };
    let connect_timeout = secs("connect_timeout", 5)?;
    let delay = secs("delay", 0)?;
    let sleep = secs("sleep", 1)?;
    let timeout = secs("timeout", 600)?;
    if ctx.check_mode {
        let mut r = ModuleResult::ok();
        r.skipped = true;
        return Ok(r);
    }
    let start = Instant::now();
    tokio::time::sleep(delay).await;
    let deadline = Instant::now() + timeout;
    let mut error = String::new();
    while Instant::now() < deadline {
        ctx.conn.reconnect();
        match tokio::time::timeout(connect_timeout, ctx.run(":", None)).await {
            Ok(Ok(out)) if out.rc == 0 => {
                return Ok(ModuleResult::ok().with("elapsed", start.elapsed().as_secs()));
            }
            Ok(Ok(out)) => error = format!("the test command exited {}", out.rc),
            Ok(Err(e)) => error = e.to_string(),
            Err(_) => error = format!("no answer within {}s", connect_timeout.as_secs()),
        }
        tokio::time::sleep(sleep).await;
    }
    Ok(
        ModuleResult::failed(format!("timed out waiting for ping module test: {error}"))
            .with("elapsed", start.elapsed().as_secs()),
    )
}
