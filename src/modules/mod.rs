//! The modules, the top floor of the house: only the executor (to run them) and the loader (to
//! validate their arguments) use them, through this file's interface and the registry. A
//! module is Rust code that turns validated arguments into one shell script run over the
//! host's existing connection (plus an optional stdin payload), and parses what comes back.
//! One round trip per task is the target; no code is uploaded. Modules live in one folder per
//! family; what several families share is in `toolkit`.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::events::FileDiff;
use crate::shell::{Become, become_failure, invocation};
use crate::template::Templar;
use crate::transport::{ExecOutput, Transport, TransportError};

pub mod access;
pub mod accounts;
pub mod args;
pub mod async_jobs;
pub mod commands;
pub mod control;
pub mod files;
#[cfg(test)]
pub mod harness;
pub mod known;
pub mod net;
pub mod packages;
pub mod services;
mod spec;
pub mod system;
pub mod toolkit;
pub mod tools;

pub use args::Args;
pub use spec::{Fixed, FreeForm, ModuleSpec, Param, ParamType};

/// The outcome of a module, shaped like Ansible's result dict once serialized.
#[derive(Clone, Debug, Default)]
pub struct ModuleResult {
    pub changed: bool,
    pub failed: bool,
    pub skipped: bool,
    pub msg: Option<String>,
    /// Module-specific return values (`rc`, `stdout`, `dest`, `stat`, ...).
    pub data: Map<String, Value>,
    pub diff: Vec<FileDiff>,
    /// Facts to set on the host (`set_fact`, `setup`): `ansible_facts` in Ansible's results.
    pub facts: Map<String, Value>,
    /// `set_fact`'s `cacheable: true`: its values are also facts (`ansible_facts.NAME`, the
    /// fact cache), besides host variables.
    pub facts_cacheable: bool,
}

impl ModuleResult {
    pub fn ok() -> Self {
        ModuleResult::default()
    }
    pub fn changed(changed: bool) -> Self {
        ModuleResult {
            changed,
            ..Default::default()
        }
    }
    pub fn failed(msg: impl Into<String>) -> Self {
        ModuleResult {
            failed: true,
            msg: Some(msg.into()),
            ..Default::default()
        }
    }
    pub fn with(mut self, key: &str, v: impl Into<Value>) -> Self {
        self.data.insert(key.to_string(), v.into());
        self
    }
    pub fn msg(mut self, m: impl Into<String>) -> Self {
        self.msg = Some(m.into());
        self
    }

    /// Adds Ansible's `rc`/`stdout`/`stderr`/`*_lines` keys from a command's output.
    pub fn with_output(mut self, out: &ExecOutput) -> Self {
        let stdout = out.stdout_str();
        let stderr = out.stderr_str();
        let trim = |s: &str| s.strip_suffix('\n').unwrap_or(s).to_string();
        let (so, se) = (trim(&stdout), trim(&stderr));
        let lines = |s: &str| Value::Array(s.lines().map(Value::from).collect());
        self.data.insert("rc".into(), out.rc.into());
        self.data.insert("stdout_lines".into(), lines(&so));
        self.data.insert("stderr_lines".into(), lines(&se));
        self.data.insert("stdout".into(), so.into());
        self.data.insert("stderr".into(), se.into());
        self
    }

    /// The registered-variable form: data plus `changed`, `failed`, `msg`, `skipped`, `diff`.
    pub fn to_value(&self) -> Value {
        let mut m = self.data.clone();
        m.insert("changed".into(), self.changed.into());
        m.insert("failed".into(), self.failed.into());
        if self.skipped {
            m.insert("skipped".into(), true.into());
        }
        if let Some(msg) = &self.msg {
            m.insert("msg".into(), msg.clone().into());
        }
        if !self.facts.is_empty() {
            m.insert("ansible_facts".into(), Value::Object(self.facts.clone()));
        }
        Value::Object(m)
    }
}

