//! `ufw` (community.general.ufw): state, default policies, logging and rules through the
//! host's `ufw` command, built as the community module builds its command lines (kept, as
//! it returns them, in `commands`). `changed` is decided as the module decides it: outside
//! check mode by comparing `ufw status verbose` and the `### tuple` lines of the user rules
//! files before and after; in check mode from the status text and a `--dry-run` of the rule.
//! A probe round trip reads the state, a second runs the commands and reads it again.

use futures::future::BoxFuture;
use serde_json::Value;

use crate::modules::toolkit::sections::{SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::shlex;

pub struct Ufw;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "ufw",
    params: &[
        Param::new("state", T::Str).choices(&["enabled", "disabled", "reloaded", "reset"]),
        Param::new("default", T::Str)
            .aliases(&["policy"])
            .choices(&["allow", "deny", "reject"]),
        Param::new("logging", T::Str).choices(&["full", "high", "low", "medium", "off", "on"]),
        Param::new("direction", T::Str).choices(&["in", "incoming", "out", "outgoing", "routed"]),
        Param::new("delete", T::Bool),
        Param::new("route", T::Bool),
        Param::new("insert", T::Int),
        Param::new("insert_relative_to", T::Str).choices(&[
            "zero",
            "first-ipv4",
            "last-ipv4",
            "first-ipv6",
            "last-ipv6",
        ]),
        Param::new("rule", T::Str).choices(&["allow", "deny", "limit", "reject"]),
        Param::new("interface", T::Str).aliases(&["if"]),
        Param::new("interface_in", T::Str).aliases(&["if_in"]),
        Param::new("interface_out", T::Str).aliases(&["if_out"]),
        Param::new("log", T::Bool),
        Param::new("from_ip", T::Str).aliases(&["from", "src"]),
        Param::new("from_port", T::Str),
        Param::new("to_ip", T::Str).aliases(&["dest", "to"]),
        Param::new("to_port", T::Str).aliases(&["port"]),
        Param::new("proto", T::Str)
            .aliases(&["protocol"])
            .choices(&[
                "ah", "any", "esp", "ipv6", "tcp", "udp", "gre", "igmp", "vrrp",
            ]),
        Param::new("name", T::Str).aliases(&["app"]),
        Param::new("comment", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[
        &["name", "proto", "logging"],
        &["direction", "interface_in"],
        &["direction", "interface_out"],
    ],
    required_one_of: &[&["state", "default", "rule", "logging"]],
    any_params: false,
};

impl Module for Ufw {
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

const RULES_FILES: &[&str] = &[
    "/lib/ufw/user.rules",
    "/lib/ufw/user6.rules",
    "/etc/ufw/user.rules",
    "/etc/ufw/user6.rules",
    "/var/lib/ufw/user.rules",
    "/var/lib/ufw/user6.rules",
];

fn ipv4_re() -> &'static str {
    r"((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])"
}

fn ipv6_re() -> String {
    let v4 = r"((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])";
    format!(
        r"(([0-9a-fA-F]{{1,4}}:){{7,7}}[0-9a-fA-F]{{1,4}}|([0-9a-fA-F]{{1,4}}:){{1,7}}:|([0-9a-fA-F]{{1,4}}:){{1,6}}:[0-9a-fA-F]{{1,4}}|([0-9a-fA-F]{{1,4}}:){{1,5}}(:[0-9a-fA-F]{{1,4}}){{1,2}}|([0-9a-fA-F]{{1,4}}:){{1,4}}(:[0-9a-fA-F]{{1,4}}){{1,3}}|([0-9a-fA-F]{{1,4}}:){{1,3}}(:[0-9a-fA-F]{{1,4}}){{1,4}}|([0-9a-fA-F]{{1,4}}:){{1,2}}(:[0-9a-fA-F]{{1,4}}){{1,5}}|[0-9a-fA-F]{{1,4}}:((:[0-9a-fA-F]{{1,4}}){{1,6}})|:((:[0-9a-fA-F]{{1,4}}){{1,7}}|:)|fe80:(:[0-9a-fA-F]{{0,4}}){{0,4}}%[0-9a-zA-Z]{{1,}}|::(ffff(:0{{1,4}}){{0,1}}:){{0,1}}{v4}|([0-9a-fA-F]{{1,4}}:){{1,4}}:{v4})"
    )
}

/// The lines of `content` (with their ends) that `re` finds something in, joined.
fn lines_matching(re: &regex::Regex, content: &str) -> String {
    content
        .split_inclusive('\n')
        .filter(|l| re.is_match(l))
        .collect()
}

/// The module's check-mode verdict for a rule from its `--dry-run` output.
pub fn dry_run_changed(pre_rules: &str, dry: &str, from_ip: &str, to_ip: &str) -> bool {
    let lines: Vec<&str> = dry.split_inclusive('\n').collect();
    let skipping = lines.iter().filter(|l| l.contains("Skipping")).count();
    if skipping > 0 && skipping == lines.len() {
        return false;
    }
    let dry: String = lines
        .iter()
        .filter(|l| l.starts_with("### tuple"))
        .copied()
        .collect();
    let v4 = regex::Regex::new(ipv4_re()).expect("valid");
    let v4_start = regex::Regex::new(&format!("^(?:{})", ipv4_re())).expect("valid");
    let v6 = regex::Regex::new(&ipv6_re()).expect("valid");
    let v6_start = regex::Regex::new(&format!("^(?:{})", ipv6_re())).expect("valid");
    if v4_start.is_match(from_ip) || v4_start.is_match(to_ip) {
        lines_matching(&v4, pre_rules) != lines_matching(&v4, &dry)
    } else if v6_start.is_match(from_ip) || v6_start.is_match(to_ip) {
        lines_matching(&v6, pre_rules) != lines_matching(&v6, &dry)
    } else {
        pre_rules != dry
    }
}

/// The module's check-mode verdict for `logging` from `ufw status verbose`.
pub fn logging_changed(pre: &str, value: &str) -> bool {
    let re = regex::Regex::new(r"Logging: (on|off)(?: \(([a-z]+)\))?").expect("valid");
    let Some(c) = re.captures(pre) else {
        return true;
    };
    let on_off = &c[1];
    let level = c.get(2).map(|m| m.as_str());
    if value != "off" {
        on_off == "off" || (value != "on" && Some(value) != level)
    } else {
        on_off != "off"
    }
}

/// The module's check-mode verdict for `default`.
pub fn default_changed(pre: &str, value: &str, direction: Option<&str>) -> bool {
    let re = regex::Regex::new(r"Default: (deny|allow|reject) \(incoming\), (deny|allow|reject) \(outgoing\), (deny|allow|reject|disabled) \(routed\)").expect("valid");
    let Some(c) = re.captures(pre) else {
        return true;
    };
    let i = match direction {
        Some("outgoing") => 2,
        Some("routed") => 3,
        _ => 1,
    };
    let v = &c[i];
    v != value && v != "disabled"
}

/// `insert_relative_to` other than `zero`: the rule number from `ufw status numbered`.
pub fn insert_position(numbered: &str, insert: i64, relative: &str) -> Option<i64> {
    let re = regex::Regex::new(r"^\[ *([0-9]+)\] ").expect("valid");
    let lines: Vec<(i64, bool)> = numbered
        .lines()
        .filter_map(|l| {
            let n = re.captures(l)?[1].parse().ok()?;
            Some((n, l.contains("(v6)")))
        })
        .collect();
    let last = lines.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let max_v4 = lines.iter().filter(|(_, v6)| !v6).map(|(n, _)| *n).max();
    let has_v6 = lines.iter().any(|(_, v6)| *v6);
    let rel = match relative {
        "first-ipv4" => 1,
        "last-ipv4" => max_v4.unwrap_or(1),
        "first-ipv6" => max_v4.map_or(1, |m| m + 1),
        _ => {
            if has_v6 {
                last
            } else {
                last + 1
            }
        }
    };
    let to = insert + rel;
    (to <= last).then_some(to)
}

/// A command as the module writes it: its parts joined by spaces.
fn line(parts: &[Option<String>]) -> String {
    parts
        .iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let first = |names: &[&str]| names.iter().find_map(|n| args.str(n));
    let state = args.str("state");
    let default = first(&["default", "policy"]);
    let logging = args.str("logging");
    let rule = args.str("rule");
    let direction = args.str("direction");
    let interface = first(&["interface", "if"]);
    let interface_in = first(&["interface_in", "if_in"]);
    let interface_out = first(&["interface_out", "if_out"]);
    let route = args.bool_or("route", false)?;
    let delete = args.bool_or("delete", false)?;
    let insert = args.int("insert")?;
    let relative = args
        .str("insert_relative_to")
        .unwrap_or_else(|| "zero".into());
    if interface.is_some() && direction.is_none() {
        return Err(ModuleError::Args(
            "missing parameter(s) required by 'interface': direction".into(),
        ));
    }
    if state.is_none() && default.is_none() && rule.is_none() && logging.is_none() {
        return Err(ModuleError::Args(
            "one of the following is required: state, default, rule, logging".into(),
        ));
    }
    let from_ip = first(&["from_ip", "from", "src"]).unwrap_or_else(|| "any".into());
    let to_ip = first(&["to_ip", "dest", "to"]).unwrap_or_else(|| "any".into());
    let need_numbered = rule.is_some() && insert.is_some() && !delete && relative != "zero";

    // Round trip 1: the tools, the state before, and what a rule needs.
    let mut p = SectionScript::new();
    p.line("export LANG=C LC_ALL=C PATH=\"$PATH:/usr/sbin:/sbin\"");
    p.line("__s_val ufw \"$(command -v ufw)\"; __s_val grep \"$(command -v grep)\"");
    p.line("command -v ufw >/dev/null 2>&1 || { __s_val done 1; exit 0; }");
    p.sec("pre", &["ufw", "status", "verbose"]);
    let mut grep = vec!["grep", "-h", "^### tuple"];
    grep.extend(RULES_FILES);
    p.sec("prerules", &grep);
    if rule.is_some() {
        p.sec("version", &["ufw", "--version"]);
    }
    if need_numbered {
        p.sec("numbered", &["ufw", "status", "numbered"]);
    }
    p.line("__s_val done 1");
    let out = ctx.run(&p.build(), None).await?;
    let s = Sections::parse(p.marker(), &out.stdout_str());
    if !s.has("done") {
        return Ok(ModuleResult::failed(format!(
            "ufw probe failed: {}",
            out.stderr_str().trim()
        )));
    }
    let ufw = s.val("ufw").unwrap_or("").trim().to_string();
    if ufw.is_empty() {
        return Ok(ModuleResult::failed(
            "Failed to find required executable \"ufw\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ));
    }
    let grep_bin = s.val("grep").unwrap_or("grep").trim().to_string();
    let pre = s.get("pre").cloned().unwrap_or_default();
    let mut cmds: Vec<String> = vec![format!("{ufw} status verbose")];
    if pre.rc != 0 {
        let msg = if pre.stderr.is_empty() {
            pre.stdout
        } else {
            pre.stderr
        };
        return Ok(ModuleResult::failed(msg).with("commands", cmds));
    }
    let pre_state = pre.stdout;
    let pre_rules = s
        .get("prerules")
        .map(|x| x.stdout.clone())
        .unwrap_or_default();
    cmds.push(format!(
        "{grep_bin} -h '^### tuple' {}",
        RULES_FILES.join(" ")
    ));
    let dry = ctx.check_mode.then(|| "--dry-run".to_string());
    let mut changed = false;
    // The commands to run, in the module's order (state, default, rule, logging).
    let mut run_cmds: Vec<String> = Vec::new();
    let mut rule_cmd: Option<String> = None;
    if let Some(st) = &state {
        if st == "reloaded" || st == "reset" {
            changed = true;
        }
        if ctx.check_mode {
            let enabled = pre_state.contains(" active");
            if (st == "disabled" && enabled) || (st == "enabled" && !enabled) {
                changed = true;
            }
        } else {
            let verb = match st.as_str() {
                "enabled" => "enable",
                "disabled" => "disable",
                "reloaded" => "reload",
                _ => "reset",
            };
            run_cmds.push(line(&[
                Some(ufw.clone()),
                dry.clone(),
                Some("-f".into()),
                Some(verb.into()),
            ]));
        }
    }
    if let Some(v) = &default {
        if !matches!(
            direction.as_deref(),
            None | Some("outgoing" | "incoming" | "routed")
        ) {
            return Ok(ModuleResult::failed("For default, direction must be one of \"outgoing\", \"incoming\" and \"routed\", or direction must not be specified.").with("commands", cmds));
        }
        if ctx.check_mode {
            changed |= default_changed(&pre_state, v, direction.as_deref());
        } else {
            run_cmds.push(line(&[
                Some(ufw.clone()),
                dry.clone(),
                Some("default".into()),
                Some(v.clone()),
                direction.clone(),
            ]));
        }
    }
    if let Some(v) = &rule {
        if !matches!(direction.as_deref(), None | Some("in" | "out")) {
            return Ok(ModuleResult::failed("For rules, direction must be one of \"in\" and \"out\", or direction must not be specified.").with("commands", cmds));
        }
        if !route && interface_in.is_some() && interface_out.is_some() {
            return Ok(ModuleResult::failed(
                "Only route rules can combine interface_in and interface_out",
            )
            .with("commands", cmds));
        }
        let insert_to = match insert {
            Some(n) if !delete => {
                if relative == "zero" {
                    Some(n)
                } else {
                    let numbered = s.get("numbered").map(|x| x.stdout.as_str()).unwrap_or("");
                    insert_position(numbered, n, &relative)
                }
            }
            _ => None,
        };
        let opt = |b: bool, t: &str| b.then(|| t.to_string());
        let mut parts = vec![
            Some(ufw.clone()),
            dry.clone(),
            opt(route, "route"),
            opt(delete, "delete"),
        ];
        if insert.is_some() && !delete {
            parts.push(insert_to.map(|n| format!("insert {n}")));
        }
        parts.push(Some(v.clone()));
        parts.push(direction.clone());
        parts.push(interface.as_ref().map(|i| format!("on {i}")));
        parts.push(interface_in.as_ref().map(|i| format!("in on {i}")));
        parts.push(interface_out.as_ref().map(|i| format!("out on {i}")));
        parts.push(opt(args.bool_or("log", false)?, "log"));
        let nonempty = |x: Option<String>| x.filter(|v| !v.is_empty());
        parts.push(nonempty(Some(from_ip.clone())).map(|v| format!("from {v}")));
        parts.push(nonempty(args.str("from_port")).map(|v| format!("port {v}")));
        parts.push(nonempty(Some(to_ip.clone())).map(|v| format!("to {v}")));
        parts.push(nonempty(first(&["to_port", "port"])).map(|v| format!("port {v}")));
        parts.push(nonempty(first(&["proto", "protocol"])).map(|v| format!("proto {v}")));
        parts.push(nonempty(first(&["name", "app"])).map(|v| format!("app '{v}'")));
        let version = s
            .get("version")
            .map(|x| x.stdout.clone())
            .unwrap_or_default();
        let vre = regex::Regex::new(r"^ufw.+(\d+)\.(\d+)(?:\.(\d+))?.*$").expect("valid");
        let Some(vc) = version
            .lines()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| vre.captures(l))
        else {
            return Ok(ModuleResult::failed("Failed to get ufw version.").with("rc", 0));
        };
        let (major, minor): (u32, u32) = (vc[1].parse().unwrap_or(0), vc[2].parse().unwrap_or(0));
        if (major == 0 && minor >= 35) || major > 0 {
            parts.push(nonempty(args.str("comment")).map(|v| format!("comment '{v}'")));
        }
        let c = line(&parts);
        rule_cmd = Some(c.clone());
        run_cmds.push(c);
    }
    if let Some(v) = &logging {
        // Unlike `default`, the module decides this outside check mode too.
        changed |= logging_changed(&pre_state, v);
        if !ctx.check_mode {
            run_cmds.push(line(&[
                Some(ufw.clone()),
                dry.clone(),
                Some("logging".into()),
                Some(v.clone()),
            ]));
        }
    }
    // `--version` runs inside the rule branch, just before the rule's command.
    let mut shown = cmds.clone();
    // Round trip 2: the commands, each split as `run_command` splits a string, then the
    // state after.
    let mut a = SectionScript::new();
    a.line("export LANG=C LC_ALL=C PATH=\"$PATH:/usr/sbin:/sbin\"");
    for (i, c) in run_cmds.iter().enumerate() {
        let w = shlex::split(c).map_err(|e| ModuleError::Args(format!("{c}: {e}")))?;
        let w: Vec<&str> = w.iter().map(String::as_str).collect();
        a.sec(&format!("c{i}"), &w);
        a.line("[ \"$__s_r\" = 0 ] || exit 0");
    }
    if !ctx.check_mode {
        a.sec("post", &["ufw", "status", "verbose"]);
        a.sec("postrules", &grep);
    }
    a.line("__s_val done 1");
    let out = ctx.run(&a.build(), None).await?;
    let d = Sections::parse(a.marker(), &out.stdout_str());
    for (i, c) in run_cmds.iter().enumerate() {
        if Some(c) == rule_cmd.as_ref() {
            shown.push(format!("{ufw} --version"));
        }
        shown.push(c.clone());
        let Some(sec) = d.get(&format!("c{i}")) else {
            return Ok(
                ModuleResult::failed(format!("{c} failed: {}", out.stderr_str().trim()))
                    .with("commands", shown),
            );
        };
        if sec.rc != 0 {
            let msg = if sec.stderr.is_empty() {
                sec.stdout.clone()
            } else {
                sec.stderr.clone()
            };
            return Ok(ModuleResult::failed(msg).with("commands", shown));
        }
        if ctx.check_mode && Some(c) == rule_cmd.as_ref() {
            changed |= dry_run_changed(&pre_rules, &sec.stdout, &from_ip, &to_ip);
        }
    }
    if !d.has("done") {
        return Ok(
            ModuleResult::failed(format!("ufw failed: {}", out.stderr_str().trim()))
                .with("commands", shown),
        );
    }
    if ctx.check_mode {
        return Ok(ModuleResult::changed(changed).with("commands", shown));
    }
    let post_state = d.get("post").map(|x| x.stdout.clone()).unwrap_or_default();
    shown.push(format!("{ufw} status verbose"));
    if !changed {
        let post_rules = d
            .get("postrules")
            .map(|x| x.stdout.clone())
            .unwrap_or_default();
        shown.push(format!(
            "{grep_bin} -h '^### tuple' {}",
            RULES_FILES.join(" ")
        ));
        changed = pre_state != post_state || pre_rules != post_rules;
    }
    Ok(ModuleResult::changed(changed)
        .with("commands", Value::from(shown))
        .msg(post_state.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), disabled (routed)\nNew profiles: skip\n";

    #[test]
    fn check_mode_verdicts_follow_the_status_text() {
        assert!(!logging_changed(STATUS, "on"));
        assert!(!logging_changed(STATUS, "low"));
        assert!(logging_changed(STATUS, "high"));
        assert!(logging_changed(STATUS, "off"));
        assert!(logging_changed("Status: inactive\n", "on"));
        assert!(!default_changed(STATUS, "deny", None));
        assert!(default_changed(STATUS, "deny", Some("outgoing")));
        assert!(!default_changed(STATUS, "allow", Some("routed")));
    }

    #[test]
    fn dry_runs_compare_tuples_by_address_family() {
        let pre = "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n### tuple ### allow tcp 22 ::/0 any ::/0 in\n";
        let dry = "*filter\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22 -j ACCEPT\n";
        assert!(!dry_run_changed(pre, dry, "any", "0.0.0.0/0"));
        assert!(dry_run_changed(pre, dry, "any", "any"));
        assert!(!dry_run_changed(
            pre,
            "Skipping adding existing rule\n",
            "any",
            "any"
        ));
    }

    #[test]
    fn relative_inserts_count_as_the_module_does() {
        let n = "Status: active\n\n     To Action From\n[ 1] 22/tcp ALLOW IN Anywhere\n[ 2] 80/tcp ALLOW IN Anywhere\n[ 3] 22/tcp (v6) ALLOW IN Anywhere (v6)\n";
        assert_eq!(insert_position(n, 0, "first-ipv4"), Some(1));
        assert_eq!(insert_position(n, 0, "last-ipv4"), Some(2));
        assert_eq!(insert_position(n, 0, "first-ipv6"), Some(3));
        assert_eq!(insert_position(n, 1, "last-ipv6"), None);
    }
}
