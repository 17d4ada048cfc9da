//! Access control on the host: SSH trust (`known_hosts`, `authorized_key`), HTTP basic-auth
//! files (`htpasswd`) and the packet filter (`iptables`, `ufw`). Each module reads the host's
//! state in one round trip, decides in Rust as the Ansible module does, and acts in a second
//! only when something changes; secrets are hashed on the controller and never reach a
//! command line.

pub mod authorized_key;
pub mod htpasswd;
pub mod iptables;
pub mod keyfile;
pub mod known_hosts;
pub mod ufw;
