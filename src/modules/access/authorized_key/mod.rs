//! `authorized_key` (ansible.posix.authorized_key): SSH keys in a user's authorized_keys.
//! One probe reads the user's passwd entry, the key file and, for a `key` that is a URL, the
//! keys themselves, fetched on the host with curl as the module fetches them there (a
//! `file:` key is read on the host too). The file model and decisions are in `keys.rs`; the
//! write does what the module's `keyfile(write=True)` does first (the `.ssh` directory 0700
//! and the file 0600, owned by the user) and then replaces the file atomically.

pub mod keys;

use futures::future::BoxFuture;
use serde_json::Value;

use super::keyfile::{Probe, Write, write};
use crate::events::FileDiff;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;
use keys::{KeyFile, Wanted, enforce};

pub struct AuthorizedKey;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "authorized_key",
    params: &[
        Param::new("user", T::Str).required(),
        Param::new("key", T::Str).required(),
        Param::new("path", T::Str),
        Param::new("manage_dir", T::Bool),
        Param::new("state", T::Str).choices(&["absent", "present"]),
        Param::new("key_options", T::Str),
        Param::new("exclusive", T::Bool),
        Param::new("comment", T::Str),
        Param::new("validate_certs", T::Bool),
        Param::new("follow", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for AuthorizedKey {
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

/// `urlparse(key).path` for a `file:` key.
pub fn file_url_path(key: &str) -> String {
    let rest = key.split_once(':').map_or("", |(_, r)| r);
    let rest = match rest.strip_prefix("//") {
        Some(r) => r.find('/').map_or("", |i| &r[i..]),
        None => rest,
    };
    rest.split(['?', '#']).next().unwrap_or("").to_string()
}

/// A curl config line's quoted value (curl unescapes `\\`, `\"`, `\n`...).
fn curl_quote(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' | '\r' => {}
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

struct Params {
    user: String,
    key: String,
    path: Option<String>,
    manage_dir: bool,
    present: bool,
    key_options: Option<String>,
    exclusive: bool,
    comment: Option<String>,
    validate_certs: bool,
    follow: bool,
}

impl Params {
    fn from_args(args: &Args) -> Result<Params, ModuleError> {
        let req = |n: &str| {
            args.str(n)
                .ok_or_else(|| ModuleError::Args(format!("missing required arguments: {n}")))
        };
        Ok(Params {
            user: req("user")?,
            key: req("key")?,
            path: args.str("path"),
            manage_dir: args.bool_or("manage_dir", true)?,
            present: match args.str("state").as_deref() {
                None | Some("present") => true,
                Some("absent") => false,
                Some(s) => {
                    return Err(ModuleError::Args(format!(
                        "value of state must be one of: absent, present, got: {s}"
                    )));
                }
            },
            key_options: args.str("key_options"),
            exclusive: args.bool_or("exclusive", false)?,
            comment: args.str("comment"),
            validate_certs: args.bool_or("validate_certs", true)?,
            follow: args.bool_or("follow", false)?,
        })
    }

    /// The module's return values: its parameters, `keyfile` and `changed`.
    fn result(&self, path: Option<&str>, keyfile: &str) -> ModuleResult {
        let mut r = ModuleResult::ok();
        let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::from);
        for (k, v) in [
            ("user", Value::from(self.user.clone())),
            ("key", self.key.clone().into()),
            ("path", path.map_or(Value::Null, Value::from)),
            ("manage_dir", self.manage_dir.into()),
            (
                "state",
                (if self.present { "present" } else { "absent" }).into(),
            ),
            ("key_options", opt(&self.key_options)),
            ("exclusive", self.exclusive.into()),
            ("comment", opt(&self.comment)),
            ("validate_certs", self.validate_certs.into()),
            ("follow", self.follow.into()),
            ("keyfile", keyfile.into()),
        ] {
            r.data.insert(k.into(), v);
        }
        r
    }
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let p = Params::from_args(args)?;
    let error_msg = format!("Error getting key from: {}", p.key);
    let mut probe = Probe::new();
    probe.line(&format!(
        "if ent=$(getent passwd -- {u}); then __o pw \"$ent\"; fi\nhome=$(printf '%s' \"$ent\" | cut -d: -f6)",
        u = sh_quote(&p.user)
    ));
    match &p.path {
        Some(path) => probe.path("kf", path),
        None => probe.line("kf=\"$home/.ssh/authorized_keys\"; __o kf \"$kf\""),
    };
    probe
        .line("__o real \"$(readlink -m -- \"$kf\")\"")
        .stat("pst", "kf")
        .read("keys", "kf");
    if p.key.starts_with("http") {
        let insecure = if p.validate_certs { "" } else { "insecure\n" };
        probe.line(&format!(
            "if command -v curl >/dev/null 2>&1; then \
             __o http \"$(curl -K - -s -L -o \"$__t/url\" -w '%{{http_code}}' <<'__STRATA_CURLRC__'\n\
             url = {url}\n{insecure}__STRATA_CURLRC__\n)\"; else __o http nocurl; fi",
            url = curl_quote(&p.key)
        ));
        probe.dump("url", "\"$__t/url\"");
    }
    let rep = probe.run(ctx).await?;
    let mut key = p.key.clone();
    if p.key.starts_with("http") {
        match rep.get("http") {
            Some("200") => key = rep.file("url").unwrap_or_default(),
            Some("nocurl") => {
                return Ok(ModuleResult::failed(format!(
                    "{error_msg} (strata fetches key URLs with curl on the host, which is not installed)"
                )));
            }
            _ => return Ok(ModuleResult::failed(error_msg)),
        }
    }
    if key.starts_with("file") {
        let kp = file_url_path(&key);
        let mut fp = Probe::new();
        fp.line(&format!(
            "f={}; if [ -e \"$f\" ]; then __o ex 1; fi; if [ -f \"$f\" ]; then __o isf 1; fi",
            sh_quote(&kp)
        ))
        .read("k", "f");
        let r = fp.run(ctx).await?;
        if !r.flag("ex") {
            return Ok(ModuleResult::failed(format!(
                "Path to a key file not found: {kp}"
            )));
        }
        if !r.flag("isf") {
            return Ok(ModuleResult::failed(format!(
                "Path to a key is a directory and must be a file: {kp}"
            )));
        }
        match r.file("k") {
            Some(k) => key = k,
            None => {
                return Ok(ModuleResult::failed(format!(
                    "Failed to read key file {kp} : permission denied"
                )));
            }
        }
    }
    let pw: Option<Vec<String>> = rep
        .get("pw")
        .map(|l| l.split(':').map(String::from).collect());
    if pw.is_none() && !(ctx.check_mode && p.path.is_some()) {
        return Ok(ModuleResult::failed(if ctx.check_mode {
            "Either user must exist or you must provide full path to key file in check mode"
                .to_string()
        } else {
            format!(
                "Failed to lookup user {u}: \"getpwnam(): name not found: '{u}'\"",
                u = p.user
            )
        }));
    }
    let keyfile = rep.get("kf").unwrap_or_default().to_string();
    let path_ret = p.path.as_ref().map(|_| keyfile.clone());
    let existing = if rep.flag("keys_file") {
        rep.file("keys").unwrap_or_default()
    } else {
        String::new()
    };
    let mut f = KeyFile::parse(&existing);
    let wanted = Wanted {
        key: &key,
        present: p.present,
        key_options: p.key_options.as_deref(),
        comment: p.comment.as_deref(),
        exclusive: p.exclusive,
    };
    let do_write = match enforce(&mut f, &wanted) {
        Ok(w) => w,
        Err(e) => return Ok(ModuleResult::failed(e)),
    };
    let mut r = p.result(path_ret.as_deref(), &keyfile);
    // With `path` given, Ansible adds the file's attributes to the result (`add_path_info`).
    let with_info = p.path.is_some();
    if with_info && (!do_write || ctx.check_mode) {
        r.data.extend(rep.path_info("pst").unwrap_or_default());
    }
    if !do_write {
        return Ok(r);
    }
    let target = if p.follow {
        rep.get("real").unwrap_or(&keyfile).to_string()
    } else {
        keyfile.clone()
    };
    let new = f.render();
    if ctx.diff {
        r.diff.push(FileDiff {
            before_header: keyfile.clone(),
            after_header: target.clone(),
            before: existing.clone(),
            after: new.clone(),
        });
    }
    r.changed = true;
    if ctx.check_mode {
        return Ok(r);
    }
    let pw = pw.unwrap_or_default();
    let (uid, gid) = (
        pw.get(2).cloned().unwrap_or_default(),
        pw.get(3).cloned().unwrap_or_default(),
    );
    let sshdir = match &p.path {
        None => format!("{}/.ssh", pw.get(5).cloned().unwrap_or_default()),
        Some(_) => parent(&keyfile),
    };
    let mut before = format!("own={}\n", sh_quote(&format!("{uid}:{gid}")));
    if p.manage_dir {
        before.push_str(&format!(
            "sd={sd}\nif [ ! -e \"$sd\" ]; then e=$(mkdir -m 0700 -- \"$sd\" 2>&1) || \
             {{ __o err \"Failed to create directory $sd : $e\"; exit 0; }}; fi\n\
             chown \"$own\" \"$sd\"; chmod 0700 \"$sd\"\n",
            sd = sh_quote(&sshdir)
        ));
    }
    before.push_str(
        "if [ ! -e \"$p\" ]; then d=${p%/*}; [ -n \"$d\" ] && mkdir -p -- \"$d\"; : > \"$p\" || exit 0; fi\n\
         chown \"$own\" \"$p\" 2>/dev/null; chmod 0600 \"$p\" 2>/dev/null\n",
    );
    let w = Write {
        path: target,
        content: Some(new.into_bytes()),
        before,
        ..Default::default()
    };
    let done = write(ctx, &w).await?;
    if let Some(e) = done.err {
        return Ok(ModuleResult::failed(e));
    }
    if with_info {
        r.data.extend(done.info.unwrap_or_default());
    }
    Ok(r)
}

/// `os.path.dirname`.
fn parent(p: &str) -> String {
    match p.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => p[..i].into(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests;
