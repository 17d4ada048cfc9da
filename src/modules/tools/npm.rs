//! `npm` (community.general.npm): node.js packages in a project directory (`path`) or globally.
//! As the module decides: `npm list --json --long` says what is installed or missing (a
//! package is installed as `name` and as `name@version`), `present` installs when anything is
//! missing, `latest` also updates what `npm outdated` lists, `absent` uninstalls an installed
//! `name`, `ci` always runs `npm ci`. The module's only return value is `changed`. Check mode
//! reads (and, as the module, creates `path`) but installs nothing.

use futures::future::BoxFuture;
use serde_json::Value;

use crate::modules::toolkit::sections::{Section, SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Npm;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "npm",
    params: &[
        Param::new("name", T::Str),
        Param::new("path", T::Str),
        Param::new("version", T::Str),
        Param::new("production", T::Bool),
        Param::new("executable", T::Str),
        Param::new("registry", T::Str),
        Param::new("state", T::Str).choices(&["present", "absent", "latest"]),
        Param::new("ignore_scripts", T::Bool),
        Param::new("unsafe_perm", T::Bool),
        Param::new("ci", T::Bool),
        Param::new("no_optional", T::Bool),
        Param::new("no_bin_links", T::Bool),
        Param::new("force", T::Bool),
        Param::new("global", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Npm {
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

/// The request, with the flags every npm call carries.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub name: Option<String>,
    /// `name@version` unless `absent`.
    pub name_version: Option<String>,
    pub path: Option<String>,
    pub global: bool,
    pub production: bool,
    pub ignore_scripts: bool,
    pub unsafe_perm: bool,
    pub registry: Option<String>,
    pub no_optional: bool,
    pub no_bin_links: bool,
    pub force: bool,
    pub executable: Option<Vec<String>>,
}

impl Request {
    /// The words after `npm`, in the module's `CmdRunner` order.
    pub fn words(&self, verb: &[&str], with_name: bool) -> Vec<String> {
        let mut w: Vec<String> = verb.iter().map(|s| s.to_string()).collect();
        let installs = verb.iter().any(|v| ["install", "update", "ci"].contains(v));
        for (on, flag) in [
            (self.global, "--global"),
            (self.production && installs, "--production"),
            (self.ignore_scripts, "--ignore-scripts"),
            (self.unsafe_perm, "--unsafe-perm"),
        ] {
            if on {
                w.push(flag.into());
            }
        }
        if with_name && let Some(n) = &self.name_version {
            w.push(n.clone());
        }
        if let Some(r) = &self.registry {
            w.extend(["--registry".into(), r.clone()]);
        }
        for (on, flag) in [
            (self.no_optional, "--no-optional"),
            (self.no_bin_links, "--no-bin-links"),
            (self.force, "--force"),
        ] {
            if on {
                w.push(flag.into());
            }
        }
        w
    }
}

/// The module's `list()`: installed names (and `name@version`), and what is missing.
pub fn installed_and_missing(
    req: &Request,
    list_json: &str,
) -> Result<(Vec<String>, bool), String> {
    let text = if list_json.trim().is_empty() {
        "{}"
    } else {
        list_json
    };
    let data: Value = serde_json::from_str(text)
        .map_err(|e| format!("Failed to parse NPM output with error {e}"))?;
    let mut installed = Vec::new();
    let mut missing = false;
    match data.get("dependencies").and_then(Value::as_object) {
        Some(deps) => {
            for (dep, props) in deps {
                let flag = |k: &str| {
                    props
                        .get(k)
                        .is_some_and(|v| crate::values::to_bool(v) == Some(true))
                };
                if flag("missing") || flag("invalid") {
                    missing = true;
                } else {
                    installed.push(dep.clone());
                    if let Some(v) = props.get("version").filter(|v| !v.is_null() && *v != "") {
                        let v = v
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string());
                        installed.push(format!("{dep}@{v}"));
                    }
                }
            }
            if let Some(nv) = &req.name_version
                && !installed.contains(nv)
            {
                missing = true;
            }
        }
        None => missing = true,
    }
    Ok((installed, missing))
}

/// `npm outdated`'s package names, split as the module splits them.
pub fn outdated(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split(|c: char| c.is_whitespace() || c == '@')
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

fn from_args(args: &Args) -> Result<(Request, String, bool), ModuleError> {
    let state = args.str("state").unwrap_or_else(|| "present".into());
    let name = args.str("name");
    if state == "absent" && name.is_none() {
        return Err(ModuleError::Args(
            "state is absent but all of the following are missing: name".into(),
        ));
    }
    let global = args.bool_or("global", false)?;
    let path = args.str("path");
    if path.is_none() && !global {
        return Err(ModuleError::Args(
            "path must be specified when not using global".into(),
        ));
    }
    let version = args.str("version");
    let name_version = match (&name, &version) {
        (Some(n), Some(v)) if state != "absent" => Some(format!("{n}@{v}")),
        (n, _) => n.clone(),
    };
    let req = Request {
        name,
        name_version,
        path,
        global,
        production: args.bool_or("production", false)?,
        ignore_scripts: args.bool_or("ignore_scripts", false)?,
        unsafe_perm: args.bool_or("unsafe_perm", false)?,
        registry: args.str("registry"),
        no_optional: args.bool_or("no_optional", false)?,
        no_bin_links: args.bool_or("no_bin_links", false)?,
        force: args.bool_or("force", false)?,
        executable: args
            .str("executable")
            .map(|e| e.split(' ').map(str::to_string).collect()),
    };
    Ok((req, state, args.bool_or("ci", false)?))
}

/// Runs npm calls `(section, verb, with_name, check_rc)` in one script, in `path`.
async fn calls(
    ctx: &ModuleCtx<'_>,
    req: &Request,
    list: &[(&str, &[&str], bool, bool)],
) -> Result<Result<Sections, ModuleResult>, ModuleError> {
    let mut s = SectionScript::new();
    match &req.executable {
        Some(e) => {
            let q: Vec<String> = e.iter().map(|w| sh_quote(w)).collect();
            s.line(&format!("__npm() {{ {} \"$@\"; }}", q.join(" ")))
        }
        None => s.line(
            "__p=\"$PATH:/sbin:/usr/sbin:/usr/local/sbin\"\n\
             __npmbin=$(PATH=\"$__p\" command -v npm) || { __s_val nobin \
             \"Failed to find required executable \\\"npm\\\" in paths: $__p\"; exit 0; }\n\
             __npm() { \"$__npmbin\" \"$@\"; }",
        ),
    };
    if let Some(p) = &req.path {
        let q = sh_quote(p);
        s.line(&format!(
            "[ -e {q} ] || mkdir -p -- {q}\n\
             [ -d {q} ] || {{ __s_val nodir 1; exit 0; }}\ncd {q} || exit 1"
        ));
    }
    for (name, verb, with_name, check_rc) in list {
        let w: Vec<String> = req
            .words(verb, *with_name)
            .iter()
            .map(|x| sh_quote(x))
            .collect();
        s.sec_raw(name, &format!("__npm {}", w.join(" ")));
        if *check_rc {
            s.line("[ \"$__s_r\" = 0 ] || exit 0");
        }
    }
    s.line("__s_val done 1");
    let out = ctx.run(&s.build(), None).await?;
    let secs = Sections::parse(s.marker(), &out.stdout_str());
    if let Some(m) = secs.val("nobin") {
        return Ok(Err(ModuleResult::failed(m.to_string())));
    }
    if secs.has("nodir") {
        return Ok(Err(ModuleResult::failed(format!(
            "path {} is not a directory",
            req.path.clone().unwrap_or_default()
        ))));
    }
    for (name, verb, with_name, check_rc) in list {
        if let Some(sec) = secs.get(name)
            && *check_rc
            && sec.rc != 0
        {
            let mut cmd = vec!["npm".to_string()];
            cmd.extend(req.words(verb, *with_name));
            return Ok(Err(rc_failure(sec, cmd)));
        }
    }
    if !secs.has("done") {
        return Ok(Err(ModuleResult::failed(format!(
            "npm could not run: {}",
            out.stderr_str().trim()
        ))));
    }
    Ok(Ok(secs))
}

fn rc_failure(sec: &Section, cmd: Vec<String>) -> ModuleResult {
    let lines = |s: &str| Value::Array(s.lines().map(Value::from).collect());
    ModuleResult::failed(sec.stderr.trim_end().to_string())
        .with("cmd", cmd.join(" "))
        .with("rc", sec.rc)
        .with("stdout", sec.stdout.clone())
        .with("stderr", sec.stderr.clone())
        .with("stdout_lines", lines(&sec.stdout))
        .with("stderr_lines", lines(&sec.stderr))
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let (req, state, ci) = from_args(args)?;
    let req = &req;
    let act = |verb: &'static [&'static str]| async move {
        if ctx.check_mode {
            return Ok::<_, ModuleError>(None);
        }
        calls(ctx, req, &[("act", verb, true, true)])
            .await
            .map(|r| r.err())
    };
    if ci {
        return Ok(act(&["ci"]).await?.unwrap_or(ModuleResult::changed(true)));
    }
    let mut probe: Vec<(&str, &[&str], bool, bool)> =
        vec![("list", &["list", "--json", "--long"], false, false)];
    if state == "latest" {
        probe.push(("outdated", &["outdated"], true, false));
    }
    let secs = match calls(ctx, req, &probe).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let list = secs
        .get("list")
        .map(|s| s.stdout.clone())
        .unwrap_or_default();
    let (installed, missing) = match installed_and_missing(req, &list) {
        Ok(x) => x,
        Err(m) => return Ok(ModuleResult::failed(m)),
    };
    let mut changed = false;
    match state.as_str() {
        "absent" => {
            if req.name.as_ref().is_some_and(|n| installed.contains(n)) {
                changed = true;
                if let Some(f) = act(&["uninstall"]).await? {
                    return Ok(f);
                }
            }
        }
        _ => {
            if missing {
                changed = true;
                if let Some(f) = act(&["install"]).await? {
                    return Ok(f);
                }
            }
            let old = secs
                .get("outdated")
                .map(|s| outdated(&s.stdout))
                .unwrap_or_default();
            if !old.is_empty() {
                changed = true;
                if let Some(f) = act(&["update"]).await? {
                    return Ok(f);
                }
            }
        }
    }
    Ok(ModuleResult::changed(changed))
}

#[cfg(test)]
mod tests;
