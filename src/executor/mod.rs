//! Runs plays on hosts: one tokio task per host per play batch, each holding the host's one
//! connection, sending events to the reporter and never printing.
pub mod async_task;
pub mod context;
pub mod coordinator;
pub mod custom_stats;
pub mod delegate;
pub mod host;
pub mod host_order;
pub mod include;
pub mod invoke;
pub mod outcome;
pub mod play;
pub mod public_roles;
pub mod runtime_inventory;
pub mod scope;
pub mod settings;
pub mod step;
pub mod task;
pub mod vars;

pub use context::RunOptions;
pub use play::{PlayEnd, Runner};
