//! `known_hosts` (ansible.builtin.known_hosts): one host's key in an SSH known_hosts file.
//! As in Ansible, the host's `ssh-keygen -F` finds the host's lines (hashed ones too) and
//! their line numbers, and the decision is a port of `search_for_host_key`: the same key is
//! left alone, a different key of the same type is replaced in place of the old line, a new
//! type is appended. Hashing (`hash_host`) happens on the controller with a fresh HMAC salt.

use base64::Engine;
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use serde_json::Value;

use super::keyfile::{Probe, Write, first, write};
use crate::events::FileDiff;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct KnownHosts;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "known_hosts",
    params: &[
        Param::new("name", T::Str).required().aliases(&["host"]),
        Param::new("key", T::Str),
        Param::new("path", T::Str),
        Param::new("hash_host", T::Bool),
        Param::new("state", T::Str).choices(&["absent", "present"]),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for KnownHosts {
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

/// A known_hosts line reduced to what Ansible compares (`normalize_known_hosts_key`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostKey {
    pub marker: Option<String>,
    pub host: String,
    pub ty: String,
    pub key: String,
}

impl HostKey {
    pub fn parse(line: &str) -> Option<HostKey> {
        let k: Vec<&str> = line.split_whitespace().collect();
        let (marker, rest) = match k.first() {
            Some(m) if m.starts_with('@') => (Some(m.to_string()), &k[1..]),
            _ => (None, &k[..]),
        };
        Some(HostKey {
            marker,
            host: rest.first()?.to_string(),
            ty: rest.get(1)?.to_string(),
            key: rest.get(2)?.to_string(),
        })
    }
}

/// Ansible's `hash_host_key`: the host field becomes `|1|salt|HMAC-SHA1(salt, host)`.
pub fn hash_host_key(host: &str, key: &str, salt: &[u8; 20]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(salt).expect("any key length");
    mac.update(host.as_bytes());
    let hashed = mac.finalize().into_bytes();
    let mut parts: Vec<String> = key.split_whitespace().map(String::from).collect();
    let i = usize::from(parts.first().is_some_and(|p| p.starts_with('@')));
    if let Some(p) = parts.get_mut(i) {
        *p = format!("|1|{}|{}", b64.encode(salt), b64.encode(hashed));
    }
    parts.join(" ")
}

/// `search_for_host_key` from `ssh-keygen -F` output: (found, replace_or_add, found_line).
pub fn search(stdout: &str, key: Option<&str>) -> Result<(bool, bool, Option<usize>), String> {
    let Some(key) = key else {
        return Ok((true, false, None));
    };
    let new = HostKey::parse(key).ok_or_else(|| format!("invalid key: {key}"))?;
    let mut found_line = None;
    for l in stdout.split('\n') {
        if l.is_empty() {
            continue;
        }
        if l.starts_with('#') {
            let n = l
                .split("found: line ")
                .nth(1)
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok());
            match n {
                Some(n) => found_line = Some(n),
                None => {
                    return Err(format!(
                        "failed to parse output of ssh-keygen for line number: '{l}'"
                    ));
                }
            }
            continue;
        }
        let Some(found) = HostKey::parse(l) else {
            continue;
        };
        let marked = found
            .marker
            .as_deref()
            .is_some_and(|m| m.starts_with("@cert-authority") || m.starts_with("@revoke"));
        let mut new = new.clone();
        if !marked && new.host.starts_with("|1|") && found.host.starts_with("|1|") {
            new.host = found.host.clone();
        }
        if new == found {
            return Ok((true, false, found_line));
        }
        if !marked && new.ty == found.ty {
            return Ok((true, true, found_line));
        }
    }
    Ok((true, true, None))
}

