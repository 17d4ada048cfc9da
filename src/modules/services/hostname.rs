//! `hostname`: sets the host's name, as ansible-core's `hostname` module does on Linux. With
//! systemd (or `use: systemd`/`debian`) the static and pretty names go through `hostnamectl`
//! (which writes /etc/hostname), then the transient one. Elsewhere /etc/hostname is replaced
//! atomically and `hostname NAME` sets the running name too (Ansible's Debian file strategy
//! only writes the file; the live name follows it here, so the host is consistent at once).
//! One probe round trip; a change costs a second one. Returns Ansible's facts
//! (`ansible_hostname`, `ansible_nodename`, `ansible_fqdn`, `ansible_domain`) and diff.

use futures::future::BoxFuture;
use serde_json::Value;

use crate::events::FileDiff;
use crate::modules::toolkit::replace_file::REPLACE_FN;
use crate::modules::toolkit::sections::{SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Hostname;

const USES: &[&str] = &[
    "alpine", "debian", "freebsd", "generic", "macos", "macosx", "darwin", "openbsd", "openrc",
    "redhat", "sles", "solaris", "systemd",
];

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "hostname",
    params: &[
        Param::new("name", T::Str).required(),
        Param::new("use", T::Str).choices(USES),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Hostname {
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Not decided yet: systemd when the host runs it.
    Auto,
    Systemd,
    /// /etc/hostname plus the `hostname` command.
    File,
}

pub fn strategy_for(use_: Option<&str>) -> Result<Strategy, String> {
    match use_ {
        None => Ok(Strategy::Auto),
        Some("systemd" | "debian") => Ok(Strategy::Systemd),
        Some("generic" | "alpine" | "openrc") => Ok(Strategy::File),
        Some(other) if USES.contains(&other) => Err(format!(
            "hostname use={other} is not supported by strata (use systemd, debian, generic, alpine or openrc)"
        )),
        Some(other) => Err(format!(
            "value of use must be one of: {}, got: {other}",
            USES.join(", ")
        )),
    }
}

/// Python's `socket.getfqdn()` on the host: `gethostbyaddr(gethostname())` resolves the
/// name (IPv4, as Python does), then the address back; the first of those names holding a
/// dot wins, else the canonical one, else (nothing resolves) the plain hostname. An
/// unresolvable name costs the resolver's timeout here exactly as it does under Ansible.
const FQDN: &str = "__s_fqdn() { __s_h=$(hostname); __s_l=$(getent ahostsv4 \"$__s_h\" 2>/dev/null | head -n 1); \
if [ -z \"$__s_l\" ]; then __s_val fqdn \"$__s_h\"; return; fi; \
__s_r=$(getent hosts \"${__s_l%%[[:space:]]*}\" 2>/dev/null | head -n 1); [ -n \"$__s_r\" ] || __s_r=\"${__s_l%%[[:space:]]*} $__s_h\"; \
set -- $__s_r; shift; __s_c=$1; \
for __s_a in \"$@\"; do case $__s_a in *.*) __s_val fqdn \"$__s_a\"; return;; esac; done; __s_val fqdn \"$__s_c\"; }\n";

const SYSTEMD_MANAGED: &str = "command -v hostnamectl >/dev/null 2>&1 && command -v systemctl >/dev/null 2>&1 && \
{ [ -d /run/systemd/system ] || [ -d /dev/.run/systemd ] || [ -d /dev/.systemd ]; }";

/// The fqdn is looked up in the probe only when the name is already right: otherwise it is
/// looked up after the change (an old, unresolvable name would cost a resolver timeout).
fn probe_script(strategy: Strategy, name: &str) -> SectionScript {
    let mut s = SectionScript::new();
    s.line(FQDN);
    // What `hostnamectl --transient/--static status` report, read without D-Bus: the
    // kernel's name and /etc/hostname without comments. hostnamed is only woken to write.
    let systemd = "__s_val strategy systemd\n\
        __s_sec current hostname\n\
        if [ -f /etc/hostname ]; then __s_sec permanent sed -e 's/#.*//' -e '/^[[:space:]]*$/d' /etc/hostname; fi";
    let file = "__s_val strategy file\n__s_sec current hostname\n\
        if [ -f /etc/hostname ]; then __s_sec permanent cat /etc/hostname; fi";
    match strategy {
        Strategy::Systemd => s.line(systemd),
        Strategy::File => s.line(file),
        Strategy::Auto => s.line(&format!(
            "if {SYSTEMD_MANAGED}; then\n{systemd}\nelse\n{file}\nfi"
        )),
    };
    s.line(&format!(
        "if [ \"$(hostname)\" = {} ]; then __s_fqdn; fi",
        sh_quote(name)
    ));
    s
}

fn command_failed(sec: &crate::modules::toolkit::sections::Section) -> String {
    format!(
        "Command failed rc={}, out={}, err={}",
        sec.rc, sec.stdout, sec.stderr
    )
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let name = args.req_str("name")?;
    let strategy = strategy_for(args.str("use").as_deref()).map_err(ModuleError::Args)?;
    let probe = probe_script(strategy, &name);
    let out = ctx.run(&probe.build(), None).await?;
    let secs = Sections::parse(probe.marker(), &out.stdout_str());
    let Some(current) = secs.get("current") else {
        return Ok(ModuleResult::failed(format!(
            "reading the hostname failed: {}",
            out.stderr_str().trim()
        )));
    };
    if current.rc != 0 {
        return Ok(ModuleResult::failed(command_failed(current)));
    }
    let systemd = secs.val("strategy") == Some("systemd");
    let permanent = match secs.get("permanent") {
        Some(p) if p.rc != 0 && systemd => return Ok(ModuleResult::failed(command_failed(p))),
        Some(p) if p.rc != 0 => {
            return Ok(ModuleResult::failed(format!(
                "failed to read hostname: {}",
                p.stderr.trim()
            )));
        }
        Some(p) => p.stdout.trim().to_string(),
        None => String::new(),
    };
    let current = current.stdout.trim().to_string();
    let set_permanent = permanent != name;
    let set_current = current != name;
    let changed = set_permanent || set_current;
    if changed && systemd && name.chars().count() > 64 {
        return Ok(ModuleResult::failed(
            "name cannot be longer than 64 characters on systemd servers, try a shorter name",
        ));
    }
    let mut fqdn = secs.val("fqdn").map(str::to_string);
    if changed && ctx.check_mode && fqdn.is_none() {
        // Ansible reports the fqdn of the unchanged host.
        let mut s = SectionScript::new();
        s.line(FQDN).line("__s_fqdn");
        let o = ctx.run(&s.build(), None).await?;
        fqdn = Sections::parse(s.marker(), &o.stdout_str())
            .val("fqdn")
            .map(str::to_string);
    }
    if changed && !ctx.check_mode {
        let mut s = SectionScript::new();
        s.line(FQDN).line(REPLACE_FN);
        let q = sh_quote(&name);
        if systemd {
            if set_permanent {
                s.line(&format!(
                    "__s_sec permanent hostnamectl --pretty --static set-hostname {q} || \
                     {{ sleep 1; __s_sec permanent hostnamectl --pretty --static set-hostname {q} || exit 0; }}"
                ));
            }
            if set_current {
                s.line(&format!(
                    "__s_sec current hostnamectl --transient set-hostname {q} || \
                     {{ sleep 1; __s_sec current hostnamectl --transient set-hostname {q} || exit 0; }}"
                ));
            }
        } else {
            if set_permanent {
                s.line(
                    "__s_replace /etc/hostname 0 0 2>\"$__s_se\" || { __s_val write_err \"$(cat \"$__s_se\")\"; exit 0; }",
                );
            }
            if set_current {
                s.line(&format!("__s_sec current hostname {q} || exit 0"));
            }
        }
        s.line("__s_fqdn");
        let stdin = format!("{name}\n");
        let o = ctx.run(&s.build(), Some(stdin.as_bytes())).await?;
        let done = Sections::parse(s.marker(), &o.stdout_str());
        if let Some(e) = done.val("write_err") {
            return Ok(ModuleResult::failed(format!(
                "failed to update hostname: {}",
                e.trim()
            )));
        }
        // The file strategy writes /etc/hostname without a `permanent` section.
        let wrote_file = !systemd;
        for (key, wanted) in [
            ("permanent", set_permanent && !wrote_file),
            ("current", set_current),
        ] {
            match done.get(key) {
                Some(sec) if sec.rc != 0 => {
                    return Ok(ModuleResult::failed(command_failed(sec)));
                }
                None if wanted => {
                    return Ok(ModuleResult::failed(format!(
                        "setting the hostname failed: {}",
                        o.stderr_str().trim()
                    )));
                }
                _ => {}
            }
        }
        if let Some(f) = done.val("fqdn") {
            fqdn = Some(f.to_string());
        }
    }
    let mut r = ModuleResult::changed(changed).with("name", name.clone());
    let short = name.split('.').next().unwrap_or(&name).to_string();
    let fqdn = fqdn.unwrap_or_else(|| current.clone());
    let domain = fqdn.split('.').skip(1).collect::<Vec<_>>().join(".");
    r.facts
        .insert("ansible_hostname".into(), Value::from(short));
    r.facts
        .insert("ansible_nodename".into(), Value::from(name.clone()));
    r.facts.insert("ansible_fqdn".into(), Value::from(fqdn));
    r.facts.insert("ansible_domain".into(), Value::from(domain));
    if changed {
        let before = if name != current { current } else { permanent };
        r.diff.push(FileDiff {
            before_header: "hostname".into(),
            after_header: "hostname".into(),
            before: format!("hostname = {before}\n"),
            after: format!("hostname = {name}\n"),
        });
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_maps_to_ansible_strategies() {
        assert_eq!(strategy_for(None), Ok(Strategy::Auto));
        assert_eq!(strategy_for(Some("debian")), Ok(Strategy::Systemd));
        assert_eq!(strategy_for(Some("generic")), Ok(Strategy::File));
        assert!(
            strategy_for(Some("redhat"))
                .unwrap_err()
                .contains("not supported")
        );
        assert!(
            strategy_for(Some("beos"))
                .unwrap_err()
                .contains("must be one of")
        );
    }

    #[test]
    fn fqdn_follows_getfqdn() {
        let mut s = SectionScript::new();
        s.line(FQDN).line("__s_fqdn");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(s.build())
            .output()
            .unwrap();
        let secs = Sections::parse(s.marker(), &String::from_utf8(out.stdout).unwrap());
        let python = std::process::Command::new("python3")
            .args(["-c", "import socket; print(socket.getfqdn())"])
            .output()
            .unwrap();
        let python = String::from_utf8(python.stdout).unwrap();
        assert_eq!(secs.val("fqdn"), Some(python.trim()));
    }

    #[test]
    fn probe_reads_without_changing() {
        for st in [Strategy::Auto, Strategy::Systemd, Strategy::File] {
            let script = probe_script(st, "x").build();
            assert!(!script.contains("set-hostname"));
            assert!(!script.contains("__s_replace"));
        }
    }
}
