//! `wait_for`: waits on the target for a TCP port, a file, a regex in either, or for a port's
//! connections to drain, as one remote `sh` polling loop (one round trip however long the
//! wait). TCP connects use bash's `/dev/tcp` under `timeout`, or `nc -z` where bash is
//! missing. Regexes are matched remotely with `grep -P` (Perl syntax, closest to Python's),
//! falling back to `grep -E`; `match_groups` are then computed from the matching line.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::modules::toolkit::sh_words::ShWords;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct WaitFor;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "wait_for",
    params: &[
        Param::new("host", T::Str),
        Param::new("port", T::Int),
        Param::new("path", T::Str),
        Param::new("state", T::Str)
            .choices(&["started", "stopped", "present", "absent", "drained"]),
        Param::new("timeout", T::Int),
        Param::new("delay", T::Int),
        Param::new("sleep", T::Float),
        Param::new("connect_timeout", T::Int),
        Param::new("search_regex", T::Str),
        Param::new("exclude_hosts", T::List),
        Param::new("active_connection_states", T::List),
        Param::new("msg", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["port", "path"]],
    required_one_of: &[],
    any_params: false,
};

impl Module for WaitFor {
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

/// Linux `/proc/net/tcp` state codes by name.
const TCP_STATES: &[(&str, &str)] = &[
    ("ESTABLISHED", "01"),
    ("SYN_SENT", "02"),
    ("SYN_RECV", "03"),
    ("FIN_WAIT1", "04"),
    ("FIN_WAIT2", "05"),
    ("TIME_WAIT", "06"),
    ("CLOSE", "07"),
    ("CLOSE_WAIT", "08"),
    ("LAST_ACK", "09"),
    ("LISTEN", "0A"),
    ("CLOSING", "0B"),
];
const ACTIVE_DEFAULT: &[&str] = &[
    "ESTABLISHED",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "SYN_RECV",
    "SYN_SENT",
    "TIME_WAIT",
];

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let host = args.str("host").unwrap_or_else(|| "127.0.0.1".into());
    let port = args.int("port")?;
    let path = args.str("path");
    let state = args.str("state").unwrap_or_else(|| "started".into());
    let timeout = args.int("timeout")?.unwrap_or(300).max(0);
    let delay = args.int("delay")?.unwrap_or(0).max(0);
    let sleep = args.float("sleep")?.unwrap_or(1.0).max(0.0);
    let connect_timeout = args.int("connect_timeout")?.unwrap_or(5).max(1);
    let regex = args.str("search_regex");
    let exclude = args.str_list("exclude_hosts")?;
    let msg = args.str("msg");

    let usage = |m: &str| Ok(ModuleResult::failed(m));
    if port.is_some() && path.is_some() {
        return usage("port and path parameter can not both be passed to wait_for");
    }
    if path.is_some() && matches!(state.as_str(), "stopped" | "drained") {
        return usage(&format!(
            "state={state} should only be used for checking a port in the wait_for module"
        ));
    }
    if exclude.is_some() && state != "drained" {
        return usage("exclude_hosts should only be with state=drained");
    }
    let states = args
        .str_list("active_connection_states")?
        .unwrap_or_else(|| ACTIVE_DEFAULT.iter().map(|s| s.to_string()).collect());
    let mut codes = Vec::new();
    for s in &states {
        match TCP_STATES.iter().find(|(n, _)| n == s) {
            Some((_, code)) => codes.push(*code),
            None => return usage(&format!("unknown active_connection_state ({s}) defined")),
        }
    }

    let started = Instant::now();
    let base = ModuleResult::ok()
        .with("state", state.clone())
        .with("port", port)
        .with("path", path.clone())
        .with("search_regex", regex.clone())
        .with("match_groups", Value::Array(vec![]))
        .with("match_groupdict", Value::Object(Map::new()));
    if port.is_none() && path.is_none() && state != "drained" {
        tokio::time::sleep(Duration::from_secs((delay + timeout) as u64)).await;
        return Ok(base.with("elapsed", started.elapsed().as_secs()));
    }

