//! The shell side of the `user` module: one probe script that reads everything the decisions
//! need (passwd and shadow entries, every group, login.defs, home and SSH key state), and one
//! apply script that runs the command, creates a missing home directory and generates the SSH
//! key the way Ansible does, then reads the account back. Results come back as
//! `__strata_KEY=VALUE` lines; command output is hex-encoded so any bytes survive.

use std::collections::HashMap;

use super::plan::{Account, UserRequest};
use crate::modules::accounts::account_db::{Groups, Passwd, Shadow};
use crate::modules::toolkit::atomic_write::unhex;
use crate::shell::sh_quote;

/// Lines of `__strata_KEY=VALUE`, several values per key allowed (`gr`, `ld`).
#[derive(Debug, Default)]
pub struct Reply(HashMap<String, Vec<String>>);

impl Reply {
    pub fn parse(stdout: &[u8]) -> Reply {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for l in String::from_utf8_lossy(stdout).lines() {
            if let Some((k, v)) = l.strip_prefix("__strata_").and_then(|l| l.split_once('=')) {
                m.entry(k.to_string()).or_default().push(v.to_string());
            }
        }
        Reply(m)
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).and_then(|v| v.last()).map(String::as_str)
    }

    pub fn all(&self, k: &str) -> impl Iterator<Item = &str> {
        self.0.get(k).into_iter().flatten().map(String::as_str)
    }

    pub fn has(&self, k: &str) -> bool {
        self.0.contains_key(k)
    }

    /// A hex-encoded value, decoded as is (Ansible returns command output unstripped).
    pub fn text(&self, k: &str) -> String {
        let raw = self.get(k).and_then(unhex).unwrap_or_default();
        String::from_utf8_lossy(&raw).into_owned()
    }
}

/// The SSH key as found under the account's home.
#[derive(Clone, Debug, Default)]
pub struct KeyState {
    pub path: String,
    pub dir_exists: bool,
    pub key_exists: bool,
    pub pub_exists: bool,
    pub public_key: Option<String>,
    pub fingerprint: String,
}

/// The account after (or, in the probe, before) the task, plus what decisions need.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    pub acct: Account,
    pub home_exists: bool,
    pub key: Option<KeyState>,
}

impl Observed {
    pub fn from_reply(r: &Reply) -> Observed {
        let key = r.get("keyfile").map(|p| KeyState {
            path: p.to_string(),
            dir_exists: r.has("sshdir"),
            key_exists: r.has("key"),
            pub_exists: r.has("pubexists"),
            public_key: r
                .has("pubexists")
                .then(|| r.get("pub").unwrap_or_default().trim().to_string()),
            fingerprint: r
                .get("fp")
                .or_else(|| r.get("fperr"))
                .unwrap_or_default()
                .trim()
                .to_string(),
        });
        Observed {
            acct: Account {
                pw: r.get("pw").and_then(Passwd::parse),
                shadow: r.get("sp").and_then(Shadow::parse),
                groups: Groups::parse(r.all("gr")),
            },
            home_exists: r.has("home"),
            key,
        }
    }
}

