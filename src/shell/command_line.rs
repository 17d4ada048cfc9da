//! How a module's script reaches the host: never on a command line.
//!
//! Anything on a command line is world-readable on the host (`ps`, `/proc/*/cmdline`) and
//! lands in sudo's `COMMAND=` log line, so a module's arguments, its `environment:` exports
//! and file contents would leak to every local user. The command line is therefore a fixed
//! bootstrap with no data in it ([`BOOTSTRAP`]); everything else travels on the channel's
//! standard input:
//!
//! ```text
//! [become password + "\n"]          only when becoming with a password
//! STRATA_SCRIPT=<length>\n          the header the bootstrap waits for
//! <length bytes: exports + script>  run with `eval` by the bootstrap's shell
//! <module data>                     whatever is left is the script's own stdin
//! ```
//!
//! The bootstrap discards lines until the header, so a password line that sudo or su did
//! not ask for (cached credentials, `su` from root) is dropped instead of run. It reads the
//! script with `head -c`, which never reads past the count on a pipe, so the module's data
//! stays on stdin for the script, binary content included.

use super::sh_quote;
use crate::secret::Secret;

/// The fixed program every module script runs under. It holds no argument data: it skips to
/// the header line, reads exactly the announced number of bytes and evaluates them in the
/// same shell, whose stdin then continues with the module's data.
pub const BOOTSTRAP: &str = "while IFS= read -r l; do case $l in STRATA_SCRIPT=*) break;; esac; done; \
     eval \"$(head -c \"${l#STRATA_SCRIPT=}\")\"";

/// Privilege escalation for one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Become {
    pub user: String,
    pub method: BecomeMethod,
    /// `become_flags`; `None` means the method's defaults (Ansible's: `-H -S -n` for sudo,
    /// nothing for su).
    pub flags: Option<String>,
    /// `ansible_become_password`: sent on stdin when set, never on a command line.
    pub password: Option<Secret>,
}

/// The become methods strata implements; the loader and the target check refuse others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BecomeMethod {
    Sudo,
    Su,
}

impl BecomeMethod {
    pub fn parse(s: &str) -> Option<BecomeMethod> {
        match s {
            "sudo" => Some(BecomeMethod::Sudo),
            "su" => Some(BecomeMethod::Su),
            _ => None,
        }
    }
}

impl Become {
    /// Root through sudo without a password: the default when a play says `become: true`.
    pub fn sudo(user: impl Into<String>) -> Become {
        Become {
            user: user.into(),
            method: BecomeMethod::Sudo,
            flags: None,
            password: None,
        }
    }
}

/// What to send to the host for one script: a fixed command line and the bytes for its stdin.
pub struct Invocation {
    pub command: String,
    pub stdin: Vec<u8>,
}

/// The start of the header line the bootstrap looks for.
const HEADER: &str = "STRATA_SCRIPT=";

/// Builds the invocation of `script` with the task's environment, become and the module's
/// own stdin `data`.
pub fn invocation(
    script: &str,
    env: &[(String, String)],
    become_: Option<&Become>,
    data: Option<&[u8]>,
) -> Invocation {
    let mut body = String::new();
    for (k, v) in env {
        body.push_str(&format!("export {k}={}\n", sh_quote(v)));
    }
    body.push_str(script);
    body.push('\n');

    let mut stdin = Vec::with_capacity(body.len() + data.map_or(0, <[u8]>::len) + 64);
    if let Some(pw) = become_.and_then(|b| b.password.as_ref()) {
        stdin.extend_from_slice(pw.expose().as_bytes());
        stdin.push(b'\n');
    }
    stdin.extend_from_slice(format!("{HEADER}{}\n", body.len()).as_bytes());
    stdin.extend_from_slice(body.as_bytes());
    if let Some(d) = data {
        stdin.extend_from_slice(d);
    }
    let shell = format!("/bin/sh -c {}", sh_quote(BOOTSTRAP));
    let command = match become_ {
        None => shell,
        Some(b) => become_command(b, &shell),
    };
    Invocation { command, stdin }
}

/// The become wrapper, as Ansible's sudo and su plugins build it. With a password, sudo
/// reads it from stdin (`-S`) with an empty prompt, and `-n` is dropped since a password is
/// now available; su reads it from stdin too when stdin is not a terminal.
fn become_command(b: &Become, shell: &str) -> String {
    match b.method {
        BecomeMethod::Sudo => {
            let flags = b.flags.as_deref().unwrap_or("-H -S -n");
            let mut words: Vec<&str> = flags.split_whitespace().collect();
            let mut prompt = "";
            if b.password.is_some() {
                words.retain(|w| *w != "-n" && *w != "--non-interactive");
                if !words.iter().any(|w| *w == "-S" || *w == "--stdin") {
                    words.push("-S");
                }
                prompt = " -p ''";
            }
            let mut cmd = String::from("sudo");
            for w in words {
                cmd.push(' ');
                cmd.push_str(w);
            }
            format!("{cmd}{prompt} -u {} -- {shell}", sh_quote(&b.user))
        }
        BecomeMethod::Su => {
            let flags = b.flags.as_deref().unwrap_or("").trim();
            let flags = if flags.is_empty() {
                String::new()
            } else {
                format!("{flags} ")
            };
            format!("su {flags}{} -c {}", sh_quote(&b.user), sh_quote(shell))
        }
    }
}

