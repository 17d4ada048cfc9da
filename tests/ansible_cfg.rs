//! A project directory with an `ansible.cfg`, as ansible-playbook users have them: the
//! inventory, a role outside the project on `roles_path`, the login user and key, `forks`,
//! `gathering`, `[privilege_escalation]` and `[ssh_connection]` all come from the file, no
//! command-line option given. Then `ANSIBLE_*` variables override the file and the command
//! line overrides those; ansible-core runs the same project to the same recap (and again with
//! `gathering = smart`); a malformed file is a located input error (exit 5); and the stack
//! commands find a role along the configured `roles_path`.
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::compat::ansible_report;
use common::playbook::{Counts, Run, parse};
use common::{Lab, strata_command};

const ROLE: &str = r#"- name: who runs the tasks
  command: id -un
  register: who
  changed_when: false
- name: how it became
  shell: "echo ${SUDO_USER:-no sudo}"
  changed_when: false
- name: when it ran
  shell: "date +%s%N; sleep 1; date +%s%N"
  changed_when: false
- name: what is known
  debug:
    msg: "facts={{ (ansible_facts | default({})) | length > 0 }} user={{ who.stdout }}"
"#;

const SITE: &str = "- hosts: web\n  roles:\n    - whoami\n";

/// Two plays on the same hosts, for `gathering = smart`.
const TWICE: &str = "- hosts: web\n  become: false\n  tasks:\n    - debug: msg=first\n\
                     - hosts: web\n  become: false\n  tasks:\n    - debug: msg=second\n";

/// `proj/` (ansible.cfg, hosts.ini, site.yml) and `shared/roles/whoami`, outside it.
fn project(lab: &Lab) -> PathBuf {
    let root = lab.state.dir.join("cfg-project");
    let _ = std::fs::remove_dir_all(&root);
    let proj = root.join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    let role = root.join("shared/roles/whoami/tasks");
    std::fs::create_dir_all(&role).unwrap();
    std::fs::write(role.join("main.yml"), ROLE).unwrap();
    std::fs::write(proj.join("site.yml"), SITE).unwrap();
    std::fs::write(proj.join("twice.yml"), TWICE).unwrap();
    let hosts: String = lab
        .hosts
        .iter()
        .map(|h| format!("{} ansible_host={}\n", h.name, h.addr))
        .collect();
    std::fs::write(proj.join("hosts.ini"), format!("[web]\n{hosts}")).unwrap();
    std::fs::write(
        proj.join("ansible.cfg"),
        format!(
            "# as an ansible-playbook project has it\n\
             [defaults]\n\
             inventory = hosts.ini\n\
             roles_path = ../shared/roles\n\
             remote_user = root\n\
             private_key_file = {key}\n\
             forks = 1\n\
             gathering = explicit\n\
             host_key_checking = True\n\
             timeout = 20\n\
             nocows = 1\n\
             \n\
             [privilege_escalation]\n\
             become = True\n\
             become_user = nobody\n\
             become_method = sudo\n\
             \n\
             [ssh_connection]\n\
             ssh_args = -o ServerAliveInterval=5 -o ServerAliveCountMax=3\n\
             ssh_common_args = -o UserKnownHostsFile={kh} -o StrictHostKeyChecking=yes\n\
             pipelining = True\n",
            key = lab.key.display(),
            kh = lab.known_hosts.display(),
        ),
    )
    .unwrap();
    proj
}

/// `strata playbook --json site.yml [args]` in `proj` with `env` set, nothing else.
fn strata(proj: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    strata_book(proj, "site.yml", args, env)
}

