//! The run pipeline as a library: a [`RunRequest`] in, an [`Outcome`] out. `plan` loads,
//! validates and resolves (no host is touched before it succeeds); `session` executes the
//! plan on the executor and reports through the reporter. `strata playbook`, `lab demo`,
//! `bench` (and, later, the stack commands) run the engine through here.
mod listing;
mod plan;
mod prompts;
mod request;
mod session;

pub use listing::Listing;
pub use plan::{Plan, Targets, plan};
pub use request::{Output, RunRequest};
pub use session::{Outcome, execute, start_reporter};

use crate::diagnostic::InputErrors;

/// Plans `req`, then runs it with its events going to `output`: everything `strata playbook`
/// does after parsing its options, for callers that need no listing or syntax check.
pub async fn playbooks(req: &RunRequest, output: Output) -> Result<Outcome, InputErrors> {
    let mut plan = plan(req)?;
    let targets = plan.targets(&req.connect)?;
    Ok(run_plan(plan, targets, req, output).await)
}

/// Runs an already planned request with a reporter on `output`, and waits for the reporter
/// to finish printing.
pub async fn run_plan(plan: Plan, targets: Targets, req: &RunRequest, output: Output) -> Outcome {
    let (tx, reporter) = start_reporter(output, req);
    let outcome = execute(plan, targets, req, &tx).await;
    drop(tx);
    let _ = reporter.await;
    outcome
}
