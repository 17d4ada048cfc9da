//! HTTP requests made *on the target* for `get_url`, `uri` and `unarchive` (remote URLs), as
//! Ansible's modules make them from the host with urllib. Targets have no Python here, so the
//! request runs through `curl`, or `wget` when curl is missing; both command lines are built
//! from one [`HttpRequest`] and the script picks whichever the host has. Both tools dump the
//! response headers to a file in the same shape (status line + `Name: value` lines per hop),
//! which [`parse_response`] turns into Ansible's `info` values.

pub use crate::modules::toolkit::script_output::{PRELUDE, block};
use crate::shell::sh_quote;

/// When redirects are followed, as Ansible's `follow_redirects`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    None,
    /// Only for GET and HEAD (`safe`).
    Safe,
    All,
}

impl Follow {
    pub fn parse(s: &str) -> Result<Follow, String> {
        match s {
            "none" | "no" => Ok(Follow::None),
            "safe" => Ok(Follow::Safe),
            "all" | "yes" | "urllib2" => Ok(Follow::All),
            other => Err(format!(
                "value of follow_redirects must be one of: all, no, none, safe, urllib2, yes, got: {other}"
            )),
        }
    }
}

#[derive(Clone, Debug)]
pub struct HttpRequest {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    /// Whether a body is sent; it is read from the file named by the script's `$__h_body`.
    pub has_body: bool,
    pub timeout: i64,
    pub validate_certs: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    pub force_basic_auth: bool,
    pub follow: Follow,
    /// Send `If-Modified-Since` with the mtime of the file named by `$__h_ims` when it exists.
    pub if_modified_since: bool,
    /// `Cache-Control: no-cache` (Ansible's `force`).
    pub no_cache: bool,
}

impl HttpRequest {
    pub fn get(url: &str) -> Self {
        HttpRequest {
            url: url.to_string(),
            method: "GET".into(),
            headers: Vec::new(),
            has_body: false,
            timeout: 10,
            validate_certs: true,
            username: None,
            password: None,
            force_basic_auth: false,
            follow: Follow::All,
            if_modified_since: false,
            no_cache: false,
        }
    }

    fn follows(&self) -> bool {
        match self.follow {
            Follow::None => false,
            Follow::All => true,
            Follow::Safe => self.method == "GET" || self.method == "HEAD",
        }
    }

    /// curl's options as `(long name, value)` pairs. They reach curl as a config file on its
    /// stdin (`-K -`), never as arguments, since credentials, headers (a bearer token) and the
    /// URL (`user:pass@`) would otherwise show in the host's process list.
    fn curl_options(&self) -> Vec<(&'static str, Option<String>)> {
        let mut a: Vec<(&'static str, Option<String>)> =
            vec![("silent", None), ("show-error", None)];
        match self.method.as_str() {
            "HEAD" => a.push(("head", None)),
            "GET" if !self.has_body => {}
            "POST" if self.has_body => {}
            m => a.push(("request", Some(m.to_string()))),
        }
        if self.follows() {
            a.push(("location", None));
            a.push(("max-redirs", Some("10".into())));
        }
        // Ansible's timeout is a socket timeout: no progress for that long fails the request.
        let t = self.timeout.max(1).to_string();
        a.push(("connect-timeout", Some(t.clone())));
        a.push(("speed-limit", Some("1".into())));
        a.push(("speed-time", Some(t)));
        if !self.validate_certs {
            a.push(("insecure", None));
        }
        if let Some(u) = &self.username {
            a.push((
                if self.force_basic_auth {
                    "basic"
                } else {
                    "anyauth"
                },
                None,
            ));
            let pw = self.password.as_deref().unwrap_or("");
            a.push(("user", Some(format!("{u}:{pw}"))));
        }
        for (k, v) in &self.headers {
            a.push(("header", Some(format!("{k}: {v}"))));
        }
        // What Python's urllib sends unless told otherwise (servers may answer on them), in
        // place of curl's `Accept: */*`.
        for (k, v) in [
            ("Accept", ""),
            ("Accept-Encoding", " identity"),
            ("Connection", " close"),
        ] {
            if !self.headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(k)) {
                a.push(("header", Some(format!("{k}:{v}"))));
            }
        }
        if self.no_cache {
            a.push(("header", Some("Cache-Control: no-cache".into())));
        }
        a.push(("url", Some(self.url.clone())));
        a
    }

