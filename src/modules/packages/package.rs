//! `package`: Ansible's generic package action. It picks the host's package manager from
//! `use`, the `ansible_package_use` variable, the `ansible_pkg_mgr` fact, or (without facts)
//! a probe of the host, and hands every other argument to that manager's module. strata has
//! the apt module only; other managers fail with a clear message.

use futures::future::BoxFuture;
use serde_json::Map;

use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct Package;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "package",
    params: &[
        Param::new("name", T::Raw),
        Param::new("state", T::Str),
        Param::new("use", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    // Everything else goes to the backend module, which validates it.
    any_params: true,
};

impl Module for Package {
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

/// Ansible's `pkg_mgr` fact, from the first package tool found (Red Hat family prefers dnf).
const PROBE: &str = "if [ -f /etc/redhat-release ]; then __l='dnf5:dnf5 dnf:dnf yum:yum'; \
     else __l='apt-get:apt zypper:zypper apk:apk pacman:pacman emerge:portage dnf5:dnf5 dnf:dnf yum:yum'; fi\n\
     for __e in $__l; do command -v \"${__e%%:*}\" >/dev/null 2>&1 && { echo \"${__e#*:}\"; exit 0; }; done\necho unknown\n";

fn var_str(v: &minijinja::Value, path: &[&str]) -> Option<String> {
    let mut cur = v.clone();
    for p in path {
        cur = cur.get_attr(p).ok()?;
        if cur.is_undefined() || cur.is_none() {
            return None;
        }
    }
    cur.as_str().map(str::to_string).filter(|s| !s.is_empty())
}

/// The package manager to use, as Ansible's package action decides it.
pub async fn manager(ctx: &ModuleCtx<'_>, args: &Args) -> Result<String, ModuleError> {
    if let Some(u) = args.str("use").filter(|u| u != "auto") {
        return Ok(u);
    }
    if let Some(u) = var_str(ctx.vars, &["ansible_package_use"]) {
        return Ok(u);
    }
    if let Some(m) = var_str(ctx.vars, &["ansible_facts", "pkg_mgr"])
        .or_else(|| var_str(ctx.vars, &["ansible_pkg_mgr"]))
    {
        return Ok(m);
    }
    let out = ctx.run(PROBE, None).await?;
    Ok(out.stdout_str().trim().to_string())
}

/// Maps the arguments onto a backend's canonical parameter names, as the backend's own
/// argument spec would, rejecting unknown ones with Ansible's message. A backend parameter
/// supported only at its default is checked here, because neither the loader nor the
/// executor sees the backend's spec behind `package`.
pub fn backend_args(spec: &ModuleSpec, args: &Args) -> Result<Args, String> {
    let mut out = Map::new();
    let mut unknown = Vec::new();
    for (k, v) in &args.0 {
        if k == "use" {
            continue;
        }
        match spec
            .params
            .iter()
            .find(|p| p.name == k || p.aliases.contains(&k.as_str()))
        {
            Some(p) => {
                if let Some(f) = p.only.filter(|f| !f.accepts(v)) {
                    let given = crate::values::to_str(v).unwrap_or_else(|| v.to_string());
                    return Err(f.refusal(spec.name, p.name, &given));
                }
                out.insert(p.name.to_string(), v.clone());
            }
            None => unknown.push(k.clone()),
        }
    }
    if !unknown.is_empty() {
        let mut names: Vec<&str> = spec
            .params
            .iter()
            .flat_map(|p| std::iter::once(p.name).chain(p.aliases.iter().copied()))
            .collect();
        names.sort();
        return Err(format!(
            "Unsupported parameters for (ansible.legacy.{}) module: {}. Supported parameters include: {}.",
            spec.name,
            unknown.join(", "),
            names.join(", ")
        ));
    }
    Ok(Args::new(out))
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let mgr = manager(ctx, args).await?;
    match mgr.as_str() {
        "apt" => {
            let a = match backend_args(&super::apt::SPEC, args) {
                Ok(a) => a,
                Err(msg) => return Ok(ModuleResult::failed(msg)),
            };
            super::apt::Apt.run(ctx, &a).await
        }
        "" | "unknown" => Ok(ModuleResult::failed(format!(
            "Could not find a matching action for the \"{mgr}\" package manager."
        ))),
        other => Ok(ModuleResult::failed(format!(
            "package: the '{other}' package manager is not supported by strata yet (only apt)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::modules::harness::{Run, run_module};

    #[test]
    fn canonicalizes_backend_arguments() {
        let a = Args::new(
            json!({"pkg": ["hello"], "use": "apt", "update-cache": true})
                .as_object()
                .unwrap()
                .clone(),
        );
        let b = backend_args(&crate::modules::packages::apt::SPEC, &a).unwrap();
        assert_eq!(b.0["name"], json!(["hello"]));
        assert_eq!(b.0["update_cache"], json!(true));
        assert!(!b.0.contains_key("use"));
        let bad = Args::new(
            json!({"name": "x", "enablerepo": "y"})
                .as_object()
                .unwrap()
                .clone(),
        );
        let e = backend_args(&crate::modules::packages::apt::SPEC, &bad).unwrap_err();
        assert!(
            e.starts_with("Unsupported parameters for (ansible.legacy.apt) module: enablerepo.")
        );
    }

    #[test]
    fn backend_parameters_supported_only_at_their_default_are_refused() {
        static BACKEND: ModuleSpec = ModuleSpec {
            name: "apt",
            params: &[
                Param::new("name", T::List),
                Param::new("frobnicate", T::Bool).only(crate::modules::Fixed::Bool(false)),
            ],
            free_form: FreeForm::KeyValue,
            mutually_exclusive: &[],
            required_one_of: &[],
            any_params: false,
        };
        let args = |v: serde_json::Value| Args::new(v.as_object().unwrap().clone());
        assert!(backend_args(&BACKEND, &args(json!({"name": "x", "frobnicate": "no"}))).is_ok());
        let e =
            backend_args(&BACKEND, &args(json!({"name": "x", "frobnicate": true}))).unwrap_err();
        assert!(
            e.contains("`apt`: strata does not implement `frobnicate: True`"),
            "{e}"
        );
        assert!(e.contains("`frobnicate: false` is supported"), "{e}");
    }

    #[tokio::test]
    async fn other_managers_fail_clearly() {
        let r = run_module(
            &Package,
            json!({"name": "httpd", "use": "dnf"}),
            Run::check(),
        )
        .await;
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some("package: the 'dnf' package manager is not supported by strata yet (only apt)")
        );
        let vars = json!({"ansible_facts": {"pkg_mgr": "zypper"}});
        let r = run_module(
            &Package,
            json!({"name": "x"}),
            Run {
                check: true,
                vars,
                ..Default::default()
            },
        )
        .await;
        assert!(r.msg.unwrap().contains("'zypper'"));
    }

    /// The probe finds this machine's manager; it only runs `command -v`.
    #[tokio::test]
    async fn probes_without_facts() {
        let out =
            crate::transport::Transport::exec(&crate::modules::harness::LocalShell, PROBE, None)
                .await
                .unwrap();
        let m = out.stdout_str().trim().to_string();
        assert!(!m.is_empty());
        if std::path::Path::new("/usr/bin/apt-get").exists() {
            assert_eq!(m, "apt");
        }
    }
}
