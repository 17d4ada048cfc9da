//! Deciding what apt-get must do, per package, exactly as Ansible's apt module's `install()` and
//! `remove()` decide it: this is what makes a task `changed` or `ok`.

use std::collections::HashMap;

use super::state::{Installable, PkgDb, Status, split_spec, status};

/// Why no apt-get command can be built; the text is Ansible's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("No package matching '{0}' is available")]
    NoPackage(String),
    #[error("no available installation candidate for {0}")]
    NoCandidate(String),
    #[error("invalid package spec: {0}")]
    InvalidSpec(String),
}

/// Package arguments for `apt-get install`, and the names to mark as manually installed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstallPlan {
    pub args: Vec<String>,
    pub names: Vec<String>,
}

/// Names that apt knows only as purely virtual (provided by other packages): Ansible looks at
/// their providers, which a second probe must fetch.
pub fn virtual_names(specs: &[String], db: &PkgDb) -> Vec<String> {
    specs
        .iter()
        .map(|s| split_spec(s).0.to_string())
        .filter(|n| {
            let p = db.get(n);
            p.known && !p.real()
        })
        .collect()
}

/// Ansible's `package_status` with `state='install'`, including the virtual-package rule:
/// a name only provided by others is left to apt, unless exactly one installed package
/// provides it.
fn install_status(
    spec: &str,
    db: &PkgDb,
    providers: &HashMap<String, Vec<String>>,
) -> Result<Status, PlanError> {
    let (name, cmp, ver) = split_spec(spec);
    let p = db.get(name);
    if p.real() {
        return Ok(status(&p, cmp, ver));
    }
    let provs = providers.get(name).cloned().unwrap_or_default();
    if provs.is_empty() {
        return Err(PlanError::NoPackage(name.to_string()));
    }
    if provs.len() == 1 {
        let pp = db.get(&provs[0]);
        if pp.real() {
            let s = status(&pp, cmp, ver);
            if s.installed {
                return Ok(s);
            }
        }
    }
    Ok(Status {
        installed: false,
        version_ok: false,
        installable: Installable::AptDecides,
        has_files: false,
    })
}

/// Ansible's `install()` package selection. `upgrade` is `state=latest`.
pub fn plan_install(
    specs: &[String],
    db: &PkgDb,
    providers: &HashMap<String, Vec<String>>,
    upgrade: bool,
    only_upgrade: bool,
) -> Result<InstallPlan, PlanError> {
    let mut plan = InstallPlan::default();
    for spec in specs {
        let (name, cmp, ver) = split_spec(spec);
        let st = install_status(spec, db, providers)?;
        if !st.installed && only_upgrade {
            continue;
        }
        plan.names.push(name.to_string());
        if !st.version_ok && !st.installable.any() {
            return Err(PlanError::NoCandidate(spec.clone()));
        }
        let wanted = (!st.installed && !only_upgrade) || upgrade || !st.version_ok;
        match (&st.installable, wanted) {
            (Installable::Version(v), true) => plan.args.push(format!("{name}={v}")),
            (Installable::AptDecides, true) => plan.args.push(match ver {
                Some(v) => format!("{name}={v}"),
                None => name.to_string(),
            }),
            // Installed, matching a wildcard pin, and a newer match exists: Ansible's legacy
            // behaviour asks apt for the wildcard again.
            (inst, false) if st.version_ok && inst.any() && cmp == Some("=") => plan
                .args
                .push(format!("{name}={}", ver.unwrap_or_default())),
            _ => {}
        }
    }
    Ok(plan)
}

/// Ansible's `remove()` selection: installed (at a matching version), or leftover files when
/// purging. Names apt does not know as real packages are already absent.
pub fn plan_remove(specs: &[String], db: &PkgDb, purge: bool) -> Vec<String> {
    specs
        .iter()
        .filter(|spec| {
            let (name, cmp, ver) = split_spec(spec);
            let p = db.get(name);
            if !p.real() {
                return false;
            }
            let st = status(&p, cmp, ver);
            st.version_ok || (st.has_files && purge)
        })
        .cloned()
        .collect()
}

/// Ansible rejects specs with more than one `=`.
pub fn check_specs(specs: &[String]) -> Result<(), PlanError> {
    match specs.iter().find(|s| s.matches('=').count() > 1) {
        Some(s) => Err(PlanError::InvalidSpec(s.clone())),
        None => Ok(()),
    }
}

