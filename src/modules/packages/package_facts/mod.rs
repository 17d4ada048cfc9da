//! `package_facts`: the installed packages as `ansible_facts.packages`, shaped as Ansible's
//! `apt` manager shapes them (`{name: [{name, version, arch, category, origin, source}]}`),
//! read with `dpkg-query` instead of python-apt. `origin` and `category` are python-apt's:
//! the `Origin` of the Release file of the first apt list that carries the installed version,
//! and that list's `Section` (which may differ from the one dpkg recorded); a version only in
//! dpkg's status has an empty origin and dpkg's section. One round trip. Other package
//! managers are never available on the Debian hosts strata drives; they are answered as
//! unusable, with Ansible's warnings and failures.

use std::collections::HashMap;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct PackageFacts;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "package_facts",
    params: &[
        // Choices are checked at run time, as Ansible computes them.
        Param::new("manager", T::List),
        Param::new("strategy", T::Str).choices(&["first", "all"]),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for PackageFacts {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }
    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(run(ctx, args))
    }
}

/// Ansible's manager names, sorted, then its aliases, in its order.
const MANAGERS: &[&str] = &[
    "apk",
    "apt",
    "pacman",
    "pkg",
    "pkg_info",
    "portage",
    "rpm",
    "dnf",
    "dnf5",
    "yum",
    "zypper",
    "pkg5",
    "pkgng",
    "openbsd_pkg",
];

/// The alias a name stands for (`yum` is `rpm`).
fn unalias(m: &str) -> &str {
    match m {
        "dnf" | "dnf5" | "yum" | "zypper" => "rpm",
        "pkg5" | "pkgng" => "pkg",
        "openbsd_pkg" => "pkg_info",
        m => m,
    }
}

/// What Ansible says when a manager's tool is missing (the library, for rpm).
fn unusable(m: &str) -> String {
    let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    match m {
        "rpm" => "Failed to import the required Python library (rpm) on this host's Python \
                  interpreter. Please read the module documentation and install it in the \
                  appropriate location."
            .into(),
        "portage" => format!("Failed to find required executable \"qlist\" in paths: {path}"),
        m => format!("Failed to find required executable \"{m}\" in paths: {path}"),
    }
}

