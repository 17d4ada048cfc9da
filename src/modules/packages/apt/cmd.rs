//! The apt-get side shared by `apt` and `apt_repository`: the environment apt runs in, the
//! cache refresh (with Ansible's `cache_valid_time`, retries and lock wait) as a shell
//! snippet, command lines shaped like Ansible's, and the way their output comes back.
//!
//! Scripts report to strata with `__strata_KEY=VALUE` lines after a separator line, so the
//! command's own stdout can be returned untouched (Ansible returns apt-get's raw output).

use serde_json::Value;

use crate::modules::ModuleResult;
use crate::modules::toolkit::atomic_write::{parse_trailer, unhex};
use crate::shell::sh_quote;
use crate::transport::ExecOutput;

/// Ansible runs apt in the C locale (to parse its output) and never lets debconf prompt.
pub const ENV: &str = "export DEBIAN_FRONTEND=noninteractive DEBIAN_PRIORITY=critical \
     LANG=C LC_ALL=C LC_MESSAGES=C LC_CTYPE=C LANGUAGE=C\n";

/// Shell helpers: `__sx KEY VALUE` reports a value hex-encoded (it may span lines).
pub const HELPERS: &str = "__sx() { printf '__strata_%s=' \"$1\"; printf '%s' \"$2\" | od -An -v -tx1 | tr -d ' \\n'; echo; }\n";

/// Printed between a command's own stdout and strata's report lines.
pub const SEP: &str = "__strata_sep";

/// Fails early, in Ansible's words, on hosts without apt.
pub const REQUIRE_APT: &str = "command -v apt-get >/dev/null 2>&1 || { printf '\\n__strata_sep\\n__strata_noapt=1\\n'; exit 0; }\n";

/// Ansible's `expand_dpkg_options` plus the lock wait it appends (`DPkg::Lock::Timeout`).
pub fn dpkg_option_args(dpkg_options: &str, lock_timeout: i64) -> Vec<String> {
    let mut v = Vec::new();
    for o in dpkg_options.split(',') {
        v.push("-o".to_string());
        v.push(format!("Dpkg::Options::=--{o}"));
    }
    v.push("-o".into());
    v.push(format!("DPkg::Lock::Timeout={lock_timeout}"));
    v
}

/// An argv: shown to the user like Ansible's command string, run quoted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cmd(pub Vec<String>);

