//! `service_facts` (ansible.builtin.service_facts): `ansible_facts.services`, built as
//! ansible-core builds it on Linux. SysV scripts from `service --status-all` (when `service`
//! exists and neither `chkconfig` nor `rc-status` does) come first, `source: sysv`, with
//! `state` running or stopped. On a systemd host (`systemctl`, and one of systemd's canary
//! directories or PID 1 named `systemd`), `systemctl list-units --type service --all
//! --plain` gives each unit's `state` (running when SUB is `running`, else stopped) and
//! `status` (the ACTIVE column, or a bad state `not-found`/`masked`/`failed` found among the
//! fields but the last), then `list-unit-files` adds the units not listed yet, with their
//! `ActiveState` from `systemctl show`, and sets the others' `status` to the file state
//! unless it is bad. Everything, `systemctl show` per unit included, runs in one script in
//! the best parsable locale ansible-core would pick. Upstart, chkconfig and OpenRC hosts are
//! not read (strata targets Debian): no services found there skips the task, as Ansible
//! does when it finds none.

use futures::future::BoxFuture;
use regex::Regex;
use serde_json::{Map, Value, json};

use crate::modules::toolkit::sections::{SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};

pub struct ServiceFacts;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "service_facts",
    params: &[],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for ServiceFacts {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }
    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        _args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(run(ctx))
    }
}

const SCRIPT: &str = r#"__l=C; __all=$(locale -a 2>/dev/null)
for __c in C.utf8 C.UTF-8 en_US.utf8 en_US.UTF-8 C POSIX; do
  if printf '%s\n' "$__all" | grep -qxF "$__c"; then __l=$__c; break; fi
done
export LANG=$__l LC_ALL=$__l
__has() { command -v "$1" >/dev/null 2>&1; }
if __has service && ! __has chkconfig && ! __has rc-status; then
  __s_sec sysv service --status-all
  [ -e /etc/init.d ] && __s_val initd 1