/// Errors that stop a module before it produced a result.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// Bad arguments discovered at run time (after templating): the task fails with this text.
    #[error("{0}")]
    Args(String),
    /// sudo or su refused the task (a wrong or missing become password): the task fails with
    /// the cause, as Ansible's "Incorrect sudo password".
    #[error("{0}")]
    Become(String),
}

/// Where a task's relative `src` paths resolve: the role's `files/` or `templates/`, then the
/// playbook directory's, as Ansible searches.
#[derive(Clone, Debug, Default)]
pub struct SearchPaths {
    /// Most specific first: role dir, then the playbook dir.
    pub roots: Vec<PathBuf>,
}

impl SearchPaths {
    /// Finds `rel` under `<root>/<subdir>/rel` or `<root>/rel`; an absolute path is kept.
    pub fn find(&self, subdir: &str, rel: &str) -> Option<PathBuf> {
        let p = Path::new(rel);
        if p.is_absolute() {
            return p.exists().then(|| p.to_path_buf());
        }
        for root in &self.roots {
            for cand in [root.join(subdir).join(p), root.join(p)] {
                if cand.exists() {
                    return Some(cand);
                }
            }
        }
        None
    }

    /// Locates a controller-side `src` the way Ansible does (role, then playbook `files/` or
    /// `templates/`); the error lists every place searched.
    pub fn find_local(&self, kind: &str, src: &str) -> Result<PathBuf, ModuleError> {
        let trimmed = src.trim_end_matches('/');
        let rel = if trimmed.is_empty() { src } else { trimmed };
        self.find(kind, rel).ok_or_else(|| {
            let searched: Vec<String> = self
                .roots
                .iter()
                .flat_map(|r| [r.join(kind), r.clone()])
                .map(|p| p.display().to_string())
                .collect();
            ModuleError::Args(format!(
                "Could not find or access '{src}'\nSearched in:\n\t{}",
                searched.join("\n\t")
            ))
        })
    }
}

/// Everything a module may use while running on one host.
pub struct ModuleCtx<'a> {
    pub host: &'a str,
    pub conn: &'a dyn Transport,
    pub become_: Option<Become>,
    /// Task/play `environment`, exported before the module's script.
    pub env: Vec<(String, String)>,
    pub check_mode: bool,
    pub diff: bool,
    /// The run's `-v` count: `debug` honours its `verbosity` threshold with it.
    pub verbosity: u8,
    pub search: &'a SearchPaths,
    pub templar: &'a Templar,
    /// The host's variables as a Jinja context (for `template`, `debug: var=`, `assert`).
    pub vars: &'a minijinja::Value,
    /// The name `delegate_to` rendered to, when the task is delegated (`conn` is then that
    /// host's connection, or the host's own when the name is the host itself).
    pub delegated_to: Option<&'a str>,
    /// The task's own host's connection even under `delegate_to`, for a module that reaches
    /// the host from the controller by other means (`synchronize` runs rsync over ssh with
    /// its [`Transport::ssh_params`]).
    pub host_conn: &'a dyn Transport,
}

impl ModuleCtx<'_> {
    /// Runs a POSIX `sh` script on the host, with become and environment applied; `stdin`
    /// is the script's own standard input. The script itself travels on stdin too (see
    /// [`crate::shell::invocation`]), so nothing of it shows in the host's process list.
    pub async fn run(&self, script: &str, stdin: Option<&[u8]>) -> Result<ExecOutput, ModuleError> {
        self.run_with_env(script, &self.env, stdin).await
    }

    /// [`ModuleCtx::run`] with an explicit environment (`raw` runs without the task's).
    pub async fn run_with_env(
        &self,
        script: &str,
        env: &[(String, String)],
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, ModuleError> {
        let inv = invocation(script, env, self.become_.as_ref(), stdin);
        let out = self.conn.exec(&inv.command, Some(&inv.stdin)).await?;
        if let Some(b) = &self.become_
            && let Some(msg) = become_failure(b, out.rc, &out.stderr_str())
        {
            return Err(ModuleError::Become(msg));
        }
        Ok(out)
    }
}

