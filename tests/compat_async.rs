//! `async`/`poll` and `async_status` compared with ansible-core 2.19: a polled job, a failing
//! one, a guard inside the job, a job over its time limit, fire-and-forget with an `until`
//! loop on `async_status`, cleanup, loops, an action that refuses async, and check mode.
mod common;

use common::compat::compare;

#[test]
fn async_jobs_match_ansible() {
    compare("async_jobs.yml");
}
