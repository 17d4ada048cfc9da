//! Authentication the way OpenSSH's client does it for a batch run: the configured key file,
//! then ssh-agent, then the default `~/.ssh/id_*` files, then the password when the inventory
//! gives one (`ansible_password`) or the operator typed one (`--ask-pass`). Never a prompt
//! here, and RSA keys always sign with SHA-2 (`rsa-sha2-512`/`-256`), never `ssh-rsa` SHA-1.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::{Handle, Handler};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};

use super::{SshParams, home_dir};
use crate::transport::TransportError;

/// The default identities OpenSSH tries when no `-i` is given, in its order of preference.
const DEFAULT_IDENTITIES: &[&str] = &["id_ed25519", "id_ecdsa", "id_rsa"];

/// Authenticates `handle` as `p.user`. Failures are [`TransportError::Refused`] and list what
/// was tried, so the operator can tell a wrong key from a missing agent.
pub(crate) async fn authenticate<H: Handler>(
    handle: &mut Handle<H>,
    p: &SshParams,
) -> Result<(), TransportError> {
    let mut auth = Attempt {
        user: p.user.clone(),
        rsa_hash: None,
        agent: p.identity_agent.clone(),
        tried: Vec::new(),
        problems: Vec::new(),
    };

    if let Some(path) = &p.key_file
        && auth.try_file(handle, path).await?
    {
        return Ok(());
    }
    if auth.try_agent(handle).await? {
        return Ok(());
    }
    if p.key_file.is_none() {
        let ssh_dir = home_dir().map(|h| h.join(".ssh")).unwrap_or_default();
        for name in DEFAULT_IDENTITIES {
            let path = ssh_dir.join(name);
            if path.is_absolute() && path.exists() && auth.try_file(handle, &path).await? {
                return Ok(());
            }
        }
    }

    if let Some(pw) = p.password.as_ref().filter(|_| p.password_auth) {
        let res = handle
            .authenticate_password(p.user.clone(), pw.expose())
            .await
            .map_err(|e| refused_during_auth(&e))?;
        if res.success() {
            return Ok(());
        }
        auth.tried.push("the password".into());
    }

    let mut msg = format!("authentication failed for {}", p.describe());
    if auth.tried.is_empty() {
        msg.push_str(
            ": no usable key (no key file, no ssh-agent identities, no ~/.ssh/id_* files)",
        );
    } else {
        msg.push_str(&format!(": the server rejected {}", auth.tried.join(", ")));
    }
    for problem in &auth.problems {
        msg.push_str("; ");
        msg.push_str(problem);
    }
    Err(TransportError::Refused(msg))
}

struct Attempt {
    user: String,
    /// The server's preferred RSA signature hash, asked once per connection.
    rsa_hash: Option<HashAlg>,
    /// Agent socket override from `IdentityAgent`.
    agent: Option<PathBuf>,
    tried: Vec<String>,
    problems: Vec<String>,
}

impl Attempt {
    async fn try_file<H: Handler>(
        &mut self,
        handle: &mut Handle<H>,
        path: &Path,
    ) -> Result<bool, TransportError> {
        let key = match load_key(path) {
            Ok(k) => Arc::new(k),
            Err(problem) => {
                self.problems.push(problem);
                return Ok(false);
            }
        };
        let hash = match self.hash_for(handle, key.public_key()).await {
            Ok(h) => h,
            Err(problem) => {
                self.problems.push(problem);
                return Ok(false);
            }
        };
        let res = handle
            .authenticate_publickey(self.user.clone(), PrivateKeyWithHashAlg::new(key, hash))
            .await
            .map_err(|e| refused_during_auth(&e))?;
        self.tried.push(format!("key file {}", path.display()));
        Ok(res.success())
    }

    async fn try_agent<H: Handler>(
        &mut self,
        handle: &mut Handle<H>,
    ) -> Result<bool, TransportError> {
        let sock = match &self.agent {
            Some(path) => path.clone().into_os_string(),
            None => std::env::var_os("SSH_AUTH_SOCK").unwrap_or_default(),
        };
        if sock.is_empty() || sock == "/dev/null" {
            return Ok(false);
        }
        let mut agent = match AgentClient::connect_uds(PathBuf::from(&sock)).await {
            Ok(a) => a,
            Err(e) => {
                self.problems.push(format!(
                    "ssh-agent at {} unusable: {e}",
                    sock.to_string_lossy()
                ));
                return Ok(false);
            }
        };
        let identities = match agent.request_identities().await {
            Ok(ids) => ids,
            Err(e) => {
                self.problems
                    .push(format!("ssh-agent did not list its keys: {e}"));
                return Ok(false);
            }
        };
        for id in identities {
            // Certificates need a CA-aware server setup we do not configure; plain keys only.
            let AgentIdentity::PublicKey { key, comment } = id else {
                continue;
            };
            let hash = match self.hash_for(handle, &key).await {
                Ok(h) => h,
                Err(problem) => {
                    self.problems.push(problem);
                    continue;
                }
            };
            let res = handle
                .authenticate_publickey_with(self.user.clone(), key, hash, &mut agent)
                .await;
            let label = if comment.is_empty() {
                "ssh-agent key".to_string()
            } else {
                format!("ssh-agent key {comment}")
            };
            match res {
                Ok(r) if r.success() => return Ok(true),
                Ok(_) => self.tried.push(label),
                Err(e) => self.problems.push(format!("{label}: {e}")),
            }
            if handle.is_closed() {
                return Err(TransportError::Refused(
                    "the server closed the connection during authentication".into(),
                ));
            }
        }
        Ok(false)
    }

