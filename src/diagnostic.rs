//! rustc-style diagnostics. Every user-facing input error carries a [`Span`] so the operator
//! sees the exact file, line and column with a snippet and a caret, before any host is touched.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A position in a source file. Lines and columns are 1-based; a zero line means "unknown
/// position inside the file" (for example a synthesized play).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: Option<Arc<PathBuf>>,
    pub line: u32,
    pub col: u32,
    /// Width of the underlined region in characters (at least 1 when rendered).
    pub len: u32,
}

impl Span {
    pub fn new(file: &Arc<PathBuf>, line: u32, col: u32, len: u32) -> Self {
        Span {
            file: Some(file.clone()),
            line,
            col,
            len,
        }
    }

    pub fn file_only(file: &Path) -> Self {
        Span {
            file: Some(Arc::new(file.to_path_buf())),
            line: 0,
            col: 0,
            len: 0,
        }
    }

    pub fn unknown() -> Self {
        Span::default()
    }

    /// Offsets this span by `dl` lines and, on its first line, `dc` columns. Used to point
    /// inside a Jinja expression embedded in a YAML scalar.
    pub fn shifted(&self, dl: u32, dc: u32) -> Span {
        let mut s = self.clone();
        if dl > 0 {
            s.line += dl;
            s.col = dc.max(1);
        } else {
            s.col += dc;
        }
        s
    }

    pub fn with_len(mut self, len: u32) -> Span {
        self.len = len;
        self
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            None => write!(f, "<input>"),
            Some(p) if self.line == 0 => write!(f, "{}", p.display()),
            Some(p) => write!(f, "{}:{}:{}", p.display(), self.line, self.col),
        }
    }
}

/// One error or warning with a location, a caret label and optional help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub span: Span,
    pub label: String,
    /// Context that explains the error (why a value is refused), shown before the help.
    pub notes: Vec<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            span,
            label: String::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Renders like rustc. The source line is re-read from disk so that diagnostics stay
    /// cheap to carry around; a file that vanished renders without a snippet.
    pub fn render(&self) -> String {
        let mut out = format!("error: {}\n", self.message);
        let Some(file) = &self.span.file else {
            self.render_notes(&mut out);
            if let Some(h) = &self.help {
                out.push_str(&format!("  = help: {h}\n"));
            }
            return out;
        };
        out.push_str(&format!("  --> {}\n", self.span));
        let line_text = if self.span.line > 0 {
            std::fs::read_to_string(file.as_path()).ok().and_then(|t| {
                t.lines()
                    .nth(self.span.line as usize - 1)
                    .map(mask_url_passwords)
            })
        } else {
            None
        };
        if let Some(text) = line_text {
            let num = self.span.line.to_string();
            let pad = " ".repeat(num.len());
            let col = self.span.col.max(1) as usize;
            // Tabs keep their width so the caret lines up with what the terminal shows.
            let prefix: String = text
                .chars()
                .take(col - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let width = (self.span.len.max(1) as usize)
                .min(text.chars().count().saturating_sub(col - 1).max(1));
            out.push_str(&format!(
                "{pad} |\n{num} | {text}\n{pad} | {prefix}{}",
                "^".repeat(width)
            ));
            if !self.label.is_empty() {
                out.push(' ');
                out.push_str(&self.label);
            }
            out.push('\n');
            if self.help.is_some() || !self.notes.is_empty() {
                out.push_str(&format!("{pad} |\n"));
            }
        }
        self.render_notes(&mut out);
        if let Some(h) = &self.help {
            out.push_str(&format!("  = help: {h}\n"));
        }
        out
    }
}

/// The source line with the password of any `scheme://user:password@host` URL in it
/// replaced by `***`: a snippet must not print a credential to the terminal or a CI log (a
/// stack's `state: postgres://...`, a git URL).
fn mask_url_passwords(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("://") {
        let start = i + 3;
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        // The token runs to a blank or a quote; its user info to the token's last `@`, since
        // a password may hold a raw `/`, `?` or `#`.
        let token = rest
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(rest.len());
        let end = match rest[..token].rfind('@') {
            Some(at) => at + rest[at..token].find(['/', '?', '#']).unwrap_or(token - at),
            None => rest[..token].find(['/', '?', '#']).unwrap_or(token),
        };
        let authority = &rest[..end];
        if let Some(at) = authority.rfind('@')
            && let Some(colon) = authority[..at].find(':')
        {
            out.push_str(&authority[..colon + 1]);
            out.push_str("***");
            out.push_str(&authority[at..]);
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

impl Diagnostic {
    /// `= note:` lines; a multi-line note keeps its lines, indented under the first.
    fn render_notes(&self, out: &mut String) {
        for n in &self.notes {
            let mut lines = n.lines();
            if let Some(first) = lines.next() {
                out.push_str(&format!("  = note: {first}\n"));
            }
            for l in lines {
                out.push_str(&format!("          {l}\n"));
            }
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.span, self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// Every input error of one attempt to start a run, reported together: loading goes on after
/// the first problem so the operator fixes them all in one round. Rendered like rustc, it
/// ends by saying that no host was contacted, which is true of every input error.
#[derive(Debug)]
pub struct InputErrors(pub Vec<Diagnostic>);

impl InputErrors {
    pub fn render(&self) -> String {
        let mut s: String = self
            .0
            .iter()
            .map(|d| d.render())
            .collect::<Vec<_>>()
            .join("\n");
        if self.0.len() > 1 {
            s.push_str(&format!(
                "\nerror: aborting due to {} previous errors; no host was contacted\n",
                self.0.len()
            ));
        } else {
            s.push_str("\nno host was contacted\n");
        }
        s
    }
}

impl From<Diagnostic> for InputErrors {
    fn from(d: Diagnostic) -> Self {
        InputErrors(vec![d])
    }
}

impl From<Vec<Diagnostic>> for InputErrors {
    fn from(d: Vec<Diagnostic>) -> Self {
        InputErrors(d)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn source_lines_mask_url_passwords() {
        for pw in ["s3cret", "pa/ss", "pa?ss", "pa#ss", "a@b/c"] {
            let line = format!("state: postgres://ops:{pw}@db:5432/strata # shared");
            assert_eq!(
                super::mask_url_passwords(&line),
                "state: postgres://ops:***@db:5432/strata # shared",
                "{pw}"
            );
        }
        let plain = "url: \"http://example.org/a@b\" and postgres://db/x";
        assert_eq!(super::mask_url_passwords(plain), plain);
    }

    use super::*;

    #[test]
    fn renders_snippet_with_caret() {
        let dir = crate::scratch::root().join(format!("strata-diag-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("play.yml");
        std::fs::write(&f, "- hosts: all\n  tasks:\n    - bogus: 1\n").unwrap();
        let span = Span::new(&Arc::new(f.clone()), 3, 7, 5);
        let d = Diagnostic::new(span, "unknown module `bogus`").label("not a module");
        let r = d.render();
        assert!(r.contains("error: unknown module `bogus`"), "{r}");
        assert!(r.contains(&format!("--> {}:3:7", f.display())), "{r}");
        assert!(r.contains("3 |     - bogus: 1"), "{r}");
        assert!(r.contains("  |       ^^^^^ not a module"), "{r}");
    }
}
