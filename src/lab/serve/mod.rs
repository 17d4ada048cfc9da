//! `strata lab serve`: the lab's read-only file server, for the package caches (`lab cache`)
//! that lab hosts install from. It listens on the lab's bridge address, port [`PORT`], which
//! every host reaches and nothing outside the machine does, and lives as long as the lab: it
//! runs detached, as `strata lab serve --foreground`, its PID and document root kept in the
//! lab's state directory (`serve.pid`, log in `serve.log`), and `lab down` stops it.

mod http;

use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use http::{Target, listing, resolve, serve};

use super::{LabError, LabOptions, LabState};

/// The port on the bridge address; the stacks' URLs name it (`http://GW:8780/apt/`).
pub const PORT: u16 = 8780;

/// How long a freshly started server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's base URL for a lab, with a trailing slash.
pub fn url(state: &LabState) -> String {
    format!("http://{}:{PORT}/", state.gateway)
}

fn pid_file(state: &LabState) -> PathBuf {
    state.dir.join("serve.pid")
}

/// The running server's PID and document root, if the recorded process is still the lab's
/// server (a PID reused by another program is not).
fn running(state: &LabState) -> Option<(u32, PathBuf)> {
    let text = std::fs::read_to_string(pid_file(state)).ok()?;
    let mut lines = text.lines();
    let pid: u32 = lines.next()?.trim().parse().ok()?;
    let root = PathBuf::from(lines.next()?);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let ours = args.contains(&b"serve".as_slice())
        && args.contains(&b"--foreground".as_slice())
        && args.contains(&state.name.as_bytes());
    // A zombie (exited, not yet reaped by its parent) has an empty cmdline, so it is not ours.
    ours.then_some((pid, root))
}

/// Starts the lab's server for `root` as a detached `exe lab serve --foreground`, unless it
/// runs already with that root; returns its PID once it accepts connections. `exe` is the
/// strata binary (tests run this from their own binary).
pub fn start(opts: &LabOptions, exe: &Path, root: &Path) -> Result<u32, LabError> {
    let state = LabState::load(&opts.state_path())?;
    let root = root
        .canonicalize()
        .map_err(|e| LabError::io("cannot serve", root, e))?;
    if let Some((pid, served)) = running(&state) {
        if served == root {
            return Ok(pid);
        }
        stop(&state)?;
    }
    let log_path = state.dir.join("serve.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| LabError::io("cannot create the server log", &log_path, e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| LabError::io("cannot create the server log", &log_path, e))?;
    let mut cmd = Command::new(exe);
    cmd.arg("lab")
        .arg("--name")
        .arg(&opts.name)
        .arg("--dir")
        .arg(&opts.dir)
        .args(["serve", "--foreground", "--cache-dir"])
        .arg(&root)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    // SAFETY: setsid is async-signal-safe; it detaches the server from our session, so it
    // outlives `strata lab serve` and a terminal's hangup.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let describe = || {
        format!(
            "{} lab --name {} serve --foreground",
            exe.display(),
            opts.name
        )
    };
    let mut child = cmd.spawn().map_err(|e| LabError::Command {
        command: describe(),
        status: "could not start".into(),
        stderr: e.to_string(),
    })?;
    let pid = child.id();
    let text = format!("{pid}\n{}\n", root.display());
    std::fs::write(pid_file(&state), text)
        .map_err(|e| LabError::io("cannot record the server", pid_file(&state), e))?;
    let addr = SocketAddr::from((state.gateway, PORT));
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            // Reaped whenever it ends, so a long-lived caller (the demo, a test) keeps no zombie.
            std::thread::spawn(move || child.wait());
            return Ok(pid);
        }
        let exited = matches!(child.try_wait(), Ok(Some(_)));
        if exited || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(pid_file(&state));
            return Err(LabError::Command {
                command: describe(),
                status: if exited {
                    "exited".into()
                } else {
                    format!("not listening on {addr} after {}s", START_TIMEOUT.as_secs())
                },
                stderr: std::fs::read_to_string(&log_path).unwrap_or_default(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stops the lab's server if it runs (only the recorded process, after checking it is ours).
pub fn stop(state: &LabState) -> Result<(), LabError> {
    if let Some((pid, _)) = running(state) {
        // SAFETY: plain kill(2) of the server this lab recorded and `running` identified.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while running(state).is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if running(state).is_some() {
            // SAFETY: as above.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }
    match std::fs::remove_file(pid_file(state)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(LabError::io("cannot remove", pid_file(state), e))
        }
        _ => Ok(()),
    }
}

/// The server itself (`lab serve --foreground`): serves `root` on the lab's bridge address
/// until killed.
pub async fn foreground(opts: &LabOptions, root: &Path) -> Result<(), LabError> {
    let state = LabState::load(&opts.state_path())?;
    let addr = SocketAddr::from((state.gateway, PORT));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| LabError::io("cannot listen", addr.to_string(), e))?;
    eprintln!("serving {} at {}", root.display(), url(&state));
    serve(listener, root.to_path_buf())
        .await
        .map_err(|e| LabError::io("file server failed", root, e))
}
