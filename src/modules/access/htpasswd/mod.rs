//! `htpasswd` (community.general.htpasswd): one user's entry in an Apache/nginx password file.
//! The community module needs passlib on the host; strata reads the file, verifies and hashes
//! on the controller (`hashes.rs`: bcrypt, apr1, md5-crypt, SHA-crypt, `{SHA}`, plaintext, as
//! passlib computes them), and writes the whole file back atomically, so the password never
//! reaches the host at all, only its hash, on the script's stdin. The file is parsed and
//! re-rendered as passlib's `HtpasswdFile` does: comments and blank runs kept in place, the
//! first of duplicate users wins, a new user goes last.

pub mod hashes;

use futures::future::BoxFuture;

use super::keyfile::{Probe, Write, first, write};
use crate::modules::toolkit::atomic_write::FileAttrs;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use hashes::Scheme;

pub struct Htpasswd;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "htpasswd",
    params: &[
        Param::new("path", T::Str)
            .required()
            .aliases(&["dest", "destfile"]),
        Param::new("name", T::Str).required().aliases(&["username"]),
        Param::new("password", T::Str),
        Param::new("hash_scheme", T::Str).aliases(&["crypt_scheme"]),
        Param::new("state", T::Str).choices(&["present", "absent"]),
        Param::new("create", T::Bool),
        Param::new("mode", T::Mode),
        Param::new("owner", T::Str),
        Param::new("group", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Htpasswd {
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

/// One piece of an htpasswd file, in order: kept text, or a user's line.
#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    User(String),
}

/// The file as passlib's `HtpasswdFile` holds it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HtFile {
    source: Vec<Piece>,
    records: Vec<(String, String)>,
}

impl HtFile {
    /// passlib's `_load_lines`: blank and `#` lines are kept text, the first of duplicate
    /// users wins, a line without exactly one `:` is an error.
    pub fn parse(content: &str) -> Result<HtFile, String> {
        let mut f = HtFile::default();
        let mut skipped = String::new();
        for (i, line) in content.split_inclusive('\n').enumerate() {
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') {
                skipped.push_str(line);
                continue;
            }
            let fields: Vec<&str> = line.trim_end().split(':').collect();
            if fields.len() != 2 {
                return Err(format!(
                    "malformed htpasswd file (error reading line {})",
                    i + 1
                ));
            }
            if f.get(fields[0]).is_some() {
                skipped.push_str(line);
                continue;
            }
            if !skipped.is_empty() {
                f.source.push(Piece::Text(std::mem::take(&mut skipped)));
            }
            f.records.push((fields[0].into(), fields[1].into()));
            f.source.push(Piece::User(fields[0].into()));
        }
        if !skipped.trim_end().is_empty() {
            f.source.push(Piece::Text(skipped));
        }
        Ok(f)
    }

    pub fn get(&self, user: &str) -> Option<&str> {
        self.records
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, h)| h.as_str())
    }

    pub fn set(&mut self, user: &str, hash: String) {
        match self.records.iter_mut().find(|(u, _)| u == user) {
            Some(r) => r.1 = hash,
            None => {
                self.records.push((user.into(), hash));
                self.source.push(Piece::User(user.into()));
            }
        }
    }

    pub fn delete(&mut self, user: &str) {
        self.records.retain(|(u, _)| u != user);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for p in &self.source {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::User(u) => {
                    if let Some(h) = self.get(u) {
                        out.push_str(&format!("{u}:{h}\n"));
                    }
                }
            }
        }
        out
    }
}

