//! No secret on a target's command line. Tasks carry a marker secret in every way a playbook
//! hands a module private data (`environment:`, `get_url`/`uri` passwords, a `uri` body, a
//! `user` password hash, `copy` content, a `command`'s `stdin`, the SSH and become
//! passwords) while a sampler on the host reads every `/proc/*/cmdline` in a tight loop. The
//! marker must never show there, nor in the host's journal (where sudo logs its `COMMAND=`).
//! A control token deliberately put in short-lived processes' arguments proves the sampler
//! sees them. With `no_log: true` the marker appears nowhere in strata's output either, at
//! `-vvv` and in `--json`.

mod common;

use std::time::{Duration, Instant};

use common::Lab;
use common::http::HttpServer;

/// Letters and digits only, and at most 16 characters, so it can also be a crypt salt: the
/// password hash then contains it verbatim.
const MARKER: &str = "Zq7Mark9Sec4ret";
const CONTROL: &str = "Ctl5Token8Seen";

/// Reads every process's arguments until told to stop; records lines holding either token.
/// The tokens arrive hex-encoded, so the sampler's own arguments hold neither.
const SAMPLER: &str = r#"
import os, sys
m = bytes.fromhex(sys.argv[1]); c = bytes.fromhex(sys.argv[2])
hits = open('/tmp/strata-sampler.hits', 'wb'); n = 0
open('/tmp/strata-sampler.ready', 'w').close()
while not os.path.exists('/tmp/strata-sampler.stop'):
    for p in os.listdir('/proc'):
        if not p.isdigit():
            continue
        try:
            with open('/proc/' + p + '/cmdline', 'rb') as f:
                a = f.read()
        except OSError:
            continue
        n += 1
        if m in a or c in a:
            hits.write(a.replace(b'\0', b' ') + b'\n'); hits.flush()
