//! Loader tests against real files in temporary directories. Module specs come from a
//! table defined here, so the tests do not depend on which modules are registered.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use super::model::{IntKw, Item, LoopKind, Play, Playbook, Serial, Strategy, Task};
use super::module_table::{FreeForm, ModuleSpec, ModuleTable, Param, ParamType as T};
use super::{LoadOptions, load_playbook_with, load_role_with, load_tasks_file_with};
use crate::diagnostic::Diagnostic;
use crate::template::Templar;

static COPY: ModuleSpec = ModuleSpec {
    name: "copy",
    params: &[
        Param::new("src", T::Str),
        Param::new("dest", T::Str).required(),
        Param::new("content", T::Raw),
        Param::new("mode", T::Mode),
        Param::new("force", T::Bool).aliases(&["thirsty"]),
        Param::new("remote_src", T::Bool),
        Param::new("owner", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["src", "content"]],
    required_one_of: &[&["src", "content"]],
    any_params: false,
};
static COMMAND: ModuleSpec = ModuleSpec {
    name: "command",
    params: &[
        Param::new("cmd", T::Str),
        Param::new("argv", T::List),
        Param::new("chdir", T::Str),
        Param::new("creates", T::Str),
        Param::new("removes", T::Str),
        Param::new("stdin", T::Str),
    ],
    free_form: FreeForm::Raw("cmd"),
    mutually_exclusive: &[&["cmd", "argv"]],
    required_one_of: &[&["cmd", "argv"]],
    any_params: false,
};
static SHELL: ModuleSpec = ModuleSpec {
    name: "shell",
    params: &[
        Param::new("cmd", T::Str).required(),
        Param::new("chdir", T::Str),
        Param::new("creates", T::Str),
        Param::new("removes", T::Str),
        Param::new("executable", T::Str),
    ],
    free_form: FreeForm::Raw("cmd"),
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};
static TEMPLATE: ModuleSpec = ModuleSpec {
    name: "template",
    params: &[
        Param::new("src", T::Str).required(),
        Param::new("dest", T::Str).required(),
        Param::new("mode", T::Mode),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};
static DEBUG: ModuleSpec = ModuleSpec {
    name: "debug",
    params: &[
        Param::new("msg", T::Raw),
        Param::new("var", T::Str),
        Param::new("verbosity", T::Int),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["msg", "var"]],
    required_one_of: &[],
    any_params: false,
};
static FILE: ModuleSpec = ModuleSpec {
    name: "file",
    params: &[
        Param::new("path", T::Str)
            .required()
            .aliases(&["dest", "name"]),
        Param::new("state", T::Str).choices(&["file", "directory", "link", "absent", "touch"]),
        Param::new("mode", T::Mode),
        Param::new("recurse", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};
static SET_FACT: ModuleSpec = ModuleSpec {
    name: "set_fact",
    params: &[Param::new("cacheable", T::Bool)],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: true,
};
static SCRIPT: ModuleSpec = ModuleSpec {
    name: "script",
    params: &[
        Param::new("cmd", T::Str),
        Param::new("chdir", T::Str),
        Param::new("creates", T::Str),
    ],
    free_form: FreeForm::Raw("cmd"),
    mutually_exclusive: &[],
    required_one_of: &[&["cmd"]],
    any_params: false,
};
static URI: ModuleSpec = ModuleSpec {
    name: "uri",
    params: &[
        Param::new("url", T::Str).required(),
        Param::new("headers", T::Dict),
        Param::new("timeout", T::Int),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};
static PING: ModuleSpec = ModuleSpec {
    name: "ping",
    params: &[],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

static SPECS: &[&ModuleSpec] = &[
    &COPY, &COMMAND, &SHELL, &TEMPLATE, &DEBUG, &FILE, &SET_FACT, &SCRIPT, &URI, &PING,
];

fn table() -> ModuleTable {
    ModuleTable {
        lookup: |n| {
            let short = n.strip_prefix("ansible.builtin.").unwrap_or(n);
            SPECS.iter().copied().find(|s| s.name == short)
        },
        names: || SPECS.iter().map(|s| s.name).collect(),
        known: crate::modules::known::resolve,
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory with the given files (parents created).
fn tree(files: &[(&str, &str)]) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = crate::scratch::root().join(format!("strata-loader-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn load_opts(dir: &Path, opts: &LoadOptions) -> Result<Playbook, Vec<Diagnostic>> {
    load_playbook_with(&dir.join("site.yml"), opts, &Templar::new(), &table())
}

fn load(files: &[(&str, &str)]) -> Playbook {
    let dir = tree(files);
    match load_opts(&dir, &LoadOptions::default()) {
        Ok(p) => p,
        Err(ds) => panic!(
            "unexpected errors:\n{}",
            ds.iter().map(Diagnostic::render).collect::<String>()
        ),
    }
}

fn errors(files: &[(&str, &str)]) -> Vec<Diagnostic> {
    let dir = tree(files);
    match load_opts(&dir, &LoadOptions::default()) {
        Ok(_) => panic!("expected errors"),
        Err(ds) => ds,
    }
}

/// The one error whose message contains `needle`, checked to be at `line:col` of `file`.
fn assert_error(ds: &[Diagnostic], needle: &str, file: &str, line: u32, col: u32) -> Diagnostic {
    let all = || ds.iter().map(|d| format!("{d}\n")).collect::<String>();
    let d = ds
        .iter()
        .find(|d| d.message.contains(needle))
        .unwrap_or_else(|| panic!("no `{needle}` in:\n{}", all()));
    let f = d.span.file.as_ref().expect("error has a file");
    assert!(f.ends_with(file), "{} not in {file}", f.display());
    assert_eq!(
        (d.span.line, d.span.col),
        (line, col),
        "position of `{}`",
        d.message
    );
    d.clone()
}

fn task(i: &Item) -> &Task {
    match i {
        Item::Task(t) => t,
        other => panic!("not a task: {other:?}"),
    }
}

fn block(i: &Item) -> &super::model::Block {
    match i {
        Item::Block(b) => b,
        other => panic!("not a block: {other:?}"),
    }
}

fn play(pb: &Playbook) -> &Play {
    &pb.plays[0]
}

#[test]
fn every_play_keyword_parses() {
    let pb = load(&[
        (
            "site.yml",
            r#"
- name: web servers
  hosts: [web, db]
  vars: {a: 1, b: "{{ a }}"}
  vars_files: [vars/common.yml]
  gather_facts: no
  become: yes
  become_user: admin
  become_method: sudo
  environment: {PATH: /bin}
  tags: [p1, p2]
  serial: [1, "30%", 5]
  strategy: free
  max_fail_percentage: 20
  any_errors_fatal: true
  check_mode: false
  diff: true
  ignore_errors: false
  no_log: true
  pre_tasks: [{debug: {msg: pre}}]
  roles: [r1]
  tasks: [{debug: {msg: main}}]
  post_tasks: [{debug: {msg: post}}]
  handlers: [{name: h, debug: {msg: h}}]
"#,
        ),
        ("vars/common.yml", "c: 3\n"),
        ("roles/r1/tasks/main.yml", "- debug: {msg: role}\n"),
    ]);
    let p = play(&pb);
    assert_eq!(p.name, "web servers");
    assert_eq!(p.hosts.value, "web,db");
    assert_eq!(
        Value::Object(p.vars.clone()),
        json!({"a": 1, "b": "{{ a }}"})
    );
    assert_eq!(Value::Object(p.vars_files.clone()), json!({"c": 3}));
    assert!(!p.gather_facts);
    assert_eq!(p.become_, Some(true));
    assert_eq!(p.become_user.as_deref(), Some("admin"));
    assert_eq!(p.environment, Some(json!({"PATH": "/bin"})));
    assert_eq!(p.tags, vec!["p1", "p2"]);
    assert_eq!(
        p.serial,
        vec![Serial::Count(1), Serial::Percent(30.0), Serial::Count(5)]
    );
    assert_eq!(p.strategy, Strategy::Free);
    assert_eq!(p.max_fail_percentage, Some(20.0));
    assert!(p.any_errors_fatal);
    assert_eq!(
        (p.check_mode, p.diff, p.ignore_errors, p.no_log),
        (Some(false), Some(true), Some(false), Some(true))
    );
    assert_eq!(p.pre_tasks.len(), 1);
    // Roles come first in `tasks`, as one block per role.
    assert_eq!(p.tasks.len(), 2);
    let rb = block(&p.tasks[0]);
    assert_eq!(rb.role.as_ref().unwrap().name, "r1");
    assert_eq!(task(&rb.block[0]).common.tags, vec!["p1", "p2"]);
    assert_eq!(task(&p.tasks[1]).args["msg"], json!("main"));
    assert_eq!(task(&p.post_tasks[0]).common.tags, vec!["p1", "p2"]);
    assert_eq!(p.handlers[0].listen, vec!["h"]);
    assert_eq!(p.base_dir, pb.path.parent().unwrap());
}

#[test]
fn play_name_defaults_to_hosts() {
    let pb = load(&[("site.yml", "- hosts: all\n  tasks: []\n")]);
    assert_eq!(play(&pb).name, "all");
    assert!(play(&pb).gather_facts);
}

#[test]
fn every_task_keyword_parses() {
    let pb = load(&[(
        "site.yml",
        r#"
- hosts: all
  tasks:
    - name: "do {{ thing }}"
      ansible.builtin.command: /bin/true
      args: {chdir: /tmp}
      when: [x is defined, true]
      loop: "{{ items }}"
      loop_control: {loop_var: it, index_var: idx, label: "{{ it.name }}", pause: 1.5}
      register: out
      notify: restart
      changed_when: false
      failed_when: out.rc > 1
      ignore_errors: "{{ lenient }}"
      tags: a, b
      become: true
      become_user: "{{ user }}"
      delegate_to: localhost
      run_once: true
      environment: {A: "1"}
      no_log: true
      check_mode: false
      diff: false
      retries: 3
      until: out is success
      delay: 2
      vars: {thing: x}
      any_errors_fatal: true
"#,
    )]);
    let t = task(&play(&pb).tasks[0]);
    assert_eq!(t.name.as_deref(), Some("do {{ thing }}"));
    assert_eq!(t.action, "command");
    assert_eq!(
        Value::Object(t.args.clone()),
        json!({"chdir": "/tmp", "cmd": "/bin/true"})
    );
    let when: Vec<&str> = t.common.when.iter().map(|c| c.expr.as_str()).collect();
    assert_eq!(when, vec!["x is defined", "True"]);
    let l = t.loop_.as_ref().unwrap();
    assert_eq!(
        (l.kind.clone(), l.value.clone()),
        (LoopKind::Loop, json!("{{ items }}"))
    );
    assert_eq!(
        (
            l.loop_var.as_str(),
            l.index_var.as_deref(),
            l.label.as_deref(),
            l.pause
        ),
        ("it", Some("idx"), Some("{{ it.name }}"), Some(1.5))
    );
    assert_eq!(t.register.as_deref(), Some("out"));
    assert_eq!(t.notify, vec!["restart"]);
    assert_eq!(t.changed_when.as_ref().unwrap()[0].expr, "False");
    assert_eq!(t.failed_when.as_ref().unwrap()[0].expr, "out.rc > 1");
    assert_eq!(
        t.common.ignore_errors.as_ref().unwrap().expr,
        "{{ lenient }}"
    );
    assert_eq!(t.common.tags, vec!["a", "b"]);
    assert_eq!(t.common.become_, Some(true));
    assert_eq!(t.common.become_user.as_ref().unwrap().value, "{{ user }}");
    assert_eq!(t.common.delegate_to.as_ref().unwrap().value, "localhost");
    assert!(t.common.run_once);
    assert_eq!(t.common.environment, Some(json!({"A": "1"})));
    assert_eq!(
        (t.common.no_log, t.common.check_mode, t.common.diff),
        (Some(true), Some(false), Some(false))
    );
    assert_eq!((t.retries, t.delay), (Some(3), Some(2.0)));
    assert_eq!(t.until.as_ref().unwrap()[0].expr, "out is success");
    assert_eq!(Value::Object(t.common.vars.clone()), json!({"thing": "x"}));
    assert_eq!(t.common.any_errors_fatal, Some(true));
    // The action span points at the module key.
    assert_eq!((t.action_span.line, t.action_span.col), (5, 7));
}

#[test]
fn with_loops() {
    let pb = load(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - debug: msg={{ item }}\n      with_items: [1, [2, 3]]\n    - debug: msg={{ item.key }}\n      with_dict: {a: 1}\n    - debug: msg={{ item }}\n      with_list: [[1, 2]]\n",
    )]);
    let kinds: Vec<LoopKind> = play(&pb)
        .tasks
        .iter()
        .map(|i| task(i).loop_.as_ref().unwrap().kind.clone())
        .collect();
    assert_eq!(kinds, vec![LoopKind::Items, LoopKind::Dict, LoopKind::Loop]);
    assert_eq!(
        task(&play(&pb).tasks[1]).loop_.as_ref().unwrap().value,
        json!({"a": 1})
    );
}

#[test]
fn free_form_arguments() {
    let pb = load(&[
        (
            "site.yml",
            r#"
- hosts: all
  tasks:
    - shell: echo "a b" chdir=/tmp
    - copy: src=a dest="/x y" mode=0644
    - command: FOO=bar env creates=/x
    - set_fact: one=1 two="{{ x }}"
    - debug: var=foo
    - file: dest=/tmp/d state=directory
    - shell:
        cmd: ls
    - ping:
"#,
        ),
        ("files/a", "content"),
    ]);
    let args: Vec<Value> = play(&pb)
        .tasks
        .iter()
        .map(|i| Value::Object(task(i).args.clone()))
        .collect();
    assert_eq!(args[0], json!({"chdir": "/tmp", "cmd": "echo \"a b\""}));
    assert_eq!(args[1], json!({"src": "a", "dest": "/x y", "mode": "0644"}));
    assert_eq!(args[2], json!({"creates": "/x", "cmd": "FOO=bar env"}));
    assert_eq!(args[3], json!({"one": "1", "two": "{{ x }}"}));
    assert_eq!(args[4], json!({"var": "foo"}));
    // Aliases are stored under the canonical name.
    assert_eq!(args[5], json!({"path": "/tmp/d", "state": "directory"}));
    assert_eq!(args[6], json!({"cmd": "ls"}));
    assert_eq!(args[7], json!({}));
}

#[test]
fn inline_args_override_args_keyword() {
    let pb = load(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - command: ls chdir=/a\n      args:\n        chdir: /b\n        creates: /c\n",
    )]);
    let t = task(&play(&pb).tasks[0]);
    assert_eq!(
        Value::Object(t.args.clone()),
        json!({"chdir": "/a", "creates": "/c", "cmd": "ls"})
    );
}

#[test]
fn import_tasks_splices_with_inheritance() {
    let pb = load(&[
        (
            "site.yml",
            r#"
- hosts: all
  tags: play
  tasks:
    - import_tasks: inc/more.yml
      when: go
      tags: imp
      vars: {v: 1}
      become: true
"#,
        ),
        (
            "inc/more.yml",
            "- debug: msg=one\n  tags: own\n  vars: {v: 2, w: 3}\n- import_tasks: nested.yml\n",
        ),
        ("inc/nested.yml", "- debug: msg=two\n"),
    ]);
    let b = block(&play(&pb).tasks[0]);
    assert_eq!(b.common.when[0].expr, "go");
    let one = task(&b.block[0]);
    assert_eq!(one.common.tags, vec!["play", "imp", "own"]);
    assert!(
        one.common.when.is_empty(),
        "the import's `when` stays on the block"
    );
    assert_eq!(
        Value::Object(one.common.vars.clone()),
        json!({"v": 2, "w": 3})
    );
    assert_eq!(one.common.become_, Some(true));
    // `nested.yml` resolves next to `more.yml`, and inherits through both imports.
    let nested = block(&b.block[1]);
    let two = task(&nested.block[0]);
    assert_eq!(two.args["msg"], json!("two"));
    assert_eq!(two.common.tags, vec!["play", "imp"]);
    assert_eq!(Value::Object(two.common.vars.clone()), json!({"v": 1}));
    assert_eq!(two.base_dir, pb.path.parent().unwrap());
}

#[test]
fn include_tasks_is_preloaded_when_static() {
    let pb = load(&[
        (
            "site.yml",
            "- hosts: all\n  tags: p\n  tasks:\n    - include_tasks: t.yml\n      tags: inc\n      become: true\n      loop: [1, 2]\n    - include_tasks:\n        file: \"{{ os }}.yml\"\n",
        ),
        ("t.yml", "- debug: msg=x\n"),
    ]);
    let Item::IncludeTasks(i) = &play(&pb).tasks[0] else {
        panic!()
    };
    assert_eq!(i.file.value, "t.yml");
    assert!(i.loop_.is_some());
    assert_eq!(i.common.tags, vec!["p", "inc"]);
    let pre = i.preloaded.as_ref().unwrap();
    let t = task(&pre[0]);
    assert_eq!(
        t.common.tags,
        vec!["p"],
        "an include's own tags do not apply to its tasks"
    );
    assert_eq!(t.common.become_, Some(true));
    // What the executor applies to tasks it loads at run time.
    assert_eq!(i.inherited.tags, vec!["p"]);
    assert_eq!(i.inherited.become_, Some(true));
    let Item::IncludeTasks(dynamic) = &play(&pb).tasks[1] else {
        panic!()
    };
    assert!(dynamic.preloaded.is_none());
    assert_eq!(dynamic.base_dir, pb.path.parent().unwrap());
}

#[test]
fn blocks_with_rescue_and_always() {
    let pb = load(&[(
        "site.yml",
        r#"
- hosts: all
  tasks:
    - name: b
      block:
        - debug: msg=try
      rescue:
        - debug: msg=rescue
      always:
        - debug: msg=always
      when: x
      tags: blk
      become: true
      become_user: u
      ignore_errors: true
      delegate_to: 127.0.0.1
"#,
    )]);
    let b = block(&play(&pb).tasks[0]);
    assert_eq!(b.name.as_deref(), Some("b"));
    assert_eq!(b.common.when.len(), 1);
    for items in [&b.block, &b.rescue, &b.always] {
        let t = task(&items[0]);
        assert_eq!(t.common.tags, vec!["blk"]);
        assert_eq!(t.common.become_, Some(true));
        assert_eq!(t.common.become_user.as_ref().unwrap().value, "u");
        assert_eq!(t.common.ignore_errors.as_ref().unwrap().expr, "True");
        assert_eq!(t.common.delegate_to.as_ref().unwrap().value, "127.0.0.1");
        assert!(t.common.when.is_empty());
    }
}

#[test]
fn meta_actions() {
    let pb = load(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - meta: flush_handlers\n    - ansible.builtin.meta: end_play\n      when: done\n",
    )]);
    let t = task(&play(&pb).tasks[0]);
    assert_eq!(
        (t.action.as_str(), t.args["_raw_params"].clone()),
        ("meta", json!("flush_handlers"))
    );
    assert_eq!(task(&play(&pb).tasks[1]).common.when[0].expr, "done");
    let ds = errors(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - meta: flush_handler\n",
    )]);
    let d = assert_error(&ds, "unsupported meta action", "site.yml", 3, 13);
    assert_eq!(d.help.as_deref(), Some("did you mean `flush_handlers`?"));
}

fn role_files() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "site.yml",
            r#"
- hosts: all
  roles:
    - web
    - role: web
    - {role: web, port: 8080, tags: [alt], when: alt}
  tasks:
    - debug: msg=after
"#,
        ),
        (
            "roles/web/meta/main.yml",
            "galaxy_info: {author: me}\ndependencies:\n  - common\n  - {role: db, engine: pg}\n",
        ),
        ("roles/web/defaults/main.yml", "port: 80\n"),
        ("roles/web/vars/main.yml", "web_user: www\n"),
        (
            "roles/web/tasks/main.yml",
            "- template: src=site.conf.j2 dest=/etc/site.conf\n  notify: reload web\n",
        ),
        ("roles/web/templates/site.conf.j2", "listen {{ port }}\n"),
        (
            "roles/web/handlers/main.yml",
            "- name: reload web\n  listen: web changed\n  command: reload\n",
        ),
        ("roles/common/tasks/main.yml", "- debug: msg=common\n"),
        ("roles/db/tasks/main.yml", "- debug: msg=db\n"),
        ("roles/db/tasks/backup.yml", "- debug: msg=backup\n"),
        ("roles/db/defaults/main.yml", "engine: mysql\n"),
    ]
}

