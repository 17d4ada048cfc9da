//! Splitting of free-form module arguments (`copy: src=a dest="/x y"`, `shell: echo hi
//! chdir=/tmp`) the way Ansible's `split_args`/`parse_kv` do: whitespace separates tokens
//! except inside quotes and Jinja blocks, quotes stay on raw tokens, `k=v` values are
//! unquoted and have their escapes decoded.

/// One whitespace-separated piece of a free-form string, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub text: String,
    /// Character offset of the token in the source string, for error columns.
    pub offset: usize,
    /// The whitespace after this token contained a newline, which a raw command keeps.
    pub newline_after: bool,
}

/// Splits on whitespace, respecting quotes (with backslash escapes) and `{{ }}`, `{% %}`,
/// `{# #}` blocks, which may contain spaces.
pub fn split_args(s: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut tokens: Vec<Token> = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    let mut quote: Option<char> = None;
    let mut jinja: Vec<char> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if let Some(q) = quote {
            cur.push(c);
            if c == '\\' {
                if let Some(n) = next {
                    cur.push(n);
                    i += 1;
                }
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == '{' && matches!(next, Some('{' | '%' | '#')) {
            let close = match next {
                Some('{') => '}',
                Some('%') => '%',
                _ => '#',
            };
            jinja.push(close);
            cur.push(c);
            cur.push(next.unwrap_or_default());
            i += 2;
            continue;
        }
        if let Some(&close) = jinja.last() {
            if c == close && next == Some('}') {
                jinja.pop();
                cur.push(c);
                cur.push('}');
                i += 2;
                continue;
            }
            cur.push(c);
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            if !cur.is_empty() {
                tokens.push(Token {
                    text: std::mem::take(&mut cur),
                    offset: start,
                    newline_after: false,
                });
            }
            if c == '\n'
                && let Some(t) = tokens.last_mut()
            {
                t.newline_after = true;
            }
            i += 1;
            continue;
        }
        if cur.is_empty() {
            start = i;
        }
        if c == '"' || c == '\'' {
            quote = Some(c);
        }
        cur.push(c);
        if c == '\\'
            && let Some(n) = next
        {
            cur.push(n);
            i += 1;
        }
        i += 1;
    }
    if let Some(q) = quote {
        return Err(format!("unbalanced quotes: a {q} is never closed"));
    }
    if !jinja.is_empty() {
        return Err("unbalanced Jinja block: a `{{`, `{%` or `{#` is never closed".into());
    }
    if !cur.is_empty() {
        tokens.push(Token {
            text: cur,
            offset: start,
            newline_after: false,
        });
    }
    Ok(tokens)
}

/// Joins raw tokens back, keeping line breaks that separated them (multi-line `shell:`).
pub fn join_raw(tokens: &[&Token]) -> String {
    let mut out = String::new();
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            out.push(if tokens[i - 1].newline_after {
                '\n'
            } else {
                ' '
            });
        }
        out.push_str(&t.text);
    }
    out
}

/// Removes one pair of matching surrounding quotes.
pub fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2
        && (b[0] == b'"' || b[0] == b'\'')
        && b[b.len() - 1] == b[0]
        && b[b.len() - 2] != b'\\'
    {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Python's `unicode-escape` subset Ansible applies to `k=v` tokens.
pub fn decode_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let simple = match it.peek() {
            Some('\\') => Some('\\'),
            Some('\'') => Some('\''),
            Some('"') => Some('"'),
            Some('a') => Some('\x07'),
            Some('b') => Some('\x08'),
            Some('f') => Some('\x0c'),
            Some('n') => Some('\n'),
            Some('r') => Some('\r'),
            Some('t') => Some('\t'),
            Some('v') => Some('\x0b'),
            _ => None,
        };
        if let Some(d) = simple {
            it.next();
            out.push(d);
            continue;
        }
        let width = match it.peek() {
            Some('x') => 2,
            Some('u') => 4,
            Some('U') => 8,
            _ => 0,
        };
        let hex: String = it.clone().skip(1).take(width).collect();
        let decoded = (width > 0 && hex.len() == width)
            .then(|| u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32))
            .flatten();
        match decoded {
            Some(d) => {
                for _ in 0..=width {
                    it.next();
                }
                out.push(d);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A `k=v` option found in a free-form string.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    /// Character offset of the key in the source string.
    pub offset: usize,
}

/// The result of `parse_kv`: options and the leftover raw words, joined.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parsed {
    pub options: Vec<KeyValue>,
    pub raw: Option<String>,
    /// Offset of the first raw token (for errors about unexpected raw words).
    pub raw_offset: usize,
}

fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// Ansible's `parse_kv`. With `raw_keys` set (command-like modules), only those keys are
/// taken as options and every other word stays part of the raw command.
pub fn parse_kv(s: &str, raw_keys: Option<&[&str]>) -> Result<Parsed, String> {
    let tokens = split_args(s)?;
    let mut parsed = Parsed::default();
    let mut raw: Vec<&Token> = Vec::new();
    for t in &tokens {
        let x = decode_escapes(&t.text);
        let eq = x
            .char_indices()
            .find(|&(i, c)| c == '=' && i > 0 && !x[..i].ends_with('\\'))
            .map(|(i, _)| i);
        let Some(pos) = eq else {
            raw.push(t);
            continue;
        };
        let key = x[..pos].trim();
        let allowed = is_identifier(key) && raw_keys.is_none_or(|ks| ks.contains(&key));
        if !allowed {
            raw.push(t);
            continue;
        }
        let value = unquote(x[pos + 1..].trim()).to_string();
        parsed.options.push(KeyValue {
            key: key.to_string(),
            value,
            offset: t.offset,
        });
    }
    if let Some(first) = raw.first() {
        parsed.raw_offset = first.offset;
        parsed.raw = Some(join_raw(&raw));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(p: &Parsed) -> Vec<(&str, &str)> {
        p.options
            .iter()
            .map(|o| (o.key.as_str(), o.value.as_str()))
            .collect()
    }

    #[test]
    fn shell_with_quoted_words_and_chdir() {
        let keys = ["chdir", "creates", "removes", "executable"];
        let p = parse_kv(r#"echo "a b" chdir=/tmp"#, Some(&keys)).unwrap();
        assert_eq!(kv(&p), vec![("chdir", "/tmp")]);
        assert_eq!(p.raw.as_deref(), Some(r#"echo "a b""#));
        // Words that look like k=v but are not module options stay in the command.
        let p = parse_kv("FOO=bar env creates=/x", Some(&keys)).unwrap();
        assert_eq!(p.raw.as_deref(), Some("FOO=bar env"));
        assert_eq!(kv(&p), vec![("creates", "/x")]);
    }

    #[test]
    fn key_value_with_quotes() {
        let p = parse_kv(r#"src=a dest="/x y" mode=0644"#, None).unwrap();
        assert_eq!(
            kv(&p),
            vec![("src", "a"), ("dest", "/x y"), ("mode", "0644")]
        );
        assert_eq!(p.raw, None);
        assert_eq!(p.options[1].offset, 6);
        let p = parse_kv(r#"msg='it is "quoted"' x="a\"b""#, None).unwrap();
        assert_eq!(kv(&p), vec![("msg", "it is \"quoted\""), ("x", "a\"b")]);
    }

    #[test]
    fn jinja_blocks_keep_their_spaces() {
        let p = parse_kv("msg={{ a | default('x y') }} other=1", None).unwrap();
        assert_eq!(
            kv(&p),
            vec![("msg", "{{ a | default('x y') }}"), ("other", "1")]
        );
    }

    #[test]
    fn raw_keeps_newlines_and_quotes() {
        let p = parse_kv("echo 'one  two'\necho three", Some(&["chdir"])).unwrap();
        assert_eq!(p.raw.as_deref(), Some("echo 'one  two'\necho three"));
    }

    #[test]
    fn unbalanced_quotes_are_errors() {
        assert!(
            parse_kv(r#"echo "oops"#, None)
                .unwrap_err()
                .contains("unbalanced")
        );
        assert!(parse_kv("msg={{ x", None).unwrap_err().contains("Jinja"));
    }

    #[test]
    fn escapes() {
        assert_eq!(decode_escapes(r"a\nb\tc\\d\x41\u00e9"), "a\nb\tc\\dAé");
        assert_eq!(decode_escapes(r"keep\q"), r"keep\q");
    }
}
