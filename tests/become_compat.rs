//! SSH password login (`ansible_password`), sudo with a password (`ansible_become_password`)
//! and `become_method: su`, compared with ansible-core 2.19 (which logs in through sshpass)
//! on lab hosts whose accounts the book itself creates.
mod common;

use common::compat::compare;

#[test]
fn password_login_sudo_password_and_su_match_ansible() {
    compare("become.yml");
}
