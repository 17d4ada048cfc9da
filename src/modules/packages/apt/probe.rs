//! The apt module's read-only round trip: refresh the cache if asked, expand wildcard names
//! and read the state of every named package, all in one script. Nothing here changes
//! packages, so it runs the same way in check mode.

use std::collections::HashMap;

use super::cmd::REQUIRE_APT;
use super::cmd::{CACHE_MTIME, CacheReport, CacheUpdate, ENV, HELPERS};
use super::state::PkgDb;
use crate::fnmatch::{Pattern, literal_prefix};
use crate::modules::{ModuleCtx, ModuleError};
use crate::shell::sh_quote;

/// What to ask the host.
#[derive(Clone, Debug, Default)]
pub struct Probe<'a> {
    pub update: Option<&'a CacheUpdate>,
    /// Wildcard name patterns to expand with `apt-cache pkgnames`.
    pub globs: &'a [String],
    /// Package names whose state to read.
    pub names: &'a [String],
    pub default_release: Option<&'a str>,
}

/// The answers.
#[derive(Clone, Debug, Default)]
pub struct ProbeResult {
    pub no_apt: bool,
    pub cache: Option<CacheReport>,
    pub db: PkgDb,
    /// Per pattern, the package names it matched.
    pub expanded: Vec<Vec<String>>,
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| sh_quote(n))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `apt-cache` option selecting a default release, as `apt-get -t` does.
fn release_opt(default_release: Option<&str>) -> String {
    default_release
        .map(|r| format!("-o {} ", sh_quote(&format!("APT::Default-Release={r}"))))
        .unwrap_or_default()
}

/// The state queries for `names`, as `@@section` blocks.
pub fn state_script(names: &[String], default_release: Option<&str>) -> String {
    if names.is_empty() {
        return String::new();
    }
    let q = quoted(names);
    format!(
        "echo @@dpkg\ndpkg-query -W -f='${{Package}}\\t${{db:Status-Status}}\\t${{Version}}\\n' -- {q} 2>/dev/null\n\
         echo @@policy\napt-cache {}policy -- {q} 2>/dev/null\n\
         echo @@auto\napt-mark showauto -- {q} 2>/dev/null\n",
        release_opt(default_release)
    )
}

pub fn script(p: &Probe<'_>) -> String {
    let mut s = format!("{ENV}{HELPERS}{REQUIRE_APT}");
    match p.update {
        Some(u) => s.push_str(&u.script()),
        // Ansible reports the cache time even without refreshing.
        None => {
            s.push_str(CACHE_MTIME);
            s.push_str("printf '__strata_cache_time=%s\\n' \"$(__mt)\"\n");
        }
    }
    for (i, g) in p.globs.iter().enumerate() {
        s.push_str(&format!(
            "echo @@glob{i}\napt-cache pkgnames {} 2>/dev/null\n",
            sh_quote(literal_prefix(g))
        ));
    }
    s.push_str(&state_script(p.names, p.default_release));
    s
}

/// Splits `@@name` sections; text before the first one is the key/value report.
pub fn sections(text: &str) -> (String, HashMap<String, String>) {
    let mut head = String::new();
    let mut secs: HashMap<String, String> = HashMap::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("@@") {
            cur = Some(name.trim().to_string());
            secs.entry(name.trim().to_string()).or_default();
            continue;
        }
        let buf = match &cur {
            Some(c) => secs.get_mut(c).expect("section exists"),
            None => &mut head,
        };
        buf.push_str(line);
        buf.push('\n');
    }
    (head, secs)
}

/// Ansible's `expand_pkgspec_from_fnmatches` on one pattern's `pkgnames` output: native
/// packages only unless the pattern names an architecture.
pub fn expand(pattern: &str, pkgnames: &str) -> Vec<String> {
    let pat = Pattern::new(pattern);
    let mut v: Vec<String> = pkgnames
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty() && (pattern.contains(':') || !n.contains(':')))
        .filter(|n| pat.matches(n))
        .map(str::to_string)
        .collect();
    v.sort();
    v.dedup();
    v
}

pub fn parse(p: &Probe<'_>, text: &str) -> ProbeResult {
    let (head, secs) = sections(text);
    let keys = crate::modules::toolkit::atomic_write::parse_trailer(head.as_bytes());
    let mut r = ProbeResult {
        no_apt: keys.contains_key("noapt"),
        ..Default::default()
    };
    if let Some(u) = p.update {
        r.cache = Some(CacheReport::parse(&keys, u.retries));
    } else {
        r.cache = Some(CacheReport {
            updated: false,
            time: keys
                .get("cache_time")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0),
            error: None,
        });
    }
    for (i, g) in p.globs.iter().enumerate() {
        let out = secs.get(&format!("glob{i}")).map_or("", String::as_str);
        r.expanded.push(expand(g, out));
    }
    let get = |k: &str| secs.get(k).map_or("", String::as_str);
    r.db.add_dpkg(get("dpkg"));
    r.db.add_policy(get("policy"));
    r.db.add_auto(get("auto"));
    r
}

pub async fn run(ctx: &ModuleCtx<'_>, p: &Probe<'_>) -> Result<ProbeResult, ModuleError> {
    let out = ctx.run(&script(p), None).await?;
    Ok(parse(p, &out.stdout_str()))
}

/// Which packages provide each purely virtual name (`apt-cache showpkg`'s reverse provides).
pub async fn providers(
    ctx: &ModuleCtx<'_>,
    names: &[String],
) -> Result<HashMap<String, Vec<String>>, ModuleError> {
    let mut s = ENV.to_string();
    for n in names {
        let q = sh_quote(n);
        s.push_str(&format!(
            "apt-cache showpkg -- {q} 2>/dev/null | sed -n '/^Reverse Provides:/,$p' | sed 1d | \
             while read -r __p __rest; do [ -n \"$__p\" ] && printf '%s\\t%s\\n' {q} \"$__p\"; done\n"
        ));
    }
    let out = ctx.run(&s, None).await?;
    Ok(super::plan::parse_providers(&out.stdout_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sections() {
        let (head, s) = sections("__strata_cache_time=5\n@@glob0\na\nb\n@@dpkg\nx\ty\tz\n");
        assert_eq!(head, "__strata_cache_time=5\n");
        assert_eq!(s["glob0"], "a\nb\n");
        assert_eq!(s["dpkg"], "x\ty\tz\n");
    }

    #[test]
    fn expands_like_ansible() {
        let names = "strata-demo\nstrata-rec\nstrata-x:i386\nother\n";
        assert_eq!(expand("strata-*", names), vec!["strata-demo", "strata-rec"]);
        assert_eq!(expand("strata-*:i386", names), vec!["strata-x:i386"]);
        assert!(expand("nothing*", names).is_empty());
    }

    #[test]
    fn script_quotes_names() {
        let names = vec!["hello".to_string(), "it's".to_string()];
        let s = script(&Probe {
            names: &names,
            default_release: Some("bookworm"),
            ..Default::default()
        });
        assert!(s.contains("policy -- hello 'it'\\''s'"));
        assert!(s.contains("APT::Default-Release=bookworm"));
    }
}
