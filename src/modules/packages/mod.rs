//! Package modules: `apt`, `apt_repository`, `package` (dispatch on the host's package
//! manager) and `pip`; and the Debian tools around them: `apt_key`, `deb822_repository`,
//! `debconf`, `dpkg_selections` and `package_facts`.

pub mod apt;
pub mod apt_key;
pub mod apt_repository;
pub mod deb822_repository;
pub mod debconf;
pub mod dpkg_selections;
pub mod package;
pub mod package_facts;
pub mod pip;
mod report;
