//! `fail`: fails the host with a message.

use futures::future::BoxFuture;

use super::debug::with_msg;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct Fail;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "fail",
    params: &[Param::new("msg", T::Raw)],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Fail {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn run<'a>(
        &'a self,
        _ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(async move {
            let msg = args
                .get("msg")
                .cloned()
                .unwrap_or_else(|| "Failed as requested from task".into());
            let mut r = with_msg(ModuleResult::ok(), msg);
            r.failed = true;
            Ok(r)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::Harness;
    use serde_json::json;

    #[tokio::test]
    async fn fails_with_message() {
        let h = Harness::new();
        let r = h.run(&Fail, json!({})).await;
        assert!(r.failed && !r.changed);
        assert_eq!(r.msg.as_deref(), Some("Failed as requested from task"));
        let r = h.run(&Fail, json!({"msg": "boom"})).await;
        assert_eq!((r.failed, r.msg.as_deref()), (true, Some("boom")));
    }
}
