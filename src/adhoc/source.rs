//! Where an ad-hoc command's hosts come from, resolved without touching any host: an
//! inventory (`-i`, as `strata playbook` reads it), or a stack (`-s`): its online instances,
//! its layers as groups, and per host the `stack` variable and merged attributes an event's
//! tasks see.
//!
//! With a stack, the command neither takes the stack's writer lock nor logs an event: it is
//! an operator's shell across hosts, like `ssh`, and changes none of the stack's state
//! (statuses, releases, the configure broadcast). It reads the state once, for the online
//! instances, so it runs while a long `sync` holds the lock, which is when one needs it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::AdhocError;
use super::request::{AdhocRequest, HostSource};
use crate::diagnostic::{Diagnostic, InputErrors, Span};
use crate::inventory::{Inventory, LoadOptions as InventoryLoad, VarsDir, load_vars_dir};
use crate::playbook::LoadOptions;
use crate::stack::state::{StateStore, Status};
use crate::stack::variable::{EventVars, host_vars};
use crate::stack::{Stack, StackRequest};

/// `stack.event` in an ad-hoc command's tasks.
pub const STACK_EVENT: &str = "adhoc";

/// The hosts and everything the play and the plan need about them.
pub struct Resolved {
    pub inventory: Inventory,
    /// The hosts PATTERN (and `-l`) selected, in Ansible's order.
    pub hosts: Vec<String>,
    /// `group_vars`/`host_vars` beside the playbook Ansible would use: the working directory,
    /// or the stack file's directory (as for a stack event).
    pub vars_dir: VarsDir,
    /// The play's directory: relative `src` files resolve from here.
    pub base_dir: PathBuf,
    pub load: LoadOptions,
    pub extra_vars: Map<String, Value>,
    /// Per-host variables at play-`vars` precedence (`-s` only).
    pub host_vars: HashMap<String, Arc<Map<String, Value>>>,
    pub warnings: Vec<String>,
}

fn input(d: Diagnostic) -> AdhocError {
    AdhocError::Input(InputErrors(vec![d]))
}

/// `-l` as the pattern language takes it (`@file` read).
fn limit(req: &AdhocRequest) -> Result<Option<String>, AdhocError> {
    match &req.run.limit {
        Some(l) => crate::inventory::limit_from_arg(l)
            .map(Some)
            .map_err(|e| input(Diagnostic::new(Span::unknown(), format!("--limit: {e}")))),
        None => Ok(None),
    }
}

/// PATTERN and `-l` over `inv`.
fn select(
    inv: &Inventory,
    req: &AdhocRequest,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, AdhocError> {
    let limit = limit(req)?;
    let sel = inv
        .select_limited(&req.pattern, limit.as_deref())
        .map_err(|e| {
            input(Diagnostic::new(
                Span::unknown(),
                format!("bad host pattern `{}`: {e}", req.pattern),
            ))
        })?;
    warnings.extend(sel.warnings);
    Ok(sel.hosts)
}

/// Resolves the hosts of `req`. Nothing here contacts a host.
pub fn resolve(req: &AdhocRequest, cwd: &Path) -> Result<Resolved, AdhocError> {
    match &req.source {
        HostSource::Inventory => inventory(req, cwd),
        HostSource::Stack { file, attributes } => stack(req, file, attributes, cwd),
    }
}

fn inventory(req: &AdhocRequest, cwd: &Path) -> Result<Resolved, AdhocError> {
    let extra_vars = crate::extra_vars::parse(&req.run.extra_vars).map_err(input)?;
    let inv = crate::inventory::load(
        &req.run.inventory,
        &InventoryLoad {
            flush_cache: req.run.flush_cache,
        },
    )
    .map_err(input)?;
    let mut warnings = inv.warnings().to_vec();
    let hosts = select(&inv, req, &mut warnings)?;
    // ansible-core loads the playbook-adjacent vars of its loader's base directory, the
    // working directory for an ad-hoc command.
    let vars_dir = load_vars_dir(cwd, &inv).map_err(input)?;
    Ok(Resolved {
        load: LoadOptions {
            extra_vars: extra_vars.clone(),
            roles_path: req.run.roles_path.clone(),
            playbook_dir: Some(cwd.to_path_buf()),
            gathering: req.run.gathering,
            strict: req.run.strict,
        },
        inventory: inv,
        hosts,
        vars_dir,
        base_dir: cwd.to_path_buf(),
        extra_vars,
        host_vars: HashMap::new(),
        warnings,
    })
}

fn stack(
    req: &AdhocRequest,
    file: &Path,
    attributes: &[String],
    cwd: &Path,
) -> Result<Resolved, AdhocError> {
    let mut sreq = StackRequest::new(file.to_path_buf(), "strata run");
    sreq.run = req.run.clone();
    sreq.attributes = attributes.to_vec();
    // Loads and validates the stack file and its roles, as every stack command does.
    let stack = Stack::open(sreq)?;
    let d = stack.discover(false)?;
    let records = stack
        .store
        .instances()
        .map_err(crate::stack::StackError::from)?;
    let mut warnings = Vec::new();
    let online: Vec<_> = records
        .iter()
        .filter(|r| r.status == Status::Online)
        .filter(|r| {
            let known = d.inventory.contains_host(&r.name);
            if !known {
                warnings.push(format!(
                    "instance `{}` is online in the state but no longer in the instance source; \
                     left out (`strata stack sync` retires it)",
                    r.name
                ));
            }
            known
        })
        .collect();
    // Layer shortnames become groups of their online instances (a layer's group in the source
    // may have another name, and holds offline instances too).
    let mut inv = d.inventory.clone();
    for r in &online {
        for l in &r.layers {
            inv.add_host(&r.name, Some(l), Span::unknown(), None);
        }
    }
    inv.reconcile();
    let hosts: Vec<String> = select(&inv, req, &mut warnings)?
        .into_iter()
        .filter(|h| online.iter().any(|r| &r.name == h))
        .collect();
    let targets: Vec<_> = online
        .iter()
        .copied()
        .filter(|r| hosts.contains(&r.name))
        .collect();
    let ctx = &stack.ctx;
    let vars = host_vars(
        &ctx.file,
        &records,
        &targets,
        &EventVars {
            event: STACK_EVENT,
            deploy: &HashMap::new(),
            cli_attributes: &ctx.cli_attributes,
        },
    );
    let vars_dir = load_vars_dir(&ctx.file.dir, &inv).map_err(input)?;
    Ok(Resolved {
        inventory: inv,
        hosts,
        vars_dir,
        base_dir: cwd.to_path_buf(),
        load: ctx.load.clone(),
        extra_vars: ctx.extra_vars.clone(),
        host_vars: vars,
        warnings,
    })
}
