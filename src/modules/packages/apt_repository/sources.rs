//! One-line apt sources (`sources.list` and `sources.list.d/*.list`) as Ansible's
//! apt_repository module models them: every line is kept as (enabled, source, comment),
//! sources are compared in a whitespace-normalised form, and a file that changes is written
//! back in that normalised form.

/// One line of a sources file, after Ansible's `_parse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The line is a `deb`/`deb-src` source (possibly commented out).
    pub valid: bool,
    pub enabled: bool,
    pub source: String,
    pub comment: String,
}

const VALID_SOURCE_TYPES: [&str; 2] = ["deb", "deb-src"];

/// Ansible's `SourcesList._parse`.
pub fn parse_line(line: &str) -> Line {
    let mut line = line.trim().to_string();
    let mut enabled = true;
    let mut comment = String::new();
    if let Some(rest) = line.strip_prefix('#') {
        enabled = false;
        line = rest.to_string();
    }
    if let Some(i) = line.find('#')
        && i > 0
    {
        comment = line[i + 1..].trim().to_string();
        line.truncate(i);
    }
    let mut source = line.trim().to_string();
    let mut valid = false;
    if !source.is_empty() {
        let chunks: Vec<&str> = source.split_whitespace().collect();
        if VALID_SOURCE_TYPES.contains(&chunks[0]) {
            valid = true;
            source = chunks.join(" ");
        }
    }
    Line {
        valid,
        enabled,
        source,
        comment,
    }
}

/// The repository line given to the module, which must be an enabled `deb`/`deb-src` line;
/// the error carries what Ansible's `InvalidSource` shows.
pub fn parse_repo(repo: &str) -> Result<String, String> {
    let l = parse_line(repo);
    if !l.valid || !l.enabled {
        let mut shown = repo.trim();
        shown = shown.strip_prefix('#').unwrap_or(shown);
        if let Some(i) = shown.find('#').filter(|i| *i > 0) {
            shown = &shown[..i];
        }
        return Err(format!("Invalid repository string: {shown}"));
    }
    Ok(l.source)
}

/// A sources file's lines rendered back, as Ansible's `dump`/`save` write them.
pub fn render(lines: &[Line]) -> String {
    let mut s = String::new();
    for l in lines {
        if !l.enabled {
            s.push_str("# ");
        }
        s.push_str(&l.source);
        if !l.comment.is_empty() {
            s.push_str(" # ");
            s.push_str(&l.comment);
        }
        s.push('\n');
    }
    s
}

/// Ansible's `_suggest_filename`: the `.list` file a new source goes to, from its URL host
/// and path (or the `filename` parameter).
pub fn suggest_filename(source: &str, filename: Option<&str>) -> String {
    if let Some(f) = filename {
        return format!("{f}.list");
    }
    let opts = regex::Regex::new(r"\[[^\]]+\]").expect("valid regex");
    let proto = regex::Regex::new(r"\w+://").expect("valid regex");
    let line = opts.replace_all(source, "");
    let line = proto.replace_all(&line, "");
    let parts: Vec<&str> = line
        .split_whitespace()
        .filter(|p| !VALID_SOURCE_TYPES.contains(p))
        .collect();
    let first = parts.first().copied().unwrap_or("");
    let first = match first.split_once('@') {
        Some((_, host)) => host,
        None => first,
    };
    let cleaned: String = first
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    format!(
        "{}.list",
        cleaned.split_whitespace().collect::<Vec<_>>().join("_")
    )
}

/// Ansible's `_expand_path`: bare names live in `sources.list.d`.
pub fn expand_path(filename: &str, sources_dir: &str) -> String {
    if filename.contains('/') {
        filename.to_string()
    } else {
        format!("{}/{filename}", sources_dir.trim_end_matches('/'))
    }
}

/// Every sources file apt reads, in the order Ansible loads them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourcesList {
    pub files: Vec<(String, Vec<Line>)>,
    /// Files a source was appended to (their mode is set from the `mode` parameter).
    pub new_repos: Vec<String>,
}

impl SourcesList {
    pub fn load(&mut self, path: &str, content: &str) {
        let lines = content.lines().map(parse_line).collect();
        self.files.push((path.to_string(), lines));
    }

