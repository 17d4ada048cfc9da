//! Ad-hoc commands against `ansible` (issue 16, "Ad-hoc vs `ansible`"): the same commands
//! run by ansible-core 2.19's `ansible` on one lab and by `strata run` on another with the
//! same host names; stdout, exit codes and host state must match. Output is compared per
//! host (a host's result with the error block before it), sorted by host, after
//! normalising what differs by design or by the clock:
//!
//! - `ansible_facts.discovered_interpreter_python` is dropped: strata runs no Python, so it
//!   discovers none (listed in the README);
//! - timings (`start`, `end`, `delta`) are `<t>`;
//! - an unreachable host's message is `<unreachable>`, and its `[ERROR]` block is one line:
//!   they are the SSH client's own wording (Ansible's block also shows its exception chain);
//! - `copy`'s `src` and `path` are dropped (Ansible's `src` is its remote temporary file, and
//!   an unchanged copy reports its file module's `path` instead; strata's copy reports `src`),
//!   and so is `md5sum` (strata's copy returns only the SHA-1 `checksum`).
//!
//! Both labs, and the small stack over the strata one, are shared by every case.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use common::Lab;
use common::stack::Stack;
use strata::reporter::py_json;

fn ansible_bin() -> PathBuf {
    let venv = Path::new("/opt/strata-venv/bin/ansible");
    if venv.exists() {
        venv.to_path_buf()
    } else {
        PathBuf::from("ansible")
    }
}

/// One record of ad-hoc output: a host's result line(s).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Record {
    host: String,
    text: String,
}

const STATES: &[&str] = &[
    "CHANGED",
    "SUCCESS",
    "FAILED",
    "FAILED!",
    "UNREACHABLE!",
    "UNREACHABLE!:",
    "SKIPPED",
];

/// The host of a result line: `host | STATE ...`.
fn record_host(line: &str) -> Option<&str> {
    let (host, rest) = line.split_once(" | ")?;
    let state = rest.split([' ', '\n']).next()?;
    (!host.contains(' ') && STATES.contains(&state)).then_some(host)
}

/// A result's JSON with the deliberate and clock differences normalised.
fn normalise_json(v: &mut Value) {
    let Value::Object(m) = v else { return };
    if let Some(Value::Object(f)) = m.get_mut("ansible_facts") {
        f.remove("discovered_interpreter_python");
        if f.is_empty() {
            m.remove("ansible_facts");
        }
    }
    for k in ["start", "end", "delta"] {
        if m.contains_key(k) {
            m.insert(k.into(), "<t>".into());
        }
    }
    if m.get("unreachable") == Some(&Value::Bool(true)) {
        m.insert("msg".into(), "<unreachable>".into());
    }
    if m.contains_key("checksum") && m.contains_key("dest") {
        m.remove("md5sum");
        m.remove("src");
        m.remove("path");
    }
}

/// Normalises one line (a `-o` line with JSON, or an `[ERROR]` line of an unreachable host).
fn normalise_line(line: &str) -> String {
    if let Some((head, json)) = line.split_once(" => ")
        && json.starts_with('{')
        && let Ok(mut v) = serde_json::from_str::<Value>(json)
    {
        normalise_json(&mut v);
        return format!("{head} => {}", py_json(&v, Some(0)).replace('\n', ""));
    }
    if let Some((head, _)) = line.split_once(" | UNREACHABLE!: ") {
        return format!("{head} | UNREACHABLE!: <unreachable>");
    }
    if line.starts_with("[ERROR]: Task failed: ") && !line.contains("Module failed") {
        return "[ERROR]: Task failed: <unreachable>".into();
    }
    line.to_string()
}

/// Splits stdout into records, normalised, sorted by host (each host's own records keep
/// their order), and the `[ERROR]` blocks printed between them, sorted: a block is printed
/// once per message, before whichever host failed that way first.
fn records(stdout: &str) -> (Vec<Record>, Vec<String>) {
    let lines: Vec<&str> = stdout.lines().collect();
    let mut out = Vec::new();
    let mut blocks = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let Some(host) = record_host(line) else {
            pending.push(normalise_line(line));
            i += 1;
            continue;
        };
        let block = std::mem::take(&mut pending).join("\n");
        if block.starts_with("[ERROR]: Task failed: <unreachable>") {
            // Its layout follows the SSH client's exception chain.
            blocks.push("[ERROR]: <unreachable>".to_string());
        } else if !block.trim().is_empty() {
            blocks.push(block);
        }
        let mut text = Vec::new();
        if line.ends_with(" => {") {
            // Minimal JSON: up to the closing brace at the start of a line.
            let mut json = String::from("{");
            i += 1;
            while i < lines.len() && lines[i] != "}" {
                json.push_str(lines[i]);
                json.push('\n');
                i += 1;
            }
            json.push('}');
            let mut v: Value = serde_json::from_str(&json)
                .unwrap_or_else(|e| panic!("not JSON ({e}) after {line:?}: {json}"));
            normalise_json(&mut v);
            let head = line.trim_end_matches('{');
            text.push(format!("{head}{}", py_json(&v, Some(4))));
            i += 1;
        } else if line.ends_with(">>") {
            // Command output: up to the next record or error block.
            text.push(line.to_string());
            i += 1;
            while i < lines.len()
                && record_host(lines[i]).is_none()
                && !lines[i].starts_with("[ERROR]: ")
            {
                text.push(lines[i].to_string());
                i += 1;
            }
        } else {
            text.push(normalise_line(line));
            i += 1;
        }
        out.push(Record {
            host: host.to_string(),
            text: text.join("\n"),
        });
    }
    assert!(
        pending.iter().all(|l| l.trim().is_empty()),
        "output after the last result: {pending:?}\n{stdout}"
    );
    out.sort_by(|a, b| a.host.cmp(&b.host));
    blocks.sort();
    (out, blocks)
}

