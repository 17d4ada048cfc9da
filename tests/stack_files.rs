//! Bad stack files (issue 12, test 9): an unknown key, an unknown layer in an app, a missing
//! role, a role missing a task file named in `events`, bad YAML and a missing inventory source
//! are each located errors (`file:line:col`), exit 5, with zero hosts contacted. The
//! inventory's hosts are a local TCP listener that counts connections, so "zero hosts
//! contacted" is measured, and a valid file shows the listener does see strata connect.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::stack::{Stack, dump};

/// A listener on 127.0.0.1 that accepts, counts and drops every connection.
fn spy() -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    std::thread::spawn(move || {
        for c in l.incoming() {
            s.fetch_add(1, Ordering::SeqCst);
            drop(c);
        }
    });
    (port, seen)
}

/// 1-based (line, column) of the first `marker` in `text`.
fn locate(text: &str, marker: &str) -> (usize, usize) {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in {text}"));
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// Any `.db` file under `dir`'s state directory.
fn state_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join(".strata"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".db"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn bad_stack_files_are_located_errors_and_contact_no_host() {
    let (port, seen) = spy();
    let dir = strata::scratch::root().join(format!("strata-stack-files-{}", std::process::id()));
    let st = Stack::at(&dir);
    st.write(
        "inv.yml",
        &format!(
            "all:\n  vars:\n    ansible_user: root\n    ansible_host: 127.0.0.1\n    ansible_port: {port}\n  \
             children:\n    lb:\n      hosts:\n        lb1: {{}}\n    app:\n      hosts:\n        app1: {{}}\n"
        ),
    );
    st.edit(|t| t.replace("inventory: [lab.yml, groups.yml]", "inventory: [inv.yml]"));
    let base = std::fs::read_to_string(&st.file).unwrap();
    let lb_roles = "    roles: [lb]\n";
    assert!(base.contains(lb_roles) && base.contains("    layers: [app]\n"));

    // (case, the bad file, where the error must point, whether the column is checked too)
    let cases: Vec<(&str, String, &str, bool)> = vec![
        (
            "unknown key",
            base.replace(lb_roles, "    roles: [lb]\n    rolse: [lb]\n"),
            "rolse",
            true,
        ),
        (
            "unknown layer in an app",
            base.replace("    layers: [app]\n", "    layers: [app, nolayer]\n"),
            "nolayer",
            true,
        ),
        (
            "missing role",
            base.replace(lb_roles, "    roles: [lb, norole]\n"),
            "norole",
            true,
        ),
        (
            "role without the task file named in events",
            base.replace(
                lb_roles,
                "    roles: [lb]\n    events:\n      configure: [lb, {role: lb, tasks_from: reload}]\n",
            ),
            "{role: lb, tasks_from: reload}",
            false,
        ),
        (
            "bad YAML",
            base.replace("name: fixture\n", "name: fixture: oops\n"),
            "name: fixture: oops",
            false,
        ),
        (
            "missing inventory source",
            base.replace("inventory: [inv.yml]", "inventory: [inv.yml, noinv.yml]"),
            "noinv.yml",
            false,
        ),
    ];
    // Every case is tried and all problems are reported at once.
    let mut problems = Vec::new();
    for (case, text, marker, check_col) in &cases {
        assert_ne!(text, &base, "{case}: the fixture text changed");
        st.edit(|_| text.clone());
        let (line, col) = locate(text, marker);
        let at = if *check_col {
            format!("stack.yml:{line}:{col}")
        } else {
            format!("stack.yml:{line}:")
        };
        for cmd in ["sync", "configure"] {
            let before = seen.load(Ordering::SeqCst);
            let o = st.run(&[cmd, "--timeout", "2"]);
            let err = String::from_utf8_lossy(&o.stderr);
            if o.status.code() != Some(5) {
                problems.push(format!("{case}, {cmd}: not exit 5: {}", dump(&o)));
            } else if !err.contains(&at) {
                problems.push(format!("{case}, {cmd}: not located at {at}:\n{err}"));
            }
            let contacted = seen.load(Ordering::SeqCst) - before;
            if contacted > 0 {
                problems.push(format!("{case}, {cmd}: {contacted} connection(s) to hosts"));
            }
            let files = state_files(&st.dir);
            if !files.is_empty() {
                problems.push(format!("{case}, {cmd}: state written: {files:?}"));
            }
            let _ = std::fs::remove_dir_all(st.dir.join(".strata"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    st.edit(|_| base.clone());

    // The same stack, valid: --dry-run contacts no host either and says what would run...
    let o = st.expect(&["sync", "--dry-run"], 0);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("lb1") && out.contains("app1"), "{}", dump(&o));
    assert_eq!(seen.load(Ordering::SeqCst), 0, "--dry-run contacted a host");
    // ...and a real sync does reach the listener (which is no SSH server): unreachable.
    st.expect(&["sync", "--timeout", "5"], 4);
    assert!(
        seen.load(Ordering::SeqCst) > 0,
        "the listener saw nothing: the zero counts above prove nothing"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
