//! Every module strata ships, and how a task's action name finds one: short names,
//! `ansible.builtin.`/`ansible.legacy.` names, collection names and aliases.

use super::*;

/// Modules whose Ansible home is a collection rather than ansible.builtin, so that their
/// collection names resolve too (and no other module's does): `ansible.posix.sysctl` is
/// `sysctl`, but `ansible.posix.copy` is an unknown module, as it is in Ansible.
const COLLECTIONS: &[(&str, &[&str])] = &[
    ("community.general.", &["ini_file"]),
    ("ansible.posix.", &["sysctl", "mount"]),
];

/// Other names a module answers to, as Ansible's plugin routing redirects them
/// (`systemd_service` is the module's real name since 2.15; `systemd` is the classic one).
const ALIASES: &[(&str, &str)] = &[("systemd_service", "systemd")];

/// Looks a module up by its short name, its `ansible.builtin.` name or its collection name
/// (see [`COLLECTIONS`]), or an alias of either (see [`ALIASES`]).
pub fn lookup(name: &str) -> Option<&'static dyn Module> {
    let short = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .or_else(|| {
            COLLECTIONS
                .iter()
                .find_map(|(prefix, names)| name.strip_prefix(prefix).filter(|s| names.contains(s)))
        })
        .unwrap_or(name);
    let short = ALIASES
        .iter()
        .find(|(alias, _)| *alias == short)
        .map_or(short, |(_, real)| real);
    registry().iter().copied().find(|m| m.spec().name == short)
}

/// Every module strata ships. Each lives in its own file under `src/modules/`.
pub fn registry() -> &'static [&'static dyn Module] {
    &[
        // File modules.
        &files::copy::Copy,
        &files::template::Template,
        &files::file::File,
        &files::lineinfile::LineInFile,
        &files::blockinfile::BlockInFile,
        &files::replace::Replace,
        &files::stat::Stat,
        &files::slurp::Slurp,
        &files::fetch::Fetch,
        &commands::command::Command,
        &commands::shell::Shell,
        &commands::raw::Raw,
        &commands::script::Script,
        &control::debug::Debug,
        &control::set_fact::SetFact,
        &control::assert::Assert,
        &control::fail::Fail,
        &control::pause::Pause,
        &control::setup::Setup,
        &net::wait_for::WaitFor,
        // System services.
        &services::service::Service,
        &services::systemd::Systemd,
        &services::sysvinit::SysVInit,
        &services::hostname::Hostname,
        &services::sysctl::Sysctl,
        &services::mount::Mount,
        // Fetching software and data.
        &net::get_url::GetUrl,
        &net::uri::Uri,
        &net::git::Git,
        &net::unarchive::Unarchive,
        &packages::pip::Pip,
        // Accounts and configuration.
        &files::ini_file::IniFile,
        &accounts::cron::Cron,
        &accounts::group::GroupModule,
        &accounts::user::User,
        // Packages.
        &packages::apt::Apt,
        &packages::apt_repository::AptRepository,
        &packages::package::Package,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_to_the_real_module() {
        for n in [
            "systemd",
            "systemd_service",
            "ansible.builtin.systemd_service",
            "ansible.legacy.systemd_service",
        ] {
            assert_eq!(lookup(n).map(|m| m.spec().name), Some("systemd"), "{n}");
        }
        assert!(lookup("systemd_services").is_none());
    }

    #[test]
    fn collection_names_resolve_only_for_their_own_modules() {
        assert_eq!(
            lookup("ansible.posix.sysctl").unwrap().spec().name,
            "sysctl"
        );
        assert_eq!(lookup("ansible.posix.mount").unwrap().spec().name, "mount");
        assert_eq!(
            lookup("community.general.ini_file").unwrap().spec().name,
            "ini_file"
        );
        assert_eq!(
            lookup("ansible.builtin.systemd_service")
                .unwrap()
                .spec()
                .name,
            "systemd"
        );
        assert!(lookup("ansible.posix.copy").is_none());
        assert!(lookup("community.general.sysctl").is_none());
    }
}
