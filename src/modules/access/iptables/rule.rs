//! ansible.builtin.iptables' rule building, ported argument for argument: the same flags in
//! the same order (so `rule` in the result and the `-C` check read the same), the implicit
//! `-m` matches it adds, and `!` negation of a value.

use crate::modules::{Args, ModuleError};

/// The parameters a rule is built from, as the module's `params` dict holds them.
#[derive(Clone, Debug, Default)]
pub struct RuleParams {
    pub ip_version: String,
    pub protocol: Option<String>,
    pub source: Option<String>,
    pub destination: Option<String>,
    pub matches: Vec<String>,
    pub tcp_flags: Option<(Vec<String>, Vec<String>)>,
    pub jump: Option<String>,
    pub gateway: Option<String>,
    pub log_prefix: Option<String>,
    pub log_level: Option<String>,
    pub to_destination: Option<String>,
    pub destination_ports: Vec<String>,
    pub to_source: Option<String>,
    pub goto: Option<String>,
    pub in_interface: Option<String>,
    pub out_interface: Option<String>,
    pub fragment: Option<String>,
    pub set_counters: Option<String>,
    pub source_port: Option<String>,
    pub destination_port: Option<String>,
    pub to_ports: Option<String>,
    pub set_dscp_mark: Option<String>,
    pub set_dscp_mark_class: Option<String>,
    pub syn: String,
    pub ctstate: Vec<String>,
    pub src_range: Option<String>,
    pub dst_range: Option<String>,
    pub match_set: Option<String>,
    pub match_set_flags: Option<String>,
    pub limit: Option<String>,
    pub limit_burst: Option<String>,
    pub uid_owner: Option<String>,
    pub gid_owner: Option<String>,
    pub reject_with: Option<String>,
    pub icmp_type: Option<String>,
    pub comment: Option<String>,
}

/// A `type: str` parameter: given values become text (`22` → `"22"`).
fn s(args: &Args, n: &str) -> Option<String> {
    args.str(n)
}

fn list(args: &Args, n: &str) -> Result<Vec<String>, ModuleError> {
    Ok(args.str_list(n)?.unwrap_or_default())
}

impl RuleParams {
    pub fn from_args(args: &Args) -> Result<RuleParams, ModuleError> {
        let tcp_flags = match args.dict("tcp_flags")? {
            None => None,
            Some(m) => {
                let l = |k: &str| -> Option<Vec<String>> {
                    let v = m.get(k)?;
                    Some(match v {
                        serde_json::Value::Array(a) => a
                            .iter()
                            .map(|x| x.as_str().map_or(x.to_string(), String::from))
                            .collect(),
                        serde_json::Value::String(s) => {
                            s.split(',').map(|p| p.trim().to_string()).collect()
                        }
                        serde_json::Value::Null => return None,
                        x => vec![x.to_string()],
                    })
                };
                match (l("flags"), l("flags_set")) {
                    (Some(f), Some(fs)) => Some((f, fs)),
                    _ => None,
                }
            }
        };
        Ok(RuleParams {
            ip_version: s(args, "ip_version").unwrap_or_else(|| "ipv4".into()),
            protocol: s(args, "protocol"),
            source: s(args, "source"),
            destination: s(args, "destination"),
            matches: list(args, "match")?,
            tcp_flags,
            jump: s(args, "jump"),
            gateway: s(args, "gateway"),
            log_prefix: s(args, "log_prefix"),
            log_level: s(args, "log_level"),
            to_destination: s(args, "to_destination"),
            destination_ports: list(args, "destination_ports")?,
            to_source: s(args, "to_source"),
            goto: s(args, "goto"),
            in_interface: s(args, "in_interface"),
            out_interface: s(args, "out_interface"),
            fragment: s(args, "fragment"),
            set_counters: s(args, "set_counters"),
            source_port: s(args, "source_port"),
            destination_port: s(args, "destination_port"),
            to_ports: s(args, "to_ports"),
            set_dscp_mark: s(args, "set_dscp_mark"),
            set_dscp_mark_class: s(args, "set_dscp_mark_class"),
            syn: s(args, "syn").unwrap_or_else(|| "ignore".into()),
            ctstate: list(args, "ctstate")?,
            src_range: s(args, "src_range"),
            dst_range: s(args, "dst_range"),
            match_set: s(args, "match_set"),
            match_set_flags: s(args, "match_set_flags"),
            limit: s(args, "limit"),
            limit_burst: s(args, "limit_burst"),
            uid_owner: s(args, "uid_owner"),
            gid_owner: s(args, "gid_owner"),
            reject_with: s(args, "reject_with"),
            icmp_type: s(args, "icmp_type"),
            comment: s(args, "comment"),
        })
    }
}