/// The file after the change, as both the write and `compute_diff` produce it.
pub fn new_content(
    before: &str,
    found_line: Option<usize>,
    drop_found: bool,
    add: Option<&str>,
) -> String {
    let mut out: String = before
        .split_inclusive('\n')
        .enumerate()
        .filter(|(i, _)| !(drop_found && found_line == Some(i + 1)))
        .map(|(_, l)| l)
        .collect();
    if let Some(k) = add {
        out.push_str(k);
    }
    out
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let name = first(args, &["name", "host"])
        .ok_or_else(|| ModuleError::Args("missing required arguments: name".into()))?;
    let host = name.to_lowercase();
    let key_param = args.str("key");
    let path_param = args
        .str("path")
        .unwrap_or_else(|| "~/.ssh/known_hosts".into());
    let hash_host = args.bool_or("hash_host", false)?;
    let present = match args.str("state").as_deref() {
        None | Some("present") => true,
        Some("absent") => false,
        Some(s) => {
            return Err(ModuleError::Args(format!(
                "value of state must be one of: absent, present, got: {s}"
            )));
        }
    };
    let key_param = key_param.filter(|k| !k.is_empty());
    if key_param.is_none() && present {
        return Ok(ModuleResult::failed("No key specified when adding a host"));
    }
    let mut key = key_param.clone();
    if let (Some(k), true) = (&key, hash_host) {
        key = Some(hash_host_key(&host, k, &rand::random()));
    }
    if let Some(k) = key.as_mut()
        && !k.ends_with('\n')
    {
        k.push('\n');
    }
    if key.is_some()
        && regex::Regex::new(r"\S+(\s+)?,(\s+)?")
            .unwrap()
            .is_match(&host)
    {
        return Ok(ModuleResult::failed(
            "Comma separated list of names is not supported. Please pass a single name to lookup in the known_hosts file.",
        ));
    }
    let h = sh_quote(&host);
    let mut probe = Probe::new();
    probe.path("p", &path_param);
    if key.is_some() {
        probe.line(&format!(
            "cat > \"$__t/key\"; ssh-keygen -F {h} -f \"$__t/key\" > \"$__t/sane\" 2>/dev/null\n\
             if [ -s \"$__t/sane\" ]; then __o sane 1; fi"
        ));
    }
    probe.line(&format!(
        "if [ -e \"$p\" ]; then __o ex 1; ssh-keygen -F {h} -f \"$p\" > \"$__t/out\" 2> \"$__t/err\"; __o rc $?; fi"
    ));
    probe
        .dump("out", "\"$__t/out\"")
        .dump("err", "\"$__t/err\"")
        .stat("pst", "p")
        .read("file", "p");
    let rep = probe
        .run_with(ctx, key.as_deref().map(str::as_bytes))
        .await?;
    let path = rep.get("p").unwrap_or(&path_param).to_string();
    if key.is_some() && !rep.flag("sane") {
        return Ok(ModuleResult::failed(
            "Host parameter does not match hashed host field in supplied key",
        ));
    }
    let exists = rep.flag("ex");
    let (found, replace, found_line) = if !exists {
        (false, false, None)
    } else {
        let out = rep.file("out").unwrap_or_default();
        let err = rep.file("err").unwrap_or_default();
        let rc: i32 = rep.get("rc").and_then(|r| r.parse().ok()).unwrap_or(-1);
        if out.is_empty() && err.is_empty() && (rc == 0 || rc == 1) {
            (false, false, None)
        } else if rc != 0 {
            return Ok(ModuleResult::failed(format!(
                "ssh-keygen failed (rc={rc}, stdout='{out}',stderr='{err}')"
            )));
        } else {
            search(&out, key.as_deref()).map_err(ModuleError::Args)?
        }
    };
    let before = rep.file("file");
    let before_text = before.clone().unwrap_or_default();
    let drop_found = replace || !present;
    let add = (present && (replace || found_line.is_none()))
        .then_some(key.as_deref())
        .flatten();
    let after = new_content(&before_text, found_line, drop_found, add);
    let mut r = ModuleResult::ok();
    for (k, v) in [
        ("name", Value::from(name.clone())),
        ("key", key_param.clone().into()),
        ("path", path.clone().into()),
        ("hash_host", hash_host.into()),
        ("state", (if present { "present" } else { "absent" }).into()),
    ] {
        r.data.insert(k.into(), v);
    }
    if ctx.diff {
        r.diff.push(FileDiff {
            before_header: if exists {
                path.clone()
            } else {
                "/dev/null".into()
            },
            after_header: path.clone(),
            before: before_text.clone(),
            after: after.clone(),
        });
    }
    // `path` is in the result, so Ansible adds the file's attributes (`add_path_info`).
    let unwritten = |mut r: ModuleResult| {
        r.data.extend(rep.path_info("pst").unwrap_or_default());
        r
    };
    if !present && found_line.is_none() && key.is_some() {
        return Ok(unwritten(r));
    }
    let will_change = replace || present != found;
    if ctx.check_mode || !will_change {
        r.changed = will_change;
        return Ok(unwritten(r));
    }
    let mut w = Write {
        path: path.clone(),
        ..Default::default()
    };
    if found && key.is_none() && !present {
        w.before =
            format!("e=$(ssh-keygen -R {h} -f \"$p\" 2>&1) || {{ __o err \"$e\"; exit 0; }}");
    } else {
        w.content = Some(after.into_bytes());
    }
    let done = write(ctx, &w).await?;
    if let Some(e) = done.err {
        return Ok(ModuleResult::failed(e));
    }
    r.changed = true;
    r.data.extend(done.info.unwrap_or_default());
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Run, Scratch, read, run_module};
    use serde_json::json;

    const K1: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    const K2: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFhvVzXgHIf9t0P/hOtx6ZBdNmRhn4A4Vh1n5hvg6VZJ";

    #[test]
    fn hashing_keeps_the_marker_and_matches_ssh_keygen_format() {
        let h = hash_host_key(
            "example.org",
            &format!("@cert-authority example.org {K1}"),
            &[7; 20],
        );
        assert!(
            h.starts_with("@cert-authority |1|BwcHBwcHBwcHBwcHBwcHBwcHBwc=|"),
            "{h}"
        );
        assert!(h.ends_with(K1), "{h}");
    }

    #[test]
    fn search_decides_as_ansible() {
        let out = format!("# Host h found: line 3 \nh {K1}\n");
        assert_eq!(
            search(&out, Some(&format!("h {K1}"))),
            Ok((true, false, Some(3)))
        );
        assert_eq!(
            search(&out, Some(&format!("h {K2}"))),
            Ok((true, true, Some(3)))
        );
        let rsa = "h ssh-rsa AAAAB3NzaC1yc2E";
        assert_eq!(search(&out, Some(rsa)), Ok((true, true, None)));
        assert_eq!(search(&out, None), Ok((true, false, None)));
        assert_eq!(
            new_content("a\nb\nc\n", Some(2), true, Some("d\n")),
            "a\nc\nd\n"
        );
    }

    #[tokio::test]
    async fn add_replace_and_remove() {
        let d = Scratch::new("known_hosts");
        let p = d.s("kh");
        let add = |k: &str| json!({"name": "Git.Example.org", "key": format!("git.example.org {k}"), "path": p});
        let r = run_module(&KnownHosts, add(K1), Run::check()).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(!d.path("kh").exists());
        let r = run_module(&KnownHosts, add(K1), Run::default()).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(r.data["name"], "Git.Example.org");
        assert_eq!(read(&d.path("kh")), format!("git.example.org {K1}\n"));
        let r = run_module(&KnownHosts, add(K1), Run::default()).await;
        assert!(!r.changed, "{r:?}");
        std::fs::write(
            d.path("kh"),
            format!("other {K2}\ngit.example.org {K1}\nthird {K2}\n"),
        )
        .unwrap();
        let r = run_module(&KnownHosts, add(K2), Run::diff()).await;
        assert!(r.changed, "{r:?}");
        assert_eq!(
            r.diff[0].after,
            format!("other {K2}\nthird {K2}\ngit.example.org {K2}\n")
        );
        assert_eq!(read(&d.path("kh")), r.diff[0].after);
        let bad = json!({"name": "x.org", "key": format!("git.example.org {K1}"), "path": p});
        let r = run_module(&KnownHosts, bad, Run::default()).await;
        assert_eq!(
            r.msg.as_deref(),
            Some("Host parameter does not match hashed host field in supplied key")
        );
        let hashed = json!({"name": "h2", "key": format!("h2 {K1}"), "path": p, "hash_host": true});
        let r = run_module(&KnownHosts, hashed.clone(), Run::default()).await;
        assert!(r.changed, "{r:?}");
        assert!(read(&d.path("kh")).contains("|1|"));
        let r = run_module(&KnownHosts, hashed, Run::default()).await;
        assert!(!r.changed, "{r:?}");
        let rm = json!({"name": "git.example.org", "state": "absent", "path": p});
        let r = run_module(&KnownHosts, rm.clone(), Run::default()).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(!read(&d.path("kh")).contains("git.example.org"));
        let r = run_module(&KnownHosts, rm, Run::default()).await;
        assert!(!r.changed, "{r:?}");
    }
}
