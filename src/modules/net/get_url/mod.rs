//! `get_url`: downloads a URL *on the host* (curl, else wget) into `dest`, with Ansible's
//! decisions: an existing file whose checksum matches is left alone without a request; any other
//! existing file is fetched conditionally (`If-Modified-Since`, unless `force`) and replaced only
//! when the content differs. The download lands in a temp file next to `dest` and is renamed
//! over it. Check mode makes a HEAD request, as Ansible does.

use futures::future::BoxFuture;
use serde_json::Value;

use super::http_client::{HttpRequest, HttpResponse, PRELUDE, block};
use super::http_client::{disposition_filename, parse_response, url_filename};
use crate::modules::toolkit::atomic_write::{FileAttrs, RemoteAttrs, parse_trailer};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Fixed, Param, ParamType as T, toolkit::fs_attrs};
use crate::shell::sh_quote;

pub struct GetUrl;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "get_url",
    params: &[
        Param::new("url", T::Str).required(),
        Param::new("dest", T::Str).required(),
        Param::new("checksum", T::Str),
        Param::new("mode", T::Mode),
        Param::new("owner", T::Str),
        Param::new("group", T::Str),
        Param::new("force", T::Bool),
        Param::new("timeout", T::Int),
        Param::new("headers", T::Dict),
        Param::new("url_username", T::Str).aliases(&["username"]),
        Param::new("url_password", T::Str).aliases(&["password"]),
        Param::new("force_basic_auth", T::Bool),
        Param::new("validate_certs", T::Bool),
        Param::new("backup", T::Bool),
        Param::new("tmp_dest", T::Str),
        Param::new("use_proxy", T::Bool).only(Fixed::Bool(true)),
        Param::new("http_agent", T::Str),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for GetUrl {
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

/// Hash algorithms the host can compute with coreutils (`<algo>sum`).
const ALGORITHMS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

/// A parsed `checksum: algo:value` (or `algo:URL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChecksumSpec {
    Value { algo: String, hex: String },
    Url { algo: String, url: String },
}

pub fn parse_checksum(s: &str) -> Result<Option<ChecksumSpec>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let Some((algo, rest)) = s.split_once(':') else {
        return Err("The checksum parameter has to be in format <algorithm>:<checksum>".into());
    };
    let algo = algo.to_string();
    if !ALGORITHMS.contains(&algo.as_str()) {
        return Err(format!(
            "Could not hash file with algorithm '{algo}'. Available algorithms: {}",
            ALGORITHMS.join(", ")
        ));
    }
    let scheme = rest.split_once("://").map(|x| x.0).unwrap_or("");
    if ["http", "https", "ftp", "file"].contains(&scheme) {
        return Ok(Some(ChecksumSpec::Url {
            algo,
            url: rest.to_string(),
        }));
    }
    Ok(Some(ChecksumSpec::Value {
        algo,
        hex: normalize_hex(rest)?,
    }))
}

/// Drops non-word characters (e.g. zero-width spaces) and lowercases; must be hex.
fn normalize_hex(s: &str) -> Result<String, String> {
    let h: String = s
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect::<String>()
        .to_lowercase();
    if h.is_empty() || !h.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("The checksum format is invalid".into());
    }
    Ok(h)
}

/// Ansible's `parse_digest_lines`: (digest, filename) pairs from a checksum file in GNU
/// (`<hex>  name`) or BSD (`SHA256 (name) = <hex>`) format, or a lone digest.
pub fn parse_digest_lines(filename: &str, text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() == 1 && lines[0].split_whitespace().count() == 1 {
        return vec![(lines[0].to_string(), filename.to_string())];
    }
    let mut out = Vec::new();
    for line in lines {
        if let Some((head, digest)) = line.rsplit_once(") = ").or_else(|| line.rsplit_once(")= "))
            && let Some((_, path)) = head.split_once('(')
            && !digest.contains(' ')
        {
            out.push((digest.to_string(), path.to_string()));
            continue;
        }
        let mut it = line.splitn(2, char::is_whitespace);
        if let (Some(d), Some(p)) = (it.next(), it.next()) {
            let p = p.trim_start();
            let p = p.strip_prefix('*').unwrap_or(p);
            let p = p.trim_start_matches("./");
            if !d.is_empty() && !p.is_empty() {
                out.push((d.to_string(), p.to_string()));
            }
        }
    }
    out
}