/// A module implementation. `run` is boxed so modules can live in one registry table.
pub trait Module: Send + Sync {
    fn spec(&self) -> &'static ModuleSpec;
    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>>;
}

/// Modules whose Ansible home is a collection rather than ansible.builtin, so that their
/// collection names resolve too (and no other module's does): `ansible.posix.sysctl` is
/// `sysctl`, but `ansible.posix.copy` is an unknown module, as it is in Ansible.
const COLLECTIONS: &[(&str, &[&str])] = &[
    (
        "community.general.",
        &[
            "ini_file",
            "archive",
            "timezone",
            "locale_gen",
            "modprobe",
            "pam_limits",
            "alternatives",
            "supervisorctl",
            "make",
            "npm",
            "ufw",
            "htpasswd",
        ],
    ),
    (
        "ansible.posix.",
        &["sysctl", "mount", "acl", "synchronize", "authorized_key"],
    ),
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

/// Every module strata ships, in one folder per family under `src/modules/`.
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
        &control::ping::Ping,
        &control::setup::Setup,
        &control::include_vars::IncludeVars,
        &control::group_by::GroupBy,
        &control::add_host::AddHost,
        &control::validate_argument_spec::ValidateArgumentSpec,
        &net::wait_for::WaitFor,
        &control::wait_for_connection::WaitForConnection,
        // Async jobs (the `async` keyword's status and cleanup).
        &control::async_status::AsyncStatus,
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
        &accounts::getent::Getent,
        // Packages.
        &packages::apt::Apt,
        &packages::apt_repository::AptRepository,
        &packages::package::Package,
        // System configuration (community.general) and service facts.
        &system::timezone::Timezone,
        &system::locale_gen::LocaleGen,
        &system::modprobe::Modprobe,
        &system::pam_limits::PamLimits,
        &system::alternatives::Alternatives,
        &services::service_facts::ServiceFacts,
        // Facts and run statistics (issue 17, late refusal's branch).
        &control::gather_facts::GatherFacts,
        &control::set_stats::SetStats,
        // Tools: supervisord, make, npm, expect, rsync.
        &tools::supervisorctl::Supervisorctl,
        &tools::synchronize::Synchronize,
        &tools::make::Make,
        &tools::expect::Expect,
        &tools::npm::Npm,
        // Access: SSH trust, password files, packet filters.
        &access::known_hosts::KnownHosts,
        &access::authorized_key::AuthorizedKey,
        &access::htpasswd::Htpasswd,
        &access::iptables::Iptables,
        &access::ufw::Ufw,
        // Debian package tooling (apt keys, deb822 sources, debconf, dpkg selections, facts).
        &packages::apt_key::AptKey,
        &packages::deb822_repository::Deb822Repository,
        &packages::debconf::Debconf,
        &packages::dpkg_selections::DpkgSelections,
        &packages::package_facts::PackageFacts,
        // Finding, temporary, assembled and archived files, and ACLs (issue 17).
        &files::find::Find,
        &files::tempfile::TempFile,
        &files::assemble::Assemble,
        &files::archive::Archive,
        &files::acl::Acl,
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
        for (fqcn, name) in [
            ("ansible.builtin.known_hosts", "known_hosts"),
            ("ansible.builtin.iptables", "iptables"),
            ("ansible.posix.authorized_key", "authorized_key"),
            ("community.general.ufw", "ufw"),
            ("community.general.htpasswd", "htpasswd"),
        ] {
            assert_eq!(lookup(fqcn).map(|m| m.spec().name), Some(name), "{fqcn}");
            assert_eq!(lookup(name).map(|m| m.spec().name), Some(name), "{name}");
        }
        assert!(lookup("community.general.known_hosts").is_none());
        assert!(lookup("community.general.sysctl").is_none());
    }
}
