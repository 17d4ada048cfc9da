use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A fresh directory tree per test: `cwd/`, `home/`, `etc/ansible.cfg` (the system file).
struct Tree {
    root: PathBuf,
    vars: HashMap<String, String>,
}

impl Tree {
    fn new() -> Tree {
        static N: AtomicUsize = AtomicUsize::new(0);
        let root = crate::scratch::root().join(format!(
            "strata-config-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["cwd", "home", "etc"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
            std::fs::set_permissions(root.join(d), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Tree {
            root,
            vars: HashMap::new(),
        }
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn var(mut self, k: &str, v: &str) -> Tree {
        self.vars.insert(k.into(), v.into());
        self
    }

    fn load(&self) -> Result<Config, InputErrors> {
        let var = |k: &str| self.vars.get(k).cloned();
        let cwd = self.root.join("cwd");
        let home = self.root.join("home");
        let system = self.root.join("etc/ansible.cfg");
        load_with(&Env {
            var: &var,
            cwd: &cwd,
            home: Some(&home),
            system: &system,
        })
    }

    fn settings(&self) -> Settings {
        match self.load() {
            Ok(c) => c.settings,
            Err(e) => panic!("{}", e.render()),
        }
    }

    fn errors(&self) -> Vec<Diagnostic> {
        match self.load() {
            Ok(c) => panic!("expected an error, got {c:?}"),
            Err(e) => e.0,
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[test]
fn the_first_file_found_wins_in_ansibles_order() {
    let t = Tree::new();
    assert_eq!(t.load().unwrap().file, None);
    t.write("etc/ansible.cfg", "[defaults]\nforks = 1\n");
    assert_eq!(t.settings().forks, Some(1));
    t.write("home/.ansible.cfg", "[defaults]\nforks = 2\n");
    assert_eq!(t.settings().forks, Some(2));
    t.write("cwd/ansible.cfg", "[defaults]\nforks = 3\n");
    assert_eq!(t.settings().forks, Some(3));
    // Only one file is read: the others' settings do not show through.
    t.write("cwd/ansible.cfg", "[defaults]\ntimeout = 3\n");
    assert_eq!(t.settings().forks, None);
    let cfg = t.write("elsewhere/my.cfg", "[defaults]\nforks = 4\n");
    let t = t.var("ANSIBLE_CONFIG", cfg.to_str().unwrap());
    assert_eq!(t.settings().forks, Some(4));
    assert_eq!(t.load().unwrap().file, Some(cfg));
}

#[test]
fn ansible_config_may_name_a_directory_or_nothing_that_exists() {
    let t = Tree::new();
    t.write("proj/ansible.cfg", "[defaults]\nforks = 7\n");
    t.write("cwd/ansible.cfg", "[defaults]\nforks = 3\n");
    let dir = t.root.join("proj");
    let t = t.var("ANSIBLE_CONFIG", dir.to_str().unwrap());
    assert_eq!(t.settings().forks, Some(7));
    // A path that does not exist is passed over, as in ansible-core.
    let t = t.var("ANSIBLE_CONFIG", "/nonexistent/strata.cfg");
    assert_eq!(t.settings().forks, Some(3));
}

#[test]
fn a_world_writable_working_directory_is_skipped_with_a_warning() {
    let t = Tree::new();
    t.write("cwd/ansible.cfg", "[defaults]\nforks = 3\n");
    t.write("home/.ansible.cfg", "[defaults]\nforks = 2\n");
    std::fs::set_permissions(t.root.join("cwd"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let c = t.load().unwrap();
    assert_eq!(c.settings.forks, Some(2));
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("world writable"), "{:?}", c.warnings);
    // ANSIBLE_CONFIG naming a file silences it.
    let cfg = t.root.join("home/.ansible.cfg");
    let t = t.var("ANSIBLE_CONFIG", cfg.to_str().unwrap());
    assert!(t.load().unwrap().warnings.is_empty());
}

#[test]
fn the_environment_wins_over_the_file_and_the_file_over_defaults() {
    let t = Tree::new();
    let d = t.settings();
    assert_eq!(d.forks, None);
    assert!(d.host_key_checking);
    assert!(!d.become_.become_);
    assert_eq!(d.gathering, Gathering::Implicit);
    assert_eq!(
        d.roles_path,
        vec![
            t.root.join("home/.ansible/roles"),
            PathBuf::from("/usr/share/ansible/roles"),
            PathBuf::from("/etc/ansible/roles"),
        ]
    );
    t.write(
        "cwd/ansible.cfg",
        "[defaults]\nforks = 4\nremote_user = deploy\nhost_key_checking = False\n\
         gathering = explicit\ntimeout = 30\n\
         [privilege_escalation]\nbecome = True\nbecome_user = app\nbecome_method = su\n\
         become_flags = -l\n",
    );
    let s = t.settings();
    assert_eq!(s.forks, Some(4));
    assert_eq!(s.remote_user.as_deref(), Some("deploy"));
    assert!(!s.host_key_checking);
    assert_eq!(s.gathering, Gathering::Explicit);
    assert_eq!(s.timeout, Some(30));
    assert_eq!(
        s.become_,
        BecomeDefaults {
            become_: true,
            user: Some("app".into()),
            method: Some(crate::shell::BecomeMethod::Su),
            flags: Some("-l".into()),
        }
    );
    let t = t
        .var("ANSIBLE_FORKS", "9")
        .var("ANSIBLE_REMOTE_USER", "ops")
        .var("ANSIBLE_HOST_KEY_CHECKING", "yes")
        .var("ANSIBLE_GATHERING", "smart")
        .var("ANSIBLE_BECOME", "no")
        .var("ANSIBLE_BECOME_USER", "root")
        .var("ANSIBLE_BECOME_METHOD", "sudo");
    let s = t.settings();
    assert_eq!(s.forks, Some(9));
    assert_eq!(s.remote_user.as_deref(), Some("ops"));
    assert!(s.host_key_checking);
    assert_eq!(s.gathering, Gathering::Smart);
    assert!(!s.become_.become_);
    assert_eq!(s.become_.user.as_deref(), Some("root"));
    assert_eq!(s.become_.method, Some(crate::shell::BecomeMethod::Sudo));
    // An empty integer variable means the default, not the file's value.
    let t = t.var("ANSIBLE_FORKS", "");
    assert_eq!(t.settings().forks, None);
    // Of two names for one setting, the later in Ansible's list wins.
    let t = t
        .var("ANSIBLE_TIMEOUT", "5")
        .var("ANSIBLE_SSH_TIMEOUT", "6");
    assert_eq!(t.settings().timeout, Some(6));
}

#[test]
fn the_later_of_two_keys_for_one_setting_wins() {
    let t = Tree::new();
    t.write(
        "cwd/ansible.cfg",
        "[ssh_connection]\nhost_key_checking = no\n[defaults]\nhost_key_checking = yes\n",
    );
    assert!(!t.settings().host_key_checking);
}

#[test]
fn paths_in_the_file_are_relative_to_it_and_in_the_environment_to_the_working_directory() {
    let t = Tree::new();
    let cfg = t.write(
        "proj/ansible.cfg",
        "[defaults]\ninventory = hosts.ini, inv/prod.yml\n\
         roles_path = roles:../shared/roles:~/r:/abs\nprivate_key_file = keys/id\n",
    );
    let t = t.var("ANSIBLE_CONFIG", cfg.to_str().unwrap());
    let s = t.settings();
    let proj = t.root.join("proj");
    assert_eq!(
        s.inventory,
        Some(vec![proj.join("hosts.ini"), proj.join("inv/prod.yml")])
    );
    assert_eq!(
        s.roles_path,
        vec![
            proj.join("roles"),
            t.root.join("shared/roles"),
            t.root.join("home/r"),
            PathBuf::from("/abs"),
        ]
    );
    assert_eq!(s.private_key_file, Some(proj.join("keys/id")));
    let t = t
        .var("ANSIBLE_ROLES_PATH", "mine:$PROJ/roles")
        .var("PROJ", "/srv/p");
    assert_eq!(
        t.settings().roles_path,
        vec![t.root.join("cwd/mine"), PathBuf::from("/srv/p/roles")]
    );
    // strata's own name wins over Ansible's.
    let t = t.var("STRATA_ROLES_PATH", "/x");
    assert_eq!(t.settings().roles_path, vec![PathBuf::from("/x")]);
}

#[test]
fn configparser_rules_comments_continuations_case_and_default() {
    let t = Tree::new();
    t.write(
        "cwd/ansible.cfg",
        "# a comment\n; another\n[DEFAULT]\ntimeout = 12\n\n[defaults]\n\
         REMOTE_USER: deploy ; inline comment\n\
         forks = 5\n\
         [ssh_connection]\nssh_args = -o ServerAliveInterval=5\n    -o ConnectTimeout=3\n\n\
         ssh_common_args = '-o ProxyJump=ops@bastion'\n",
    );
    let s = t.settings();
    assert_eq!(s.remote_user.as_deref(), Some("deploy"));
    assert_eq!(s.forks, Some(5));
    // `[DEFAULT]` fills keys of sections that exist.
    assert_eq!(s.timeout, Some(12));
    assert_eq!(
        s.ssh_args.as_deref(),
        Some("-o ServerAliveInterval=5\n-o ConnectTimeout=3")
    );
    assert_eq!(
        s.ssh_common_args.as_deref(),
        Some("-o ProxyJump=ops@bastion")
    );
}

#[test]
fn a_hash_after_a_value_is_part_of_it_as_in_ansible() {
    let t = Tree::new();
    t.write("cwd/ansible.cfg", "[defaults]\nforks = 5 # five\n");
    let e = t.errors();
    assert_eq!(e.len(), 1);
    assert!(
        e[0].message.contains("must be an integer"),
        "{}",
        e[0].message
    );
    assert_eq!((e[0].span.line, e[0].span.col), (2, 9));
}

#[test]
fn unknown_keys_are_named_in_one_warning() {
    let t = Tree::new();
    t.write(
        "cwd/ansible.cfg",
        "[defaults]\nforks = 2\nnocows = 1\nretry_files_enabled = False\n\
         [ssh_connection]\npipelining = True\n[colors]\nok = green\n",
    );
    let c = t.load().unwrap();
    assert_eq!(c.settings.forks, Some(2));
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    let w = &c.warnings[0];
    for k in [
        "[defaults] nocows",
        "[defaults] retry_files_enabled",
        "[ssh_connection] pipelining",
        "[colors] ok",
    ] {
        assert!(w.contains(k), "{w}");
    }
    assert!(!w.contains("forks"), "{w}");
}

#[test]
fn malformed_files_are_located_errors() {
    let cases: &[(&str, u32, &str)] = &[
        ("forks = 2\n", 1, "no section headers"),
        (
            "[defaults]\nforks = 2\njust words\n",
            3,
            "not `key = value`",
        ),
        ("[defaults]\n= 2\n", 2, "without a name"),
        (
            "[defaults]\nforks = 2\n[x]\n[defaults]\n",
            4,
            "section [defaults] already exists",
        ),
        ("[defaults]\nforks = 2\nFORKS = 3\n", 3, "option `forks`"),
        ("[defaults]\nforks = many\n", 2, "must be an integer"),
        ("[defaults]\nforks = 0\n", 2, "at least 1"),
        (
            "[defaults]\ngathering = sometimes\n",
            2,
            "implicit, explicit or smart",
        ),
        (
            "[privilege_escalation]\nbecome_method = doas\n",
            2,
            "sudo or su",
        ),
        (
            "[ssh_connection]\nssh_args = -o ProxyCommand=nc\n",
            2,
            "ProxyJump",
        ),
        (
            "[ssh_connection]\nssh_common_args = -o 'Port=2\n",
            2,
            "ssh_common_args",
        ),
    ];
    for (text, line, msg) in cases {
        let t = Tree::new();
        let path = t.write("cwd/ansible.cfg", text);
        let e = t.errors();
        assert!(
            e.iter().any(|d| d.span.line == *line
                && d.message.contains(msg)
                && d.span.file.as_deref().map(PathBuf::as_path) == Some(path.as_path())),
            "{text:?}: {e:?}"
        );
    }
    // Every bad line is reported, as configparser's ParsingError lists them.
    let t = Tree::new();
    t.write(
        "cwd/ansible.cfg",
        "[defaults]\nbad one\nforks = 1\nbad two\n",
    );
    let lines: Vec<u32> = t.errors().iter().map(|d| d.span.line).collect();
    assert_eq!(lines, vec![2, 4]);
}

#[test]
fn a_bad_environment_value_names_the_variable() {
    let t = Tree::new().var("ANSIBLE_TIMEOUT", "soon");
    let e = t.errors();
    assert!(e[0].message.contains("ANSIBLE_TIMEOUT"), "{e:?}");
}

#[test]
fn only_ini_files_and_readable_ones_are_configuration() {
    let t = Tree::new();
    let y = t.write("proj/ansible.yml", "defaults: {}\n");
    let t = t.var("ANSIBLE_CONFIG", y.to_str().unwrap());
    assert!(t.errors()[0].message.contains("extension"));
    let t = Tree::new();
    std::fs::create_dir_all(t.root.join("cwd/ansible.cfg")).unwrap();
    assert!(t.errors()[0].message.contains("cannot read"));
    let t = Tree::new();
    t.write("cwd/ansible.cfg", "");
    std::fs::write(t.root.join("cwd/ansible.cfg"), b"[defaults]\nx = \xff\n").unwrap();
    assert!(t.errors()[0].message.contains("UTF-8"));
}

#[test]
fn empty_and_comment_only_files_are_fine() {
    let t = Tree::new();
    t.write("cwd/ansible.cfg", "");
    let c = t.load().unwrap();
    assert!(c.file.is_some());
    assert_eq!(c.settings.forks, None);
    t.write("cwd/ansible.cfg", "# nothing\n\n; here\n");
    assert!(t.load().unwrap().warnings.is_empty());
}