    /// The curl config file: one `--name "value"` per line, quoted as curl's config parser
    /// reads it, so no value can start another option.
    fn curl_config(&self) -> String {
        let mut out = String::new();
        for (name, value) in self.curl_options() {
            out.push_str("--");
            out.push_str(name);
            if let Some(v) = value {
                out.push_str(" \"");
                for c in v.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '"' => out.push_str("\\\""),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            out.push('\n');
        }
        out
    }

    /// wget's arguments that carry nothing private; credentials and headers go in a wgetrc
    /// (see [`HttpRequest::wgetrc`]) and the URL on stdin.
    fn wget_args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec!["-nv".into(), "-S".into(), "--content-on-error".into()];
        match (self.method.as_str(), self.has_body) {
            ("HEAD", _) => a.push("--method=HEAD".into()),
            ("GET", false) => {}
            (m, _) => a.push(format!("--method={m}")),
        }
        if !self.follows() {
            a.push("--max-redirect=0".into());
        }
        a.push(format!("--timeout={}", self.timeout.max(1)));
        a.push("--tries=1".into());
        if !self.validate_certs {
            a.push("--no-check-certificate".into());
        }
        if self.username.is_some() && self.force_basic_auth {
            a.push("--auth-no-challenge".into());
        }
        a.into_iter().map(|s| sh_quote(&s)).collect()
    }

    /// wget's startup file with the credentials and headers: wgetrc has no quoting, a value
    /// runs to the end of its line, so line breaks are flattened to spaces.
    fn wgetrc(&self) -> String {
        let one_line = |s: &str| s.replace(['\n', '\r'], " ");
        let mut out = String::new();
        if let Some(u) = &self.username {
            out.push_str(&format!("user = {}\n", one_line(u)));
            let pw = self.password.as_deref().unwrap_or("");
            out.push_str(&format!("password = {}\n", one_line(pw)));
        }
        for (k, v) in &self.headers {
            out.push_str(&format!("header = {}: {}\n", one_line(k), one_line(v)));
        }
        if self.no_cache {
            out.push_str("header = Cache-Control: no-cache\n");
        }
        out
    }

