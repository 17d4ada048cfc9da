//! PEP 440 versions and requirement specifiers, enough for `pip`'s check mode to decide, as
//! Ansible does with `packaging`, whether an installed version satisfies `foo>=1,<2`. Names are
//! canonicalized per PEP 503 so `Foo_Bar` matches `foo-bar` in `pip list` output.

use std::cmp::Ordering;

/// A parsed version: epoch, release numbers, pre-release, post and dev parts.
#[derive(Clone, Debug)]
pub struct Version {
    epoch: u64,
    release: Vec<u64>,
    /// (0=a, 1=b, 2=rc, n)
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
}

/// Epoch, trimmed release, then pre/post/dev as (rank, number) pairs.
type SortKey = (u64, Vec<u64>, (i8, u64), (i8, u64), (i8, u64));

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_prefix('v').unwrap_or(&s);
        let s = s.split('+').next()?; // local versions compare by their public part here
        let (epoch, rest) = match s.split_once('!') {
            Some((e, r)) => (e.parse().ok()?, r),
            None => (0, s),
        };
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let release: Vec<u64> = rest[..end]
            .trim_end_matches('.')
            .split('.')
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        let mut tail = rest[end..].trim_start_matches(['.', '-', '_']);
        let mut v = Version {
            epoch,
            release,
            pre: None,
            post: None,
            dev: None,
        };
        let num = |t: &mut &str| -> u64 {
            let t2 = t.trim_start_matches(['.', '-', '_']);
            let n = t2.find(|c: char| !c.is_ascii_digit()).unwrap_or(t2.len());
            let val = t2[..n].parse().unwrap_or(0);
            *t = t2[n..].trim_start_matches(['.', '-', '_']);
            val
        };
        for (tags, kind) in [
            (&["alpha", "a"][..], 0u8),
            (&["beta", "b"][..], 1),
            (&["rc", "c", "pre", "preview"][..], 2),
        ] {
            if let Some(t) = tags.iter().find(|t| tail.starts_with(**t)) {
                tail = &tail[t.len()..];
                v.pre = Some((kind, num(&mut tail)));
                break;
            }
        }
        for t in ["post", "rev", "r"] {
            if let Some(r) = tail.strip_prefix(t) {
                tail = r;
                v.post = Some(num(&mut tail));
                break;
            }
        }
        if let Some(r) = tail.strip_prefix("dev") {
            tail = r;
            v.dev = Some(num(&mut tail));
        }
        tail.is_empty().then_some(v)
    }

    fn key(&self) -> SortKey {
        let mut rel = self.release.clone();
        while rel.len() > 1 && rel.last() == Some(&0) {
            rel.pop();
        }
        // A dev release of a final version sorts before its pre-releases.
        let pre = match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => (-2, 0),
            (None, _, _) => (3, 0),
            (Some((k, n)), _, _) => (k as i8, n),
        };
        let post = self.post.map(|p| (0, p)).unwrap_or((-1, 0));
        let dev = self.dev.map(|d| (0, d)).unwrap_or((1, 0));
        (self.epoch, rel, pre, post, dev)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

const OPS: &[&str] = &["===", "~=", "==", "!=", "<=", ">=", "<", ">"];

/// One clause such as `>=1.0` or `==1.*`.
fn clause_matches(op: &str, spec: &str, v: &str) -> bool {
    let spec = spec.trim();
    if op == "===" {
        return spec == v;
    }
    let Some(have) = Version::parse(v) else {
        return false;
    };
    if let Some(prefix) = spec.strip_suffix(".*") {
        let Some(p) = Version::parse(prefix) else {
            return false;
        };
        let n = p.release.len();
        let mut rel = have.release.clone();
        rel.resize(rel.len().max(n), 0);
        let hit = have.epoch == p.epoch && rel[..n] == p.release[..];
        return if op == "!=" { !hit } else { op == "==" && hit };
    }
    let Some(want) = Version::parse(spec) else {
        return false;
    };
    match op {
        "==" => have == want,
        "!=" => have != want,
        "<=" => have <= want,
        ">=" => have >= want,
        "<" => have < want,
        ">" => have > want,
        "~=" => {
            let n = want.release.len().saturating_sub(1).max(1);
            let mut rel = have.release.clone();
            rel.resize(rel.len().max(n), 0);
            have >= want && rel[..n] == want.release[..n]
        }
        _ => false,
    }
}

/// PEP 503 normalization: runs of `-_.` become `-`, lowercased.
pub fn canonicalize(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// A requirement `name[extras]<specifiers>`; `None` for URLs, paths and VCS references,
/// which Ansible cannot check and always treats as not installed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub name: String,
    pub specs: Vec<(String, String)>,
}

