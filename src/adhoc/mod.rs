//! `strata run`: Ansible's ad-hoc command on strata's run pipeline. One play is synthesised
//! from PATTERN, `-m` and `-a` (`play.rs`), on hosts from an inventory or a stack
//! (`source.rs`), validated by the playbook loader and planned before any host is touched
//! ([`prepare`]); then the engine runs it ([`execute`]) and the reporter's ad-hoc mode prints
//! each host's result as it finishes, in Ansible's `minimal` or `oneline` layout.
mod play;
mod request;
mod source;

pub use play::short_name;
pub use request::{AdhocOutput, AdhocRequest, DEFAULT_MODULE, HostSource};
pub use source::STACK_EVENT;

use crate::diagnostic::InputErrors;
use crate::events::{Event, HostStats};
use crate::exit::ExitCode;
use crate::playbook::model::Playbook;
use crate::reporter::adhoc::{AdhocOptions, AdhocReporter};
use crate::run::{Outcome, Plan};
use crate::stack::StackError;

/// Why an ad-hoc command did not run.
#[derive(Debug, thiserror::Error)]
pub enum AdhocError {
    /// Options, inventory, module or arguments: nothing was touched.
    #[error("{}", .0.render())]
    Input(InputErrors),
    /// Opening the stack (`-s`): its file, roles, instance source or state.
    #[error(transparent)]
    Stack(#[from] StackError),
    /// `-l` left no host, which Ansible refuses.
    #[error("Specified inventory, host pattern and/or --limit leaves us with no hosts to target.")]
    NoHosts,
    #[error("cannot read the working directory: {0}")]
    Io(#[from] std::io::Error),
}

impl From<InputErrors> for AdhocError {
    fn from(e: InputErrors) -> Self {
        AdhocError::Input(e)
    }
}

impl AdhocError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            AdhocError::Input(_) => ExitCode::BadInput,
            AdhocError::Stack(e) => e.exit_code(),
            AdhocError::NoHosts | AdhocError::Io(_) => ExitCode::Error,
        }
    }

    /// The message as the operator sees it (input errors rendered like rustc).
    pub fn render(&self) -> String {
        match self {
            AdhocError::Input(e) | AdhocError::Stack(StackError::Input(e)) => e.render(),
            other => format!("error: {other}\n"),
        }
    }
}

/// A validated and planned ad-hoc command: everything but the passwords and the run.
pub struct Prepared {
    pub plan: Plan,
    /// The hosts PATTERN matched; empty means Ansible's "No hosts matched".
    pub hosts: Vec<String>,
    /// Ansible's `[WARNING]`s (inventory, pattern), for the adapter to print before anything.
    pub warnings: Vec<String>,
    /// What the reporter shows under a failure, as Ansible's error block.
    origin: String,
    task_repr: String,
}

/// Load + validate + resolve: the task through the loader, the hosts, the plan, and the
/// warnings found on the way; nothing touches a host.
pub fn prepare(req: &AdhocRequest) -> Result<Prepared, AdhocError> {
    let task = play::task(&req.module, req.args.as_deref())?;
    let cwd = std::env::current_dir()?;
    let r = source::resolve(req, &cwd)?;
    let mut warnings = r.warnings;
    let templar = std::sync::Arc::new(crate::template::Templar::new());
    let spec = play::PlaySpec {
        pattern: &req.pattern,
        base_dir: &r.base_dir,
        become_: req.become_,
        become_user: req.become_user.as_deref(),
        host_vars: r.host_vars,
    };
    let play = play::play(spec, &task, &r.load, &templar)?;
    if r.hosts.is_empty() {
        if req.run.limit.is_some() {
            return Err(AdhocError::NoHosts);
        }
        warnings.push("No hosts matched, nothing to do".into());
    }
    let plan = Plan {
        playbooks: vec![Playbook {
            path: r.base_dir.join("__adhoc_playbook__"),
            plays: vec![play],
        }],
        inventory: r.inventory,
        play_hosts: vec![vec![r.hosts.clone()]],
        playbook_vars: vec![r.vars_dir],
        extra_vars: r.extra_vars,
        warnings: Vec::new(),
        roles_path: r.load.roles_path.clone(),
        templar,
        independent_plays: false,
    };
    Ok(Prepared {
        plan,
        hosts: r.hosts,
        warnings,
        origin: task.origin,
        task_repr: task.repr,
    })
}

/// `--list-hosts`, as `ansible --list-hosts` prints it.
pub fn list_hosts(p: &Prepared) -> String {
    let mut out = format!("  hosts ({}):\n", p.hosts.len());
    for h in &p.hosts {
        out.push_str(&format!("    {h}\n"));
    }
    out
}

/// Runs a prepared command (its hosts' connection settings are checked first, still before
/// any host is contacted) with the ad-hoc reporter on stdout, and returns Ansible's exit code.
pub async fn execute(mut p: Prepared, req: &AdhocRequest) -> Result<ExitCode, AdhocError> {
    if p.hosts.is_empty() {
        return Ok(ExitCode::Ok);
    }
    let targets = p.plan.targets(&req.run.connect)?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let opts = AdhocOptions {
        one_line: req.output.one_line,
        json: req.output.json,
        tree: req.output.tree.clone(),
        diff: req.run.diff,
        origin: p.origin,
        task_repr: p.task_repr,
    };
    let reporter = AdhocReporter::new(std::io::stdout(), std::io::stderr(), opts);
    let handle = tokio::spawn(reporter.run(rx));
    let outcome = crate::run::execute(p.plan, targets, &req.run, &tx).await;
    drop(tx);
    let _ = handle.await;
    Ok(exit_code(&outcome))
}

/// Ansible's ad-hoc exit code: an unreachable host wins over a failed one (its strategy
/// checks unreachable hosts first), unlike `ansible-playbook`'s recap order.
pub fn exit_code(o: &Outcome) -> ExitCode {
    let any = |f: fn(&HostStats) -> u32| o.stats.iter().any(|s| f(s) > 0);
    if o.interrupted {
        ExitCode::Interrupted
    } else if any(|s| s.unreachable) {
        ExitCode::Unreachable
    } else if any(|s| s.failed) {
        ExitCode::HostFailed
    } else {
        ExitCode::Ok
    }
}
