//! `ping`: proves that strata can log in and run something on the host, the first thing an
//! operator asks of a new fleet (`strata run all -m ping`). Ansible's ping proves a usable
//! Python; strata needs none, so it runs the shell's no-op over the host's connection. A
//! failed login makes the host unreachable, as with any module.

use futures::future::BoxFuture;

use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct Ping;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "ping",
    params: &[Param::new("data", T::Str)],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Ping {
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
    let data = args.str("data").unwrap_or_else(|| "pong".into());
    // Runs in check mode too, as Ansible's ping: it changes nothing.
    let out = ctx.run(":", None).await?;
    if out.rc != 0 {
        return Ok(ModuleResult::failed(format!(
            "the host's shell exited {} on a no-op",
            out.rc
        )));
    }
    // Ansible's way to test a module failure.
    if data == "crash" {
        return Ok(ModuleResult::failed("boom"));
    }
    Ok(ModuleResult::ok().with("ping", data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::Harness;
    use serde_json::json;

    #[tokio::test]
    async fn answers_pong_or_the_data() {
        let h = Harness::new();
        let r = h.run(&Ping, json!({})).await;
        assert!(!r.failed && !r.changed, "{r:?}");
        assert_eq!(r.data["ping"], "pong");
        let r = h.run(&Ping, json!({"data": "hello"})).await;
        assert_eq!(r.data["ping"], "hello");
        assert!(h.run(&Ping, json!({"data": "crash"})).await.failed);
    }
}
