//! `inventory_hostnames`: the hosts a host pattern (`all:!web`, `db*`) matches. As in
//! Ansible, the inventory is rebuilt from the `groups` variable; the pattern engine lives
//! with the inventory, above the templates, so the executor lends it as a [`HostPatterns`]
//! in the context under [`HOST_PATTERNS`](super::HOST_PATTERNS).

use std::sync::Arc;

use minijinja::State;
use minijinja::value::{Kwargs, Object, Value};

use super::{HOST_PATTERNS, fail, paths, term_str};

/// Selects host names by patterns, over an inventory made of `groups` (group -> hosts).
pub trait HostMatcher: Send + Sync {
    fn select(&self, patterns: &[String], groups: &serde_json::Value) -> Vec<String>;
}

/// The context value carrying the executor's [`HostMatcher`].
pub struct HostPatterns(pub Arc<dyn HostMatcher>);

impl std::fmt::Debug for HostPatterns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<host patterns>")
    }
}

impl Object for HostPatterns {}

pub fn run(state: &State, terms: &[Value], _: &Kwargs) -> Result<Vec<Value>, minijinja::Error> {
    let matcher = paths::var(state, HOST_PATTERNS);
    let Some(m) = matcher
        .as_ref()
        .and_then(|v| v.downcast_object_ref::<HostPatterns>())
    else {
        return Err(fail(
            "inventory_hostnames needs an inventory (only inside a play)",
        ));
    };
    let groups = paths::var(state, "groups").unwrap_or_default();
    let groups = crate::template::jinja_to_json(&groups).map_err(fail)?;
    let patterns: Vec<String> = terms.iter().map(term_str).collect();
    Ok(m.0
        .select(&patterns, &groups)
        .into_iter()
        .map(Value::from)
        .collect())
}
