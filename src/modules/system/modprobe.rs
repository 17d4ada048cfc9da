//! `modprobe` (community.general.modprobe): loads or unloads a kernel module and, with
//! `persistent`, keeps it in `/etc/modules-load.d/NAME.conf` and its `params` in
//! `/etc/modprobe.d/NAME.conf`. The decisions are the collection's: a module is loaded when
//! `/proc/modules` lists it (dashes read as underscores) or `modules.builtin` of the running
//! kernel names it; check mode runs `modprobe -n`; disabling a persistent entry comments its
//! lines out in every file of those folders (rewritten, as the collection writes them, with
//! the lines joined by an extra newline). One probe round trip reads the module state and
//! both folders; one action round trip loads or unloads and writes the files.

use futures::future::BoxFuture;
use regex::Regex;

use crate::modules::toolkit::replace_file::REPLACE_FN;
use crate::modules::toolkit::sections::{SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Modprobe;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "modprobe",
    params: &[
        Param::new("name", T::Str).required(),
        Param::new("state", T::Str).choices(&["absent", "present"]),
        Param::new("params", T::Str),
        Param::new("persistent", T::Str).choices(&["disabled", "present", "absent"]),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Modprobe {
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

const LOAD_DIR: &str = "/etc/modules-load.d";
const OPTS_DIR: &str = "/etc/modprobe.d";

/// The collection's three line patterns for one module name (used unescaped, as it does).
pub struct Patterns {
    module: Regex,
    params: Regex,
}

impl Patterns {
    pub fn new(name: &str) -> Patterns {
        let build = |pat: String, esc: String| Regex::new(&pat).or_else(|_| Regex::new(&esc));
        let e = regex::escape(name);
        Patterns {
            module: build(
                format!(r"^ *{name} *(?:[#;].*)?\n?\z"),
                format!(r"^ *{e} *(?:[#;].*)?\n?\z"),
            )
            .expect("valid regex"),
            params: build(
                format!(r"^options {name} (\w+=\S+) *(?:[#;].*)?\n?\z"),
                format!(r"^options {e} (\w+=\S+) *(?:[#;].*)?\n?\z"),
            )
            .expect("valid regex"),
        }
    }
}

/// A file of one of the two folders: its path and content.
pub type ConfFile = (String, String);

/// Whether a line of a modules-load.d file names the module.
pub fn loaded_persistently(p: &Patterns, files: &[ConfFile]) -> bool {
    files
        .iter()
        .any(|(_, c)| c.split_inclusive('\n').any(|l| p.module.is_match(l)))
}

/// The `k=v` parameters that `options NAME k=v` lines of modprobe.d set.
pub fn permanent_params(p: &Patterns, files: &[ConfFile]) -> Vec<String> {
    let mut v: Vec<String> = files
        .iter()
        .flat_map(|(_, c)| c.split_inclusive('\n'))
        .filter_map(|l| p.params.captures(l).map(|c| c[1].to_string()))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The collection's comment-out rewrite: matching lines get a `#`, and the lines (each
/// still ending in its newline) are joined with `\n`. `None` when nothing matched.
pub fn comment_out(content: &str, re: &Regex) -> Option<String> {
    let lines: Vec<String> = content
        .split_inclusive('\n')
        .map(|l| {
            if re.is_match(l) {
                format!("#{l}")
            } else {
                l.to_string()
            }
        })
        .collect();
    let changed = content.split_inclusive('\n').any(|l| re.is_match(l));
    changed.then(|| lines.join("\n"))
}

/// The files to write for the persistence part, and whether it changes anything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Persist {
    pub changed: bool,
    pub writes: Vec<ConfFile>,
}

pub fn persist(
    name: &str,
    params: &str,
    persistent: &str,
    loads: &[ConfFile],
    opts: &[ConfFile],
) -> Persist {
    let p = Patterns::new(name);
    let mut out = Persist::default();
    let is_persistent = loaded_persistently(&p, loads);
    let perm = permanent_params(&p, opts);
    let mut wanted: Vec<String> = params.split_whitespace().map(str::to_string).collect();
    wanted.sort();
    wanted.dedup();
    let params_set = wanted == perm;
    let disable_params = |out: &mut Persist| {
        for (path, c) in opts {
            if let Some(n) = comment_out(c, &p.params) {
                out.writes.push((path.clone(), n));
            }
        }
    };
    if persistent == "present" && !(is_persistent && params_set) {
        if !is_persistent {
            out.writes
                .push((format!("{LOAD_DIR}/{name}.conf"), format!("{name}\n")));
            out.changed = true;
        }
        if !params_set {
            disable_params(&mut out);
            let lines: Vec<String> = params
                .split_whitespace()
                .map(|x| format!("options {name} {x}"))
                .collect();
            out.writes
                .push((format!("{OPTS_DIR}/{name}.conf"), lines.join("\n") + "\n"));
            out.changed = true;
        }
    } else if persistent == "absent" && (is_persistent || !perm.is_empty()) {
        if is_persistent {
            for (path, c) in loads {
                if let Some(n) = comment_out(c, &p.module) {
                    out.writes.push((path.clone(), n));
                }
            }
            out.changed = true;
        }
        if !perm.is_empty() {
            disable_params(&mut out);
            out.changed = true;
        }
    }
    out
}

/// Whether `/proc/modules` or the kernel's `modules.builtin` lists the module.
pub fn is_loaded(name: &str, proc_modules: &str, builtin: Option<&str>) -> bool {
    let prefix = format!("{} ", name.replace('-', "_"));
    if proc_modules.lines().any(|l| l.starts_with(&prefix)) {
        return true;
    }
    let ko = format!("/{name}.ko");
    builtin.is_some_and(|b| b.lines().any(|l| l.trim_end().ends_with(&ko)))
}

/// Reads `/proc/modules` and `modules.builtin` (the latter only when needed, as the
/// collection opens it) into sections prefixed with `$1`.
const LOADED_FN: &str = r#"__mp_loaded() {
  __s_sec "$1proc" cat /proc/modules || return 0
  __s_sec "$1builtin" cat "/lib/modules/$(uname -r)/modules.builtin"
}
"#;

fn files_of(secs: &Sections, tag: &str) -> Vec<ConfFile> {
    (0..)
        .map_while(|i| {
            let path = secs.val(&format!("{tag}p{i}"))?;
            let c = secs.get(&format!("{tag}c{i}"))?;
            Some((path.to_string(), c.stdout.clone()))
        })
        .collect()
}

/// `None` with the failure when a read failed (the collection's `IOError` message).
fn loaded(secs: &Sections, p: &str, name: &str) -> Result<bool, String> {
    let proc = secs.get(&format!("{p}proc"));
    let proc = match proc {
        Some(x) if x.rc == 0 => x.stdout.clone(),
        _ => return Err("[Errno 2] No such file or directory: '/proc/modules'".into()),
    };
    if is_loaded(name, &proc, None) {
        return Ok(true);
    }
    match secs.get(&format!("{p}builtin")) {
        Some(b) if b.rc == 0 => Ok(is_loaded(name, "", Some(&b.stdout))),
        _ => Err(format!(
            "[Errno 2] No such file or directory: '/lib/modules/{}/modules.builtin'",
            secs.val("release").unwrap_or("")
        )),
    }
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let name = args.req_str("name")?;
    let state = args.str("state").unwrap_or_else(|| "present".into());
    let params = args.str("params").unwrap_or_default();
    let persistent = args.str("persistent").unwrap_or_else(|| "disabled".into());
    let words = crate::shell::shlex::split(&params)
        .map_err(|e| ModuleError::Args(format!("params: {e}")))?;
    let result = |changed: bool| {
        ModuleResult::changed(changed)
            .with("name", name.clone())
            .with("params", params.clone())
            .with("state", state.clone())
    };
    let mut s = SectionScript::new();
    s.line("export LC_ALL=C LANG=C");
    s.line(&format!(
        "command -v modprobe >/dev/null 2>&1 || {{ __s_val missing \"$PATH\"; exit 0; }}\n\
         __s_val release \"$(uname -r)\"\n{LOADED_FN}__mp_loaded b_\n\
         __i=0; for __f in {LOAD_DIR}/* {LOAD_DIR}/.[!.]*; do [ -f \"$__f\" ] || continue; \
         __s_val \"lp$__i\" \"$__f\"; __s_sec \"lc$__i\" cat -- \"$__f\"; __i=$((__i+1)); done\n\
         __i=0; for __f in {OPTS_DIR}/* {OPTS_DIR}/.[!.]*; do [ -f \"$__f\" ] || continue; \
         __s_val \"op$__i\" \"$__f\"; __s_sec \"oc$__i\" cat -- \"$__f\"; __i=$((__i+1)); done\n\
         __s_val done 1"
    ));
    let out = ctx.run(&s.build(), None).await?;
    let secs = Sections::parse(s.marker(), &out.stdout_str());
    if let Some(path) = secs.val("missing") {
        let mut dirs: Vec<&str> = path.split(':').filter(|d| !d.is_empty()).collect();
        for d in ["/sbin", "/usr/sbin", "/usr/local/sbin"] {
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
        return Ok(ModuleResult::failed(format!(
            "Failed to find required executable \"modprobe\" in paths: {}",
            dirs.join(":")
        )));
    }
    if !secs.has("done") {
        return Ok(ModuleResult::failed(format!(
            "reading the module state failed: {}",
            out.stderr_str().trim()
        )));
    }
    let was_loaded = match loaded(&secs, "b_", &name) {
        Ok(l) => l,
        Err(e) => return Ok(result(false).msg(e).failed_too()),
    };
    let loads = files_of(&secs, "l");
    let opts = files_of(&secs, "o");
    let pers = persist(&name, &params, &persistent, &loads, &opts);
    let mut a = SectionScript::new();
    a.line("export LC_ALL=C LANG=C").line(REPLACE_FN);
    let mut changed = false;
    let mut act = false;
    let n = ctx.check_mode.then_some("-n");
    if state == "present" && !was_loaded {
        let mut w = vec!["modprobe"];
        w.extend(n);
        w.push(&name);
        w.extend(words.iter().map(String::as_str));
        a.sec("load", &w);
        a.line("[ \"$__s_r\" = 0 ] || exit 0");
        if ctx.check_mode {
            changed = true;
        } else {
            a.line(&format!("{LOADED_FN}__mp_loaded a_"));
            let mut f = vec!["modprobe", "-n", "--first-time", &name];
            f.extend(words.iter().map(String::as_str));
            a.sec("first", &f);
        }
        act = true;
    } else if state == "absent" && was_loaded {
        let mut w = vec!["modprobe", "-r", &name];
        w.extend(n);
        a.sec("unload", &w);
        a.line("[ \"$__s_r\" = 0 ] || exit 0");
        changed = true;
        act = true;
    }
    changed |= pers.changed;
    if !ctx.check_mode {
        for (path, content) in &pers.writes {
            a.line(&format!(
                "printf '%s' {} | __s_replace {} 0 0 2>\"$__s_se\" || {{ __s_val err \"$(cat \"$__s_se\")\"; exit 0; }}",
                sh_quote(content),
                sh_quote(path)
            ));
            act = true;
        }
    }
    if !act {
        return Ok(result(changed));
    }
    a.line("__s_val done 1");
    let o = ctx.run(&a.build(), None).await?;
    let done = Sections::parse(a.marker(), &o.stdout_str());
    for sec in ["load", "unload"] {
        if let Some(x) = done.get(sec)
            && x.rc != 0
        {
            // `fail_json(msg=err, rc=rc, stdout=out, stderr=err, **result)`.
            let mut f = super::command_failure(x, None);
            f.msg = Some(x.stderr.clone());
            f.data.extend(result(false).data);
            return Ok(f);
        }
    }
    if let Some(e) = done.val("err") {
        return Ok(result(changed).msg(e.trim().to_string()).failed_too());
    }
    if !done.has("done") {
        return Ok(ModuleResult::failed(format!(
            "modprobe {name} failed: {}",
            o.stderr_str().trim()
        )));
    }
    if done.has("load") && !ctx.check_mode {
        match loaded(&done, "a_", &name) {
            Ok(true) => changed = true,
            // The collection warns with `modprobe -n --first-time`'s stderr here.
            Ok(false) => {}
            Err(e) => return Ok(result(changed).msg(e).failed_too()),
        }
    }
    Ok(result(changed))
}

trait FailedToo {
    fn failed_too(self) -> Self;
}

impl FailedToo for ModuleResult {
    /// A failure that keeps the result's keys, as the collection's `fail_json(**result)`.
    fn failed_too(mut self) -> Self {
        self.failed = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(p: &str, c: &str) -> ConfFile {
        (p.to_string(), c.to_string())
    }

    #[test]
    fn loaded_reads_proc_modules_then_builtins() {
        let proc = "br_netfilter 32768 0 - Live 0x0\nnf_conntrack 1 2 - Live 0x0\n";
        assert!(is_loaded("br-netfilter", proc, None));
        assert!(!is_loaded("dummy", proc, None));
        assert!(is_loaded(
            "dummy",
            "",
            Some("kernel/drivers/net/dummy.ko\n")
        ));
    }

    #[test]
    fn persistence_writes_what_the_collection_writes() {
        let p = persist("dummy", "numdummies=2", "present", &[], &[]);
        assert!(p.changed);
        assert_eq!(
            p.writes,
            [
                f("/etc/modules-load.d/dummy.conf", "dummy\n"),
                f("/etc/modprobe.d/dummy.conf", "options dummy numdummies=2\n")
            ]
        );
        let loads = [f("/etc/modules-load.d/dummy.conf", "dummy\n")];
        let opts = [f(
            "/etc/modprobe.d/dummy.conf",
            "options dummy numdummies=2\n",
        )];
        assert!(!persist("dummy", "numdummies=2", "present", &loads, &opts).changed);
        let p = persist("dummy", "numdummies=3", "present", &loads, &opts);
        assert_eq!(
            p.writes,
            [
                f(
                    "/etc/modprobe.d/dummy.conf",
                    "#options dummy numdummies=2\n"
                ),
                f("/etc/modprobe.d/dummy.conf", "options dummy numdummies=3\n")
            ]
        );
        let p = persist(
            "dummy",
            "",
            "absent",
            &[f("/etc/modules-load.d/x.conf", "a\ndummy\nb\n")],
            &[],
        );
        // The collection joins lines that keep their newline with another one.
        assert_eq!(
            p.writes,
            [f("/etc/modules-load.d/x.conf", "a\n\n#dummy\n\nb\n")]
        );
        assert!(!persist("dummy", "", "absent", &[], &[]).changed);
        assert!(!persist("dummy", "", "disabled", &[], &[]).changed);
    }
}
