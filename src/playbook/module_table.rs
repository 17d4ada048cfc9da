//! The loader's one door to the modules: their specs (parameters, types, free-form rules)
//! for validating arguments, and where a task's relative `src` files are searched. Loading
//! never runs a module.

pub use crate::modules::async_jobs::{AsyncSupport, async_support, refusal as async_refusal};
pub use crate::modules::files::output_encoding;
pub use crate::modules::known::{Known, Refusal, builtin_names, reason};
pub use crate::modules::{FreeForm, ModuleSpec, Param, ParamType, SearchPaths};

/// Where module specs come from. The loader only needs specs and names; tests use their own
/// table so they do not depend on which modules are registered.
pub struct ModuleTable {
    pub lookup: fn(&str) -> Option<&'static ModuleSpec>,
    pub names: fn() -> Vec<&'static str>,
    /// What Ansible resolves a name to, for names no module of `lookup` answers to: a
    /// known module strata does not implement loads as a refused task.
    pub known: fn(&str) -> Option<Known>,
}

impl ModuleTable {
    pub fn registry() -> Self {
        ModuleTable {
            lookup: |n| crate::modules::lookup(n).map(|m| m.spec()),
            names: || {
                crate::modules::registry()
                    .iter()
                    .map(|m| m.spec().name)
                    .collect()
            },
            known: crate::modules::known::resolve,
        }
    }
}