    /// Files with at least one line, rendered: Ansible's `dump()`.
    pub fn dump(&self) -> Vec<(String, String)> {
        self.files
            .iter()
            .filter(|(_, l)| !l.is_empty())
            .map(|(p, l)| (p.clone(), render(l)))
            .collect()
    }

    /// Ansible's `_add_valid_source`: enable every existing copy of the source, else append
    /// it to `file`.
    pub fn add(&mut self, source: &str, file: &str) {
        let mut found = false;
        for (_, lines) in &mut self.files {
            for l in lines.iter_mut().filter(|l| l.valid && l.source == source) {
                l.enabled = true;
                found = true;
            }
        }
        if found {
            return;
        }
        let idx = match self.files.iter().position(|(p, _)| p == file) {
            Some(i) => i,
            None => {
                self.files.push((file.to_string(), Vec::new()));
                self.files.len() - 1
            }
        };
        self.files[idx].1.push(Line {
            valid: true,
            enabled: true,
            source: source.to_string(),
            comment: String::new(),
        });
        if !self.new_repos.iter().any(|f| f == file) {
            self.new_repos.push(file.to_string());
        }
    }

    /// Ansible's `_remove_valid_source`: drop every enabled copy of the source.
    pub fn remove(&mut self, source: &str) {
        for (_, lines) in &mut self.files {
            lines.retain(|l| !(l.valid && l.enabled && l.source == source));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_like_ansible() {
        let l = parse_line("  deb   http://x/  ./   # my repo");
        assert!(l.valid && l.enabled);
        assert_eq!(l.source, "deb http://x/ ./");
        assert_eq!(l.comment, "my repo");
        let l = parse_line("#deb-src http://x/ ./");
        assert!(l.valid && !l.enabled);
        assert_eq!(render(&[l]), "# deb-src http://x/ ./\n");
        let l = parse_line("# just a comment");
        assert!(!l.valid && !l.enabled);
        assert_eq!(render(&[l, parse_line("")]), "# just a comment\n\n");
    }

    #[test]
    fn rejects_invalid_repos() {
        assert_eq!(
            parse_repo("deb [trusted=yes] http://h:1/ ./").unwrap(),
            "deb [trusted=yes] http://h:1/ ./"
        );
        assert_eq!(
            parse_repo("http://x/ ./").unwrap_err(),
            "Invalid repository string: http://x/ ./"
        );
        assert!(parse_repo("# deb http://x/ ./").is_err());
    }

    #[test]
    fn suggests_filenames_like_ansible() {
        assert_eq!(
            suggest_filename("deb [trusted=yes] http://10.1.2.3:8080/ ./", None),
            "10_1_2_3_8080.list"
        );
        assert_eq!(
            suggest_filename(
                "deb http://dl.google.com/linux/chrome/deb/ stable main",
                None
            ),
            "dl_google_com_linux_chrome_deb.list"
        );
        assert_eq!(
            suggest_filename("deb https://user:pw@repo.example.com/apt stable main", None),
            "repo_example_com_apt.list"
        );
        assert_eq!(
            suggest_filename("deb http://x/ ./", Some("google-chrome")),
            "google-chrome.list"
        );
        assert_eq!(
            expand_path("x.list", "/etc/apt/sources.list.d"),
            "/etc/apt/sources.list.d/x.list"
        );
    }

    #[test]
    fn adds_enables_and_removes() {
        let mut s = SourcesList::default();
        s.load(
            "/etc/apt/sources.list",
            "deb http://a/ x main\n# deb http://b/ ./\n",
        );
        let before = s.dump();
        s.add("deb http://a/ x main", "/etc/apt/sources.list.d/a.list");
        assert_eq!(s.dump(), before, "an existing source is not added again");
        s.add("deb http://b/ ./", "/etc/apt/sources.list.d/b.list");
        assert_eq!(
            s.dump()[0].1,
            "deb http://a/ x main\ndeb http://b/ ./\n",
            "re-enabled"
        );
        s.add("deb http://c/ ./", "/etc/apt/sources.list.d/c.list");
        assert_eq!(
            s.dump()[1],
            (
                "/etc/apt/sources.list.d/c.list".into(),
                "deb http://c/ ./\n".into()
            )
        );
        assert_eq!(s.new_repos, vec!["/etc/apt/sources.list.d/c.list"]);
        s.remove("deb http://c/ ./");
        assert_eq!(
            s.dump().len(),
            1,
            "an emptied file disappears from the dump"
        );
    }
}
