//! The EC2 Query API over HTTP: one signed `DescribeInstances` POST per page, following
//! `NextToken` until it is exhausted, with bounded, backed-off retries on throttling.
//! Failures are classified (credentials, unreachable endpoint, unknown region, throttling)
//! because each needs a different fix from the operator.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::config::Filter;
use super::instances::{self, ApiError};
use super::sigv4::{self, Credentials};

pub const API_VERSION: &str = "2016-11-15";

/// A region that exists in every AWS account, used to check that DNS works.
const REFERENCE_REGION: &str = "us-east-1";

/// Error codes meaning "these credentials are wrong" (as opposed to "not allowed").
const AUTH_CODES: [&str; 7] = [
    "AuthFailure",
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "ExpiredToken",
    "RequestExpired",
];

const THROTTLE_CODES: [&str; 5] = [
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "RequestThrottled",
    "SlowDown",
];

/// Server-side errors worth another try (the SDKs' "transient" class).
const TRANSIENT_CODES: [&str; 4] = [
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
];

#[derive(Debug, thiserror::Error)]
pub enum Ec2Error {
    #[error("AWS rejected the credentials ({code}: {message})")]
    Auth { code: String, message: String },
    #[error("the credentials are not allowed to call DescribeInstances ({code}: {message})")]
    Forbidden { code: String, message: String },
    #[error("cannot reach the EC2 endpoint {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },
    #[error("unknown region `{region}`: {reason}")]
    UnknownRegion { region: String, reason: String },
    #[error("EC2 is throttling requests ({code}); gave up after {attempts} attempts")]
    Throttled { code: String, attempts: u32 },
    #[error("EC2 answered {status}: {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("unexpected reply from {endpoint} (HTTP {status}): {reason}")]
    Malformed {
        endpoint: String,
        status: u16,
        reason: String,
    },
}

/// How throttled requests are retried: `attempts` tries in all, sleeping `base * 2^n`
/// (capped at `cap`) between them.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 5,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
        }
    }
}

/// One region's client.
pub struct Client {
    pub http: reqwest::Client,
    pub endpoint: String,
    /// True when the endpoint is AWS's own (`ec2.<region>.amazonaws.com`), so a name that does
    /// not resolve means the region does not exist.
    pub aws_endpoint: bool,
    pub region: String,
    pub credentials: Credentials,
    pub retry: Retry,
}

/// The standard endpoint of a region.
pub fn aws_endpoint(region: &str) -> String {
    if region.starts_with("cn-") {
        format!("https://ec2.{region}.amazonaws.com.cn")
    } else {
        format!("https://ec2.{region}.amazonaws.com")
    }
}

/// The form parameters of one DescribeInstances page.
pub fn params(filters: &[Filter], next_token: Option<&str>) -> Vec<(String, String)> {
    let mut p = vec![
        ("Action".to_string(), "DescribeInstances".to_string()),
        ("Version".to_string(), API_VERSION.to_string()),
    ];
    for (i, f) in filters.iter().enumerate() {
        let n = i + 1;
        p.push((format!("Filter.{n}.Name"), f.name.clone()));
        for (j, v) in f.values.iter().enumerate() {
            p.push((format!("Filter.{n}.Value.{}", j + 1), v.clone()));
        }
    }
    if let Some(t) = next_token {
        p.push(("NextToken".to_string(), t.to_string()));
    }
    p
}

