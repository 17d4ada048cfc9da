//! `slurp`: a remote file's content, base64-encoded, in one round trip (`cat`; the encoding
//! happens on the controller, so the host needs no `base64` tool).

use base64::Engine;
use futures::future::BoxFuture;

use crate::modules::toolkit::remote_stat::{ReadError, read_file};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct Slurp;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "slurp",
    params: &[Param::new("src", T::Str).required().aliases(&["path"])],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Slurp {
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
    let src = args
        .str("src")
        .or_else(|| args.str("path"))
        .ok_or_else(|| ModuleError::Args("missing required arguments: src".into()))?;
    let file = match read_file(ctx, &src, false).await? {
        Ok(f) if f.stat.is_none() => {
            return Ok(ModuleResult::failed(format!("file not found: {src}")));
        }
        Ok(f) => f,
        Err(ReadError::IsDir) => {
            return Ok(ModuleResult::failed(format!(
                "source is a directory and must be a file: {src}"
            )));
        }
        Err(ReadError::Unreadable) => {
            return Ok(ModuleResult::failed(format!("file is not readable: {src}")));
        }
        Err(ReadError::Other(m)) => return Ok(ModuleResult::failed(m)),
    };
    let content = base64::engine::general_purpose::STANDARD.encode(&file.content);
    Ok(ModuleResult::ok()
        .with("content", content)
        .with("encoding", "base64")
        .with("source", src))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Slurp;
    use crate::modules::harness::{Run, Scratch, run_module};

    #[tokio::test]
    async fn encodes_content_and_reports_errors() {
        let d = Scratch::new("slurp");
        std::fs::write(d.path("f"), b"hi\x00there\n").unwrap();
        let r = run_module(&Slurp, json!({"src": d.s("f")}), Run::default()).await;
        assert!(!r.failed && !r.changed, "{r:?}");
        assert_eq!(r.data["content"], "aGkAdGhlcmUK");
        assert_eq!(r.data["encoding"], "base64");
        let r = run_module(&Slurp, json!({"path": d.s("nope")}), Run::default()).await;
        assert_eq!(r.msg.unwrap(), format!("file not found: {}", d.s("nope")));
        let r = run_module(&Slurp, json!({"src": d.s("")}), Run::default()).await;
        assert!(
            r.msg
                .unwrap()
                .starts_with("source is a directory and must be a file")
        );
    }
}
