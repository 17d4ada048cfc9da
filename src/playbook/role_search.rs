//! Where a role named in a play, a dependency or an include is looked for, in ansible-core's
//! order (`RoleDefinition._load_role_path`): `roles/` beside the playbook, each directory of
//! `roles_path` (`ansible.cfg`, `ANSIBLE_ROLES_PATH`, else `~/.ansible/roles`,
//! `/usr/share/ansible/roles`, `/etc/ansible/roles`, where `ansible-galaxy role install` puts
//! them), the directory holding the role that depends on it, the playbook directory itself,
//! then the name as a path from the working directory. strata adds `./roles` last, so a
//! checkout run from its top finds its roles as before; a role Ansible finds is found in
//! the same place.

use std::path::{Path, PathBuf};

use super::loader::normalize;

/// The directories `name` may be, first match wins, each listed once. A name with a slash is
/// a path below each place; an absolute one is itself.
pub fn candidates(
    name: &str,
    playbook_dir: &Path,
    roles_path: &[PathBuf],
    parent_role_dir: Option<&Path>,
) -> Vec<PathBuf> {
    let p = Path::new(name);
    let mut c = vec![playbook_dir.join("roles").join(p)];
    c.extend(roles_path.iter().map(|r| r.join(p)));
    c.extend(parent_role_dir.map(|d| d.join(p)));
    c.push(playbook_dir.join(p));
    c.push(p.to_path_buf());
    c.push(Path::new("roles").join(p));
    let mut seen = Vec::new();
    c.retain(|p| {
        let n = normalize(p);
        let new = !seen.contains(&n);
        seen.push(n);
        new
    });
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansibles_order_then_strata_s_roles_directory() {
        let c = candidates(
            "web",
            Path::new("/p"),
            &[
                PathBuf::from("/home/op/.ansible/roles"),
                PathBuf::from("/etc/ansible/roles"),
            ],
            Some(Path::new("/p/roles")),
        );
        assert_eq!(
            c,
            [
                "/p/roles/web",
                "/home/op/.ansible/roles/web",
                "/etc/ansible/roles/web",
                "/p/web",
                "web",
                "roles/web"
            ]
            .map(PathBuf::from)
        );
        let c = candidates(
            "/srv/roles/web",
            Path::new("/p"),
            &[PathBuf::from("/r")],
            None,
        );
        assert_eq!(c, vec![PathBuf::from("/srv/roles/web")]);
    }
}
