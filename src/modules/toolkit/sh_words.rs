//! Shell words from Ansible strings, with Python's path expansion (`expandvars`,
//! `expanduser`) and, for `creates`/`removes`, its globbing: what `command`, `script` and
//! `wait_for` need to name paths on the host exactly as Ansible would.

use crate::shell::sh_quote;

/// Builds sh words from Ansible strings. Python's `os.path.expandvars` leaves unknown
/// variables as written, which sh cannot express inline, so the literal text goes into a
/// helper variable set up front and the word uses `${NAME-$helper}`.
#[derive(Default)]
pub struct ShWords {
    setup: String,
    n: usize,
}

impl ShWords {
    /// Assignments the words refer to; emit them before the first word.
    pub fn setup(&self) -> &str {
        &self.setup
    }

    /// One sh word for `s`. With `expand`, `$NAME`/`${NAME}` take the remote environment's
    /// value when set and `~`/`~user` expand as Python's `expanduser`. With `glob`, `*`, `?`
    /// and `[...]` stay active for pathname expansion. Everything else is quoted.
    pub fn word(&mut self, s: &str, expand: bool, glob: bool) -> String {
        let mut out = String::new();
        let mut lit = String::new();
        let mut rest = s;
        if expand && let Some(t) = s.strip_prefix('~') {
            let end = t.find('/').unwrap_or(t.len());
            let user = &t[..end];
            if user
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                && !user.starts_with('-')
            {
                // The slash must stay unquoted or sh would not treat `~user` as a tilde-prefix.
                out.push('~');
                out.push_str(user);
                rest = &t[end..];
                if let Some(r) = rest.strip_prefix('/') {
                    out.push('/');
                    rest = r;
                }
            }
        }
        let flush = |lit: &mut String, out: &mut String| {
            if !lit.is_empty() {
                out.push_str(&sh_quote(lit));
                lit.clear();
            }
        };
        let mut after_bracket = false;
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if expand
                && c == '$'
                && let Some((name, len)) = var_ref(&rest[i + 1..])
            {
                flush(&mut lit, &mut out);
                self.n += 1;
                let helper = format!("__v{}", self.n);
                self.setup
                    .push_str(&format!("{helper}={}\n", sh_quote(&rest[i..i + 1 + len])));
                out.push_str(&format!("\"${{{name}-${helper}}}\""));
                for _ in 0..len {
                    chars.next();
                }
                after_bracket = false;
                continue;
            }
            let active = glob
                && (matches!(c, '*' | '?' | '[' | ']')
                    || (after_bracket && matches!(c, '!' | '^')));
            if active {
                flush(&mut lit, &mut out);
                out.push(c);
            } else {
                lit.push(c);
            }
            after_bracket = glob && c == '[';
        }
        flush(&mut lit, &mut out);
        if out.is_empty() { "''".into() } else { out }
    }
}

/// A `$NAME` or `${NAME}` reference at the start of `s` (just after the `$`) that sh can
/// evaluate: its name and how many bytes it spans. Python's `\w+` also allows a leading digit,
/// but no such variable can be in the environment, so those stay literal as in Python.
fn var_ref(s: &str) -> Option<(&str, usize)> {
    let (name, len) = if let Some(b) = s.strip_prefix('{') {
        let end = b.find('}')?;
        (&b[..end], end + 2)
    } else {
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        (&s[..end], end)
    };
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some((name, len))
}
