//! One SSH connection per host for the whole run. Connecting retries the transient refusals a
//! busy sshd produces (MaxStartups drops connections that arrive in a burst), but never an
//! authentication or host key failure. Every `exec` is one session channel on the shared
//! connection: open, `exec`, stdin, read until close.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rand::Rng;
use russh::client::{Config, Handle, Handler, Msg};
use russh::keys::{Algorithm, PublicKeyOrCertificate};
use russh::{Channel, ChannelMsg, ChannelOpenFailure, Disconnect, Preferred, Sig};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::known_hosts::{KnownHosts, lookup_name};
use super::sftp::{self, SftpSlot};
use super::{HostKeyPolicy, SshParams, auth, home_dir};
use crate::shell::sh_quote;
use crate::transport::{ExecOutput, Transport, TransportError, TransportResult};

/// Concurrent exec channels per connection. OpenSSH's default `MaxSessions` is 10; the SFTP
/// channel holds one more, and one stays free so a channel being torn down never pushes us
/// over the server's limit.
const EXEC_CHANNELS: usize = 8;

/// How long to keep retrying a channel the server refused for lack of free sessions.
const CHANNEL_OPEN_PATIENCE: Duration = Duration::from_secs(30);

/// Connection attempts before giving up on transient refusals (all within the timeout).
const MAX_ATTEMPTS: u32 = 8;

/// First retry delay; doubled on each attempt, with jitter so a burst of refused connections
/// does not come back as the same burst.
const BACKOFF_BASE: Duration = Duration::from_millis(100);

/// Longest single retry delay: past this, waiting longer only wastes the timeout budget.
const BACKOFF_MAX: Duration = Duration::from_millis(1600);

/// Why the russh session ended early; carries our host key verdict out of the handshake.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    #[error(transparent)]
    Ssh(#[from] russh::Error),
    #[error("{0}")]
    HostKey(String),
}

/// The russh event handler: only host key checking needs our attention; channel data is read
/// through each channel's own receiver.
pub(crate) struct Client {
    host: String,
    policy: HostKeyPolicy,
    known: Option<Arc<KnownHosts>>,
}

impl Handler for Client {
    type Error = SessionError;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        if self.policy == HostKeyPolicy::Insecure {
            return Ok(true);
        }
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            return Err(SessionError::HostKey(format!(
                "{} presented a host certificate; not supported",
                self.host
            )));
        };
        let Some(known) = &self.known else {
            return Ok(false);
        };
        known
            .verify(key, self.policy, &self.host)
            .map(|()| true)
            .map_err(SessionError::HostKey)
    }
}

/// A live, authenticated connection. Dropping it disconnects.
pub struct SshConnection {
    handle: Arc<Handle<Client>>,
    channels: Semaphore,
    sftp: SftpSlot,
    describe: String,
    /// The ProxyJump hops this connection is tunnelled through, kept open as long as it is.
    _jumps: Vec<Handle<Client>>,
}

/// Connects and authenticates (through the ProxyJump hops, if any, each one tunnelled through
/// the previous), retrying transient refusals within `p.connect_timeout`.
pub async fn connect(p: &SshParams) -> Result<SshConnection, TransportError> {
    let mut jumps: Vec<Handle<Client>> = Vec::new();
    for hop in &p.jump {
        let jp = p.for_jump(hop);
        let h = session(&jp, jumps.last()).await.map_err(|e| {
            let via = |m: String| format!("{}: via ProxyJump {}: {m}", p.describe(), jp.describe());
            match e {
                TransportError::Unreachable(m) => TransportError::Unreachable(via(m)),
                TransportError::Refused(m) => TransportError::Refused(via(m)),
                TransportError::Failed(m) => TransportError::Failed(via(m)),
            }
        })?;
        jumps.push(h);
    }
    let handle = session(p, jumps.last()).await?;
    Ok(SshConnection {
        handle: Arc::new(handle),
        channels: Semaphore::new(EXEC_CHANNELS),
        sftp: SftpSlot::default(),
        describe: p.describe(),
        _jumps: jumps,
    })
}

