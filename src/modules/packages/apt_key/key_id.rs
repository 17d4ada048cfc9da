//! Ansible's apt_key parsing: key ids as the user gives them, and key ids out of `apt-key`
//! listings and `gpg --with-colons` output.

/// Ansible's `parse_key_id`: (short id, the id compared with listings, the whole id). A valid
/// id is 8, 16 or more than 16 hex digits, with an optional `0x`.
pub fn parse_key_id(key_id: &str) -> Result<(String, String, String), String> {
    if !python_hex(key_id) {
        return Err("Invalid key_id".into());
    }
    let mut k = key_id.to_uppercase();
    if let Some(rest) = k.strip_prefix("0X") {
        k = rest.to_string();
    }
    let n = k.chars().count();
    if n != 8 && n != 16 && n <= 16 {
        return Err("key_id must be 8, 16, or 16+ hexadecimal characters in length".into());
    }
    let tail = |len: usize| k.chars().skip(n.saturating_sub(len)).collect::<String>();
    let short = tail(8);
    let fingerprint = if n > 16 { tail(16) } else { k.clone() };
    Ok((short, fingerprint, k))
}

/// Whether Python's `int(s, 16)` accepts `s`: surrounding whitespace, a sign, an optional
/// `0x`, and hex digits with single underscores between them.
fn python_hex(s: &str) -> bool {
    let s = s.trim();
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .map(|r| r.strip_prefix('_').unwrap_or(r))
        .unwrap_or(s);
    !s.is_empty()
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
        && s.chars().all(|c| c.is_ascii_hexdigit() || c == '_')
}

/// Ansible's `parse_output_for_keys`: the id on every `pub`/`sub` line that is not expired,
/// from apt-key's `pub   rsa4096/0123456789ABCDEF ...` or gpg's colon format.
pub fn parse_output_for_keys(output: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in output.split('\n') {
        if !(line.starts_with("pub") || line.starts_with("sub")) || line.contains("expired") {
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let apt = tokens.get(1).and_then(|code| {
            let parts: Vec<&str> = code.split('/').collect();
            (parts.len() == 2).then(|| parts[1].to_string())
        });
        match apt {
            Some(code) => found.push(code),
            None => {
                if let Some(code) = line.split(':').nth(4) {
                    found.push(code.to_string());
                }
            }
        }
    }
    found
}

/// The last 8 characters of each id.
pub fn shorten(keys: &[String]) -> Vec<String> {
    keys.iter()
        .map(|k| {
            k.chars()
                .skip(k.chars().count().saturating_sub(8))
                .collect()
        })
        .collect()
}

/// Ansible's `mask_url`: a password in the URL is shown as `********`.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (netloc, tail) = rest.split_at(end);
    match netloc.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:********@{host}{tail}")
        }
        _ => url.to_string(),
    }
}
