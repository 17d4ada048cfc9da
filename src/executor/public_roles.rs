//! The variables of a play's public roles. ansible-core keeps every role a play uses in
//! `play.roles` and, for each one that is public, layers its defaults (with its dependencies')
//! at the very bottom of every task's variables and its `vars/` (with its dependencies')
//! just above `vars_files`. `roles:` entries and `import_role` are public from the start;
//! an `include_role` with `public: true` becomes public when it runs, for the whole play.

use std::sync::{Arc, RwLock};

use super::vars::Layer;
use crate::playbook::model::RoleCtx;

/// The two layers, combined once per added role rather than per task.
#[derive(Default)]
pub struct PublicRoles {
    layers: RwLock<(Layer, Layer)>,
}

impl PublicRoles {
    pub fn new(roles: &[Arc<RoleCtx>]) -> Self {
        let p = PublicRoles::default();
        for r in roles {
            p.add(r);
        }
        p
    }

    /// Makes `role`'s variables visible to every later task of the play; later roles win.
    pub fn add(&self, role: &RoleCtx) {
        let mut g = self.layers.write().unwrap_or_else(|e| e.into_inner());
        let (defaults, vars) = &mut *g;
        Arc::make_mut(defaults).extend(role.public_defaults.clone());
        Arc::make_mut(vars).extend(role.public_vars.clone());
    }

    /// The combined defaults (lowest precedence) and `vars/` (above `vars_files`).
    pub fn layers(&self) -> (Layer, Layer) {
        self.layers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role(defaults: serde_json::Value, vars: serde_json::Value) -> RoleCtx {
        RoleCtx {
            public_defaults: defaults.as_object().unwrap().clone(),
            public_vars: vars.as_object().unwrap().clone(),
            ..RoleCtx::default()
        }
    }

    #[test]
    fn later_roles_override_earlier_ones_and_includes_add_at_run_time() {
        let p = PublicRoles::new(&[Arc::new(role(
            json!({"a": 1, "b": 1}),
            json!({"v": "first"}),
        ))]);
        p.add(&role(json!({"b": 2}), json!({"v": "second", "w": 1})));
        let (d, v) = p.layers();
        assert_eq!(
            serde_json::Value::Object((*d).clone()),
            json!({"a": 1, "b": 2})
        );
        assert_eq!(
            serde_json::Value::Object((*v).clone()),
            json!({"v": "second", "w": 1})
        );
    }
}