/// One authenticated SSH session to `p`, over TCP or, with `via`, over a `direct-tcpip`
/// channel of that session.
async fn session(
    p: &SshParams,
    via: Option<&Handle<Client>>,
) -> Result<Handle<Client>, TransportError> {
    let describe = p.describe();
    let known = match p.host_key_policy {
        HostKeyPolicy::Insecure => None,
        _ => {
            let path = match &p.known_hosts {
                Some(path) => path.clone(),
                None => home_dir()
                    .ok_or_else(|| {
                        TransportError::Refused(
                            "no home directory to find ~/.ssh/known_hosts in".into(),
                        )
                    })?
                    .join(".ssh/known_hosts"),
            };
            let kh = KnownHosts::load(&path, &lookup_name(&p.host, p.port))
                .map_err(TransportError::Refused)?;
            Some(Arc::new(kh))
        }
    };
    let config = Arc::new(client_config(p, known.as_deref()));
    let deadline = Instant::now() + p.connect_timeout;
    let mut attempt = 0;
    let mut last_err: Option<TransportError> = None;
    let mut handle = loop {
        attempt += 1;
        let client = Client {
            host: p.host.clone(),
            policy: p.host_key_policy,
            known: known.clone(),
        };
        let attempt_open = open(config.clone(), p, client, via);
        let err = match tokio::time::timeout_at(deadline, attempt_open).await {
            Ok(Ok(handle)) => break handle,
            Ok(Err(e)) => e,
            Err(_) => {
                let secs = p.connect_timeout.as_secs_f32();
                let earlier = match last_err {
                    Some(e) => format!(" (earlier attempt: {e})"),
                    None => String::new(),
                };
                return Err(TransportError::Unreachable(format!(
                    "{describe}: connection timed out after {secs}s{earlier}"
                )));
            }
        };
        let delay = backoff(attempt);
        if !err.is_transient() || attempt >= MAX_ATTEMPTS || Instant::now() + delay >= deadline {
            return Err(err.into_transport(&describe, attempt));
        }
        last_err = Some(err.into_transport(&describe, attempt));
        tokio::time::sleep(delay).await;
    };
    match tokio::time::timeout(p.connect_timeout, auth::authenticate(&mut handle, p)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return Err(TransportError::Unreachable(format!(
                "{describe}: authentication timed out"
            )));
        }
    }
    Ok(handle)
}

fn client_config(p: &SshParams, known: Option<&KnownHosts>) -> Config {
    // Ask for a host key type we already trust first (as OpenSSH does), so a host known by
    // its RSA key is not reported "unknown" because it also has an ed25519 key. SHA-1 RSA
    // host signatures are dropped altogether.
    let mut keys = known.map(KnownHosts::known_algorithms).unwrap_or_default();
    for alg in Preferred::DEFAULT.key.iter() {
        if *alg != (Algorithm::Rsa { hash: None }) && !keys.contains(alg) {
            keys.push(alg.clone());
        }
    }
    Config {
        preferred: Preferred {
            key: Cow::Owned(keys),
            ..Preferred::DEFAULT
        },
        keepalive_interval: (!p.keepalive_interval.is_zero()).then_some(p.keepalive_interval),
        keepalive_max: p.keepalive_max,
        inactivity_timeout: None,
        nodelay: true,
        ..Config::default()
    }
}

/// One TCP connect (or tunnel through `via`) plus SSH handshake (no authentication).
async fn open(
    config: Arc<Config>,
    p: &SshParams,
    client: Client,
    via: Option<&Handle<Client>>,
) -> Result<Handle<Client>, AttemptError> {
    if let Some(jump) = via {
        let tunnel = jump
            .channel_open_direct_tcpip(p.host.clone(), u32::from(p.port), "127.0.0.1", 0)
            .await
            .map_err(AttemptError::Tunnel)?;
        return russh::client::connect_stream(config, tunnel.into_stream(), client)
            .await
            .map_err(AttemptError::Session);
    }
    let stream = TcpStream::connect((p.host.as_str(), p.port))
        .await
        .map_err(AttemptError::Tcp)?;
    // Every exec is a small request/response exchange: Nagle would add delayed-ACK stalls.
    let _ = stream.set_nodelay(true);
    russh::client::connect_stream(config, stream, client)
        .await
        .map_err(AttemptError::Session)
}

fn backoff(attempt: u32) -> Duration {
    let full = (BACKOFF_BASE * 2u32.saturating_pow(attempt.saturating_sub(1))).min(BACKOFF_MAX);
    let jitter = rand::rng().random_range(0.5..1.0);
    full.mul_f64(jitter)
}

#[derive(Debug)]
enum AttemptError {
    Tcp(std::io::Error),
    /// The jump host would not open a tunnel to the next hop (refused, unresolvable, or
    /// forwarding disabled): as final as a refused TCP connect.
    Tunnel(russh::Error),
    Session(SessionError),
}

