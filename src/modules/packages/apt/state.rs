//! What the host's package database says about the packages a task names: `dpkg-query` for the
//! installed state, `apt-cache policy` for the candidate and every available version. This is
//! the information Ansible's apt module reads through python-apt; strata reads it from the
//! tools' text output, in the C locale, and then applies Ansible's `package_status` to it.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use super::version;
use crate::fnmatch::fnmatch;

/// One package as dpkg and apt see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PkgInfo {
    /// dpkg's current state (`installed`, `config-files`, `half-installed`, ...), if dpkg
    /// knows the package at all.
    pub dpkg_state: Option<String>,
    /// The version dpkg has (meaningful when installed).
    pub dpkg_version: Option<String>,
    /// `Candidate:` from `apt-cache policy` (respects pins and the default release).
    pub candidate: Option<String>,
    /// Every version in the policy's version table, best first as apt lists them.
    pub versions: Vec<String>,
    /// Whether `apt-cache policy` printed a block for the name (apt's cache knows it).
    pub known: bool,
}

impl PkgInfo {
    pub fn installed(&self) -> bool {
        self.dpkg_state.as_deref() == Some("installed")
    }
    /// python-apt's `has_files`: dpkg still holds something of the package (conffiles of a
    /// removed package, or a partial install).
    pub fn has_files(&self) -> bool {
        matches!(self.dpkg_state.as_deref(), Some(s) if s != "not-installed")
    }
    /// python-apt only exposes packages that have versions; purely virtual ones are missing.
    pub fn real(&self) -> bool {
        !self.versions.is_empty()
    }
}

/// The probe's view of every name asked about.
#[derive(Clone, Debug, Default)]
pub struct PkgDb {
    pub pkgs: HashMap<String, PkgInfo>,
    /// Names `apt-mark showauto` reported (installed as a dependency).
    pub auto: HashSet<String>,
}

impl PkgDb {
    /// Looks a name up, also without a `:arch` qualifier (dpkg and apt print native names bare).
    pub fn get(&self, name: &str) -> PkgInfo {
        if let Some(p) = self.pkgs.get(name) {
            return p.clone();
        }
        let bare = name.split(':').next().unwrap_or(name);
        self.pkgs.get(bare).cloned().unwrap_or_default()
    }

    /// Parses `dpkg-query -W -f='${Package}\t${db:Status-Status}\t${Version}\n'` output.
    pub fn add_dpkg(&mut self, text: &str) {
        for line in text.lines() {
            let mut f = line.split('\t');
            let (Some(name), Some(state)) = (f.next(), f.next()) else {
                continue;
            };
            let version = f.next().unwrap_or("").trim();
            let e = self.pkgs.entry(name.trim().to_string()).or_default();
            // A multi-arch package may print one line per architecture: installed wins.
            if e.dpkg_state.as_deref() == Some("installed") {
                continue;
            }
            e.dpkg_state = Some(state.trim().to_string());
            e.dpkg_version = (!version.is_empty()).then(|| version.to_string());
        }
    }

    /// Parses `apt-cache policy NAME...` output (C locale).
    pub fn add_policy(&mut self, text: &str) {
        let mut cur: Option<String> = None;
        for line in text.lines() {
            if !line.starts_with(' ') && line.ends_with(':') && !line.is_empty() {
                let name = line.trim_end_matches(':').to_string();
                self.pkgs.entry(name.clone()).or_default().known = true;
                cur = Some(name);
                continue;
            }
            let Some(name) = &cur else { continue };
            let e = self.pkgs.entry(name.clone()).or_default();
            let t = line.trim();
            if let Some(c) = t.strip_prefix("Candidate:") {
                let c = c.trim();
                e.candidate = (c != "(none)" && !c.is_empty()).then(|| c.to_string());
            } else if line.len() > 5
                && (line.starts_with(" *** ") || line.starts_with("     "))
                && !line[5..].starts_with(' ')
            {
                // A version line: ` *** 1.0 100` or `     2.0 500`; source lines are
                // indented further.
                if let Some(v) = line[5..].split_whitespace().next() {
                    e.versions.push(v.to_string());
                }
            }
        }
    }

    pub fn add_auto(&mut self, text: &str) {
        self.auto.extend(
            text.lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty()),
        );
    }
}

/// `package_split`: `name`, `name=ver` or `name>=ver`.
pub fn split_spec(spec: &str) -> (&str, Option<&str>, Option<&str>) {
    if let Some(i) = spec.find('=') {
        if i > 0 && spec.as_bytes()[i - 1] == b'>' {
            return (&spec[..i - 1], Some(">="), Some(&spec[i + 1..]));
        }
        return (&spec[..i], Some("="), Some(&spec[i + 1..]));
    }
    (spec, None, None)
}

/// Ansible's `version_installable`: nothing, "let apt decide" (virtual packages), or a version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Installable {
    No,
    AptDecides,
    Version(String),
}

impl Installable {
    pub fn any(&self) -> bool {
        !matches!(self, Installable::No)
    }
}

