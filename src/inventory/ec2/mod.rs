//! The native EC2 inventory source: a `*.aws_ec2.yml` file with `plugin: aws_ec2` (or
//! `amazon.aws.aws_ec2`, `strata.aws_ec2`) builds hosts from `DescribeInstances`, with the
//! host variables, host names and constructed groups amazon.aws.aws_ec2 would give, without
//! Python or boto3.
//!
//! Order of work: parse and validate the configuration and resolve regions, endpoints and
//! static credentials (all errors located, nothing sent yet); then the cache or the API; then
//! the inventory. Any failure aborts the whole run before a host is contacted; Ansible would
//! only warn and carry on with no hosts.

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Span};
use crate::template::Templar;
use crate::yaml::Node;

use super::{Inventory, LoadOptions};

pub mod cache;
pub mod client;
pub mod config;
pub mod credentials;
pub mod hostnames;
pub mod imds;
pub mod instances;
pub mod sigv4;

use client::{Client, Ec2Error, Retry};
use config::Ec2Config;
use credentials::{Env, Source};

/// The group every EC2 host is put in (aws_ec2 does the same).
pub const GROUP: &str = "aws_ec2";

/// Whether a YAML document configures this source (its `plugin:` names it).
pub fn is_ec2_plugin(name: &str) -> bool {
    config::PLUGIN_NAMES.contains(&name)
}

/// One region to query.
struct Target {
    region: String,
    endpoint: String,
    aws_endpoint: bool,
}

fn region_shape_ok(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// Regions from the config, else `region`, else `AWS_REGION`/`AWS_DEFAULT_REGION`, else the
/// active profile's `region`. aws_ec2 would fall back to "every region"; strata asks instead,
/// since a surprise fan-out over all regions is slow and rarely meant.
fn regions(cfg: &Ec2Config, env: &Env) -> Result<Vec<String>, Diagnostic> {
    let mut out = cfg.regions.clone();
    if out.is_empty() {
        if let Some(r) = &cfg.region {
            out.push(r.value.clone());
        } else if let Some(r) = env.get("AWS_REGION").or(env.get("AWS_DEFAULT_REGION")) {
            out.push(r.to_string());
        } else if let Some(r) =
            credentials::active_profile(cfg, env).and_then(|p| p.settings.get("region").cloned())
        {
            out.push(r);
        }
    }
    if out.is_empty() {
        return Err(Diagnostic::new(
            cfg.span.clone(),
            format!("no AWS region for the EC2 inventory {}", cfg.path.display()),
        )
        .label("aws_ec2 configuration")
        .help("add `regions: [eu-west-1]` to the file, or set AWS_REGION"));
    }
    for (i, r) in out.iter().enumerate() {
        if !region_shape_ok(r) {
            let span = cfg
                .region_spans
                .get(i)
                .or(cfg.region.as_ref().map(|o| &o.span))
                .cloned()
                .unwrap_or_else(|| cfg.span.clone());
            return Err(Diagnostic::new(
                span,
                format!(
                    "unknown region `{r}` in the EC2 inventory {}",
                    cfg.path.display()
                ),
            )
            .label("not a region name")
            .help("region names look like `eu-west-1`"));
        }
    }
    Ok(out)
}

fn targets(cfg: &Ec2Config, env: &Env, regions: &[String]) -> Vec<Target> {
    let custom = cfg
        .endpoint_url
        .as_ref()
        .map(|e| e.value.clone())
        .or(env.get("AWS_ENDPOINT_URL_EC2").map(str::to_string))
        .or(env.get("AWS_ENDPOINT_URL").map(str::to_string));
    regions
        .iter()
        .map(|r| Target {
            region: r.clone(),
            endpoint: custom.clone().unwrap_or_else(|| client::aws_endpoint(r)),
            aws_endpoint: custom.is_none(),
        })
        .collect()
}

fn fail(cfg: &Ec2Config, msg: String, help: &str) -> Diagnostic {
    Diagnostic::new(
        cfg.span.clone(),
        format!("EC2 inventory {}: {msg}", cfg.path.display()),
    )
    .label("while querying this aws_ec2 source")
    .help(help.to_string())
}

fn ec2_failure(cfg: &Ec2Config, e: Ec2Error, source: &Source) -> Diagnostic {
    let help = match &e {
        Ec2Error::Auth { .. } => {
            format!("the credentials came from {source}; check the key, secret and session token")
        }
        Ec2Error::Forbidden { .. } => {
            format!("grant ec2:DescribeInstances to the identity from {source}")
        }
        Ec2Error::Unreachable { .. } => {
            "check the network, a proxy, or `endpoint_url`/AWS_ENDPOINT_URL".into()
        }
        Ec2Error::UnknownRegion { .. } => "fix `regions` (or AWS_REGION)".into(),
        Ec2Error::Throttled { .. } => {
            "the account's API rate limit is exhausted; retry later or enable `cache: true`".into()
        }
        _ => "see the message above".into(),
    };
    fail(cfg, e.to_string(), &help)
}

/// Runs the async query on its own small runtime on a separate thread, so inventory loading
/// stays a plain function whether or not the caller is inside tokio.
fn block_on<F: std::future::Future + Send>(f: F) -> F::Output
where
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cannot start a tokio runtime for the EC2 inventory")
                .block_on(f)
        })
        .join()
        .expect("EC2 inventory thread panicked")
    })
}