/// Parses the probe's provider lists: `name<TAB>provider` lines.
pub fn parse_providers(text: &str) -> HashMap<String, Vec<String>> {
    let mut m: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines() {
        if let Some((name, prov)) = line.split_once('\t') {
            let v = m.entry(name.trim().to_string()).or_default();
            let prov = prov.trim().to_string();
            if !prov.is_empty() && !v.contains(&prov) {
                v.push(prov);
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> PkgDb {
        let mut db = PkgDb::default();
        db.add_policy(
            "hello:\n  Installed: (none)\n  Candidate: 2.10-3\n  Version table:\n     2.10-3 500\n        500 http://x ./ Packages\n\
             strata-demo:\n  Installed: 1.0\n  Candidate: 2.0\n  Version table:\n     2.0 500\n        500 http://x ./ Packages\n *** 1.0 500\n        100 /var/lib/dpkg/status\n\
             mta:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n\
             exim:\n  Installed: 4\n  Candidate: 4\n  Version table:\n *** 4 500\n        100 /var/lib/dpkg/status\n\
             gone:\n  Installed: (none)\n  Candidate: 1\n  Version table:\n     1 500\n        500 http://x ./ Packages\n",
        );
        db.add_dpkg("strata-demo\tinstalled\t1.0\nexim\tinstalled\t4\ngone\tconfig-files\t1\n");
        db
    }

    fn specs(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn present_installs_only_what_is_missing() {
        let p = plan_install(
            &specs(&["hello", "strata-demo"]),
            &db(),
            &HashMap::new(),
            false,
            false,
        )
        .unwrap();
        assert_eq!(p.args, vec!["hello=2.10-3"]);
        assert_eq!(p.names, vec!["hello", "strata-demo"]);
    }

    #[test]
    fn latest_upgrades() {
        let p = plan_install(
            &specs(&["strata-demo"]),
            &db(),
            &HashMap::new(),
            true,
            false,
        )
        .unwrap();
        assert_eq!(p.args, vec!["strata-demo=2.0"]);
    }

    #[test]
    fn pins_and_failures() {
        let db = db();
        let none = HashMap::new();
        assert!(
            plan_install(&specs(&["strata-demo=1.0"]), &db, &none, false, false)
                .unwrap()
                .args
                .is_empty()
        );
        assert_eq!(
            plan_install(&specs(&["strata-demo=2*"]), &db, &none, false, false)
                .unwrap()
                .args,
            vec!["strata-demo=2.0"]
        );
        assert_eq!(
            plan_install(&specs(&["strata-demo=9"]), &db, &none, false, false),
            Err(PlanError::NoCandidate("strata-demo=9".into()))
        );
        assert_eq!(
            plan_install(&specs(&["nosuch"]), &db, &none, false, false)
                .unwrap_err()
                .to_string(),
            "No package matching 'nosuch' is available"
        );
        assert!(check_specs(&specs(&["a=1=2"])).is_err());
    }

    #[test]
    fn only_upgrade_skips_missing() {
        let p = plan_install(
            &specs(&["hello", "strata-demo"]),
            &db(),
            &HashMap::new(),
            true,
            true,
        )
        .unwrap();
        assert_eq!(p.args, vec!["strata-demo=2.0"]);
    }

    #[test]
    fn virtual_packages() {
        let db = db();
        assert_eq!(
            virtual_names(&specs(&["mta", "hello", "nosuch"]), &db),
            vec!["mta"]
        );
        let one = parse_providers("mta\texim\n");
        assert!(
            plan_install(&specs(&["mta"]), &db, &one, false, false)
                .unwrap()
                .args
                .is_empty()
        );
        let two = parse_providers("mta\texim\nmta\tpostfix\nmta\texim\n");
        assert_eq!(two["mta"], vec!["exim", "postfix"]);
        assert_eq!(
            plan_install(&specs(&["mta"]), &db, &two, false, false)
                .unwrap()
                .args,
            vec!["mta"]
        );
    }

    #[test]
    fn remove_selection() {
        let db = db();
        let s = specs(&["hello", "strata-demo", "gone", "nosuch", "strata-demo=2.0"]);
        assert_eq!(plan_remove(&s, &db, false), vec!["strata-demo"]);
        // Purging also removes a package installed at another version (it has files).
        assert_eq!(
            plan_remove(&s, &db, true),
            vec!["strata-demo", "gone", "strata-demo=2.0"]
        );
    }
}