    /// SHA-2 for RSA keys, chosen from the server's `server-sig-algs`; `None` for other key
    /// types (the hash is part of their algorithm). A server that only speaks SHA-1 RSA gets
    /// no signature from us at all.
    async fn hash_for<H: Handler>(
        &mut self,
        handle: &Handle<H>,
        key: &PublicKey,
    ) -> Result<Option<HashAlg>, String> {
        if !key.algorithm().is_rsa() {
            return Ok(None);
        }
        if let Some(h) = self.rsa_hash {
            return Ok(Some(h));
        }
        let hash = match handle.best_supported_rsa_hash().await {
            Ok(Some(Some(h))) => h,
            Ok(Some(None)) => {
                return Err("the server only accepts ssh-rsa (SHA-1) signatures for RSA keys, which strata refuses \
                            to use; use an ed25519 key or enable rsa-sha2-512 on the server"
                    .into());
            }
            // No server-sig-algs extension: every OpenSSH since 7.2 still verifies rsa-sha2-512.
            Ok(None) => HashAlg::Sha512,
            Err(e) => {
                return Err(format!(
                    "could not learn the server's signature algorithms: {e}"
                ));
            }
        };
        self.rsa_hash = Some(hash);
        Ok(Some(hash))
    }
}

fn refused_during_auth(e: &russh::Error) -> TransportError {
    TransportError::Refused(format!("connection failed during authentication: {e}"))
}

/// Reads an unencrypted private key, with a clear message for the common failure modes.
fn load_key(path: &Path) -> Result<PrivateKey, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read key file {}: {e}", path.display()))?;
    let encrypted_msg = || {
        format!(
            "key file {} is encrypted with a passphrase, which strata cannot prompt for; load it into \
             ssh-agent (ssh-add) or use an unencrypted deploy key",
            path.display()
        )
    };
    if text.contains("Proc-Type: 4,ENCRYPTED") || text.contains("BEGIN ENCRYPTED PRIVATE KEY") {
        return Err(encrypted_msg());
    }
    russh::keys::decode_secret_key(&text, None).map_err(|e| match e {
        russh::keys::Error::KeyIsEncrypted => encrypted_msg(),
        e => format!("cannot use key file {}: {e}", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn keygen(tag: &str, args: &[&str]) -> PathBuf {
        let dir = crate::scratch::root().join(format!("strata-auth-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        let st = Command::new("ssh-keygen")
            .args(["-q", "-f"])
            .arg(&path)
            .args(args)
            .status()
            .unwrap();
        assert!(st.success());
        path
    }

    #[test]
    fn loads_plain_keys_of_each_type() {
        for (tag, args) in [
            ("ed", &["-t", "ed25519", "-N", ""][..]),
            ("rsa", &["-t", "rsa", "-b", "2048", "-N", ""][..]),
            ("ecdsa", &["-t", "ecdsa", "-N", ""][..]),
            (
                "pem",
                &["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", ""][..],
            ),
        ] {
            let key = load_key(&keygen(tag, args)).unwrap_or_else(|e| panic!("{tag}: {e}"));
            assert_eq!(key.algorithm().is_rsa(), tag == "rsa" || tag == "pem");
        }
    }

    #[test]
    fn encrypted_keys_get_a_clear_error() {
        for (tag, args) in [
            ("enc", &["-t", "ed25519", "-N", "secret"][..]),
            (
                "encpem",
                &["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "secret"][..],
            ),
        ] {
            let err = load_key(&keygen(tag, args)).unwrap_err();
            assert!(err.contains("encrypted with a passphrase"), "{tag}: {err}");
        }
        let err = load_key(Path::new("/nonexistent/key")).unwrap_err();
        assert!(
            err.contains("cannot read key file /nonexistent/key"),
            "{err}"
        );
    }
}
