//! Inventory sources (`-i`): decides what kind each one is and feeds it into one [`Inventory`].
//! Several sources merge in order, later definitions winning, as in Ansible. After parsing, the
//! `group_vars/`/`host_vars/` beside each source are read (see [`super::vars_files`]).

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Span};

use super::Inventory;
use super::address::parse_address;
use super::vars_files::load_vars_dir;

/// How sources are loaded; grows with the command-line flags that affect inventory sources.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Ignore cached results of dynamic sources (and refresh the cache): `--flush-cache`.
    pub flush_cache: bool,
}

/// Loads and merges inventory sources. A source is a YAML or INI file (a static inventory),
/// the configuration of a dynamic source such as `*.aws_ec2.yml`, a directory of them, or a
/// comma-separated host list (`-i 'web1,web2,'`) when no such path exists.
pub fn load(sources: &[PathBuf], opts: &LoadOptions) -> Result<Inventory, Diagnostic> {
    let mut inv = Inventory::new();
    for source in sources {
        load_source(&mut inv, source, opts)?;
    }
    inv.reconcile();
    // Ansible looks for group_vars/host_vars in each `-i` source's directory (the source
    // itself for a directory), once per source, in `-i` order.
    let mut dirs = Vec::new();
    for source in sources.iter().filter(|s| s.exists()) {
        let dir = if source.is_dir() {
            source.as_path()
        } else {
            source.parent().unwrap_or(Path::new(""))
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        for sub in ["group_vars", "host_vars"] {
            let p = dir.join(sub);
            if p.exists() && !p.is_dir() {
                inv.warn(format!(
                    "Found {sub} that is not a directory, skipping: {}",
                    p.display()
                ));
            }
        }
        dirs.push(load_vars_dir(dir, &inv)?);
    }
    inv.vars_dirs = dirs;
    Ok(inv)
}

/// Ansible's `IGNORED` for directory sources: hidden entries, vars directories and these
/// extensions (`REJECT_EXTS` plus `.orig`, `.cfg`, `.retry`).
fn ignored_in_dir(name: &str) -> bool {
    const EXTS: [&str; 12] = [
        ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg",
        ".retry",
    ];
    name.starts_with('.')
        || matches!(name, "host_vars" | "group_vars" | "vars_plugins")
        || EXTS.iter().any(|e| name.ends_with(e))
}

/// Every entry of a directory source, sorted by name, recursing into subdirectories.
fn load_directory(inv: &mut Inventory, dir: &Path, opts: &LoadOptions) -> Result<(), Diagnostic> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Diagnostic::new(
            Span::file_only(dir),
            format!("cannot read inventory directory: {e}"),
        )
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !ignored_in_dir(n))
        .collect();
    names.sort();
    for n in names {
        load_source(inv, &dir.join(n), opts)?;
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum SourceKind {
    HostList,
    Yaml,
    Directory,
    Ini,
    Script,
    Unknown,
}

fn kind_of(path: &Path) -> SourceKind {
    if !path.exists() {
        return if path.to_string_lossy().contains(',') {
            SourceKind::HostList
        } else {
            SourceKind::Unknown
        };
    }
    if path.is_dir() {
        return SourceKind::Directory;
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("yml" | "yaml" | "json") => SourceKind::Yaml,
        None => SourceKind::Unknown,
        Some(_) if is_executable(path) => SourceKind::Script,
        Some(_) => SourceKind::Ini,
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

fn load_source(inv: &mut Inventory, path: &Path, opts: &LoadOptions) -> Result<(), Diagnostic> {
    let shown = path.display();
    match kind_of(path) {
        SourceKind::HostList => {
            parse_host_list(inv, &path.to_string_lossy());
            Ok(())
        }
        SourceKind::Yaml => load_yaml(inv, path, opts),
        SourceKind::Directory => load_directory(inv, path, opts),
        SourceKind::Ini => load_ini(inv, path, None),
        SourceKind::Script => Err(Diagnostic::new(
            Span::file_only(path),
            format!("dynamic inventory scripts are not supported: {shown}"),
        )
        .help("write the inventory as a YAML file")),
        SourceKind::Unknown if !path.exists() => Err(Diagnostic::new(
            Span::unknown(),
            format!("inventory source not found: {shown}"),
        )
        .help(
            "give a YAML or INI inventory file or directory, or a comma-separated host list such as `-i 'web1,web2,'`",
        )),
        // No extension: Ansible tries the YAML parser first and falls back to INI.
        SourceKind::Unknown => {
            let doc = crate::yaml::load_file(path);
            match doc {
                Ok(doc) if super::yaml::looks_like_inventory(&doc) => {
                    super::yaml::populate(inv, &doc, path)
                }
                Ok(_) => load_ini(inv, path, None),
                Err(e) => load_ini(inv, path, Some(e)),
            }
        }
    }
}

fn load_yaml(inv: &mut Inventory, path: &Path, opts: &LoadOptions) -> Result<(), Diagnostic> {
    let doc = crate::yaml::load_file(path)?;
    if doc.is_null() {
        inv.warn(format!("inventory {} is empty", path.display()));
        return Ok(());
    }
    if let Some((k, v)) = doc
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("plugin")))
    {
        let plugin = v.scalar_string().unwrap_or_default();
        if super::ec2::is_ec2_plugin(&plugin) {
            return super::ec2::load(inv, &doc, path, opts);
        }
        return Err(k
            .error(format!("inventory plugin `{plugin}` is not supported yet"))
            .label("plugin configuration, not a YAML inventory"));
    }
    super::yaml::populate(inv, &doc, path)
}

/// An INI inventory. `yaml_error` is why a file without extension was not taken as YAML: it
/// is shown as a hint when the INI parse fails too, since the author may have meant YAML.
fn load_ini(
    inv: &mut Inventory,
    path: &Path,
    yaml_error: Option<Diagnostic>,
) -> Result<(), Diagnostic> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::new(
            Span::file_only(path),
            format!("cannot read inventory {}: {e}", path.display()),
        )
    })?;
    super::ini::populate(inv, &text, path).map_err(|d| match (yaml_error, &d.help) {
        (Some(y), None) => d.help(format!(
            "read as an INI inventory because it is not valid YAML ({y})"
        )),
        _ => d,
    })
}

/// Ansible's `host_list` source: every entry goes to `ungrouped`, `host:port` sets the port.
/// Entries that are not addresses are kept verbatim; ranges are not expanded.
fn parse_host_list(inv: &mut Inventory, list: &str) {
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, port) = match parse_address(entry) {
            Some((n, p)) if !n.contains('[') => (n, p),
            _ => (entry.to_string(), None),
        };
        if inv.contains_host(&name) {
            continue;
        }
        inv.add_host(&name, Some("ungrouped"), Span::unknown(), None);
        if let Some(p) = port {
            inv.set_host_var(&name, "ansible_port", serde_json::Value::from(p));
        }
    }
}
