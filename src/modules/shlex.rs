//! A splitter compatible with Python's `shlex.split(s)` (POSIX mode, no comments), which is how
//! Ansible turns `command: a "b c"` and `script: x.sh args` into words. Matching it exactly
//! matters: the same playbook must run the same argv under strata and under Ansible.

/// Python's `ValueError` messages, so failures read like Ansible's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShlexError {
    #[error("No closing quotation")]
    NoClosingQuotation,
    #[error("No escaped character")]
    NoEscapedCharacter,
}

const WHITESPACE: &[char] = &[' ', '\t', '\r', '\n'];

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between words.
    Blank,
    Word,
    Single,
    Double,
    /// After a backslash; remembers where it appeared.
    Escape(Quote),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Double,
}

/// One word and the byte range it covered in the input.
struct Token {
    text: String,
    end: usize,
}

/// Splits `s` into words exactly like `shlex.split(s)`.
pub fn split(s: &str) -> Result<Vec<String>, ShlexError> {
    Ok(tokens(s, usize::MAX)?.into_iter().map(|t| t.text).collect())
}

/// The first word of `s` and the untouched text after it, as Ansible's `script` keeps the
/// arguments' original quoting for the remote shell. `None` when `s` holds no word.
pub fn split_first(s: &str) -> Result<Option<(String, &str)>, ShlexError> {
    Ok(tokens(s, 1)?
        .into_iter()
        .next()
        .map(|t| (t.text, &s[t.end..])))
}

fn tokens(s: &str, max: usize) -> Result<Vec<Token>, ShlexError> {
    let mut out = Vec::new();
    let mut state = State::Blank;
    let mut token = String::new();
    for (i, c) in s.char_indices() {
        match state {
            State::Blank => {
                if WHITESPACE.contains(&c) {
                    continue;
                }
                state = start_of(c, &mut token);
            }
            State::Word => {
                if WHITESPACE.contains(&c) {
                    out.push(Token {
                        text: std::mem::take(&mut token),
                        end: i,
                    });
                    state = State::Blank;
                    if out.len() >= max {
                        return Ok(out);
                    }
                } else {
                    state = start_of(c, &mut token);
                }
            }
            State::Single => {
                if c == '\'' {
                    state = State::Word;
                } else {
                    token.push(c);
                }
            }
            State::Double => match c {
                '"' => state = State::Word,
                '\\' => state = State::Escape(Quote::Double),
                _ => token.push(c),
            },
            State::Escape(q) => {
                // Inside double quotes a backslash only escapes `"` and `\`; elsewhere it stays.
                if q == Quote::Double && c != '"' && c != '\\' {
                    token.push('\\');
                }
                token.push(c);
                state = if q == Quote::Double {
                    State::Double
                } else {
                    State::Word
                };
            }
        }
    }
    match state {
        State::Single | State::Double => Err(ShlexError::NoClosingQuotation),
        State::Escape(_) => Err(ShlexError::NoEscapedCharacter),
        State::Word => {
            out.push(Token {
                text: token,
                end: s.len(),
            });
            Ok(out)
        }
        State::Blank => Ok(out),
    }
}

/// Handles a non-blank character that starts or continues a word. A closed quote returns to
/// `Word`, so a quoted empty string (`""`) still makes a word, as in Python.
fn start_of(c: char, token: &mut String) -> State {
    match c {
        '\'' => State::Single,
        '"' => State::Double,
        '\\' => State::Escape(Quote::None),
        _ => {
            token.push(c);
            State::Word
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(s: &str) -> Vec<String> {
        split(s).unwrap()
    }

    // Expected values are what CPython's shlex.split returns for the same input.
    #[test]
    fn matches_python_shlex() {
        assert_eq!(sp("echo hello world"), ["echo", "hello", "world"]);
        assert_eq!(sp("  a\t b\n"), ["a", "b"]);
        assert_eq!(sp(r#"a "b c" 'd e'"#), ["a", "b c", "d e"]);
        assert_eq!(sp(r#"a"b c"d"#), ["ab cd"]);
        assert_eq!(sp(r#"a "" b ''"#), ["a", "", "b", ""]);
        assert_eq!(sp(r"a\ b c"), ["a b", "c"]);
        assert_eq!(
            sp(r#""a\"b" "a\\b" "a\$b" "a\nb""#),
            [r#"a"b"#, r"a\b", r"a\$b", r"a\nb"]
        );
        assert_eq!(sp(r"'a\b' 'it'\''s'"), [r"a\b", "it's"]);
        assert_eq!(sp(r"\'x \$HOME"), ["'x", "$HOME"]);
        assert_eq!(
            sp("echo # not a comment"),
            ["echo", "#", "not", "a", "comment"]
        );
        assert_eq!(sp("x=1 ; y|z > f &"), ["x=1", ";", "y|z", ">", "f", "&"]);
        assert_eq!(sp("héllo wörld"), ["héllo", "wörld"]);
        assert!(sp("").is_empty());
        assert!(sp("   ").is_empty());
    }

    #[test]
    fn errors_like_python() {
        assert_eq!(split("a 'b").unwrap_err(), ShlexError::NoClosingQuotation);
        assert_eq!(split("a \"b").unwrap_err(), ShlexError::NoClosingQuotation);
        assert_eq!(split("a \\").unwrap_err(), ShlexError::NoEscapedCharacter);
        assert_eq!(
            split("a \"b\\").unwrap_err(),
            ShlexError::NoEscapedCharacter
        );
    }

    #[test]
    fn first_word_keeps_the_rest_verbatim() {
        let (w, rest) = split_first("  'my script.sh' \"$HOME\" 'a b'")
            .unwrap()
            .unwrap();
        assert_eq!(w, "my script.sh");
        assert_eq!(rest, " \"$HOME\" 'a b'");
        let (w, rest) = split_first("run.sh").unwrap().unwrap();
        assert_eq!((w.as_str(), rest), ("run.sh", ""));
        assert!(split_first("  ").unwrap().is_none());
    }
}
