//! Keyword inheritance: a task's effective `become`, `check_mode`, `environment`... come from
//! the task, then enclosing blocks (innermost first), then the play, then inventory variables,
//! then `ansible.cfg`'s `[privilege_escalation]`.

use serde_json::{Map, Value};

use super::context::{Inherited, PlayCtx};
use super::outcome::Disposition;
use crate::playbook::model::{Common, IntKw, Task, Text};
use crate::secret::Secret;
use crate::shell::{Become, BecomeMethod};
use crate::values::{to_bool, to_str};

pub struct Effective {
    pub become_: Option<Become>,
    pub check_mode: bool,
    pub diff: bool,
    pub no_log: bool,
    pub ignore_errors: bool,
    pub environment: Vec<(String, String)>,
    /// `delegate_to` as written, rendered per invocation by [`super::delegate`].
    pub delegate: Option<Text>,
    /// `delegate_to` rendered with the task's variables, for the result line; `None` when it
    /// needs a loop item.
    pub delegate_to: Option<String>,
    pub delegate_facts: bool,
    pub run_once: bool,
    /// Hosts allowed to run the task at once; 0 is no limit.
    pub throttle: usize,
    /// Seconds one attempt may take.
    pub timeout: Option<u64>,
    pub ignore_unreachable: bool,
}

/// The innermost setting among task and enclosing blocks.
fn pick<T: Clone>(t: &Task, inh: &Inherited, f: impl Fn(&Common) -> Option<T>) -> Option<T> {
    f(&t.common).or_else(|| inh.common.iter().rev().find_map(&f))
}

impl Effective {
    /// How the task's result is judged and shown.
    pub fn disposition(&self) -> Disposition {
        Disposition {
            ignore_errors: self.ignore_errors,
            no_log: self.no_log,
            delegated_to: self.delegate_to.clone(),
            ignore_unreachable: self.ignore_unreachable,
        }
    }

    pub fn new(
        pc: &PlayCtx,
        t: &Task,
        inh: &Inherited,
        scope: &minijinja::Value,
    ) -> Result<Effective, String> {
        let play = &pc.play;
        let lookup = |k: &str| {
            scope
                .get_attr(k)
                .ok()
                .filter(|v| !v.is_undefined())
                .and_then(|v| serde_json::to_value(&v).ok())
        };
        let render = |s: &str, span: &crate::diagnostic::Span| -> Result<Value, String> {
            pc.templar.render_str(s, scope, span).map_err(|e| e.message)
        };
        let become_ = become_of(pc, t, inh, scope, scope)?;
        let check_mode = pick(t, inh, |c| c.check_mode)
            .or(play.check_mode)
            .unwrap_or(pc.opts.check);
        let diff = pick(t, inh, |c| c.diff)
            .or(play.diff)
            .unwrap_or(pc.opts.diff);
        let no_log = pick(t, inh, |c| c.no_log).or(play.no_log).unwrap_or(false);
        let ignore_errors = match pick(t, inh, |c| c.ignore_errors.clone()) {
            Some(c) => pc
                .templar
                .eval_bool(&c.expr, scope, &c.span)
                .map_err(|e| e.message)?,
            None => play.ignore_errors.unwrap_or(false),
        };
        let mut env = Map::new();
        let envs = play
            .environment
            .iter()
            .chain(inh.common.iter().filter_map(|c| c.environment.as_ref()))
            .chain(t.common.environment.iter());
        for e in envs {
            match pc
                .templar
                .render_value(e, scope, &t.span)
                .map_err(|e| e.message)?
            {
                Value::Object(m) => env.extend(m),
                Value::Null => {}
                other => return Err(format!("environment must be a mapping, got {other}")),
            }
        }
        let environment = env
            .into_iter()
            .map(|(k, v)| (k, to_str(&v).unwrap_or_default()))
            .collect();
        let delegate = pick(t, inh, |c| c.delegate_to.clone());
        // A task delegated to its own host is not shown as delegated, as in Ansible.
        let own = lookup("inventory_hostname");
        let delegate_to = delegate
            .as_ref()
            .and_then(|d| super::delegate::render_name(pc, d, scope).ok().flatten())
            .filter(|n| own.as_ref().and_then(Value::as_str) != Some(n.as_str()));
        // `add_host` bypasses the host loop in Ansible: it runs once for the play.
        let run_once =
            t.common.run_once || inh.common.iter().any(|c| c.run_once) || t.action == "add_host";
        let int = |kw: Option<IntKw>, name: &str| -> Result<Option<i64>, String> {
            match kw {
                None => Ok(None),
                Some(IntKw::Int(n)) => Ok(Some(n)),
                Some(IntKw::Template(tx)) => {
                    let v = render(&tx.value, &tx.span)?;
                    to_str(&v)
                        .and_then(|s| s.trim().parse::<i64>().ok())
                        .filter(|n| *n >= 0)
                        .map(Some)
                        .ok_or_else(|| {
                            format!(
                                "Failed to convert the {name} value to an integer: {}",
                                to_str(&v).unwrap_or_else(|| v.to_string())
                            )
                        })
                }
            }
        };
        let throttle = int(pick(t, inh, |c| c.throttle.clone()), "throttle")?.unwrap_or(0);
        let timeout = int(pick(t, inh, |c| c.timeout.clone()), "timeout")?.filter(|n| *n > 0);
        Ok(Effective {
            become_,
            check_mode,
            diff,
            no_log,
            ignore_errors,
            environment,
            delegate,
            delegate_to,
            delegate_facts: pick(t, inh, |c| c.delegate_facts).unwrap_or(false),
            run_once,
            throttle: throttle as usize,
            timeout: timeout.map(|n| n as u64),
            ignore_unreachable: pick(t, inh, |c| c.ignore_unreachable).unwrap_or(false),
        })
    }
}