#[test]
fn roles_with_dependencies_defaults_vars_and_handlers() {
    let pb = load(&role_files());
    let p = play(&pb);
    let roles: Vec<String> = p
        .tasks
        .iter()
        .filter_map(|i| match i {
            Item::Block(b) => b.role.as_ref().map(|r| r.name.clone()),
            _ => None,
        })
        .collect();
    // web twice with the same (no) params runs once; web with other params runs again, and
    // its dependencies (already run with the same params) do not.
    assert_eq!(roles, vec!["common", "db", "web", "web"]);
    let db = block(&p.tasks[1]);
    let ctx = db.role.as_ref().unwrap();
    assert_eq!(Value::Object(ctx.params.clone()), json!({"engine": "pg"}));
    // A dependency sees the defaults of the role depending on it; its own win.
    assert_eq!(
        Value::Object(ctx.defaults.clone()),
        json!({"port": 80, "engine": "mysql"})
    );
    let web = block(&p.tasks[2]);
    let ctx = web.role.as_ref().unwrap();
    // A role sees its dependencies' defaults below its own.
    assert_eq!(
        Value::Object(ctx.defaults.clone()),
        json!({"engine": "mysql", "port": 80})
    );
    assert_eq!(Value::Object(ctx.vars.clone()), json!({"web_user": "www"}));
    // `roles:` entries are public, each with its dependencies' variables; the deduplicated
    // second `web` still counts.
    let public: Vec<&str> = p.public_roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(public, vec!["web", "web", "web"]);
    assert_eq!(
        Value::Object(p.public_roles[0].public_defaults.clone()),
        json!({"engine": "mysql", "port": 80})
    );
    assert_eq!(
        Value::Object(p.public_roles[0].public_vars.clone()),
        json!({"web_user": "www"})
    );
    assert!(ctx.path.ends_with("roles/web"));
    let t = task(&web.block[0]);
    assert_eq!(t.base_dir, ctx.path);
    assert_eq!(t.role.as_ref().unwrap().name, "web");
    assert_eq!(t.display_name(), "web : template");
    let alt = block(&p.tasks[3]);
    assert_eq!(alt.common.when[0].expr, "alt");
    assert_eq!(task(&alt.block[0]).common.tags, vec!["alt"]);
    assert_eq!(
        Value::Object(alt.role.as_ref().unwrap().params.clone()),
        json!({"port": 8080})
    );
    assert_eq!(task(&p.tasks[4]).args["msg"], json!("after"));
    // Role handlers join the play's, once, with their role context.
    assert_eq!(p.handlers.len(), 1);
    let h = &p.handlers[0];
    assert_eq!(
        h.listen,
        vec!["reload web", "web : reload web", "web changed"]
    );
    assert_eq!(h.task.role.as_ref().unwrap().name, "web");
}

