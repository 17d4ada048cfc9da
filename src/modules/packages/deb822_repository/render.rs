//! The `.sources` file as Ansible's deb822_repository writes it: python-debian's `Deb822`
//! dump of the parameters in sorted order, each named as Ansible names its field.

use crate::values::splitlines;

/// A parameter's value once Ansible formatted it.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    Bool(bool),
    Int(i64),
    List(Vec<String>),
    Text(String),
}

/// Ansible's slug: lower case, runs of `_`/whitespace to `-`, anything else dropped.
pub fn slug(name: &str) -> String {
    let ws = regex::Regex::new(r"[_\s]+").expect("valid regex");
    let other = regex::Regex::new(r"[^a-z0-9-]+").expect("valid regex");
    other
        .replace_all(&ws.replace_all(&name.to_lowercase(), "-"), "")
        .into_owned()
}

pub fn sources_filename(slug: &str) -> String {
    format!("/etc/apt/sources.list.d/{slug}.sources")
}

pub const KEYRINGS_DIR: &str = "/etc/apt/keyrings";

pub fn signed_by_filename(slug: &str, ext: &str) -> String {
    format!("{KEYRINGS_DIR}/{slug}.{ext}")
}

/// Ansible's `format_field_name`.
pub fn field_name(param: &str) -> String {
    match param {
        "name" => "X-Repolib-Name".into(),
        "uris" => "URIs".into(),
        p => python_title(&p.replace('_', "-")),
    }
}

/// Python's `str.title()` for ASCII names: a letter after a non-letter is upper-cased.
fn python_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_letter = false;
    for c in s.chars() {
        if c.is_alphabetic() {
            if prev_letter {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            prev_letter = true;
        } else {
            out.push(c);
            prev_letter = false;
        }
    }
    out
}

/// Ansible's `format_multiline`: stripped lines, blank ones as `.`, indented four spaces.
pub fn multiline(v: &str) -> String {
    let lines: Vec<String> = splitlines(v.trim())
        .iter()
        .map(|l| {
            let t = l.as_str().unwrap_or("").trim();
            if t.is_empty() {
                "    .".to_string()
            } else {
                format!("    {t}")
            }
        })
        .collect();
    format!("\n{}", lines.join("\n"))
}

/// The file: `fields` are (parameter name, value), in any order; they are sorted by name,
/// formatted, and dumped as `Deb822` dumps them (no space before a multi-line or empty
/// value).
pub fn render(fields: &[(&str, Field)]) -> String {
    let mut sorted: Vec<&(&str, Field)> = fields.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (name, v) in sorted {
        let mut value = match v {
            Field::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
            Field::Int(i) => i.to_string(),
            Field::List(l) => l.join(" "),
            Field::Text(t) => t.clone(),
        };
        if value.contains('\n') {
            value = multiline(&value);
        }
        let key = field_name(name);
        if value.is_empty() || value.starts_with('\n') {
            out.push_str(&format!("{key}:{value}\n"));
        } else {
            out.push_str(&format!("{key}: {value}\n"));
        }
    }
    out
}

/// Whether Python's `urlparse` finds a scheme: letters first, then letters, digits, `+-.`,
/// up to the first `:`.
pub fn has_scheme(v: &str) -> bool {
    let v: String = v
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    match v.find(':') {
        Some(i) if i > 0 => {
            let s = &v[..i];
            s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_names_follow_ansible() {
        assert_eq!(slug("My Repo_x.Y  2"), "my-repo-xy-2");
        assert_eq!(field_name("inrelease_path"), "Inrelease-Path");
        assert_eq!(
            field_name("allow_downgrade_to_insecure"),
            "Allow-Downgrade-To-Insecure"
        );
        assert_eq!(field_name("uris"), "URIs");
        assert_eq!(field_name("name"), "X-Repolib-Name");
    }

    #[test]
    fn renders_like_python_debian() {
        let key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEYC\n=IE0r\n-----END PGP PUBLIC KEY BLOCK-----\n";
        let out = render(&[
            ("uris", Field::List(vec!["http://h/".into()])),
            ("types", Field::List(vec!["deb".into()])),
            ("name", Field::Text("x".into())),
            ("trusted", Field::Bool(true)),
            ("date_max_future", Field::Int(10)),
            ("signed_by", Field::Text(key.into())),
            ("suites", Field::List(vec!["./".into()])),
        ]);
        assert_eq!(
            out,
            "Date-Max-Future: 10\nX-Repolib-Name: x\nSigned-By:\n    -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n    mDMEYC\n    =IE0r\n    -----END PGP PUBLIC KEY BLOCK-----\nSuites: ./\nTrusted: yes\nTypes: deb\nURIs: http://h/\n"
        );
    }

    #[test]
    fn schemes_as_urlparse_sees_them() {
        assert!(has_scheme("https://h/k.asc"));
        assert!(has_scheme("file:///k"));
        assert!(!has_scheme("/etc/apt/keyrings/k.asc"));
        assert!(!has_scheme(
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\nVersion: x"
        ));
        assert!(!has_scheme("4D64FEC119C2029067D6E791F8D2585B8783D481"));
    }
}
