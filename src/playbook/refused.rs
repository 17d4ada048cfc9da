//! Tasks whose module Ansible knows and strata does not implement (`yum`, `seboolean`...).
//! The loader keeps them (`task.rs`) so that a playbook written for several systems loads on
//! Debian hosts; the executor fails such a task only on a host where it actually runs
//! (after `when`, tags and loops), with [`runtime_message`]. Before the run, every such task
//! is named once in a warning ([`warnings`], which the run sends to the reporter); `--strict`
//! makes each a load-time error instead ([`strict_error`]).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::loader::{Loader, Scope};
use super::model::{Handler, IntKw, Item, Playbook, Task};
use super::module_table::{AsyncSupport, Known, Refusal, async_refusal, async_support, reason};
use super::task::TaskKw;
use crate::diagnostic::{Diagnostic, Span};
use crate::yaml::Node;

/// `` `yum` (ansible.builtin.dnf) ``: the name as written, and what Ansible would run when
/// that differs.
fn what(r: &Refusal) -> String {
    let written = r
        .name
        .strip_prefix("ansible.legacy.")
        .map(|s| format!("ansible.builtin.{s}"))
        .unwrap_or_else(|| r.name.clone());
    if written == r.fqcn || format!("ansible.builtin.{}", r.name) == r.fqcn {
        format!("`{}`", r.name)
    } else {
        format!("`{}` ({})", r.name, r.fqcn)
    }
}

fn why(r: &Refusal) -> &'static str {
    r.reason.unwrap_or("strata does not implement it yet")
}

/// The `--strict` error at the module key: the load-time refusal of earlier versions, with
/// the reason.
pub fn strict_error(key: &Node, r: &Refusal) -> Diagnostic {
    key.error(format!("module {}: strata does not implement it", what(r)))
        .label("refused by --strict")
        .note(why(r))
        .help(
            "without --strict the playbook loads, and this task fails only on hosts where it runs",
        )
}

/// What the loader makes of a task key that is neither a loader action nor a module strata
/// implements: `Ok(Some)` a refused task (loaded, failing where it runs), `Ok(None)` no
/// Ansible module at all (the caller's "unknown module" error), `Err` an error recorded here:
/// a module Ansible removed (with ansible-core's message), or any refusal under `--strict`.
pub(super) fn classify(ld: &mut Loader, key: &Node, name: &str) -> Result<Option<Refusal>, ()> {
    match (ld.modules.known)(name) {
        Some(Known::Removed(msg)) => {
            ld.err(key.error(msg).label("removed from Ansible"));
            Err(())
        }
        Some(Known::Module(fqcn)) => {
            let r = Refusal {
                name: name.to_string(),
                fqcn,
                reason: reason(fqcn),
            };
            if ld.opts.strict {
                ld.err(strict_error(key, &r));
                return Err(());
            }
            Ok(Some(r))
        }
        None => Ok(None),
    }
}

/// A task whose module strata refuses: its arguments are kept as written (a free-form string
/// as `_raw_params`), checked only for Jinja syntax, since there is no spec to check them
/// against; the executor never templates them (`executor/invoke.rs` fails the task first).
pub(super) fn task(
    ld: &mut Loader,
    node: &Node,
    key: &Node,
    value: &Node,
    r: &Refusal,
    kw: TaskKw,
    scope: &Scope,
) -> Task {
    ld.check_tree(value);
    let mut args = match value.to_json() {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => Map::from_iter([("_raw_params".to_string(), other)]),
    };
    if let Some(a) = kw.args {
        ld.check_tree(a);
        if let Value::Object(m) = a.to_json() {
            args.extend(m);
        }
    }
    super::task::loader_task(node, key, &r.name, args, kw, scope)
}

/// The refusal behind a model task, if its module is one strata refuses.
pub fn refusal(t: &Task) -> Option<Refusal> {
    if super::task::LOADER_ACTIONS.contains(&t.action.as_str()) {
        return None;
    }
    crate::modules::known::refusal(&t.action)
}

/// Why a refused task fails on a host where it runs.
pub fn runtime_message(t: &Task, r: &Refusal) -> String {
    format!(
        "strata does not implement the module {} used at {}: {}",
        what(r),
        t.action_span,
        why(r)
    )
}

/// The warning naming one refused task and its location.
pub fn warning(t: &Task, r: &Refusal) -> String {
    format!(
        "{}: task '{}' uses the module {}, which strata does not implement ({}); it fails on \
         any host where it runs (--strict refuses it at load time)",
        t.action_span,
        t.display_name(),
        what(r),
        why(r)
    )
}

/// One warning per refused task of the playbooks (a role's task used twice is named once).
pub fn warnings(playbooks: &[Playbook]) -> Vec<String> {
    let mut w = Walk::default();
    for pb in playbooks {
        for play in &pb.plays {
            for items in [&play.pre_tasks, &play.tasks, &play.post_tasks] {
                w.items(items);
            }
            w.handlers(&play.handlers);
        }
    }
    w.out
}

#[derive(Default)]
struct Walk {
    seen: HashSet<Span>,
    out: Vec<String>,
}

impl Walk {
    fn items(&mut self, items: &[Item]) {
        for i in items {
            match i {
                Item::Task(t) => self.task(t),
                Item::Block(b) => {
                    for part in [&b.block, &b.rescue, &b.always] {
                        self.items(part);
                    }
                }
                Item::IncludeTasks(inc) => {
                    if let Some(items) = &inc.preloaded {
                        self.items(items);
                    }
                }
                Item::IncludeRole(inc) => {
                    if let Some((items, handlers)) = &inc.preloaded {
                        self.items(items);
                        self.handlers(handlers);
                    }
                }
            }
        }
    }

