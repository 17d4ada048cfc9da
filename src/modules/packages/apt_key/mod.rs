//! `apt_key`: keys in apt's legacy keyring through `apt-key` (deprecated, still shipped by
//! Debian 12, which is what Ansible's module drives too). The key id comes from `gpg
//! --with-colons` over the file, the inline data or the downloaded URL (downloaded *on the
//! host*, curl else wget, as Ansible's `fetch_url` runs there); the decision is Ansible's
//! (8-character ids compare short, longer ones by their last 16 characters). One round trip
//! reads, a second one adds or deletes and lists again. Key data travels on stdin.

mod key_id;

use futures::future::BoxFuture;
use serde_json::Value;

use self::key_id::{mask_url, parse_key_id, parse_output_for_keys, shorten};
use super::report::{CAPTURE, DOWNLOAD, HELPERS, Report};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct AptKey;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "apt_key",
    params: &[
        Param::new("id", T::Str),
        Param::new("url", T::Str),
        Param::new("data", T::Str),
        Param::new("file", T::Str),
        Param::new("keyring", T::Str),
        Param::new("validate_certs", T::Bool),
        Param::new("keyserver", T::Str),
        Param::new("state", T::Str).choices(&["absent", "present"]),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["data", "file", "keyserver", "url"]],
    required_one_of: &[],
    any_params: false,
};

