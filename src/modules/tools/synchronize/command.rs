//! The rsync command line, built as ansible.posix's module builds it: options in the module's
//! order, the `--rsh` ssh command from the host's connection settings, and one command string
//! (Ansible's `cmd`) whose words are then split as Python's `shlex.split` splits it, so
//! `rsync_opts` given as `"--exclude=a b"` are two words here as there.

use std::path::Path;

use crate::modules::ModuleError;
use crate::transport::ssh::{HostKeyPolicy, SshParams};

/// The marker the module puts before each itemized line: a line with it is a change.
pub const CHANGED: &str = "<<CHANGED>>";

/// Python's `shlex.quote` (`sh_quote` escapes a quote differently, and `cmd` is compared).
pub fn py_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

/// The module's options, after the action plugin filled in the connection's part.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub src: String,
    pub dest: String,
    pub dest_port: Option<i64>,
    pub delete: bool,
    pub private_key: Option<String>,
    pub rsync_path: Option<String>,
    pub archive: bool,
    pub checksum: bool,
    pub compress: bool,
    pub existing_only: bool,
    pub dirs: bool,
    pub recursive: Option<bool>,
    pub links: Option<bool>,
    pub copy_links: bool,
    pub perms: Option<bool>,
    pub times: Option<bool>,
    pub owner: Option<bool>,
    pub group: Option<bool>,
    pub rsync_timeout: i64,
    pub rsync_opts: Vec<String>,
    /// `use_ssh_args`: the host's own ssh options, as strata parsed them.
    pub ssh_args: Option<String>,
    pub ssh_connection_multiplexing: bool,
    pub partial: bool,
    pub verify_host: bool,
    pub delay_updates: bool,
    pub link_dest: Vec<String>,
    pub check_mode: bool,
}

/// `is_rsh_needed`: a `host:path` on either side, and no `rsync://`.
pub fn rsh_needed(src: &str, dest: &str) -> bool {
    if src.starts_with("rsync://") || dest.starts_with("rsync://") {
        return false;
    }
    src.contains(':') || dest.contains(':')
}

/// Ansible's command string, with `rsync` and `ssh` as given (absolute paths).
pub fn command_string(o: &Options, rsync: &str, ssh: &str) -> Result<String, ModuleError> {
    let mut cmd: Vec<String> = vec![rsync.to_string()];
    let mut flag = |on: bool, f: &str| {
        if on {
            cmd.push(f.to_string());
        }
    };
    flag(o.delay_updates, "--delay-updates");
    flag(o.delay_updates, "-F");
    flag(o.compress, "--compress");
    if o.rsync_timeout != 0 {
        cmd.push(format!("--timeout={}", o.rsync_timeout));
    }
    let mut flag = |on: bool, f: &str| {
        if on {
            cmd.push(f.to_string());
        }
    };
    flag(o.check_mode, "--dry-run");
    flag(o.delete, "--delete-after");
    flag(o.existing_only, "--existing");
    flag(o.checksum, "--checksum");
    flag(o.copy_links, "--copy-links");
    if o.archive {
        flag(true, "--archive");
        for (v, f) in [
            (o.recursive, "--no-recursive"),
            (o.links, "--no-links"),
            (o.perms, "--no-perms"),
            (o.times, "--no-times"),
            (o.owner, "--no-owner"),
            (o.group, "--no-group"),
        ] {
            flag(v == Some(false), f);
        }
    } else {
        for (v, f) in [
            (o.recursive, "--recursive"),
            (o.links, "--links"),
            (o.perms, "--perms"),
            (o.times, "--times"),
            (o.owner, "--owner"),
            (o.group, "--group"),
        ] {
            flag(v == Some(true), f);
        }
    }
    flag(o.dirs, "--dirs");
    if o.src.starts_with("rsync://") && o.dest.starts_with("rsync://") {
        return Err(ModuleError::Args(
            "either src or dest must be a localhost".into(),
        ));
    }
    if rsh_needed(&o.src, &o.dest) && !o.rsync_opts.iter().any(|x| x.contains("--rsh")) {
        let mut ssh_cmd = vec![ssh.to_string()];
        if !o.ssh_connection_multiplexing {
            ssh_cmd.extend(["-S".into(), "none".into()]);
        }
        if let Some(k) = &o.private_key {
            ssh_cmd.extend(["-i".into(), k.clone()]);
        }
        if let Some(p) = o.dest_port {
            ssh_cmd.extend(["-o".into(), format!("Port={p}")]);
        }
        if !o.verify_host {
            ssh_cmd.extend([
                "-o".into(),
                "StrictHostKeyChecking=no".into(),
                "-o".into(),
                "UserKnownHostsFile=/dev/null".into(),
            ]);
        }
        let mut s = ssh_cmd
            .iter()
            .map(|w| py_quote(w))
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(a) = o.ssh_args.as_deref().filter(|a| !a.is_empty()) {
            s.push(' ');
            s.push_str(a);
        }
        cmd.push(format!("--rsh={}", py_quote(&s)));
    }
    if let Some(p) = &o.rsync_path {
        cmd.push(format!("--rsync-path={}", py_quote(p)));
    }
    cmd.extend(o.rsync_opts.iter().cloned());
    if o.partial {
        cmd.push("--partial".into());
    }
    if !o.link_dest.is_empty() {
        cmd.extend(["-H".into(), "-vv".into()]);
        let dest_dir = abspath(
            Path::new(&o.dest)
                .parent()
                .map(|p| p.to_string_lossy().into_owned())
                .as_deref()
                .unwrap_or(""),
        );
        for x in &o.link_dest {
            let link = abspath(x);
            if dest_dir.starts_with(&link) {
                return Err(ModuleError::Args(format!(
                    "Hardlinking into a subdirectory of the source would cause recursion. {dest_dir} and {}",
                    o.dest
                )));
            }
            cmd.push(format!("--link-dest={link}"));
        }
    }
    cmd.push(format!(
        "--out-format={}",
        py_quote(&format!("{CHANGED}%i %n%L"))
    ));
    cmd.push(py_quote(&o.src));
    cmd.push(py_quote(&o.dest));
    Ok(cmd.join(" "))
}