fn strata_book(proj: &Path, book: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec!["playbook", "--json"];
    all.extend_from_slice(args);
    all.push(book);
    let mut cmd = strata_command(Some(proj), &all);
    cmd.env_remove("ANSIBLE_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    parse(cmd.output().expect("cannot run strata"))
}

fn stdout_of(r: &Run, host: &str, task: &str) -> String {
    let res = r.results(host, task);
    assert_eq!(res.len(), 1, "{host} {task}: {}", r.dump());
    res[0]["result"]["stdout"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The (start, end) nanoseconds of the sleeping task on each host.
fn spans(r: &Run, hosts: &[String]) -> Vec<(u128, u128)> {
    hosts
        .iter()
        .map(|h| {
            let out = stdout_of(r, h, "when it ran");
            let n: Vec<u128> = out.lines().map(|l| l.trim().parse().unwrap()).collect();
            (n[0], n[1])
        })
        .collect()
}

fn overlap(s: &[(u128, u128)]) -> bool {
    s[0].0 < s[1].1 && s[1].0 < s[0].1
}

fn gathered(r: &Run, host: &str) -> bool {
    !r.results(host, "Gathering Facts").is_empty()
}

/// ansible-playbook on the same project, from its directory: its recap (json callback).
fn ansible_recap(
    proj: &Path,
    book: &str,
    env: &[(&str, &str)],
) -> (i32, BTreeMap<String, Counts>, String) {
    let out = Command::new("/opt/strata-venv/bin/ansible-playbook")
        .arg(book)
        .current_dir(proj)
        .envs(env.iter().copied())
        .env_remove("ANSIBLE_CONFIG")
        .env("ANSIBLE_STDOUT_CALLBACK", "ansible.posix.json")
        .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .env(
            "ANSIBLE_LOCAL_TEMP",
            std::env::temp_dir().join("strata-ansible-tmp"),
        )
        .output()
        .expect("ansible-playbook must be installed (tests/run installs it)");
    let (_, recap) = ansible_report(&out);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), recap, text)
}

#[test]
fn a_project_runs_from_its_ansible_cfg_and_env_and_cli_override_it() {
    let lab = Lab::up("d-ansible-cfg", 2, false);
    let proj = project(&lab);
    let hosts: Vec<String> = lab.hosts.iter().map(|h| h.name.clone()).collect();

    // Everything from the file.
    let r = strata(&proj, &[], &[]);
    r.expect_exit(0);
    assert!(
        r.stderr.contains("[defaults] nocows") && r.stderr.contains("[ssh_connection] pipelining"),
        "one warning names the keys strata ignores:\n{}",
        r.stderr
    );
    assert_eq!(r.stderr.matches("[WARNING]").count(), 1, "{}", r.stderr);
    for h in &hosts {
        assert_eq!(stdout_of(&r, h, "who runs the tasks"), "nobody");
        assert_eq!(stdout_of(&r, h, "how it became"), "root");
        assert!(!gathered(&r, h), "gathering = explicit: {}", r.dump());
        let c = r.host(h);
        assert_eq!((c.ok, c.changed, c.failed), (4, 0, 0), "{}", r.dump());
    }
    let s = spans(&r, &hosts);
    assert!(!overlap(&s), "forks = 1 runs one host at a time: {s:?}");
    let cfg_recap = r.recap.clone();

    // The environment over the file.
    let r = strata(
        &proj,
        &[],
        &[
            ("ANSIBLE_BECOME_USER", "root"),
            ("ANSIBLE_FORKS", "2"),
            ("ANSIBLE_GATHERING", "implicit"),
        ],
    );
    r.expect_exit(0);
    for h in &hosts {
        assert_eq!(stdout_of(&r, h, "who runs the tasks"), "root");
        assert!(gathered(&r, h), "ANSIBLE_GATHERING=implicit: {}", r.dump());
        assert_eq!(r.host(h).ok, 5, "{}", r.dump());
    }
    let s = spans(&r, &hosts);
    assert!(
        overlap(&s),
        "ANSIBLE_FORKS=2 runs both hosts at once: {s:?}"
    );

    // ANSIBLE_BECOME_METHOD and ANSIBLE_BECOME_FLAGS: su, with a shell for nobody.
    let r = strata(
        &proj,
        &[],
        &[
            ("ANSIBLE_BECOME_METHOD", "su"),
            ("ANSIBLE_BECOME_FLAGS", "-s /bin/sh"),
        ],
    );
    r.expect_exit(0);
    for h in &hosts {
        assert_eq!(stdout_of(&r, h, "who runs the tasks"), "nobody");
        assert_eq!(stdout_of(&r, h, "how it became"), "no sudo");
    }

    // ANSIBLE_REMOTE_USER over remote_user: nobody logs in as ghost.
    let ghost = [("ANSIBLE_REMOTE_USER", "ghost")];
    let r = strata(&proj, &[], &ghost);
    r.expect_exit(4);
    for h in &hosts {
        assert_eq!(r.host(h).unreachable, 1, "{}", r.dump());
    }
    // ... and the command line over the environment.
    strata(&proj, &["-u", "root"], &ghost).expect_clean();

    // The key comes from private_key_file: another key is refused.
    let other = lab.state.dir.join("cfg-project/other_key");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", "ed25519", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(st.success());
    let r = strata(
        &proj,
        &[],
        &[("ANSIBLE_PRIVATE_KEY_FILE", other.to_str().unwrap())],
    );
    r.expect_exit(4);
    // `--private-key` over the environment.
    let key = lab.key.display().to_string();
    strata(
        &proj,
        &["--private-key", &key],
        &[("ANSIBLE_PRIVATE_KEY_FILE", other.to_str().unwrap())],
    )
    .expect_clean();

    // ansible-core reads the same file to the same recap.
    let (code, recap, out) = ansible_recap(&proj, "site.yml", &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(recap, cfg_recap, "ansible-core's recap differs:\n{out}");

    // gathering = smart: the second play does not gather again, in both.
    let smart = [("ANSIBLE_GATHERING", "smart")];
    let r = strata_book(&proj, "twice.yml", &[], &smart);
    r.expect_exit(0);
    for h in &hosts {
        assert_eq!(r.results(h, "Gathering Facts").len(), 1, "{}", r.dump());
        assert_eq!(r.host(h).ok, 3, "{}", r.dump());
    }
    let (code, recap, out) = ansible_recap(&proj, "twice.yml", &smart);
    assert_eq!(code, 0, "{out}");
    assert_eq!(recap, r.recap, "ansible-core's recap differs:\n{out}");
}

#[test]
fn a_malformed_ansible_cfg_is_a_located_error_before_anything_runs() {
    let dir = strata::scratch::root().join(format!("strata-d-badcfg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("ansible.cfg");
    std::fs::write(dir.join("site.yml"), SITE).unwrap();
    let run = |text: &str| {
        std::fs::write(&cfg, text).unwrap();
        let out = strata_command(Some(&dir), &["playbook", "-i", "localhost,", "site.yml"])
            .env("ANSIBLE_CONFIG", &cfg)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let at = |line: u32, col: u32| format!("{}:{line}:{col}", cfg.display());

    let (code, err) = run("[defaults]\nforks = 2\nthis is not a setting\n");
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains(&at(3, 1)) && err.contains("not `key = value`"),
        "{err}"
    );

    let (code, err) = run("[defaults]\ntimeout = ten\n");
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains(&at(2, 11)) && err.contains("must be an integer"),
        "{err}"
    );

    let (code, err) = run("[ssh_connection]\nssh_args = -o ProxyCommand='nc %h %p'\n");
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains(&at(2, 12)) && err.contains("ProxyJump"),
        "{err}"
    );

    let (code, err) = run("forks = 2\n");
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains(&at(1, 1)) && err.contains("no section headers"),
        "{err}"
    );

    // The stack commands read it too.
    std::fs::write(&cfg, "[defaults]\nforks = 0\n").unwrap();
    let out = strata_command(Some(&dir), &["stack", "-f", "none.yml", "status"])
        .env("ANSIBLE_CONFIG", &cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains(&at(2, 9)), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stack_commands_find_roles_along_the_configured_roles_path() {
    let dir = strata::scratch::root().join(format!("strata-d-stackcfg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let st = common::stack::Stack::at(&dir.join("stack"));
    st.write("lab.yml", "all: {}\n");
    st.write("groups.yml", "all: {}\n");
    std::fs::create_dir_all(dir.join("shared/roles")).unwrap();
    std::fs::rename(st.dir.join("roles/lb"), dir.join("shared/roles/lb")).unwrap();
    let o = st.run(&["status"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(err.contains("role `lb` not found"), "{err}");

    let cfg = dir.join("cfg/ansible.cfg");
    std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
    std::fs::write(&cfg, "[defaults]\nroles_path = ../shared/roles\n").unwrap();
    let st = st.with_command(move |c| {
        c.env("ANSIBLE_CONFIG", &cfg);
    });
    let o = st.run(&["status"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stack::dump(&o));
    let _ = std::fs::remove_dir_all(&dir);
}