/// How the task becomes another user, if it does: keywords templated with the task's
/// `scope`, `ansible_become*` variables read from `vars`, the scope of the host the task
/// connects to (a delegated host's own, as Ansible reads connection and become variables from
/// the delegated host).
pub fn become_of(
    pc: &PlayCtx,
    t: &Task,
    inh: &Inherited,
    scope: &minijinja::Value,
    vars: &minijinja::Value,
) -> Result<Option<Become>, String> {
    let play = &pc.play;
    let lookup = |k: &str| {
        vars.get_attr(k)
            .ok()
            .filter(|v| !v.is_undefined())
            .and_then(|v| serde_json::to_value(&v).ok())
    };
    let render = |s: &str, span: &crate::diagnostic::Span| -> Result<Value, String> {
        pc.templar.render_str(s, scope, span).map_err(|e| e.message)
    };
    let become_on = match pick(t, inh, |c| c.become_).or(play.become_) {
        Some(b) => b,
        None => lookup("ansible_become")
            .as_ref()
            .and_then(to_bool)
            .unwrap_or(pc.opts.become_defaults.become_),
    };
    Ok(if become_on {
        let user = match pick(t, inh, |c| c.become_user.clone()) {
            Some(u) => to_str(&render(&u.value, &u.span)?).unwrap_or_default(),
            None => play
                .become_user
                .clone()
                .or_else(|| lookup("ansible_become_user").as_ref().and_then(to_str))
                .or_else(|| pc.opts.become_defaults.user.clone())
                .unwrap_or_else(|| "root".into()),
        };
        Some(become_settings(pc, t, inh, user, &lookup)?)
    } else {
        None
    })
}

/// How the task becomes `user`: method and flags from the task, its blocks, the play, then
/// the inventory (`ansible_become_method`, `ansible_become_flags`); the password from the
/// inventory (`ansible_become_password`) or else `--ask-become-pass`, as Ansible resolves them.
fn become_settings(
    pc: &PlayCtx,
    t: &Task,
    inh: &Inherited,
    user: String,
    lookup: &dyn Fn(&str) -> Option<Value>,
) -> Result<Become, String> {
    let first = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| lookup(n).as_ref().and_then(to_str))
    };
    let method = match pick(t, inh, |c| c.become_method).or(pc.play.become_method) {
        Some(m) => m,
        None => match first(&["ansible_become_method"]) {
            None => pc.opts.become_defaults.method.unwrap_or(BecomeMethod::Sudo),
            Some(m) => BecomeMethod::parse(&m).ok_or_else(|| {
                format!("`ansible_become_method: {m}` is not supported; use sudo or su")
            })?,
        },
    };
    let flags = pick(t, inh, |c| c.become_flags.clone())
        .or_else(|| pc.play.become_flags.clone())
        .or_else(|| first(&["ansible_become_flags", "ansible_sudo_flags"]))
        .or_else(|| pc.opts.become_defaults.flags.clone());
    let password = first(&[
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_sudo_pass",
    ])
    .map(Secret::new)
    .or_else(|| pc.opts.become_password.clone());
    if password.as_ref().is_some_and(|p| p.expose().contains('\n')) {
        return Err("the become password must be one line".into());
    }
    Ok(Become {
        user,
        method,
        flags,
        password,
    })
}
