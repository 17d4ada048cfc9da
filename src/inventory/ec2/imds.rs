//! Instance-role credentials from the EC2 instance metadata service, IMDSv2 only: a session
//! token is obtained with `PUT /latest/api/token` and sent with every read. (IMDSv1 is not
//! attempted: it is disabled on hardened instances and is the SSRF-prone variant.)
//!
//! The address is `AWS_EC2_METADATA_SERVICE_ENDPOINT` (the SDKs' variable), default
//! `http://169.254.169.254`. Timeouts are short: off EC2 nothing answers there, and the
//! operator should get the "no credentials" error quickly.

use std::time::Duration;

use serde_json::Value;

use super::credentials::Env;
use super::sigv4::Credentials;

pub const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
const TOKEN_TTL_SECONDS: &str = "21600";

/// Why no instance-role credentials could be had.
#[derive(Debug, thiserror::Error)]
pub enum ImdsError {
    #[error("instance metadata disabled by AWS_EC2_METADATA_DISABLED")]
    Disabled,
    #[error("instance metadata service at {endpoint} did not answer: {reason}")]
    Unreachable { endpoint: String, reason: String },
    #[error("instance metadata service at {endpoint}: {reason}")]
    Bad { endpoint: String, reason: String },
}

pub fn endpoint(env: &Env) -> String {
    env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .unwrap_or(DEFAULT_ENDPOINT)
        .trim_end_matches('/')
        .to_string()
}

pub fn disabled(env: &Env) -> bool {
    env.get("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Fetches the role's temporary credentials. Returns the role name too, for messages.
pub async fn role_credentials(env: &Env) -> Result<(Credentials, String), ImdsError> {
    if disabled(env) {
        return Err(ImdsError::Disabled);
    }
    let ep = endpoint(env);
    let unreachable = |e: reqwest::Error| ImdsError::Unreachable {
        endpoint: ep.clone(),
        reason: e.to_string(),
    };
    let bad = |reason: String| ImdsError::Bad {
        endpoint: ep.clone(),
        reason,
    };
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(3))
        .no_proxy()
        .build()
        .map_err(unreachable)?;
    let resp = http
        .put(format!("{ep}/latest/api/token"))
        .header("X-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL_SECONDS)
        .send()
        .await
        .map_err(unreachable)?;
    if !resp.status().is_success() {
        return Err(bad(format!(
            "token request (PUT /latest/api/token) answered HTTP {}",
            resp.status()
        )));
    }
    let token = resp.text().await.map_err(unreachable)?;
    let get = |path: String| {
        http.get(format!("{ep}{path}"))
            .header("X-aws-ec2-metadata-token", token.trim())
            .send()
    };
    let base = "/latest/meta-data/iam/security-credentials/";
    let resp = get(base.to_string()).await.map_err(unreachable)?;
    if !resp.status().is_success() {
        return Err(bad(format!(
            "no instance role attached (GET {base} answered HTTP {})",
            resp.status()
        )));
    }
    let roles = resp.text().await.map_err(unreachable)?;
    let role = roles
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or_else(|| bad("no instance role attached".into()))?
        .to_string();
    let resp = get(format!("{base}{role}")).await.map_err(unreachable)?;
    if !resp.status().is_success() {
        return Err(bad(format!(
            "credentials of role `{role}` answered HTTP {}",
            resp.status()
        )));
    }
    let body = resp.text().await.map_err(unreachable)?;
    let doc: Value = serde_json::from_str(&body)
        .map_err(|e| bad(format!("credentials of role `{role}` are not JSON: {e}")))?;
    if let Some(code) = doc.get("Code").and_then(Value::as_str)
        && code != "Success"
    {
        return Err(bad(format!("credentials of role `{role}`: Code {code}")));
    }
    let field = |k: &str| {
        doc.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad(format!("credentials of role `{role}` lack `{k}`")))
    };
    Ok((
        Credentials {
            access_key_id: field("AccessKeyId")?,
            secret_access_key: field("SecretAccessKey")?,
            session_token: Some(field("Token")?),
        },
        role,
    ))
}