/// Python's `os.path.abspath` on the controller, without touching the file system.
fn abspath(p: &str) -> String {
    let base = if p.starts_with('/') {
        std::path::PathBuf::new()
    } else {
        std::env::current_dir().unwrap_or_default()
    };
    let mut parts: Vec<String> = Vec::new();
    for c in base.join(p).components() {
        match c {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(n) => parts.push(n.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    format!("/{}", parts.join("/"))
}

/// `use_ssh_args`: the host's ssh options as strata applies them, written as OpenSSH
/// options (Ansible passes its `ssh_args`, `ssh_common_args` and `ssh_extra_args` text; strata
/// has parsed them into its own settings, so it writes those). A jump host becomes a
/// `ProxyCommand` that carries the same host key and identity options, as strata's own
/// connection through it checks the jump host with the target's settings; further hops ride
/// on `-J` inside it.
pub fn ssh_args_of(p: &SshParams) -> String {
    let mut common: Vec<String> = Vec::new();
    if let Some(k) = &p.known_hosts {
        common.push(format!(
            "-o UserKnownHostsFile={}",
            py_quote(&k.to_string_lossy())
        ));
    }
    let policy = match p.host_key_policy {
        HostKeyPolicy::Strict => "yes",
        HostKeyPolicy::AcceptNew => "accept-new",
        HostKeyPolicy::Insecure => "no",
    };
    common.push(format!("-o StrictHostKeyChecking={policy}"));
    if let Some(a) = &p.identity_agent {
        common.push(format!(
            "-o IdentityAgent={}",
            py_quote(&a.to_string_lossy())
        ));
    }
    common.push(format!(
        "-o ConnectTimeout={}",
        p.connect_timeout.as_secs().max(1)
    ));
    let mut out = common.clone();
    if let Some((last, before)) = p.jump.split_last() {
        let hop = |j: &crate::transport::ssh::JumpHost| {
            let user = j.user.clone().unwrap_or_else(|| p.user.clone());
            let host = if j.host.contains(':') {
                format!("[{}]", j.host)
            } else {
                j.host.clone()
            };
            format!("{user}@{host}:{}", j.port)
        };
        let mut proxy = vec!["ssh".to_string()];
        proxy.extend(common.iter().cloned());
        if let Some(k) = &p.key_file {
            proxy.push(format!("-i {}", py_quote(&k.to_string_lossy())));
        }
        if !before.is_empty() {
            proxy.push(format!(
                "-J {}",
                before.iter().map(hop).collect::<Vec<_>>().join(",")
            ));
        }
        let user = last.user.clone().unwrap_or_else(|| p.user.clone());
        proxy.push(format!(
            "-p {} -W %h:%p {}",
            last.port,
            py_quote(&format!("{user}@{}", last.host))
        ));
        out.push(format!(
            "-o {}",
            py_quote(&format!("ProxyCommand={}", proxy.join(" ")))
        ));
    }
    out.join(" ")
}

/// `_format_rsync_rsh_target`: `user@host:path`, `[user@host]:path` for IPv6, a path that
/// already names a host kept as is.
pub fn rsh_target(host: &str, path: &str, user: Option<&str>) -> String {
    if path.starts_with("rsync://") {
        return path.to_string();
    }
    let prefix = user.map(|u| format!("{u}@")).unwrap_or_default();
    if host.contains(':') {
        return format!("[{prefix}{host}]:{path}");
    }
    if !path.contains(':') {
        format!("{prefix}{host}:{path}")
    } else if !path.contains('@') {
        format!("{prefix}{path}")
    } else {
        path.to_string()
    }
}

/// The result of a finished rsync: `changed` from the itemized lines, the output without the
/// markers as `msg`, its non-empty lines as `stdout_lines`.
pub fn read_output(out: &str, link_dest: bool) -> (bool, String, Vec<String>) {
    let changed = if link_dest {
        !out.contains(&format!("{CHANGED}."))
    } else {
        out.contains(CHANGED)
    };
    let clean = out.replace(CHANGED, "");
    let lines = clean
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    (changed, clean, lines)
}
