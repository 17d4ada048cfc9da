//! Inventory sources (`-i`): decides what kind each one is and feeds it into one [`Inventory`].
//! Several sources merge in order, later definitions winning, as in Ansible.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Span};

use super::Inventory;
use super::address::parse_address;

/// How sources are loaded; grows with the command-line flags that affect inventory sources.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Ignore cached results of dynamic sources (and refresh the cache): `--flush-cache`.
    pub flush_cache: bool,
}

/// Loads and merges inventory sources. A source is a YAML file (a static inventory, or the
/// configuration of a dynamic source such as `*.aws_ec2.yml`), or a comma-separated host list
/// (`-i 'web1,web2,'`) when no such path exists.
pub fn load(sources: &[PathBuf], opts: &LoadOptions) -> Result<Inventory, Diagnostic> {
    let mut inv = Inventory::new();
    for source in sources {
        load_source(&mut inv, source, opts)?;
    }
    inv.reconcile();
    Ok(inv)
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
        SourceKind::Directory => Err(Diagnostic::new(
            Span::file_only(path),
            format!("inventory directories are not supported yet: {shown}"),
        )
        .help("point -i at a YAML inventory file (INI inventories are not supported yet)")),
        SourceKind::Ini => Err(unsupported_ini(path, None)),
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
            "give a YAML inventory file, or a comma-separated host list such as `-i 'web1,web2,'`",
        )),
        // No extension: Ansible tries the YAML parser first and falls back to INI.
        SourceKind::Unknown => {
            let doc = crate::yaml::load_file(path);
            match doc {
                Ok(doc) if super::yaml::looks_like_inventory(&doc) => {
                    super::yaml::populate(inv, &doc, path)
                }
                Ok(_) => Err(unsupported_ini(path, None)),
                Err(e) => Err(unsupported_ini(path, Some(e))),
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

fn unsupported_ini(path: &Path, yaml_error: Option<Diagnostic>) -> Diagnostic {
    let d = Diagnostic::new(
        Span::file_only(path),
        format!("INI inventories are not supported yet: {}", path.display()),
    );
    match yaml_error {
        Some(e) => d.help(format!(
            "rewrite it in Ansible's YAML inventory format; it is not valid YAML either ({e})"
        )),
        None => d.help("rewrite it in Ansible's YAML inventory format (`all: {hosts: ...}`)"),
    }
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