/// Queries every region: instances matched by an `exclude_filters` set are dropped, the rest
/// of every include set is merged without duplicates and sorted by instance id (aws_ec2's
/// `_query`).
async fn query(
    cfg: &Ec2Config,
    env: &Env,
    targets: &[Target],
    creds: Option<(sigv4::Credentials, Source)>,
) -> Result<(Vec<Map<String, Value>>, Vec<String>), Diagnostic> {
    let (creds, source) = match creds {
        Some(c) => c,
        None => match imds::role_credentials(env).await {
            Ok((c, role)) => (c, Source::InstanceRole { role }),
            Err(e) => {
                return Err(fail(
                    cfg,
                    format!("no AWS credentials found ({e})"),
                    "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE (~/.aws/credentials), `profile:` in the file, or run on an instance with a role",
                ));
            }
        },
    };
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| fail(cfg, format!("cannot set up HTTP: {e}"), "this is a bug"))?;
    // Regions are independent: query them concurrently, merge in the configured order.
    let per_region = targets.iter().map(|t| {
        let client = Client {
            http: http.clone(),
            endpoint: t.endpoint.clone(),
            aws_endpoint: t.aws_endpoint,
            region: t.region.clone(),
            credentials: creds.clone(),
            retry: retry_policy(env),
        };
        query_region(cfg, client, &source)
    });
    let mut instances: Vec<Map<String, Value>> = Vec::new();
    let mut warnings = Vec::new();
    for (found, warned) in futures::future::try_join_all(per_region).await? {
        instances.extend(found);
        warnings.extend(warned);
    }
    instances.sort_by_key(instance_id);
    Ok((instances, warnings))
}

/// One region: exclude sets first, then every include set, without duplicates.
async fn query_region(
    cfg: &Ec2Config,
    client: Client,
    source: &Source,
) -> Result<(Vec<Map<String, Value>>, Vec<String>), Diagnostic> {
    let mut warnings = Vec::new();
    let mut fetch = async |set: &Vec<config::Filter>| {
        match client
            .describe_instances(&config::with_state_default(set.clone()))
            .await
        {
            Ok(found) => Ok(found),
            // aws_ec2's strict_permissions: false skips a region it may not read.
            Err(e @ Ec2Error::Forbidden { .. }) if !cfg.strict_permissions => {
                warnings.push(format!(
                    "EC2 inventory {}: skipping region {}: {e}",
                    cfg.path.display(),
                    client.region
                ));
                Ok(Vec::new())
            }
            Err(e) => Err(ec2_failure(cfg, e, source)),
        }
    };
    let mut seen = std::collections::HashSet::new();
    let mut instances = Vec::new();
    for set in &cfg.exclude_filters {
        seen.extend(fetch(set).await?.iter().map(instance_id));
    }
    for set in &cfg.include_filters {
        for i in fetch(set).await? {
            if seen.insert(instance_id(&i)) {
                instances.push(i);
            }
        }
    }
    Ok((instances, warnings))
}

/// Throttling retries; `STRATA_EC2_MAX_ATTEMPTS` tunes the count (at least 1).
fn retry_policy(env: &Env) -> Retry {
    let mut r = Retry::default();
    if let Some(n) = env
        .get("STRATA_EC2_MAX_ATTEMPTS")
        .and_then(|v| v.parse::<u32>().ok())
    {
        r.attempts = n.max(1);
    }
    r
}

