//! `uri`: one HTTP request made *on the host* (curl, else wget), reported as Ansible's `uri`
//! does: `status`, `msg`, every response header as a lowercased top-level key, `json` for JSON
//! responses, `content` on request. Only writing `dest` is a change; `uri` has no check mode in
//! Ansible (its action plugin skips the task), and neither does it here.

use crate::values::python_json;
use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::http_client::url_join;
use super::http_client::{Follow, HttpRequest, PRELUDE, block, parse_response};
use crate::modules::toolkit::atomic_write::{FileAttrs, RemoteAttrs, parse_trailer};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Fixed, Param, ParamType as T, toolkit::fs_attrs};
use crate::shell::sh_quote;

pub struct Uri;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "uri",
    params: &[
        Param::new("url", T::Str).required(),
        Param::new("method", T::Str),
        Param::new("body", T::Raw),
        Param::new("src", T::Str),
        Param::new("remote_src", T::Bool),
        Param::new("body_format", T::Str).choices(&["raw", "json", "form-urlencoded"]),
        Param::new("status_code", T::List),
        Param::new("return_content", T::Bool),
        Param::new("headers", T::Dict),
        Param::new("timeout", T::Int),
        Param::new("url_username", T::Str).aliases(&["user"]),
        Param::new("url_password", T::Str).aliases(&["password"]),
        Param::new("force_basic_auth", T::Bool),
        Param::new("follow_redirects", T::Str)
            .choices(&["all", "no", "none", "safe", "urllib2", "yes"]),
        Param::new("dest", T::Str),
        Param::new("creates", T::Str),
        Param::new("removes", T::Str),
        Param::new("validate_certs", T::Bool),
        Param::new("mode", T::Mode),
        Param::new("owner", T::Str),
        Param::new("group", T::Str),
        Param::new("use_proxy", T::Bool).only(Fixed::Bool(true)),
        Param::new("http_agent", T::Str),
        Param::new("force", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[&["body", "src"]],
    required_one_of: &[],
    any_params: false,
};

impl Module for Uri {
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

/// `urllib.parse.quote_plus`.
fn quote_plus(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) => out.push(b as char),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn py_str(v: &Value) -> String {
    crate::values::to_str(v).unwrap_or_default()
}

/// Ansible's `form_urlencoded`: a dict or a list of pairs; list values repeat the key.
pub fn form_urlencoded(body: &Value) -> Result<String, String> {
    let pairs: Vec<(String, Value)> = match body {
        Value::String(s) => return Ok(s.clone()),
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Value::Array(a) => a
            .iter()
            .map(|p| match p {
                Value::Array(kv) if kv.len() == 2 => Ok((py_str(&kv[0]), kv[1].clone())),
                _ => Err(
                    "failed to parse body as form_urlencoded: expected key-value pairs".to_string(),
                ),
            })
            .collect::<Result<_, _>>()?,
        other => return Ok(py_str(other)),
    };
    let mut out = Vec::new();
    for (k, v) in pairs {
        let vals = match v {
            Value::Array(a) => a,
            Value::Null => vec![],
            v => vec![v],
        };
        for v in vals.iter().filter(|v| !v.is_null()) {
            out.push(format!("{}={}", quote_plus(&k), quote_plus(&py_str(v))));
        }
    }
    Ok(out.join("&"))
}

/// Python's repr of the accepted status list, as in Ansible's failure message.
fn status_list(codes: &[i64]) -> String {
    format!(
        "[{}]",
        codes
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn is_json_type(ct: &str) -> bool {
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let sub = mime.split_once('/').map(|x| x.1).unwrap_or("");
    let sub = sub.split_once('+').map(|x| x.1).unwrap_or(sub);
    sub == "json" || sub == "javascript"
}

struct Plan {
    req: HttpRequest,
    body: Option<Vec<u8>>,
    /// `src` with `remote_src`: the body is this file on the host.
    remote_body: Option<String>,
    codes: Vec<i64>,
    return_content: bool,
    dest: Option<String>,
    attrs: FileAttrs,
}

fn plan(args: &Args) -> Result<Result<Plan, String>, ModuleError> {
    let url = args.req_str("url")?;
    let method = args.str("method").unwrap_or_else(|| "GET".into());
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Ok(Err(
            "Parameter 'method' needs to be a single word in uppercase, like GET or POST.".into(),
        ));
    }
    let mut req = HttpRequest::get(&url);
    req.method = method;
    req.timeout = args.int("timeout")?.unwrap_or(30);
    req.validate_certs = args.bool_or("validate_certs", true)?;
    req.username = args.str("url_username");
    req.password = args.str("url_password");
    req.force_basic_auth = args.bool_or("force_basic_auth", false)?;
    req.follow = Follow::parse(
        &args
            .str("follow_redirects")
            .unwrap_or_else(|| "safe".into()),
    )
    .map_err(ModuleError::Args)?;
    req.no_cache = args.bool_or("force", false)?;
    let mut headers: Vec<(String, String)> = args
        .dict("headers")?
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, py_str(&v)))
        .collect();
    let has_ct = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    let format = args.str("body_format").unwrap_or_else(|| "raw".into());
    let body = match (args.get("body"), format.as_str()) {
        (None, "json") | (None, "form-urlencoded") | (None, _) => None,
        (Some(Value::String(s)), "json") => Some(s.clone()),
        (Some(v), "json") => Some(python_json(v)),
        (Some(v), "form-urlencoded") => match form_urlencoded(v) {
            Ok(s) => Some(s),
            Err(e) => return Ok(Err(e)),
        },
        (Some(Value::String(s)), _) => Some(s.clone()),
        (Some(v), _) => Some(python_json(v)),
    };
    if !has_ct {
        match format.as_str() {
            "json" => headers.push(("Content-Type".into(), "application/json".into())),
            "form-urlencoded" => headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )),
            _ => {}
        }
    }
    headers.push((
        "User-Agent".into(),
        args.str("http_agent")
            .unwrap_or_else(|| "ansible-httpget".into()),
    ));
    req.headers = headers;
    let remote_body = match args.str("src") {
        Some(s) if args.bool_or("remote_src", false)? => Some(s),
        _ => None,
    };
    req.has_body = body.is_some() || remote_body.is_some();
    let mut codes = Vec::new();
    for c in args
        .list("status_code")?
        .unwrap_or_else(|| vec![200.into()])
    {
        match crate::values::to_str(&c).and_then(|s| s.trim().parse::<i64>().ok()) {
            Some(n) => codes.push(n),
            None => {
                return Err(ModuleError::Args(format!(
                    "Elements value for option 'status_code' is of type {} and we were unable to convert to int",
                    crate::values::type_name(&c)
                )));
            }
        }
    }
    let dest = args.str("dest");
    req.if_modified_since = dest.is_some();
    Ok(Ok(Plan {
        req,
        body: body.map(String::into_bytes),
        remote_body,
        codes,
        return_content: args.bool_or("return_content", false)?,
        dest,
        attrs: FileAttrs::from_args(args)?,
    }))
}