impl Requirement {
    pub fn parse(s: &str) -> Option<Requirement> {
        let s = s.split(';').next()?.trim();
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(s.len());
        let name = &s[..end];
        if name.is_empty() {
            return None;
        }
        let mut rest = s[end..].trim();
        if rest.starts_with('[') {
            rest = rest[rest.find(']')? + 1..].trim();
        }
        let rest = rest.trim_start_matches('(').trim_end_matches(')');
        let mut specs = Vec::new();
        for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let op = OPS.iter().find(|o| part.starts_with(**o))?;
            specs.push((op.to_string(), part[op.len()..].trim().to_string()));
        }
        Some(Requirement {
            name: canonicalize(name),
            specs,
        })
    }

    pub fn has_specifier(&self) -> bool {
        !self.specs.is_empty()
    }

    pub fn satisfied_by(&self, version: &str) -> bool {
        self.specs
            .iter()
            .all(|(op, v)| clause_matches(op, v, version))
    }

    /// The requirement as `str(Requirement)` prints it: no spaces.
    pub fn display(raw: &str) -> String {
        raw.chars().filter(|c| !c.is_whitespace()).collect()
    }
}

/// Whether `pip list --format=freeze` lines show `req` installed in a satisfying version.
pub fn is_present(req: &Requirement, freeze: &str) -> bool {
    freeze.lines().any(|l| {
        l.split_once("==")
            .is_some_and(|(n, v)| canonicalize(n) == req.name && req.satisfied_by(v.trim()))
    })
}

/// Ansible's `_recover_package_name`: re-joins specifiers split off by list conversion
/// (`['foo>=1', '<2']` is `foo>=1,<2`).
pub fn recover_names(names: &[String]) -> Vec<String> {
    let parts: Vec<&str> = names.iter().flat_map(|n| n.split(',')).collect();
    let mut out: Vec<String> = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut in_brackets = false;
    for p in parts {
        let is_name = !OPS.iter().any(|o| p.trim_start().starts_with(o));
        if is_name && !in_brackets && !cur.is_empty() {
            out.push(cur.join(","));
            cur.clear();
        }
        if p.contains('[') {
            in_brackets = true;
        }
        if in_brackets && p.contains(']') {
            in_brackets = false;
        }
        cur.push(p);
    }
    out.push(cur.join(","));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_follows_pep440() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("1.0") == v("1.0.0"));
        assert!(v("1.0a1") < v("1.0b2"));
        assert!(v("1.0rc1") < v("1.0"));
        assert!(v("1.0.dev1") < v("1.0a1"));
        assert!(v("1.0") < v("1.0.post1"));
        assert!(v("1.10") > v("1.9"));
        assert!(v("1!0.1") > v("2.0"));
        assert!(Version::parse("not-a-version").is_none());
    }

    #[test]
    fn specifiers() {
        let r = Requirement::parse("Foo_Bar>=1.0,<2").unwrap();
        assert_eq!(r.name, "foo-bar");
        assert!(r.satisfied_by("1.5") && !r.satisfied_by("2.0") && !r.satisfied_by("0.9"));
        let r = Requirement::parse("x==1.*").unwrap();
        assert!(r.satisfied_by("1.4.2") && !r.satisfied_by("2.0"));
        let r = Requirement::parse("x~=1.4.2").unwrap();
        assert!(r.satisfied_by("1.4.9") && !r.satisfied_by("1.5.0"));
        let r = Requirement::parse("x[extra] != 1.0").unwrap();
        assert!(!r.satisfied_by("1.0") && r.satisfied_by("1.1"));
        assert!(!Requirement::parse("x").unwrap().has_specifier());
        assert!(Requirement::parse("git+https://x/y.git").is_none());
    }

    #[test]
    fn presence_in_freeze_output() {
        let freeze = "Six==1.16.0\nstrata-demo==2.0\n";
        assert!(is_present(&Requirement::parse("six").unwrap(), freeze));
        assert!(is_present(
            &Requirement::parse("strata_demo>=2").unwrap(),
            freeze
        ));
        assert!(!is_present(
            &Requirement::parse("strata-demo==1.0").unwrap(),
            freeze
        ));
        assert!(!is_present(&Requirement::parse("other").unwrap(), freeze));
    }

    #[test]
    fn names_are_recovered() {
        let n = |v: &[&str]| recover_names(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            n(&[
                "django>1.11.1",
                "<1.11.3",
                "ipaddress",
                "simpleproject>1.1.0",
                "<2.0.0"
            ]),
            vec![
                "django>1.11.1,<1.11.3",
                "ipaddress",
                "simpleproject>1.1.0,<2.0.0"
            ]
        );
        assert_eq!(n(&["a[x,y]>=1"]), vec!["a[x,y]>=1"]);
    }
}