#[test]
fn role_duplicates_allowed_and_dependency_tags() {
    let pb = load(&[
        (
            "site.yml",
            "- hosts: all\n  roles:\n    - {role: app, tags: t, when: c}\n    - {role: app, tags: t, when: c}\n",
        ),
        (
            "roles/app/meta/main.yml",
            "allow_duplicates: true\ndependencies: [base]\n",
        ),
        ("roles/app/tasks/main.yml", "- debug: msg=app\n"),
        ("roles/base/tasks/main.yml", "- debug: msg=base\n"),
    ]);
    let names: Vec<String> = play(&pb)
        .tasks
        .iter()
        .map(|i| block(i).role.as_ref().unwrap().name.clone())
        .collect();
    assert_eq!(names, vec!["base", "app", "app"]);
    let base = block(&play(&pb).tasks[0]);
    assert_eq!(
        base.common.when[0].expr, "c",
        "the using role's `when` covers its dependencies"
    );
    assert_eq!(task(&base.block[0]).common.tags, vec!["t"]);
}

#[test]
fn import_and_include_role() {
    let dir = tree(&role_files());
    std::fs::write(
        dir.join("site.yml"),
        "- hosts: all\n  tasks:\n    - import_role: {name: db, tasks_from: backup}\n    - include_role:\n        name: web\n      vars: {port: 9}\n      tags: inc\n",
    )
    .unwrap();
    let pb = load_opts(&dir, &LoadOptions::default()).unwrap();
    let p = play(&pb);
    let db = block(&p.tasks[0]);
    assert_eq!(task(&db.block[0]).args["msg"], json!("backup"));
    let Item::IncludeRole(ir) = &p.tasks[1] else {
        panic!()
    };
    assert_eq!(ir.role_name.value, "web");
    let (items, handlers) = ir.preloaded.as_ref().unwrap();
    assert_eq!(items.len(), 3, "common, db, web");
    let web = block(&items[2]);
    assert_eq!(
        Value::Object(web.role.as_ref().unwrap().params.clone()),
        json!({"port": 9})
    );
    assert!(task(&web.block[0]).common.tags.is_empty());
    assert_eq!(handlers.len(), 1);
    assert!(
        p.handlers.is_empty(),
        "include_role handlers are kept with the include"
    );
}

