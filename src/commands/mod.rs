//! One file per subcommand; each returns an exit code and does its own printing through the
//! reporter or plain messages.
pub mod bench;
pub mod inventory;
pub mod lab;
pub mod playbook;
pub mod stack;

use crate::cli::SshArgs;
use crate::transport::ConnectOptions;

/// The SSH options of every command that runs tasks, as the transport takes them.
pub fn connect_options(a: &SshArgs) -> ConnectOptions {
    ConnectOptions {
        user: a.user.clone(),
        private_key: a.private_key.clone(),
        accept_new: a.accept_new_host_keys,
        insecure: a.insecure_ignore_host_keys,
        timeout: std::time::Duration::from_secs(a.timeout),
    }
}