    // `path` is a path-type option: `~` and `$VARS` expand on the target, as in Ansible.
    let mut words = ShWords::default();
    let check = match (&path, port) {
        (Some(p), _) => path_check(&words.word(p, true, false), &state, regex.as_deref()),
        (None, Some(p)) if state == "drained" => {
            match drained_check(&host, p, &codes, exclude.as_deref().unwrap_or(&[])) {
                Ok(c) => c,
                Err(e) => return usage(&e),
            }
        }
        (None, Some(_)) => port_check(&state, regex.as_deref()),
        (None, None) => return usage("state=drained needs a port"),
    };
    let script = format!(
        "{}__end=$(( $(date +%s) + {timeout} ))\n{}\
         __left() {{ echo $(( __end - $(date +%s) )); }}\n\
         __G='grep -E'; echo x | grep -qP x 2>/dev/null && __G='grep -P'\n\
         __ct={connect_timeout}\n__host={}\n__port={}\n__re={}\n{PROBE}\
         while :; do\n  __l=$(__left); [ \"$__l\" -gt 0 ] || {{ echo timeout; exit 0; }}\n  [ \"$__l\" -lt \"$__ct\" ] && __ct=$__l\n{check}  sleep {sleep}\ndone\n",
        words.setup(),
        if delay > 0 {
            format!("sleep {delay}\n")
        } else {
            String::new()
        },
        sh_quote(&host),
        port.unwrap_or(0),
        sh_quote(regex.as_deref().unwrap_or("")),
    );
    let out = ctx.run(&script, None).await?;
    let elapsed = started.elapsed().as_secs();
    let text = out.stdout_str();
    let (status, matched) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    match status {
        "ok" => {
            let mut r = base.with("elapsed", elapsed);
            if let Some(re) = regex.as_deref() {
                let (groups, dict) = match_groups(re, matched);
                r = r.with("match_groups", groups).with("match_groupdict", dict);
            }
            Ok(r)
        }
        "timeout" => {
            let what = match (&path, port) {
                (Some(p), _) if matches!(state.as_str(), "absent") => format!("{p} to be absent."),
                (Some(p), _) => match &regex {
                    Some(re) => format!("search string {re} in {p}"),
                    None => format!("file {p}"),
                },
                (None, _) if state == "stopped" => format!("{host}:{} to stop.", port.unwrap_or(0)),
                (None, _) if state == "drained" => format!("{host}:{} to drain", port.unwrap_or(0)),
                (None, _) => match &regex {
                    Some(re) => format!("search string {re} in {host}:{}", port.unwrap_or(0)),
                    None => format!("{host}:{}", port.unwrap_or(0)),
                },
            };
            let m = msg.unwrap_or_else(|| format!("Timeout when waiting for {what}"));
            Ok(ModuleResult::failed(m).with("elapsed", elapsed))
        }
        "noprobe" => usage(
            "wait_for needs bash and timeout (or nc, without search_regex) on the target to test TCP ports",
        ),
        _ => Ok(ModuleResult::failed(format!(
            "wait_for: unexpected output from the target (rc {}): {}",
            out.rc,
            out.stderr_str().trim()
        ))
        .with("elapsed", elapsed)),
    }
}

/// Picks the TCP tool (bash's `/dev/tcp` under `timeout`, else `nc -z`) and defines
/// `__connect SECONDS`, one connection attempt. Without either tool the loop reports
/// `noprobe` instead of waiting out the timeout.
const PROBE: &str = r#"if command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then __tcp=bash
elif command -v nc >/dev/null 2>&1; then __tcp=nc
else __tcp=; fi
__connect() {
  case $__tcp in
    bash) timeout "$1" bash -c ': 3<>"/dev/tcp/$0/$1"' "$__host" "$__port" 2>/dev/null </dev/null ;;
    nc) nc -z -w "$1" "$__host" "$__port" >/dev/null 2>&1 </dev/null ;;
    *) echo noprobe; exit 0 ;;
  esac
}
"#;