impl Cmd {
    pub fn new(prog: &str) -> Cmd {
        Cmd(vec![prog.to_string()])
    }
    pub fn arg(mut self, a: impl Into<String>) -> Cmd {
        self.0.push(a.into());
        self
    }
    pub fn arg_if(self, cond: bool, a: &str) -> Cmd {
        if cond { self.arg(a) } else { self }
    }
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, a: I) -> Cmd {
        self.0.extend(a.into_iter().map(Into::into));
        self
    }
    pub fn shell(&self) -> String {
        self.0
            .iter()
            .map(|a| sh_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// How the cache refresh behaves (`update_cache`, `cache_valid_time`, retries, lock wait).
#[derive(Clone, Debug)]
pub struct CacheUpdate {
    /// Refresh only when the last one is older than this many seconds (0: always).
    pub valid_time: i64,
    pub retries: i64,
    pub max_delay: i64,
    pub lock_timeout: i64,
    pub check_mode: bool,
}

/// The cache timestamp Ansible reads: apt's update-success stamp, else the lists directory.
pub const CACHE_MTIME: &str = "__mt() { if [ -e /var/lib/apt/periodic/update-success-stamp ]; then stat -c %Y /var/lib/apt/periodic/update-success-stamp; elif [ -e /var/lib/apt/lists ]; then stat -c %Y /var/lib/apt/lists; else echo 0; fi; }\n";

impl CacheUpdate {
    /// Reports `cache_updated`, `cache_time` and on failure `lockfail`/`updfail` (hex).
    /// apt-get exits 0 when an index could not be fetched (it only warns); python-apt, and so
    /// Ansible, count that as a failed update, so the warning is treated as one here too.
    /// `force` refreshes regardless of age (apt_repository after a change).
    pub fn script(&self) -> String {
        let mut s = String::from(CACHE_MTIME);
        s.push_str("__t0=$(__mt); __upd=0\n");
        s.push_str(&format!(
            "if [ {v} -le 0 ] || [ $((__t0 + {v})) -lt \"$(date +%s)\" ]; then\n",
            v = self.valid_time
        ));
        if self.check_mode {
            s.push_str("  __upd=1\n");
        } else {
            s.push_str(&format!(
                "  __try=0; __dl=$(( $(date +%s) + {lock} ))\n\
                 \x20 while :; do\n\
                 \x20   if [ {retries} -le 0 ]; then __sx updfail ''; break; fi\n\
                 \x20   if __ue=$(apt-get update -q -o DPkg::Lock::Timeout={lock} 2>&1 >/dev/null); then\n\
                 \x20     case $__ue in *'Failed to fetch'*|*'failed to download'*) ;; *) break;; esac\n\
                 \x20   fi\n\
                 \x20   case $__ue in *'Could not get lock'*)\n\
                 \x20     if [ \"$(date +%s)\" -lt \"$__dl\" ]; then sleep 1; continue; fi\n\
                 \x20     __sx lockfail \"$__ue\"; break;;\n\
                 \x20   esac\n\
                 \x20   __try=$((__try + 1))\n\
                 \x20   if [ $__try -ge {retries} ]; then __sx updfail \"$__ue\"; break; fi\n\
                 \x20   __d=$((1 << (__try - 1))); [ $__d -gt {maxd} ] && __d={maxd}; sleep $__d\n\
                 \x20 done\n\
                 \x20 __t1=$(__mt); [ \"$__t1\" != \"$__t0\" ] && __upd=1; __t0=$__t1\n",
                lock = self.lock_timeout.max(0),
                retries = self.retries,
                maxd = self.max_delay.max(0),
            ));
        }
        s.push_str(
            "fi\nprintf '__strata_cache_updated=%s\\n__strata_cache_time=%s\\n' $__upd $__t0\n",
        );
        s
    }
}

/// What a cache refresh reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheReport {
    pub updated: bool,
    pub time: i64,
    /// Ansible's failure message, when the refresh failed.
    pub error: Option<String>,
}

impl CacheReport {
    pub fn parse(keys: &std::collections::HashMap<String, String>, retries: i64) -> CacheReport {
        let text = |k: &str| keys.get(k).map(|h| hex_text(h));
        let error = if let Some(e) = text("lockfail") {
            Some(format!(
                "Failed to lock apt for exclusive operation: {}",
                e.trim()
            ))
        } else {
            text("updfail").map(|e| {
                let e = e.trim();
                format!(
                    "Failed to update apt cache after {retries} retries: {}",
                    if e.is_empty() { "unknown reason" } else { e }
                )
            })
        };
        CacheReport {
            updated: keys.get("cache_updated").is_some_and(|v| v == "1"),
            time: keys
                .get("cache_time")
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0),
            error,
        }
    }
}

pub fn hex_text(h: &str) -> String {
    String::from_utf8_lossy(&unhex(h).unwrap_or_default()).into_owned()
}

/// A script's output split at [`SEP`]: the command's own stdout, and strata's report keys.
pub struct Reported {
    pub stdout: String,
    pub keys: std::collections::HashMap<String, String>,
}

pub fn split_report(out: &ExecOutput) -> Reported {
    let text = out.stdout_str();
    let marker = format!("\n{SEP}\n");
    match text.rfind(&marker) {
        Some(i) => Reported {
            stdout: text[..i].to_string(),
            keys: parse_trailer(&text.as_bytes()[i + marker.len()..]),
        },
        None => Reported {
            stdout: text.clone(),
            keys: parse_trailer(text.as_bytes()),
        },
    }
}

/// apt names the process holding a dpkg lock only in its "Waiting for cache lock" progress
/// lines on stdout; its error on stderr just says the lock could not be acquired. This adds
/// the holder to a failure message, so the user sees who held the lock.
pub fn with_lock_holder(msg: String, stdout: &str) -> String {
    let holder = stdout
        .lines()
        .rev()
        .flat_map(|l| l.split('\r'))
        .find(|l| l.contains("Could not get lock"));
    match holder {
        Some(l) => {
            let l = l.trim();
            let l = l
                .strip_prefix("Waiting for cache lock:")
                .unwrap_or(l)
                .trim();
            format!("{} ({})", msg.trim_end(), l.trim_end_matches('.'))
        }
        None => msg,
    }
}

