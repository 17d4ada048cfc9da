//! `pause`: waits on the controller for a duration, or until Enter is pressed. As in Ansible,
//! a prompt without a duration only waits when stdin is a terminal; otherwise it returns at
//! once with a warning, so unattended runs never hang. Hosts that reach the same prompt
//! together share one answer, since Ansible asks once for the whole play.

use std::io::IsTerminal;
use std::time::{Duration, Instant, SystemTime};

use futures::future::BoxFuture;
use serde_json::Value;

use crate::modules::toolkit::clock::local_timestamp;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct Pause;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "pause",
    params: &[
        Param::new("seconds", T::Float),
        Param::new("minutes", T::Float),
        Param::new("prompt", T::Str),
        Param::new("echo", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["seconds", "minutes"]],
    required_one_of: &[],
    any_params: false,
};

/// The last answer typed at a prompt, and when it was given.
static LAST_ANSWER: tokio::sync::Mutex<Option<(Instant, String)>> =
    tokio::sync::Mutex::const_new(None);

impl Module for Pause {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn run<'a>(
        &'a self,
        _ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(run(args, std::io::stdin().is_terminal()))
    }
}

async fn run(args: &Args, interactive: bool) -> Result<ModuleResult, ModuleError> {
    let echo = args.bool_or("echo", true)?;
    let (secs, unit) = match (args.float("minutes")?, args.float("seconds")?) {
        (Some(m), _) => (Some(m * 60.0), "minutes"),
        (None, Some(s)) => (Some(s), "seconds"),
        (None, None) => (None, "minutes"),
    };
    if let Some(s) = secs.filter(|s| !s.is_finite() || *s < 0.0) {
        return Ok(ModuleResult::failed(format!("invalid pause duration: {s}")));
    }
    let start_wall = SystemTime::now();
    let start = Instant::now();
    let mut user_input = String::new();
    let mut warnings = Vec::new();
    match secs {
        Some(s) => tokio::time::sleep(Duration::from_secs_f64(s)).await,
        None if interactive => {
            let prompt = args
                .str("prompt")
                .unwrap_or_else(|| "Press enter to continue, Ctrl+C to interrupt".into());
            user_input = ask(prompt, echo, start).await?;
        }
        None => warnings.push(Value::from(
            "Not waiting for response to prompt as stdin is not interactive",
        )),
    }
    let took = start.elapsed();
    let shown = if unit == "minutes" {
        took.as_secs_f64() / 60.0
    } else {
        took.as_secs_f64()
    };
    let mut r = ModuleResult::ok()
        .with("rc", 0)
        .with("stderr", "")
        .with(
            "stdout",
            format!(
                "Paused for {} {unit}",
                py_float((shown * 100.0).round() / 100.0)
            ),
        )
        .with("start", local_timestamp(start_wall))
        .with("stop", local_timestamp(start_wall + took))
        .with("delta", took.as_secs())
        .with("echo", echo)
        .with("user_input", user_input);
    if !warnings.is_empty() {
        r.data.insert("warnings".into(), Value::Array(warnings));
    }
    Ok(r)
}

/// Asks on the terminal, unless another host got an answer while this one waited its turn.
async fn ask(prompt: String, echo: bool, arrived: Instant) -> Result<String, ModuleError> {
    let mut last = LAST_ANSWER.lock().await;
    if let Some((at, answer)) = last.as_ref()
        && *at >= arrived
    {
        return Ok(answer.clone());
    }
    let answer = tokio::task::spawn_blocking(move || crate::prompt::read_line(&prompt, echo))
        .await
        .map_err(|e| ModuleError::Args(format!("pause: prompt failed: {e}")))?
        .map_err(|e| ModuleError::Args(format!("pause: cannot read the answer: {e}")))?;
    *last = Some((Instant::now(), answer.clone()));
    Ok(answer)
}

/// Python's `str(float)` for the rounded durations Ansible prints (`2.0`, `0.35`).
fn py_float(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Harness, get};
    use serde_json::json;

    #[tokio::test]
    async fn sleeps_for_the_duration() {
        let h = Harness::new();
        let t = Instant::now();
        let r = h.run(&Pause, json!({"seconds": 0.3})).await;
        assert!(t.elapsed() >= Duration::from_millis(300));
        assert!(!r.changed && !r.failed);
        assert_eq!(get(&r, "stdout"), "Paused for 0.3 seconds");
        assert_eq!(
            (get(&r, "delta"), get(&r, "user_input"), get(&r, "echo")),
            (&json!(0), &json!(""), &json!(true))
        );
        assert!(get(&r, "stop").as_str().unwrap() >= get(&r, "start").as_str().unwrap());
    }

    #[tokio::test]
    async fn prompt_without_terminal_does_not_wait() {
        let args = Args::new(json!({"prompt": "Continue?"}).as_object().unwrap().clone());
        let r = run(&args, false).await.unwrap();
        assert!(!r.failed);
        assert_eq!(
            get(&r, "warnings"),
            &json!(["Not waiting for response to prompt as stdin is not interactive"])
        );
        let r = Harness::new().run(&Pause, json!({"seconds": -1})).await;
        assert!(r.failed);
    }

    #[test]
    fn python_float_text() {
        assert_eq!(py_float(2.0), "2.0");
        assert_eq!(py_float(0.35), "0.35");
    }
}
