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
                let body: String = chars[i..j].iter().collect();
                i = j + 1;
                let (neg, body) = match body.strip_prefix('!') {
                    Some(b) => (true, b.to_string()),
                    None => (false, body),
                };
                out.push('[');
                if neg {
                    out.push('^');
                }
                for ch in body.chars() {
                    if ch == '-' {
                        out.push('-');
                    } else {
                        out.push_str(&regex::escape(&ch.to_string()));
                    }
                }
                out.push(']');
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
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
    }

    #[test]
    fn prefix_for_pkgnames() {
        assert_eq!(literal_prefix("strata-*"), "strata-");
        assert_eq!(literal_prefix("*"), "");
        assert_eq!(literal_prefix("lib?c"), "lib");
    }
}
