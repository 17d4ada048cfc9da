//! One file per subcommand; each returns an exit code and does its own printing through the
//! reporter or plain messages.
pub mod bench;
pub mod inventory;
pub mod lab;
pub mod playbook;
