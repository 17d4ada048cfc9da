//! The floor strata is measured against: per host, one OpenSSH ControlMaster connection and
//! then each step as one round trip over it, all hosts in parallel. With no steps, what is
//! left is the handshake alone: `ssh -M -f -N` returns once the connection is authenticated,
//! and runs no command.
//!
//! A bare handshake's cost is mostly its key exchange. OpenSSH 9's default, sntrup761x25519,
//! costs about 0.1 s more per connection on the 2-core lab machine than curve25519-sha256,
//! which is what strata (russh) negotiates with the same sshd. A floor of bare handshakes
//! would mostly measure that choice, so [`Kex::Strata`] gives OpenSSH strata's.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Bed, BenchError};

/// The key exchange the floor's connections use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kex {
    /// Whatever OpenSSH negotiates by default.
    Default,
    /// curve25519-sha256, as strata negotiates with OpenSSH's sshd.
    Strata,
}

/// What the floor of `steps` round trips per host did, for the results table.
pub fn describe(steps: usize, kex: Kex) -> String {
    let what = match steps {
        0 => "1 new connection per host, no command (ssh -M -f -N)".to_string(),
        n => format!("ControlMaster, {n} round trips per host"),
    };
    match kex {
        Kex::Default => what,
        Kex::Strata => format!("{what}, curve25519-sha256"),
    }
}

/// Runs `steps[i]` on host `i` of `bed`, every host at once; returns the wall time. `tag`
/// keeps this run's control sockets apart from other runs'.
pub async fn run(
    bed: &Bed,
    tag: &str,
    kex: Kex,
    steps: Vec<Vec<String>>,
) -> Result<Duration, BenchError> {
    let (bed, tag) = (bed.clone(), tag.to_string());
    tokio::task::spawn_blocking(move || run_blocking(&bed, &tag, kex, &steps))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

fn run_blocking(
    bed: &Bed,
    tag: &str,
    kex: Kex,
    steps: &[Vec<String>],
) -> Result<Duration, BenchError> {
    let base = |addr: &str, sock: &Path| {
        let mut c = Command::new("ssh");
        c.arg("-i")
            .arg(&bed.key)
            .args(["-o", "BatchMode=yes", "-o"])
            .arg(format!("UserKnownHostsFile={}", bed.known_hosts.display()));
        if kex == Kex::Strata {
            c.args(["-o", "KexAlgorithms=curve25519-sha256"]);
        }
        c.arg("-S").arg(sock).arg(format!("root@{addr}"));
        c.stdin(Stdio::null());
        c
    };
    let spawn = |e: std::io::Error| BenchError::OpenSsh(format!("cannot run ssh: {e}"));
    let t = Instant::now();
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (i, ((_, addr), steps)) in bed.hosts.iter().zip(steps).enumerate() {
            let sock = bed.dir.join(format!("cm-{tag}-{i}"));
            let (base, addr) = (&base, addr.to_string());
            handles.push(s.spawn(move || -> Result<(), BenchError> {
                let st = base(&addr, &sock)
                    .args(["-M", "-f", "-N"])
                    .status()
                    .map_err(spawn)?;
                if !st.success() {
                    return Err(BenchError::OpenSsh(format!("ssh master to {addr} failed")));
                }
                for step in steps {
                    let out = base(&addr, &sock)
                        .arg(step)
                        .stdout(Stdio::null())
                        .status()
                        .map_err(spawn)?;
                    if !out.success() {
                        return Err(BenchError::OpenSsh(format!("step failed on {addr}")));
                    }
                }
                let _ = base(&addr, &sock)
                    .args(["-O", "exit"])
                    .stderr(Stdio::null())
                    .status();
                Ok(())
            }));
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(BenchError::OpenSsh("thread panicked".into())))
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(t.elapsed())
}