fn source_chain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl Client {
    /// All instances matching `filters`, every page.
    pub async fn describe_instances(
        &self,
        filters: &[Filter],
    ) -> Result<Vec<Map<String, Value>>, Ec2Error> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let page = self.page(filters, token.as_deref()).await?;
            out.extend(page.instances);
            match page.next_token {
                Some(t) => {
                    // A server handing out the same token again would loop forever.
                    if !seen.insert(t.clone()) {
                        return Err(Ec2Error::Malformed {
                            endpoint: self.endpoint.clone(),
                            status: 200,
                            reason: format!("NextToken `{t}` repeated"),
                        });
                    }
                    token = Some(t);
                }
                None => return Ok(out),
            }
        }
    }

    async fn page(
        &self,
        filters: &[Filter],
        token: Option<&str>,
    ) -> Result<instances::Page, Ec2Error> {
        let body = sigv4::canonical_query(&params(filters, token));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (status, text) = self.post(&body).await?;
            if status == 200 {
                return instances::parse_page(&text).map_err(|reason| Ec2Error::Malformed {
                    endpoint: self.endpoint.clone(),
                    status,
                    reason,
                });
            }
            let err = instances::parse_error(&text);
            let throttled = match &err {
                Some(ApiError { code, .. }) => THROTTLE_CODES.contains(&code.as_str()),
                None => status == 503 || status == 429,
            };
            // AWS's own hiccups (InternalError and friends) get the same bounded retries; when
            // they persist, the last error is reported as it is.
            let transient = err
                .as_ref()
                .is_some_and(|e| TRANSIENT_CODES.contains(&e.code.as_str()));
            if transient && attempt < self.retry.attempts {
                tokio::time::sleep(self.backoff(attempt)).await;
                continue;
            }
            if throttled {
                let code = err
                    .as_ref()
                    .map(|e| e.code.clone())
                    .unwrap_or_else(|| format!("HTTP {status}"));
                if attempt >= self.retry.attempts {
                    return Err(Ec2Error::Throttled {
                        code,
                        attempts: attempt,
                    });
                }
                tokio::time::sleep(self.backoff(attempt)).await;
                continue;
            }
            return Err(self.classify(status, err, &text));
        }
    }

    /// Exponential backoff with up to 50% jitter, so parallel runs do not retry in lockstep.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.retry.base.saturating_mul(1 << (attempt - 1).min(16));
        let d = exp.min(self.retry.cap);
        let jitter = rand::random::<f64>() * 0.5;
        d.mul_f64(1.0 - jitter)
    }

    fn classify(&self, status: u16, err: Option<ApiError>, text: &str) -> Ec2Error {
        match err {
            Some(ApiError { code, message }) if AUTH_CODES.contains(&code.as_str()) => {
                Ec2Error::Auth { code, message }
            }
            Some(ApiError { code, message })
                if code == "UnauthorizedOperation" || code == "AccessDenied" =>
            {
                Ec2Error::Forbidden { code, message }
            }
            Some(ApiError { code, message }) => Ec2Error::Api {
                status,
                code,
                message,
            },
            None => {
                let snippet: String = text.chars().take(200).collect();
                let mut reason = format!("not an EC2 reply: {}", snippet.trim());
                if status >= 500 && !self.aws_endpoint {
                    reason.push_str(&format!(
                        " (does this endpoint know region `{}`?)",
                        self.region
                    ));
                    return Ec2Error::UnknownRegion {
                        region: self.region.clone(),
                        reason: format!("{} answered HTTP {status} with {reason}", self.endpoint),
                    };
                }
                Ec2Error::Malformed {
                    endpoint: self.endpoint.clone(),
                    status,
                    reason,
                }
            }
        }
    }

    async fn post(&self, body: &str) -> Result<(u16, String), Ec2Error> {
        let url = reqwest::Url::parse(&self.endpoint).map_err(|e| Ec2Error::Unreachable {
            endpoint: self.endpoint.clone(),
            reason: format!("invalid URL: {e}"),
        })?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => {
                return Err(Ec2Error::Unreachable {
                    endpoint: self.endpoint.clone(),
                    reason: "no host in URL".into(),
                });
            }
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let amz_date = sigv4::amz_date(now);
        let mut headers = vec![
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded; charset=utf-8".to_string(),
            ),
            ("host".to_string(), host),
            ("x-amz-date".to_string(), amz_date.clone()),
        ];
        if let Some(t) = &self.credentials.session_token {
            headers.push(("x-amz-security-token".to_string(), t.clone()));
        }
        let path = url.path().to_string();
        let signed = sigv4::sign(
            &sigv4::Request {
                method: "POST",
                path: &path,
                query: &[],
                headers: &headers,
                payload: body.as_bytes(),
                region: &self.region,
                service: "ec2",
                amz_date: &amz_date,
            },
            &self.credentials,
        );
        let mut req = self.http.post(url).body(body.to_string());
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        req = req.header("authorization", signed.authorization);
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Err(self.transport_error(&e).await),
        };
        let status = resp.status().as_u16();
        match resp.text().await {
            Ok(text) => Ok((status, text)),
            Err(e) => Err(self.transport_error(&e).await),
        }
    }

    /// A region endpoint that does not resolve means an unknown region, but only if DNS works
    /// at all: the endpoint of a region that surely exists is looked up to tell the two apart.
    async fn transport_error(&self, e: &reqwest::Error) -> Ec2Error {
        let reason = source_chain(e);
        let dns = reason.contains("dns error")
            || reason.contains("failed to lookup address")
            || reason.contains("Name or service not known");
        if self.aws_endpoint && dns && self.region != REFERENCE_REGION {
            let reference = format!("ec2.{REFERENCE_REGION}.amazonaws.com:443");
            if tokio::net::lookup_host(reference).await.is_ok() {
                return Ec2Error::UnknownRegion {
                    region: self.region.clone(),
                    reason: format!("{} does not resolve", self.endpoint),
                };
            }
        }
        Ec2Error::Unreachable {
            endpoint: self.endpoint.clone(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_numbered_form_parameters() {
        let f = [
            Filter {
                name: "tag:strata:stack".into(),
                values: vec!["prod".into()],
            },
            Filter {
                name: "instance-state-name".into(),
                values: vec!["running".into(), "pending".into()],
            },
        ];
        let body = sigv4::canonical_query(&params(&f, Some("tok/1")));
        assert_eq!(
            body,
            "Action=DescribeInstances&Filter.1.Name=tag%3Astrata%3Astack&Filter.1.Value.1=prod&Filter.2.Name=instance-state-name&Filter.2.Value.1=running&Filter.2.Value.2=pending&NextToken=tok%2F1&Version=2016-11-15"
        );
        assert_eq!(
            aws_endpoint("eu-west-1"),
            "https://ec2.eu-west-1.amazonaws.com"
        );
    }
}
