//! The one splitter compatible with Python's `shlex.split` (POSIX mode), which is how Ansible
//! turns `command: a "b c"` and `script: x.sh args` into words, and (with comments) how it
//! reads an INI inventory's host lines. Matching it exactly matters: the same playbook and
//! inventory must mean the same words under strata and under Ansible.

/// Python's `ValueError` messages, so failures read like Ansible's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShlexError {
    #[error("No closing quotation")]
    NoClosingQuotation,
    #[error("No escaped character")]
    NoEscapedCharacter,
}

/// A [`ShlexError`] with the column (in characters) of the quote left open or of the lone
/// backslash, so located errors can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct LocatedShlexError {
    pub error: ShlexError,
    pub col: usize,
}

/// Python's `shlex.whitespace`.
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

/// One word and where it was in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    /// Column (in characters) of the word's first character, quotes included.
    pub col: usize,
    /// Length in characters of the word as written, quotes and escapes included.
    pub len: usize,
    /// Byte offset just past the word.
    end: usize,
}

/// Whether `#` outside quotes ends the input, as `shlex.split(s, comments=True)`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Comments {
    Words,
    EndLine,
}

/// Splits `s` into words exactly like `shlex.split(s)`.
pub fn split(s: &str) -> Result<Vec<String>, ShlexError> {
    Ok(tokens(s, usize::MAX, Comments::Words)
        .map_err(|e| e.error)?
        .into_iter()
        .map(|t| t.text)
        .collect())
}

/// The words of `s` with their positions, as `shlex.split(s, comments=...)` splits them.
pub fn words(s: &str, comments: Comments) -> Result<Vec<Word>, LocatedShlexError> {
    tokens(s, usize::MAX, comments)
}

/// The first word of `s` and the untouched text after it, as Ansible's `script` keeps the
/// arguments' original quoting for the remote shell. `None` when `s` holds no word.
pub fn split_first(s: &str) -> Result<Option<(String, &str)>, ShlexError> {
    Ok(tokens(s, 1, Comments::Words)
        .map_err(|e| e.error)?
        .into_iter()
        .next()
        .map(|t| (t.text, &s[t.end..])))
}

/// The state machine of Python's `shlex` in POSIX mode with `whitespace_split`.
struct Splitter {
    out: Vec<Word>,
    token: String,
    /// Column of the current word's start, of the open quote, and of the last backslash.
    start: usize,
    quote_at: usize,
    escape_at: usize,
}

impl Splitter {
    fn emit(&mut self, col: usize, end: usize) {
        self.out.push(Word {
            text: std::mem::take(&mut self.token),
            col: self.start,
            len: col - self.start,
            end,
        });
    }

    /// Handles a non-blank character that starts or continues a word. A closed quote returns
    /// to `Word`, so a quoted empty string (`""`) still makes a word, as in Python.
    fn start_of(&mut self, c: char, col: usize) -> State {
        match c {
            '\'' => {
                self.quote_at = col;
                State::Single
            }
            '"' => {
                self.quote_at = col;
                State::Double
            }
            '\\' => {
                self.escape_at = col;
                State::Escape(Quote::None)
            }
            _ => {
                self.token.push(c);
                State::Word
            }
        }
    }
}

fn tokens(s: &str, max: usize, comments: Comments) -> Result<Vec<Word>, LocatedShlexError> {
    let mut sp = Splitter {
        out: Vec::new(),
        token: String::new(),
        start: 0,
        quote_at: 0,
        escape_at: 0,
    };
    let mut state = State::Blank;
    let mut col = 0;
    let mut end = s.len();
    for (i, c) in s.char_indices() {
        let comment = c == '#' && comments == Comments::EndLine;
        match state {
            State::Blank => {
                if WHITESPACE.contains(&c) {
                    col += 1;
                    continue;
                }
                if comment {
                    end = i;
                    break;
                }
                sp.start = col;
                state = sp.start_of(c, col);
            }
            State::Word => {
                if WHITESPACE.contains(&c) || comment {
                    sp.emit(col, i);
                    state = State::Blank;
                    if comment {
                        end = i;
                        break;
                    }
                    if sp.out.len() >= max {
                        return Ok(sp.out);
                    }
                } else {
                    state = sp.start_of(c, col);
                }
            }
            State::Single => {
                if c == '\'' {
                    state = State::Word;
                } else {
                    sp.token.push(c);
                }
            }
            State::Double => match c {
                '"' => state = State::Word,
                '\\' => {
                    sp.escape_at = col;
                    state = State::Escape(Quote::Double);
                }
                _ => sp.token.push(c),
            },
            State::Escape(q) => {
                // Inside double quotes a backslash only escapes `"` and `\`; elsewhere it stays.
                if q == Quote::Double && c != '"' && c != '\\' {
                    sp.token.push('\\');
                }
                sp.token.push(c);
                state = if q == Quote::Double {
                    State::Double
                } else {
                    State::Word
                };
            }
        }
        col += 1;
    }
    let err = |error, col| Err(LocatedShlexError { error, col });
    match state {
        State::Single | State::Double => err(ShlexError::NoClosingQuotation, sp.quote_at),
        State::Escape(_) => err(ShlexError::NoEscapedCharacter, sp.escape_at),
        State::Word => {
            sp.emit(col, end);
            Ok(sp.out)
        }
        State::Blank => Ok(sp.out),
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
