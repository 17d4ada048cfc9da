//! Modules that steer the play rather than change the host: `debug`, `set_fact`, `assert`,
//! `fail`, `pause`, and `setup` with its fact probes.

pub mod assert;
pub mod debug;
pub mod fail;
pub mod pause;
pub mod set_fact;
pub mod setup;