impl AttemptError {
    /// Resets and early closes are what an overloaded sshd does to excess connections; a
    /// refused port, a bad host key or a protocol mismatch will not change on retry.
    fn is_transient(&self) -> bool {
        use std::io::ErrorKind::*;
        let io_transient = |e: &std::io::Error| {
            matches!(
                e.kind(),
                ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe
            )
        };
        match self {
            AttemptError::Tcp(e) => io_transient(e),
            AttemptError::Session(SessionError::Ssh(russh::Error::IO(e))) => io_transient(e),
            AttemptError::Session(SessionError::Ssh(
                russh::Error::Disconnect | russh::Error::HUP,
            )) => true,
            AttemptError::Session(_) | AttemptError::Tunnel(_) => false,
        }
    }

    fn into_transport(self, describe: &str, attempts: u32) -> TransportError {
        let tries = if attempts > 1 {
            format!(" (after {attempts} attempts)")
        } else {
            String::new()
        };
        match self {
            AttemptError::Session(SessionError::HostKey(msg)) => TransportError::Refused(msg),
            AttemptError::Tcp(e) => TransportError::Unreachable(format!("{describe}: {e}{tries}")),
            AttemptError::Tunnel(e) => TransportError::Unreachable(format!(
                "{describe}: the jump host cannot open a tunnel here: {e}"
            )),
            AttemptError::Session(SessionError::Ssh(e)) => {
                TransportError::Unreachable(format!("{describe}: SSH handshake failed: {e}{tries}"))
            }
        }
    }
}

/// 128 + signal number, as a POSIX shell reports a command killed by a signal.
fn signal_rc(sig: &Sig) -> i32 {
    let n = match sig {
        Sig::ABRT => libc::SIGABRT,
        Sig::ALRM => libc::SIGALRM,
        Sig::FPE => libc::SIGFPE,
        Sig::HUP => libc::SIGHUP,
        Sig::ILL => libc::SIGILL,
        Sig::INT => libc::SIGINT,
        Sig::KILL => libc::SIGKILL,
        Sig::PIPE => libc::SIGPIPE,
        Sig::QUIT => libc::SIGQUIT,
        Sig::SEGV => libc::SIGSEGV,
        Sig::TERM => libc::SIGTERM,
        Sig::USR1 => libc::SIGUSR1,
        Sig::Custom(name) => match name.as_str() {
            "USR2" => libc::SIGUSR2,
            "BUS" => libc::SIGBUS,
            "TRAP" => libc::SIGTRAP,
            "XCPU" => libc::SIGXCPU,
            "XFSZ" => libc::SIGXFSZ,
            "SYS" => libc::SIGSYS,
            "STOP" => libc::SIGSTOP,
            "TSTP" => libc::SIGTSTP,
            // Unknown name: still "killed by a signal", which callers only compare with 128+.
            _ => 0,
        },
    };
    128 + n
}

impl SshConnection {
    /// Sends SSH_MSG_DISCONNECT; the connection is unusable afterwards.
    pub async fn close(&self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
    }

    pub(crate) fn handle(&self) -> &Handle<Client> {
        &self.handle
    }