/// Runs `cmd` with `/usr/sbin/policy-rc.d` forced to exit `code` (Ansible's `policy_rc_d`),
/// restoring whatever was there afterwards.
pub fn with_policy_rc_d(cmd: &str, code: Option<i64>) -> String {
    let Some(code) = code else {
        return format!("{cmd}\n__rc=$?\n");
    };
    format!(
        "__prc=/usr/sbin/policy-rc.d; __pbk=\n\
         if [ -e $__prc ]; then __pbk=$(mktemp -d) && mv -f $__prc \"$__pbk/\"; fi\n\
         printf '#!/bin/sh\\nexit %d\\n' {code} > $__prc && chmod 0755 $__prc\n\
         {cmd}\n__rc=$?\n\
         if [ -n \"$__pbk\" ]; then mv -f \"$__pbk/policy-rc.d\" $__prc; rmdir \"$__pbk\"; else rm -f $__prc; fi\n"
    )
}

/// Adds Ansible's `stdout`/`stderr` keys (raw, as apt printed them) and their `_lines`
/// (split like Python's `splitlines`, so dpkg's `\r` progress lines are separate).
pub fn with_streams(mut r: ModuleResult, stdout: &str, stderr: &str) -> ModuleResult {
    let lines = |s: &str| Value::Array(crate::values::splitlines(s));
    r.data.insert("stdout".into(), stdout.into());
    r.data.insert("stderr".into(), stderr.into());
    r.data.insert("stdout_lines".into(), lines(stdout));
    r.data.insert("stderr_lines".into(), lines(stderr));
    r
}

/// What apt tasks answer on a host without apt-get.
pub fn no_apt() -> ModuleResult {
    ModuleResult::failed(
        "apt-get was not found on the host: the apt module manages Debian-family systems only",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::LocalShell;
    use crate::transport::Transport;

    #[test]
    fn dpkg_options_expand_like_ansible() {
        assert_eq!(
            dpkg_option_args("force-confdef,force-confold", 60),
            vec![
                "-o",
                "Dpkg::Options::=--force-confdef",
                "-o",
                "Dpkg::Options::=--force-confold",
                "-o",
                "DPkg::Lock::Timeout=60"
            ]
        );
    }

    #[test]
    fn names_the_lock_holder() {
        let out = "Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 2123 (python3)...\n";
        assert_eq!(
            with_lock_holder(
                "'apt-get install x' failed: E: Unable to acquire the dpkg frontend lock".into(),
                out
            ),
            "'apt-get install x' failed: E: Unable to acquire the dpkg frontend lock \
             (Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 2123 (python3))"
        );
        assert_eq!(with_lock_holder("m".into(), "ok\n"), "m");
    }

    #[tokio::test]
    async fn report_survives_output_without_newline() {
        let script = format!(
            "{HELPERS}printf 'apt output'\nprintf '\\n{SEP}\\n'\n__sx msg 'two\nlines'\necho __strata_rc=3\n"
        );
        let out = LocalShell.exec(&script, None).await.unwrap();
        let r = split_report(&out);
        assert_eq!(r.stdout, "apt output");
        assert_eq!(hex_text(&r.keys["msg"]), "two\nlines");
        assert_eq!(r.keys["rc"], "3");
    }

    #[tokio::test]
    async fn check_mode_cache_update_touches_nothing() {
        // In check mode the snippet only compares times: safe to run on any machine.
        let cu = CacheUpdate {
            valid_time: 0,
            retries: 5,
            max_delay: 12,
            lock_timeout: 60,
            check_mode: true,
        };
        let out = LocalShell
            .exec(&format!("{HELPERS}{}", cu.script()), None)
            .await
            .unwrap();
        let r = CacheReport::parse(&split_report(&out).keys, 5);
        assert!(r.updated && r.error.is_none());
        let fresh = CacheUpdate {
            valid_time: i64::from(i32::MAX),
            ..cu
        };
        let out = LocalShell
            .exec(&format!("{HELPERS}{}", fresh.script()), None)
            .await
            .unwrap();
        let r = CacheReport::parse(&split_report(&out).keys, 5);
        assert!(!r.updated, "a fresh cache is not refreshed");
    }

    #[tokio::test]
    async fn policy_rc_d_wrapper_runs_the_command() {
        let out = LocalShell
            .exec(
                &format!("{}echo rc=$__rc", with_policy_rc_d("false", None)),
                None,
            )
            .await
            .unwrap();
        assert_eq!(out.stdout_str().trim(), "rc=1");
    }
}