#[test]
fn public_load_role_and_tasks_file() {
    let dir = tree(&role_files());
    let t = Templar::new();
    let (items, handlers) = load_role_with(
        "db",
        Some("backup"),
        serde_json::Map::new(),
        &dir,
        None,
        &LoadOptions::default(),
        &t,
        &table(),
    )
    .unwrap();
    assert_eq!(
        task(&block(&items[0]).block[0]).args["msg"],
        json!("backup")
    );
    assert!(handlers.is_empty());
    let opts = LoadOptions {
        roles_path: vec![dir.join("roles")],
        ..Default::default()
    };
    let elsewhere = tree(&[]);
    let (items, handlers) = load_role_with(
        "web",
        None,
        serde_json::Map::new(),
        &elsewhere,
        None,
        &opts,
        &t,
        &table(),
    )
    .unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(handlers.len(), 1);
    let ctx = block(&items[2]).role.clone();
    let items = load_tasks_file_with(
        &dir.join("roles/db/tasks/backup.yml"),
        ctx.clone(),
        &opts,
        &t,
        &table(),
    )
    .unwrap();
    assert_eq!(task(&items[0]).base_dir, ctx.unwrap().path);
}

#[test]
fn vars_files_with_extra_vars_and_import_playbook() {
    let dir = tree(&[
        (
            "site.yml",
            "- import_playbook: other.yml\n  tags: imported\n- hosts: db\n  tasks: []\n",
        ),
        (
            "other.yml",
            "- hosts: web\n  vars_files:\n    - \"vars/{{ env }}.yml\"\n    - [missing.yml, vars/fallback.yml]\n  tasks:\n    - debug: msg=x\n",
        ),
        ("vars/prod.yml", "a: 1\nb: [x]\n"),
        ("vars/fallback.yml", "b: 2\n"),
    ]);
    let mut opts = LoadOptions::default();
    opts.extra_vars.insert("env".into(), json!("prod"));
    let pb = load_opts(&dir, &opts).unwrap();
    assert_eq!(pb.plays.len(), 2);
    let p = &pb.plays[0];
    assert_eq!(Value::Object(p.vars_files.clone()), json!({"a": 1, "b": 2}));
    assert_eq!(p.tags, vec!["imported"]);
    assert_eq!(task(&p.tasks[0]).common.tags, vec!["imported"]);
    assert_eq!(pb.plays[1].hosts.value, "db");
    // Without the extra var, the path cannot be resolved at load time.
    let ds = load_opts(&dir, &LoadOptions::default()).unwrap_err();
    assert_error(&ds, "extra vars", "other.yml", 3, 16);
}

