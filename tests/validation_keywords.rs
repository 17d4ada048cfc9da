//! Bad delegation and play/task keywords (`order`, `throttle`, `timeout`,
//! `delegate_facts`, `ignore_unreachable`, `action`/`local_action`, `vars_prompt`) are
//! reported located, with exit 5, before any host is contacted. The inventory points at a
//! TCP listener that counts connections: it must see none.

mod common;

use common::validation::Case;

#[test]
fn bad_order() {
    Case::new("order").expect_error_text(
        "- hosts: all\n  order: bogus\n  tasks:\n    - debug: msg=x\n",
        2,
        10,
        "Invalid 'order' specified for inventory hosts: bogus",
    );
}

#[test]
fn bad_throttle_and_timeout() {
    let c = Case::new("throttle");
    c.expect_error_text(
        "- hosts: all\n  tasks:\n    - debug: msg=x\n      throttle: x\n",
        4,
        17,
        "`throttle` must be a non-negative integer or a template, found `x`",
    );
    c.expect_error_text(
        "- hosts: all\n  tasks:\n    - block:\n        - debug: msg=x\n      timeout: soon\n",
        5,
        16,
        "`timeout` must be a non-negative integer",
    );
    c.expect_error_text(
        "- hosts: all\n  throttle: -2\n  tasks:\n    - debug: msg=x\n",
        2,
        13,
        "`throttle` must be a non-negative integer",
    );
}

#[test]
fn bad_delegation_keywords() {
    let c = Case::new("delegate");
    c.expect_error_text(
        "- hosts: all\n  tasks:\n    - debug: msg=x\n      delegate_to: web1\n      delegate_facts: maybe\n",
        5,
        23,
        "`delegate_facts` must be a boolean",
    );
    c.expect_error_text(
        "- hosts: all\n  tasks:\n    - debug: msg=x\n      ignore_unreachable: perhaps\n",
        4,
        27,
        "`ignore_unreachable` must be a boolean",
    );
    c.expect_error_text(
        "- hosts: all\n  tasks:\n    - debug: msg=x\n      delegate_to: \"\"\n",
        4,
        21,
        "`delegate_to` is empty",
    );
}

#[test]
fn bad_local_action() {
    let c = Case::new("local-action");
    // The module's name and its arguments are located inside the string.
    c.expect_error_text(
        "- hosts: all\n  tasks:\n    - local_action: copyy src=a dest=b\n",
        3,
        21,
        "copyy",
    );
    c.expect_error_text(
        "- hosts: all\n  tasks:\n    - local_action: copy content=x dest=/tmp/x colour=red\n",
        3,
        48,
        "colour",
    );
    c.expect_error_text(
        "- hosts: all\n  tasks:\n    - local_action:\n        module: copy\n        colour: red\n        dest: /tmp/x\n",
        5,
        9,
        "colour",
    );
    c.expect_error_text(
        "- hosts: all\n  tasks:\n    - action: ping\n      local_action: ping\n",
        4,
        7,
        "mutually exclusive",
    );
    c.expect_error_text(
        "- hosts: all\n  tasks:\n    - local_action:\n        path: /tmp\n",
        4,
        9,
        "needs a `module` key",
    );
}

#[test]
fn vars_prompt_needs_a_terminal_or_extra_vars() {
    let c = Case::new("prompt");
    c.expect_error_text(
        "- hosts: all\n  gather_facts: false\n  vars_prompt:\n    - name: who\n      prompt: Who are you\n  tasks:\n    - debug: msg={{ who }}\n",
        4,
        7,
        "`vars_prompt` asks for `who`, but stdin is not a terminal",
    );
    c.expect_error_text(
        "- hosts: all\n  vars_prompt:\n    - name: pw\n      encrypt: sha512_crypt\n  tasks: []\n",
        4,
        7,
        "`vars_prompt` option `encrypt` is not supported",
    );
    // `-e` answers the prompt; a default answers it without a terminal, with Ansible's
    // warning. `debug` needs no connection, so no host is contacted either way.
    let p = c.file("p.yml", 
        "- hosts: all\n  gather_facts: false\n  vars_prompt:\n    - name: who\n      prompt: Who are you\n    - name: color\n      default: blue\n      private: false\n  tasks:\n    - debug: msg=\"{{ who }} likes {{ color }}\"\n",
    );
    let (code, out, err) = c.run_full(&c.dir.join("inv.yml"), &p, &["-e", "who=ann"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("ann likes blue"), "{out}");
    assert!(
        err.contains("Not prompting as we are not in interactive mode"),
        "{err}"
    );
    c.assert_no_host_contacted();
}

#[test]
fn action_and_local_action_load() {
    let c = Case::new("action-ok");
    let p = c.file("p.yml", 
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - action: debug msg=hello\n    - local_action: command echo local\n      register: r\n      changed_when: false\n    - debug: msg=\"{{ r.stdout }}\"\n",
    );
    let (code, out, err) = c.run_full(&c.dir.join("inv.yml"), &p, &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("hello"), "{out}");
    assert!(out.contains("\"local\""), "{out}");
    assert!(out.contains("target -> localhost"), "{out}");
    c.assert_no_host_contacted();
}