fn instance_id(i: &Map<String, Value>) -> String {
    i.get("instance_id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Loads one aws_ec2 configuration into the inventory.
pub fn load(
    inv: &mut Inventory,
    doc: &Node,
    path: &Path,
    opts: &LoadOptions,
) -> Result<(), Diagnostic> {
    let templar = Templar::new();
    let cfg = config::parse(doc, path, &templar)?;
    let env = Env::from_process();
    let regions = regions(&cfg, &env)?;
    let targets = targets(&cfg, &env, &regions);
    let creds = credentials::static_chain(&cfg, &env).map_err(|m| {
        let span = cfg
            .profile
            .as_ref()
            .map(|p| p.span.clone())
            .unwrap_or_else(|| cfg.span.clone());
        Diagnostic::new(span, format!("EC2 inventory {}: {m}", path.display())).label("credentials")
    })?;
    let identity = match &creds {
        Some((c, _)) => format!("key:{}", c.access_key_id),
        None => format!("instance-role:{}", imds::endpoint(&env)),
    };
    let endpoints: Vec<String> = targets
        .iter()
        .map(|t| format!("{}={}", t.region, t.endpoint))
        .collect();
    let cache_file = cache::path(
        &cfg.cache_dir.clone().unwrap_or_else(|| cache::dir(&env)),
        cfg.cache_prefix.as_deref().unwrap_or("aws_ec2-"),
        &cache::key(&[&cfg.text, &endpoints.join(","), &identity]),
    );
    let cached = if cfg.cache && !opts.flush_cache {
        cache::get(&cache_file, Duration::from_secs(cfg.cache_timeout))
    } else {
        None
    };
    let instances = match cached {
        Some(i) => i,
        None => {
            let (fresh, warnings) = block_on(query(&cfg, &env, &targets, creds))?;
            for w in warnings {
                inv.warn(w);
            }
            if cfg.cache
                && let Err(e) = cache::put(&cache_file, &fresh)
            {
                inv.warn(format!(
                    "cannot write the EC2 inventory cache {}: {e}",
                    cache_file.display()
                ));
            }
            fresh
        }
    };
    populate(inv, &cfg, &instances, &templar)
}

/// aws_ec2's optional reshaping of the variables: `ec2_tag_<Key>` copies of the tags, then
/// `hostvars_prefix`/`hostvars_suffix` on every name.
fn host_vars(cfg: &Ec2Config, vars: &Map<String, Value>) -> Map<String, Value> {
    let mut out = vars.clone();
    if cfg.ec2_tag_keys
        && let Some(Value::Object(tags)) = vars.get("tags")
    {
        for (k, v) in tags {
            out.insert(format!("ec2_tag_{k}"), v.clone());
        }
    }
    if cfg.hostvars_prefix.is_empty() && cfg.hostvars_suffix.is_empty() {
        return out;
    }
    out.into_iter()
        .map(|(k, v)| {
            (
                format!("{}{k}{}", cfg.hostvars_prefix, cfg.hostvars_suffix),
                v,
            )
        })
        .collect()
}

fn populate(
    inv: &mut Inventory,
    cfg: &Ec2Config,
    instances: &[Map<String, Value>],
    templar: &Templar,
) -> Result<(), Diagnostic> {
    let source = std::path::absolute(&cfg.path).unwrap_or_else(|_| cfg.path.clone());
    let span: Span = cfg.span.clone();
    inv.add_group(GROUP, span.clone());
    let mut seen: std::collections::HashMap<String, String> = Default::default();
    for vars in instances {
        let Some(name) = hostnames::hostname(&cfg.hostnames, vars) else {
            continue;
        };
        // aws_ec2 silently merges instances that get the same name; say so at least.
        let id = instance_id(vars);
        if let Some(first) = seen.insert(name.clone(), id.clone()) {
            inv.warn(format!(
                "EC2 inventory {}: instances {first} and {id} both get host name `{name}`; the variables of {id} win (choose unique `hostnames`)",
                cfg.path.display()
            ));
        }
        inv.add_host(&name, Some(GROUP), span.clone(), Some(source.clone()));
        let shaped = host_vars(cfg, vars);
        for (k, v) in &shaped {
            inv.set_host_var(&name, k, v.clone());
        }
        // strata connects over SSH: without `compose: {ansible_host: ...}` the private address
        // is the one reachable from inside the VPC, where an orchestrator normally runs.
        if let Some(ip) = vars.get("private_ip_address").and_then(Value::as_str)
            && !ip.is_empty()
        {
            inv.set_host_var(&name, "ansible_host", Value::from(ip));
        }
        cfg.constructed.apply(inv, &name, &shaped, templar)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Ec2Config {
        // One file per call: tests run in parallel and would read each other's config.
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = crate::scratch::root().join(format!("strata-ec2mod-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("r.aws_ec2.yml");
        std::fs::write(&p, text).unwrap();
        let doc = crate::yaml::load_file(&p).unwrap();
        config::parse(&doc, &p, &Templar::new()).unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env(pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    #[test]
    fn regions_and_endpoints_fall_back_to_the_environment() {
        let none = env(&[("HOME", "/nonexistent")]);
        let c = cfg("plugin: aws_ec2\n");
        let e = regions(&c, &none).unwrap_err();
        assert!(e.message.contains("no AWS region"), "{e}");
        let r = regions(&c, &env(&[("AWS_DEFAULT_REGION", "eu-west-1")])).unwrap();
        assert_eq!(r, ["eu-west-1"]);
        let both = env(&[
            ("AWS_REGION", "eu-west-2"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
        ]);
        assert_eq!(regions(&c, &both).unwrap(), ["eu-west-2"]);
        let c2 = cfg("plugin: aws_ec2\nregions: [us-east-1, us-west-2]\n");
        assert_eq!(regions(&c2, &both).unwrap(), ["us-east-1", "us-west-2"]);
        let e = regions(
            &cfg("plugin: aws_ec2\nregions:\n  - us-east-1\n  - moon\n"),
            &none,
        )
        .unwrap_err();
        assert_eq!((e.span.line, e.span.col), (4, 5));

        let t = targets(&c2, &none, &["us-east-1".into()]);
        assert_eq!(t[0].endpoint, "https://ec2.us-east-1.amazonaws.com");
        assert!(t[0].aws_endpoint);
        let generic = env(&[("AWS_ENDPOINT_URL", "http://a:1")]);
        assert_eq!(
            targets(&c2, &generic, &["us-east-1".into()])[0].endpoint,
            "http://a:1"
        );
        let specific = env(&[
            ("AWS_ENDPOINT_URL", "http://a:1"),
            ("AWS_ENDPOINT_URL_EC2", "http://b:2"),
        ]);
        let t = targets(&c2, &specific, &["us-east-1".into()]);
        assert_eq!(t[0].endpoint, "http://b:2");
        assert!(!t[0].aws_endpoint);
        let own = cfg("plugin: aws_ec2\nendpoint_url: http://c:3\n");
        assert_eq!(
            targets(&own, &specific, &["x".into()])[0].endpoint,
            "http://c:3"
        );
    }

    #[test]
    fn populate_sets_address_groups_and_warns_about_shared_names() {
        let c = cfg(
            "plugin: aws_ec2\nhostnames: [tag:Name]\ncompose:\n  ansible_host: public_ip_address\n",
        );
        let inst = |id: &str, name: &str, ip: &str| {
            serde_json::json!({"instance_id": id, "tags": {"Name": name}, "private_ip_address": ip, "public_ip_address": "54.0.0.1"})
                .as_object()
                .unwrap()
                .clone()
        };
        let mut inv = Inventory::new();
        let list = [
            inst("i-1", "web", "10.0.0.1"),
            inst("i-2", "web", "10.0.0.2"),
            inst("i-3", "db", "10.0.0.3"),
        ];
        populate(&mut inv, &c, &list, &Templar::new()).unwrap();
        inv.reconcile();
        assert_eq!(inv.group_hosts(GROUP), ["web", "db"]);
        assert_eq!(inv.host("web").unwrap().vars["instance_id"], "i-2");
        // compose wins over the private-IP default.
        assert_eq!(inv.host("db").unwrap().vars["ansible_host"], "54.0.0.1");
        assert!(
            inv.warnings()
                .iter()
                .any(|w| w.contains("i-1 and i-2 both get host name `web`")),
            "{:?}",
            inv.warnings()
        );
        let plain = cfg("plugin: aws_ec2\nhostnames: [tag:Name]\n");
        let mut inv = Inventory::new();
        populate(&mut inv, &plain, &list[2..], &Templar::new()).unwrap();
        assert_eq!(inv.host("db").unwrap().vars["ansible_host"], "10.0.0.3");
    }

    #[test]
    fn prefix_suffix_and_contrib_tag_keys_reshape_variables() {
        let c = cfg(
            "plugin: aws_ec2\nhostnames: [instance-id]\nhostvars_prefix: aws_\nhostvars_suffix: _x\nuse_contrib_script_compatible_ec2_tag_keys: true\nkeyed_groups:\n  - key: aws_tags_x.role\n",
        );
        let i = serde_json::json!({"instance_id": "i-9", "tags": {"role": "db"}, "private_ip_address": "10.1.1.1"});
        let mut inv = Inventory::new();
        populate(
            &mut inv,
            &c,
            &[i.as_object().unwrap().clone()],
            &Templar::new(),
        )
        .unwrap();
        let v = &inv.host("i-9").unwrap().vars;
        assert_eq!(v["aws_ec2_tag_role_x"], "db");
        assert_eq!(v["aws_instance_id_x"], "i-9");
        assert!(!v.contains_key("instance_id"));
        assert_eq!(v["ansible_host"], "10.1.1.1");
        assert_eq!(inv.group_hosts("_db"), ["i-9"]);
    }

    #[test]
    fn region_names_are_checked_for_shape() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-4",
        ] {
            assert!(region_shape_ok(ok), "{ok}");
        }
        for bad in ["useast1", "us-east", "mars", "US-EAST-1", "us-east-x"] {
            assert!(!region_shape_ok(bad), "{bad}");
        }
    }
}
