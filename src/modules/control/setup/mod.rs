//! `setup`: gathers facts in one round trip (see `probe`) and returns them as
//! `ansible_*` facts. `gather_subset` picks the groups (`all`, `min`, `hardware`, `network`,
//! `virtual`, negated with `!`) and `filter` keeps facts whose names match shell-style
//! patterns, with or without the `ansible_` prefix, as in Ansible. Not gathered: Python,
//! virtualization, mounts, devices, SELinux, LSB and local (`facts.d`) facts. As with Ansible,
//! `ansible_local` is `{}` when `/etc/ansible/facts.d` holds no `.fact` file; when it holds
//! some, `ansible_local` is left unset (a template that reads it fails instead of seeing
//! nothing) and the result warns which files were not read.

pub mod hw_net;
pub mod probe;
pub mod system;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use self::probe::{Sections, Subsets, script};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Fixed, Param, ParamType as T};

pub struct Setup;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "setup",
    params: &[
        Param::new("gather_subset", T::List),
        Param::new("filter", T::List),
        // Accepted and ignored, as Ansible does on Linux for the facts strata gathers: there
        // it bounds only the mount facts (`get_mount_facts`), which strata does not collect.
        Param::new("gather_timeout", T::Int),
        // Local facts are not gathered, so a directory of them other than the default would
        // be a request strata cannot honour.
        Param::new("fact_path", T::Str).only(Fixed::Str(probe::FACT_PATH)),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Setup {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(gather(ctx, args))
    }
}

/// The facts `setup` returns: also `gather_facts`' work.
pub async fn gather(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    // Read only so that a templated value of the wrong type fails as in Ansible.
    args.int("gather_timeout")?;
    let subset = args
        .str_list("gather_subset")?
        .unwrap_or_else(|| vec!["all".into()]);
    let groups = match Subsets::parse(&subset) {
        Ok(g) => g,
        Err(e) => return Ok(ModuleResult::failed(e)),
    };
    let filters = args.str_list("filter")?.unwrap_or_default();
    let out = ctx.run(&script(groups), None).await?;
    if out.rc != 0 && out.stdout.is_empty() {
        return Ok(ModuleResult::failed(format!(
            "fact gathering failed (rc {}): {}",
            out.rc,
            out.stderr_str().trim()
        )));
    }
    let sections = Sections::parse(&out.stdout);
    let mut facts = Map::new();
    let mut warnings = Vec::new();
    if groups.min {
        system::collect(&sections, &mut facts);
        warnings.extend(local_facts(&sections, &mut facts));
    }
    if groups.hardware {
        hw_net::hardware(&sections, &mut facts);
    }
    if groups.network {
        hw_net::network(&sections, &mut facts);
    }
    // Ansible's collector metadata is filtered like any other fact: `filter=ansible_hostname`
    // returns that fact alone.
    facts.insert("gather_subset".into(), Value::from(subset));
    facts.insert("module_setup".into(), true.into());
    if !filters.is_empty() {
        facts.retain(|k, _| filters.iter().any(|f| fact_matches(k, f)));
    }
    let mut r = ModuleResult {
        facts,
        ..ModuleResult::default()
    };
    if !warnings.is_empty() {
        r.data.insert("warnings".into(), Value::from(warnings));
    }
    Ok(r)
}

/// `ansible_local`, as far as strata can tell it: Ansible's empty `{}` when there is no
/// `.fact` file, else no fact at all and a warning naming the files strata did not read.
fn local_facts(sections: &Sections, facts: &mut Map<String, Value>) -> Option<String> {
    let files: Vec<&str> = sections.lines("local").collect();
    if files.is_empty() {
        facts.insert("ansible_local".into(), Value::Object(Map::new()));
        return None;
    }
    Some(format!(
        "strata does not gather local facts, so ansible_local is not set; not read: {}",
        files.join(", ")
    ))
}

/// Ansible's filter: an empty pattern or `*` keeps everything, and a pattern without the
/// `ansible_` prefix also matches with it.
fn fact_matches(name: &str, pattern: &str) -> bool {
    pattern.is_empty()
        || fnmatch(name, pattern)
        || (!pattern.starts_with("ansible_") && fnmatch(name, &format!("ansible_{pattern}")))
}