// ---- errors ----

#[test]
fn malformed_yaml_is_located() {
    let ds = errors(&[("site.yml", "- hosts: all\n  tasks:\n    - debug: {msg: [\n")]);
    assert!(
        ds[0].message.starts_with("malformed YAML"),
        "{}",
        ds[0].message
    );
    assert!(ds[0].span.line >= 3, "{:?}", ds[0].span);
    let ds = errors(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - import_tasks: t.yml\n",
        ),
        ("t.yml", "- debug: msg=x\n  bad: [\n"),
    ]);
    assert!(ds[0].span.file.as_ref().unwrap().ends_with("t.yml"));
}

#[test]
fn unknown_module_with_suggestion() {
    let ds = errors(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - name: x\n      copyy: {src: a, dest: b}\n",
    )]);
    let d = assert_error(&ds, "unknown module or keyword `copyy`", "site.yml", 4, 7);
    assert_eq!(d.help.as_deref(), Some("did you mean `copy`?"));
    assert_eq!(ds.len(), 1, "no follow-up 'no module' error: {ds:?}");
}

#[test]
fn unknown_module_without_registry_entries() {
    // The default table (the real registry) is used; the error must not depend on it.
    let dir = tree(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - frobnicate_xyz: {}\n",
    )]);
    let ds = super::load_playbook(
        &dir.join("site.yml"),
        &LoadOptions::default(),
        &Templar::new(),
    )
    .unwrap_err();
    assert_error(
        &ds,
        "unknown module or keyword `frobnicate_xyz`",
        "site.yml",
        3,
        7,
    );
}