    /// A shell function `__h_req OUT HDR`: performs the request, writes the body to OUT and the
    /// header dump to HDR; sets `__h_rc` (the tool's exit code), `__h_err` (its error text),
    /// `__h_status` (-1 when no response arrived) and `__h_tool`. The caller sets `$__h_body`
    /// (a file with the request body) and `$__h_ims` (a file whose mtime is sent).
    pub fn shell_function(&self) -> String {
        let ims_header = "\"If-Modified-Since: $(LC_ALL=C date -u -r \"$__h_ims\" '+%a, %d %b %Y %H:%M:%S GMT')\"";
        let (curl_ims, wget_ims) = if self.if_modified_since {
            (
                format!(
                    "if [ -n \"$__h_ims\" ] && [ -e \"$__h_ims\" ]; then set -- \"$@\" -H {ims_header}; fi\n"
                ),
                format!(
                    "if [ -n \"$__h_ims\" ] && [ -e \"$__h_ims\" ]; then set -- \"$@\" --header={ims_header}; fi\n"
                ),
            )
        } else {
            (String::new(), String::new())
        };
        let curl_body = if self.has_body {
            " --data-binary \"@$__h_body\""
        } else {
            ""
        };
        let wget_body = if self.has_body {
            "set -- \"$@\" --body-file=\"$__h_body\"\n"
        } else {
            ""
        };
        // The config and the URL travel in quoted here-documents: the shell hands them to the
        // tool through a pipe, so they appear in no process's arguments. Their lines are
        // escaped or flattened, so none can equal the terminator.
        format!(
            "__h_req() {{\n\
             __h_o=$1; __h_h=$2; __h_status=-1; __h_err=\n\
             if command -v curl >/dev/null 2>&1; then\n\
             __h_tool=curl; set --\n{curl_ims}\
             __h_err=$(curl -K - \"$@\"{curl_body} -o \"$__h_o\" -D \"$__h_h\" 2>&1 >/dev/null <<'__STRATA_CURLRC__'\n\
             {curl_config}__STRATA_CURLRC__\n\
             ); __h_rc=$?\n\
             elif command -v wget >/dev/null 2>&1; then\n\
             __h_tool=wget; set --\n{wget_ims}{wget_body}\
             __h_cfg=$(umask 077; mktemp) || {{ __h_rc=1; __h_err='cannot create a temporary file'; return; }}\n\
             cat > \"$__h_cfg\" <<'__STRATA_WGETRC__'\n\
             {wgetrc}__STRATA_WGETRC__\n\
             wget --config=\"$__h_cfg\" {wget} \"$@\" -O \"$__h_o\" -i - 2>\"$__h_h\" <<'__STRATA_URL__'\n\
             {url}\n\
             __STRATA_URL__\n\
             __h_rc=$?; rm -f \"$__h_cfg\"\n\
             __h_err=$(grep -v '^  ' \"$__h_h\" | grep -v '^[0-9-]* [0-9:]* URL:' | tail -n 1)\n\
             else\n\
             __h_tool=none; __h_rc=127; __h_err='neither curl nor wget is installed on the target host: one of them is needed to make HTTP requests'; return\n\
             fi\n\
             __h_status=$(sed -n 's/^ *HTTP\\/[0-9.]* \\([0-9][0-9][0-9]\\).*/\\1/p' \"$__h_h\" | tail -n 1)\n\
             if [ -z \"$__h_status\" ]; then __h_status=-1; fi\n\
             }}\n",
            curl_config = self.curl_config(),
            wgetrc = self.wgetrc(),
            url = self.url.replace(['\n', '\r'], ""),
            wget = self.wget_args().join(" "),
        )
    }
}

/// One response as Ansible's `fetch_url` reports it in `info`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpResponse {
    /// -1 when no HTTP response arrived (connection refused, timeout, DNS).
    pub status: i64,
    pub reason: String,
    /// The final response's headers, names lowercased, repeated names joined with `, `.
    pub headers: Vec<(String, String)>,
    /// The URL finally answered, after redirects.
    pub url: String,
    /// Ansible's `msg`: `OK (N bytes)`, `HTTP Error 404: Not Found`, `Request failed: ...`.
    pub msg: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One response in a redirect chain: status, reason, headers.
type Hop = (i64, String, Vec<(String, String)>);