fi
__sd=
if __has systemctl; then
  for __d in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do [ -e "$__d" ] && __sd=1; done
  [ -z "$__sd" ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && __sd=1
fi
if [ -n "$__sd" ]; then
  __s_val systemd 1
  __s_sec units systemctl list-units --no-pager --type service --all --plain
  __u=$(cat -- "$__s_so")
  __s_sec files systemctl list-unit-files --no-pager --type service --all
  __i=0
  for __n in $(printf '%s\n' "$__u" | awk 'index($0, ".service") { print $1 }' | sort -u > "$__s_se.u"
               cat -- "$__s_so" | awk 'index($0, ".service") { print $1 }' | sort -u | comm -23 - "$__s_se.u"
               rm -f -- "$__s_se.u"); do
    __s_val "n$__i" "$__n"
    __s_sec "s$__i" systemctl show "$__n" --property=ActiveState
    __i=$((__i+1))
  done
fi
__s_val done 1
"#;

const BAD_STATES: &[&str] = &["not-found", "masked", "failed"];

/// `service --status-all` lines into `services`.
pub fn sysv(out: &str, services: &mut Map<String, Value>) {
    let re = Regex::new(r"(?m)^\s*\[ (\+|-) \]\s+(.+)$").expect("valid regex");
    for c in re.captures_iter(out) {
        let state = if &c[1] == "+" { "running" } else { "stopped" };
        services.insert(
            c[2].to_string(),
            json!({"name": &c[2], "state": state, "source": "sysv"}),
        );
    }
}

/// `systemctl list-units` lines into `services`.
pub fn from_units(out: &str, services: &mut Map<String, Value>) {
    for line in out.split('\n').filter(|l| l.contains(".service")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 4 {
            continue;
        }
        let head = &fields[..fields.len() - 1];
        let status = BAD_STATES
            .iter()
            .find(|b| head.contains(b))
            .copied()
            .unwrap_or(fields[2]);
        let state = if fields[3] == "running" {
            "running"
        } else {
            "stopped"
        };
        services.insert(
            fields[0].to_string(),
            json!({"name": fields[0], "state": state, "status": status, "source": "systemd"}),
        );
    }
}

/// `systemctl list-unit-files` lines into `services`; `active` gives `systemctl show`'s
/// output for a unit not listed by `list-units`.
pub fn from_unit_files(
    out: &str,
    active: &dyn Fn(&str) -> Option<String>,
    services: &mut Map<String, Value>,
) -> Result<(), String> {
    for line in out.split('\n').filter(|l| l.contains(".service")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 2 {
            return Err(format!(
                "Malformed output discovered from systemd list-unit-files: {line}"
            ));
        }
        let (name, status) = (fields[0], fields[1]);
        match services.get_mut(name) {
            None => {
                let state = active(name)
                    .filter(|s| !s.is_empty())
                    .map(|s| s.replace("ActiveState=", "").trim_end().to_string())
                    .unwrap_or_else(|| "unknown".into());
                services.insert(
                    name.to_string(),
                    json!({"name": name, "state": state, "status": status, "source": "systemd"}),
                );
            }
            Some(Value::Object(s)) => {
                let bad = s
                    .get("status")
                    .and_then(Value::as_str)
                    .is_some_and(|x| BAD_STATES.contains(&x));
                if !bad {
                    s.insert("status".into(), status.into());
                }
            }
            Some(_) => {}
        }
    }
    Ok(())
}

async fn run(ctx: &ModuleCtx<'_>) -> Result<ModuleResult, ModuleError> {
    let mut s = SectionScript::new();
    s.line(SCRIPT);
    let out = ctx.run(&s.build(), None).await?;
    let secs = Sections::parse(s.marker(), &out.stdout_str());
    if !secs.has("done") {
        return Ok(ModuleResult::failed(format!(
            "listing the services failed: {}",
            out.stderr_str().trim()
        )));
    }
    let mut services = Map::new();
    if let Some(sv) = secs.get("sysv")
        && (sv.rc != 4 || secs.has("initd"))
    {
        sysv(&sv.stdout, &mut services);
    }
    if secs.has("systemd") {
        if let Some(u) = secs.get("units").filter(|u| u.rc == 0) {
            from_units(&u.stdout, &mut services);
        }
        let mut shown = std::collections::HashMap::new();
        for i in 0.. {
            let Some(n) = secs.val(&format!("n{i}")) else {
                break;
            };
            if let Some(x) = secs.get(&format!("s{i}")).filter(|x| x.rc == 0) {
                shown.insert(n.to_string(), x.stdout.clone());
            }
        }
        if let Some(f) = secs.get("files").filter(|f| f.rc == 0)
            && let Err(e) = from_unit_files(&f.stdout, &|n| shown.get(n).cloned(), &mut services)
        {
            return Ok(ModuleResult::failed(e));
        }
    }
    if services.is_empty() {
        let mut r = ModuleResult::ok().msg(
            "Failed to find any services. This can be due to privileges or some other configuration issue.",
        );
        r.skipped = true;
        return Ok(r);
    }
    let mut r = ModuleResult::ok();
    r.facts.insert("services".into(), Value::Object(services));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysv_and_systemd_listings_merge_like_ansible() {
        let mut m = Map::new();
        sysv(" [ + ]  ssh\n [ - ]  cron\n [ ? ]  hwclock.sh\n", &mut m);
        assert_eq!(
            m["ssh"],
            json!({"name": "ssh", "state": "running", "source": "sysv"})
        );
        assert!(!m.contains_key("hwclock.sh"));
        let units = "UNIT LOAD ACTIVE SUB DESCRIPTION\n\
                     cron.service loaded active running Regular background program processing daemon\n\
                     foo.service not-found inactive dead foo.service\n\
                     bar.service loaded failed failed Bar\n\
                     \n3 loaded units listed.\n";
        from_units(units, &mut m);
        assert_eq!(
            m["cron.service"],
            json!({"name": "cron.service", "state": "running", "status": "active", "source": "systemd"})
        );
        assert_eq!(m["foo.service"]["status"], "not-found");
        // `failed` is the last field but one: found.
        assert_eq!(m["bar.service"]["status"], "failed");
        let files = "UNIT FILE STATE PRESET\ncron.service enabled enabled\nbar.service enabled enabled\n\
                     getty@.service enabled enabled\n\n3 unit files listed.\n";
        from_unit_files(
            files,
            &|n| (n == "getty@.service").then(|| "ActiveState=inactive\n".to_string()),
            &mut m,
        )
        .unwrap();
        assert_eq!(m["cron.service"]["status"], "enabled");
        assert_eq!(m["bar.service"]["status"], "failed");
        assert_eq!(
            m["getty@.service"],
            json!({"name": "getty@.service", "state": "inactive", "status": "enabled", "source": "systemd"})
        );
    }
}
