use super::*;

#[test]
fn short_names_follow_ansible_builtin_routing() {
    assert_eq!(resolve("yum"), Some(Known::Module("ansible.builtin.dnf")));
    assert_eq!(
        resolve("seboolean"),
        Some(Known::Module("ansible.posix.seboolean"))
    );
    assert_eq!(
        resolve("ansible.builtin.seboolean"),
        Some(Known::Module("ansible.posix.seboolean"))
    );
    assert_eq!(
        resolve("ansible.legacy.firewalld"),
        Some(Known::Module("ansible.posix.firewalld"))
    );
    assert_eq!(
        resolve("community.general.zypper"),
        Some(Known::Module("community.general.zypper"))
    );
    assert_eq!(resolve("copy"), Some(Known::Module("ansible.builtin.copy")));
    // Not Ansible modules: a typo, a collection module by its bare name (Ansible resolves
    // only ansible.builtin's routing for short names), a redirect into a collection the
    // bundle lacks.
    assert_eq!(resolve("yumm"), None);
    assert_eq!(resolve("hv_sds_block_user_facts"), None);
    assert_eq!(resolve("a10_server"), None);
}

#[test]
fn removed_modules_carry_ansible_s_message() {
    let Some(Known::Removed(m)) = resolve("include") else {
        panic!("include is a tombstone");
    };
    assert_eq!(
        m,
        "The 'ansible.builtin.include' action plugin has been removed. Use include_tasks or \
         import_tasks instead. This feature was removed from ansible-core in a release after \
         2023-05-16."
    );
}

#[test]
fn refusals_are_known_modules_the_registry_lacks() {
    let r = refusal("yum").unwrap();
    assert_eq!(r.fqcn, "ansible.builtin.dnf");
    let r = refusal("ansible.posix.seboolean").unwrap();
    assert_eq!(r.fqcn, "ansible.posix.seboolean");
    assert!(r.reason.unwrap().contains("SELinux"));
    assert!(refusal("copy").is_none());
    assert!(refusal("ansible.builtin.copy").is_none());
    assert!(refusal("copyy").is_none());
    assert!(refusal("include").is_none());
    assert_eq!(
        reason("ansible.windows.win_copy").map(|r| r.contains("Windows")),
        Some(true)
    );
}

/// The README lists these with their reasons; one strata implements must leave the table.
#[test]
fn every_module_with_a_reason_is_known_and_unimplemented() {
    for (k, _) in REASONS {
        if k.ends_with('.') {
            continue;
        }
        assert_eq!(resolve(k), Some(Known::Module(k)), "{k} is not known");
        assert!(super::super::lookup(k).is_none(), "{k} is implemented");
    }
}

/// Every module strata ships is a known Ansible name, under its short name.
#[test]
fn every_registered_module_is_known() {
    for m in super::super::registry() {
        let n = m.spec().name;
        assert!(
            matches!(resolve(n), Some(Known::Module(_))),
            "{n} is not an Ansible module"
        );
    }
}
