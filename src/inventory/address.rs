//! Host entries as inventory sources write them: an optional `:port` suffix and `[a:b]` ranges
//! (`web[01:03].example.com`, `db-[a:c]`, `node[0:10:2]`). Shared by every file format so the
//! same entry means the same hosts everywhere, as in Ansible.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

/// A hostname label may contain range expressions; Ansible's `parse_address` accepts exactly
/// these for the `host:port` form.
static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| {
    let label = r"(?:[a-zA-Z0-9_-]|\[(?:[a-zA-Z]:[a-zA-Z]|[0-9]+:[0-9]+)(?::[0-9]+)?\])+";
    Regex::new(&format!(r"^{label}(?:\.{label})*\.?$")).expect("static regex")
});

/// Splits `host:port`, `[host]:port`, bare IPv6 and plain names. Returns `None` when the text
/// is not a recognisable address, in which case callers keep it verbatim (as Ansible does).
pub fn parse_address(s: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[')
        && let Some((inner, port)) = rest.rsplit_once("]:")
        && is_port(port)
        && (inner.parse::<Ipv6Addr>().is_ok() || is_host(inner))
    {
        return Some((inner.to_string(), port.parse().ok()));
    }
    if s.parse::<Ipv6Addr>().is_ok() {
        return Some((s.to_string(), None));
    }
    if let Some((host, port)) = split_port(s)
        && is_port(port)
        && (host.parse::<Ipv4Addr>().is_ok() || is_host(host))
    {
        return Some((host.to_string(), port.parse().ok()));
    }
    if s.parse::<Ipv4Addr>().is_ok() || is_host(s) {
        return Some((s.to_string(), None));
    }
    None
}

fn is_host(s: &str) -> bool {
    HOSTNAME.is_match(s)
}

fn is_port(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 5
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u16>().is_ok()
}

/// The last `:` that is outside any `[...]` range.
fn split_port(s: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    let mut at = None;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => at = Some(i),
            _ => {}
        }
    }
    at.map(|i| (&s[..i], &s[i + 1..]))
}

/// An inventory host key expanded to host names plus the port it names, with the YAML
/// plugin's extra checks.
pub fn expand_host_entry(entry: &str) -> Result<(Vec<String>, Option<u16>), String> {
    let (pattern, port) = parse_address(entry).unwrap_or_else(|| (entry.to_string(), None));
    if entry.trim().ends_with(':') && port.is_none() {
        return Err(format!(
            "invalid host pattern '{entry}': ending in ':' is not allowed, this character is reserved to provide a port"
        ));
    }
    let names = if pattern.contains('[') {
        expand_hostname_range(&pattern)?
    } else {
        vec![pattern]
    };
    if names.iter().any(|n| n.trim() == "---") {
        return Err(format!(
            "invalid host pattern '{entry}': '---' is normally a sign this is a YAML file"
        ));
    }
    Ok((names, port))
}

/// Expands the first `[beg:end(:step)]` range and recurses for the rest. Numeric ranges with
/// a leading zero keep their width (`[01:10]`); letter ranges walk `a..zA..Z`.
pub fn expand_hostname_range(line: &str) -> Result<Vec<String>, String> {
    let bad = |why: &str| format!("invalid host range in '{line}': {why}");
    let open = line.find('[').ok_or_else(|| bad("missing '['"))?;
    let close = line.find(']').ok_or_else(|| bad("missing ']'"))?;
    if close < open {
        return Err(bad("']' before '['"));
    }
    let (head, nrange, tail) = (&line[..open], &line[open + 1..close], &line[close + 1..]);
    let bounds: Vec<&str> = nrange.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(bad("host range must be begin:end or begin:end:step"));
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err(bad("host range must specify end value"));
    }
    let step: usize = match bounds.get(2) {
        None => 1,
        Some(s) => match s.parse() {
            Ok(n) if n > 0 => n,
            _ => return Err(bad("host range step must be a positive integer")),
        },
    };
    let width = if beg.starts_with('0') && beg.len() > 1 {
        if beg.len() != end.len() {
            return Err(bad(
                "host range must specify equal-length begin and end formats",
            ));
        }
        beg.len()
    } else {
        0
    };
    const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let seq: Vec<String> = match (LETTERS.find(beg), LETTERS.find(end)) {
        (Some(b), Some(e)) if beg.len() == 1 && end.len() == 1 => {
            if b > e {
                return Err(bad("host range must have begin <= end"));
            }
            LETTERS[b..=e]
                .chars()
                .step_by(step)
                .map(String::from)
                .collect()
        }
        _ => {
            let b: i64 = beg
                .parse()
                .map_err(|_| bad("bounds must be numbers or letters"))?;
            let e: i64 = end
                .parse()
                .map_err(|_| bad("bounds must be numbers or letters"))?;
            (b..=e)
                .step_by(step)
                .map(|n| format!("{n:0width$}"))
                .collect()
        }
    };
    let mut out = Vec::new();
    for s in seq {
        let name = format!("{head}{s}{tail}");
        if name.contains('[') {
            out.extend(expand_hostname_range(&name)?);
        } else {
            out.push(name);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_ipv6() {
        assert_eq!(
            parse_address("db.example.com:2222"),
            Some(("db.example.com".into(), Some(2222)))
        );
        assert_eq!(
            parse_address("10.0.0.1:22"),
            Some(("10.0.0.1".into(), Some(22)))
        );
        assert_eq!(parse_address("fe80::1"), Some(("fe80::1".into(), None)));
        assert_eq!(
            parse_address("[fe80::1]:2200"),
            Some(("fe80::1".into(), Some(2200)))
        );
        assert_eq!(
            parse_address("web[1:3]:22"),
            Some(("web[1:3]".into(), Some(22)))
        );
        assert_eq!(parse_address("web[1:3]"), Some(("web[1:3]".into(), None)));
        assert_eq!(parse_address("web*"), None);
        assert_eq!(parse_address("a:b"), None);
    }

    #[test]
    fn ranges_expand_like_ansible() {
        assert_eq!(
            expand_hostname_range("web[01:03]").unwrap(),
            ["web01", "web02", "web03"]
        );
        assert_eq!(
            expand_hostname_range("n[0:6:3]x").unwrap(),
            ["n0x", "n3x", "n6x"]
        );
        assert_eq!(
            expand_hostname_range("db-[a:c]").unwrap(),
            ["db-a", "db-b", "db-c"]
        );
        assert_eq!(
            expand_hostname_range("r[1:2]c[a:b]").unwrap(),
            ["r1ca", "r1cb", "r2ca", "r2cb"]
        );
        assert_eq!(expand_hostname_range("h[:1]").unwrap(), ["h0", "h1"]);
        assert!(
            expand_hostname_range("h[01:100]")
                .unwrap_err()
                .contains("equal-length")
        );
        assert!(
            expand_hostname_range("h[1]")
                .unwrap_err()
                .contains("begin:end")
        );
        assert!(
            expand_hostname_range("h[c:a]")
                .unwrap_err()
                .contains("begin <= end")
        );
    }

    #[test]
    fn host_entries() {
        let (names, port) = expand_host_entry("web[1:2].ex:2022").unwrap();
        assert_eq!(names, ["web1.ex", "web2.ex"]);
        assert_eq!(port, Some(2022));
        assert!(
            expand_host_entry("web1:")
                .unwrap_err()
                .contains("reserved to provide a port")
        );
    }
}
