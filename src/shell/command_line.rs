//! The command line a module's script runs under on the host: the task's environment, then
//! the script under `/bin/sh -c`, under `sudo` when the task becomes another user.

use super::sh_quote;

/// Privilege escalation for one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Become {
    pub user: String,
}

/// Builds the command line sent to the host. `-n` makes sudo fail instead of hanging on a
/// password prompt nobody will answer.
pub fn wrap_command(script: &str, env: &[(String, String)], become_: Option<&Become>) -> String {
    let mut body = String::new();
    for (k, v) in env {
        body.push_str(&format!("export {k}={}; ", sh_quote(v)));
    }
    body.push_str(script);
    match become_ {
        None => format!("/bin/sh -c {}", sh_quote(&body)),
        Some(b) => format!(
            "sudo -H -S -n -u {} -- /bin/sh -c {}",
            sh_quote(&b.user),
            sh_quote(&body)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn become_wraps_in_sudo() {
        let c = wrap_command(
            "id -u",
            &[("A".into(), "b c".into())],
            Some(&Become {
                user: "root".into(),
            }),
        );
        assert_eq!(
            c,
            "sudo -H -S -n -u root -- /bin/sh -c 'export A='\\''b c'\\''; id -u'"
        );
    }
}