/// The module's own pre-pass: a file with any blank line is rewritten without them (even
/// when nothing else changes, and without reporting a change), as the community module does.
pub fn strip_blank_lines(content: &str) -> Option<String> {
    let lines: Vec<&str> = content.split_inclusive('\n').collect();
    lines
        .iter()
        .any(|l| l.trim().is_empty())
        .then(|| lines.into_iter().filter(|l| !l.trim().is_empty()).collect())
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let path = first(args, &["path", "dest", "destfile"])
        .ok_or_else(|| ModuleError::Args("missing required arguments: path".into()))?;
    let user = first(args, &["name", "username"])
        .ok_or_else(|| ModuleError::Args("missing required arguments: name".into()))?;
    let password = args.str("password");
    let scheme_name =
        first(args, &["hash_scheme", "crypt_scheme"]).unwrap_or_else(|| "apr_md5_crypt".into());
    let present = match args.str("state").as_deref() {
        None | Some("present") => true,
        Some("absent") => false,
        Some(s) => {
            return Err(ModuleError::Args(format!(
                "value of state must be one of: present, absent, got: {s}"
            )));
        }
    };
    let create = args.bool_or("create", true)?;
    let attrs = FileAttrs::from_args(args)?;
    let scheme = Scheme::from_name(&scheme_name);
    if present && scheme.is_none() {
        return Ok(ModuleResult::failed(format!(
            "hash_scheme {scheme_name}: strata computes hashes on the controller and supports {} \
             (see the README's table of unsupported parameters)",
            hashes::SUPPORTED.join(", ")
        )));
    }
    let mut probe = Probe::new();
    probe.path("p", &path).read("ht", "p");
    let rep = probe.run(ctx).await?;
    let path = rep.get("p").unwrap_or(&path).to_string();
    let exists = rep.flag("ht_exists");
    let old = rep.file("ht");
    if exists && old.is_none() {
        return Ok(ModuleResult::failed(format!("could not read {path}")));
    }
    let stripped = old.as_deref().and_then(strip_blank_lines);
    let content = stripped.clone().or(old.clone()).unwrap_or_default();
    let ht = HtFile::parse(&content);
    let (msg, changed, new) = if present {
        let pw = password.clone().unwrap_or_default();
        let scheme = scheme.expect("checked above");
        if !exists {
            if !create {
                return Ok(ModuleResult::failed(format!(
                    "Destination {path} does not exist"
                )));
            }
            if ctx.check_mode {
                return Ok(ModuleResult::changed(true).msg(format!("Create {path}")));
            }
            let mut f = HtFile::default();
            f.set(&user, hashes::hash(scheme, &pw));
            (
                format!("Created {path} and added {user}"),
                true,
                Some(f.render()),
            )
        } else {
            let mut f = ht.map_err(ModuleError::Args)?;
            let found = match f.get(&user) {
                None => false,
                Some(h) => hashes::verify(&hashes::context(&scheme_name), &pw, h)
                    .map_err(|e| ModuleError::Args(format!("the entry of {user} {e}")))?,
            };
            if found {
                (format!("{user} already present"), false, None)
            } else {
                f.set(&user, hashes::hash(scheme, &pw));
                (format!("Add/update {user}"), true, Some(f.render()))
            }
        }
    } else {
        if !exists {
            let mut r = ModuleResult::ok().msg(format!("{user} not present"));
            r.data.insert(
                "warnings".into(),
                vec![serde_json::Value::from(format!("{path} does not exist"))].into(),
            );
            return Ok(r);
        }
        let mut f = ht.map_err(ModuleError::Args)?;
        if f.get(&user).is_none() {
            (format!("{user} not present"), false, None)
        } else {
            f.delete(&user);
            (format!("Remove {user}"), true, Some(f.render()))
        }
    };
    // The blank-line pass writes even when the entry is already right.
    let content = new.or(stripped);
    let content = content.filter(|_| !ctx.check_mode || changed);
    let mut msg = msg;
    let mut changed = changed;
    if content.is_some() || !attrs.is_empty() {
        let w = Write {
            path: path.clone(),
            content: content.map(String::into_bytes),
            mkdir_parent: !exists,
            attrs,
            before: String::new(),
        };
        let done = write(ctx, &w).await?;
        if let Some(e) = done.err {
            return Ok(ModuleResult::failed(e));
        }
        if done.attrs_changed {
            if changed {
                msg.push_str(" and ");
            }
            changed = true;
            msg.push_str("ownership, perms or SE linux context changed");
        }
    }
    Ok(ModuleResult::changed(changed).msg(msg))
}

#[cfg(test)]
mod tests;
