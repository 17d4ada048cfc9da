//! The distribution's OpenSSH server as it runs on every lab host, and the plain host kind where
//! it is the only service.

use std::net::Ipv4Addr;
use std::path::Path;

use super::state::HostState;
use crate::shell::sh_quote;

/// sshd_config for a host. Root logs in with the lab key only; other users may also log in
/// with a password, so SSH password authentication (`ansible_password`) can be tested against
/// a user a playbook creates (the lab's hosts have none with a password of their own).
/// `UsePAM no` and `UseDNS no` keep session setup fast; limits stay at OpenSSH's defaults
/// (MaxSessions 10, MaxStartups 10:30:100) so tests meet what real servers enforce.
pub fn config(addr: Ipv4Addr) -> String {
    let mut c = String::from("# Written by strata lab.\n");
    c.push_str(&format!("ListenAddress {addr}:22\n"));
    for t in ["ed25519", "ecdsa", "rsa"] {
        let key = format!("/etc/ssh/ssh_host_{t}_key");
        if Path::new(&key).exists() {
            c.push_str(&format!("HostKey {key}\n"));
        }
    }
    c.push_str(
        "PermitRootLogin prohibit-password\n\
         PubkeyAuthentication yes\n\
         AuthorizedKeysFile .ssh/authorized_keys\n\
         PasswordAuthentication yes\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         UseDNS no\n\
         PidFile /run/sshd.pid\n\
         MaxSessions 10\n\
         PrintMotd no\n\
         PrintLastLog no\n\
         AcceptEnv LANG LC_*\n\
         Subsystem sftp internal-sftp\n",
    );
    c
}

/// The end of a plain host's init script: sshd in the foreground under a shell that stays PID 1.
/// sshd itself would not reap orphans (a backgrounded task's children); dash's `wait` reaps
/// any child while it waits, and when sshd dies the shell exits and the PID namespace with it.
pub fn init_command(h: &HostState) -> String {
    let root = sh_quote(&h.root.to_string_lossy());
    format!(
        "mkdir -p -m 755 {root}/run/sshd\nexec chroot {root} /bin/sh -c '/usr/sbin/sshd -D -e & wait $!'\n"
    )
}
