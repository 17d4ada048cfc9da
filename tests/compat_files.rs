//! find, tempfile, assemble, archive and acl compared with ansible-core 2.19 (and the
//! community.general / ansible.posix collections) on lab hosts: statuses, registered results
//! checked by `assert`, and the files they leave.
mod common;

use common::compat::compare;

#[test]
fn find_tempfile_and_assemble_match_ansible() {
    compare("files_find.yml");
}

#[test]
fn archive_and_acl_match_ansible() {
    compare("files_archive.yml");
}