/// Prints the account (`pw`, `sp`, `home`) and, with `generate_ssh_key`, its key's state.
fn info_snippet(req: &UserRequest) -> String {
    let mut s = String::from(
        "if __pw=$(getent passwd -- \"$__n\"); then\n\
         printf '__strata_pw=%s\\n' \"$__pw\"\n\
         __sp=$(getent shadow -- \"$__n\" 2>/dev/null) && printf '__strata_sp=%s\\n' \"$__sp\"\n\
         __h=$(printf '%s' \"$__pw\" | cut -d: -f6)\n\
         if [ -e \"$__h\" ]; then echo __strata_home=1; fi\n",
    );
    if req.generate_ssh_key {
        s.push_str(&format!(
            "case {rel} in /*) __k={rel};; *) __k=\"$__h/\"{rel};; esac\n\
             printf '__strata_keyfile=%s\\n' \"$__k\"\n\
             if [ -d \"$(dirname -- \"$__k\")\" ]; then echo __strata_sshdir=1; fi\n\
             if [ -e \"$__k.pub\" ]; then echo __strata_pubexists=1; printf '__strata_pub=%s\\n' \"$(tr '\\n' ' ' < \"$__k.pub\")\"; fi\n\
             if [ -e \"$__k\" ]; then echo __strata_key=1\n\
               if __fp=$(ssh-keygen -l -f \"$__k\" 2>/dev/null); then printf '__strata_fp=%s\\n' \"$__fp\"\n\
               else printf '__strata_fperr=%s\\n' \"$(ssh-keygen -l -f \"$__k\" 2>&1 >/dev/null | tr '\\n' ' ')\"; fi\n\
             fi\n",
            rel = sh_quote(&req.ssh_key_file)
        ));
    }
    s.push_str("fi\n");
    s
}

/// The one read-only round trip before any decision.
pub fn probe_script(req: &UserRequest) -> String {
    let mut s = format!(
        "__n={}\nprintf '__strata_host=%s\\n' \"$(uname -n)\"\n{}\
         getent group | sed 's/^/__strata_gr=/'\n\
         if [ -f /etc/login.defs ]; then echo __strata_ldexists=1\n\
           grep -E '^(HOME_MODE|UMASK)[[:space:]]' /etc/login.defs | sed 's/^/__strata_ld=/'; fi\n",
        sh_quote(&req.name),
        info_snippet(req)
    );
    if let Some(h) = &req.home {
        s.push_str(&format!(
            "__w={}\nif [ -d \"$(dirname -- \"$__w\")\" ]; then echo __strata_hparent=1; fi\n\
             if [ -e \"$__w\" ]; then echo __strata_hwant=1; fi\n",
            sh_quote(h)
        ));
    }
    s
}

/// What the apply script should do besides running the command.
pub struct ApplySteps<'a> {
    pub command: Option<&'a [String]>,
    /// Create the requested home (with its parents) before `useradd`, then chown it.
    pub home_before: Option<&'a str>,
    /// After the command: create the home if missing (Ansible's "handle missing homedirs").
    pub ensure_home: bool,
    pub home_mode: Option<u32>,
    /// `ssh_key_comment`, already defaulted.
    pub key_comment: String,
}

/// Runs a command with its exact stdout/stderr (hex) and rc reported; a failure ends the
/// script. Shared with `group`.
pub const RUN_PRELUDE: &str = r#"__e=$(mktemp "${TMPDIR:-/tmp}/.strata.XXXXXX")
__so=$(mktemp "${TMPDIR:-/tmp}/.strata.XXXXXX")
__x() { od -An -v -tx1 | tr -d ' \n'; }
__fail() { printf '__strata_fail=%s\n' "$(printf '%s' "$1" | __x)"; printf '__strata_frc=%s\n' "$2"; rm -f -- "$__e" "$__so"; exit 0; }
__run() {
  "$@" >"$__so" 2>"$__e"; __r=$?
  printf '__strata_out=%s\n' "$(__x < "$__so")"
  printf '__strata_err=%s\n' "$(__x < "$__e")"
  printf '__strata_rc=%s\n' "$__r"
  if [ "$__r" != 0 ]; then rm -f -- "$__e" "$__so"; exit 0; fi
}
"#;

const APPLY_PRELUDE: &str = r#"__owner() { __pw=$(getent passwd -- "$__n") && printf '%s:%s' "$(printf '%s' "$__pw" | cut -d: -f3)" "$(printf '%s' "$__pw" | cut -d: -f4)"; }
__mkhome() {
  mkdir -p -- "$(dirname -- "$1")" 2>"$__e" || __fail "$(cat "$__e")" 1
  if [ -e "$__skel" ] && [ "$__skel" != /dev/null ]; then cp -a -- "$__skel" "$1" 2>"$__e" || __fail "$(cat "$__e")" 1
  else mkdir -p -- "$1" 2>"$__e" || __fail "$(cat "$__e")" 1; fi
  if [ -n "$__hmode" ]; then chmod "$__hmode" "$1"; fi
}
"#;

