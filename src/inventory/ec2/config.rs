//! The `*.aws_ec2.yml` configuration file, validated completely before any request is made:
//! an unknown or misspelt key is a located error (Ansible would ignore some and fail late on
//! others), so an operator never gets an inventory built from half a configuration.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Span};
use crate::inventory::constructed::{self, Constructed, bool_of, string_of};
use crate::template::Templar;
use crate::yaml::{Node, Yaml};

/// Plugin names accepted in `plugin:`.
pub const PLUGIN_NAMES: [&str; 3] = ["aws_ec2", "amazon.aws.aws_ec2", "strata.aws_ec2"];

/// File names Ansible's aws_ec2 plugin accepts.
pub fn is_ec2_config_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with("aws_ec2.yml") || name.ends_with("aws_ec2.yaml")
}

/// One DescribeInstances filter (`Filter.N.Name` / `Filter.N.Value.M`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

/// One `hostnames` entry. `name` and `prefix` are preferences such as `tag:Name`,
/// `private-ip-address` or a literal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hostname {
    pub name: String,
    pub prefix: Option<String>,
    pub separator: String,
}

/// A string option with where it was written, for errors about its value.
#[derive(Clone, Debug)]
pub struct Opt {
    pub value: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Ec2Config {
    pub path: PathBuf,
    /// The file's text, part of the cache key.
    pub text: String,
    pub regions: Vec<String>,
    /// Where each of `regions` was written.
    pub region_spans: Vec<Span>,
    pub region: Option<Opt>,
    /// `filters` first (if any), then `include_filters`: each set is one query, results merge.
    pub include_filters: Vec<Vec<Filter>>,
    pub exclude_filters: Vec<Vec<Filter>>,
    pub hostnames: Vec<Hostname>,
    pub constructed: Constructed,
    pub cache: bool,
    pub cache_timeout: u64,
    /// `cache_connection`: the cache directory instead of strata's default.
    pub cache_dir: Option<PathBuf>,
    /// `cache_prefix`: start of the cache file name.
    pub cache_prefix: Option<String>,
    /// false: a region where DescribeInstances is not allowed is skipped (with a warning).
    pub strict_permissions: bool,
    pub hostvars_prefix: String,
    pub hostvars_suffix: String,
    /// `use_contrib_script_compatible_ec2_tag_keys`: also `ec2_tag_<Key>` variables.
    pub ec2_tag_keys: bool,
    pub access_key: Option<Opt>,
    pub secret_key: Option<Opt>,
    pub session_token: Option<Opt>,
    pub profile: Option<Opt>,
    pub endpoint_url: Option<Opt>,
    /// Where `plugin:` was written: errors about the whole source point here.
    pub span: Span,
}

/// Options of amazon.aws.aws_ec2 that strata does not implement: refused by name, so a config
/// that relies on them fails loudly instead of silently building a different inventory.
const UNSUPPORTED: [&str; 11] = [
    "allow_duplicated_hosts",
    "use_contrib_script_compatible_sanitization",
    "use_ssm_inventory",
    "include_route53_records",
    "route53_hostnames",
    "assume_role_arn",
    "iam_role_arn",
    "aws_ca_bundle",
    "validate_certs",
    "aws_config",
    "use_extra_vars",
];

/// (key, aliases) of the supported options, for the unknown-key help.
const KEYS: [&str; 23] = [
    "plugin",
    "regions",
    "region",
    "filters",
    "include_filters",
    "exclude_filters",
    "hostnames",
    "cache",
    "cache_timeout",
    "cache_plugin",
    "cache_connection",
    "cache_prefix",
    "access_key",
    "secret_key",
    "session_token",
    "profile",
    "endpoint_url",
    "strict_permissions",
    "hostvars_prefix",
    "hostvars_suffix",
    "use_contrib_script_compatible_ec2_tag_keys",
    "compose | groups | keyed_groups",
    "strict | leading_separator",
];

fn opt(v: &Node, what: &str) -> Result<Opt, Diagnostic> {
    Ok(Opt {
        value: string_of(v, what)?,
        span: v.span.clone(),
    })
}

fn string_list(v: &Node, what: &str) -> Result<Vec<String>, Diagnostic> {
    match &v.value {
        Yaml::Null => Ok(Vec::new()),
        Yaml::Seq(items) => items.iter().map(|i| string_of(i, what)).collect(),
        Yaml::Map(_) => Err(v
            .error(format!("`{what}` must be a list, found {}", v.kind()))
            .label("expected a list")),
        _ => Ok(vec![string_of(v, what)?]),
    }
}

/// `{name: value-or-list}` → filters, in the written order.
fn filter_set(v: &Node, what: &str) -> Result<Vec<Filter>, Diagnostic> {
    if v.is_null() {
        return Ok(Vec::new());
    }
    let Some(m) = v.as_map() else {
        return Err(v
            .error(format!(
                "`{what}` must be a mapping of filter names to values, found {}",
                v.kind()
            ))
            .label("expected e.g. `tag:strata:stack: prod`"));
    };
    m.iter()
        .map(|(k, val)| {
            let name = string_of(k, what)?;
            if name.is_empty() {
                return Err(k.error("empty filter name").label("filter name"));
            }
            let values = match &val.value {
                // Python's str() of a YAML boolean, as boto3 would send it.
                Yaml::Bool(b) => vec![if *b { "true".into() } else { "false".into() }],
                _ => string_list(val, &name)?,
            };
            Ok(Filter { name, values })
        })
        .collect()
}

fn filter_sets(v: &Node, what: &str) -> Result<Vec<Vec<Filter>>, Diagnostic> {
    match &v.value {
        Yaml::Null => Ok(Vec::new()),
        Yaml::Seq(items) => items.iter().map(|i| filter_set(i, what)).collect(),
        _ => Err(v
            .error(format!(
                "`{what}` must be a list of filter mappings, found {}",
                v.kind()
            ))
            .label("expected `- {tag:Name: web}`")),
    }
}

fn hostnames(v: &Node) -> Result<Vec<Hostname>, Diagnostic> {
    let Some(items) = v.as_seq() else {
        if v.is_null() {
            return Ok(Vec::new());
        }
        return Err(v
            .error(format!("`hostnames` must be a list, found {}", v.kind()))
            .label("expected a list such as `[tag:Name, private-ip-address]`"));
    };
    let mut out = Vec::new();
    for item in items {
        let h = match &item.value {
            Yaml::Map(m) => {
                let mut h = Hostname {
                    name: String::new(),
                    prefix: None,
                    separator: "_".into(),
                };
                for (k, val) in m {
                    match k.as_str().unwrap_or("") {
                        "name" => h.name = string_of(val, "name")?,
                        "prefix" => h.prefix = Some(string_of(val, "prefix")?),
                        "separator" => h.separator = string_of(val, "separator")?,
                        other => {
                            return Err(k
                                .error(format!("unknown hostnames option `{other}`"))
                                .label("expected name, prefix or separator"));
                        }
                    }
                }
                if h.name.is_empty() {
                    return Err(item
                        .error("a `name` key must be defined in a hostnames dictionary")
                        .label("no `name` here"));
                }
                h
            }
            Yaml::Seq(_) => {
                return Err(item
                    .error("a hostnames entry must be a string or a mapping")
                    .label("found a list"));
            }
            _ => Hostname {
                name: string_of(item, "hostnames")?,
                prefix: None,
                separator: "_".into(),
            },
        };
        for pref in std::iter::once(&h.name).chain(h.prefix.iter()) {
            if pref.contains('|') {
                return Err(item
                    .error(format!(
                        "Jinja filters in hostnames (`{pref}`) are not supported by strata"
                    ))
                    .label("use `compose` to derive variables instead"));
            }
        }
        out.push(h);
    }
    Ok(out)
}

/// Parses an already loaded document whose `plugin:` names the EC2 source.
pub fn parse(doc: &Node, path: &Path, templar: &Templar) -> Result<Ec2Config, Diagnostic> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let map = doc.as_map().unwrap_or(&[]);
    let plugin_span = map
        .iter()
        .find(|(k, _)| k.as_str() == Some("plugin"))
        .map(|(_, v)| v.span.clone())
        .unwrap_or_else(|| Span::file_only(path));
    if !is_ec2_config_name(path) {
        return Err(Diagnostic::new(
            plugin_span,
            format!(
                "the aws_ec2 inventory source needs a file name ending in `aws_ec2.yml` or `aws_ec2.yaml`: {}",
                path.display()
            ),
        )
        .label("aws_ec2 configuration")
        .help("rename the file, e.g. to `prod.aws_ec2.yml`, as Ansible requires"));
    }
    let mut c = Ec2Config {
        path: path.to_path_buf(),
        text,
        regions: Vec::new(),
        region_spans: Vec::new(),
        region: None,
        include_filters: Vec::new(),
        exclude_filters: Vec::new(),
        hostnames: Vec::new(),
        constructed: Constructed::default(),
        cache: false,
        cache_timeout: 3600,
        cache_dir: None,
        cache_prefix: None,
        strict_permissions: true,
        hostvars_prefix: String::new(),
        hostvars_suffix: String::new(),
        ec2_tag_keys: false,
        access_key: None,
        secret_key: None,
        session_token: None,
        profile: None,
        endpoint_url: None,
        span: plugin_span,
    };
    let mut filters: Option<Vec<Filter>> = None;
    for (k, v) in map {
        let key = k.scalar_string().unwrap_or_default();
        match key.as_str() {
            "plugin" => {}
            "regions" => {
                c.regions = string_list(v, "regions")?;
                c.region_spans = match v.as_seq() {
                    Some(items) => items.iter().map(|i| i.span.clone()).collect(),
                    None => vec![v.span.clone(); c.regions.len()],
                };
            }
            "region" | "aws_region" => c.region = Some(opt(v, &key)?),
            "filters" => filters = Some(filter_set(v, "filters")?),
            "include_filters" => c.include_filters = filter_sets(v, "include_filters")?,
            "exclude_filters" => c.exclude_filters = filter_sets(v, "exclude_filters")?,
            "hostnames" => c.hostnames = hostnames(v)?,
            "cache" => c.cache = bool_of(v, "cache")?,
            "strict_permissions" => c.strict_permissions = bool_of(v, &key)?,
            "hostvars_prefix" => c.hostvars_prefix = string_of(v, &key)?,
            "hostvars_suffix" => c.hostvars_suffix = string_of(v, &key)?,
            "use_contrib_script_compatible_ec2_tag_keys" => c.ec2_tag_keys = bool_of(v, &key)?,
            "cache_timeout" => {
                c.cache_timeout = match &v.value {
                    Yaml::Int(i) if *i >= 0 => *i as u64,
                    _ => v
                        .scalar_string()
                        .and_then(|s| s.trim().parse().ok())
                        .ok_or_else(|| {
                            v.error("`cache_timeout` must be a number of seconds")
                                .label("expected e.g. 3600")
                        })?,
                }
            }
            // Ansible's cache settings map onto strata's JSON-file cache.
            "cache_plugin" => {
                let p = string_of(v, &key)?;
                if !matches!(p.as_str(), "jsonfile" | "ansible.builtin.jsonfile") {
                    return Err(v
                        .error(format!("cache plugin `{p}` is not supported by strata"))
                        .label("strata caches to JSON files")
                        .help("use `cache_plugin: jsonfile` or leave it out"));
                }
            }
            "cache_connection" => {
                let dir = string_of(v, &key)?;
                c.cache_dir = Some(match dir.strip_prefix("~/") {
                    Some(rest) => {
                        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(rest)
                    }
                    None => PathBuf::from(dir),
                });
            }
            "cache_prefix" => c.cache_prefix = Some(string_of(v, &key)?),
            "access_key" | "aws_access_key_id" | "aws_access_key" => {
                c.access_key = Some(opt(v, &key)?)
            }
            "secret_key" | "aws_secret_access_key" | "aws_secret_key" => {
                c.secret_key = Some(opt(v, &key)?)
            }
            "session_token" | "aws_session_token" => c.session_token = Some(opt(v, &key)?),
            "profile" | "aws_profile" => c.profile = Some(opt(v, &key)?),
            "endpoint_url" | "aws_endpoint_url" => c.endpoint_url = Some(opt(v, &key)?),
            k2 if constructed::KEYS.contains(&k2) => {
                c.constructed.parse_key(k2, v, templar)?;
            }
            k2 if UNSUPPORTED.contains(&k2) => {
                return Err(k
                    .error(format!("aws_ec2 option `{k2}` is not supported by strata"))
                    .label("not supported")
                    .help("remove it; see the README's \"EC2 inventory\" section for what strata supports"));
            }
            _ => {
                return Err(k
                    .error(format!("unknown aws_ec2 inventory option `{key}`"))
                    .label("unknown key")
                    .help(format!("valid keys: {}", KEYS.join(", "))));
            }
        }
    }
    if let Some(p) = &c.profile
        && (c.access_key.is_some() || c.secret_key.is_some())
    {
        return Err(Diagnostic::new(
            p.span.clone(),
            "`profile` and `access_key`/`secret_key` are mutually exclusive",
        )
        .label("profile given here"));
    }
    if c.access_key.is_some() != c.secret_key.is_some() {
        let s = c
            .access_key
            .as_ref()
            .or(c.secret_key.as_ref())
            .expect("one is set");
        return Err(Diagnostic::new(
            s.span.clone(),
            "`access_key` and `secret_key` must be given together",
        )
        .label("only one of them is set"));
    }
    // aws_ec2's build_include_filters: `filters` is the first include set; none at all means
    // one query with no filter (besides the default state filter).
    let mut include = Vec::new();
    if let Some(f) = filters.filter(|f| !f.is_empty()) {
        include.push(f);
    }
    include.append(&mut c.include_filters);
    if include.is_empty() {
        include.push(Vec::new());
    }
    c.include_filters = include;
    Ok(c)
}

