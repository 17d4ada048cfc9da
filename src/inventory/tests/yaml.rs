//! YAML inventories: cases found by comparing with ansible-inventory 2.19 on new fixtures
//! (tests/inventory_compat_edge.rs compares them live).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::super::*;

fn write(text: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = crate::scratch::root().join(format!(
        "strata-inv-yaml-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join("hosts.yml");
    std::fs::write(&p, text).unwrap();
    p
}

fn err(text: &str) -> crate::diagnostic::Diagnostic {
    load(&[write(text)], &LoadOptions::default()).unwrap_err()
}

/// Ansible refuses keys YAML reads as numbers instead of turning them into names.
#[test]
fn numeric_host_and_group_keys_are_refused() {
    let e = err("all:\n  hosts:\n    1.10:\n");
    assert!(e.message.contains("invalid host name"), "{}", e.message);
    assert_eq!((e.span.line, e.span.col), (3, 5));
    let e = err("all:\n  children:\n    2024:\n      hosts: {a: }\n");
    assert!(e.message.contains("invalid group name"), "{}", e.message);
    let ok = load(
        &[write(
            "all:\n  hosts:\n    \"1.10\":\n  children:\n    \"2024\":\n",
        )],
        &LoadOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{}", d.render()));
    assert!(ok.contains_host("1.10"));
    assert!(ok.group("2024").is_some());
}
