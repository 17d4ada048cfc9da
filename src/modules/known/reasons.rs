//! Why strata refuses the known modules a Debian-targeted playbook most often meets (usually
//! in branches for other systems, guarded by `when: ansible_os_family == ...`). The README's
//! "known but refused" table shows these; every other known module strata does not implement
//! is refused the same way, without a reason beyond "not yet".
//!
//! Keys are FQCNs as Ansible resolves them (`yum` is `ansible.builtin.dnf`), or a collection
//! prefix ending in `.`. A module listed here must stay unimplemented: a unit test checks it.

pub const REASONS: &[(&str, &str)] = &[
    (
        "ansible.builtin.dnf",
        "dnf/yum is the package manager of RHEL and Fedora; strata targets Debian and Ubuntu \
         hosts (use `apt` or `package`)",
    ),
    (
        "ansible.builtin.dnf5",
        "dnf5 is Fedora's package manager; strata targets Debian and Ubuntu hosts",
    ),
    (
        "ansible.builtin.yum_repository",
        "yum repositories are RHEL's; on Debian use `apt_repository` or `deb822_repository`",
    ),
    (
        "ansible.builtin.rpm_key",
        "RPM signing keys are RHEL's; on Debian use `apt_key` or signed-by keyrings",
    ),
    (
        "ansible.posix.seboolean",
        "SELinux booleans: Debian and Ubuntu hosts run AppArmor, not SELinux",
    ),
    (
        "ansible.posix.selinux",
        "SELinux policy and mode: Debian and Ubuntu hosts run AppArmor, not SELinux",
    ),
    (
        "community.general.sefcontext",
        "SELinux file contexts: Debian and Ubuntu hosts run AppArmor, not SELinux",
    ),
    (
        "community.general.seport",
        "SELinux port types: Debian and Ubuntu hosts run AppArmor, not SELinux",
    ),
    (
        "ansible.posix.firewalld",
        "firewalld is RHEL's firewall daemon; on Debian use `ufw` or `iptables`",
    ),
    (
        "community.general.zypper",
        "zypper is SUSE's package manager; strata targets Debian and Ubuntu hosts",
    ),
    (
        "community.general.zypper_repository",
        "zypper repositories are SUSE's; strata targets Debian and Ubuntu hosts",
    ),
    (
        "community.general.redhat_subscription",
        "Red Hat subscriptions exist only on RHEL hosts",
    ),
    (
        "community.general.rhsm_repository",
        "Red Hat subscription repositories exist only on RHEL hosts",
    ),
    (
        "community.general.pacman",
        "pacman is Arch Linux's package manager; strata targets Debian and Ubuntu hosts",
    ),
    (
        "community.general.apk",
        "apk is Alpine's package manager; strata targets Debian and Ubuntu hosts",
    ),
    (
        "community.general.homebrew",
        "Homebrew is macOS's package manager; strata targets Debian and Ubuntu hosts",
    ),
    (
        "community.general.pkgng",
        "pkgng is FreeBSD's package manager; strata targets Debian and Ubuntu hosts",
    ),
    (
        "ansible.windows.",
        "Windows modules are PowerShell run over WinRM or SSH; strata's hosts are POSIX",
    ),
    (
        "community.windows.",
        "Windows modules are PowerShell run over WinRM or SSH; strata's hosts are POSIX",
    ),
];
