//! A `postgres://` (or `postgresql://`) state URL: parsed once, with the password masked in
//! every message that names it.
//!
//! The driver parses the URL (libpq's syntax: `postgres://user:password@host:port/db?options`);
//! this file adds what strata refuses up front, so that a wrong URL is an input error at load
//! time, before any host is touched, rather than a connect failure later.

use std::time::Duration;

use tokio_postgres::Config;
use tokio_postgres::config::SslMode;

/// How long connecting (TCP, startup, authentication) may take before the server counts as
/// unreachable: long enough for a slow VPN, short enough that an operator is not left staring
/// at a silent command.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// TCP keepalive idle time, unless the URL sets `keepalives_idle`. The stack's lock is held
/// by a connection that stays idle for as long as an event runs; the kernel's default of two
/// hours of silence lets a NAT or firewall forget such a connection, and the server would
/// then drop the session and free the lock under a running command.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// A parsed state URL.
#[derive(Clone, Debug)]
pub struct PgUrl {
    pub config: Config,
    /// The URL as written, password replaced by `***`: the only form messages use.
    pub masked: String,
}

/// Whether a `state:` value (or `$STRATA_STATE_URL`) names PostgreSQL rather than a directory.
pub fn is_postgres(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

impl PgUrl {
    /// Parses and checks a URL; the error is a sentence about the URL (its password masked).
    pub fn parse(url: &str) -> Result<PgUrl, String> {
        let masked = mask(url);
        let mut config: Config = url
            .parse()
            .map_err(|e| format!("invalid PostgreSQL URL {masked}: {e}"))?;
        if config.get_hosts().is_empty() {
            return Err(format!(
                "invalid PostgreSQL URL {masked}: it names no host (postgres://user@host/db)"
            ));
        }
        if config.get_dbname().is_none_or(str::is_empty) {
            return Err(format!(
                "invalid PostgreSQL URL {masked}: it names no database (postgres://user@host/db)"
            ));
        }
        // strata connects without TLS (no TLS stack is linked for PostgreSQL yet), so a URL
        // that demands TLS is refused here rather than failing at connect time.
        if config.get_ssl_mode() == SslMode::Require {
            return Err(format!(
                "PostgreSQL URL {masked}: sslmode=require is not supported (strata connects \
                 without TLS); use sslmode=disable or prefer, or reach the server through a \
                 tunnel"
            ));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if !url.contains("keepalives_idle") {
            config.keepalives(true);
            config.keepalives_idle(KEEPALIVE_IDLE);
        }
        if config.get_application_name().is_none() {
            config.application_name("strata");
        }
        Ok(PgUrl { config, masked })
    }

    /// The whole-connect deadline: the URL's `connect_timeout` (per socket) or ours.
    pub fn connect_timeout(&self) -> Duration {
        self.config
            .get_connect_timeout()
            .copied()
            .unwrap_or(CONNECT_TIMEOUT)
            .max(Duration::from_secs(1))
    }
}

/// The URL with its password (in the user info, or a `password=` option) replaced by `***`.
pub fn mask(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return mask_options(url);
    };
    let rest = &url[scheme_end..];
    // The user info ends at the last `@`: a password may hold a raw `/`, `?` or `#` (the URL
    // is then invalid, and this is the message that says so, which must not show it).
    let auth_end = match rest.rfind('@') {
        Some(at) => at + rest[at..].find(['/', '?']).unwrap_or(rest.len() - at),
        None => rest.find(['/', '?']).unwrap_or(rest.len()),
    };
    let authority = &rest[..auth_end];
    let authority = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}:***{}", &userinfo[..colon], &authority[at..]),
                None => authority.to_string(),
            }
        }
        None => authority.to_string(),
    };
    format!(
        "{}{}{}",
        &url[..scheme_end],
        authority,
        mask_options(&rest[auth_end..])
    )
}

/// `password=...` in a query string or key=value string, up to the next `&` or space.
fn mask_options(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("password=") {
        let boundary = i == 0 || matches!(rest.as_bytes()[i - 1], b'?' | b'&' | b' ');
        let start = i + "password=".len();
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        if boundary {
            let end = rest.find(['&', ' ']).unwrap_or(rest.len());
            out.push_str("***");
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords() {
        assert_eq!(
            mask("postgres://ops:s3cr@t@db.example:5433/strata"),
            "postgres://ops:***@db.example:5433/strata"
        );
        assert_eq!(mask("postgres://ops@db/strata"), "postgres://ops@db/strata");
        for pw in ["pa/ss", "pa?ss", "pa#ss", "a/b?c#d@e"] {
            let url = format!("postgres://ops:{pw}@db/strata?sslmode=disable");
            assert_eq!(
                mask(&url),
                "postgres://ops:***@db/strata?sslmode=disable",
                "{pw}"
            );
        }
        assert_eq!(
            mask("postgresql://db/strata?user=ops&password=x&sslmode=disable"),
            "postgresql://db/strata?user=ops&password=***&sslmode=disable"
        );
        assert_eq!(
            mask("host=db password=x user=y"),
            "host=db password=*** user=y"
        );
    }

    #[test]
    fn parses_and_refuses() {
        let u = PgUrl::parse("postgres://ops:pw@db.example:5433/strata").unwrap();
        assert_eq!(u.config.get_dbname(), Some("strata"));
        assert_eq!(u.config.get_ports(), &[5433]);
        assert_eq!(u.masked, "postgres://ops:***@db.example:5433/strata");
        assert_eq!(u.connect_timeout(), CONNECT_TIMEOUT);
        for (bad, want) in [
            ("postgres://ops:pw@db:notaport/x", "invalid PostgreSQL URL"),
            ("postgres://ops:pw@db", "no database"),
            ("postgres://ops:pw@db/x?sslmode=require", "sslmode=require"),
            (
                "postgres://ops:pw@db/x?sslmode=bogus",
                "invalid PostgreSQL URL",
            ),
        ] {
            let e = PgUrl::parse(bad).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
            assert!(!e.contains(":pw@"), "password shown: {e}");
        }
        assert!(is_postgres("PostgreSQL://x/y") && !is_postgres(".strata"));
    }
}
