//! The credential chain, in the order the AWS SDKs and amazon.aws use it:
//! 1. keys in the inventory configuration (`access_key`/`secret_key`/`session_token`), or its
//!    `profile`;
//! 2. the environment (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, and
//!    Ansible's older `AWS_ACCESS_KEY`/`AWS_SECRET_KEY`);
//! 3. the shared files: `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`) and
//!    `~/.aws/config` (`AWS_CONFIG_FILE`, `[profile name]` sections), profile `AWS_PROFILE` or
//!    `default`;
//! 4. the instance role through IMDSv2 (see `imds.rs`), unless `AWS_EC2_METADATA_DISABLED`.
//!
//! The environment is passed in as a snapshot ([`Env`]) so the chain is testable without
//! mutating the process environment.

use std::collections::HashMap;
use std::path::PathBuf;

use super::config::Ec2Config;
use super::sigv4::Credentials;

/// A snapshot of the environment variables the EC2 source reads.
#[derive(Clone, Debug, Default)]
pub struct Env(pub HashMap<String, String>);

impl Env {
    pub fn from_process() -> Env {
        Env(std::env::vars().collect())
    }

    /// A variable, treating an empty value as unset (as the SDKs do).
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn home(&self) -> PathBuf {
        PathBuf::from(self.get("HOME").unwrap_or("/root"))
    }

    pub fn credentials_file(&self) -> PathBuf {
        self.get("AWS_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.home().join(".aws/credentials"))
    }

    pub fn config_file(&self) -> PathBuf {
        self.get("AWS_CONFIG_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.home().join(".aws/config"))
    }
}

/// Where the credentials came from, for error messages ("the key from profile `ci` was
/// rejected" tells the operator what to fix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Config,
    Environment,
    Profile { name: String, file: PathBuf },
    InstanceRole { role: String },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Config => write!(f, "the inventory configuration"),
            Source::Environment => write!(f, "the environment (AWS_ACCESS_KEY_ID)"),
            Source::Profile { name, file } => {
                write!(f, "profile `{name}` in {}", file.display())
            }
            Source::InstanceRole { role } => write!(f, "instance role `{role}` (IMDSv2)"),
        }
    }
}

/// Settings of one profile from the shared files (credentials file wins over config file).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub settings: HashMap<String, String>,
    pub file: PathBuf,
}

