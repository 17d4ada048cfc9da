//! Tag selection (`--tags` / `--skip-tags`) with Ansible's special tags: `always` runs unless
//! explicitly skipped, `never` runs only when asked for by name, `tagged`/`untagged` match
//! by presence of tags, and `all` is the implicit default of `--tags`.

/// Whether an item with effective tags `task_tags` runs under `--tags only` and
/// `--skip-tags skip`. An empty `only` means Ansible's default `--tags all`.
pub fn selected(task_tags: &[String], only: &[String], skip: &[String]) -> bool {
    let untagged = task_tags.is_empty();
    // Ansible gives untagged items the implicit tag `untagged`, so `--tags untagged` and
    // `--skip-tags untagged` match them like any other tag.
    let has = |t: &str| {
        if untagged {
            t == "untagged"
        } else {
            task_tags.iter().any(|x| x == t)
        }
    };
    let any_in = |set: &[String]| set.iter().any(|t| has(t));
    let contains = |set: &[String], t: &str| set.iter().any(|x| x == t);
    let all = [String::from("all")];
    let only = if only.is_empty() { &all[..] } else { only };

    let run = has("always")
        || (contains(only, "all") && !has("never"))
        || any_in(only)
        || (contains(only, "tagged") && !untagged && !has("never"));
    if !run || skip.is_empty() {
        return run;
    }
    if contains(skip, "all") {
        return has("always") && !contains(skip, "always");
    }
    !(any_in(skip) || (contains(skip, "tagged") && !untagged))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    fn sel(tags: &[&str], only: &[&str], skip: &[&str]) -> bool {
        selected(&v(tags), &v(only), &v(skip))
    }

    #[test]
    fn default_runs_everything_but_never() {
        assert!(sel(&[], &[], &[]));
        assert!(sel(&["web"], &[], &[]));
        assert!(sel(&["always"], &[], &[]));
        assert!(!sel(&["never"], &[], &[]));
        assert!(!sel(&["never", "debug"], &["all"], &[]));
        assert!(sel(&["never", "always"], &[], &[]));
    }

    #[test]
    fn only_tags() {
        assert!(sel(&["web", "db"], &["db"], &[]));
        assert!(!sel(&["web"], &["db"], &[]));
        assert!(!sel(&[], &["db"], &[]));
        assert!(sel(&["always"], &["db"], &[]));
        // `never` tasks run when one of their other tags is asked for.
        assert!(sel(&["never", "debug"], &["debug"], &[]));
        assert!(sel(&["never"], &["never"], &[]));
    }

    #[test]
    fn tagged_and_untagged() {
        assert!(sel(&[], &["untagged"], &[]));
        assert!(!sel(&["web"], &["untagged"], &[]));
        assert!(sel(&["web"], &["tagged"], &[]));
        assert!(!sel(&[], &["tagged"], &[]));
        assert!(!sel(&["never", "x"], &["tagged"], &[]));
        assert!(!sel(&["web"], &[], &["tagged"]));
        assert!(sel(&[], &[], &["tagged"]));
        assert!(!sel(&[], &[], &["untagged"]));
        assert!(sel(&["web"], &[], &["untagged"]));
    }

    #[test]
    fn skip_tags() {
        assert!(!sel(&["web"], &[], &["web"]));
        assert!(sel(&["db"], &[], &["web"]));
        assert!(!sel(&["web", "db"], &["db"], &["web"]));
        // `always` survives skipping unless skipped by name.
        assert!(sel(&["always"], &[], &["web"]));
        assert!(!sel(&["always"], &[], &["always"]));
        assert!(sel(&["always"], &[], &["all"]));
        assert!(!sel(&["always"], &[], &["all", "always"]));
        assert!(!sel(&["web"], &[], &["all"]));
        assert!(!sel(&[], &[], &["all"]));
    }
}
