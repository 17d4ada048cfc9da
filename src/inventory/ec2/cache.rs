//! On-disk cache of query results (`cache: true`), like Ansible's inventory cache: the
//! instances fetched for one configuration are kept for `cache_timeout` seconds, so repeated
//! runs do not hit the API (and its rate limits). The key hashes everything that changes the
//! answer: the configuration text, the endpoints and regions, and who is asking. Writes go to a
//! temporary file renamed into place, so a concurrent run never reads half a file.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::credentials::Env;

/// `$XDG_CACHE_HOME/strata/inventory`, else `~/.cache/strata/inventory`.
pub fn dir(env: &Env) -> PathBuf {
    let base = env
        .get("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env.get("HOME").unwrap_or("/root")).join(".cache"));
    base.join("strata").join("inventory")
}

/// A hex SHA-256 over the parts, each length-prefixed so that no two lists collide.
pub fn key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    super::sigv4::hex(&h.finalize())
}

pub fn path(dir: &Path, prefix: &str, key: &str) -> PathBuf {
    dir.join(format!("{prefix}{key}.json"))
}

/// The cached instances, if the entry exists, parses, and is younger than `ttl`.
pub fn get(file: &Path, ttl: Duration) -> Option<Vec<Map<String, Value>>> {
    let text = std::fs::read_to_string(file).ok()?;
    let doc: Value = serde_json::from_str(&text).ok()?;
    let written = doc.get("written")?.as_u64()?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_secs();
    if now.saturating_sub(written) >= ttl.as_secs() {
        return None;
    }
    doc.get("instances")?
        .as_array()?
        .iter()
        .map(|i| i.as_object().cloned())
        .collect()
}

/// Writes an entry atomically (temp file in the same directory + rename).
pub fn put(file: &Path, instances: &[Map<String, Value>]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let doc = json!({"written": now, "instances": instances});
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file.file_name().and_then(|n| n.to_str()).unwrap_or("cache"),
        std::process::id()
    ));
    std::fs::write(&tmp, serde_json::to_vec(&doc)?)?;
    std::fs::rename(&tmp, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_expiry() {
        let d = crate::scratch::root().join(format!("strata-ec2cache-{}", std::process::id()));
        let f = path(&d, "aws_ec2-", &key(&["cfg", "http://x"]));
        let mut m = Map::new();
        m.insert("instance_id".into(), Value::from("i-1"));
        put(&f, std::slice::from_ref(&m)).unwrap();
        assert_eq!(get(&f, Duration::from_secs(60)).unwrap(), vec![m]);
        assert!(get(&f, Duration::from_secs(0)).is_none());
        assert_ne!(key(&["ab", "c"]), key(&["a", "bc"]));
        let _ = std::fs::remove_dir_all(d);
    }
}
