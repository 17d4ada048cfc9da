//! Services and system settings: `systemd`, `sysvinit`, `service` (picks one), `hostname`,
//! `sysctl` and `mount`.

pub mod hostname;
pub mod mount;
pub mod service;
pub mod sysctl;
pub mod systemd;
pub mod sysvinit;
