//! Modules that talk to the network from the host: `get_url`, `uri`, `git`, `unarchive` (remote
//! archives) and `wait_for`, with `http_client`, the curl/wget request they share.

pub mod get_url;
pub mod git;
pub mod http_client;
pub mod unarchive;
pub mod uri;
pub mod wait_for;