    fn handlers(&mut self, hs: &[Handler]) {
        for h in hs {
            self.task(&h.task);
        }
    }

    fn task(&mut self, t: &Task) {
        if let Some(r) = refusal(t)
            && self.seen.insert(t.action_span.clone())
        {
            self.out.push(warning(t, &r));
        }
        if let Some(a) = &t.async_
            && matches!(a.limit, IntKw::Int(n) if n > 0)
            && async_support(&t.action) == AsyncSupport::NotInStrata
            && self.seen.insert(t.action_span.clone())
        {
            self.out.push(format!(
                "{}: task '{}': {}; it fails on any host where it runs (--strict refuses it at \
                 load time)",
                t.action_span,
                t.display_name(),
                async_refusal(&t.action, &a.written)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::playbook::{LoadOptions, load_playbook};
    use crate::template::Templar;

    const BOOK: &str = "\
- hosts: all
  tasks:
    - name: EPEL
      yum:
        name: epel-release
      when: ansible_os_family == 'RedHat'
    - block:
        - name: httpd may connect
          ansible.posix.seboolean: name=httpd_can_network_connect state=yes persistent=yes
      rescue:
        - firewalld: {service: http, state: enabled}
  handlers:
    - name: reload
      ansible.builtin.yum: name=x
";

    fn book(text: &str) -> PathBuf {
        let dir = crate::scratch::root().join(format!(
            "strata-refused-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("site.yml");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn load(text: &str, strict: bool) -> Result<Playbook, Vec<Diagnostic>> {
        let opts = LoadOptions {
            strict,
            ..Default::default()
        };
        load_playbook(&book(text), &opts, &Templar::new())
    }

    #[test]
    fn known_modules_load_and_are_named_once_with_their_location() {
        let pb = load(BOOK, false).unwrap();
        let w = warnings(&[pb.clone(), pb]);
        assert_eq!(w.len(), 4, "{w:#?}");
        assert!(
            w[0].ends_with(
                "site.yml:4:7: task 'EPEL' uses the module `yum` (ansible.builtin.dnf), which \
                 strata does not implement (dnf/yum is the package manager of RHEL and Fedora; \
                 strata targets Debian and Ubuntu hosts (use `apt` or `package`)); it fails on \
                 any host where it runs (--strict refuses it at load time)"
            ),
            "{}",
            w[0]
        );
        assert!(w[1].contains(
            ":9:11: task 'httpd may connect' uses the module `ansible.posix.seboolean`, which"
        ));
        assert!(w[2].contains(
            ":11:11: task 'firewalld' uses the module `firewalld` (ansible.posix.firewalld)"
        ));
        assert!(w[3].contains(
            ":14:7: task 'reload' uses the module `ansible.builtin.yum` (ansible.builtin.dnf)"
        ));
    }

    #[test]
    fn a_refused_task_keeps_its_arguments_and_fails_with_its_location() {
        let pb = load(BOOK, false).unwrap();
        let Item::Task(t) = &pb.plays[0].tasks[0] else {
            panic!("a task")
        };
        assert_eq!(t.action, "yum");
        assert_eq!(t.args["name"], "epel-release");
        let r = refusal(t).unwrap();
        let m = runtime_message(t, &r);
        assert!(
            m.starts_with(
                "strata does not implement the module `yum` (ansible.builtin.dnf) used at "
            ) && m.contains("site.yml:4:7: dnf/yum is"),
            "{m}"
        );
        let Item::Block(b) = &pb.plays[0].tasks[1] else {
            panic!("a block")
        };
        let Item::Task(t) = &b.block[0] else {
            panic!("a task")
        };
        assert_eq!(
            t.args["_raw_params"],
            "name=httpd_can_network_connect state=yes persistent=yes"
        );
    }

    #[test]
    fn strict_refuses_each_at_load_time_with_the_other_errors() {
        let text = format!("{BOOK}    - name: typo\n      copyy: {{}}\n");
        let ds = load(&text, true).unwrap_err();
        let refused: Vec<String> = ds
            .iter()
            .filter(|d| d.message.contains("strata does not implement"))
            .map(|d| format!("{}:{}", d.span.line, d.span.col))
            .collect();
        assert_eq!(refused, ["4:7", "9:11", "11:11", "14:7"], "{ds:#?}");
        assert!(ds[0].message.contains("`yum` (ansible.builtin.dnf)"));
        assert_eq!(ds[0].label, "refused by --strict");
        let typo = ds.iter().find(|d| d.message.contains("copyy")).unwrap();
        assert_eq!(typo.help.as_deref(), Some("did you mean `copy`?"));
    }

    #[test]
    fn removed_and_unknown_names_stay_load_time_errors() {
        let ds = load("- hosts: all\n  tasks:\n    - include: x.yml\n", false).unwrap_err();
        assert_eq!(ds.len(), 1, "{ds:#?}");
        assert!(
            ds[0]
                .message
                .starts_with("The 'ansible.builtin.include' action plugin has been removed."),
            "{}",
            ds[0].message
        );
        let ds = load("- hosts: all\n  tasks:\n    - yumm: name=x\n", false).unwrap_err();
        assert_eq!(ds[0].message, "unknown module or keyword `yumm`");
        assert_eq!(ds[0].help.as_deref(), Some("did you mean `yum`?"));
        // A collection module needs its collection's name, as in Ansible.
        let ds = load(
            "- hosts: all\n  tasks:\n    - hv_sds_block_user_facts: {}\n",
            false,
        )
        .unwrap_err();
        assert!(ds[0].message.contains("unknown module"), "{ds:#?}");
    }
}