#[test]
fn unknown_task_and_play_keywords() {
    let ds = errors(&[(
        "site.yml",
        "- hosts: all\n  gather_fact: no\n  tasks:\n    - debug: msg=x\n      wehn: x\n    - block: []\n      resuce: []\n",
    )]);
    let d = assert_error(&ds, "unknown play keyword `gather_fact`", "site.yml", 2, 3);
    assert_eq!(d.help.as_deref(), Some("did you mean `gather_facts`?"));
    let d = assert_error(&ds, "`wehn`", "site.yml", 5, 7);
    assert_eq!(d.help.as_deref(), Some("did you mean `when`?"));
    let d = assert_error(&ds, "unknown block keyword `resuce`", "site.yml", 7, 7);
    assert_eq!(d.help.as_deref(), Some("did you mean `rescue`?"));
}

#[test]
fn unknown_missing_and_ill_typed_params() {
    let ds = errors(&[
        (
            "site.yml",
            r#"- hosts: all
  tasks:
    - copy: {src: a, dest: /b, mdoe: "0644"}
    - template:
        src: t.j2
    - copy: {src: a, dest: /b, mode: true}
    - copy: {src: a, dest: /b, force: maybe}
    - uri: {url: "http://x", timeout: abc}
    - uri: {url: "http://x", headers: "a=b"}
    - file: {path: /x, state: directroy}
    - copy: src=a dest=/b force=perhaps
    - copy: {src: a, content: b, dest: /c}
"#,
        ),
        ("files/a", "x"),
        ("templates/t.j2", "x"),
    ]);
    let d = assert_error(
        &ds,
        "unsupported parameter `mdoe` for module `copy`",
        "site.yml",
        3,
        32,
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `mode`?"));
    assert_error(
        &ds,
        "missing required parameter `dest` for module `template`",
        "site.yml",
        4,
        7,
    );
    assert_error(&ds, "invalid value for parameter `mode`", "site.yml", 6, 38);
    let d = assert_error(
        &ds,
        "invalid value for parameter `force`",
        "site.yml",
        7,
        39,
    );
    assert!(
        d.message.contains("`maybe` is not a boolean"),
        "{}",
        d.message
    );
    assert_error(&ds, "`abc` is not an integer", "site.yml", 8, 39);
    assert_error(
        &ds,
        "invalid value for parameter `headers`",
        "site.yml",
        9,
        40,
    );
    let d = assert_error(&ds, "value of `state` must be one of", "site.yml", 10, 31);
    assert_eq!(d.help.as_deref(), Some("did you mean `directory`?"));
    // Inside a free-form string the error points at the value.
    assert_error(&ds, "`perhaps` is not a boolean", "site.yml", 11, 33);
    assert_error(&ds, "mutually exclusive: src, content", "site.yml", 12, 22);
    assert_eq!(
        ds.len(),
        9,
        "{:#?}",
        ds.iter().map(|d| d.to_string()).collect::<Vec<_>>()
    );
}

#[test]
fn templated_values_skip_type_checks() {
    let pb = load(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - uri: {url: x, timeout: \"{{ t }}\", headers: \"{{ h }}\"}\n",
    )]);
    assert_eq!(task(&play(&pb).tasks[0]).args["timeout"], json!("{{ t }}"));
}