struct Pair {
    ansible: Lab,
    strata: Lab,
    stack: Stack,
    work: PathBuf,
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

impl Pair {
    fn ansible(&self, inventories: &[&Path], args: &[&str]) -> Output {
        let mut cmd = Command::new(ansible_bin());
        for i in inventories {
            cmd.arg("-i").arg(i);
        }
        cmd.args(args)
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_PIPELINING", "1")
            .env("ANSIBLE_DEPRECATION_WARNINGS", "0")
            .env("ANSIBLE_LOCAL_TEMP", self.work.join("ansible-tmp"))
            .current_dir(&self.work)
            .output()
            .expect("ansible must be installed (tests/run installs it)")
    }

    fn strata(&self, source: &[&str], args: &[&str]) -> Output {
        let mut all = vec!["run"];
        all.extend_from_slice(source);
        all.extend_from_slice(args);
        common::strata_command(Some(&self.work), &all)
            .output()
            .expect("cannot run strata")
    }

    /// Runs `args` with both tools, on `ansible`'s and `strata`'s inventory, and requires the
    /// same exit code (`code`) and the same normalised records.
    fn same_with(
        &self,
        a_inv: &[&Path],
        s_source: &[&str],
        args: &[&str],
        s_args: &[&str],
        code: i32,
    ) {
        let a = self.ansible(a_inv, args);
        let s = self.strata(s_source, s_args);
        assert_eq!(
            a.status.code(),
            Some(code),
            "ansible {args:?}\n{}",
            show(&a)
        );
        assert_eq!(
            s.status.code(),
            Some(code),
            "strata run {s_args:?}\n{}",
            show(&s)
        );
        let (ra, rs) = (
            records(&String::from_utf8_lossy(&a.stdout)),
            records(&String::from_utf8_lossy(&s.stdout)),
        );
        assert!(
            !ra.0.is_empty(),
            "ansible printed no result for {args:?}\n{}",
            show(&a)
        );
        assert_eq!(
            ra,
            rs,
            "{args:?}: outputs differ\nansible: {}\nstrata: {}",
            show(&a),
            show(&s)
        );
    }