/// The changing round trip: command, home, key, then the account read back.
pub fn apply_script(req: &UserRequest, steps: &ApplySteps) -> String {
    let mut s = format!(
        "__n={}\n__skel={}\n__hmode={}\n{RUN_PRELUDE}{APPLY_PRELUDE}",
        sh_quote(&req.name),
        sh_quote(req.skeleton.as_deref().unwrap_or("/etc/skel")),
        steps
            .home_mode
            .map(|m| format!("{m:o}"))
            .unwrap_or_default(),
    );
    if let Some(h) = steps.home_before {
        s.push_str(&format!("__mkhome {}\n", sh_quote(h)));
    }
    if let Some(cmd) = steps.command {
        let (cmd, hash) = without_password(cmd);
        let line: Vec<String> = cmd.iter().map(|a| sh_quote(a)).collect();
        match hash {
            None => s.push_str(&format!("__run {}\n", line.join(" "))),
            Some(h) => {
                // Shell functions, so the hash is nobody's argument: printf is a builtin.
                s.push_str(&format!(
                    "__setpw() {{ printf '%s:%s\\n' \"$__n\" {} | chpasswd -e; }}\n",
                    sh_quote(h)
                ));
                // `usermod NAME` alone (only the password changes) is an error for usermod.
                if cmd[0] == "useradd" || cmd.len() > 2 {
                    s.push_str("__withpw() { \"$@\" && __setpw; }\n");
                    s.push_str(&format!("__run __withpw {}\n", line.join(" ")));
                } else {
                    s.push_str("__run __setpw\n");
                }
            }
        }
    }
    if let Some(h) = steps.home_before {
        s.push_str(&format!("chown -R -- \"$(__owner)\" {}\n", sh_quote(h)));
    }
    if steps.ensure_home {
        let home = match &req.home {
            Some(h) => sh_quote(h),
            None => "\"$(getent passwd -- \"$__n\" | cut -d: -f6)\"".into(),
        };
        s.push_str(&format!(
            "__h={home}\nif [ -n \"$__h\" ] && [ ! -e \"$__h\" ]; then __mkhome \"$__h\"; \
             chown -R -- \"$(__owner)\" \"$__h\"; echo __strata_homemade=1; fi\n"
        ));
    }
    if req.generate_ssh_key {
        s.push_str(&keygen_snippet(req, &steps.key_comment));
    }
    s.push_str("rm -f -- \"$__e\" \"$__so\"\n");
    s.push_str(&info_snippet(req));
    s
}

/// Takes `-p HASH` out of a useradd/usermod line. Ansible passes the hash on usermod's
/// command line, where every local user can read it in the process list; strata sets it with
/// `chpasswd -e` on stdin after the account exists, which leaves the same shadow entry.
fn without_password(cmd: &[String]) -> (Vec<String>, Option<&str>) {
    let mut out = Vec::with_capacity(cmd.len());
    let mut hash = None;
    let mut it = cmd.iter();
    while let Some(a) = it.next() {
        if a == "-p"
            && out
                .first()
                .is_some_and(|p: &String| p == "useradd" || p == "usermod")
        {
            hash = it.next().map(String::as_str);
        } else {
            out.push(a.clone());
        }
    }
    (out, hash)
}