/// The instance-state default: strata pushes over SSH, so only instances that are running or
/// about to be are listed unless the configuration names states itself. (aws_ec2 also lists
/// `stopping` and `stopped`, which strata could only report as unreachable.)
pub fn with_state_default(mut set: Vec<Filter>) -> Vec<Filter> {
    if !set.iter().any(|f| f.name == "instance-state-name") {
        set.push(Filter {
            name: "instance-state-name".into(),
            values: vec!["running".into(), "pending".into()],
        });
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str, text: &str) -> Result<Ec2Config, Diagnostic> {
        let dir = crate::scratch::root().join(format!("strata-ec2cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        let doc = crate::yaml::load_file(&p).unwrap();
        parse(&doc, &p, &Templar::new())
    }

    #[test]
    fn parses_filters_hostnames_and_constructed_options() {
        let c = load(
            "a.aws_ec2.yml",
            "plugin: aws_ec2\nregions: [us-east-1]\nfilters:\n  tag:strata:stack: prod\n  instance-type: [t3.micro, t3.small]\nexclude_filters:\n  - tag:Name: skip\nhostnames:\n  - tag:Name\n  - name: private-ip-address\n    prefix: tag:env\n    separator: '-'\nkeyed_groups:\n  - key: tags.env\ncache: true\ncache_timeout: 60\n",
        )
        .unwrap();
        assert_eq!(c.regions, vec!["us-east-1"]);
        assert_eq!(c.include_filters.len(), 1);
        assert_eq!(
            c.include_filters[0][1],
            Filter {
                name: "instance-type".into(),
                values: vec!["t3.micro".into(), "t3.small".into()]
            }
        );
        assert_eq!(c.exclude_filters[0][0].values, vec!["skip"]);
        assert_eq!(c.hostnames[1].prefix.as_deref(), Some("tag:env"));
        assert_eq!(c.hostnames[1].separator, "-");
        assert_eq!(c.constructed.keyed_groups.len(), 1);
        assert!(c.cache);
        assert_eq!(c.cache_timeout, 60);
        let states = with_state_default(c.include_filters[0].clone());
        assert_eq!(states[2].values, vec!["running", "pending"]);
    }

    #[test]
    fn unknown_key_is_located() {
        let e = load(
            "b.aws_ec2.yml",
            "plugin: aws_ec2\nregions: [us-east-1]\nregoins: x\n",
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("unknown aws_ec2 inventory option `regoins`"),
            "{e}"
        );
        assert_eq!((e.span.line, e.span.col), (3, 1));
        let e = load(
            "c.aws_ec2.yml",
            "plugin: aws_ec2\nuse_ssm_inventory: true\n",
        )
        .unwrap_err();
        assert!(e.message.contains("not supported by strata"), "{e}");
    }

    #[test]
    fn file_name_must_end_in_aws_ec2() {
        let e = load("stack.yml", "plugin: aws_ec2\n").unwrap_err();
        assert!(e.message.contains("aws_ec2.yml"), "{e}");
        assert_eq!(e.span.line, 1);
    }

    #[test]
    fn explicit_state_filter_replaces_the_default() {
        let c = load(
            "d.aws_ec2.yaml",
            "plugin: amazon.aws.aws_ec2\nfilters:\n  instance-state-name: stopped\n",
        )
        .unwrap();
        let f = with_state_default(c.include_filters[0].clone());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].values, vec!["stopped"]);
    }
}