    fn same(&self, args: &[&str], code: i32) {
        let (a, s) = (&self.ansible.inventory, &self.strata.inventory);
        let s = ["-i", s.to_str().unwrap()];
        self.same_with(&[a], &s, args, args, code);
    }
}

/// What a host's copy left: mode, owner and content.
fn copied(lab: &Lab, host: &str) -> String {
    lab.ssh_raw(
        host,
        "stat -c '%a %U %G' /tmp/adhoc-copy && cat /tmp/adhoc-copy",
    )
}

#[test]
fn adhoc_output_exit_codes_and_state_match_ansible() {
    let ansible = Lab::up("adhoc-ansible", 3, false);
    let strata = Lab::up("adhoc-strata", 3, false);
    let work = strata.state.dir.join("adhoc-work");
    std::fs::create_dir_all(&work).unwrap();
    // A stack over the strata lab: layers `web` (lab01, lab02) and `db` (lab03), no roles.
    let stack = Stack::existing(&work, &work.join("stack.yml"));
    std::fs::copy(&strata.inventory, work.join("lab.yml")).unwrap();
    stack.groups(&[("web", &["lab01", "lab02"]), ("db", &["lab03"])], &[]);
    stack.write(
        "stack.yml",
        "name: adhoc\ninstances:\n  inventory: [lab.yml, groups.yml]\nattributes:\n  greeting: hello\n\
         layers:\n  web:\n    name: Web\n    roles: []\n    attributes: {greeting: hi-web}\n  db:\n    name: Database\n    roles: []\n",
    );
    let p = Pair {
        ansible,
        strata,
        stack,
        work,
    };
    let lives = "lab01:lab02";

    // command (the default module), shell with stderr, a failing command.
    p.same(&[lives, "-a", "echo hi"], 0);
    p.same(&[lives, "-m", "shell", "-a", "echo out; echo err >&2"], 0);
    p.same(&[lives, "-a", "ls /nonexistent"], 2);
    p.same(&[lives, "-m", "shell", "-a", "printf 'a\\nb'; exit 3"], 2);
    // ping, and a module failing with JSON output.
    p.same(&["all", "-m", "ping"], 0);
    p.same(
        &[lives, "-m", "file", "-a", "path=/nonexistent/x state=file"],
        2,
    );
    // copy: changed, then unchanged, and the same file on the hosts.
    let copy = [
        lives,
        "-m",
        "copy",
        "-a",
        "content='hello\\n' dest=/tmp/adhoc-copy mode=0640",
    ];
    p.same(&copy, 0);
    p.same(&copy, 0);
    for h in ["lab01", "lab02"] {
        assert_eq!(copied(&p.ansible, h), copied(&p.strata, h), "{h}");
        assert_eq!(copied(&p.strata, h), "640 root root\nhello\n", "{h}");
    }
    // setup with a filter.
    p.same(&[lives, "-m", "setup", "-a", "filter=ansible_hostname"], 0);
    // become another user.
    p.same(&[lives, "-b", "--become-user", "nobody", "-a", "whoami"], 0);
    // One line per host.
    p.same(&[lives, "-o", "-m", "shell", "-a", "echo a; echo b"], 0);
    p.same(&[lives, "-o", "-m", "ping"], 0);
    p.same(&[lives, "-o", "-a", "ls /nonexistent"], 2);
    p.same(
        &[
            lives,
            "-o",
            "-m",
            "file",
            "-a",
            "path=/nonexistent/x state=file",
        ],
        2,
    );

    // A layer pattern on the stack's online instances, with the stack's variables; Ansible
    // gets the same groups from the stack's group file and the values as literals.
    let o = p.stack.run(&["sync"]);
    assert_eq!(o.status.code(), Some(0), "sync\n{}", show(&o));
    let groups = p.work.join("groups.yml");
    let stack_file = p.work.join("stack.yml");
    p.same_with(
        &[&p.ansible.inventory, &groups],
        &["-s", stack_file.to_str().unwrap()],
        &["web", "-m", "shell", "-a", "echo hi-web web adhoc"],
        &[
            "web",
            "-m",
            "shell",
            "-a",
            "echo {{ greeting }} {{ stack.instance.layers | join(',') }} {{ stack.event }}",
        ],
        0,
    );
    p.same_with(
        &[&p.ansible.inventory, &groups],
        &["-s", stack_file.to_str().unwrap()],
        &["db:web", "-m", "ping", "-o"],
        &["db:web", "-m", "ping", "-o"],
        0,
    );

    // --tree: one file per host, the same JSON.
    let (ta, ts) = (p.work.join("tree-ansible"), p.work.join("tree-strata"));
    let a = p.ansible(
        &[&p.ansible.inventory],
        &[lives, "-m", "ping", "-t", ta.to_str().unwrap()],
    );
    let s = p.strata(
        &["-i", p.strata.inventory.to_str().unwrap()],
        &[lives, "-m", "ping", "-t", ts.to_str().unwrap()],
    );
    assert_eq!(
        (a.status.code(), s.status.code()),
        (Some(0), Some(0)),
        "{}\n{}",
        show(&a),
        show(&s)
    );
    for h in ["lab01", "lab02"] {
        let read = |d: &Path| {
            let mut v: Value =
                serde_json::from_str(&std::fs::read_to_string(d.join(h)).unwrap()).unwrap();
            normalise_json(&mut v);
            v
        };
        assert_eq!(read(&ta), read(&ts), "tree file of {h}");
    }

    // An unreachable host: exit 4, in both layouts.
    p.ansible.stop_host("lab03");
    p.strata.stop_host("lab03");
    p.same(&["all", "-m", "ping"], 4);
    p.same(&["all", "-o", "-a", "true"], 4);
    // Unreachable wins over failed, as in Ansible's ad-hoc command.
    p.same(&["all", "-a", "ls /nonexistent"], 4);

    // Bad input: nothing runs, exit 5 (Ansible: 1 for an unknown module, 5 for a missing
    // command), and the error is located.
    let s = p.strata(
        &["-i", p.strata.inventory.to_str().unwrap()],
        &["all", "-m", "nosuch", "-a", "x=1"],
    );
    assert_eq!(s.status.code(), Some(5), "{}", show(&s));
    assert!(
        String::from_utf8_lossy(&s.stderr).contains("unknown module or keyword `nosuch`"),
        "{}",
        show(&s)
    );
    let s = p.strata(
        &["-i", p.strata.inventory.to_str().unwrap()],
        &["all", "-m", "copy", "-a", "dest=/tmp/x bogus=1"],
    );
    assert_eq!(s.status.code(), Some(5), "{}", show(&s));
    assert!(
        String::from_utf8_lossy(&s.stderr).contains("<-a>:1:13"),
        "{}",
        show(&s)
    );
}
