//! Load + validate + resolve: extra vars, inventory, playbooks (with everything they import)
//! and every play's hosts, then each host's connection settings. Nothing here touches a host;
//! every problem is an input error, all of them reported together.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::request::RunRequest;
use crate::diagnostic::{Diagnostic, InputErrors};
use crate::inventory::{Inventory, VarsDir, load_vars_dir};
use crate::playbook::model::Playbook;
use crate::playbook::{LoadOptions, load_playbook};
use crate::template::Templar;
use crate::transport::{ConnectOptions, Target, target};
use crate::values::to_str;

/// Everything validated and resolved, ready to run.
pub struct Plan {
    pub playbooks: Vec<Playbook>,
    pub inventory: Inventory,
    /// Hosts of each play, per playbook, in Ansible's pattern order.
    pub play_hosts: Vec<Vec<Vec<String>>>,
    /// `group_vars`/`host_vars` beside each playbook (Ansible's playbook-adjacent vars).
    pub playbook_vars: Vec<VarsDir>,
    pub extra_vars: Map<String, Value>,
    pub warnings: Vec<String>,
    /// Role directories searched after `<playbook_dir>/roles` (`roles_path`), kept so that
    /// load time and run time (`include_role`) search the same places.
    pub roles_path: Vec<PathBuf>,
    /// The templating environment the playbooks were checked with; the run renders with it.
    pub templar: Arc<Templar>,
    /// Each play runs even when an earlier one ended the playbook in Ansible's sense (all of
    /// its hosts failed): a stack event's layers are independent, so a failed load balancer
    /// must not keep the app servers from their setup. Hosts that failed stay out.
    pub independent_plays: bool,
}

/// How to reach each host the plan uses, computed before any host is contacted.
pub type Targets = HashMap<String, Target>;

/// Load + validate + resolve. No I/O to hosts happens here.
pub fn plan(req: &RunRequest) -> Result<Plan, InputErrors> {
    let templar = Arc::new(Templar::new());
    let extra_vars = crate::extra_vars::parse(&req.extra_vars)?;
    let inventory = crate::inventory::load(
        &req.inventory,
        &crate::inventory::LoadOptions {
            flush_cache: req.flush_cache,
        },
    )?;
    let limit = match &req.limit {
        Some(l) => Some(
            crate::inventory::pattern::limit_from_arg(l)
                .map_err(|e| Diagnostic::new(Default::default(), format!("--limit: {e}")))?,
        ),
        None => None,
    };
    let roles_path = req.roles_path.clone();
    let load = LoadOptions {
        extra_vars: extra_vars.clone(),
        roles_path: roles_path.clone(),
        playbook_dir: None,
        gathering: req.gathering,
        strict: req.strict,
    };
    let mut playbooks = Vec::new();
    let mut errors = Vec::new();
    for p in &req.playbooks {
        match load_playbook(p, &load, &templar) {
            Ok(pb) => playbooks.push(pb),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        return Err(InputErrors(errors));
    }
    let mut playbook_vars = Vec::new();
    for pb in &playbooks {
        let dir = pb.path.parent().filter(|d| !d.as_os_str().is_empty());
        playbook_vars.push(load_vars_dir(dir.unwrap_or(Path::new(".")), &inventory)?);
    }
    let ctx = minijinja::Value::from(minijinja::value::Serde(&extra_vars));
    let mut warnings: Vec<String> = inventory.warnings().to_vec();
    let mut play_hosts = Vec::new();
    for pb in &playbooks {
        let mut per = Vec::new();
        for play in &pb.plays {
            let pattern = match templar.render_str(&play.hosts.value, &ctx, &play.hosts.span) {
                Ok(v) => match v {
                    Value::Array(a) => a.iter().filter_map(to_str).collect::<Vec<_>>().join(","),
                    other => to_str(&other).unwrap_or_default(),
                },
                Err(e) => {
                    errors.push(e.label(
                        "in `hosts:` (only extra vars are defined before hosts are chosen)",
                    ));
                    continue;
                }
            };
            match inventory.select_limited(&pattern, limit.as_deref()) {
                Ok(sel) => {
                    warnings.extend(sel.warnings);
                    per.push(sel.hosts);
                }
                Err(e) => errors.push(Diagnostic::new(
                    play.hosts.span.clone(),
                    format!("bad host pattern `{pattern}`: {e}"),
                )),
            }
        }
        play_hosts.push(per);
    }
    if !errors.is_empty() {
        return Err(InputErrors(errors));
    }
    Ok(Plan {
        playbooks,
        inventory,
        play_hosts,
        playbook_vars,
        extra_vars,
        warnings,
        roles_path,
        templar,
        independent_plays: false,
    })
}

impl Plan {
    /// Inventory and pattern warnings, printed where nothing runs (a syntax check, a
    /// listing); a run sends them to its reporter.
    pub fn print_warnings(&self) {
        for w in &self.warnings {
            eprintln!("[WARNING]: {w}");
        }
    }

    /// One warning per task whose module strata refuses (it fails where it runs). A run
    /// sends them to the reporter; a syntax check or listing prints them itself.
    pub fn refusal_warnings(&self) -> Vec<String> {
        crate::playbook::refused::warnings(&self.playbooks)
    }

    /// How to reach every host some play uses. Each host's connection comes from the first
    /// playbook that uses it, with that playbook's adjacent vars (where `ansible_user` and
    /// friends often live).
    ///
    /// Only a run needs them, so this is also where a run's `vars_prompt` is checked: a
    /// prompt that cannot be asked is an input error (a syntax check or listing asks nothing).
    pub fn targets(&mut self, opts: &ConnectOptions) -> Result<Targets, InputErrors> {
        let (prompt_errors, prompt_warnings) = super::prompts::check(
            &self.playbooks,
            &self.extra_vars,
            super::prompts::interactive(),
        );
        if !prompt_errors.is_empty() {
            return Err(InputErrors(prompt_errors));
        }
        // Reported with the plan's other warnings when the run starts.
        self.warnings.extend(prompt_warnings);
        let mut used: Vec<(&String, &VarsDir)> = Vec::new();
        for (per, pv) in self.play_hosts.iter().zip(&self.playbook_vars) {
            for h in per.iter().flatten() {
                if !used.iter().any(|(u, _)| *u == h) {
                    used.push((h, pv));
                }
            }
        }
        let mut targets = HashMap::new();
        let mut errors = Vec::new();
        for (h, pv) in used {
            match target(h, &self.inventory.host_vars_with(h, Some(pv)), opts) {
                Ok(t) => {
                    targets.insert(h.clone(), t);
                }
                Err(e) => errors.push(Diagnostic::new(
                    self.inventory
                        .host(h)
                        .map(|x| x.span.clone())
                        .unwrap_or_default(),
                    e.to_string(),
                )),
            }
        }
        if errors.is_empty() {
            Ok(targets)
        } else {
            Err(InputErrors(errors))
        }
    }
}
