//! Host key checking against OpenSSH's `known_hosts`, so strata trusts exactly the keys the
//! operator's own `ssh` trusts: plain, comma-separated and `[host]:port` names, wildcards and
//! negations, hashed `|1|salt|hash` names, and `@revoked` markers.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use russh::keys::{Algorithm, HashAlg, PublicKey};

use super::HostKeyPolicy;

/// The name OpenSSH looks up: the bare host on port 22, `[host]:port` elsewhere.
pub(crate) fn lookup_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Plain,
    Revoked,
    CertAuthority,
}

/// One `known_hosts` line that names our host.
#[derive(Debug)]
struct Entry {
    line: usize,
    marker: Marker,
    key: PublicKey,
}

/// The `known_hosts` lines that apply to one host, read once per connection.
#[derive(Debug)]
pub(crate) struct KnownHosts {
    path: PathBuf,
    name: String,
    entries: Vec<Entry>,
}

/// The outcome of comparing the server's key with what we know.
#[derive(Debug)]
pub(crate) enum Verdict {
    Known,
    Unknown,
    Changed { line: usize, expected: PublicKey },
    Revoked { line: usize },
}

impl KnownHosts {
    /// Reads the entries for `name` (see [`lookup_name`]). A missing file knows nothing.
    pub(crate) fn load(path: &Path, name: &str) -> Result<Self, String> {
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let entries = text
            .lines()
            .enumerate()
            .filter_map(|(i, l)| parse_line(l, i + 1, name))
            .collect();
        Ok(KnownHosts {
            path: path.to_path_buf(),
            name: name.to_string(),
            entries,
        })
    }

