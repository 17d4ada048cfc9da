//! Modules that steer the play rather than change the host: `debug`, `set_fact`, `assert`,
//! `fail`, `pause`, `ping`, `async_status`, `setup` with its fact probes and `gather_facts`,
//! `wait_for_connection`, `set_stats`, and the run-time variables and inventory: `include_vars`,
//! `group_by`, `add_host`.

pub mod add_host;
pub mod assert;
pub mod async_status;
pub mod debug;
pub mod fail;
pub mod gather_facts;
pub mod group_by;
pub mod include_vars;
pub mod pause;
pub mod ping;
pub mod set_fact;
pub mod set_stats;
pub mod setup;
pub mod validate_argument_spec;
pub mod wait_for_connection;
