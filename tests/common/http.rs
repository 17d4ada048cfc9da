//! A small real HTTP/1.1 server for tests: lab hosts download packages, archives and files from
//! it over the bridge, and `uri`/`get_url` talk to it. It runs on std threads so any test can
//! start one without a runtime, and it logs every request so tests can assert what a module sent.
//!
//! Routes besides static files under `root` (GET/HEAD):
//! - `/status/<code>`: replies `<code>` with a short text body;
//! - `/echo` (any method): replies JSON `{"method","path","query","headers","body"}`;
//! - `/auth/<user>/<pass>/<file>`: serves `<file>` only with matching Basic auth, else 401;
//! - `/auth-file/<file>`: the same, with `user:pass` read from `<root>/.login` (so the password
//!   is in no URL: a git checkout's credentials are tested this way);
//! - `/slow/<secs>`: sleeps, then replies 200;
//! - `/redirect?to=<path>`: replies 302 to `<path>`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Header names lowercased.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

pub struct HttpServer {
    pub addr: SocketAddr,
    pub root: PathBuf,
    log: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl HttpServer {
    /// Serves `root` on `ip` at an ephemeral port until the server is dropped.
    pub fn start(ip: &str, root: &Path) -> HttpServer {
        let listener = TcpListener::bind((ip, 0))
            .unwrap_or_else(|e| panic!("cannot bind a test HTTP server on {ip}: {e}"));
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (root2, log2, stop2) = (root.to_path_buf(), log.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (root, log) = (root2.clone(), log2.clone());
                std::thread::spawn(move || serve_connection(conn, &root, &log));
            }
        });
        HttpServer {
            addr,
            root: root.to_path_buf(),
            log,
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        let path = path.strip_prefix('/').unwrap_or(path);
        format!("http://{}/{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag and closes the listener.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }
    fn text(status: u16, body: &str) -> Reply {
        Reply::new(status, "text/plain", format!("{body}\n"))
    }
}

fn serve_connection(conn: TcpStream, root: &Path, log: &Mutex<Vec<Request>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(conn.try_clone().expect("clone test HTTP stream"));
    let mut out = conn;
    // Keep-alive: apt fetches several files over one connection.
    while let Some(req) = read_request(&mut reader) {
        log.lock().unwrap().push(req.clone());
        let close = req
            .headers
            .get("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let reply = route(&req, root);
        if write_reply(&mut out, &req, &reply).is_err() || close {
            break;
        }
    }
    let _ = out.shutdown(Shutdown::Both);
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    Some(Request {
        method,
        path: percent_decode(&path),
        query,
        headers,
        body,
    })
}

/// `serve()` when the request's Basic credentials are `login` (`user:pass`), else a 401.
fn basic_auth(req: &Request, login: &str, serve: impl FnOnce() -> Reply) -> Reply {
    let want = base64::engine::general_purpose::STANDARD.encode(login);
    let ok = req
        .headers
        .get("authorization")
        .is_some_and(|a| a == &format!("Basic {want}"));
    if ok {
        serve()
    } else {
        let mut r = Reply::text(401, "authentication required");
        r.headers
            .push(("WWW-Authenticate".into(), "Basic realm=\"strata\"".into()));
        r
    }
}

fn route(req: &Request, root: &Path) -> Reply {
    let segs: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["status", code] => match code.parse::<u16>() {
            Ok(c) if (100..600).contains(&c) => Reply::text(c, &format!("status {c}")),
            _ => Reply::text(400, "bad status code"),
        },
        ["echo"] => {
            let body = serde_json::json!({
                "method": req.method,
                "path": req.path,
                "query": req.query,
                "headers": req.headers,
                "body": String::from_utf8_lossy(&req.body),
            });
            Reply::new(200, "application/json", body.to_string())
        }
        ["auth", user, pass, rest @ ..] => basic_auth(req, &format!("{user}:{pass}"), || {
            static_file(root, &rest.join("/"), &req.method)
        }),
        ["auth-file", rest @ ..] => {
            let login = std::fs::read_to_string(root.join(".login")).unwrap_or_default();
            basic_auth(req, login.trim(), || {
                static_file(root, &rest.join("/"), &req.method)
            })
        }
        ["slow", secs] => {
            let s: f64 = secs.parse().unwrap_or(1.0);
            std::thread::sleep(Duration::from_secs_f64(s));
            Reply::text(200, "slow")
        }
        ["redirect"] => {
            let to = req
                .query
                .split('&')
                .find_map(|kv| kv.strip_prefix("to="))
                .map(percent_decode)
                .unwrap_or_else(|| "/".into());
            let mut r = Reply::text(302, "found");
            r.headers.push(("Location".into(), to));
            r
        }
        _ => static_file(root, &req.path, &req.method),
    }
}

fn static_file(root: &Path, rel: &str, method: &str) -> Reply {
    if method != "GET" && method != "HEAD" {
        return Reply::text(405, "method not allowed");
    }
    let rel = Path::new(rel.trim_start_matches('/'));
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Reply::text(403, "forbidden");
    }
    let path = root.join(rel);
    match std::fs::read(&path) {
        Ok(data) => Reply::new(200, content_type(&path), data),
        Err(_) => Reply::text(404, "not found"),
    }
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "json" => "application/json",
        "html" => "text/html",
        "txt" | "cfg" | "conf" => "text/plain",
        "gz" | "tgz" => "application/gzip",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

fn write_reply(out: &mut TcpStream, req: &Request, r: &Reply) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nServer: strata-test\r\n\r\n",
        r.body.len()
    ));
    out.write_all(head.as_bytes())?;
    if req.method != "HEAD" {
        out.write_all(&r.body)?;
    }
    out.flush()
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