/// The result of Ansible's `package_status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub installed: bool,
    /// The installed version satisfies the spec (`installed_version` in Ansible).
    pub version_ok: bool,
    pub installable: Installable,
    pub has_files: bool,
}

/// `package_best_match`: the candidate, or with `=ver` the best version matching the
/// (possibly wildcarded) pin, as apt would choose with a priority-1001 version pin.
pub fn best_match(p: &PkgInfo, cmp: Option<&str>, version: Option<&str>) -> Option<String> {
    match (cmp, version) {
        (Some("="), Some(v)) => p
            .versions
            .iter()
            .filter(|cand| fnmatch(cand, v))
            .max_by(|a, b| version::compare(a, b))
            .cloned(),
        _ => p.candidate.clone(),
    }
}

/// Ansible's `package_status` for a package python-apt can see (one with versions).
pub fn status(p: &PkgInfo, cmp: Option<&str>, version: Option<&str>) -> Status {
    let best = best_match(p, cmp, version);
    let installed = p.installed();
    let mut version_ok = false;
    let mut installable = Installable::No;
    if installed {
        let iv = p.dpkg_version.clone().unwrap_or_default();
        let differs = |b: &String| *b != iv;
        match (cmp, version) {
            (Some("="), Some(v)) => {
                version_ok = fnmatch(&iv, v);
                if let Some(b) = best.filter(|b| differs(b) && fnmatch(b, v)) {
                    installable = Installable::Version(b);
                }
            }
            (Some(">="), Some(v)) => {
                version_ok = version::compare(&iv, v) != Ordering::Less;
                if let Some(b) =
                    best.filter(|b| differs(b) && version::compare(b, v) != Ordering::Less)
                {
                    installable = Installable::Version(b);
                }
            }
            _ => {
                version_ok = true;
                if let Some(b) = best.filter(differs) {
                    installable = Installable::Version(b);
                }
            }
        }
    } else if let Some(b) = best {
        installable = Installable::Version(b);
    }
    Status {
        installed,
        version_ok,
        installable,
        has_files: p.has_files(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "hello:
  Installed: (none)
  Candidate: 2.10-3
  Version table:
     2.10-3 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
strata-demo:
  Installed: 1.0
  Candidate: 2.0
  Version table:
     2.0 500
        500 http://10.0.0.1:4000 ./ Packages
 *** 1.0 500
        500 http://10.0.0.1:4000 ./ Packages
        100 /var/lib/dpkg/status
mail-transport-agent:
  Installed: (none)
  Candidate: (none)
  Version table:
";

    fn db() -> PkgDb {
        let mut db = PkgDb::default();
        db.add_policy(POLICY);
        db.add_dpkg("strata-demo\tinstalled\t1.0\nold\tconfig-files\t0.5\n");
        db
    }

    #[test]
    fn parses_policy_and_dpkg() {
        let db = db();
        let h = db.get("hello");
        assert!(h.known && h.real() && !h.installed());
        assert_eq!(h.candidate.as_deref(), Some("2.10-3"));
        assert_eq!(h.versions, vec!["2.10-3"]);
        let d = db.get("strata-demo");
        assert_eq!(d.versions, vec!["2.0", "1.0"]);
        assert!(d.installed());
        assert_eq!(d.dpkg_version.as_deref(), Some("1.0"));
        let v = db.get("mail-transport-agent");
        assert!(v.known && !v.real());
        assert!(!db.get("nosuch").known);
        assert!(db.get("old").has_files() && !db.get("old").installed());
        assert!(
            db.get("hello:amd64").known,
            "arch-qualified names fall back"
        );
    }

    #[test]
    fn ansible_package_status() {
        let db = db();
        let d = db.get("strata-demo");
        // present: installed, an upgrade exists but is not required.
        let s = status(&d, None, None);
        assert!(s.installed && s.version_ok);
        assert_eq!(s.installable, Installable::Version("2.0".into()));
        // pinned to the installed version: nothing to do.
        let s = status(&d, Some("="), Some("1.0"));
        assert!(s.version_ok);
        assert_eq!(s.installable, Installable::No);
        // pinned to the other version.
        let s = status(&d, Some("="), Some("2.*"));
        assert!(!s.version_ok);
        assert_eq!(s.installable, Installable::Version("2.0".into()));
        // a version that does not exist.
        let s = status(&d, Some("="), Some("3.0"));
        assert_eq!((s.version_ok, s.installable), (false, Installable::No));
        // >=
        let s = status(&d, Some(">="), Some("1.5"));
        assert!(!s.version_ok);
        assert_eq!(s.installable, Installable::Version("2.0".into()));
        // not installed: the candidate.
        let s = status(&db.get("hello"), None, None);
        assert!(!s.installed && !s.version_ok);
        assert_eq!(s.installable, Installable::Version("2.10-3".into()));
    }

    #[test]
    fn splits_specs() {
        assert_eq!(split_spec("foo"), ("foo", None, None));
        assert_eq!(split_spec("foo=1.0*"), ("foo", Some("="), Some("1.0*")));
        assert_eq!(split_spec("foo>=1.0"), ("foo", Some(">="), Some("1.0")));
    }
}
