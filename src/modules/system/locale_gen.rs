//! `locale_gen` (community.general.locale_gen): locales compiled with `locale-gen`. As in the
//! collection, the mechanism is `glibc` when `/etc/locale.gen` exists (Debian: the names are
//! uncommented or commented there, then `locale-gen` runs) and `ubuntu_legacy` when only
//! `/var/lib/locales/supported.d` does. A name must be listed in
//! `/usr/share/i18n/SUPPORTED` or already compiled. Whether a name is present is read from
//! `locale -a`, before and after acting, and `changed` is whether that answer moved: so in
//! check mode, where nothing is done, the collection (and strata) reports no change. The
//! result carries `name`, `mechanism` and `ubuntu_mode`. One probe round trip; one more that
//! writes, compiles and reads `locale -a` again when the state differs.

use futures::future::BoxFuture;
use regex::Regex;
use serde_json::{Value, json};

use crate::modules::toolkit::replace_file::REPLACE_FN;
use crate::modules::toolkit::sections::{SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct LocaleGen;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "locale_gen",
    params: &[
        Param::new("name", T::List).required(),
        Param::new("state", T::Str).choices(&["absent", "present"]),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for LocaleGen {
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

const NORMALIZATION: &[(&str, &str)] = &[
    (".utf8", ".UTF-8"),
    (".eucjp", ".EUC-JP"),
    (".iso885915", ".ISO-8859-15"),
    (".cp1251", ".CP1251"),
    (".koi8r", ".KOI8-R"),
    (".armscii8", ".ARMSCII-8"),
    (".euckr", ".EUC-KR"),
    (".gbk", ".GBK"),
    (".gb18030", ".GB18030"),
    (".euctw", ".EUC-TW"),
];

/// The collection's `fix_case`: `locale -a` spells encodings in lower case.
pub fn fix_case(name: &str) -> String {
    NORMALIZATION
        .iter()
        .fold(name.to_string(), |n, (s, r)| n.replace(s, r))
}

/// The names of `names` that `locale -a` (its output `listed`) does not list.
pub fn not_present(names: &[String], listed: &str) -> Vec<String> {
    names
        .iter()
        .filter(|n| !listed.lines().any(|l| fix_case(n) == fix_case(l)))
        .cloned()
        .collect()
}

/// The names neither in the SUPPORTED list nor compiled already.
pub fn unavailable(names: &[String], supported: &str, listed: &str) -> Vec<String> {
    let re = Regex::new(r"^\s*#?\s*(\S+[._\S]+) (\S+)\s*$").expect("valid regex");
    let known: Vec<&str> = supported
        .split_inclusive('\n')
        .filter_map(|l| re.captures(l).map(|c| c.get(1).expect("group").as_str()))
        .collect();
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !known.contains(&n.as_str()))
        .cloned()
        .collect();
    not_present(&missing, listed)
}

/// The collection's `set_locale_glibc`: each line whose `#? NAME CHARSET` matches a name is
/// rewritten as `NAME CHARSET` (enabled) or `# NAME CHARSET`.
pub fn edit_locale_gen(content: &str, names: &[String], enabled: bool) -> String {
    let res: Vec<(Regex, &String)> = names
        .iter()
        .map(|n| {
            let re = Regex::new(&format!(r"^#?\s*{} (.+)", regex::escape(n))).expect("valid");
            (re, n)
        })
        .collect();
    content
        .split_inclusive('\n')
        .map(|line| {
            res.iter().fold(line.to_string(), |l, (re, n)| {
                re.replace(&l, |c: &regex::Captures| {
                    if enabled {
                        format!("{n} {}", &c[1])
                    } else {
                        format!("# {n} {}", &c[1])
                    }
                })
                .into_owned()
            })
        })
        .collect()
}

/// The collection's filter of `/var/lib/locales/supported.d/local` for `absent`.
fn drop_legacy(content: &str, names: &[String]) -> String {
    content
        .split_inclusive('\n')
        .filter(|l| {
            let locale = l.split(' ').next().unwrap_or("");
            !names.iter().any(|n| n == locale)
        })
        .collect()
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let names = args.str_list("name")?.unwrap_or_default();
    let state = args.str("state").unwrap_or_else(|| "present".into());
    let present = state == "present";
    let mut s = SectionScript::new();
    s.line(
        "if [ -e /etc/locale.gen ]; then __s_val mech glibc\n\
         elif [ -e /var/lib/locales/supported.d ]; then __s_val mech ubuntu_legacy\n\
         else __s_val done 1; exit 0; fi",
    );
    s.sec("supported", &["cat", "/usr/share/i18n/SUPPORTED"]);
    s.sec("locales", &["locale", "-a"]);
    s.line("[ -e /etc/locale.gen ] && __s_sec gen cat /etc/locale.gen");
    s.line(
        "[ -e /var/lib/locales/supported.d/local ] && __s_sec legacy cat /var/lib/locales/supported.d/local",
    );
    s.line("__s_val done 1");
    let out = ctx.run(&s.build(), None).await?;
    let secs = Sections::parse(s.marker(), &out.stdout_str());
    if !secs.has("done") {
        return Ok(ModuleResult::failed(format!(
            "reading the locales failed: {}",
            out.stderr_str().trim()
        )));
    }
    let Some(mech) = secs.val("mech").map(str::to_string) else {
        return Ok(ModuleResult::failed(
            "/var/lib/locales/supported.d and /etc/locale.gen are missing. Is the package \"locales\" installed?",
        ));
    };
    let sec_ok = |n: &str| -> Result<String, String> {
        match secs.get(n) {
            Some(x) if x.rc == 0 => Ok(x.stdout.clone()),
            Some(x) => Err(x.stderr.trim().to_string()),
            None => Ok(String::new()),
        }
    };
    let supported = match secs.get("supported") {
        Some(x) if x.rc == 0 => x.stdout.clone(),
        _ => {
            return Ok(ModuleResult::failed(
                "[Errno 2] No such file or directory: '/usr/share/i18n/SUPPORTED'",
            ));
        }
    };
    let listed = match sec_ok("locales") {
        Ok(l) => l,
        Err(e) => return Ok(ModuleResult::failed(format!("locale -a failed: {e}"))),
    };
    let missing = unavailable(&names, &supported, &listed);
    if !missing.is_empty() {
        // The module helper's failure repeats its output variables, twice over.
        let out = json!({"name": names, "mechanism": mech, "ubuntu_mode": mech == "ubuntu_legacy"});
        let mut r = ModuleResult::failed(format!(
            "The following locales you have entered are not available on your system: {}",
            missing.join(", ")
        ))
        .with("output", out.clone())
        .with("vars", out.clone());
        if let Value::Object(m) = out {
            r.data.extend(m);
        }
        return Ok(r);
    }
    let was_present = not_present(&names, &listed).is_empty();
    let result = |changed: bool| {
        ModuleResult::changed(changed)
            .with("name", names.clone())
            .with("mechanism", mech.clone())
            .with("ubuntu_mode", mech == "ubuntu_legacy")
    };
    if was_present == present || ctx.check_mode {
        return Ok(result(false));
    }
    let mut a = SectionScript::new();
    a.line(REPLACE_FN);
    let stdin;
    if mech == "glibc" {
        let file = sec_ok("gen").unwrap_or_default();
        stdin = edit_locale_gen(&file, &names, present);
        a.line(
            "__s_replace /etc/locale.gen 0 0 2>\"$__s_se\" || { __s_val err \"$(cat \"$__s_se\")\"; exit 0; }",
        );
        a.sec("gen", &["locale-gen"]);
    } else if present {
        stdin = String::new();
        a.sec("gen", &["locale-gen"]);
    } else {
        stdin = drop_legacy(&sec_ok("legacy").unwrap_or_default(), &names);
        a.line(
            "__s_replace /var/lib/locales/supported.d/local 0 0 2>\"$__s_se\" || { __s_val err \"$(cat \"$__s_se\")\"; exit 0; }",
        );
        a.sec("gen", &["locale-gen", "--purge"]);
    }
    a.line("[ \"$__s_r\" = 0 ] || exit 0");
    a.sec("locales", &["locale", "-a"]);
    let o = ctx.run(&a.build(), Some(stdin.as_bytes())).await?;
    let done = Sections::parse(a.marker(), &o.stdout_str());
    if let Some(e) = done.val("err") {
        return Ok(ModuleResult::failed(e.trim().to_string()));
    }
    match done.get("gen") {
        Some(g) if g.rc == 0 => {}
        Some(g) => return Ok(super::command_failure(g, None)),
        None => {
            return Ok(ModuleResult::failed(format!(
                "locale-gen failed: {}",
                o.stderr_str().trim()
            )));
        }
    }
    let after = done.get("locales").map(|l| l.stdout.as_str()).unwrap_or("");
    let now_present = not_present(&names, after).is_empty();
    Ok(result(now_present != was_present))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn presence_compares_normalised_names() {
        let listed = "C\nC.utf8\nPOSIX\nde_DE.utf8\n";
        assert!(not_present(&v(&["de_DE.UTF-8", "C.UTF-8"]), listed).is_empty());
        assert_eq!(not_present(&v(&["fr_FR.UTF-8"]), listed), ["fr_FR.UTF-8"]);
        let supported = "en_US.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\nfr_FR ISO-8859-1\n";
        assert!(unavailable(&v(&["fr_FR.UTF-8", "C.UTF-8"]), supported, listed).is_empty());
        assert_eq!(
            unavailable(&v(&["xx_YY.UTF-8"]), supported, listed),
            ["xx_YY.UTF-8"]
        );
    }

    #[test]
    fn locale_gen_lines_are_toggled() {
        let file = "# en_US.UTF-8 UTF-8\n# fr_FR ISO-8859-1\n#  fr_FR.UTF-8 UTF-8\n";
        let on = edit_locale_gen(file, &v(&["fr_FR.UTF-8"]), true);
        assert_eq!(
            on,
            "# en_US.UTF-8 UTF-8\n# fr_FR ISO-8859-1\nfr_FR.UTF-8 UTF-8\n"
        );
        let off = edit_locale_gen(&on, &v(&["fr_FR.UTF-8"]), false);
        assert_eq!(
            off,
            "# en_US.UTF-8 UTF-8\n# fr_FR ISO-8859-1\n# fr_FR.UTF-8 UTF-8\n"
        );
        assert_eq!(
            drop_legacy(
                "fr_FR.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n",
                &v(&["fr_FR.UTF-8"])
            ),
            "en_US.UTF-8 UTF-8\n"
        );
    }
}
