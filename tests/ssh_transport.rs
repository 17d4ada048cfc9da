//! The SSH transport against a real OpenSSH sshd started per test on 127.0.0.1, with its own
//! host key, authorized keys and config in a temporary directory (run as root).

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use strata::transport::ssh::{HostKeyPolicy, SshConnection, SshParams, connect};
use strata::transport::{Transport, TransportError};

/// A private sshd. Dropping it kills the daemon and removes its directory.
struct Sshd {
    dir: PathBuf,
    port: u16,
    child: Child,
    /// `ssh-ed25519 AAAA...` of the server's host key.
    host_pub: String,
    /// Authorized client keys.
    ed25519_key: PathBuf,
    rsa_key: PathBuf,
    /// A valid key the server does not know.
    stranger_key: PathBuf,
}

#[derive(Default)]
struct SshdOptions {
    no_sftp: bool,
    /// sshd's `MaxStartups` (default here: OpenSSH's own 10:30:100).
    max_startups: Option<&'static str>,
    /// Also serve an RSA host key (next to the ed25519 one).
    rsa_host_key: bool,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn keygen(path: &Path, kind: &str) {
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-N", "", "-t", kind, "-f"]).arg(path);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    let out = cmd.output().expect("ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pub_line(key: &Path) -> String {
    let text = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Sshd {
    fn start() -> Sshd {
        Sshd::start_with(SshdOptions::default())
    }

    fn start_with(opts: SshdOptions) -> Sshd {
        // sshd refuses to start without its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = strata::scratch::root().join(format!("strata-sshd-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let host_key = dir.join("host_ed25519");
        let ed25519_key = dir.join("id_ed25519");
        let rsa_key = dir.join("id_rsa");
        let stranger_key = dir.join("id_stranger");
        keygen(&host_key, "ed25519");
        let rsa_host_key = dir.join("host_rsa");
        let mut host_keys = format!("HostKey {}\n", host_key.display());
        if opts.rsa_host_key {
            keygen(&rsa_host_key, "rsa");
            host_keys.push_str(&format!("HostKey {}\n", rsa_host_key.display()));
        }
        keygen(&ed25519_key, "ed25519");
        keygen(&rsa_key, "rsa");
        keygen(&stranger_key, "ed25519");
        let authorized = format!("{}\n{}\n", pub_line(&ed25519_key), pub_line(&rsa_key));
        std::fs::write(dir.join("authorized_keys"), authorized).unwrap();

        let port = free_port();
        // `SetEnv SHLVL=1`: bash sources ~/.bashrc for commands run by sshd only at shell level
        // 1, so this keeps the account's (possibly slow) rc files out of every exec.
        let sftp = if opts.no_sftp {
            ""
        } else {
            "Subsystem sftp internal-sftp\n"
        };
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\n{host_keys}PidFile none\nUsePAM no\nStrictModes no\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             AuthorizedKeysFile {dir}/authorized_keys\nPubkeyAcceptedAlgorithms -ssh-rsa\nMaxSessions 10\n\
             MaxStartups {startups}\nLogLevel INFO\nSetEnv SHLVL=1\n{sftp}",
            dir = dir.display(),
            startups = opts.max_startups.unwrap_or("10:30:100"),
        );
        let cfg = dir.join("sshd_config");
        std::fs::write(&cfg, config).unwrap();
        let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start sshd");
        let sshd = Sshd {
            host_pub: pub_line(&host_key),
            dir,
            port,
            child,
            ed25519_key,
            rsa_key,
            stranger_key,
        };
        sshd.wait_ready();
        sshd
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "sshd did not start: {}",
            std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
        );
    }

    /// A known_hosts file (in the sshd's directory) that trusts this server.
    fn known_hosts(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(
            &path,
            format!("[127.0.0.1]:{} {}\n", self.port, self.host_pub),
        )
        .unwrap();
        path
    }

    /// Parameters that connect as root with the ed25519 key and a trusting known_hosts.
    fn params(&self) -> SshParams {
        let mut p = SshParams::new("127.0.0.1", "root");
        p.port = self.port;
        p.key_file = Some(self.ed25519_key.clone());
        p.known_hosts = Some(self.known_hosts("known_hosts"));
        p
    }

    async fn connect(&self) -> SshConnection {
        connect(&self.params())
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"))
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_returns_rc_stdout_stderr_and_feeds_stdin() {
    let sshd = Sshd::start();
    let conn = sshd.connect().await;
    assert_eq!(conn.describe(), format!("root@127.0.0.1:{}", sshd.port));

    let out = conn
        .exec("echo out; echo err >&2; exit 3", None)
        .await
        .unwrap();
    assert_eq!(out.rc, 3);
    assert_eq!(out.stdout_str(), "out\n");
    assert_eq!(out.stderr_str(), "err\n");

    let out = conn
        .exec("tr a-z A-Z", Some(b"hello\nworld"))
        .await
        .unwrap();
    assert_eq!((out.rc, out.stdout_str().as_str()), (0, "HELLO\nWORLD"));

    // Without stdin the command sees EOF at once instead of hanging.
    let out = conn.exec("cat; echo done", None).await.unwrap();
    assert_eq!(out.stdout_str(), "done\n");

    // Binary data round-trips, and a large payload exercises channel flow control both ways.
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let out = conn.exec("cat", Some(&data)).await.unwrap();
    assert_eq!(out.rc, 0);
    assert!(
        out.stdout == data,
        "large stdin did not round-trip ({} bytes back)",
        out.stdout.len()
    );

    // A command that ignores its stdin still completes.
    let out = conn.exec("echo ignored", Some(&data)).await.unwrap();
    assert_eq!(out.stdout_str(), "ignored\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_and_signals() {
    let sshd = Sshd::start();
    let conn = sshd.connect().await;
    for (cmd, rc) in [
        ("true", 0),
        ("false", 1),
        ("exit 42", 42),
        ("exit 255", 255),
        ("/bin/sh -c 'kill -TERM $$'", 128 + 15),
        ("/bin/sh -c 'kill -KILL $$'", 128 + 9),
        ("/bin/sh -c 'kill -USR2 $$'", 128 + 12),
    ] {
        let out = conn.exec(cmd, None).await.unwrap();
        assert_eq!(out.rc, rc, "{cmd}: {out:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_execs_share_one_connection() {
    let sshd = Sshd::start();
    let conn = sshd.connect().await;
    let started = Instant::now();
    // Each command holds its channel long enough for all of them to overlap: more than
    // MaxSessions (10) at once would be refused by sshd without the channel limiter.
    let runs = (0..20).map(|i| {
        let conn = &conn;
        async move {
            conn.exec(&format!("sleep 0.3; echo {i} $SSH_CONNECTION"), None)
                .await
        }
    });
    let results = futures::future::join_all(runs).await;
    let mut peers = std::collections::HashSet::new();
    for (i, r) in results.into_iter().enumerate() {
        let out = r.unwrap_or_else(|e| panic!("exec {i}: {e}"));
        let text = out.stdout_str();
        let (n, peer) = text.trim().split_once(' ').unwrap();
        assert_eq!(n, i.to_string());
        peers.insert(peer.to_string());
    }
    // Same client address and port every time: one TCP connection carried all the channels.
    assert_eq!(peers.len(), 1, "{peers:?}");
    println!("20 concurrent 0.3 s execs took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_file_writes_content_and_exact_mode() {
    let sshd = Sshd::start();
    let conn = sshd.connect().await;
    let path = sshd.dir.join("uploaded");
    let p = path.to_str().unwrap();
    let data: Vec<u8> = (0..1_500_000u32).map(|i| (i % 253) as u8).collect();
    conn.put_file(p, &data, 0o640).await.unwrap();
    assert!(std::fs::read(&path).unwrap() == data);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
        0o640
    );

    // Overwrite: truncated to the new content, mode changed even though the file existed.
    conn.put_file(p, b"short\n", 0o755).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"short\n");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
        0o755
    );
    let out = conn.exec(&format!("cat {p}"), None).await.unwrap();
    assert_eq!(out.stdout_str(), "short\n");

    // Concurrent uploads share the one SFTP session.
    let uploads = (0..10).map(|i| {
        let conn = &conn;
        let path = sshd.dir.join(format!("u{i}"));
        async move {
            conn.put_file(
                path.to_str().unwrap(),
                format!("file {i}").as_bytes(),
                0o600,
            )
            .await
            .unwrap();
            path
        }
    });
    for (i, path) in futures::future::join_all(uploads)
        .await
        .into_iter()
        .enumerate()
    {
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("file {i}"));
    }

    let err = conn
        .put_file("/nonexistent-dir/x", b"x", 0o644)
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Failed(_)), "{err:?}");
    assert!(err.to_string().contains("/nonexistent-dir/x"), "{err}");
    // The connection is still fine afterwards.
    assert_eq!(
        conn.exec("echo ok", None).await.unwrap().stdout_str(),
        "ok\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_file_falls_back_to_exec_without_sftp() {
    let sshd = Sshd::start_with(SshdOptions {
        no_sftp: true,
        ..Default::default()
    });
    let conn = sshd.connect().await;
    let path = sshd.dir.join("via-cat");
    conn.put_file(path.to_str().unwrap(), b"no sftp here\n", 0o604)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"no sftp here\n");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
        0o604
    );
    let quoted = sshd.dir.join("it's got spaces & quotes");
    conn.put_file(quoted.to_str().unwrap(), b"x", 0o600)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&quoted).unwrap(), b"x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_host_key_is_rejected_when_strict() {
    let sshd = Sshd::start();
    let mut p = sshd.params();
    p.known_hosts = Some(sshd.dir.join("empty_known_hosts"));
    let err = connect(&p)
        .await
        .err()
        .expect("strict checking must reject an unknown host");
    assert!(matches!(err, TransportError::Refused(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("unknown") && msg.contains("ED25519 SHA256:"),
        "{msg}"
    );
    assert!(
        !p.known_hosts.as_ref().unwrap().exists(),
        "strict mode must not write known_hosts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_new_records_the_key_then_strict_accepts_it() {
    let sshd = Sshd::start();
    let mut p = sshd.params();
    let kh = sshd.dir.join("ssh/known_hosts");
    p.known_hosts = Some(kh.clone());
    p.host_key_policy = HostKeyPolicy::AcceptNew;
    let conn = connect(&p).await.unwrap();
    assert_eq!(
        conn.exec("echo hi", None).await.unwrap().stdout_str(),
        "hi\n"
    );
    let text = std::fs::read_to_string(&kh).unwrap();
    assert_eq!(
        text,
        format!("[127.0.0.1]:{} {}\n", sshd.port, sshd.host_pub)
    );
    assert_eq!(
        std::fs::metadata(&kh).unwrap().permissions().mode() & 0o777,
        0o600
    );

    p.host_key_policy = HostKeyPolicy::Strict;
    connect(&p).await.unwrap();
    // OpenSSH agrees with what was recorded.
    let found = Command::new("ssh-keygen")
        .arg("-F")
        .arg(format!("[127.0.0.1]:{}", sshd.port))
        .arg("-f")
        .arg(&kh)
        .output();
    assert!(found.unwrap().status.success());
    assert_eq!(std::fs::read_to_string(&kh).unwrap().lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_host_key_is_rejected_even_with_accept_new() {
    let sshd = Sshd::start();
    let other = sshd.dir.join("other_host_key");
    keygen(&other, "ed25519");
    let kh = sshd.dir.join("changed_known_hosts");
    std::fs::write(
        &kh,
        format!("# header\n[127.0.0.1]:{} {}\n", sshd.port, pub_line(&other)),
    )
    .unwrap();
    let mut p = sshd.params();
    p.known_hosts = Some(kh.clone());
    for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew] {
        p.host_key_policy = policy;
        let err = connect(&p)
            .await
            .err()
            .expect("a changed host key must be rejected");
        assert!(matches!(err, TransportError::Refused(_)), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("host key for 127.0.0.1 changed"), "{msg}");
        assert!(msg.contains(&format!("{} line 2", kh.display())), "{msg}");
    }
    // The lab switch accepts it.
    p.host_key_policy = HostKeyPolicy::Insecure;
    connect(&p).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashed_known_hosts_entries_are_honoured() {
    let sshd = Sshd::start();
    let kh = sshd.known_hosts("hashed_known_hosts");
    let out = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&kh)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(std::fs::read_to_string(&kh).unwrap().starts_with("|1|"));
    let mut p = sshd.params();
    p.known_hosts = Some(kh);
    connect(&p).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_is_refused_without_retrying() {
    let sshd = Sshd::start();
    let mut p = sshd.params();
    p.key_file = Some(sshd.stranger_key.clone());
    let started = Instant::now();
    let err = connect(&p)
        .await
        .err()
        .expect("an unauthorized key must be refused");
    assert!(matches!(err, TransportError::Refused(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("authentication failed for root@127.0.0.1"),
        "{err}"
    );
    assert!(err.to_string().contains("id_stranger"), "{err}");
    println!("refused in {:?}", started.elapsed());

    p.key_file = Some(sshd.dir.join("missing_key"));
    let err = connect(&p).await.err().unwrap();
    assert!(err.to_string().contains("cannot read key file"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_is_unreachable_quickly() {
    let mut p = SshParams::new("127.0.0.1", "root");
    p.port = free_port();
    p.host_key_policy = HostKeyPolicy::Insecure;
    let started = Instant::now();
    let err = connect(&p).await.err().expect("nothing listens there");
    assert!(matches!(err, TransportError::Unreachable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{}", p.port)),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_key_authenticates_with_sha2() {
    // The daemon runs with `PubkeyAcceptedAlgorithms -ssh-rsa`: only rsa-sha2-* can succeed.
    let sshd = Sshd::start();
    let mut p = sshd.params();
    p.key_file = Some(sshd.rsa_key.clone());
    let conn = connect(&p).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        conn.exec("echo rsa", None).await.unwrap().stdout_str(),
        "rsa\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_forty_connections_all_succeed() {
    // Stricter than OpenSSH's default 10:30:100 so the burst is certain to be cut down:
    // sshd drops excess unauthenticated connections, and every one must come back by retry.
    let sshd = Sshd::start_with(SshdOptions {
        max_startups: Some("3:50:6"),
        ..Default::default()
    });
    let p = sshd.params();
    let started = Instant::now();
    let attempts = (0..40).map(|i| {
        let p = p.clone();
        tokio::spawn(async move {
            let conn = connect(&p)
                .await
                .map_err(|e| format!("connection {i}: {e}"))?;
            let out = conn
                .exec(&format!("echo {i}"), None)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(out.stdout_str())
        })
    });
    let results = futures::future::join_all(attempts).await;
    for (i, r) in results.into_iter().enumerate() {
        assert_eq!(r.unwrap().unwrap(), format!("{i}\n"));
    }
    let log = std::fs::read_to_string(sshd.dir.join("sshd.log")).unwrap_or_default();
    let dropped = log.matches("past MaxStartups").count();
    println!(
        "40 simultaneous connections established in {:?}; sshd dropped {dropped} attempts",
        started.elapsed()
    );
    assert!(
        dropped > 0,
        "the burst never hit MaxStartups, so retrying was not exercised"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_args_drive_a_real_connection() {
    let sshd = Sshd::start();
    let mut p = SshParams::new("127.0.0.1", "nobody-yet");
    let kh = sshd.dir.join("args_known_hosts");
    p.apply_ssh_args(&format!(
        "-o Port={} -o User=root -o IdentityFile={} -o UserKnownHostsFile={} -o StrictHostKeyChecking=accept-new \
         -o ConnectTimeout=5 -o ControlMaster=auto",
        sshd.port,
        sshd.ed25519_key.display(),
        kh.display()
    ))
    .unwrap();
    let conn = connect(&p).await.unwrap();
    assert_eq!(conn.exec("id -u", None).await.unwrap().stdout_str(), "0\n");
    assert!(kh.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_exec_latency() {
    let sshd = Sshd::start();
    let conn = sshd.connect().await;
    // The user's shell runs every command; measure a trivial one through /bin/sh -c so the
    // number reflects the transport, not root's ~/.bashrc (which it also includes).
    let mut samples = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let out = conn.exec("/bin/sh -c true", None).await.unwrap();
        assert_eq!(out.rc, 0);
        samples.push(t.elapsed());
    }
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "sequential exec latency over {} runs: min {:?}, median {:?}, mean {:?}, max {:?}",
        samples.len(),
        samples[0],
        samples[samples.len() / 2],
        mean,
        samples[samples.len() - 1]
    );
    let t = Instant::now();
    let runs = (0..32).map(|_| conn.exec("/bin/sh -c true", None));
    for r in futures::future::join_all(runs).await {
        assert_eq!(r.unwrap().rc, 0);
    }
    println!(
        "32 concurrent execs on one connection: {:?} total",
        t.elapsed()
    );
}

/// A private ssh-agent holding `keys`; killed on drop.
struct Agent {
    socket: PathBuf,
    child: Child,
}

impl Agent {
    fn start(dir: &Path, keys: &[&Path]) -> Agent {
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ssh-agent");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "ssh-agent did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        for key in keys {
            let out = Command::new("ssh-add")
                .arg(key)
                .env("SSH_AUTH_SOCK", &socket)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "ssh-add: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Agent { socket, child }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_agent_authenticates_when_the_key_file_fails() {
    let sshd = Sshd::start();
    // Only the RSA key is in the agent: this also proves agent signatures use rsa-sha2.
    let agent = Agent::start(&sshd.dir, &[&sshd.rsa_key]);
    let mut p = sshd.params();
    p.identity_agent = Some(agent.socket.clone());
    p.key_file = None;
    let conn = connect(&p)
        .await
        .unwrap_or_else(|e| panic!("agent only: {e}"));
    assert_eq!(
        conn.exec("echo agent", None).await.unwrap().stdout_str(),
        "agent\n"
    );

    p.key_file = Some(sshd.stranger_key.clone());
    connect(&p)
        .await
        .unwrap_or_else(|e| panic!("agent after a rejected key file: {e}"));

    // IdentityAgent=none: only the (rejected) key file is left.
    p.apply_ssh_args("-o IdentityAgent=none").unwrap();
    let err = connect(&p).await.err().expect("the agent was disabled");
    assert!(matches!(err, TransportError::Refused(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_connection_makes_the_host_unreachable() {
    let sshd = Sshd::start();
    let conn = sshd.connect().await;
    // $PPID of the command's shell is the sshd process serving this connection.
    let _ = conn.exec("kill -9 $PPID", None).await;
    let err = conn
        .exec("true", None)
        .await
        .expect_err("the connection is gone");
    assert!(matches!(err, TransportError::Unreachable(_)), "{err:?}");
    assert!(err.is_unreachable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_known_by_its_rsa_key_is_asked_for_that_key() {
    let sshd = Sshd::start_with(SshdOptions {
        rsa_host_key: true,
        ..Default::default()
    });
    let kh = sshd.dir.join("rsa_known_hosts");
    let rsa_pub = pub_line(&sshd.dir.join("host_rsa"));
    std::fs::write(&kh, format!("[127.0.0.1]:{} {rsa_pub}\n", sshd.port)).unwrap();
    let mut p = sshd.params();
    p.known_hosts = Some(kh);
    // The server prefers ed25519, which known_hosts does not list; strict checking passes only
    // because the handshake asks for the RSA host key (with an rsa-sha2 signature).
    connect(&p).await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_times_out_as_unreachable() {
    // The kernel completes the TCP handshake for this listener, but nobody ever speaks SSH.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut p = SshParams::new("127.0.0.1", "root");
    p.port = silent.local_addr().unwrap().port();
    p.host_key_policy = HostKeyPolicy::Insecure;
    p.connect_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let err = connect(&p).await.err().expect("no SSH banner ever arrives");
    let took = started.elapsed();
    assert!(matches!(err, TransportError::Unreachable(_)), "{err:?}");
    assert!(err.to_string().contains("timed out after 1s"), "{err}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "took {took:?}"
    );
}
