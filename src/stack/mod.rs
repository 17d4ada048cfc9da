//! The stack model: a stack file's layers, instances and apps, their lifecycle events
//! (setup, configure, deploy, undeploy, shutdown, and any other tasks file), and the
//! configure broadcast that gives every online instance the whole stack's state.
//!
//! The flow follows the engine's: `file` loads and validates, `plays` checks every role of
//! every event, `instances` reads the instance source, `state` remembers, `event` turns one
//! event into one engine run, and `lifecycle`, `sync`, `control` and `status` are the
//! commands built from those.
pub mod argspecs;
pub mod attributes;
pub mod clock;
pub mod control;
pub mod deploy;
mod error;
pub mod event;
pub mod file;
pub mod instances;
pub mod jobs;
pub mod lifecycle;
pub mod open;
pub mod plays;
pub mod probe;
pub mod report;
pub mod state;
pub mod status;
pub mod sync;
pub mod transfer;
pub mod variable;

pub use error::StackError;
pub use open::{Stack, StackRequest};
#[cfg(test)]
mod tests;