    /// Key algorithms already trusted for this host, so the handshake can ask the server for
    /// one of those (as OpenSSH does) instead of a type we would have to call unknown.
    pub(crate) fn known_algorithms(&self) -> Vec<Algorithm> {
        let mut out: Vec<Algorithm> = Vec::new();
        for e in self.entries.iter().filter(|e| e.marker == Marker::Plain) {
            let algs = match e.key.algorithm() {
                Algorithm::Rsa { .. } => {
                    vec![
                        Algorithm::Rsa {
                            hash: Some(HashAlg::Sha512),
                        },
                        Algorithm::Rsa {
                            hash: Some(HashAlg::Sha256),
                        },
                    ]
                }
                other => vec![other],
            };
            for a in algs {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
        out
    }

    pub(crate) fn check(&self, key: &PublicKey) -> Verdict {
        if let Some(e) = self
            .entries
            .iter()
            .find(|e| e.marker == Marker::Revoked && e.key.key_data() == key.key_data())
        {
            return Verdict::Revoked { line: e.line };
        }
        let plain = || self.entries.iter().filter(|e| e.marker == Marker::Plain);
        if plain().any(|e| e.key.key_data() == key.key_data()) {
            return Verdict::Known;
        }
        match plain().find(|e| same_key_type(&e.key, key)) {
            Some(e) => Verdict::Changed {
                line: e.line,
                expected: e.key.clone(),
            },
            None => Verdict::Unknown,
        }
    }

    /// Applies `policy` to the server's key; `Err` carries the message the operator sees.
    pub(crate) fn verify(
        &self,
        key: &PublicKey,
        policy: HostKeyPolicy,
        host: &str,
    ) -> Result<(), String> {
        let path = self.path.display();
        match self.check(key) {
            Verdict::Known => Ok(()),
            Verdict::Revoked { line } => Err(format!(
                "host key for {host} ({}) is marked @revoked in {path} line {line}",
                describe_key(key)
            )),
            Verdict::Changed { line, expected } => Err(format!(
                "host key for {host} changed: expected {}, got {}; if the host was reinstalled, remove the old \
                 entry from {path} line {line}",
                describe_key(&expected),
                describe_key(key)
            )),
            Verdict::Unknown => match policy {
                HostKeyPolicy::AcceptNew => record(&self.path, &self.name, key),
                _ => Err(format!(
                    "host key for {host} ({}) is unknown: it is not in {path}; verify it and add it \
                     (ssh-keyscan), or set StrictHostKeyChecking=accept-new to trust new hosts on first use",
                    describe_key(key)
                )),
            },
        }
    }
}

/// "ED25519 SHA256:…", the way ssh prints keys in its warnings.
pub(crate) fn describe_key(key: &PublicKey) -> String {
    let kind = match key.algorithm() {
        Algorithm::Ed25519 => "ED25519".to_string(),
        Algorithm::Rsa { .. } => "RSA".to_string(),
        Algorithm::Ecdsa { .. } => "ECDSA".to_string(),
        Algorithm::Dsa => "DSA".to_string(),
        other => other.as_str().to_string(),
    };
    format!("{kind} {}", key.fingerprint(HashAlg::Sha256))
}

fn same_key_type(a: &PublicKey, b: &PublicKey) -> bool {
    match (a.algorithm(), b.algorithm()) {
        (Algorithm::Rsa { .. }, Algorithm::Rsa { .. }) => true,
        (x, y) => x == y,
    }
}

/// Serialises appends from concurrent connections in this process.
static RECORD_LOCK: Mutex<()> = Mutex::new(());

/// Trust-on-first-use: appends the key, creating the file (0600) and its directory (0700)
/// like ssh does. Re-reads under the lock so racing connections record a host once.
fn record(path: &Path, name: &str, key: &PublicKey) -> Result<(), String> {
    let _guard = RECORD_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let fail = |e: std::io::Error| format!("cannot record host key in {}: {e}", path.display());
    if path == Path::new("/dev/null") {
        return Ok(());
    }
    let current = KnownHosts::load(path, name)?;
    if matches!(current.check(key), Verdict::Known) {
        return Ok(());
    }
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(fail)?;
    }
    let needs_newline = std::fs::read(path)
        .map(|b| !b.is_empty() && !b.ends_with(b"\n"))
        .unwrap_or(false);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    let mut plain = key.clone();
    plain.set_comment("");
    let encoded = plain
        .to_openssh()
        .map_err(|e| format!("cannot encode host key: {e}"))?;
    let line = format!(
        "{}{name} {}\n",
        if needs_newline { "\n" } else { "" },
        encoded.trim_end()
    );
    file.write_all(line.as_bytes()).map_err(fail)
}

/// Parses one line if it names `name`; malformed lines and other hosts yield `None`
/// (OpenSSH skips them too).
fn parse_line(line: &str, lineno: usize, name: &str) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let marker = match first {
        "@revoked" => Marker::Revoked,
        "@cert-authority" => Marker::CertAuthority,
        m if m.starts_with('@') => return None,
        _ => Marker::Plain,
    };
    if marker != Marker::Plain {
        first = fields.next()?;
    }
    if !hosts_match(first, name) {
        return None;
    }
    let (kind, blob) = (fields.next()?, fields.next()?);
    let key = PublicKey::from_openssh(&format!("{kind} {blob}")).ok()?;
    Some(Entry {
        line: lineno,
        marker,
        key,
    })
}

fn hosts_match(field: &str, name: &str) -> bool {
    if let Some(hashed) = field.strip_prefix("|1|") {
        let Some((salt, hash)) = hashed.split_once('|') else {
            return false;
        };
        let (Ok(salt), Ok(hash)) = (B64.decode(salt), B64.decode(hash)) else {
            return false;
        };
        return hmac_sha1(&salt, name.as_bytes()).as_slice() == hash.as_slice();
    }
    let mut matched = false;
    for pat in field.split(',') {
        let pat = pat.to_ascii_lowercase();
        match pat.strip_prefix('!') {
            Some(neg) if glob(neg.as_bytes(), name.as_bytes()) => return false,
            Some(_) => {}
            None => matched |= glob(pat.as_bytes(), name.as_bytes()),
        }
    }
    matched
}

/// ssh's pattern language: `*` any run, `?` any one character.
fn glob(pat: &[u8], s: &[u8]) -> bool {
    match (pat.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&pat[1..], s) || (!s.is_empty() && glob(pat, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&pat[1..], &s[1..]),
        (Some(p), Some(c)) if p == c => glob(&pat[1..], &s[1..]),
        _ => false,
    }
}

