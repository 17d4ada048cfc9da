//! Accounts: `user`, `group` and `cron`, over `getent`, the account databases as the host
//! prints them.

pub mod cron;
pub mod getent;
pub mod group;
pub mod user;