/// Recognises what sudo and su print when the become password is wrong or missing, so the
/// failure names the cause instead of showing a bare `rc: 1`.
pub fn become_failure(b: &Become, rc: i32, stderr: &str) -> Option<String> {
    if rc == 0 {
        return None;
    }
    let method = match b.method {
        BecomeMethod::Sudo => "sudo",
        BecomeMethod::Su => "su",
    };
    let wrong = stderr.contains("incorrect password attempt")
        || stderr.contains("Sorry, try again.")
        || (b.method == BecomeMethod::Su && stderr.contains("su: Authentication failure"));
    if wrong {
        return Some(if b.password.is_some() {
            format!("Incorrect {method} password")
        } else {
            format!("Missing {method} password")
        });
    }
    if b.method == BecomeMethod::Sudo && stderr.contains("a password is required") {
        return Some("Missing sudo password".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{LocalTransport, Transport};

    async fn run(inv: &Invocation) -> (i32, String) {
        let out = LocalTransport::new()
            .exec(&inv.command, Some(&inv.stdin))
            .await
            .unwrap();
        (out.rc, out.stdout_str() + &out.stderr_str())
    }

    #[test]
    fn the_command_line_carries_no_data() {
        let b = Become {
            password: Some(Secret::new("s3cret")),
            ..Become::sudo("root")
        };
        let inv = invocation(
            "echo token-1",
            &[("A".into(), "token-2".into())],
            Some(&b),
            Some(b"token-3"),
        );
        for token in ["token-1", "token-2", "token-3", "s3cret"] {
            assert!(!inv.command.contains(token), "{token} in {}", inv.command);
            assert!(
                String::from_utf8_lossy(&inv.stdin).contains(token),
                "{token} not on stdin"
            );
        }
        assert_eq!(
            inv.command,
            format!(
                "sudo -H -S -p '' -u root -- /bin/sh -c {}",
                sh_quote(BOOTSTRAP)
            )
        );
    }

    #[test]
    fn sudo_flags_and_su_as_ansible_builds_them() {
        let shell = format!("/bin/sh -c {}", sh_quote(BOOTSTRAP));
        let plain = invocation("id", &[], Some(&Become::sudo("app")), None);
        assert_eq!(plain.command, format!("sudo -H -S -n -u app -- {shell}"));
        let flagged = Become {
            flags: Some("-E -n".into()),
            password: Some(Secret::new("pw")),
            ..Become::sudo("app")
        };
        let cmd = invocation("id", &[], Some(&flagged), None).command;
        assert_eq!(cmd, format!("sudo -E -S -p '' -u app -- {shell}"));
        let su = Become {
            method: BecomeMethod::Su,
            flags: Some("-l".into()),
            ..Become::sudo("postgres")
        };
        let cmd = invocation("id", &[], Some(&su), None).command;
        assert_eq!(cmd, format!("su -l postgres -c {}", sh_quote(&shell)));
        assert!(!format!("{flagged:?}").contains("pw\""));
    }

    #[tokio::test]
    async fn script_env_and_binary_data_arrive_intact() {
        let data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let inv = invocation(
            "printf '%s|' \"$A\"; exec wc -c",
            &[("A".into(), "it's $x `y`".into())],
            None,
            Some(&data),
        );
        let (rc, out) = run(&inv).await;
        assert_eq!((rc, out.trim()), (0, "it's $x `y`|70000"));
    }

    #[tokio::test]
    async fn a_password_line_nobody_asked_for_is_dropped_not_run() {
        let inv = invocation("echo ran; exit 3", &[], None, None);
        let mut stdin = b"touch /tmp/strata-should-not-exist\n".to_vec();
        stdin.extend_from_slice(&inv.stdin);
        let (rc, out) = run(&Invocation {
            command: inv.command,
            stdin,
        })
        .await;
        assert_eq!((rc, out.as_str()), (3, "ran\n"));
        assert!(!std::path::Path::new("/tmp/strata-should-not-exist").exists());
    }

    #[tokio::test]
    async fn the_script_sees_exactly_its_data_on_stdin() {
        let inv = invocation("cat; echo; cat", &[], None, Some(b"only this"));
        assert_eq!(run(&inv).await, (0, "only this\n".into()));
        let inv = invocation("cat", &[], None, None);
        assert_eq!(run(&inv).await, (0, String::new()));
    }

    #[test]
    fn wrong_and_missing_passwords_are_named() {
        let with = Become {
            password: Some(Secret::new("x")),
            ..Become::sudo("root")
        };
        let msg = "Sorry, try again.\nsudo: 3 incorrect password attempts\n";
        assert_eq!(
            become_failure(&with, 1, msg).as_deref(),
            Some("Incorrect sudo password")
        );
        let none = Become::sudo("root");
        assert_eq!(
            become_failure(&none, 1, "sudo: a password is required\n").as_deref(),
            Some("Missing sudo password")
        );
        assert_eq!(become_failure(&none, 0, "a password is required"), None);
    }
}