/// Loop body for a file (`p` is its sh word): `ok` plus the first matching line when the
/// condition holds.
fn path_check(p: &str, state: &str, regex: Option<&str>) -> String {
    match (state, regex) {
        ("absent", _) => format!("  [ -e {p} ] || {{ echo ok; exit 0; }}\n"),
        (_, None) => format!("  [ -e {p} ] && {{ echo ok; exit 0; }}\n"),
        (_, Some(_)) => format!(
            "  if [ -e {p} ] && $__G -q -- \"$__re\" {p} 2>/dev/null; then echo ok; $__G -m1 -- \"$__re\" {p}; exit 0; fi\n"
        ),
    }
}

/// Loop body for a port. With a regex, the peer's data is collected in the background and
/// polled, because a server that sends a banner and keeps the connection open (sshd) would
/// otherwise hold the loop until the timeout.
fn port_check(state: &str, regex: Option<&str>) -> String {
    match (state, regex) {
        ("stopped" | "absent", _) => "  __connect \"$__ct\" || { echo ok; exit 0; }\n".into(),
        (_, None) => "  __connect \"$__ct\" && { echo ok; exit 0; }\n".into(),
        // `$!` is `timeout` itself (a simple command is exec'd), and timeout passes the
        // TERM on to the reader, so nothing outlives the loop.
        (_, Some(_)) => r#"  [ "$__tcp" = bash ] || { echo noprobe; exit 0; }
  __f=$(mktemp) || exit 1
  timeout "$__l" bash -c 'exec 3<>"/dev/tcp/$0/$1" && exec cat <&3' "$__host" "$__port" >"$__f" 2>/dev/null </dev/null &
  __p=$!
  while :; do
    # Liveness first, so the last grep after the reader ends still sees everything it read.
    __alive=1; kill -0 $__p 2>/dev/null || __alive=
    if $__G -q -- "$__re" "$__f" 2>/dev/null; then
      kill $__p 2>/dev/null; echo ok; $__G -m1 -- "$__re" "$__f"; rm -f "$__f"; exit 0
    fi
    [ -n "$__alive" ] || break
    sleep 0.1 2>/dev/null || sleep 1
  done
  wait $__p; rm -f "$__f"
"#
        .into(),
    }
}

/// Loop body for `state=drained`: no connection on `port` (local side, on `host` unless it is
/// a wildcard address) in one of the active states, ignoring `exclude_hosts` peers.
fn drained_check(
    host: &str,
    port: i64,
    codes: &[&str],
    exclude: &[String],
) -> Result<String, String> {
    let locals = match host {
        "0.0.0.0" | "::" => "[0-9A-F]+".to_string(),
        "localhost" => format!(
            "({}|{})",
            proc_hex("127.0.0.1".parse().unwrap()),
            proc_hex("::1".parse().unwrap())
        ),
        h => {
            let ip: IpAddr = h
                .parse()
                .map_err(|_| format!("state=drained needs host to be an IP address, not '{h}'"))?;
            proc_hex(ip)
        }
    };
    let mut excl = Vec::new();
    for h in exclude {
        let ip: IpAddr = h
            .parse()
            .map_err(|_| format!("exclude_hosts must be IP addresses, not '{h}'"))?;
        excl.push(proc_hex(ip));
    }
    let active = format!(
        "^ *[0-9]+: {locals}:{port:04X} [0-9A-F]+:[0-9A-F]{{4}} ({}) ",
        codes.join("|")
    );
    let skip = if excl.is_empty() {
        "^$".to_string()
    } else {
        format!("^ *[0-9]+: [0-9A-F]+:[0-9A-F]{{4}} ({}):", excl.join("|"))
    };
    Ok(format!(
        "  __n=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -E {} | grep -Evc {})\n  [ \"$__n\" = 0 ] && {{ echo ok; exit 0; }}\n",
        sh_quote(&active),
        sh_quote(&skip)
    ))
}

