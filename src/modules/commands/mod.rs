//! Modules that run commands: `command`, `shell`, `raw` and `script`, and what they share
//! (`support`: the chdir/creates/removes guards and Ansible's result shape).

pub mod command;
pub mod raw;
pub mod script;
pub mod shell;
pub mod support;