/// Minimal INI reading as the AWS CLI does it: `[section]`, `key = value`, `#`/`;` comments.
fn ini_sections(text: &str) -> Vec<(String, HashMap<String, String>)> {
    let mut out: Vec<(String, HashMap<String, String>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((name.trim().to_string(), HashMap::new()));
        } else if let Some((k, v)) = line.split_once('=')
            && let Some((_, map)) = out.last_mut()
        {
            map.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    out
}

/// Looks a profile up in the credentials file (`[name]`) and the config file (`[profile name]`,
/// or `[default]`). `None` when neither file has it.
pub fn profile(env: &Env, name: &str) -> Option<Profile> {
    let mut found: Option<Profile> = None;
    let cfg = env.config_file();
    if let Ok(text) = std::fs::read_to_string(&cfg) {
        for (section, map) in ini_sections(&text) {
            let matches =
                section == format!("profile {name}") || (name == "default" && section == "default");
            if matches {
                let p = found.get_or_insert_with(|| Profile {
                    settings: HashMap::new(),
                    file: cfg.clone(),
                });
                p.settings.extend(map);
            }
        }
    }
    let creds = env.credentials_file();
    if let Ok(text) = std::fs::read_to_string(&creds) {
        for (section, map) in ini_sections(&text) {
            if section == name {
                let p = found.get_or_insert_with(|| Profile {
                    settings: HashMap::new(),
                    file: creds.clone(),
                });
                if map.contains_key("aws_access_key_id") {
                    p.file = creds.clone();
                }
                p.settings.extend(map);
            }
        }
    }
    found
}

fn from_profile(p: &Profile, name: &str) -> Result<Option<(Credentials, Source)>, String> {
    let key = p.settings.get("aws_access_key_id");
    let secret = p.settings.get("aws_secret_access_key");
    match (key, secret) {
        (Some(k), Some(s)) => Ok(Some((
            Credentials {
                access_key_id: k.clone(),
                secret_access_key: s.clone(),
                session_token: p.settings.get("aws_session_token").cloned(),
            },
            Source::Profile {
                name: name.to_string(),
                file: p.file.clone(),
            },
        ))),
        (None, None) => Ok(None),
        _ => Err(format!(
            "profile `{name}` in {} has only one of aws_access_key_id and aws_secret_access_key",
            p.file.display()
        )),
    }
}

/// The part of the chain that needs no network: config keys, environment, shared files.
/// `Ok(None)` means "try the instance role next". An explicitly named profile that does not
/// exist is an error, not a fall-through: silently using other credentials would query the
/// wrong account.
pub fn static_chain(cfg: &Ec2Config, env: &Env) -> Result<Option<(Credentials, Source)>, String> {
    if let (Some(k), Some(s)) = (&cfg.access_key, &cfg.secret_key) {
        return Ok(Some((
            Credentials {
                access_key_id: k.value.clone(),
                secret_access_key: s.value.clone(),
                session_token: cfg.session_token.as_ref().map(|t| t.value.clone()),
            },
            Source::Config,
        )));
    }
    if let Some(p) = &cfg.profile {
        return named_profile(env, &p.value).map(Some);
    }
    let key = env.get("AWS_ACCESS_KEY_ID").or(env.get("AWS_ACCESS_KEY"));
    let secret = env
        .get("AWS_SECRET_ACCESS_KEY")
        .or(env.get("AWS_SECRET_KEY"));
    if let (Some(k), Some(s)) = (key, secret) {
        return Ok(Some((
            Credentials {
                access_key_id: k.to_string(),
                secret_access_key: s.to_string(),
                session_token: env
                    .get("AWS_SESSION_TOKEN")
                    .or(env.get("AWS_SECURITY_TOKEN"))
                    .map(str::to_string),
            },
            Source::Environment,
        )));
    }
    if let Some(name) = env.get("AWS_PROFILE").or(env.get("AWS_DEFAULT_PROFILE")) {
        return named_profile(env, name).map(Some);
    }
    match profile(env, "default") {
        Some(p) => from_profile(&p, "default"),
        None => Ok(None),
    }
}

fn named_profile(env: &Env, name: &str) -> Result<(Credentials, Source), String> {
    let p = profile(env, name).ok_or_else(|| {
        format!(
            "AWS profile `{name}` not found in {} or {}",
            env.credentials_file().display(),
            env.config_file().display()
        )
    })?;
    from_profile(&p, name)?.ok_or_else(|| {
        format!(
            "AWS profile `{name}` in {} has no aws_access_key_id/aws_secret_access_key",
            p.file.display()
        )
    })
}

/// The profile whose settings (such as `region`) apply, if any.
pub fn active_profile(cfg: &Ec2Config, env: &Env) -> Option<Profile> {
    let name = cfg
        .profile
        .as_ref()
        .map(|p| p.value.as_str())
        .or(env.get("AWS_PROFILE"))
        .unwrap_or("default");
    profile(env, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Templar;

    fn cfg(extra: &str) -> Ec2Config {
        let dir = crate::scratch::root().join(format!("strata-ec2cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.aws_ec2.yml");
        std::fs::write(&p, format!("plugin: aws_ec2\n{extra}")).unwrap();
        let doc = crate::yaml::load_file(&p).unwrap();
        super::super::config::parse(&doc, &p, &Templar::new()).unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env(pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    #[test]
    fn chain_order_config_then_env_then_profiles() {
        let dir = crate::scratch::root().join(format!("strata-ec2cred-f-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let creds = dir.join("credentials");
        let config = dir.join("config");
        std::fs::write(
            &creds,
            "[default]\naws_access_key_id = DEF\naws_secret_access_key = defsecret\n[ci]\naws_access_key_id=CI\naws_secret_access_key=cisecret\naws_session_token = tok\n",
        )
        .unwrap();
        std::fs::write(
            &config,
            "[profile cfgonly]\naws_access_key_id = CFG\naws_secret_access_key = cfgsecret\nregion = eu-west-3\n",
        )
        .unwrap();
        let files = [
            ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ];
        let key = |c: &Ec2Config, e: &Env| static_chain(c, e).unwrap().unwrap().0.access_key_id;

        let plain = cfg("");
        assert_eq!(key(&plain, &env(&files)), "DEF");
        let mut with_env = files.to_vec();
        with_env.extend([("AWS_ACCESS_KEY_ID", "ENV"), ("AWS_SECRET_ACCESS_KEY", "s")]);
        assert_eq!(key(&plain, &env(&with_env)), "ENV");
        let keys = cfg("access_key: CONF\nsecret_key: x\n");
        assert_eq!(key(&keys, &env(&with_env)), "CONF");
        let mut prof = files.to_vec();
        prof.push(("AWS_PROFILE", "ci"));
        let (c, src) = static_chain(&plain, &env(&prof)).unwrap().unwrap();
        assert_eq!(c.session_token.as_deref(), Some("tok"));
        assert_eq!(
            src,
            Source::Profile {
                name: "ci".into(),
                file: creds.clone()
            }
        );
        assert_eq!(key(&cfg("profile: cfgonly\n"), &env(&files)), "CFG");
        let region = active_profile(&cfg("profile: cfgonly\n"), &env(&files)).unwrap();
        assert_eq!(region.settings["region"], "eu-west-3");
        let err = static_chain(&cfg("profile: nope\n"), &env(&files)).unwrap_err();
        assert!(err.contains("profile `nope` not found"), "{err}");
        assert!(
            static_chain(&plain, &env(&[("HOME", "/nonexistent")]))
                .unwrap()
                .is_none()
        );
    }
}
