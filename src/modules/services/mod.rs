//! Services and system settings: `systemd`, `sysvinit`, `service` (picks one), `hostname`,
//! `sysctl`, `mount` and `service_facts`.

pub mod hostname;
pub mod mount;
pub mod service;
pub mod service_facts;
pub mod sysctl;
pub mod systemd;
pub mod sysvinit;
