//! `timezone` (community.general.timezone) on Linux, with the collection's two strategies:
//! `timedatectl` when it exists and `timedatectl` alone succeeds (systemd hosts: read from
//! `timedatectl status`, set with `set-timezone` and `set-local-rtc`), else the Debian files
//! (`/etc/timezone`, the `/etc/localtime` link and `dpkg-reconfigure tzdata`; the hardware
//! clock through `/etc/default/rcS`, `/etc/adjtime` and `hwclock --systohc`). As in the
//! collection the values are read before and after acting and compared with the plan: the
//! result's `diff` is `{before, after}` of the given keys (`hwclock` as `local`/`UTC`),
//! `changed` is whether they differ, and `msg` lists what was executed or edited. One probe
//! round trip, and one that acts and reads again when something differs.

use futures::future::BoxFuture;
use regex::Regex;
use serde_json::{Map, Value, json};

use crate::events::FileDiff;
use crate::modules::toolkit::replace_file::REPLACE_FN;
use crate::modules::toolkit::sections::{SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Timezone;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "timezone",
    params: &[
        Param::new("hwclock", T::Str)
            .choices(&["local", "UTC"])
            .aliases(&["rtc"]),
        Param::new("name", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[&["hwclock", "name"]],
    any_params: false,
};

impl Module for Timezone {
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

/// The collection's search path for required executables, named in its failure.
const BIN_PATHS: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Prints, under section names prefixed with `$1`, everything either strategy reads.
const STATE_FN: &str = r#"__tz_state() {
  if [ -n "$__tz_systemd" ]; then __s_sec "$1status" timedatectl status; return; fi
  [ -e /etc/timezone ] && __s_sec "$1tz" cat /etc/timezone
  [ -e /etc/default/rcS ] && __s_sec "$1rcs" cat /etc/default/rcS
  [ -e /etc/adjtime ] && __s_sec "$1adj" cat /etc/adjtime
  if [ -L /etc/localtime ]; then
    __s_val "$1link" "$(readlink /etc/localtime)"
    [ -e /etc/localtime ] && __s_val "$1link_ok" 1
  elif [ -n "$__tz_file" ] && cmp -s /etc/localtime "$__tz_file"; then __s_val "$1same" 1
  fi
}
"#;

/// The values, keyed `hwclock` then `name` (the collection's argument order), of the keys
/// the task gave.
type Values = Vec<(&'static str, String)>;

/// What the non-systemd strategy reads, from one [`STATE_FN`] call.
#[derive(Clone, Debug, Default)]
pub struct Files {
    pub timezone: Option<String>,
    pub rcs: Option<String>,
    pub adjtime: Option<String>,
    /// `/etc/localtime`'s link target, and whether it resolves.
    pub link: Option<(String, bool)>,
    /// Not a link, and the same bytes as the planned zone's file.
    pub same: bool,
}

impl Files {
    fn read(secs: &Sections, p: &str) -> Files {
        let f = |n: &str| {
            secs.get(&format!("{p}{n}"))
                .filter(|s| s.rc == 0)
                .map(|s| s.stdout.clone())
        };
        Files {
            timezone: f("tz"),
            rcs: f("rcs"),
            adjtime: f("adj"),
            link: secs
                .val(&format!("{p}link"))
                .map(|l| (l.to_string(), secs.has(&format!("{p}link_ok")))),
            same: secs.has(&format!("{p}same")),
        }
    }
}

fn first(re: &str, text: &str) -> Option<String> {
    Regex::new(re)
        .expect("valid regex")
        .captures(text)
        .map(|c| c[1].to_string())
}

/// Ansible's `boolean()` for the `RTC in local TZ` and `UTC=` values.
fn truthy(v: &str) -> bool {
    matches!(
        v.to_lowercase().as_str(),
        "y" | "yes" | "on" | "1" | "true" | "t" | "1.0"
    )
}

/// The systemd strategy's `get`, from `timedatectl status`.
pub fn systemd_get(key: &str, status: &str) -> Result<String, String> {
    let re = match key {
        "hwclock" => r"(?m)^\s*RTC in local TZ\s*:\s*([^\s]+)",
        _ => r"(?m)^\s*Time ?zone\s*:\s*([^\s]+)",
    };
    let v = first(re, status).ok_or_else(|| {
        format!("'NoneType' object has no attribute 'group' (timedatectl status: {status:?})")
    })?;
    Ok(match key {
        "hwclock" if truthy(&v) => "local".into(),
        "hwclock" => "UTC".into(),
        _ => v,
    })
}

/// The Debian strategy's `get` for `key` at `phase` (`before`/`after`).
pub fn files_get(key: &str, planned: &str, f: &Files, phase: &str) -> Result<String, String> {
    if key == "hwclock" {
        let v = match &f.rcs {
            None => "n/a".to_string(),
            Some(t) => match first(r"(?m)^UTC\s*=\s*([^\s]+)", t) {
                None => "n/a".into(),
                Some(v) if truthy(&v) => "UTC".into(),
                Some(_) => "local".into(),
            },
        };
        if v != planned {
            return Ok(v);
        }
        return Ok(
            match f
                .adjtime
                .as_deref()
                .and_then(|t| first(r"(?m)^(UTC|LOCAL)$", t))
            {
                Some(v) if v != "UTC" => v.to_lowercase(),
                _ => "UTC".into(),
            },
        );
    }
    let v = match &f.timezone {
        None => "n/a".to_string(),
        Some(t) => match first(r"(?m)^([^\s]+)", t) {
            Some(v) => v,
            None if phase == "before" => "n/a".into(),
            None => {
                return Err(
                    "tried to configure name using a file \"/etc/timezone\", but could not find a valid value in it"
                        .into(),
                );
            }
        },
    };
    if v != planned {
        return Ok(v);
    }
    Ok(match &f.link {
        Some((target, true)) => match first(r"(?:/(?:usr/share|etc)/zoneinfo/)(.*)", target) {
            Some(l) if l != planned => l,
            Some(_) => v,
            None => "n/a".into(),
        },
        Some((_, false)) => "n/a".into(),
        None if f.same => v,
        None => "n/a".into(),
    })
}

/// The collection's `_edit_file`: the first matching line replaced by `value`, the other
/// matches deleted (or `value` inserted first); with the message it records.
pub fn edit_file(content: &str, re: &str, value: &str, file: &str) -> (String, String) {
    let re = Regex::new(re).expect("valid regex");
    let mut lines: Vec<&str> = content.split_inclusive('\n').collect();
    let matched: Vec<usize> = (0..lines.len())
        .filter(|&i| re.is_match(lines[i]))
        .collect();
    let at = matched.first().copied().unwrap_or(0);
    for i in matched.iter().rev() {
        lines.remove(*i);
    }
    lines.insert(at, value);
    (
        lines.concat(),
        format!(
            "Added 1 line and deleted {} line(s) on {file}",
            matched.len()
        ),
    )
}

fn py_dict(v: &Values) -> String {
    let items: Vec<String> = v.iter().map(|(k, x)| format!("'{k}': '{x}'")).collect();
    format!("{{{}}}", items.join(", "))
}

fn as_map(v: &Values) -> Map<String, Value> {
    v.iter()
        .map(|(k, x)| (k.to_string(), Value::from(x.clone())))
        .collect()
}

fn abort(msgs: &[String], msg: &str) -> ModuleResult {
    let mut m = vec!["Error message:".to_string(), msg.to_string()];
    if !msgs.is_empty() {
        m.push("Other message(s):".into());
        m.extend(msgs.iter().cloned());
    }
    ModuleResult::failed(m.join("\n"))
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let mut planned: Values = Vec::new();
    if let Some(h) = args.str("hwclock").or_else(|| args.str("rtc")) {
        planned.push(("hwclock", h));
    }
    if let Some(n) = args.str("name") {
        planned.push(("name", n));
    }
    if planned.is_empty() {
        return Err(ModuleError::Args(
            "one of the following is required: hwclock, name".into(),
        ));
    }
    let name = planned
        .iter()
        .find(|(k, _)| *k == "name")
        .map(|(_, v)| v.clone());
    let tzfile = name.as_ref().map(|n| format!("/usr/share/zoneinfo/{n}"));
    let mut s = SectionScript::new();
    s.line("export LC_ALL=C LANG=C");
    s.line(&format!(
        "__tz_file={}\n__tz_systemd=\n\
         if command -v timedatectl >/dev/null 2>&1 && timedatectl >/dev/null 2>&1; then __tz_systemd=1; __s_val systemd 1; fi\n\
         if [ -n \"$__tz_file\" ] && [ -f \"$__tz_file\" ]; then __s_val zone_ok 1; fi\n\
         for __b in hwclock dpkg-reconfigure timedatectl ln; do __p=$(command -v \"$__b\") && __s_val \"bin_$__b\" \"$__p\"; done",
        sh_quote(tzfile.as_deref().unwrap_or(""))
    ));
    s.line(STATE_FN);
    s.line("__tz_state b_\n__s_val done 1");
    let out = ctx.run(&s.build(), None).await?;
    let secs = Sections::parse(s.marker(), &out.stdout_str());
    if !secs.has("done") {
        return Ok(ModuleResult::failed(format!(
            "reading the timezone failed: {}",
            out.stderr_str().trim()
        )));
    }
    let systemd = secs.has("systemd");
    if let Some(n) = &name
        && !secs.has("zone_ok")
    {
        return Ok(abort(
            &[],
            &format!("given timezone \"{n}\" is not available"),
        ));
    }
    let hwclock_bin = secs.val("bin_hwclock").map(str::to_string);
    let debian = secs.has("bin_dpkg-reconfigure");
    if !systemd && hwclock_bin.is_none() {
        return Ok(ModuleResult::failed(format!(
            "Failed to find required executable \"hwclock\" in paths: {BIN_PATHS}"
        )));
    }
    if !systemd && !debian {
        return Ok(ModuleResult::failed(
            "strata's timezone supports timedatectl and Debian's /etc/timezone; this host has neither",
        ));
    }
    let read = |secs: &Sections, p: &str, phase: &str| -> Result<Values, String> {
        let status = secs
            .get(&format!("{p}status"))
            .map(|s| s.stdout.clone())
            .unwrap_or_default();
        let files = Files::read(secs, p);
        planned
            .iter()
            .map(|(k, want)| {
                let v = if systemd {
                    systemd_get(k, &status)?
                } else {
                    files_get(k, want, &files, phase)?
                };
                Ok((*k, v))
            })
            .collect()
    };
    if systemd
        && let Some(st) = secs.get("b_status")
        && st.rc != 0
    {
        return Ok(ModuleResult::failed(st.stderr.trim().to_string())
            .with("rc", st.rc)
            .with("stdout", st.stdout.clone())
            .with("stderr", st.stderr.clone()));
    }
    let before = match read(&secs, "b_", "before") {
        Ok(b) => b,
        Err(e) => return Ok(abort(&[], &e)),
    };
    let result = |before: &Values, after: &Values, msgs: &[String]| {
        let changed = before != after;
        let mut r = ModuleResult::changed(changed).with(
            "diff",
            json!({"before": as_map(before), "after": as_map(after)}),
        );
        if !msgs.is_empty() {
            r = r.msg(msgs.join("\n"));
        }
        if ctx.diff && changed {
            let text = |v: &Values| {
                let m: std::collections::BTreeMap<&str, &String> =
                    v.iter().map(|(k, x)| (*k, x)).collect();
                let mut buf = Vec::new();
                let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
                let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
                serde::Serialize::serialize(&m, &mut ser).expect("JSON");
                format!("{}\n", String::from_utf8_lossy(&buf))
            };
            r.diff.push(FileDiff {
                before_header: "timezone".into(),
                after_header: "timezone".into(),
                before: text(before),
                after: text(after),
            });
        }
        r
    };
    if ctx.check_mode || before == planned {
        return Ok(result(&before, &planned, &[]));
    }
    // The changes, in the collection's order (hwclock, then name).
    let mut a = SectionScript::new();
    a.line("export LC_ALL=C LANG=C").line(REPLACE_FN);
    a.line(&format!(
        "__tz_file={}\n__tz_systemd={}",
        sh_quote(tzfile.as_deref().unwrap_or("")),
        if systemd { "1" } else { "" }
    ));
    a.line(STATE_FN);
    let mut msgs = Vec::new();
    let b_files = Files::read(&secs, "b_");
    let mut shown: Vec<String> = Vec::new();
    let mut step = |a: &mut SectionScript, words: &[&str]| {
        a.sec(&format!("s{}", shown.len()), words);
        a.line("[ \"$__s_r\" = 0 ] || exit 0");
        // As the collection's `run_command` names it: the executable's full path.
        let bin = secs.val(&format!("bin_{}", words[0])).unwrap_or(words[0]);
        let mut c = vec![bin];
        c.extend(&words[1..]);
        shown.push(c.join(" "));
    };
    for ((key, want), (_, was)) in planned.iter().zip(&before) {
        if want == was {
            continue;
        }
        if systemd {
            let (sub, v) = match *key {
                "hwclock" => ("set-local-rtc", if want == "local" { "yes" } else { "no" }),
                _ => ("set-timezone", want.as_str()),
            };
            let bin = secs.val("bin_timedatectl").unwrap_or("timedatectl");
            msgs.push(format!("executed `{bin} {sub} {v}`"));
            step(&mut a, &["timedatectl", sub, v]);
            continue;
        }
        let (file, re, line, old) = match *key {
            "hwclock" => (
                "/etc/default/rcS",
                r"^UTC\s*=\s*([^\s]+)",
                format!("UTC={}\n", if want == "local" { "no" } else { "yes" }),
                b_files.rcs.clone(),
            ),
            _ => (
                "/etc/timezone",
                r"^([^\s]+)",
                format!("{want}\n"),
                b_files.timezone.clone(),
            ),
        };
        let (content, m) = edit_file(old.as_deref().unwrap_or(""), re, &line, file);
        msgs.push(m);
        a.line(&format!(
            "printf '%s' {} | __s_replace {file} 0 0 2>\"$__s_se\" || {{ __s_val err \"$(cat \"$__s_se\")\"; exit 0; }}",
            sh_quote(&content)
        ));
        if *key == "hwclock" {
            let opt = if want == "local" {
                "--localtime"
            } else {
                "--utc"
            };
            let bin = hwclock_bin.clone().unwrap_or_default();
            msgs.push(format!("executed `{bin} --systohc {opt}`"));
            step(&mut a, &[&bin, "--systohc", opt]);
        } else {
            let tz = tzfile.clone().unwrap_or_default();
            step(&mut a, &["ln", "-sf", &tz, "/etc/localtime"]);
            step(
                &mut a,
                &["dpkg-reconfigure", "--frontend", "noninteractive", "tzdata"],
            );
        }
    }
    a.line("__tz_state a_\n__s_val done 1");
    let script = a.build();
    let o = ctx.run(&script, None).await?;
    let done = Sections::parse(a.marker(), &o.stdout_str());
    if let Some(e) = done.val("err") {
        return Ok(abort(&msgs, e.trim()));
    }
    if let Some(bad) = sections_failed(&done, &shown) {
        return Ok(bad);
    }
    if !done.has("done") {
        return Ok(abort(
            &msgs,
            &format!("setting the timezone failed: {}", o.stderr_str().trim()),
        ));
    }
    let after = match read(&done, "a_", "after") {
        Ok(a) => a,
        Err(e) => return Ok(abort(&msgs, &e)),
    };
    if after != planned {
        return Ok(abort(
            &msgs,
            &format!(
                "still not desired state, though changes have made - planned: {}, after: {}",
                py_dict(&planned),
                py_dict(&after)
            ),
        ));
    }
    Ok(result(&before, &after, &msgs))
}

/// The first command of the action script that failed; `cmds` are their display forms.
fn sections_failed(done: &Sections, cmds: &[String]) -> Option<ModuleResult> {
    cmds.iter().enumerate().find_map(|(i, c)| {
        let x = done.get(&format!("s{i}"))?;
        (x.rc != 0).then(|| super::command_failure(x, Some(c.clone())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "               Local time: Sun 2026-12-06 07:50:00 UTC\n           Universal time: Sun 2026-12-06 07:50:00 UTC\n                 RTC time: n/a\n                Time zone: Etc/UTC (UTC, +0000)\nSystem clock synchronized: no\n              NTP service: n/a\n          RTC in local TZ: no\n";

    #[test]
    fn timedatectl_status_is_read() {
        assert_eq!(systemd_get("name", STATUS).unwrap(), "Etc/UTC");
        assert_eq!(systemd_get("hwclock", STATUS).unwrap(), "UTC");
        let local = STATUS.replace("TZ: no", "TZ: yes");
        assert_eq!(systemd_get("hwclock", &local).unwrap(), "local");
    }

    #[test]
    fn debian_files_are_read_like_the_collection() {
        let f = Files {
            timezone: Some("Europe/Paris\n".into()),
            link: Some(("/usr/share/zoneinfo/Etc/UTC".into(), true)),
            ..Default::default()
        };
        // The file agrees with the plan, the link does not: the link's zone is the value.
        assert_eq!(
            files_get("name", "Europe/Paris", &f, "before").unwrap(),
            "Etc/UTC"
        );
        assert_eq!(
            files_get("name", "Asia/Tokyo", &f, "before").unwrap(),
            "Europe/Paris"
        );
        let broken = Files {
            link: Some(("/nowhere".into(), false)),
            ..f.clone()
        };
        assert_eq!(
            files_get("name", "Europe/Paris", &broken, "before").unwrap(),
            "n/a"
        );
        assert_eq!(
            files_get("hwclock", "UTC", &Files::default(), "before").unwrap(),
            "n/a"
        );
        let rcs = Files {
            rcs: Some("UTC=yes\n".into()),
            adjtime: Some("0.0 0 0.0\n0\nLOCAL\n".into()),
            ..Default::default()
        };
        assert_eq!(
            files_get("hwclock", "UTC", &rcs, "before").unwrap(),
            "local"
        );
    }

    #[test]
    fn files_are_edited_in_place() {
        let (c, m) = edit_file(
            "# x\nUTC=no\nUTC=yes\n",
            r"^UTC\s*=\s*([^\s]+)",
            "UTC=yes\n",
            "/etc/default/rcS",
        );
        assert_eq!(c, "# x\nUTC=yes\n");
        assert_eq!(m, "Added 1 line and deleted 2 line(s) on /etc/default/rcS");
        let (c, _) = edit_file("", r"^([^\s]+)", "Asia/Tokyo\n", "/etc/timezone");
        assert_eq!(c, "Asia/Tokyo\n");
        assert_eq!(
            py_dict(&vec![
                ("hwclock", "UTC".into()),
                ("name", "Asia/Tokyo".into())
            ]),
            "{'hwclock': 'UTC', 'name': 'Asia/Tokyo'}"
        );
    }
}