impl Module for AptKey {
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

const PREAMBLE: &str = "export LANG=C LC_ALL=C LC_MESSAGES=C LANGUAGE=C\n";

/// Where the key to add comes from.
#[derive(Clone, Debug, PartialEq)]
enum Source {
    File(String),
    Data(Vec<u8>),
    Keyserver(String),
    Url(String),
    None,
}

fn keyring_opt(keyring: Option<&str>) -> String {
    keyring.map_or(String::new(), |k| format!("--keyring {} ", sh_quote(k)))
}

/// The command line Ansible shows for the listing, with the keyring as given.
fn list_cmd(keyring: Option<&str>) -> String {
    match keyring {
        Some(k) => {
            format!("/usr/bin/apt-key --keyring {k} adv --list-public-keys --keyid-format=long")
        }
        None => "/usr/bin/apt-key adv --list-public-keys --keyid-format=long".into(),
    }
}

fn list_line(prefix: &str, keyring: Option<&str>) -> String {
    format!(
        "__cap {prefix} apt-key {}adv --list-public-keys --keyid-format=long\n",
        keyring_opt(keyring)
    )
}

/// The first round trip: binaries, the download, the key's id from gpg, the current keys.
fn probe_script(
    keyring: Option<&str>,
    url: Option<&str>,
    insecure: bool,
    gpg: Option<&str>,
) -> String {
    let mut s = format!(
        "{PREAMBLE}{HELPERS}{CAPTURE}{DOWNLOAD}\
         command -v apt-key >/dev/null 2>&1 || {{ __sx missing apt-key; exit 0; }}\n\
         command -v gpg >/dev/null 2>&1 || {{ __sx missing gpg; exit 0; }}\n"
    );
    if let Some(u) = url {
        s.push_str(&format!(
            "__kf=$(mktemp) || exit 1; trap 'rm -f -- \"$__ef\" \"$__kf\"' EXIT\n\
             __dl {} {} \"$__kf\" || {{ __sx dl_rc $?; exit 0; }}\n\
             __sx dl_rc 0; printf '__strata_dl_data='; od -An -v -tx1 < \"$__kf\" | tr -d ' \\n'; echo\n",
            sh_quote(u),
            u8::from(insecure)
        ));
    }
    match gpg {
        Some("-url") => s.push_str("__cap gpg gpg --with-colons \"$__kf\"\n"),
        Some(f) => s.push_str(&format!("__cap gpg gpg --with-colons {}\n", sh_quote(f))),
        None => {}
    }
    s.push_str(&list_line("list", keyring));
    s
}

fn missing(rep: &Report) -> Option<ModuleResult> {
    rep.has("missing").then(|| {
        let bin = rep.text("missing");
        let mut msg = format!(
            "Failed to find required executable \"{bin}\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        );
        if bin == "apt-key" {
            msg.push_str(". Apt-key has been deprecated. See the deb822_repository as an alternative.");
        }
        ModuleResult::failed(msg)
    })
}

/// Ansible's fail_json with the command's output attached.
fn cmd_failure(msg: String, cmd: String, rep: &Report, prefix: &str) -> ModuleResult {
    ModuleResult::failed(msg)
        .with("cmd", cmd)
        .with("rc", rep.rc(&format!("{prefix}_rc")).unwrap_or(-1))
        .with("stdout", rep.text(&format!("{prefix}_out")))
        .with("stderr", rep.text(&format!("{prefix}_err")))
}

/// The keys a listing shows (`None` with the failure when apt-key failed).
fn listed(
    rep: &Report,
    prefix: &str,
    keyring: Option<&str>,
    short: bool,
) -> Result<Vec<String>, Box<ModuleResult>> {
    if rep.rc(&format!("{prefix}_rc")) != Some(0) {
        return Err(Box::new(cmd_failure(
            "Unable to list public keys".into(),
            list_cmd(keyring),
            rep,
            prefix,
        )));
    }
    let keys = parse_output_for_keys(&rep.text(&format!("{prefix}_out")));
    Ok(if short { shorten(&keys) } else { keys })
}

fn download_failure(url: &str, rep: &Report) -> ModuleResult {
    let code = rep.text("dl_code");
    let why = match code.trim().parse::<u16>() {
        Ok(c) if c >= 400 => format!("HTTP Error {c}: {}", super::report::http_reason(c)),
        _ => format!("Request failed: {}", rep.text("dl_err").trim()),
    };
    ModuleResult::failed(format!(
        "Failed to download key at {}: {why}",
        mask_url(url)
    ))
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let id = args.str("id").filter(|s| !s.is_empty());
    let url = args.str("url").filter(|s| !s.is_empty());
    let data = args.str("data").filter(|s| !s.is_empty());
    let file = args.str("file").filter(|s| !s.is_empty());
    let keyring = args.str("keyring");
    let keyserver = args.str("keyserver").filter(|s| !s.is_empty());
    let insecure = !args.bool_or("validate_certs", true)?;
    let present = match args.str("state").as_deref().unwrap_or("present") {
        "present" => true,
        "absent" => false,
        s => {
            return Err(ModuleError::Args(format!(
                "value of state must be one of: absent, present, got: {s}"
            )));
        }
    };
    let given: Vec<&str> = [
        ("data", &data),
        ("file", &file),
        ("keyserver", &keyserver),
        ("url", &url),
    ]
    .iter()
    .filter(|(_, v)| v.is_some())
    .map(|(n, _)| *n)
    .collect();
    if given.len() > 1 {
        return Err(ModuleError::Args(format!(
            "parameters are mutually exclusive: {}",
            given.join("|")
        )));
    }
    if id.is_none() && keyserver.is_some() {
        return Ok(ModuleResult::failed(
            "Missing key_id, required with keyserver.",
        ));
    }
    // What gpg reads for the id: the file, the inline data on stdin, or the download.
    let gpg = match (&id, &file, &data, &url) {
        (None, Some(f), _, _) => Some(f.as_str()),
        (None, None, Some(_), _) => Some("-"),
        (None, None, None, Some(_)) => Some("-url"),
        _ => None,
    };
    let dl_url = url.as_deref().filter(|_| id.is_none());
    let stdin = data
        .as_ref()
        .filter(|_| gpg == Some("-"))
        .map(|d| d.as_bytes());
    let out = ctx
        .run(
            &probe_script(keyring.as_deref(), dl_url, insecure, gpg),
            stdin,
        )
        .await?;
    let rep = Report::parse(&out);
    if let Some(r) = missing(&rep) {
        return Ok(r);
    }
    let mut downloaded: Option<Vec<u8>> = None;
    if let Some(u) = dl_url {
        if rep.rc("dl_rc") != Some(0) || rep.text("dl_code").trim() != "200" {
            return Ok(download_failure(u, &rep));
        }
        downloaded = Some(
            crate::modules::toolkit::atomic_write::unhex(&raw_key(&out, "dl_data"))
                .unwrap_or_default(),
        );
    }
    let key = match gpg {
        None => id.clone(),
        Some(_) if rep.rc("gpg_rc") != Some(0) => {
            let what = if file.is_some() {
                file.clone().unwrap_or_default()
            } else {
                "inline data".into()
            };
            return Ok(
                ModuleResult::failed(format!("Unable to extract key from '{what}'"))
                    .with("stdout", rep.text("gpg_out"))
                    .with("stderr", rep.text("gpg_err")),
            );
        }
        Some(_) => parse_output_for_keys(&rep.text("gpg_out"))
            .into_iter()
            .next(),
    };
    let mut r =
        ModuleResult::changed(false).with("id", key.clone().map_or(Value::Null, Value::from));
    let Some((short_id, fingerprint, key_id)) = key.as_deref().and_then(|k| parse_key_id(k).ok())
    else {
        let mut f = r.msg("Invalid key_id");
        f.failed = true;
        return Ok(f);
    };
    r = r
        .with("short_id", short_id.clone())
        .with("fp", fingerprint.clone())
        .with("key_id", key_id.clone());
    let short = key_id.len() == 8;
    let keys = match listed(&rep, "list", keyring.as_deref(), short) {
        Ok(k) => k,
        Err(f) => return Ok(*f),
    };
    r = r.with("before", keys.clone());
    let wanted = if short { &short_id } else { &fingerprint };
    let act = if present {
        !keys.contains(wanted)
    } else {
        keys.contains(&fingerprint)
    };
    if !act {
        return Ok(r);
    }
    r.changed = true;
    if ctx.check_mode {
        return Ok(r);
    }
    let source = match (&file, &keyserver, &data, &downloaded, &url) {
        (Some(f), ..) => Source::File(f.clone()),
        (_, Some(k), ..) => Source::Keyserver(k.clone()),
        (_, _, Some(d), ..) => Source::Data(d.clone().into_bytes()),
        (_, _, _, Some(d), _) => Source::Data(d.clone()),
        (_, _, _, _, Some(u)) => Source::Url(u.clone()),
        _ => Source::None,
    };
    if present && source == Source::None {
        let mut f = r.msg("No key to add ... how did i get here?!?!");
        f.failed = true;
        return Ok(f);
    }
    act_on(
        ctx,
        r,
        present,
        source,
        keyring.as_deref(),
        insecure,
        &short_id,
        &fingerprint,
        &key_id,
        short,
    )
    .await
}

/// A hex report key read raw (the report decodes text; key data may be binary).
fn raw_key(out: &crate::transport::ExecOutput, key: &str) -> String {
    crate::modules::toolkit::atomic_write::parse_trailer(out.stdout_str().as_bytes())
        .remove(key)
        .unwrap_or_default()
}

/// The second round trip: add (or delete) the key, then list again to verify.
#[allow(clippy::too_many_arguments)]
async fn act_on(
    ctx: &ModuleCtx<'_>,
    r: ModuleResult,
    present: bool,
    source: Source,
    keyring: Option<&str>,
    insecure: bool,
    short_id: &str,
    fingerprint: &str,
    key_id: &str,
    short: bool,
) -> Result<ModuleResult, ModuleError> {
    let kr = keyring_opt(keyring);
    let shown_kr = keyring.map_or(String::new(), |k| format!("--keyring {k} "));
    let mut s = format!("{PREAMBLE}{HELPERS}{CAPTURE}{DOWNLOAD}");
    let mut stdin: Option<Vec<u8>> = None;
    let (cmd, fail) = if !present {
        s.push_str(&format!(
            "__cap act apt-key {kr}del {}\n",
            sh_quote(short_id)
        ));
        (
            format!("/usr/bin/apt-key {shown_kr}del {short_id}"),
            format!("Unable to remove a key with id {short_id}"),
        )
    } else {
        match &source {
            Source::File(f) => {
                s.push_str(&format!("__cap act apt-key {kr}add {}\n", sh_quote(f)));
                (
                    format!("/usr/bin/apt-key {shown_kr}add {f}"),
                    format!("Unable to add a key from file {f}"),
                )
            }
            Source::Data(d) => {
                stdin = Some(d.clone());
                s.push_str(&format!("__cap act apt-key {kr}add -\n"));
                (
                    format!("/usr/bin/apt-key {shown_kr}add -"),
                    "Unable to add a key from binary data".into(),
                )
            }
            Source::Url(u) => {
                s.push_str(&format!(
                    "__kf=$(mktemp) || exit 1; trap 'rm -f -- \"$__ef\" \"$__kf\"' EXIT\n\
                     __dl {} {} \"$__kf\" || {{ __sx dl_rc $?; exit 0; }}\n__sx dl_rc 0\n\
                     [ \"$__code\" = 200 ] || [ -z \"$__code\" ] || exit 0\n\
                     __cap act apt-key {kr}add - < \"$__kf\"\n",
                    sh_quote(u),
                    u8::from(insecure)
                ));
                (
                    format!("/usr/bin/apt-key {shown_kr}add -"),
                    "Unable to add a key from binary data".into(),
                )
            }
            Source::Keyserver(k) => {
                s.push_str(&format!(
                    "__px=\nfor __v in \"$HTTPS_PROXY\" \"$https_proxy\" \"$HTTP_PROXY\" \"$http_proxy\"; do [ -n \"$__v\" ] && {{ __px=$__v; break; }}; done\n\
                     set -- apt-key {kr}adv --no-tty --keyserver {ks}\n\
                     [ -n \"$__px\" ] && set -- \"$@\" --keyserver-options \"http-proxy=$__px\"\n\
                     for __i in 1 2 3 4 5; do __cap act \"$@\" --recv {id} && break; done\n",
                    ks = sh_quote(k),
                    id = sh_quote(key_id)
                ));
                (
                    format!(
                        "/usr/bin/apt-key {shown_kr}adv --no-tty --keyserver {k} --recv {key_id}"
                    ),
                    format!("Error fetching key {key_id} from keyserver: {k}"),
                )
            }
            Source::None => unreachable!("checked by the caller"),
        }
    };
    s.push_str(&list_line("list", keyring));
    let out = ctx.run(&s, stdin.as_deref()).await?;
    let rep = Report::parse(&out);
    if let Source::Url(u) = &source
        && (rep.rc("dl_rc") != Some(0) || rep.text("dl_code").trim() != "200")
    {
        return Ok(download_failure(u, &rep));
    }
    if rep.rc("act_rc") != Some(0) {
        if let Source::Keyserver(k) = &source
            && rep.rc("act_rc") == Some(2)
            && rep.text("act_out").contains("not found on keyserver")
        {
            return Ok(
                ModuleResult::failed(format!("Key {key_id} not found on keyserver {k}"))
                    .with("cmd", cmd),
            );
        }
        return Ok(cmd_failure(fail, cmd, &rep, "act"));
    }
    let after = match listed(&rep, "list", keyring, short) {
        Ok(k) => k,
        Err(f) => return Ok(*f),
    };
    let mut r = r.with("after", after.clone());
    let wanted = if short { short_id } else { fingerprint };
    let error_no_error = |what: &str| {
        format!(
            "apt-key did not return an error, but {what} (check that the id is correct and *not* a subkey)"
        )
    };
    if present && !after.iter().any(|k| k == wanted) {
        r.failed = true;
        r.msg = Some(error_no_error("failed to add the key"));
    } else if !present && after.iter().any(|k| k == fingerprint) {
        r.failed = true;
        r.msg = Some(error_no_error("the key was not removed"));
    }
    Ok(r)
}

#[cfg(test)]
mod tests;
