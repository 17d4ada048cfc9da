//! Keys of a lab: one client key that logs in as root everywhere, and the base machine's host
//! keys, which every host shares through its overlay root. A single known_hosts with an entry
//! per address therefore lets clients keep `StrictHostKeyChecking=yes`.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::LabError;
use super::cmd::run;

const HOST_KEY_TYPES: [&str; 3] = ["ed25519", "ecdsa", "rsa"];

/// Generates `<lab>/id_ed25519` unless it exists; returns its path.
pub fn ensure_client_key(lab_dir: &Path, lab_name: &str) -> Result<PathBuf, LabError> {
    let key = lab_dir.join("id_ed25519");
    if !key.exists() {
        let comment = format!("strata-lab-{lab_name}");
        let k = key.to_string_lossy();
        run(
            "ssh-keygen",
            &["-q", "-t", "ed25519", "-N", "", "-C", &comment, "-f", &k],
            None,
        )?;
    }
    Ok(key)
}

pub fn public_key(key: &Path) -> Result<String, LabError> {
    let path = key.with_extension("pub");
    std::fs::read_to_string(&path).map_err(|e| LabError::io("cannot read public key", path, e))
}

/// Creates the base machine's host keys if it has none (a fresh image), since every host
/// serves them.
pub fn ensure_host_keys() -> Result<(), LabError> {
    if !Path::new("/etc/ssh/ssh_host_ed25519_key").exists() {
        run("ssh-keygen", &["-A"], None)?;
    }
    Ok(())
}

/// `type base64` of each base host public key.
pub fn host_public_keys() -> Result<Vec<String>, LabError> {
    let mut keys = Vec::new();
    for t in HOST_KEY_TYPES {
        let path = format!("/etc/ssh/ssh_host_{t}_key.pub");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let fields: Vec<&str> = text.split_whitespace().take(2).collect();
        if fields.len() == 2 {
            keys.push(fields.join(" "));
        }
    }
    if keys.is_empty() {
        return Err(LabError::io(
            "no host public key",
            "/etc/ssh/ssh_host_ed25519_key.pub",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    Ok(keys)
}

pub fn write_known_hosts(path: &Path, addrs: &[Ipv4Addr]) -> Result<(), LabError> {
    let keys = host_public_keys()?;
    let mut text = String::new();
    for addr in addrs {
        for key in &keys {
            text.push_str(&format!("{addr} {key}\n"));
        }
    }
    std::fs::write(path, text).map_err(|e| LabError::io("cannot write known_hosts", path, e))
}