fn request(args: &Args, url: &str) -> Result<HttpRequest, ModuleError> {
    let mut r = HttpRequest::get(url);
    r.timeout = args.int("timeout")?.unwrap_or(10);
    r.validate_certs = args.bool_or("validate_certs", true)?;
    r.username = args.str("url_username");
    r.password = args.str("url_password");
    r.force_basic_auth = args.bool_or("force_basic_auth", false)?;
    if let Some(h) = args.dict("headers")? {
        for (k, v) in h {
            r.headers
                .push((k, crate::values::to_str(&v).unwrap_or_default()));
        }
    }
    r.headers.push((
        "User-Agent".into(),
        args.str("http_agent")
            .unwrap_or_else(|| "ansible-httpget".into()),
    ));
    Ok(r)
}

fn failed_request(resp: &HttpResponse, url: &str, dest: &str) -> ModuleResult {
    if resp.status == -1 {
        return ModuleResult::failed(resp.msg.clone())
            .with("url", url)
            .with("dest", dest);
    }
    ModuleResult::failed("Request failed")
        .with("status_code", resp.status)
        .with("response", resp.msg.clone())
        .with("url", url)
        .with("dest", dest)
}

/// Fetches a checksum file on the host and picks the digest for the URL's file name.
async fn checksum_from_url(
    ctx: &ModuleCtx<'_>,
    args: &Args,
    url: &str,
    sum_url: &str,
    dest: &str,
) -> Result<Result<String, ModuleResult>, ModuleError> {
    let req = request(args, sum_url)?;
    let script = format!(
        "{PRELUDE}{}b=$(mktemp \"${{TMPDIR:-/tmp}}/.strata.XXXXXX\"); h=$(mktemp \"${{TMPDIR:-/tmp}}/.strata.XXXXXX\")\n\
         __h_req \"$b\" \"$h\"; __o rc \"$__h_rc\"; __o err \"$__h_err\"; __dump hdrs \"$h\"; __dump body \"$b\"; rm -f -- \"$b\" \"$h\"\n",
        req.shell_function()
    );
    let out = ctx.run(&script, None).await?;
    let stdout = out.stdout_str();
    let keys = parse_trailer(&out.stdout);
    let resp = parse_response(
        &block(&stdout, "hdrs").unwrap_or_default(),
        sum_url,
        keys.get("err").map(String::as_str).unwrap_or(""),
    );
    if resp.status != 200 && !sum_url.starts_with("file:/") {
        return Ok(Err(failed_request(&resp, sum_url, dest)));
    }
    let filename = url_filename(url);
    let body = block(&stdout, "body").unwrap_or_default();
    match parse_digest_lines(&filename, &body)
        .into_iter()
        .find(|(_, f)| *f == filename)
    {
        Some((d, _)) => Ok(normalize_hex(&d).map_err(ModuleResult::failed)),
        None => Ok(Err(ModuleResult::failed(format!(
            "Unable to find a checksum for file '{filename}' in '{sum_url}'"
        )))),
    }
}

