//! System configuration from community.general that Debian playbooks use every day:
//! `timezone`, `locale_gen`, `modprobe`, `pam_limits` and `alternatives`. Each one is a port
//! of the collection module's decisions (what counts as a change, which command runs, which
//! message comes back), done with POSIX `sh` on the host and the text logic in Rust.

pub mod alternatives;
pub mod locale_gen;
pub mod modprobe;
pub mod pam_limits;
pub mod timezone;