#[test]
fn bad_jinja_is_located() {
    let ds = errors(&[
        (
            "site.yml",
            r#"- hosts: all
  vars:
    v: "{{ a + }}"
  tasks:
    - debug: msg="{{ x "
      when: "x =="
    - name: render
      template: {src: bad.j2, dest: /x}
"#,
        ),
        ("templates/bad.j2", "line one\n{% if x %}\nno endif\n"),
    ]);
    assert!(
        ds.iter()
            .any(|d| d.span.line == 3 && d.span.file.as_ref().unwrap().ends_with("site.yml")),
        "{ds:?}"
    );
    assert!(ds.iter().any(|d| d.span.line == 5), "{ds:?}");
    assert!(
        ds.iter().any(|d| d.span.line == 6 && d.span.col == 16),
        "{ds:?}"
    );
    assert!(
        ds.iter()
            .any(|d| d.span.file.as_ref().unwrap().ends_with("bad.j2")),
        "{ds:?}"
    );
}

#[test]
fn missing_source_files() {
    let ds = errors(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - template: {src: nope.j2, dest: /x}\n    - copy: src=gone dest=/y\n    - script: run.sh --flag\n    - copy: {src: /remote/file, dest: /z, remote_src: true}\n",
    )]);
    assert_error(
        &ds,
        "`template` source file `nope.j2` not found",
        "site.yml",
        3,
        23,
    );
    assert_error(
        &ds,
        "`copy` source file `gone` not found",
        "site.yml",
        4,
        17,
    );
    assert_error(
        &ds,
        "`script` source file `run.sh` not found",
        "site.yml",
        5,
        15,
    );
    assert_eq!(ds.len(), 3);
}

#[test]
fn action_count_and_task_shape_errors() {
    let ds = errors(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - name: two\n      debug: msg=a\n      ping:\n    - name: none\n      when: x\n    - debug: msg=x\n      delegate_to: ''\n    - just a string\n",
    )]);
    assert_error(
        &ds,
        "conflicting actions in one task: `debug` and `ping`",
        "site.yml",
        5,
        7,
    );
    assert_error(&ds, "task has no module or action", "site.yml", 6, 7);
    assert_error(&ds, "`delegate_to` is empty", "site.yml", 9, 21);
    assert_error(&ds, "a task must be a mapping", "site.yml", 10, 7);
}