/// The host's packages: dpkg's status lines, then the origins of the installed versions.
pub const SCRIPT: &str = r#"export LC_ALL=C LANG=C
command -v dpkg-query >/dev/null 2>&1 || { echo __strata_nodpkg=1; exit 0; }
__t=$(mktemp -d) || exit 1; trap 'rm -rf -- "$__t"' EXIT
echo "__strata_arch=$(dpkg --print-architecture)"
dpkg-query -W -f '${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\t${Section}\n' > "$__t/inst" || exit 1
__cat() { if [ -x /usr/lib/apt/apt-helper ]; then /usr/lib/apt/apt-helper cat-file "$1"; else cat -- "$1"; fi; }
: > "$__t/orig"
for __f in /var/lib/apt/lists/*_Packages /var/lib/apt/lists/*_Packages.*; do
  [ -f "$__f" ] || continue
  __p=${__f%_Packages*}; __o=
  while :; do
    if [ -f "${__p}_InRelease" ]; then __r=${__p}_InRelease; elif [ -f "${__p}_Release" ]; then __r=${__p}_Release; else __r=; fi
    if [ -n "$__r" ]; then __o=$(__cat "$__r" | awk '/^Origin:/ { sub(/^Origin:[ \t]*/, ""); print; exit }'); break; fi
    case $__p in */*_*) __p=${__p%_*};; *) break;; esac
  done
  __cat "$__f" | awk -v o="$__o" -v inst="$__t/inst" '
    BEGIN { FS = "\t"; while ((getline l < inst) > 0) { split(l, f, "\t"); want[f[2] "\t" f[3] "\t" f[4]] = 1 }; FS = ": " }
    /^Package: / { p = substr($0, 10) } /^Version: / { v = substr($0, 10) } /^Architecture: / { a = substr($0, 15) } /^Section: / { s = substr($0, 10) }
    /^$/ { if ((p "\t" v "\t" a) in want) print p "\t" v "\t" a "\t" o "\t" s; p = v = a = s = "" }
    END { if ((p "\t" v "\t" a) in want) print p "\t" v "\t" a "\t" o "\t" s }' >> "$__t/orig"
done
echo __strata_inst; cat -- "$__t/inst"; echo __strata_orig; cat -- "$__t/orig"
"#;

/// One installed package as Ansible's apt manager describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Installed {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub category: String,
    pub origin: String,
}

/// The script's output into packages, in dpkg's order. A package of a foreign architecture
/// is named `name:arch`, as python-apt's cache keys it.
pub fn parse(stdout: &str) -> Option<Vec<Installed>> {
    let arch = stdout
        .lines()
        .find_map(|l| l.strip_prefix("__strata_arch="))?
        .trim()
        .to_string();
    let inst_at = stdout.find("__strata_inst\n")? + "__strata_inst\n".len();
    let orig_at = stdout.find("\n__strata_orig\n")?;
    // (origin, section) of the first list with the version: python-apt reads both there.
    let mut origins: HashMap<(&str, &str, &str), (&str, &str)> = HashMap::new();
    for l in stdout[orig_at + "\n__strata_orig\n".len()..].lines() {
        let f: Vec<&str> = l.split('\t').collect();
        if f.len() == 5 {
            origins.entry((f[0], f[1], f[2])).or_insert((f[3], f[4]));
        }
    }
    let mut out = Vec::new();
    for l in stdout[inst_at..orig_at].lines() {
        let f: Vec<&str> = l.split('\t').collect();
        if f.len() != 5 {
            continue;
        }
        let state = f[0].chars().nth(1).unwrap_or('n');
        if state == 'n' || state == 'c' {
            continue;
        }
        let name = if f[3] == arch || f[3] == "all" || f[3].is_empty() {
            f[1].to_string()
        } else {
            format!("{}:{}", f[1], f[3])
        };
        let (origin, section) = origins
            .get(&(f[1], f[2], f[3]))
            .copied()
            .unwrap_or(("", ""));
        out.push(Installed {
            name,
            version: f[2].into(),
            arch: f[3].into(),
            category: if section.is_empty() { f[4] } else { section }.into(),
            origin: origin.into(),
        });
    }
    Some(out)
}

/// Python's repr of a list of strings, as Ansible's failure prints `managers`.
fn py_list(l: &[String]) -> String {
    let items: Vec<String> = l.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", items.join(", "))
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let requested: Vec<String> = args
        .str_list("manager")?
        .unwrap_or_else(|| vec!["auto".into()]);
    let strategy = args.str("strategy").unwrap_or_else(|| "first".into());
    if strategy != "first" && strategy != "all" {
        return Err(ModuleError::Args(format!(
            "value of strategy must be one of: first, all, got: {strategy}"
        )));
    }
    let mut managers: Vec<String> = requested.iter().map(|m| m.to_lowercase()).collect();
    if let Some(i) = managers.iter().position(|m| m == "auto") {
        managers.extend(MANAGERS.iter().map(|m| m.to_string()));
        managers.remove(i);
    }
    let mut unsupported: Vec<&str> = managers
        .iter()
        .map(String::as_str)
        .filter(|m| !MANAGERS.contains(m))
        .collect();
    unsupported.dedup();
    if !unsupported.is_empty() {
        return Ok(ModuleResult::failed(
            if requested.iter().any(|m| m == "auto") {
                "Could not auto detect a usable package manager, check warnings for details."
                    .to_string()
            } else {
                format!(
                    "Unsupported package managers requested: {}",
                    unsupported.join(", ")
                )
            },
        ));
    }
    let mut warnings: Vec<Value> = Vec::new();
    let mut packages: Map<String, Value> = Map::new();
    let mut found = 0;
    let mut seen: Vec<&str> = Vec::new();
    for m in &managers {
        if strategy == "first" && found > 0 {
            break;
        }
        let m = unalias(m);
        if seen.contains(&m) {
            continue;
        }
        seen.push(m);
        if m != "apt" {
            if requested.iter().any(|r| r == m) {
                warnings.push(Value::from(format!(
                    "Requested package manager {m} was not usable by this module: {}",
                    unusable(m)
                )));
            }
            continue;
        }
        let out = ctx.run(SCRIPT, None).await?;
        let stdout = out.stdout_str();
        if stdout.contains("__strata_nodpkg=1") {
            if requested.iter().any(|r| r == "apt") {
                warnings.push(Value::from(
                    "Requested package manager apt was not usable by this module: Failed to \
                     import the required Python library (apt) on this host's Python \
                     interpreter. Please read the module documentation and install it in the \
                     appropriate location.",
                ));
            }
            continue;
        }
        let Some(list) = parse(&stdout) else {
            warnings.push(Value::from(format!(
                "Failed to retrieve packages with apt: {}",
                out.stderr_str().trim()
            )));
            continue;
        };
        if list.is_empty() {
            warnings.push(Value::from("Found \"apt\" but no associated packages"));
            continue;
        }
        found += 1;
        for p in list {
            let entry = serde_json::json!({
                "name": p.name, "version": p.version, "arch": p.arch,
                "category": p.category, "origin": p.origin, "source": "apt",
            });
            match packages.get_mut(&p.name) {
                Some(Value::Array(a)) => a.push(entry),
                _ => {
                    packages.insert(p.name.clone(), Value::Array(vec![entry]));
                }
            }
        }
    }
    if found == 0 {
        let mut r = ModuleResult::failed(format!(
            "Could not detect a supported package manager from the following list: {}, or the \
             required Python library is not installed. Check warnings for details.",
            py_list(&managers)
        ));
        if !warnings.is_empty() {
            r.data.insert("warnings".into(), Value::Array(warnings));
        }
        return Ok(r);
    }
    let mut r = ModuleResult::ok();
    r.facts.insert("packages".into(), Value::Object(packages));
    if !warnings.is_empty() {
        r.data.insert("warnings".into(), Value::Array(warnings));
    }
    Ok(r)
}

#[cfg(test)]
mod tests;