fn script(p: &Plan, creates: Option<&str>, removes: Option<&str>) -> String {
    let codes: Vec<String> = p.codes.iter().map(|c| c.to_string()).collect();
    let dest_name = super::http_client::url_filename(&p.req.url);
    format!(
        r#"{PRELUDE}{func}{fa}creates={creates}; removes={removes}; dest={dest}; codes=' {codes} '; rc_all={rc}
if [ -n "$creates" ] && [ -e "$creates" ]; then __o skip "skipped, since $creates exists"; exit 0; fi
if [ -n "$removes" ] && [ ! -e "$removes" ]; then __o skip "skipped, since $removes does not exist"; exit 0; fi
__h_body={remote_body}; tmp_body=
if [ -z "$__h_body" ] && [ {has_body} = 1 ]; then __h_body=$(mktemp "${{TMPDIR:-/tmp}}/.strata.XXXXXX"); tmp_body=$__h_body; cat > "$__h_body"; fi
if [ -n "$dest" ] && [ -d "$dest" ]; then dest="${{dest%/}}/"{dest_name}; fi
tdir=${{TMPDIR:-/tmp}}
if [ -n "$dest" ]; then
  case $dest in */*) p=${{dest%/*}}; p=${{p:-/}};; *) p=.;; esac
  if [ -d "$p" ] && [ -w "$p" ]; then tdir=$p; fi
  __h_ims=$dest
fi
b=$(mktemp "$tdir/.strata_uri.XXXXXX"); h=$(mktemp "${{TMPDIR:-/tmp}}/.strata.XXXXXX")
__h_req "$b" "$h"
if [ -n "$tmp_body" ]; then rm -f -- "$tmp_body"; fi
__o rc "$__h_rc"; __o err "$__h_err"; __dump hdrs "$h"
ok=0; case $codes in *" $__h_status "*) ok=1;; esac
if [ -z "$dest" ] || [ "$rc_all" = 1 ] || [ "$ok" = 0 ] || grep -qi '^ *content-type:.*\(json\|javascript\)' "$h"; then __dump body "$b"; fi
rm -f -- "$h"
if [ -n "$dest" ] && [ "$ok" = 1 ] && [ "$__h_status" != 304 ] && [ "$__h_rc" = 0 ]; then
  __o path "$dest"
  if [ -e "$dest" ] && cmp -s -- "$b" "$dest"; then rm -f -- "$b"
  else
    if [ -e "$dest" ]; then chmod "$(stat -L -c %a -- "$dest")" "$b"; chown "$(stat -L -c %u:%g -- "$dest")" "$b" 2>/dev/null
    else chmod "$(printf %o $((0666 & ~0$(umask))))" "$b"; fi
    e=$(mv -f -- "$b" "$dest" 2>&1) || {{ rm -f -- "$b"; __o fail "failed to copy $b to $dest: $e"; exit 0; }}
  fi
  __fa_C=0; __fa_changed=0
  __fa "$dest" {fa_args} || {{ __o fail "$__fa_err"; exit 0; }}
  __o final "$(stat -L -c '%a %u %g %s %U %G' -- "$dest")"
else
  rm -f -- "$b"
fi
"#,
        func = p.req.shell_function(),
        fa = fs_attrs::SCRIPT,
        creates = sh_quote(creates.unwrap_or("")),
        removes = sh_quote(removes.unwrap_or("")),
        dest = sh_quote(p.dest.as_deref().unwrap_or("")),
        codes = codes.join(" "),
        rc = p.return_content as u8,
        has_body = p.body.is_some() as u8,
        remote_body = sh_quote(p.remote_body.as_deref().unwrap_or("")),
        dest_name = sh_quote(&dest_name),
        fa_args = fs_attrs::call_args(&p.attrs),
    )
}

/// `Set-Cookie` values as Ansible's `cookies` dict and `cookies_string`.
fn cookies(set_cookie: Option<&str>) -> (Map<String, Value>, String) {
    let mut m = Map::new();
    let mut pairs = Vec::new();
    if let Some(sc) = set_cookie {
        for part in sc.split(", ") {
            if let Some((k, v)) = part.split(';').next().and_then(|c| c.split_once('='))
                && !k.trim().is_empty()
                && !k.contains(' ')
            {
                m.insert(k.trim().into(), v.trim().into());
                pairs.push(format!("{}={}", k.trim(), v.trim()));
            }
        }
    }
    (m, pairs.join("; "))
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    if ctx.check_mode {
        let mut r = ModuleResult::ok().msg("This action (uri) does not support check mode.");
        r.skipped = true;
        return Ok(r);
    }
    let mut p = match plan(args)? {
        Ok(p) => p,
        Err(msg) => return Ok(ModuleResult::failed(msg).with("elapsed", 0)),
    };
    // `src` on the controller, found as `copy` finds it, is sent as the body.
    if let Some(src) = args.str("src")
        && p.remote_body.is_none()
    {
        let path = ctx.search.find_local("files", &src)?;
        let data = std::fs::read(&path)
            .map_err(|e| ModuleError::Args(format!("Could not find or access '{src}': {e}")))?;
        p.body = Some(data);
        p.req.has_body = true;
    }
    let (creates, removes) = (args.str("creates"), args.str("removes"));
    let out = ctx
        .run(
            &script(&p, creates.as_deref(), removes.as_deref()),
            p.body.as_deref(),
        )
        .await?;
    let stdout = out.stdout_str();
    let keys = parse_trailer(&out.stdout);
    if let Some(s) = keys.get("skip") {
        return Ok(ModuleResult::ok().with("stdout", s.clone()));
    }
    let Some(hdrs) = block(&stdout, "hdrs") else {
        return Ok(ModuleResult::failed(format!(
            "uri script failed: {}",
            out.stderr_str().trim()
        )));
    };
    let url = p.req.url.clone();
    let resp = parse_response(
        &hdrs,
        &url,
        keys.get("err").map(String::as_str).unwrap_or(""),
    );
    let mut r = ModuleResult::ok();
    for (k, v) in &resp.headers {
        r.data.insert(k.replace('-', "_"), v.clone().into());
    }
    let (cdict, cstr) = cookies(resp.header("set-cookie"));
    r.data.insert("cookies".into(), Value::Object(cdict));
    r.data.insert("cookies_string".into(), cstr.into());
    r.data.insert("redirected".into(), (resp.url != url).into());
    r.data.insert("url".into(), resp.url.clone().into());
    r.data.insert("status".into(), resp.status.into());
    r.data.insert("elapsed".into(), 0.into());
    if let Some(loc) = resp.header("location") {
        r.data.insert("location".into(), url_join(&url, loc).into());
    }
    let content = block(&stdout, "body");
    let maybe_json = resp.header("content-type").is_some_and(is_json_type);
    if maybe_json
        && let Some(c) = &content
        && let Ok(j) = serde_json::from_str::<Value>(c)
    {
        r.data.insert("json".into(), j);
    }
    if let Some(f) = keys.get("fail") {
        r.failed = true;
        r.msg = Some(f.clone());
        return Ok(r);
    }
    if let Some(path) = keys.get("path") {
        r.data.insert("path".into(), path.clone().into());
        r.changed = true;
        if let Some(a) = keys.get("final").and_then(|s| RemoteAttrs::parse(s)) {
            a.add_to(&mut r);
            r.data.insert("state".into(), "file".into());
        }
    }
    let ok = p.codes.contains(&resp.status);
    if p.return_content {
        r.data
            .insert("content".into(), content.unwrap_or_default().into());
    }
    if !ok {
        r.failed = true;
        r.msg = Some(format!(
            "Status code was {} and not {}: {}",
            resp.status,
            status_list(&p.codes),
            resp.msg
        ));
    } else {
        r.msg = Some(resp.msg);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_bodies_match_python() {
        assert_eq!(
            python_json(&json!({"a": [1, true, null], "b": "é\"x"})),
            r#"{"a": [1, true, null], "b": "\u00e9\"x"}"#
        );
    }

    #[test]
    fn form_bodies_match_urlencode() {
        assert_eq!(
            form_urlencoded(&json!({"name": "a b", "tags": ["x&y", "z"], "n": 1, "t": true}))
                .unwrap(),
            "name=a+b&tags=x%26y&tags=z&n=1&t=True"
        );
        assert_eq!(form_urlencoded(&json!("raw=1")).unwrap(), "raw=1");
    }

    #[test]
    fn status_list_and_json_types() {
        assert_eq!(status_list(&[200]), "[200]");
        assert_eq!(status_list(&[200, 201]), "[200, 201]");
        assert!(is_json_type("application/json; charset=utf-8"));
        assert!(is_json_type("application/problem+json"));
        assert!(is_json_type("text/javascript"));
        assert!(!is_json_type("text/plain"));
    }

    #[test]
    fn bad_method_is_rejected() {
        let a = Args::new(
            json!({"url": "http://x/", "method": "get"})
                .as_object()
                .unwrap()
                .clone(),
        );
        let e = plan(&a).unwrap().err().unwrap();
        assert!(e.starts_with("Parameter 'method' needs to be a single word"));
    }

    #[test]
    fn remote_src_is_the_body_file() {
        let args = |v: Value| Args::new(v.as_object().unwrap().clone());
        let a = args(
            json!({"url": "http://x/", "method": "POST", "src": "/etc/b d", "remote_src": true}),
        );
        let p = plan(&a).unwrap().unwrap();
        assert!(p.req.has_body && p.body.is_none());
        assert!(script(&p, None, None).contains("__h_body='/etc/b d'; tmp_body="));
        // Without remote_src the controller's file is read when the task runs.
        let p = plan(&args(json!({"url": "http://x/", "src": "b"})))
            .unwrap()
            .unwrap();
        assert!(!p.req.has_body && p.remote_body.is_none());
    }

    #[test]
    fn cookies_are_split() {
        let (m, s) = cookies(Some("a=1; Path=/, b=2"));
        assert_eq!(m["a"], json!("1"));
        assert_eq!(s, "a=1; b=2");
    }

    #[tokio::test]
    async fn check_mode_skips_and_creates_short_circuits() {
        use crate::modules::harness::{Run, Scratch, run_module};
        let r = run_module(&Uri, json!({"url": "http://127.0.0.1:9/"}), Run::check()).await;
        assert!(r.skipped && !r.changed);
        let d = Scratch::new("uri");
        std::fs::write(d.path("done"), "").unwrap();
        let r = run_module(
            &Uri,
            json!({"url": "http://127.0.0.1:9/", "creates": d.s("done")}),
            Run::default(),
        )
        .await;
        assert!(!r.failed && !r.changed, "{:?}", r.msg);
        assert_eq!(
            r.data["stdout"],
            json!(format!("skipped, since {} exists", d.s("done")))
        );
    }

    #[tokio::test]
    async fn file_url_with_dest_writes_and_connection_refused_fails() {
        use crate::modules::harness::{Run, Scratch, read, run_module};
        let d = Scratch::new("uri2");
        std::fs::write(d.path("src.json"), "{\"k\": 2}").unwrap();
        let r = run_module(
            &Uri,
            json!({"url": "http://127.0.0.1:9/x", "timeout": 2}),
            Run::default(),
        )
        .await;
        assert!(r.failed);
        let msg = r.msg.unwrap();
        assert!(
            msg.starts_with("Status code was -1 and not [200]: Request failed: "),
            "{msg}"
        );
        assert_eq!(r.data["status"], json!(-1));
        let r = run_module(
            &Uri,
            json!({"url": format!("file://{}", d.s("src.json")), "dest": d.s("out.json"), "status_code": [-1, 200]}),
            Run::default(),
        )
        .await;
        assert!(!r.failed, "{:?}", r.msg);
        assert!(r.changed);
        assert_eq!(read(&d.path("out.json")), "{\"k\": 2}");
    }
}
