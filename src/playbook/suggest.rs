//! "Did you mean" hints for misspelt keywords, modules and parameters: a typo should cost the
//! operator one glance at the error, not a trip to the documentation.

/// Levenshtein edit distance, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_but_not_unrelated_words() {
        assert_eq!(distance("copyy", "copy"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(closest("copyy", ["copy", "command", "shell"]), Some("copy"));
        assert_eq!(closest("wehn", ["when", "name"]), Some("when"));
        assert_eq!(closest("zzz", ["copy", "when"]), None);
        assert_eq!(
            did_you_mean("becom", ["become", "become_user"]).as_deref(),
            Some("did you mean `become`?")
        );
    }
}