/// Ansible's `ssh_key_gen`: keep an existing key unless `force`, else generate and chown.
fn keygen_snippet(req: &UserRequest, comment: &str) -> String {
    let mut kg = format!("ssh-keygen -q -t {}", sh_quote(&req.ssh_key_type));
    if req.ssh_key_bits > 0 {
        kg.push_str(&format!(" -b {}", req.ssh_key_bits));
    }
    kg.push_str(&format!(" -C {} -f \"$__k\"", sh_quote(comment)));
    // A passphrase on ssh-keygen's command line (`-N`) would show in the host's process list;
    // without a terminal ssh-keygen reads it (twice, to confirm) from stdin instead, here fed
    // by the shell's builtin printf, which runs no process.
    let stdin = match req.ssh_key_passphrase.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => {
            let q = sh_quote(p);
            format!("printf '%s\\n%s\\n' {q} {q} | ")
        }
        None => {
            kg.push_str(" -N ''");
            String::new()
        }
    };
    let kg = format!("{stdin}{kg}");
    let devnull = if stdin.is_empty() { " </dev/null" } else { "" };
    let force = if req.force { 1 } else { 0 };
    format!(
        "__pw=$(getent passwd -- \"$__n\"); __h=$(printf '%s' \"$__pw\" | cut -d: -f6)\n\
         case {rel} in /*) __k={rel};;\n\
         *) if [ ! -e \"$__h\" ]; then __fail \"User $__n home directory does not exist\" 1; fi; __k=\"$__h/\"{rel};; esac\n\
         __d=$(dirname -- \"$__k\")\n\
         if [ ! -e \"$__d\" ]; then mkdir -m 0700 -- \"$__d\" 2>\"$__e\" || __fail \"Failed to create $__d: $(cat \"$__e\")\" 1\n\
           chown -- \"$(__owner)\" \"$__d\"; fi\n\
         if [ -e \"$__k\" ] && [ {force} = 0 ]; then echo __strata_keyskip=priv\n\
         elif [ -e \"$__k.pub\" ] && [ {force} = 0 ]; then echo __strata_keyskip=pub\n\
         else\n\
           if [ -e \"$__k\" ]; then echo __strata_keyover=1; fi\n\
           rm -f -- \"$__k\" \"$__k.pub\"\n\
           {kg}{devnull} >/dev/null 2>\"$__e\" || {{ __r=$?; __fail \"$(grep -v '^Enter' \"$__e\")\" $__r; }}\n\
           chown -- \"$(__owner)\" \"$__k\" \"$__k.pub\"; echo __strata_keygen=1\n\
         fi\n",
        rel = sh_quote(&req.ssh_key_file),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_decode_multi_values_and_hex() {
        let r = Reply::parse(
            b"noise\n__strata_gr=a:x:1:\n__strata_gr=b:x:2:u\n__strata_out=68690a\n__strata_pw=u:x:5:1:c:/h:/bin/sh\n__strata_keyfile=/h/.ssh/id_rsa\n__strata_pubexists=1\n__strata_pub=ssh-rsa AAA c \n",
        );
        assert_eq!(r.all("gr").count(), 2);
        assert_eq!(r.text("out"), "hi\n");
        let o = Observed::from_reply(&r);
        assert_eq!(o.acct.groups.membership("u"), vec!["b"]);
        assert_eq!(o.acct.pw.unwrap().uid, 5);
        let k = o.key.unwrap();
        assert_eq!(k.public_key.as_deref(), Some("ssh-rsa AAA c"));
        assert!(!k.key_exists && k.fingerprint.is_empty());
    }

    #[test]
    fn scripts_are_valid_sh() {
        let req = UserRequest {
            name: "o'brien".into(),
            generate_ssh_key: true,
            ssh_key_file: ".ssh/id_rsa".into(),
            ssh_key_type: "rsa".into(),
            home: Some("/srv/x y".into()),
            ..Default::default()
        };
        let cmd = vec!["useradd".to_string(), "o'brien".into()];
        let steps = ApplySteps {
            command: Some(&cmd),
            home_before: Some("/srv/x y"),
            ensure_home: true,
            home_mode: Some(0o700),
            key_comment: "c".into(),
        };
        for script in [probe_script(&req), apply_script(&req, &steps)] {
            let st = std::process::Command::new("sh")
                .args(["-n", "-c", &script])
                .status()
                .unwrap();
            assert!(st.success(), "{script}");
        }
    }
}
