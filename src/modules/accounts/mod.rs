//! Accounts: `user`, `group` and `cron`, over `account_db` (the account databases as the
//! host's `getent` prints them), and the `getent` module itself.

pub mod account_db;
pub mod cron;
pub mod getent;
pub mod group;
pub mod user;
