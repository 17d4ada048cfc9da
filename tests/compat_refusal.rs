//! Late refusal: a playbook with RHEL branches that name modules strata does not implement
//! runs on Debian hosts as under ansible-core (the branches skipped), with one warning per
//! such task; `--strict` refuses each at load time with its location; a refused task that
//! does run fails with a message naming the module and where it is used.
mod common;

use common::compat::{Env, compare_in};
use common::playbook::fixture;
use common::{Lab, strata_command};

/// The refused tasks of `refusal_rhel.yml`: name, module as written, and line:col of the key.
const REFUSED: &[(&str, &str, &str)] = &[
    ("reload firewall", "firewalld", "12:7"),
    ("EPEL repository", "yum_repository", "18:7"),
    ("packages (RHEL)", "yum", "24:7"),
    ("SELinux lets the web server connect", "seboolean", "30:7"),
    ("http through firewalld", "ansible.posix.firewalld", "36:11"),
];

#[test]
fn rhel_branches_are_skipped_on_debian_as_in_ansible() {
    let runs = compare_in(
        "refusal_rhel.yml",
        Env {
            systemd: false,
            www: true,
        },
    );
    for r in &runs {
        r.expect_exit(0);
        let warnings: Vec<&str> = r
            .events
            .iter()
            .filter(|e| e["event"] == "warning")
            .filter_map(|e| e["msg"].as_str())
            .collect();
        assert_eq!(warnings.len(), REFUSED.len(), "{warnings:#?}");
        for (task, module, at) in REFUSED {
            let w = warnings
                .iter()
                .find(|w| w.contains(&format!("task '{task}'")))
                .unwrap_or_else(|| panic!("no warning for {task}: {warnings:#?}"));
            assert!(
                w.contains(&format!("refusal_rhel.yml:{at}: "))
                    && w.contains(&format!("uses the module `{module}`")),
                "{w}"
            );
        }
        // The loop over a refused module is skipped per item, as in Ansible.
        let rhel = r.results("lab01", "packages (RHEL)");
        assert!(rhel.iter().all(|e| e["status"] == "skipped"), "{rhel:?}");
    }
}

#[test]
fn strict_refuses_each_at_load_time_with_its_location() {
    let book = fixture("compat").join("refusal_rhel.yml");
    let out = strata_command(
        None,
        &[
            "playbook",
            "-i",
            "nowhere.invalid,",
            "--strict",
            book.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    for (_, module, at) in REFUSED {
        assert!(
            err.contains(&format!("refusal_rhel.yml:{at}")),
            "{module} at {at} not named:\n{err}"
        );
        assert!(
            err.contains(&format!("module `{module}`")),
            "{module} not named:\n{err}"
        );
    }
    assert!(err.contains("aborting due to 5 previous errors"), "{err}");
    // Without --strict a syntax check passes and names each in a warning.
    let out = strata_command(
        None,
        &[
            "playbook",
            "-i",
            "nowhere.invalid,",
            "--syntax-check",
            book.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("[WARNING]: ").count(), REFUSED.len(), "{err}");
}

#[test]
fn a_refused_task_that_runs_fails_clearly() {
    let lab = Lab::up("refusal-run", 1, false);
    let book = "\
- hosts: all
  gather_facts: false
  tasks:
    - name: skipped RHEL branch
      yum: name=httpd
      when: false
    - name: counted
      set_stats:
        data: {runs: 1}
    - name: counted per host
      set_stats:
        data: {seen: [\"{{ inventory_hostname }}\"]}
        per_host: true
    - name: install httpd
      yum: name=httpd
    - name: never reached
      debug: msg=unreachable
";
    let r = lab
        .playbook(book)
        .command(|c| {
            c.env("ANSIBLE_SHOW_CUSTOM_STATS", "true");
        })
        .run();
    r.expect_exit(2);
    let host = &lab.hosts[0].name;
    assert_eq!(
        r.results(host, "skipped RHEL branch")[0]["status"],
        "skipped"
    );
    let failed = r.results(host, "install httpd");
    assert_eq!(failed[0]["status"], "failed", "{failed:?}");
    let msg = failed[0]["msg"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with(
            "strata does not implement the module `yum` (ansible.builtin.dnf) used at "
        ) && msg.contains("playbook.yml:15:7: dnf/yum is the package manager of RHEL"),
        "{msg}"
    );
    assert!(r.results(host, "never reached").is_empty());
    let recap = r
        .events
        .iter()
        .find(|e| e["event"] == "recap")
        .expect("a recap");
    assert_eq!(recap["global_custom_stats"], serde_json::json!({"runs": 1}));
    assert_eq!(
        recap["custom_stats"][host],
        serde_json::json!({"seen": [host]})
    );
    // The same through `strata run`: the refused module fails on the host where it runs (the
    // ad-hoc exit code of a failed host, 2), with the warning before it; `--strict` refuses
    // it before any host is contacted (exit 5).
    let inv = lab.inventory.to_string_lossy().into_owned();
    let adhoc = ["run", "all", "-i", &inv, "-m", "yum", "-a", "name=httpd"];
    let out = common::strata_in(None, &adhoc);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        err.contains("[WARNING]") && err.contains("uses the module `yum`"),
        "{err}"
    );
    assert!(
        text.contains("strata does not implement the module `yum`"),
        "{text}"
    );
    assert!(text.contains(&format!("{host} | FAILED!")), "{text}");
    let mut strict = adhoc.to_vec();
    strict.push("--strict");
    let out = common::strata_in(None, &strict);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains("error: module `yum` (ansible.builtin.dnf): strata does not implement it")
            && err.contains("no host was contacted"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(host.as_str()));
}