    /// Opens a session channel, waiting out "too many sessions" refusals. sshd frees a
    /// session slot only after it has processed our close of the previous channel, which
    /// can be after it sees the next open; a server with a low `MaxSessions` refuses the same
    /// way. Both clear up as other channels finish.
    pub(crate) async fn open_channel(&self) -> TransportResult<Channel<Msg>> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(2);
        loop {
            match self.handle.channel_open_session().await {
                Ok(ch) => return Ok(ch),
                Err(russh::Error::ChannelOpenFailure(
                    ChannelOpenFailure::ConnectFailed | ChannelOpenFailure::ResourceShortage,
                )) if started.elapsed() < CHANNEL_OPEN_PATIENCE => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(100));
                }
                Err(e) => return Err(self.channel_error("open channel", e)),
            }
        }
    }

    /// Maps an error on the live connection: a dead connection makes the host unreachable
    /// (Ansible's UNREACHABLE), anything else fails only the current operation.
    pub(crate) fn channel_error(&self, what: &str, e: impl std::fmt::Display) -> TransportError {
        if self.handle.is_closed() {
            TransportError::Unreachable(format!("{}: connection lost ({what}: {e})", self.describe))
        } else {
            TransportError::Failed(format!("{}: {what}: {e}", self.describe))
        }
    }

    async fn run(&self, cmd: &str, stdin: Option<&[u8]>) -> TransportResult<ExecOutput> {
        let _permit = self
            .channels
            .acquire()
            .await
            .map_err(|e| self.channel_error("exec", e))?;
        let channel = self.open_channel().await?;
        // want_reply costs nothing extra: the reply arrives with the output, and it turns a
        // rejected exec into an error instead of a silent empty result.
        channel
            .exec(true, cmd.as_bytes())
            .await
            .map_err(|e| self.channel_error("exec", e))?;
        let (mut rx, tx) = channel.split();

        let send = async {
            if let Some(data) = stdin.filter(|d| !d.is_empty()) {
                tx.data_bytes(data.to_vec()).await?;
            }
            tx.eof().await
        };
        let recv = async {
            let mut out = ExecOutput::default();
            let mut rc = None;
            let mut rejected = false;
            while let Some(msg) = rx.wait().await {
                match msg {
                    ChannelMsg::Data { data } => out.stdout.extend_from_slice(&data),
                    ChannelMsg::ExtendedData { data, ext: 1 } => {
                        out.stderr.extend_from_slice(&data)
                    }
                    ChannelMsg::ExitStatus { exit_status } => rc = Some(exit_status as i32),
                    ChannelMsg::ExitSignal { signal_name, .. } => {
                        rc = Some(signal_rc(&signal_name))
                    }
                    ChannelMsg::Failure => rejected = true,
                    ChannelMsg::Close => break,
                    _ => {}
                }
            }
            (out, rc, rejected)
        };
        tokio::pin!(send, recv);
        // Read while writing: a command may fill its stdout before it reads all of stdin.
        // Once the channel closes, unsent stdin no longer matters (the command did not want it).
        let (mut out, rc, rejected) = tokio::select! {
            r = &mut recv => r,
            _ = &mut send => recv.await,
        };
        if rejected {
            return Err(self.channel_error("exec", "the server refused to run the command"));
        }
        match rc {
            Some(rc) => {
                out.rc = rc;
                Ok(out)
            }
            None => Err(self.channel_error("exec", "the command ended without an exit status")),
        }
    }
}

impl Transport for SshConnection {
    fn exec<'a>(
        &'a self,
        cmd: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> BoxFuture<'a, TransportResult<ExecOutput>> {
        Box::pin(self.run(cmd, stdin))
    }

    fn put_file<'a>(
        &'a self,
        path: &'a str,
        data: &'a [u8],
        mode: u32,
    ) -> BoxFuture<'a, TransportResult<()>> {
        Box::pin(put_file(self, path, data, mode))
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}

impl Drop for SshConnection {
    /// Says goodbye properly when a runtime is around; otherwise dropping the handle still
    /// closes the TCP stream.
    fn drop(&mut self) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let handle = self.handle.clone();
            rt.spawn(async move {
                let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
            });
        }
    }
}

/// Writes `path` in place over SFTP, or with `cat` over exec on hosts without the sftp
/// subsystem. Callers that need atomic replacement (all modules do) write to a temporary name
/// in the destination directory and `mv -f` it over the target.
async fn put_file(conn: &SshConnection, path: &str, data: &[u8], mode: u32) -> TransportResult<()> {
    let Some(sftp) = conn.sftp.get(conn.open_channel()).await else {
        return put_with_cat(conn, path, data, mode).await;
    };
    match sftp::write(&sftp, path, data, mode).await {
        Ok(()) => Ok(()),
        Err(sftp::Failure::Status(msg) | sftp::Failure::Broken(msg))
            if conn.handle().is_closed() =>
        {
            Err(conn.channel_error(&format!("upload {path}"), msg))
        }
        // The server answered (permission denied, no such directory...): a real failure.
        Err(sftp::Failure::Status(msg)) => Err(TransportError::Failed(format!(
            "cannot write {path}: {msg}"
        ))),
        // The SFTP session itself broke: start a new one next time, use exec this time.
        Err(sftp::Failure::Broken(_)) => {
            conn.sftp.reset().await;
            put_with_cat(conn, path, data, mode).await
        }
    }
}

/// Upload over exec for servers without SFTP. The umask keeps the file private until chmod.
async fn put_with_cat(
    conn: &SshConnection,
    path: &str,
    data: &[u8],
    mode: u32,
) -> TransportResult<()> {
    let q = sh_quote(path);
    let cmd = format!("umask 077 && cat > {q} && chmod {:o} {q}", mode & 0o7777);
    let out = crate::transport::Transport::exec(conn, &cmd, Some(data)).await?;
    if out.rc != 0 {
        return Err(TransportError::Failed(format!(
            "cannot write {path}: {}",
            out.stderr_str().trim()
        )));
    }
    Ok(())
}