/// `append_param`: `flag value`, or `! flag value` for a value starting with `!`.
fn param(r: &mut Vec<String>, v: &Option<String>, flag: &str) {
    if let Some(v) = v {
        match v.strip_prefix('!') {
            Some(rest) if !v.is_empty() => r.extend(["!".into(), flag.into(), rest.into()]),
            _ => r.extend([flag.into(), v.clone()]),
        }
    }
}

fn truthy(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.is_empty())
}

fn add_match(r: &mut Vec<String>, cond: bool, m: &str) {
    if cond {
        r.extend(["-m".into(), m.into()]);
    }
}

fn csv(r: &mut Vec<String>, v: &[String], flag: &str) {
    if !v.is_empty() {
        r.extend([flag.into(), v.join(",")]);
    }
}

/// `append_match_flag`: `flag` for `match`, `! flag` for `negate` when negatable.
fn match_flag(r: &mut Vec<String>, v: &str, flag: &str, negatable: bool) {
    if v == "match" {
        r.push(flag.into());
    } else if negatable && v == "negate" {
        r.extend(["!".into(), flag.into()]);
    }
}

/// `construct_rule`.
pub fn construct(p: &RuleParams) -> Vec<String> {
    let mut r: Vec<String> = Vec::new();
    let has = |m: &str| p.matches.iter().any(|x| x == m);
    param(&mut r, &p.protocol, "-p");
    param(&mut r, &p.source, "-s");
    param(&mut r, &p.destination, "-d");
    for m in &p.matches {
        param(&mut r, &Some(m.clone()), "-m");
    }
    if let Some((f, fs)) = &p.tcp_flags {
        r.extend(["--tcp-flags".into(), f.join(","), fs.join(",")]);
    }
    param(&mut r, &p.jump, "-j");
    if p.jump
        .as_deref()
        .is_some_and(|j| j.eq_ignore_ascii_case("tee"))
    {
        param(&mut r, &p.gateway, "--gateway");
    }
    param(&mut r, &p.log_prefix, "--log-prefix");
    param(&mut r, &p.log_level, "--log-level");
    param(&mut r, &p.to_destination, "--to-destination");
    add_match(&mut r, !p.destination_ports.is_empty(), "multiport");
    csv(&mut r, &p.destination_ports, "--dports");
    param(&mut r, &p.to_source, "--to-source");
    param(&mut r, &p.goto, "-g");
    param(&mut r, &p.in_interface, "-i");
    param(&mut r, &p.out_interface, "-o");
    param(&mut r, &p.fragment, "-f");
    param(&mut r, &p.set_counters, "-c");
    param(&mut r, &p.source_port, "--source-port");
    param(&mut r, &p.destination_port, "--destination-port");
    param(&mut r, &p.to_ports, "--to-ports");
    param(&mut r, &p.set_dscp_mark, "--set-dscp");
    let jump_not_dscp = !p
        .jump
        .as_deref()
        .is_some_and(|j| j.eq_ignore_ascii_case("dscp"));
    if truthy(&p.set_dscp_mark) && jump_not_dscp {
        r.extend(["-j".into(), "DSCP".into()]);
    }
    param(&mut r, &p.set_dscp_mark_class, "--set-dscp-class");
    if truthy(&p.set_dscp_mark_class) && jump_not_dscp {
        r.extend(["-j".into(), "DSCP".into()]);
    }
    match_flag(&mut r, &p.syn, "--syn", true);
    if has("conntrack") {
        csv(&mut r, &p.ctstate, "--ctstate");
    } else if has("state") {
        csv(&mut r, &p.ctstate, "--state");
    } else if !p.ctstate.is_empty() {
        add_match(&mut r, true, "conntrack");
        csv(&mut r, &p.ctstate, "--ctstate");
    }
    if has("iprange") {
        param(&mut r, &p.src_range, "--src-range");
        param(&mut r, &p.dst_range, "--dst-range");
    } else if truthy(&p.src_range) || truthy(&p.dst_range) {
        add_match(&mut r, true, "iprange");
        param(&mut r, &p.src_range, "--src-range");
        param(&mut r, &p.dst_range, "--dst-range");
    }
    // `append_match_flag(rule, 'match', match_set_flags)`: the flags follow the set's name.
    if has("set") {
        param(&mut r, &p.match_set, "--match-set");
        r.extend(p.match_set_flags.clone());
    } else if truthy(&p.match_set) {
        add_match(&mut r, true, "set");
        param(&mut r, &p.match_set, "--match-set");
        r.extend(p.match_set_flags.clone());
    }
    add_match(&mut r, truthy(&p.limit) || truthy(&p.limit_burst), "limit");
    param(&mut r, &p.limit, "--limit");
    param(&mut r, &p.limit_burst, "--limit-burst");
    for (v, flag) in [(&p.uid_owner, "--uid-owner"), (&p.gid_owner, "--gid-owner")] {
        add_match(&mut r, truthy(v), "owner");
        match_flag(&mut r, v.as_deref().unwrap_or(""), flag, true);
        param(&mut r, v, flag);
    }
    if p.jump.is_none() {
        if truthy(&p.reject_with) {
            r.extend(["-j".into(), "REJECT".into()]);
        }
        if truthy(&p.set_dscp_mark_class) {
            r.extend(["-j".into(), "DSCP".into()]);
        }
        if truthy(&p.set_dscp_mark) {
            r.extend(["-j".into(), "DSCP".into()]);
        }
    }
    param(&mut r, &p.reject_with, "--reject-with");
    if let Some(t) = &p.icmp_type {
        let flag = match p.ip_version.as_str() {
            "ipv6" => "--icmpv6-type",
            "both" => "--icmp-type --icmpv6-type",
            _ => "--icmp-type",
        };
        param(&mut r, &Some(t.clone()), flag);
    }
    add_match(&mut r, truthy(&p.comment), "comment");
    param(&mut r, &p.comment, "--comment");
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_built_in_the_modules_order() {
        let p = RuleParams {
            ip_version: "ipv4".into(),
            protocol: Some("tcp".into()),
            source: Some("!10.0.0.0/8".into()),
            destination_ports: vec!["80".into(), "443".into()],
            ctstate: vec!["NEW".into(), "ESTABLISHED".into()],
            jump: Some("ACCEPT".into()),
            comment: Some("web".into()),
            syn: "ignore".into(),
            ..Default::default()
        };
        assert_eq!(
            construct(&p).join(" "),
            "-p tcp ! -s 10.0.0.0/8 -j ACCEPT -m multiport --dports 80,443 -m conntrack --ctstate NEW,ESTABLISHED -m comment --comment web"
        );
        let q = RuleParams {
            reject_with: Some("tcp-reset".into()),
            uid_owner: Some("1000".into()),
            syn: "match".into(),
            ..Default::default()
        };
        assert_eq!(
            construct(&q).join(" "),
            "--syn -m owner --uid-owner 1000 -j REJECT --reject-with tcp-reset"
        );
    }
}