/// Python's `fnmatch.fnmatch` on POSIX (case-sensitive): `*`, `?`, `[seq]`, `[!seq]`.
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let (n, p): (Vec<char>, Vec<char>) = (name.chars().collect(), pattern.chars().collect());
    let (mut ni, mut pi) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ni < n.len() {
        let step = match p.get(pi) {
            Some('*') => {
                backtrack = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match class(&p[pi..], n[ni]) {
                Some((true, len)) => Some(len),
                Some((false, _)) => None,
                // An unclosed bracket is a literal `[`.
                None => (n[ni] == '[').then_some(1),
            },
            Some(c) => (*c == n[ni]).then_some(1),
            None => None,
        };
        match step {
            Some(len) => {
                pi += len;
                ni += 1;
            }
            None => match backtrack {
                Some((bp, bn)) => {
                    pi = bp + 1;
                    ni = bn + 1;
                    backtrack = Some((bp, bn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the bracket expression at the start of `p`: whether it matched and
/// the expression's length, or `None` when the bracket is unclosed (then it is a literal `[`).
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some('!'));
    if negate {
        i += 1;
    }
    let start = i;
    let mut matched = false;
    while i < p.len() && (p[i] != ']' || i == start) {
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|e| *e != ']') {
            matched |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            matched |= p[i] == c;
            i += 1;
        }
    }
    (i < p.len()).then_some((matched != negate, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Harness, load_errors};
    use serde_json::json;

    fn sh(cmd: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    #[test]
    fn fnmatch_like_python() {
        assert!(fnmatch("ansible_eth0", "ansible_eth*"));
        assert!(fnmatch("ansible_eth0", "*eth?"));
        assert!(fnmatch("ab", "[a-c]b") && !fnmatch("db", "[a-c]b") && fnmatch("db", "[!a-c]b"));
        assert!(fnmatch("[x", "[x") && !fnmatch("abc", "ab"));
        assert!(
            fact_matches("ansible_distribution", "distribution") && fact_matches("ansible_x", "")
        );
        assert!(!fact_matches(
            "ansible_distribution_version",
            "distribution"
        ));
    }

    #[tokio::test]
    async fn gathers_local_facts_in_one_trip() {
        let t = std::time::Instant::now();
        let r = Harness::new().run(&Setup, json!({})).await;
        let took = t.elapsed();
        assert!(!r.failed && !r.changed, "{r:?}");
        let f = &r.facts;
        assert_eq!(
            f["ansible_hostname"],
            json!(sh("hostname").split('.').next().unwrap())
        );
        assert_eq!(f["ansible_nodename"], json!(sh("uname -n")));
        assert_eq!(f["ansible_architecture"], json!(sh("uname -m")));
        assert_eq!(f["ansible_kernel"], json!(sh("uname -r")));
        assert_eq!(
            f["ansible_processor_nproc"],
            json!(sh("nproc").parse::<i64>().unwrap())
        );
        assert_eq!(
            f["ansible_processor_vcpus"],
            json!(
                sh("grep -c ^processor /proc/cpuinfo")
                    .parse::<i64>()
                    .unwrap()
            )
        );
        assert_eq!(
            f["ansible_user_uid"],
            json!(sh("id -u").parse::<i64>().unwrap())
        );
        let mem_kb: i64 = sh("awk '/^MemTotal/ {print $2}' /proc/meminfo")
            .parse()
            .unwrap();
        assert_eq!(f["ansible_memtotal_mb"], json!(mem_kb / 1024));
        let osr = std::fs::read_to_string("/etc/os-release").unwrap();
        if osr.contains("ID=debian") {
            let dv = std::fs::read_to_string("/etc/debian_version").unwrap();
            assert_eq!(
                (&f["ansible_distribution"], &f["ansible_os_family"]),
                (&json!("Debian"), &json!("Debian"))
            );
            assert_eq!(f["ansible_distribution_version"], json!(dv.trim()));
            assert_eq!(
                f["ansible_distribution_major_version"],
                json!(dv.trim().split('.').next().unwrap())
            );
            assert_eq!(f["ansible_pkg_mgr"], "apt");
        }
        assert_eq!(
            f["ansible_env"]["HOME"],
            json!(std::env::var("HOME").unwrap())
        );
        let epoch: i64 = f["ansible_date_time"]["epoch"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((epoch - sh("date +%s").parse::<i64>().unwrap()).abs() < 5);
        let v4: Vec<String> = sh("ip -o -4 addr show")
            .lines()
            .filter_map(|l| {
                l.split_whitespace()
                    .nth(3)?
                    .split('/')
                    .next()
                    .map(str::to_string)
            })
            .filter(|a| !a.starts_with("127."))
            .collect();
        assert_eq!(f["ansible_all_ipv4_addresses"], json!(v4));
        let route = sh("ip -4 route get 8.8.8.8 2>/dev/null");
        if let Some(dev) = route.split_whitespace().skip_while(|w| *w != "dev").nth(1) {
            assert_eq!(f["ansible_default_ipv4"]["interface"], dev);
        } else {
            assert_eq!(f["ansible_default_ipv4"], json!({}));
        }
        let comm = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
        if comm.trim() == "systemd" {
            assert_eq!(f["ansible_service_mgr"], "systemd");
        }
        assert_eq!(f["module_setup"], true);
        assert!(took.as_secs_f64() < 3.0, "fact gathering took {took:?}");
    }

    #[tokio::test]
    async fn subsets_and_filters() {
        let h = Harness::new();
        let r = h.run(&Setup, json!({"gather_subset": ["!all"]})).await;
        assert!(
            r.facts.contains_key("ansible_distribution")
                && !r.facts.contains_key("ansible_memtotal_mb")
        );
        assert!(!r.facts.contains_key("ansible_default_ipv4"));
        let r = h.run(&Setup, json!({"gather_subset": "!all,!min,network", "filter": ["ansible_default_ipv4", "all_ipv4*"]})).await;
        let mut keys: Vec<&String> = r.facts.keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["ansible_all_ipv4_addresses", "ansible_default_ipv4",]
        );
        let r = h.run(&Setup, json!({"gather_subset": ["ohai"]})).await;
        assert!(r.failed && r.msg.unwrap().starts_with("Bad subset 'ohai'"));
    }

    #[tokio::test]
    async fn local_facts_are_empty_or_warned_about() {
        // The probe looks where Ansible looks by default.
        let r = Harness::new()
            .run(
                &Setup,
                json!({"gather_subset": ["!all"], "gather_timeout": 1}),
            )
            .await;
        if !std::path::Path::new(probe::FACT_PATH).exists() {
            assert_eq!(r.facts["ansible_local"], json!({}));
            assert!(!r.data.contains_key("warnings"), "{:?}", r.data);
        }
        let mut facts = Map::new();
        let s = Sections::parse(b"\n@@local\n");
        assert_eq!(local_facts(&s, &mut facts), None);
        assert_eq!(facts["ansible_local"], json!({}));
        let mut facts = Map::new();
        let s = Sections::parse(
            b"\n@@local\n/etc/ansible/facts.d/a.fact\n/etc/ansible/facts.d/b.fact\n",
        );
        let w = local_facts(&s, &mut facts).unwrap();
        assert!(!facts.contains_key("ansible_local"));
        assert!(
            w.ends_with("not read: /etc/ansible/facts.d/a.fact, /etc/ansible/facts.d/b.fact"),
            "{w}"
        );
    }

    #[test]
    fn fact_path_other_than_the_default_is_refused_at_load() {
        assert!(
            load_errors(
                &SPEC,
                "fact_path: /etc/ansible/facts.d\ngather_timeout: 30\n"
            )
            .is_empty()
        );
        assert!(load_errors(&SPEC, "fact_path: '{{ dir }}'\n").is_empty());
        let e = load_errors(&SPEC, "fact_path: /srv/facts\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("does not implement `fact_path: /srv/facts`"),
            "{e:?}"
        );
        assert!(
            e[0].contains("`fact_path: /etc/ansible/facts.d` is supported"),
            "{e:?}"
        );
    }
}
