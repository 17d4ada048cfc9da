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

#[test]
fn template_includes_and_options_match_ansible() {
    let runs = common::compat::compare_in("tpl_includes.yml", Default::default());
    // A missing included template names the template and where it was looked for.
    for task in [
        "a missing include fails the task",
        "a missing include fails the lookup",
    ] {
        let r = runs[0].results("lab01", task);
        let msg = r
            .first()
            .and_then(|e| e["result"]["msg"].as_str().or(e["msg"].as_str()))
            .unwrap_or_default();
        assert!(
            msg.contains("tpl_nowhere.j2") && msg.contains("compat/templates"),
            "{task}: {msg}"
        );
    }
}
