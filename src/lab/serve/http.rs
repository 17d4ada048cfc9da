//! A read-only static HTTP/1.1 file server: GET and HEAD, `Content-Length`, keep-alive
//! (apt pipelines its requests), and a plain HTML listing of each directory whose links are
//! what pip's and uv's `--find-links` and apt's flat repositories read. Nothing outside the
//! root is reachable: `..` is refused, symlinks are resolved and checked, and names starting
//! with `.` (the cache's keys, locks and half-built parts) are neither listed nor served.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A client that sends no complete request head within this time is dropped.
const HEAD_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest request head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// Serves `root` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, root: PathBuf) -> std::io::Result<()> {
    let root = root.canonicalize()?;
    loop {
        let (sock, _) = listener.accept().await?;
        let root = root.clone();
        tokio::spawn(async move {
            let (r, w) = sock.into_split();
            let _ = connection(BufReader::new(r), w, &root).await;
        });
    }
}

/// What a request path names below the root.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    File(PathBuf),
    Dir(PathBuf),
    /// A directory named without its trailing `/`: relative links in its listing need one.
    Redirect(String),
    NotFound,
}

/// Answers requests on one connection until the client closes it or asks to.
async fn connection<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    mut r: BufReader<R>,
    mut w: W,
    root: &Path,
) -> std::io::Result<()> {
    loop {
        let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut r)).await {
            Ok(Ok(Some(h))) => h,
            _ => return Ok(()),
        };
        let mut lines = head.lines();
        let request = lines.next().unwrap_or_default();
        let mut parts = request.split_whitespace();
        let (method, target, version) = (parts.next(), parts.next(), parts.next());
        let close_asked = lines.any(|l| {
            l.split_once(':').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("connection")
                    && v.trim().eq_ignore_ascii_case("close")
            })
        });
        let keep = version == Some("HTTP/1.1") && !close_asked;
        let (Some(method), Some(target), Some(_)) = (method, target, version) else {
            simple(&mut w, 400, "Bad Request", true, false).await?;
            return Ok(());
        };
        let head_only = method == "HEAD";
        if method != "GET" && !head_only {
            simple(&mut w, 405, "Method Not Allowed", true, false).await?;
            return Ok(());
        }
        match resolve(root, target) {
            Target::File(path) => send_file(&mut w, &path, head_only, keep).await?,
            Target::Dir(path) => {
                let html = listing(&path, target);
                respond(
                    &mut w,
                    "200 OK",
                    "text/html; charset=utf-8",
                    html.len() as u64,
                    &[],
                    keep,
                )
                .await?;
                if !head_only {
                    w.write_all(html.as_bytes()).await?;
                }
            }
            Target::Redirect(location) => {
                let body = format!("moved to {location}\n");
                respond(
                    &mut w,
                    "301 Moved Permanently",
                    "text/plain",
                    body.len() as u64,
                    &[("Location", &location)],
                    keep,
                )
                .await?;
                if !head_only {
                    w.write_all(body.as_bytes()).await?;
                }
            }
            Target::NotFound => simple(&mut w, 404, "Not Found", !keep, head_only).await?,
        }
        w.flush().await?;
        if !keep {
            return Ok(());
        }
    }
}

/// The request line and headers, up to the blank line; `None` at end of input.
async fn read_head<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> std::io::Result<Option<String>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        if line == "\r\n" || line == "\n" {
            if head.is_empty() {
                // Stray line ending between pipelined requests.
                continue;
            }
            return Ok(Some(head));
        }
        head.push_str(&line);
        if head.len() > MAX_HEAD {
            return Ok(None);
        }
    }
}

async fn send_file<W: AsyncWrite + Unpin>(
    w: &mut W,
    path: &Path,
    head_only: bool,
    keep: bool,
) -> std::io::Result<()> {
    let Ok(file) = tokio::fs::File::open(path).await else {
        return simple(w, 404, "Not Found", !keep, head_only).await;
    };
    let len = file.metadata().await?.len();
    respond(w, "200 OK", "application/octet-stream", len, &[], keep).await?;
    if !head_only {
        let mut body = tokio::io::AsyncReadExt::take(file, len);
        tokio::io::copy(&mut body, w).await?;
    }
    Ok(())
}

async fn respond<W: AsyncWrite + Unpin>(
    w: &mut W,
    status: &str,
    content_type: &str,
    len: u64,
    extra: &[(&str, &str)],
    keep: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nServer: strata-lab\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\n"
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(if keep {
        "Connection: keep-alive\r\n\r\n"
    } else {
        "Connection: close\r\n\r\n"
    });
    w.write_all(head.as_bytes()).await
}

async fn simple<W: AsyncWrite + Unpin>(
    w: &mut W,
    code: u16,
    reason: &str,
    close: bool,
    head_only: bool,
) -> std::io::Result<()> {
    let body = format!("{code} {reason}\n");
    respond(
        w,
        &format!("{code} {reason}"),
        "text/plain",
        body.len() as u64,
        &[],
        !close,
    )
    .await?;
    if !head_only {
        w.write_all(body.as_bytes()).await?;
    }
    Ok(())
}

