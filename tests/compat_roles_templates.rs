//! Roles and templates as real-world projects use them, compared with ansible-core 2.19 (see
//! `common::compat`): which role variables each task sees (dependencies' defaults and vars,
//! public `roles:` and `import_role`, private and public `include_role`, precedence), role
//! deduplication and `allow_duplicates`, and templates that include, import and extend
//! others from roles and the playbook's `templates/`, with the template module's options.

mod common;

use common::compat::compare;

#[test]
fn role_variable_visibility_matches_ansible() {
    compare("role_vars.yml");
}
