//! Python's `fnmatch` (shell-style wildcards `*`, `?`, `[seq]`, `[!seq]`), which Ansible
//! applies to inventory patterns (`web*`) and, in its apt module, to package names (`apt*`) and
//! pinned versions (`foo=1.0*`). One translation serves both, so they cannot drift apart.

use regex::Regex;

/// Whether `s` has a wildcard character Ansible looks for in package names.
pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '[', ']', '!'])
}

/// `fnmatch.translate`: the pattern as an anchored regex.
pub fn translate(pat: &str) -> String {
    let chars: Vec<char> = pat.chars().collect();
    let mut out = String::from("(?s)^");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                out.push_str(".*");
                while i < chars.len() && chars[i] == '*' {
                    i += 1;
                }
            }
            '?' => out.push('.'),
            '[' => {
                // Find the closing bracket; a `]` right after `[` or `[!` is literal.
                let mut j = i;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str(r"\[");
                    continue;
                }
                out.push_str(&class(&chars[i..j]));
                i = j + 1;
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    out
}

/// The regex for the body of a `[...]` class, as Python 3.11's `fnmatch.translate` builds it:
/// a range whose start is above its end (`:-` in `[-2:-1]`) is dropped rather than being an
/// error, an empty class never matches and `[!]` matches any character. Ansible patterns such
/// as `web[-2:-1]` are not subscripts and reach this as globs.
fn class(stuff: &[char]) -> String {
    let mut chunks: Vec<Vec<char>> = Vec::new();
    if !stuff.contains(&'-') {
        chunks.push(stuff.to_vec());
    } else {
        let mut i = 0;
        let mut k = if stuff[0] == '!' { 2 } else { 1 };
        while let Some(off) = stuff
            .get(k..)
            .and_then(|r| r.iter().position(|&c| c == '-'))
        {
            let at = k + off;
            chunks.push(stuff[i..at].to_vec());
            i = at + 1;
            k = at + 3;
        }
        let last = &stuff[i..];
        match chunks.last_mut() {
            Some(prev) if last.is_empty() => prev.push('-'),
            _ => chunks.push(last.to_vec()),
        }
        for k in (1..chunks.len()).rev() {
            if chunks[k - 1].last() > chunks[k].first() {
                let next = chunks.remove(k);
                let prev = &mut chunks[k - 1];
                prev.pop();
                prev.extend_from_slice(&next[1..]);
            }
        }
    }
    let raw: Vec<String> = chunks.iter().map(|c| c.iter().collect()).collect();
    match raw.join("-").as_str() {
        "" => return r"[^\s\S]".to_string(),
        "!" => return ".".to_string(),
        _ => {}
    }
    let mut out = String::from("[");
    for (n, chunk) in chunks.iter().enumerate() {
        if n > 0 {
            out.push('-');
        }
        for (m, &ch) in chunk.iter().enumerate() {
            if n == 0 && m == 0 && ch == '!' {
                out.push('^');
            } else {
                out.push_str(&regex::escape(&ch.to_string()));
            }
        }
    }
    out.push(']');
    out
}

/// A compiled pattern.
pub struct Pattern(Regex);

impl Pattern {
    pub fn new(pat: &str) -> Pattern {
        // Every translated pattern is a valid regex; an impossible one matches nothing.
        Pattern(Regex::new(&translate(pat)).unwrap_or_else(|_| Regex::new("[^\\s\\S]").unwrap()))
    }
    pub fn matches(&self, s: &str) -> bool {
        self.0.is_match(s)
    }
}

/// `fnmatch.fnmatch(s, pat)`.
pub fn fnmatch(s: &str, pat: &str) -> bool {
    if !has_wildcard(pat) {
        return s == pat;
    }
    Pattern::new(pat).matches(s)
}

/// The literal text before the first wildcard, to narrow `apt-cache pkgnames`.
pub fn literal_prefix(pat: &str) -> &str {
    match pat.find(['*', '?', '[']) {
        Some(i) => &pat[..i],
        None => pat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_python_fnmatch() {
        assert!(fnmatch("1.0", "1.0*"));
        assert!(fnmatch("1.0-3", "1.0*"));
        assert!(!fnmatch("2.0", "1.0*"));
        assert!(fnmatch("1.0", "1.0"));
        assert!(!fnmatch("1.0.1", "1.0"));
        assert!(fnmatch("1x0", "1?0"));
        assert!(fnmatch("1.0", "1.0"));
        assert!(!fnmatch("1x0", "1.0"), "dot is literal");
        assert!(fnmatch("strata-demo", "strata-*"));
        assert!(fnmatch("libc6", "lib[a-c]6"));
        assert!(!fnmatch("libc6", "lib[!a-c]6"));
        assert!(fnmatch("g++", "g++"));
        assert!(fnmatch("a[b", "a[b"), "an unclosed bracket is literal");
        // Python drops reversed ranges instead of failing (Ansible's `web[-2:-1]` glob).
        assert!(fnmatch("web-", "web[-2:-1]"));
        assert!(fnmatch("web2", "web[-2:-1]"));
        assert!(!fnmatch("web:", "web[-2:-1]"));
        assert!(fnmatch("a-", "a[b-]"));
        assert!(fnmatch("a-", "a[-]"));
        assert!(fnmatch("a[!]", "a[!]"), "`]` right after `[!` is literal");
        assert!(fnmatch("a^", "a[^]"));
        assert!(!fnmatch("a-", "a[!-]"));
    }

    #[test]
    fn prefix_for_pkgnames() {
        assert_eq!(literal_prefix("strata-*"), "strata-");
        assert_eq!(literal_prefix("*"), "");
        assert_eq!(literal_prefix("lib?c"), "lib");
    }
}