/// Parses a header dump (curl `-D` or wget `-S`) into the final hop's status and headers.
/// `tool_error` is the tool's own message, used when no status line arrived.
pub fn parse_response(dump: &str, orig_url: &str, tool_error: &str) -> HttpResponse {
    let mut url = orig_url.to_string();
    let mut blocks: Vec<Hop> = Vec::new();
    let wget_style = dump.lines().any(|l| l.starts_with("  HTTP/"));
    for raw in dump.lines() {
        let line = raw.trim_end_matches('\r');
        let l = line.trim_start();
        if l.starts_with("HTTP/") {
            let mut parts = l.splitn(3, ' ');
            parts.next();
            let code = parts.next().and_then(|c| c.parse().ok()).unwrap_or(-1);
            let reason = parts.next().unwrap_or("").trim().to_string();
            blocks.push((code, reason, Vec::new()));
            continue;
        }
        // wget mixes its own log lines in; headers are the indented ones.
        if (line.starts_with(' ') || !wget_style)
            && let (Some(b), Some((k, v))) = (blocks.last_mut(), l.split_once(':'))
            && !k.is_empty()
            && !k.contains(' ')
        {
            b.2.push((k.to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    // Follow the Location chain for the effective URL.
    for (i, (code, _, hs)) in blocks.iter().enumerate() {
        if (300..400).contains(code)
            && i + 1 < blocks.len()
            && let Some((_, loc)) = hs.iter().find(|(k, _)| k == "location")
        {
            url = url_join(&url, loc);
        }
    }
    let Some((status, reason, hs)) = blocks.pop() else {
        let e = tool_error.trim();
        let e = e.strip_prefix("curl: ").unwrap_or(e);
        return HttpResponse {
            status: -1,
            url,
            msg: format!("Request failed: {e}"),
            ..Default::default()
        };
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for (k, v) in hs {
        match headers.iter_mut().find(|(hk, _)| *hk == k) {
            Some((_, hv)) => {
                hv.push_str(", ");
                hv.push_str(&v);
            }
            None => headers.push((k, v)),
        }
    }
    let msg = if (200..300).contains(&status) {
        let len = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "unknown".into());
        format!("OK ({len} bytes)")
    } else {
        format!("HTTP Error {status}: {reason}")
    };
    HttpResponse {
        status,
        reason,
        headers,
        url,
        msg,
    }
}

/// `urljoin` for a redirect target: absolute, scheme-relative, absolute-path or relative.
pub fn url_join(base: &str, loc: &str) -> String {
    if loc.contains("://") {
        return loc.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(l) = loc.strip_prefix("//") {
        return format!("{scheme}://{l}");
    }
    let host_end = rest.find('/').unwrap_or(rest.len());
    let host = &rest[..host_end];
    if loc.starts_with('/') {
        return format!("{scheme}://{host}{loc}");
    }
    let path = rest[host_end..].split(['?', '#']).next().unwrap_or("");
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    format!("{scheme}://{host}{dir}{loc}")
}

/// The last path component of a URL, or `index.html` (get_url's `url_filename`).
pub fn url_filename(url: &str) -> String {
    let rest = url.split_once("://").map(|x| x.1).unwrap_or(url);
    let path = rest
        .find('/')
        .map(|i| &rest[i..])
        .unwrap_or("")
        .split(['?', '#'])
        .next()
        .unwrap_or("");
    match path.rsplit('/').next() {
        Some(f) if !f.is_empty() => f.to_string(),
        _ => "index.html".into(),
    }
}

/// The `filename` parameter of a `Content-Disposition` header, without any directory.
pub fn disposition_filename(h: &str) -> Option<String> {
    h.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("filename") {
            return None;
        }
        let v = v.trim().trim_matches('"');
        let base = v.rsplit('/').next().unwrap_or(v);
        (!base.is_empty()).then(|| base.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_dump_with_redirect_gives_final_status_and_url() {
        let dump = "HTTP/1.1 302 Found\r\nLocation: /files/a.txt\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\n";
        let r = parse_response(dump, "http://h:8/redirect?to=/files/a.txt", "");
        assert_eq!(r.status, 200);
        assert_eq!(r.url, "http://h:8/files/a.txt");
        assert_eq!(r.msg, "OK (5 bytes)");
        assert_eq!(r.header("content-type"), Some("text/plain"));
        assert_eq!(r.header("x-a"), Some("1, 2"));
    }

    #[test]
    fn wget_dump_ignores_log_lines() {
        let dump = "  HTTP/1.1 404 Not Found\n  Content-Length: 9\n  Server: t\n2024-01-01 10:00:00 ERROR 404: Not Found.\n";
        let r = parse_response(dump, "http://h/x", "");
        assert_eq!(r.status, 404);
        assert_eq!(r.msg, "HTTP Error 404: Not Found");
        assert_eq!(r.header("server"), Some("t"));
        assert_eq!(r.headers.len(), 2);
    }

    #[test]
    fn no_response_is_status_minus_one() {
        let r = parse_response(
            "",
            "http://h/x",
            "curl: (7) Failed to connect to h port 80: Connection refused\n",
        );
        assert_eq!(r.status, -1);
        assert_eq!(
            r.msg,
            "Request failed: (7) Failed to connect to h port 80: Connection refused"
        );
    }

    #[test]
    fn prelude_dumps_and_folds() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{PRELUDE}printf 'a\\nb' > /tmp/.strata-prelude-$$; __o k \"x\ny\"; __dump f /tmp/.strata-prelude-$$; rm -f /tmp/.strata-prelude-$$"))
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(s.contains("__strata_k=x y\n"), "{s}");
        assert_eq!(block(&s, "f").as_deref(), Some("a\nb"));
    }

    #[test]
    fn url_helpers() {
        assert_eq!(url_join("http://a/b/c?x", "d"), "http://a/b/d");
        assert_eq!(url_join("http://a/b/c", "/d"), "http://a/d");
        assert_eq!(url_join("https://a/b", "//e/f"), "https://e/f");
        assert_eq!(url_filename("http://a/b/c.tgz?x=1"), "c.tgz");
        assert_eq!(url_filename("http://a/"), "index.html");
        assert_eq!(url_filename("http://a"), "index.html");
        assert_eq!(
            disposition_filename("attachment; filename=\"../x.bin\""),
            Some("x.bin".into())
        );
    }

    #[test]
    fn request_function_runs_in_sh_without_tools() {
        let f = HttpRequest::get("http://127.0.0.1:9/x").shell_function();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("PATH=/nonexistent; {f} __h_req /dev/null /dev/null; echo \"$__h_rc $__h_status $__h_err\""))
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(s.starts_with("127 -1 neither curl nor wget"), "{s}");
    }

    #[test]
    fn curl_config_follows_ansible_options() {
        let mut r = HttpRequest::get("http://x/");
        r.method = "POST".into();
        r.has_body = true;
        r.follow = Follow::Safe;
        r.username = Some("u".into());
        r.password = Some("p \"w\\".into());
        r.force_basic_auth = true;
        let a = r.curl_config();
        assert!(!a.contains("--location"), "{a}");
        assert!(a.contains("--basic\n--user \"u:p \\\"w\\\\\"\n"), "{a}");
        assert!(!a.contains("--request"), "{a}");
        assert!(a.ends_with("--url \"http://x/\"\n"), "{a}");
        r.method = "PUT".into();
        assert!(r.curl_config().contains("--request \"PUT\"\n"));
        // urllib's default headers, unless the task sets its own.
        assert!(
            a.contains("--header \"Accept:\"\n--header \"Accept-Encoding: identity\"\n--header \"Connection: close\""),
            "{a}"
        );
        r.headers = vec![("accept".into(), "text/html".into())];
        let a = r.curl_config();
        assert!(
            a.contains("--header \"accept: text/html\"\n--header \"Accept-Encoding: identity\""),
            "{a}"
        );
    }

    #[test]
    fn nothing_private_in_the_function_outside_here_documents() {
        let mut r = HttpRequest::get("http://user:token-1@x/");
        r.username = Some("u".into());
        r.password = Some("token-2".into());
        r.headers = vec![("Authorization".into(), "Bearer token-3".into())];
        let f = r.shell_function();
        for line in f.lines().filter(|l| l.contains("token-")) {
            assert!(
                line.starts_with("--")
                    || line.starts_with("password = ")
                    || line.starts_with("header = ")
                    || line.starts_with("http://"),
                "a secret outside a here-document: {line}"
            );
        }
    }
}