/// HMAC-SHA1 (RFC 2104), the keyed hash behind `HashKnownHosts`.
fn hmac_sha1(key: &[u8], msg: &[u8]) -> [u8; 20] {
    use sha1::{Digest, Sha1};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha1::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha1::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDGmFl3HVKP4fmXFp672TRvetdmcT2afqH18FvFD+GpW";
    const ED2: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8b2GLxqg5BGQmP/Ym56JOJ5xU4YInO9BlNtTCvkPdT";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    fn tmpfile(tag: &str, content: &str) -> PathBuf {
        let dir = crate::scratch::root().join(format!("strata-kh-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("known_hosts");
        std::fs::write(&p, content).unwrap();
        p
    }

    #[test]
    fn hmac_matches_rfc2202() {
        let out = hmac_sha1(&[0x0b; 20], b"Hi There");
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "b617318655057264e28bc0b6fb378c8ef146be00");
    }

    #[test]
    fn names_lists_ports_and_wildcards() {
        assert_eq!(lookup_name("Web1", 22), "web1");
        assert_eq!(lookup_name("10.0.0.5", 2222), "[10.0.0.5]:2222");
        assert!(hosts_match("a,web1,b", "web1"));
        assert!(hosts_match("[10.0.0.5]:2222", "[10.0.0.5]:2222"));
        assert!(!hosts_match("10.0.0.5", "[10.0.0.5]:2222"));
        assert!(hosts_match("10.0.0.*", "10.0.0.7"));
        assert!(!hosts_match("10.0.0.*,!10.0.0.7", "10.0.0.7"));
        assert!(hosts_match("web?", "web1"));
    }

    #[test]
    fn known_changed_unknown_revoked() {
        let p = tmpfile(
            "verdicts",
            &format!("# comment\nother {ED2}\nweb1,web2 {ED}\n@revoked * {ED2}\n"),
        );
        let kh = KnownHosts::load(&p, "web2").unwrap();
        assert!(matches!(kh.check(&key(ED)), Verdict::Known));
        assert!(matches!(kh.check(&key(ED2)), Verdict::Revoked { line: 4 }));
        let p = tmpfile("changed", &format!("web1 {ED}\n"));
        let kh = KnownHosts::load(&p, "web1").unwrap();
        match kh.check(&key(ED2)) {
            Verdict::Changed { line: 1, .. } => {}
            v => panic!("{v:?}"),
        }
        let err = kh
            .verify(&key(ED2), HostKeyPolicy::AcceptNew, "web1")
            .unwrap_err();
        assert!(
            err.contains("changed") && err.contains("line 1") && err.contains("ED25519 SHA256:"),
            "{err}"
        );
        let kh = KnownHosts::load(&p, "web3").unwrap();
        assert!(matches!(kh.check(&key(ED)), Verdict::Unknown));
    }

    #[test]
    fn hashed_entries_from_real_ssh_keygen() {
        let p = tmpfile("hashed", &format!("web1 {ED}\n[10.0.0.5]:2222 {ED2}\n"));
        let st = Command::new("ssh-keygen")
            .arg("-H")
            .arg("-f")
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("|1|"), "{text}");
        assert!(matches!(
            KnownHosts::load(&p, "web1").unwrap().check(&key(ED)),
            Verdict::Known
        ));
        assert!(matches!(
            KnownHosts::load(&p, "[10.0.0.5]:2222")
                .unwrap()
                .check(&key(ED2)),
            Verdict::Known
        ));
        assert!(matches!(
            KnownHosts::load(&p, "web2").unwrap().check(&key(ED)),
            Verdict::Unknown
        ));
    }

    #[test]
    fn accept_new_records_once_and_ssh_keygen_finds_it() {
        let dir =
            crate::scratch::root().join(format!("strata-kh-{}-record/sub", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("known_hosts");
        let kh = KnownHosts::load(&p, "[127.0.0.1]:2200").unwrap();
        kh.verify(&key(ED), HostKeyPolicy::AcceptNew, "127.0.0.1")
            .unwrap();
        kh.verify(&key(ED), HostKeyPolicy::AcceptNew, "127.0.0.1")
            .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let found = Command::new("ssh-keygen")
            .args(["-F", "[127.0.0.1]:2200", "-f"])
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            found.status.success(),
            "ssh-keygen -F did not find the recorded key: {text}"
        );
        let reloaded = KnownHosts::load(&p, "[127.0.0.1]:2200").unwrap();
        reloaded
            .verify(&key(ED), HostKeyPolicy::Strict, "127.0.0.1")
            .unwrap();
    }
}
