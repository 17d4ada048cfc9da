//! Tools playbooks drive on a host: `supervisorctl` (supervisord programs), `make`, `npm`,
//! `expect` (the Tcl `expect` program answers prompts), and `synchronize`, whose rsync runs on
//! the controller against the host's own SSH settings.

pub mod expect;
pub mod make;
pub mod npm;
pub mod supervisorctl;
pub mod synchronize;
