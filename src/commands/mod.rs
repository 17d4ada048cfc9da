//! One file per subcommand; each returns an exit code and does its own printing through the
//! reporter or plain messages.
pub mod bench;
pub mod inventory;
pub mod jobs;
pub mod lab;
pub mod playbook;
pub mod run;
pub mod stack;

use crate::cli::SshArgs;
use crate::config::{Config, Settings};
use crate::secret::Secret;
use crate::transport::ConnectOptions;

/// The SSH options of every command that runs tasks, as the transport takes them: the
/// command line over `ansible.cfg` and `ANSIBLE_*` over strata's defaults. The passwords are
/// asked for later, by [`ask_passwords`], once the input has been validated.
pub fn connect_options(a: &SshArgs, s: &Settings) -> ConnectOptions {
    let timeout = a
        .timeout
        .or(s.timeout)
        .unwrap_or(ConnectOptions::DEFAULT_TIMEOUT_SECS);
    ConnectOptions {
        user: a.user.clone().or_else(|| s.remote_user.clone()),
        private_key: a.private_key.clone().or_else(|| s.private_key_file.clone()),
        accept_new: a.accept_new_host_keys,
        insecure: a.insecure_ignore_host_keys || !s.host_key_checking,
        timeout: std::time::Duration::from_secs(timeout),
        password: None,
        become_password: None,
        ssh_args: s.ssh_args.clone(),
        ssh_common_args: s.ssh_common_args.clone(),
        ssh_extra_args: s.ssh_extra_args.clone(),
    }
}

/// `ansible.cfg` and `ANSIBLE_*`, with its warnings printed; `None` after printing why it
/// cannot be used (exit 5, before anything runs).
pub fn config() -> Option<Config> {
    match crate::config::load() {
        Ok(c) => {
            c.print_warnings();
            Some(c)
        }
        Err(e) => {
            eprint!("{}", e.render());
            None
        }
    }
}

/// `--ask-pass` and `--ask-become-pass`, asked as Ansible asks them: the become password
/// defaults to the SSH password when left empty.
pub fn ask_passwords(a: &SshArgs, c: &mut ConnectOptions) -> std::io::Result<()> {
    if a.ask_pass {
        c.password = Some(Secret::new(crate::prompt::read_line(
            "SSH password",
            false,
        )?));
    }
    if a.ask_become_pass {
        let prompt = if a.ask_pass {
            "BECOME password[defaults to SSH password]"
        } else {
            "BECOME password"
        };
        let typed = crate::prompt::read_line(prompt, false)?;
        c.become_password = match (typed.is_empty(), &c.password) {
            (true, Some(ssh)) => Some(ssh.clone()),
            _ => Some(Secret::new(typed)),
        };
    }
    Ok(())
}
