//! File upload. SFTP moves bytes without a shell in the way (no quoting, no size limit on a
//! command line) and pipelines writes; one SFTP channel is opened lazily per connection and
//! shared by every upload. Hosts without the sftp subsystem get `cat > path` over exec.
//!
//! `put_file` writes `path` in place. Callers that need atomic replacement (all modules do)
//! write to a temporary name in the destination directory and `mv -f` it over the target.

use std::sync::Arc;

use russh::ChannelMsg;
use russh_sftp::client::SftpSession;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::{FileAttributes, OpenFlags};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::client::SshConnection;
use crate::shell::sh_quote;
use crate::transport::{TransportError, TransportResult};

/// Seconds an SFTP request may take before the session is considered broken.
const SFTP_REQUEST_TIMEOUT: u64 = 60;

/// The per-connection SFTP session, opened on first use.
#[derive(Default)]
pub(crate) struct SftpSlot {
    state: Mutex<State>,
}

#[derive(Default)]
enum State {
    #[default]
    Untried,
    Ready(Arc<SftpSession>),
    /// The server has no sftp subsystem; do not ask again on this connection.
    Unavailable,
}

impl SftpSlot {
    /// The shared session, opening it if needed; `None` when the server offers no SFTP.
    async fn get(&self, conn: &SshConnection) -> Option<Arc<SftpSession>> {
        let mut state = self.state.lock().await;
        match &*state {
            State::Ready(s) => return Some(s.clone()),
            State::Unavailable => return None,
            State::Untried => {}
        }
        match open(conn).await {
            Ok(s) => {
                let s = Arc::new(s);
                *state = State::Ready(s.clone());
                Some(s)
            }
            Err(_) => {
                *state = State::Unavailable;
                None
            }
        }
    }

    /// Forgets a session that broke, so the next upload opens a fresh one.
    async fn reset(&self) {
        *self.state.lock().await = State::Untried;
    }
}

async fn open(conn: &SshConnection) -> Result<SftpSession, String> {
    let mut channel = conn.open_channel().await.map_err(|e| e.to_string())?;
    channel
        .request_subsystem(true, "sftp")
        .await
        .map_err(|e| e.to_string())?;
    // Wait for the verdict: sshd keeps the channel open after refusing a subsystem, so an
    // SFTP handshake on it would only time out.
    loop {
        match channel.wait().await {
            Some(ChannelMsg::Success) => break,
            Some(ChannelMsg::Failure) | Some(ChannelMsg::Close) | None => {
                let _ = channel.close().await;
                return Err("sftp subsystem refused".into());
            }
            Some(_) => {}
        }
    }
    let cfg = russh_sftp::client::Config {
        request_timeout_secs: SFTP_REQUEST_TIMEOUT,
        ..Default::default()
    };
    SftpSession::new_with_config(channel.into_stream(), cfg)
        .await
        .map_err(|e| e.to_string())
}

pub(crate) async fn put_file(
    conn: &SshConnection,
    path: &str,
    data: &[u8],
    mode: u32,
) -> TransportResult<()> {
    let Some(sftp) = conn.sftp_slot().get(conn).await else {
        return put_with_cat(conn, path, data, mode).await;
    };
    match write(&sftp, path, data, mode).await {
        Ok(()) => Ok(()),
        Err(Failure::Status(msg) | Failure::Broken(msg)) if conn.handle().is_closed() => {
            Err(conn.channel_error(&format!("upload {path}"), msg))
        }
        // The server answered (permission denied, no such directory...): a real failure.
        Err(Failure::Status(msg)) => Err(TransportError::Failed(format!(
            "cannot write {path}: {msg}"
        ))),
        // The SFTP session itself broke: start a new one next time, use exec this time.
        Err(Failure::Broken(_)) => {
            conn.sftp_slot().reset().await;
            put_with_cat(conn, path, data, mode).await
        }
    }
}

enum Failure {
    Status(String),
    Broken(String),
}

impl From<SftpError> for Failure {
    fn from(e: SftpError) -> Self {
        match e {
            SftpError::Status(s) => Failure::Status(s.error_message),
            e => Failure::Broken(e.to_string()),
        }
    }
}

async fn write(sftp: &SftpSession, path: &str, data: &[u8], mode: u32) -> Result<(), Failure> {
    let perms = FileAttributes {
        permissions: Some(mode & 0o7777),
        ..FileAttributes::empty()
    };
    let flags = OpenFlags::CREATE | OpenFlags::TRUNCATE | OpenFlags::WRITE;
    let mut file = sftp
        .open_with_flags_and_attributes(path, flags, perms.clone())
        .await?;
    // The open applies the umask and leaves an existing file's mode alone; set it exactly.
    file.set_metadata(perms).await?;
    let io = |e: std::io::Error| Failure::Status(e.to_string());
    file.write_all(data).await.map_err(io)?;
    file.shutdown().await.map_err(io)
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
