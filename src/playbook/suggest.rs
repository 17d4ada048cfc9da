//! "Did you mean" hints for misspelt keywords, modules and parameters: a typo should cost the
//! operator one glance at the error, not a trip to the documentation.

/// Edit distance counting a swap of two adjacent characters as one edit (optimal string
/// alignment), since transpositions (`wehn`, `mdoe`) are the most common typos.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The closest candidate, if it is close enough to be a plausible typo (at most a third of
/// the word's length in edits, and at least one edit allowed).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let max = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `help` text for a diagnostic, or `None` when nothing is close.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// "unknown KEY in WHAT" at the key, with the closest valid key, or the list of valid ones
/// when none is close (a stack file's sections are short enough to list).
pub fn unknown_key(
    key: &crate::yaml::Node,
    allowed: &[&str],
    message: String,
    list: bool,
) -> crate::diagnostic::Diagnostic {
    let name = key.scalar_string().unwrap_or_default();
    let d = key.error(message).label("not a valid keyword here");
    match did_you_mean(&name, allowed.iter().copied()) {
        Some(h) => d.help(h),
        None if list => d.help(format!("valid keys: {}", allowed.join(", "))),
        None => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_but_not_unrelated_words() {
        assert_eq!(distance("copyy", "copy"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("wehn", "when"), 1);
        assert_eq!(closest("copyy", ["copy", "command", "shell"]), Some("copy"));
        assert_eq!(closest("wehn", ["when", "name"]), Some("when"));
        assert_eq!(closest("zzz", ["copy", "when"]), None);
        assert_eq!(
            did_you_mean("becom", ["become", "become_user"]).as_deref(),
            Some("did you mean `become`?")
        );
    }
}
