//! Modules that steer the play rather than change the host: `debug`, `set_fact`, `assert`,
//! `fail`, `pause`, `setup` with its fact probes, and `wait_for_connection`.

pub mod assert;
pub mod debug;
pub mod fail;
pub mod pause;
pub mod set_fact;
pub mod setup;
pub mod wait_for_connection;
