//! Package modules: `apt`, `apt_repository`, `package` (dispatch on the host's package
//! manager) and `pip`.

pub mod apt;
pub mod apt_repository;
pub mod package;
pub mod pip;