open('/tmp/strata-sampler.done', 'w').write(str(n))
"#;

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn crypt_sha512(password: &str, salt: &str) -> String {
    let out = std::process::Command::new("openssl")
        .args(["passwd", "-6", "-salt", salt, password])
        .output()
        .expect("openssl");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn book(no_log: bool) -> String {
    let no_log = if no_log { "\n  no_log: true" } else { "" };
    format!(
        r#"- hosts: all
  gather_facts: false{no_log}
  tasks:
    - name: a token in the environment
      command: printenv TOKEN
      environment:
        TOKEN: "{{{{ marker }}}}"
      changed_when: false
    - name: a download with a password
      get_url:
        url: "{{{{ base }}}}/echo"
        dest: /tmp/got-echo
        url_username: u
        url_password: "{{{{ marker }}}}"
        force_basic_auth: true
        force: true
    - name: a request with a password and a body
      uri:
        url: "{{{{ base }}}}/echo"
        method: POST
        body: "body {{{{ marker }}}}"
        url_username: u
        url_password: "{{{{ marker }}}}"
        force_basic_auth: true
    - name: an account with a password hash
      user:
        name: deploy
        password: "{{{{ hash }}}}"
        shell: /bin/sh
    - name: deploy may sudo with its password
      copy:
        dest: /etc/sudoers.d/deploy
        content: "deploy ALL=(ALL) ALL\n"
        mode: "0440"
    - name: file content
      copy:
        dest: /tmp/secret.txt
        content: "{{{{ marker }}}}"
    - name: a command fed on stdin
      command: cat
      args:
        stdin: "{{{{ marker }}}}"
      changed_when: false
    - name: a checkout whose URL carries a token
      git:
        repo: "{{{{ gitrepo }}}}"
        dest: /tmp/checkout
    - name: an ephemeral mount whose options carry a password
      mount:
        path: /mnt/secret
        src: tmpfs
        fstype: tmpfs
        opts: "size=1m,x-strata-pass={{{{ marker }}}}"
        state: ephemeral
    - name: a remount with such options
      mount:
        path: /mnt/secret
        opts: "size=2m,x-strata-pass={{{{ marker }}}}"
        state: remounted
    - name: the remount took the options
      command: findmnt -no OPTIONS /mnt/secret
      register: opts
      changed_when: false
      failed_when: "'size=2048k' not in opts.stdout"
    - name: the mount goes away again
      mount:
        path: /mnt/secret
        state: unmounted
    - name: the control token, in short-lived processes' arguments
      shell: "for i in $(seq 200); do /bin/echo {{{{ control }}}} >/dev/null; done; /bin/sh -c 'sleep 0.5' {{{{ control }}}}"
      changed_when: false

- hosts: all
  gather_facts: false{no_log}
  vars:
    ansible_user: deploy
    ansible_password: "{{{{ password }}}}"
    ansible_become_password: "{{{{ password }}}}"
  tasks:
    - name: sudo with a password
      command: id -un
      become: true
      register: who
      changed_when: false
    - name: the password gave root
      assert:
        that: who.stdout == "root"
"#
    )
}

#[test]
fn no_secret_reaches_a_command_line_a_log_or_no_log_output() {
    let lab = Lab::up("secrets", 1, true);
    let h = lab.hosts[0].name.clone();
    let www = lab.state.dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    let srv = HttpServer::start(&lab.state.gateway.to_string(), &www);
    let base = srv.url("").trim_end_matches('/').to_string();
    let password = format!("pw-{MARKER}");
    let hash = crypt_sha512(&password, MARKER);
    assert!(hash.contains(MARKER), "{hash}");
    let vars = [
        format!("marker={MARKER}"),
        format!("control={CONTROL}"),
        format!("base={base}"),
        format!("hash={hash}"),
        format!("password={password}"),
        format!("gitrepo={}", git_repo(&www, &base)),
    ];
    let args: Vec<&str> = vars.iter().flat_map(|v| ["-e", v.as_str()]).collect();

    lab.ssh_ok(&h, "rm -f /tmp/strata-sampler.*");
    let sampler = format!(
        "setsid -f python3 -c {} {} {} </dev/null >/dev/null 2>&1",
        strata::shell::sh_quote(SAMPLER),
        hex(MARKER),
        hex(CONTROL)
    );
    lab.ssh_ok(&h, &sampler);
    wait_for_file(&lab, &h, "/tmp/strata-sampler.ready");

    let run = lab.playbook(&book(false)).args(&args).run();
    run.expect_exit(0);
    let env_out = &run.results(&h, "a token in the environment")[0];
    assert!(env_out.to_string().contains(MARKER), "the task did not run");
    let checkout = lab.ssh_ok(
        &h,
        "cat /tmp/checkout/hello.txt; cat /tmp/checkout/.git/config",
    );
    assert!(
        checkout.starts_with("hello") && !checkout.contains(MARKER),
        "the checkout is missing or keeps the token: {checkout}"
    );
    let sent = srv.requests();
    assert!(
        sent.iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains(MARKER)),
        "uri sent no body"
    );

    lab.ssh_ok(&h, "touch /tmp/strata-sampler.stop");
    wait_for_file(&lab, &h, "/tmp/strata-sampler.done");
    let sweeps: u64 = lab
        .ssh_ok(&h, "cat /tmp/strata-sampler.done")
        .parse()
        .unwrap();
    let hits = lab.ssh_raw(&h, "cat /tmp/strata-sampler.hits");
    let leaked: Vec<&str> = hits.lines().filter(|l| l.contains(MARKER)).collect();
    assert!(leaked.is_empty(), "the secret in argv: {leaked:#?}");
    let echoes = hits
        .lines()
        .filter(|l| l.starts_with("/bin/echo ") && l.contains(CONTROL))
        .count();
    assert!(
        echoes > 0 && hits.contains(&format!("sleep 0.5 {CONTROL}")),
        "the sampler missed the control processes ({sweeps} reads): {hits}"
    );

    // The journal holds sshd's and sudo's logs (sudo's COMMAND= line included).
    let sudo_lines = lab.ssh_ok(&h, "journalctl --no-pager -q | grep -c 'COMMAND=' || true");
    assert_ne!(
        sudo_lines, "0",
        "sudo logged nothing: the check below would be vacuous"
    );
    let pattern = format!(
        "{}[{}]",
        &MARKER[..MARKER.len() - 1],
        &MARKER[MARKER.len() - 1..]
    );
    let journal = lab.ssh_ok(
        &h,
        &format!("journalctl --no-pager -q | grep -c '{pattern}' || true"),
    );
    assert_eq!(journal, "0", "the secret is in the host's journal");

    // no_log: nothing of the secret in strata's own output, however verbose.
    for extra in [&["-vvv"][..], &[][..]] {
        let mut a = args.clone();
        a.extend_from_slice(extra);
        let run = lab.playbook(&book(true)).args(&a).run();
        run.expect_exit(0);
        let all = format!("{}\n{}", run.dump(), run.stderr);
        let events = serde_json::to_string(&run.events).unwrap();
        assert!(
            !all.contains(MARKER) && !events.contains(MARKER),
            "no_log output shows the secret ({extra:?}):\n{all}\n{events}"
        );
    }

    // A wrong become password is a clear task failure, not a hang or a bare rc. sudo's
    // cached credentials from the runs above would let any password through.
    lab.ssh_ok(&h, "rm -rf /run/sudo/ts");
    let wrong = lab
        .playbook(
            "- hosts: all\n  gather_facts: false\n  vars:\n    ansible_user: deploy\n    \
             ansible_password: \"{{ password }}\"\n    ansible_become_password: nope\n  \
             tasks:\n    - name: sudo with a wrong password\n      command: id -un\n      \
             become: true\n",
        )
        .args(&args)
        .run();
    wrong.expect_exit(2);
    let r = &wrong.results(&h, "sudo with a wrong password")[0];
    assert!(
        r.to_string().contains("Incorrect sudo password"),
        "{}",
        wrong.dump()
    );
    lab.ssh_ok(&h, "rm -rf /run/sudo/ts");
    ask_become_pass(&lab, &args, &password);
}