/// An address as `/proc/net/tcp{,6}` prints it: 32-bit words in host (little-endian) order;
/// an IPv4 address also matches its IPv4-mapped IPv6 form.
fn proc_hex(ip: IpAddr) -> String {
    let words = |b: &[u8]| {
        b.chunks(4)
            .map(|w| format!("{:02X}{:02X}{:02X}{:02X}", w[3], w[2], w[1], w[0]))
            .collect::<String>()
    };
    match ip {
        IpAddr::V4(v4) => {
            let w = words(&v4.octets());
            format!("({w}|0000000000000000FFFF0000{w})")
        }
        IpAddr::V6(v6) => words(&v6.octets()),
    }
}

/// Python's `match.groups()` and `match.groupdict()` for the matching text.
fn match_groups(re: &str, text: &str) -> (Value, Value) {
    let Ok(rx) = regex::RegexBuilder::new(re).multi_line(true).build() else {
        return (Value::Array(vec![]), Value::Object(Map::new()));
    };
    let Some(caps) = rx.captures(text) else {
        return (Value::Array(vec![]), Value::Object(Map::new()));
    };
    let groups = caps
        .iter()
        .skip(1)
        .map(|m| m.map_or(Value::Null, |m| m.as_str().into()))
        .collect();
    let dict = rx
        .capture_names()
        .flatten()
        .map(|n| {
            (
                n.to_string(),
                caps.name(n).map_or(Value::Null, |m| m.as_str().into()),
            )
        })
        .collect();
    (Value::Array(groups), Value::Object(dict))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Harness, Scratch, get};
    use serde_json::json;
    use std::io::Write;
    use std::net::TcpListener;

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[tokio::test]
    async fn port_started_and_stopped() {
        let h = Harness::new();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let r = h.run(&WaitFor, json!({"port": port, "timeout": 10})).await;
        assert!(!r.failed && !r.changed, "{r:?}");
        assert_eq!(
            (get(&r, "elapsed"), get(&r, "state"), get(&r, "port")),
            (&json!(0), &json!("started"), &json!(port))
        );
        assert_eq!(
            (get(&r, "path"), get(&r, "match_groups")),
            (&Value::Null, &json!([]))
        );
        let r = h
            .run(
                &WaitFor,
                json!({"port": port, "state": "stopped", "timeout": 2}),
            )
            .await;
        assert!(r.failed);
        assert_eq!(
            r.msg,
            Some(format!(
                "Timeout when waiting for 127.0.0.1:{port} to stop."
            ))
        );
        drop(l);
        let r = h
            .run(
                &WaitFor,
                json!({"port": port, "state": "stopped", "timeout": 10}),
            )
            .await;
        assert!(!r.failed, "{r:?}");
    }

    #[tokio::test]
    async fn port_timeout_fails_like_ansible() {
        let port = free_port();
        let t = Instant::now();
        let r = Harness::new()
            .run(&WaitFor, json!({"port": port, "timeout": 2, "sleep": 0.5}))
            .await;
        assert!(r.failed && !r.changed);
        assert_eq!(
            r.msg,
            Some(format!("Timeout when waiting for 127.0.0.1:{port}"))
        );
        assert!(
            t.elapsed() >= Duration::from_secs(1) && t.elapsed() < Duration::from_secs(6),
            "{:?}",
            t.elapsed()
        );
        assert!(get(&r, "elapsed").as_u64().unwrap() >= 1);
        let r = Harness::new()
            .run(
                &WaitFor,
                json!({"port": port, "timeout": 1, "msg": "custom"}),
            )
            .await;
        assert_eq!(r.msg.as_deref(), Some("custom"));
    }

    #[tokio::test]
    async fn port_search_regex_on_a_banner_that_stays_open() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            c.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n").unwrap();
            std::thread::sleep(Duration::from_secs(8));
        });
        let t = Instant::now();
        let args = json!({"port": port, "search_regex": "OpenSSH_(\\d+)\\.(?P<minor>\\d+)", "timeout": 20});
        let r = Harness::new().run(&WaitFor, args).await;
        assert!(!r.failed, "{r:?}");
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "waited {:?}",
            t.elapsed()
        );
        assert_eq!(get(&r, "match_groups"), &json!(["9", "2"]));
        assert_eq!(get(&r, "match_groupdict"), &json!({"minor": "2"}));
    }

    #[tokio::test]
    async fn files_present_absent_and_regex() {
        let d = Scratch::new("waitfor");
        let f = d.s("ready");
        let f2 = f.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1200));
            std::fs::write(&f2, "booting\nstatus: ready port=8080\n").unwrap();
        });
        let h = Harness::new();
        let r = h
            .run(
                &WaitFor,
                json!({"path": f, "search_regex": "port=(\\d+)", "timeout": 10}),
            )
            .await;
        assert!(!r.failed, "{r:?}");
        assert!(get(&r, "elapsed").as_u64().unwrap() >= 1);
        assert_eq!(
            (get(&r, "match_groups"), get(&r, "path")),
            (&json!(["8080"]), &json!(f))
        );
        let r = h
            .run(
                &WaitFor,
                json!({"path": f, "state": "present", "timeout": 5}),
            )
            .await;
        assert!(!r.failed);
        let r = h
            .run(
                &WaitFor,
                json!({"path": f, "search_regex": "never", "timeout": 1}),
            )
            .await;
        assert_eq!(
            r.msg,
            Some(format!(
                "Timeout when waiting for search string never in {f}"
            ))
        );
        let r = h
            .run(
                &WaitFor,
                json!({"path": f, "state": "absent", "timeout": 1}),
            )
            .await;
        assert_eq!(
            r.msg,
            Some(format!("Timeout when waiting for {f} to be absent."))
        );
        let r = h
            .run(&WaitFor, json!({"path": d.s("none"), "timeout": 1}))
            .await;
        assert_eq!(
            r.msg,
            Some(format!("Timeout when waiting for file {}", d.s("none")))
        );
        let r = h
            .run(&WaitFor, json!({"path": d.s("none"), "state": "absent"}))
            .await;
        assert!(!r.failed);
    }

    #[tokio::test]
    async fn drained_waits_for_connections_to_close() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (server, _) = l.accept().unwrap();
        let h = Harness::new();
        let r = h
            .run(
                &WaitFor,
                json!({"port": port, "state": "drained", "timeout": 1}),
            )
            .await;
        assert_eq!(
            r.msg,
            Some(format!(
                "Timeout when waiting for 127.0.0.1:{port} to drain"
            ))
        );
        let r = h.run(&WaitFor, json!({"port": port, "state": "drained", "timeout": 1, "exclude_hosts": ["127.0.0.1"]})).await;
        assert!(!r.failed, "{r:?}");
        drop(client);
        drop(server);
        let r = h
            .run(
                &WaitFor,
                json!({"port": port, "state": "drained", "host": "0.0.0.0", "timeout": 5}),
            )
            .await;
        assert!(!r.failed, "{r:?}");
    }

    #[tokio::test]
    async fn argument_errors() {
        let h = Harness::new();
        let r = h.run(&WaitFor, json!({"port": 1, "path": "/x"})).await;
        assert_eq!(
            r.msg.as_deref(),
            Some("port and path parameter can not both be passed to wait_for")
        );
        let r = h
            .run(&WaitFor, json!({"path": "/x", "state": "stopped"}))
            .await;
        assert_eq!(
            r.msg.as_deref(),
            Some("state=stopped should only be used for checking a port in the wait_for module")
        );
        let r = h
            .run(
                &WaitFor,
                json!({"port": 1, "active_connection_states": ["BOGUS"], "state": "drained"}),
            )
            .await;
        assert_eq!(
            r.msg.as_deref(),
            Some("unknown active_connection_state (BOGUS) defined")
        );
        let r = h.run(&WaitFor, json!({"timeout": 0})).await;
        assert!(!r.failed && get(&r, "elapsed") == 0);
    }

    #[test]
    fn proc_net_addresses() {
        assert_eq!(
            proc_hex("127.0.0.1".parse().unwrap()),
            "(0100007F|0000000000000000FFFF00000100007F)"
        );
        assert_eq!(
            proc_hex("::1".parse().unwrap()),
            "00000000000000000000000001000000"
        );
    }
}