/// First round trip: the existing-file decision and the download into a temp file.
fn fetch_script(
    req: &HttpRequest,
    dest: &str,
    force: bool,
    checksum: Option<(&str, &str)>,
    tmp_dest: Option<&str>,
) -> String {
    let (algo, hex) = checksum.unwrap_or(("", ""));
    format!(
        r#"{PRELUDE}{func}dest={dest}; force={force}; algo={algo}; ck={hex}; tdest={tdest}
isdir=0; if [ -d "$dest" ]; then isdir=1; fi; __o isdir "$isdir"
__h_ims=
if [ "$isdir" = 0 ] && [ -e "$dest" ]; then
  if [ "$force" = 0 ] && [ -n "$ck" ]; then
    d=$("${{algo}}sum" < "$dest" | cut -d' ' -f1)
    if [ "$d" = "$ck" ]; then __o skip 1; exit 0; fi
    force=1
  fi
  if [ "$force" = 0 ]; then __h_ims=$dest; fi
fi
if [ -n "$tdest" ]; then
  if [ ! -d "$tdest" ]; then
    if [ -e "$tdest" ]; then __o fail "$tdest is a file but should be a directory."; else __o fail "$tdest directory does not exist."; fi
    exit 0
  fi
  tdir=$tdest
elif [ "$isdir" = 1 ]; then tdir=${{dest%/}}; tdir=${{tdir:-/}}
else
  case $dest in */*) p=${{dest%/*}}; p=${{p:-/}};; *) p=.;; esac
  if [ -d "$p" ] && [ -w "$p" ]; then tdir=$p; else tdir=${{TMPDIR:-/tmp}}; fi
fi
tmp=$(mktemp "$tdir/.strata_get_url.XXXXXX") || {{ __o fail "could not create a temporary file in $tdir"; exit 0; }}
hdr=$(mktemp "${{TMPDIR:-/tmp}}/.strata.XXXXXX")
__h_req "$tmp" "$hdr"
__o rc "$__h_rc"; __o err "$__h_err"; __o status "$__h_status"; __dump hdrs "$hdr"; rm -f -- "$hdr"
if [ "$__h_rc" != 0 ] || [ "$__h_status" != 200 ]; then
  case {url} in file:/*) if [ "$__h_rc" != 0 ]; then rm -f -- "$tmp"; exit 0; fi;; *) rm -f -- "$tmp"; exit 0;; esac
fi
__o tmp "$tmp"; __o size "$(wc -c < "$tmp")"; __o sha1 "$(sha1sum < "$tmp" | cut -d' ' -f1)"
"#,
        func = req.shell_function(),
        dest = sh_quote(dest),
        force = force as u8,
        algo = sh_quote(algo),
        hex = sh_quote(hex),
        tdest = sh_quote(tmp_dest.unwrap_or("")),
        url = sh_quote(&req.url),
    )
}

/// Second round trip: verify, back up, rename over `dest`, then fix attributes.
struct Finish<'a> {
    dest: &'a str,
    tmp: &'a str,
    src_sha1: &'a str,
    checksum: Option<(&'a str, &'a str)>,
    backup: bool,
    attrs: &'a FileAttrs,
    check: bool,
}

fn finish_script(f: &Finish<'_>) -> String {
    let (algo, hex) = f.checksum.unwrap_or(("", ""));
    format!(
        r#"{PRELUDE}{fa}dest={dest}; tmp={tmp}; sha={sha}; algo={algo}; ck={hex}; C={c}; bk={bk}
__final() {{ if [ -e "$dest" ]; then __o final "$(stat -L -c '%a %u %g %s %U %G' -- "$dest")"; fi; }}
if [ -n "$tmp" ]; then
  if [ -e "$dest" ]; then
    if [ ! -w "$dest" ]; then rm -f -- "$tmp"; __o fail "Destination $dest is not writable"; exit 0; fi
    if [ ! -r "$dest" ]; then rm -f -- "$tmp"; __o fail "Destination $dest is not readable"; exit 0; fi
    __o checksum_dest "$(sha1sum < "$dest" | cut -d' ' -f1)"
  else
    case $dest in */*) p=${{dest%/*}}; p=${{p:-/}};; *) p=.;; esac
    if [ ! -d "$p" ]; then rm -f -- "$tmp"; __o fail "Destination $p does not exist"; exit 0; fi
    if [ ! -w "$p" ]; then rm -f -- "$tmp"; __o fail "Destination $p is not writable"; exit 0; fi
  fi
  if [ "$C" = 1 ]; then rm -f -- "$tmp"; __final; exit 0; fi
  if [ -n "$ck" ]; then
    d=$("${{algo}}sum" < "$tmp" | cut -d' ' -f1)
    if [ "$d" != "$ck" ]; then rm -f -- "$tmp"; __o fail "The checksum for $tmp did not match $ck; it was $d."; exit 0; fi
  fi
  if [ -e "$dest" ] && [ "$(sha1sum < "$dest" | cut -d' ' -f1)" = "$sha" ]; then
    rm -f -- "$tmp"
  else
    if [ -e "$dest" ]; then
      if [ "$bk" = 1 ]; then
        b="$dest.$$.$(date +%Y-%m-%d@%H:%M:%S)~"
        cp -p -- "$dest" "$b" || {{ rm -f -- "$tmp"; __o fail "Could not make backup of $dest to $b"; exit 0; }}
        __o backup_file "$b"
      fi
      chmod "$(stat -L -c %a -- "$dest")" "$tmp"; chown "$(stat -L -c %u:%g -- "$dest")" "$tmp" 2>/dev/null
    else
      chmod "$(printf %o $((0666 & ~0$(umask))))" "$tmp"
    fi
    e=$(mv -f -- "$tmp" "$dest" 2>&1) || {{ rm -f -- "$tmp"; __o fail "failed to copy $tmp to $dest: $e"; exit 0; }}
    __o moved 1
  fi
fi
__fa_C=$C; __fa_changed=0
if [ -e "$dest" ]; then __fa "$dest" {fa_args} || {{ __o fail "$__fa_err"; exit 0; }}; fi
__o attrs_changed "$__fa_changed"; __final
if [ "$C" = 0 ] && [ -e "$dest" ]; then __o md5sum "$(md5sum < "$dest" | cut -d' ' -f1)"; fi
"#,
        fa = fs_attrs::SCRIPT,
        dest = sh_quote(f.dest),
        tmp = sh_quote(f.tmp),
        sha = sh_quote(f.src_sha1),
        algo = sh_quote(algo),
        hex = sh_quote(hex),
        c = f.check as u8,
        bk = f.backup as u8,
        fa_args = fs_attrs::call_args(f.attrs),
    )
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let url = args.req_str("url")?;
    let dest = args.req_str("dest")?;
    let force = args.bool_or("force", false)?;
    let attrs = FileAttrs::from_args(args)?;
    let backup = args.bool_or("backup", false)?;
    let tmp_dest = args.str("tmp_dest");
    let base = |r: ModuleResult| {
        r.with("url", url.clone())
            .with("dest", dest.clone())
            .with("elapsed", 0)
    };
    let checksum = match parse_checksum(&args.str("checksum").unwrap_or_default()) {
        Err(e) => return Ok(base(ModuleResult::failed(e))),
        Ok(None) => None,
        Ok(Some(ChecksumSpec::Value { algo, hex })) => Some((algo, hex)),
        Ok(Some(ChecksumSpec::Url { algo, url: sum_url })) => {
            match checksum_from_url(ctx, args, &url, &sum_url, &dest).await? {
                Ok(hex) => Some((algo, hex)),
                Err(r) => return Ok(r),
            }
        }
    };
    let ck = checksum.as_ref().map(|(a, h)| (a.as_str(), h.as_str()));
    let mut req = request(args, &url)?;
    req.if_modified_since = true;
    req.no_cache = force;
    if ctx.check_mode {
        req.method = "HEAD".into();
    }
    let out = ctx
        .run(
            &fetch_script(&req, &dest, force, ck, tmp_dest.as_deref()),
            None,
        )
        .await?;
    let stdout = out.stdout_str();
    let keys = parse_trailer(&out.stdout);
    if let Some(f) = keys.get("fail") {
        return Ok(base(ModuleResult::failed(f.clone())));
    }
    let mut r = base(ModuleResult::ok())
        .with("checksum_dest", Value::Null)
        .with("checksum_src", Value::Null);
    let is_dir = keys.get("isdir").map(String::as_str) == Some("1");
    let skip = keys.contains_key("skip");
    let resp = if skip {
        None
    } else {
        let Some(hdrs) = block(&stdout, "hdrs") else {
            return Ok(base(ModuleResult::failed(format!(
                "get_url script failed: {}",
                out.stderr_str().trim()
            ))));
        };
        let resp = parse_response(
            &hdrs,
            &url,
            keys.get("err").map(String::as_str).unwrap_or(""),
        );
        if resp.status == 304 {
            return Ok(r.with("status_code", 304).msg(resp.msg));
        }
        let rc = keys.get("rc").map(String::as_str).unwrap_or("1");
        if resp.status != 200 && !(url.starts_with("file:/") && rc == "0") {
            return Ok(failed_request(&resp, &url, &dest).with("elapsed", 0));
        }
        if rc != "0" {
            let e = keys.get("err").cloned().unwrap_or_default();
            return Ok(base(ModuleResult::failed(format!("Request failed: {e}"))));
        }
        Some(resp)
    };
    let mut final_dest = dest.clone();
    if is_dir && let Some(resp) = &resp {
        let name = resp
            .header("content-disposition")
            .and_then(disposition_filename)
            .unwrap_or_else(|| url_filename(&resp.url));
        final_dest = format!("{}/{name}", dest.trim_end_matches('/'));
        r.data.insert("dest".into(), final_dest.clone().into());
    }
    let tmp = keys.get("tmp").cloned().unwrap_or_default();
    let sha = keys.get("sha1").cloned().unwrap_or_default();
    if !skip {
        r.data.insert("src".into(), tmp.clone().into());
        r.data.insert("checksum_src".into(), sha.clone().into());
    }
    let fin = Finish {
        dest: &final_dest,
        tmp: &tmp,
        src_sha1: &sha,
        checksum: ck,
        backup,
        attrs: &attrs,
        check: ctx.check_mode,
    };
    let out2 = ctx.run(&finish_script(&fin), None).await?;
    let k2 = parse_trailer(&out2.stdout);
    if let Some(f) = k2.get("fail") {
        let mut fr = ModuleResult::failed(f.clone());
        fr.data = r.data;
        return Ok(fr);
    }
    if let Some(d) = k2.get("checksum_dest") {
        r.data.insert("checksum_dest".into(), d.clone().into());
    }
    if let Some(a) = k2.get("final").and_then(|s| RemoteAttrs::parse(s)) {
        a.add_to(&mut r);
        r.data.insert("state".into(), "file".into());
    }
    if let Some(m) = k2.get("md5sum") {
        r.data.insert("md5sum".into(), m.clone().into());
    }
    if let Some(b) = k2.get("backup_file") {
        r.data.insert("backup_file".into(), b.clone().into());
    }
    let attrs_changed = k2.get("attrs_changed").map(String::as_str) == Some("1");
    if skip {
        r.changed = attrs_changed;
        r.msg = Some(if attrs_changed {
            "file already exists but file attributes changed".into()
        } else {
            "file already exists".into()
        });
        return Ok(r);
    }
    let resp = resp.expect("downloaded");
    if ctx.check_mode {
        r.changed = k2.get("checksum_dest") != Some(&sha);
        return Ok(r.msg(resp.msg));
    }
    r.changed = k2.contains_key("moved") || attrs_changed;
    Ok(r.with("status_code", resp.status).msg(resp.msg))
}

#[cfg(test)]
mod tests;