/// A repository served over git's dumb HTTP protocol behind Basic auth (`u`, the marker), and
/// the URL that carries those credentials, as operators write it for a private repository.
fn git_repo(www: &std::path::Path, base: &str) -> String {
    let work = www.join("../git-work");
    let git = |dir: &std::path::Path, args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("hello.txt"), "hello\n").unwrap();
    git(&work, &["add", "hello.txt"]);
    git(&work, &["commit", "-q", "-m", "hello"]);
    git(
        www,
        &["clone", "-q", "--bare", work.to_str().unwrap(), "repo.git"],
    );
    git(&www.join("repo.git"), &["update-server-info"]);
    std::fs::write(www.join(".login"), format!("u:{MARKER}")).unwrap();
    let (scheme, rest) = base.split_once("://").unwrap();
    format!("{scheme}://u:{MARKER}@{rest}/auth-file/repo.git")
}

/// `-K`: the become password typed at the prompt (piped here, as a script would) stands in
/// for `ansible_become_password`, and never shows in the output.
fn ask_become_pass(lab: &Lab, args: &[&str], password: &str) {
    use std::io::Write;
    let book = lab.state.dir.join("ask-become.yml");
    std::fs::write(
        &book,
        "- hosts: all\n  gather_facts: false\n  vars:\n    ansible_user: deploy\n    \
         ansible_password: \"{{ password }}\"\n  tasks:\n    - name: sudo with the typed password\n      \
         command: id -un\n      become: true\n      register: who\n    - assert:\n        \
         that: who.stdout == 'root'\n",
    )
    .unwrap();
    let inv = lab.inventory.to_string_lossy().into_owned();
    let book = book.to_string_lossy().into_owned();
    let mut all = vec!["playbook", "--json", "-K", "-i", &inv];
    all.extend_from_slice(args);
    all.push(&book);
    let mut child = common::strata_command(None, &all)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("BECOME password"), "{text}");
    assert!(!text.contains(password), "{text}");
}

fn wait_for_file(lab: &Lab, host: &str, path: &str) {
    let until = Instant::now() + Duration::from_secs(20);
    while lab.ssh(host, &format!("test -e {path}")).0 != 0 {
        assert!(Instant::now() < until, "{path} never appeared on {host}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
