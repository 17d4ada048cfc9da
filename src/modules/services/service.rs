//! `service`: Ansible's service action, which picks the backend from the host's service
//! manager (`use`, else the `ansible_service_mgr` fact, else the same detection run on the
//! host) and hands the task to it: `systemd` or `sysvinit` here. As in Ansible, the
//! parameters systemd has no use for are dropped with a warning each, and `runlevel`, which
//! the sysvinit module does not take, fails there. Other managers fail clearly. Like
//! Ansible, a host whose /sbin/init is systemd counts as systemd even when systemd is not
//! PID 1 (plain lab hosts): `use: sysvinit` reaches its init scripts.

use futures::future::BoxFuture;

use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T, services::systemd, services::sysvinit};

pub struct Service;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "service",
    params: &[
        Param::new("name", T::Str).required(),
        Param::new("state", T::Str).choices(&["started", "stopped", "restarted", "reloaded"]),
        Param::new("sleep", T::Int),
        Param::new("pattern", T::Str),
        Param::new("enabled", T::Bool),
        // OpenRC's; neither backend strata has takes it (see `SYSTEMD_UNUSED`, `run`).
        Param::new("runlevel", T::Str),
        Param::new("arguments", T::Str).aliases(&["args"]),
        Param::new("use", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[&["state", "enabled"]],
    any_params: false,
};

impl Module for Service {
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

/// The manager named by the host's facts, if they were gathered.
fn fact_manager(vars: &minijinja::Value) -> Option<String> {
    let direct = vars.get_attr("ansible_service_mgr").ok();
    let nested = vars
        .get_attr("ansible_facts")
        .ok()
        .and_then(|f| f.get_attr("service_mgr").ok());
    [direct, nested]
        .into_iter()
        .flatten()
        .find(|v| !v.is_undefined() && !v.is_none())
        .and_then(|v| v.as_str().map(str::to_string))
}

/// ansible-core's `service_mgr` fact for Linux: PID 1's name when it is telling, then
/// systemd's runtime directories, upstart, openrc, an offline systemd (`/sbin/init` links to
/// it: then, as with Ansible, systemd is chosen even though it is not running), `/etc/init.d`.
const PROBE: &str = "c=$(cat /proc/1/comm 2>/dev/null)\n\
case $c in ''|init|*sh) c=;; esac\n\
sc=; command -v systemctl >/dev/null 2>&1 && sc=1\n\
if [ -n \"$c\" ]; then echo \"$c\"\n\
elif [ -n \"$sc\" ] && { [ -e /run/systemd/system ] || [ -e /dev/.run/systemd ] || [ -e /dev/.systemd ]; }; then echo systemd\n\
elif command -v initctl >/dev/null 2>&1 && [ -e /etc/init ]; then echo upstart\n\
elif [ -e /sbin/openrc ]; then echo openrc\n\
elif [ -n \"$sc\" ] && [ -L /sbin/init ] && [ \"$(basename \"$(readlink /sbin/init)\")\" = systemd ]; then echo systemd\n\
elif [ -e /etc/init.d ]; then echo sysvinit\n\
elif [ -e /etc/dinit.d ]; then echo dinit\n\
else echo service; fi\n";

/// What Ansible's service action drops, warning, before it runs the systemd module
/// (`UNUSED_PARAMS`), in its order.
const SYSTEMD_UNUSED: &[&str] = &["pattern", "runlevel", "sleep", "arguments", "args"];

/// Ansible's warnings for the parameters the systemd backend drops.
fn systemd_warnings(args: &Args) -> Vec<String> {
    SYSTEMD_UNUSED
        .iter()
        .filter(|p| args.has(p))
        .map(|p| format!("Ignoring \"{p}\" as it is not used in \"systemd\""))
        .collect()
}

/// The sysvinit module's refusal of a parameter it does not take, in Ansible's words.
fn sysvinit_unsupported(param: &str) -> String {
    let mut names: Vec<&str> = sysvinit::SPEC.params.iter().map(|p| p.name).collect();
    let mut aliases: Vec<&str> = sysvinit::SPEC
        .params
        .iter()
        .flat_map(|p| p.aliases.iter().copied())
        .collect();
    names.sort_unstable();
    aliases.sort_unstable();
    format!(
        "Unsupported parameters for (ansible.legacy.sysvinit) module: {param}. \
         Supported parameters include: {} ({}).",
        names.join(", "),
        aliases.join(", ")
    )
}

pub async fn detect(ctx: &ModuleCtx<'_>) -> Result<String, ModuleError> {
    if let Some(m) = fact_manager(ctx.vars) {
        return Ok(m);
    }
    let out = ctx.run(PROBE, None).await?;
    Ok(out.stdout_str().trim().to_string())
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let name = args.req_str("name")?;
    let requested = args
        .str("use")
        .unwrap_or_else(|| "auto".into())
        .to_lowercase();
    let manager = if requested == "auto" {
        detect(ctx).await?
    } else {
        requested
    };
    match manager.as_str() {
        "systemd" => {
            let req = systemd::Request {
                unit: Some(name),
                state: args.str("state"),
                enabled: args.bool("enabled")?,
                scope: "system".into(),
                ..Default::default()
            };
            let warnings = systemd_warnings(args);
            let mut r = systemd::run(ctx, &req).await?;
            if !warnings.is_empty() {
                let w = r
                    .data
                    .entry("warnings")
                    .or_insert_with(|| serde_json::Value::Array(vec![]));
                if let serde_json::Value::Array(a) = w {
                    a.extend(warnings.into_iter().map(serde_json::Value::from));
                }
            }
            Ok(r)
        }
        "sysvinit" if args.has("runlevel") => {
            Ok(ModuleResult::failed(sysvinit_unsupported("runlevel")))
        }
        "sysvinit" => {
            let req = sysvinit::Request {
                name,
                state: args.str("state"),
                enabled: args.bool("enabled")?,
                sleep: args.int("sleep")?.unwrap_or(1).max(0) as u64,
                pattern: args.str("pattern"),
                arguments: args.str("arguments").or_else(|| args.str("args")),
                runlevels: None,
            };
            if req.state.is_none() && req.enabled.is_none() {
                return Err(ModuleError::Args(
                    "one of the following is required: state, enabled".into(),
                ));
            }
            sysvinit::run(ctx, &req).await
        }
        other => Ok(ModuleResult::failed(format!(
            "the service module supports the systemd and sysvinit service managers; \
             this host's is '{other}' (set `use:` to choose one)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_name_the_manager_in_either_form() {
        let v = minijinja::Value::from(minijinja::value::Serde(
            serde_json::json!({"ansible_service_mgr": "systemd"}),
        ));
        assert_eq!(fact_manager(&v).as_deref(), Some("systemd"));
        let v = minijinja::Value::from(minijinja::value::Serde(
            serde_json::json!({"ansible_facts": {"service_mgr": "sysvinit"}}),
        ));
        assert_eq!(fact_manager(&v).as_deref(), Some("sysvinit"));
        let v = minijinja::Value::from(minijinja::value::Serde(serde_json::json!({})));
        assert_eq!(fact_manager(&v), None);
    }

    fn args(v: serde_json::Value) -> Args {
        Args::new(v.as_object().unwrap().clone())
    }

    #[test]
    fn systemd_drops_what_it_does_not_use_with_ansibles_warnings() {
        let a = args(serde_json::json!({
            "name": "x", "sleep": 3, "arguments": "-q", "pattern": "x", "runlevel": "3",
            "enabled": true
        }));
        assert_eq!(
            systemd_warnings(&a),
            [
                "Ignoring \"pattern\" as it is not used in \"systemd\"",
                "Ignoring \"runlevel\" as it is not used in \"systemd\"",
                "Ignoring \"sleep\" as it is not used in \"systemd\"",
                "Ignoring \"arguments\" as it is not used in \"systemd\"",
            ]
        );
        assert!(systemd_warnings(&args(serde_json::json!({"name": "x"}))).is_empty());
    }

    #[tokio::test]
    async fn runlevel_fails_on_sysvinit_as_ansibles_sysvinit_module_does() {
        let r = crate::modules::harness::run_module(
            &Service,
            serde_json::json!({"name": "strata-none", "state": "started", "runlevel": "3", "use": "sysvinit"}),
            Default::default(),
        )
        .await;
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some(
                "Unsupported parameters for (ansible.legacy.sysvinit) module: runlevel. \
                 Supported parameters include: arguments, daemonize, enabled, name, pattern, \
                 runlevels, sleep, state (args, service)."
            )
        );
    }

    #[tokio::test]
    async fn the_systemd_backend_reports_the_dropped_parameters() {
        // Whether or not this machine runs systemd, the result carries the warnings.
        let r = crate::modules::harness::run_module(
            &Service,
            serde_json::json!({"name": "strata-none.service", "enabled": false, "sleep": 2, "use": "systemd"}),
            Default::default(),
        )
        .await;
        assert_eq!(
            r.data["warnings"],
            serde_json::json!(["Ignoring \"sleep\" as it is not used in \"systemd\""]),
            "{:?} {:?}",
            r.msg,
            r.data
        );
    }

    #[test]
    fn probe_reads_pid1_then_directories() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(PROBE)
            .output()
            .unwrap();
        let name = String::from_utf8(out.stdout).unwrap();
        let comm = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
        let comm = comm.trim();
        if !comm.is_empty() && comm != "init" && !comm.ends_with("sh") {
            assert_eq!(name.trim(), comm);
        } else {
            assert!(!name.trim().is_empty());
        }
    }
}
