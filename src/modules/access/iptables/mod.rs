//! `iptables` (ansible.builtin.iptables): one rule, a chain's policy, a flush, or a chain
//! itself (`chain_management`), for IPv4, IPv6 or both. The rule is built as the module builds
//! it (`rule.rs`); presence is asked of the kernel with `iptables -C`, a policy read from
//! `iptables -L`, exactly as the module does on the host. One probe round trip; the change,
//! when one is needed outside check mode, is a second.

pub mod rule;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::modules::toolkit::sections::{Section, SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use rule::{RuleParams, construct};

pub struct Iptables;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "iptables",
    params: &[
        Param::new("table", T::Str).choices(&["filter", "nat", "mangle", "raw", "security"]),
        Param::new("state", T::Str).choices(&["absent", "present"]),
        Param::new("action", T::Str).choices(&["append", "insert"]),
        Param::new("ip_version", T::Str).choices(&["ipv4", "ipv6", "both"]),
        Param::new("chain", T::Str),
        Param::new("rule_num", T::Str),
        Param::new("protocol", T::Str),
        Param::new("wait", T::Str),
        Param::new("source", T::Str),
        Param::new("to_source", T::Str),
        Param::new("destination", T::Str),
        Param::new("to_destination", T::Str),
        Param::new("match", T::List),
        Param::new("tcp_flags", T::Dict),
        Param::new("jump", T::Str),
        Param::new("gateway", T::Str),
        Param::new("log_prefix", T::Str),
        Param::new("log_level", T::Str).choices(&[
            "0", "1", "2", "3", "4", "5", "6", "7", "emerg", "alert", "crit", "error", "warning",
            "notice", "info", "debug",
        ]),
        Param::new("goto", T::Str),
        Param::new("in_interface", T::Str),
        Param::new("out_interface", T::Str),
        Param::new("fragment", T::Str),
        Param::new("set_counters", T::Str),
        Param::new("source_port", T::Str),
        Param::new("destination_port", T::Str),
        Param::new("destination_ports", T::List),
        Param::new("to_ports", T::Str),
        Param::new("set_dscp_mark", T::Str),
        Param::new("set_dscp_mark_class", T::Str),
        Param::new("comment", T::Str),
        Param::new("ctstate", T::List),
        Param::new("src_range", T::Str),
        Param::new("dst_range", T::Str),
        Param::new("match_set", T::Str),
        Param::new("match_set_flags", T::Str)
            .choices(&["src", "dst", "src,dst", "dst,src", "src,src", "dst,dst"]),
        Param::new("limit", T::Str),
        Param::new("limit_burst", T::Str),
        Param::new("uid_owner", T::Str),
        Param::new("gid_owner", T::Str),
        Param::new("reject_with", T::Str),
        Param::new("icmp_type", T::Str),
        Param::new("syn", T::Str).choices(&["ignore", "match", "negate"]),
        Param::new("flush", T::Bool),
        Param::new("policy", T::Str).choices(&["ACCEPT", "DROP", "QUEUE", "RETURN"]),
        Param::new("chain_management", T::Bool),
        Param::new("numeric", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[
        &["set_dscp_mark", "set_dscp_mark_class"],
        &["flush", "policy"],
    ],
    required_one_of: &[],
    any_params: false,
};

impl Module for Iptables {
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

/// What the task does, in the module's order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Flush,
    Policy,
    DeleteChain,
    CreateChain,
    Rule,
}

struct Task {
    table: String,
    chain: Option<String>,
    wait: Option<String>,
    numeric: bool,
    rule_num: Option<String>,
    insert: bool,
    present: bool,
    policy: Option<String>,
    chain_management: bool,
    /// The rule as the commands carry it (with the implicit `-j LOG`).
    rule: Vec<String>,
}

impl Task {
    /// `push_arguments`: `BIN -t TABLE ACTION CHAIN [NUM] [-w W] [RULE]`.
    fn cmd(&self, bin: &str, action: &str, with_rule: bool) -> Vec<String> {
        let mut c = vec![
            bin.to_string(),
            "-t".into(),
            self.table.clone(),
            action.into(),
        ];
        c.extend(self.chain.clone());
        if action == "-I" {
            c.extend(self.rule_num.clone().filter(|n| !n.is_empty()));
        }
        if let Some(w) = self.wait.clone().filter(|w| !w.is_empty()) {
            c.extend(["-w".into(), w]);
        }
        if with_rule {
            c.extend(self.rule.iter().cloned());
        }
        c
    }

    /// The listing `get_chain_policy` and `check_chain_present` run.
    fn list_cmd(&self, bin: &str) -> Vec<String> {
        let mut c = self.cmd(bin, "-L", false);
        if self.numeric {
            c.push("--numeric".into());
        }
        c
    }
}

fn words(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The module's failure for a command run with `check_rc=True`.
fn cmd_failure(cmd: &[String], s: &Section) -> ModuleResult {
    ModuleResult::failed(s.stderr.trim_end().to_string())
        .with("cmd", cmd.join(" "))
        .with("rc", s.rc)
        .with("stdout", s.stdout.clone())
        .with("stderr", s.stderr.clone())
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let mut rp = RuleParams::from_args(args)?;
    let flush = args.bool_or("flush", false)?;
    let chain = args.str("chain");
    if !flush && chain.is_none() {
        return Err(ModuleError::Args(
            "flush is False but all of the following are missing: chain".into(),
        ));
    }
    if rp.jump.as_deref().is_some_and(|j| j == "TEE" || j == "tee") && rp.gateway.is_none() {
        return Err(ModuleError::Args(format!(
            "jump is {} but all of the following are missing: gateway",
            rp.jump.as_deref().unwrap_or_default()
        )));
    }
    for n in ["set_dscp_mark", "set_dscp_mark_class"] {
        if args.has(n) && rp.jump.is_none() {
            return Err(ModuleError::Args(format!(
                "missing parameter(s) required by '{n}': jump"
            )));
        }
    }
    let rule_text = construct(&rp).join(" ");
    let state = args.str("state").unwrap_or_else(|| "present".into());
    let present = state == "present";
    let policy = args.str("policy");
    let mode = if flush {
        Mode::Flush
    } else if policy.is_some() {
        Mode::Policy
    } else if !present && rule_text.is_empty() {
        Mode::DeleteChain
    } else if present && rule_text.is_empty() {
        Mode::CreateChain
    } else {
        Mode::Rule
    };
    if rp.log_prefix.is_some() || rp.log_level.is_some() {
        match rp.jump.as_deref() {
            None => rp.jump = Some("LOG".into()),
            Some("LOG") => {}
            Some(_) => {
                return Ok(ModuleResult::failed(
                    "Logging options can only be used with the LOG jump target.",
                ));
            }
        }
    }
    let task = Task {
        table: args.str("table").unwrap_or_else(|| "filter".into()),
        chain: chain.clone(),
        wait: args.str("wait"),
        numeric: args.bool_or("numeric", false)?,
        rule_num: args.str("rule_num"),
        insert: args.str("action").as_deref() == Some("insert"),
        present,
        policy: policy.clone(),
        chain_management: args.bool_or("chain_management", false)?,
        rule: construct(&rp),
    };
    let bins: &[&str] = match rp.ip_version.as_str() {
        "ipv6" => &["ip6tables"],
        "both" => &["iptables", "ip6tables"],
        _ => &["iptables"],
    };
    let mut r = ModuleResult::ok();
    for (k, v) in [
        ("ip_version", Value::from(rp.ip_version.clone())),
        ("table", task.table.clone().into()),
        ("chain", chain.clone().map_or(Value::Null, Value::from)),
        ("flush", flush.into()),
        ("rule", rule_text.clone().into()),
        ("state", state.clone().into()),
        ("chain_management", task.chain_management.into()),
        ("wait", task.wait.clone().map_or(Value::Null, Value::from)),
    ] {
        r.data.insert(k.into(), v);
    }
    // The probe: which tools exist, and what each one reports now.
    let mut probe = SectionScript::new();
    probe.line("export LANG=C LC_ALL=C PATH=\"$PATH:/usr/sbin:/sbin\"");
    for (i, bin) in bins.iter().enumerate() {
        probe.line(&format!(
            "if command -v {bin} >/dev/null 2>&1; then __s_val have{i} \"$(command -v {bin})\"; fi"
        ));
        match mode {
            Mode::Flush => {}
            Mode::Policy | Mode::DeleteChain | Mode::CreateChain => {
                probe.sec(&format!("l{i}"), &words(&task.list_cmd(bin)));
            }
            Mode::Rule => {
                probe.sec(&format!("c{i}"), &words(&task.cmd(bin, "-C", true)));
            }
        }
    }
    probe.line("__s_val done 1");
    let out = ctx.run(&probe.build(), None).await?;
    let secs = Sections::parse(probe.marker(), &out.stdout_str());
    if !secs.has("done") {
        return Ok(ModuleResult::failed(format!(
            "iptables probe failed: {}",
            out.stderr_str().trim()
        )));
    }
    let policy_re = regex::Regex::new(r"\(policy ([A-Z]+)\)").expect("valid");
    let mut actions: Vec<Vec<String>> = Vec::new();
    let mut changed = false;
    for (i, bin) in bins.iter().enumerate() {
        // The module runs the tool by the path `get_bin_path` found, which its `cmd` shows.
        let Some(path) = secs.val(&format!("have{i}")).map(str::trim) else {
            return Ok(ModuleResult::failed(format!(
                "Failed to find required executable \"{bin}\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            )));
        };
        let bin = &path;
        let sec = |n: &str| secs.get(&format!("{n}{i}")).cloned().unwrap_or_default();
        match mode {
            Mode::Flush => {
                changed = true;
                actions.push(task.cmd(bin, "-F", false));
            }
            Mode::Policy => {
                let l = sec("l");
                if l.rc != 0 {
                    return Ok(cmd_failure(&task.list_cmd(bin), &l));
                }
                let head = l.stdout.split('\n').next().unwrap_or("");
                let cur = policy_re.captures(head).map(|c| c[1].to_string());
                let Some(cur) = cur else {
                    return Ok(ModuleResult::failed("Can't detect current policy"));
                };
                let want = task.policy.clone().unwrap_or_default();
                if cur != want {
                    changed = true;
                    let mut c = task.cmd(bin, "-P", false);
                    c.push(want);
                    actions.push(c);
                }
            }
            Mode::DeleteChain | Mode::CreateChain => {
                let exists = sec("l").rc == 0;
                let delete = mode == Mode::DeleteChain;
                if exists == delete {
                    changed = true;
                    if task.chain_management {
                        actions.push(task.cmd(bin, if delete { "-X" } else { "-N" }, false));
                    }
                }
            }
            Mode::Rule => {
                let is_present = sec("c").rc == 0;
                if is_present != task.present {
                    changed = true;
                    let a = match (task.present, task.insert) {
                        (true, true) => "-I",
                        (true, false) => "-A",
                        (false, _) => "-D",
                    };
                    actions.push(task.cmd(bin, a, true));
                }
            }
        }
    }
    r.changed = changed;
    if ctx.check_mode || actions.is_empty() {
        return Ok(r);
    }
    let mut act = SectionScript::new();
    act.line("export LANG=C LC_ALL=C PATH=\"$PATH:/usr/sbin:/sbin\"");
    for (i, c) in actions.iter().enumerate() {
        act.sec(&format!("a{i}"), &words(c));
        act.line("[ \"$__s_r\" = 0 ] || exit 0");
    }
    let out = ctx.run(&act.build(), None).await?;
    let done = Sections::parse(act.marker(), &out.stdout_str());
    for (i, c) in actions.iter().enumerate() {
        match done.get(&format!("a{i}")) {
            Some(s) if s.rc == 0 => {}
            Some(s) => return Ok(cmd_failure(c, s)),
            None => {
                return Ok(ModuleResult::failed(format!(
                    "{} failed: {}",
                    c.join(" "),
                    out.stderr_str().trim()
                )));
            }
        }
    }
    Ok(r)
}
