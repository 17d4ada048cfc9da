//! A real `moto_server` (from the test venv, see tests/run) per test, on a free local port, and
//! a small scriptable HTTP server for the parts of AWS that moto does not play: the instance
//! metadata service and a throttling front. The moto process is killed (by its own pid) when
//! the `Moto` is dropped.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const VENV: &str = "/opt/strata-venv";

pub struct Moto {
    pub port: u16,
    pub endpoint: String,
    child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free local port")
}

impl Moto {
    /// Starts moto_server and waits until it answers.
    pub fn start() -> Moto {
        let bin = format!("{VENV}/bin/moto_server");
        assert!(
            Path::new(&bin).exists(),
            "{bin} missing: install it with {VENV}/bin/pip install 'moto[server]==5.*' boto3 (see tests/run)"
        );
        let port = free_port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start moto_server");
        let moto = Moto {
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = s.write_all(b"GET /moto-api/ HTTP/1.0\r\n\r\n");
                let mut buf = [0u8; 12];
                if s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1") {
                    return moto;
                }
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not come up on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs the boto3 helper (tests/fixtures/ec2/make_instances.py) with `spec` on stdin and
    /// returns its JSON output. `creds` are the keys boto3 signs with.
    pub fn helper_with(&self, command: &str, spec: &Value, creds: (&str, &str)) -> Value {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ec2/make_instances.py");
        let mut child = Command::new(format!("{VENV}/bin/python"))
            .arg(&script)
            .args([&self.endpoint, command])
            .env("AWS_ACCESS_KEY_ID", creds.0)
            .env("AWS_SECRET_ACCESS_KEY", creds.1)
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run the boto3 helper");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(spec.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "helper {command} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("helper printed no JSON")
    }

    pub fn helper(&self, command: &str, spec: &Value) -> Value {
        self.helper_with(command, spec, ("testing", "testing"))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request as the scripted server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Lower-cased names.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// What a handler answers: either a reply, or "forward the raw request to this address".
pub enum Reply {
    Respond {
        status: u16,
        content_type: &'static str,
        body: String,
    },
    Forward(SocketAddr),
}

type Handler = Box<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

/// A tiny HTTP/1.1 server (one request per connection) whose answers come from a closure that
/// also gets the request's index. Keeps a log of every request.
pub struct Scripted {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    pub fn start(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(Box::new(handler));
        let log2 = log.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (log, handler) = (log2.clone(), handler.clone());
                std::thread::spawn(move || serve(conn, &log, &handler));
            }
        });
        Scripted { addr, log }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }
}

fn serve(conn: TcpStream, log: &Mutex<Vec<Seen>>, handler: &Handler) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = BTreeMap::new();
    let mut raw_headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            raw_headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    let _ = reader.read_exact(&mut body);
    let seen = Seen {
        method: method.clone(),
        path: path.clone(),
        headers,
        body: body.clone(),
    };
    let index = {
        let mut l = log.lock().unwrap();
        l.push(seen.clone());
        l.len() - 1
    };
    let mut out = conn;
    match handler(&seen, index) {
        Reply::Respond {
            status,
            content_type,
            body,
        } => {
            let _ = write!(
                out,
                "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        Reply::Forward(to) => {
            // Replays the request verbatim (same Host header, so the signature stays valid)
            // and copies the reply back.
            let mut up = TcpStream::connect(to).expect("upstream down");
            let mut req = format!("{method} {path} HTTP/1.1\r\n");
            for (k, v) in &raw_headers {
                if !k.eq_ignore_ascii_case("connection") {
                    req.push_str(&format!("{k}: {v}\r\n"));
                }
            }
            req.push_str("connection: close\r\n\r\n");
            up.write_all(req.as_bytes()).unwrap();
            up.write_all(&body).unwrap();
            let mut resp = Vec::new();
            let _ = up.read_to_end(&mut resp);
            let _ = out.write_all(&resp);
        }
    }
    let _ = out.flush();
}
