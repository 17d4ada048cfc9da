//! Run-time variables and inventory (`include_vars`, `group_by`, `add_host`), the classic
//! `with_*` loops and the lookups behind them, each book run by ansible-core 2.19 and by
//! strata on twin labs, twice (see `common::compat`): per-task statuses, recap, exit code and
//! host state must match. The second run shows the password lookup reusing its file.

mod common;

use common::compat::{compare, compare_on};

#[test]
fn include_vars_group_by_and_add_host_match_ansible() {
    compare("b_vars.yml");
}

#[test]
fn with_loops_and_lookups_match_ansible() {
    compare_on("b_loops.yml", 3);
}