/// Maps a request target to a file or directory below `root` (already canonical).
pub fn resolve(root: &Path, target: &str) -> Target {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    if !path.starts_with('/') {
        return Target::NotFound;
    }
    let Some(decoded) = percent_decode(path) else {
        return Target::NotFound;
    };
    let mut rel = PathBuf::new();
    for seg in decoded.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            // Also `..`, and the cache's hidden keys, locks and temporary parts.
            s if s.starts_with(b".") || s.contains(&0) => return Target::NotFound,
            s => rel.push(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(s)),
        }
    }
    let Ok(full) = root.join(&rel).canonicalize() else {
        return Target::NotFound;
    };
    // A symlink may point anywhere; only what ends up below the root is served.
    if !full.starts_with(root) {
        return Target::NotFound;
    }
    if full.is_dir() {
        if !path.ends_with('/') {
            return Target::Redirect(format!("{path}/"));
        }
        Target::Dir(full)
    } else if full.is_file() {
        Target::File(full)
    } else {
        Target::NotFound
    }
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

fn percent_encode(name: &[u8]) -> String {
    name.iter()
        .map(|&c| {
            if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A sorted list of links, relative to the directory (`name`, `sub/`), hidden names left out.
pub fn listing(dir: &Path, request_path: &str) -> String {
    let mut entries: Vec<(String, String)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let bytes = name.as_encoded_bytes();
            if bytes.starts_with(b".") {
                return None;
            }
            let slash = if e.path().is_dir() { "/" } else { "" };
            Some((
                format!("{}{slash}", percent_encode(bytes)),
                format!("{}{slash}", name.to_string_lossy()),
            ))
        })
        .collect();
    entries.sort();
    let title = html_escape(request_path.split('?').next().unwrap_or_default());
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><title>Index of {title}</title></head><body>\n<h1>Index of {title}</h1>\n"
    );
    for (href, text) in entries {
        html.push_str(&format!(
            "<a href=\"{href}\">{}</a><br>\n",
            html_escape(&text)
        ));
    }
    html.push_str("</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(name: &str) -> PathBuf {
        let d = crate::scratch::root().join(format!("strata-serve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("root/python/wheels")).unwrap();
        std::fs::create_dir_all(d.join("root/.python.tmp-1")).unwrap();
        std::fs::write(d.join("root/python/wheels/a+b-1.0.whl"), "wheel").unwrap();
        std::fs::write(d.join("root/python/.strata-key"), "k").unwrap();
        std::fs::write(d.join("secret"), "no").unwrap();
        std::os::unix::fs::symlink(d.join("secret"), d.join("root/escape")).unwrap();
        std::os::unix::fs::symlink("python/wheels", d.join("root/inside")).unwrap();
        d
    }

    #[test]
    fn paths_resolve_below_the_root_only() {
        let d = tree("resolve");
        let root = d.join("root").canonicalize().unwrap();
        let file = root.join("python/wheels/a+b-1.0.whl");
        assert_eq!(
            resolve(&root, "/python/wheels/a%2Bb-1.0.whl"),
            Target::File(file.clone())
        );
        assert_eq!(
            resolve(&root, "/python/wheels/a+b-1.0.whl?x=1"),
            Target::File(file.clone())
        );
        assert_eq!(
            resolve(&root, "/inside/a+b-1.0.whl"),
            Target::File(file.clone())
        );
        assert_eq!(
            resolve(&root, "/python"),
            Target::Redirect("/python/".into())
        );
        assert_eq!(resolve(&root, "/python/"), Target::Dir(root.join("python")));
        assert_eq!(resolve(&root, "/"), Target::Dir(root.clone()));
        for bad in [
            "/../secret",
            "/python/../../secret",
            "/%2e%2e/secret",
            "/escape",
            "/python/.strata-key",
            "/.python.tmp-1/",
            "/missing",
            "/a%00b",
            "/bad%zz",
            "python/",
        ] {
            assert_eq!(resolve(&root, bad), Target::NotFound, "{bad}");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn listings_link_every_visible_entry_relatively() {
        let d = tree("listing");
        let root = d.join("root");
        let html = listing(&root.join("python/wheels"), "/python/wheels/");
        assert!(
            html.contains("<a href=\"a%2Bb-1.0.whl\">a+b-1.0.whl</a>"),
            "{html}"
        );
        let top = listing(&root, "/");
        assert!(top.contains("<a href=\"python/\">python/</a>"), "{top}");
        assert!(!top.contains(".python.tmp"), "{top}");
        let python = listing(&root.join("python"), "/python/");
        assert!(!python.contains("strata-key"), "{python}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[tokio::test]
    async fn get_head_and_404_over_a_real_socket() {
        let d = tree("socket");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, d.join("root")));
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        // Pipelined, as apt sends them: answered in order on one connection.
        s.write_all(
            b"GET /python/wheels/a+b-1.0.whl HTTP/1.1\r\nHost: x\r\n\r\n\
              HEAD /python/wheels/a+b-1.0.whl HTTP/1.1\r\nHost: x\r\n\r\n\
              GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
        let mut out = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut s, &mut out)
            .await
            .unwrap();
        let responses: Vec<&str> = out.split("HTTP/1.1 ").skip(1).collect();
        assert_eq!(responses.len(), 3, "{out}");
        assert!(responses[0].starts_with("200 OK"), "{out}");
        assert!(responses[0].contains("Content-Length: 5\r\n"), "{out}");
        assert!(responses[0].ends_with("\r\n\r\nwheel"), "{out}");
        assert!(responses[1].starts_with("200 OK"), "{out}");
        assert!(responses[1].ends_with("\r\n\r\n"), "{out}");
        assert!(responses[2].starts_with("404 Not Found"), "{out}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