#[test]
fn play_level_errors() {
    let ds = errors(&[(
        "site.yml",
        "- name: no hosts\n  tasks: []\n- hosts: all\n  strategy: debug\n  become_method: doas\n  serial: lots\n  roles: [nosuch]\n",
    )]);
    assert_error(&ds, "play has no `hosts`", "site.yml", 1, 3);
    assert_error(&ds, "`strategy` must be", "site.yml", 4, 13);
    assert_error(&ds, "become_method: su` are supported", "site.yml", 5, 18);
    assert_error(&ds, "`serial` must be", "site.yml", 6, 11);
    assert_error(&ds, "role `nosuch` not found", "site.yml", 7, 11);
}

#[test]
fn import_cycles_are_reported() {
    let ds = errors(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - import_tasks: a.yml\n",
        ),
        ("a.yml", "- import_tasks: a.yml\n"),
    ]);
    assert_error(&ds, "includes itself", "a.yml", 1, 17);
}

#[test]
fn role_errors_are_located_in_role_files() {
    let ds = errors(&[
        ("site.yml", "- hosts: all\n  roles: [r]\n"),
        (
            "roles/r/tasks/main.yml",
            "- name: t\n  debug: msg=x\n  registr: out\n",
        ),
        ("roles/r/meta/main.yml", "dependences: []\n"),
        (
            "roles/r/handlers/main.yml",
            "- name: h\n  shell: echo hi\n  listen: [x]\n",
        ),
    ]);
    assert_error(&ds, "`registr`", "roles/r/tasks/main.yml", 3, 3);
    assert_error(
        &ds,
        "unknown role meta keyword `dependences`",
        "roles/r/meta/main.yml",
        1,
        1,
    );
    assert_eq!(ds.len(), 2);
}

#[test]
fn register_must_be_a_name_not_a_yaml_boolean() {
    let ds = errors(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - command: echo\n      register: off\n    - command: echo\n      register: 1bad\n",
    )]);
    let d = assert_error(&ds, "`register` needs a variable name", "site.yml", 4, 17);
    assert!(d.help.as_deref().unwrap_or("").contains("quote"), "{d}");
    assert_error(
        &ds,
        "`1bad` is not a valid variable name",
        "site.yml",
        6,
        17,
    );
    let pb = load(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - command: echo\n      register: \"off\"\n",
    )]);
    assert_eq!(task(&play(&pb).tasks[0]).register.as_deref(), Some("off"));
}

#[test]
fn async_on_modules_strata_cannot_detach_loads_and_strict_refuses_it() {
    const BOOK: &str = "- hosts: all\n  tasks:\n    - file: path=/x state=touch\n      async: 60\n      poll: 5\n    - file: path=/y state=touch\n      async: x\n";
    // Without --strict only the ill-typed value is an error: the `file` task with `async`
    // loads, with a warning, and fails where it runs.
    let ds = errors(&[("site.yml", BOOK)]);
    assert_eq!(ds.len(), 1, "{ds:?}");
    let pb = load(&[(
        "site.yml",
        &BOOK[..BOOK.find("    - file: path=/y").unwrap()],
    )]);
    let w = super::refused::warnings(&[pb]);
    assert!(
        w.len() == 1 && w[0].contains("strata does not run `file` as an async job"),
        "{w:?}"
    );
    let dir = tree(&[("site.yml", BOOK)]);
    let opts = LoadOptions {
        strict: true,
        ..Default::default()
    };
    let ds = load_opts(&dir, &opts).expect_err("--strict refuses it");
    let d = assert_error(
        &ds,
        "strata does not run `file` as an async job",
        "site.yml",
        4,
        14,
    );
    assert!(d.message.contains("`command` and `shell`"), "{d}");
    assert_error(
        &ds,
        "`async` must be a non-negative integer",
        "site.yml",
        7,
        14,
    );
    // command and shell run as jobs; copy fails when it runs, as Ansible's action does; a
    // templated `async` or `async: 0` is decided when the task runs.
    let pb = load(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - command: sleep 1\n      async: 60\n      poll: 0\n    - copy: content=x dest=/x\n      async: 10\n    - file: path=/x\n      async: \"{{ n }}\"\n    - file: path=/x\n      async: 0\n    - ansible.builtin.shell: echo\n      poll: 3\n",
    )]);
    let tasks = &play(&pb).tasks;
    let a = task(&tasks[0]).async_.clone().expect("async");
    assert_eq!(
        (a.limit, a.poll, a.written.as_str()),
        (IntKw::Int(60), Some(IntKw::Int(0)), "command")
    );
    assert_eq!(task(&tasks[1]).async_.as_ref().unwrap().written, "copy");
    assert!(matches!(
        task(&tasks[2]).async_.as_ref().unwrap().limit,
        IntKw::Template(_)
    ));
    // `poll` without `async` is ignored, as Ansible ignores it.
    assert!(task(&tasks[4]).async_.is_none());
}
