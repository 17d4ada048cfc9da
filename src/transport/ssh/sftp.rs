//! SFTP for uploads: it moves bytes without a shell in the way (no quoting, no size limit on
//! a command line) and pipelines writes. One SFTP session is opened lazily per connection, on
//! a channel the connection hands over, and shared by every upload.

use std::sync::Arc;

use russh::ChannelMsg;
use russh_sftp::client::SftpSession;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::{FileAttributes, OpenFlags};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use russh::Channel;
use russh::client::Msg;

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
    /// The shared session, opening it on a channel from `channel` if needed; `None` when the
    /// server offers no SFTP.
    pub(crate) async fn get<E: std::fmt::Display>(
        &self,
        channel: impl Future<Output = Result<Channel<Msg>, E>>,
    ) -> Option<Arc<SftpSession>> {
        let mut state = self.state.lock().await;
        match &*state {
            State::Ready(s) => return Some(s.clone()),
            State::Unavailable => return None,
            State::Untried => {}
        }
        match open(channel).await {
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
    pub(crate) async fn reset(&self) {
        *self.state.lock().await = State::Untried;
    }
}

async fn open<E: std::fmt::Display>(
    channel: impl Future<Output = Result<Channel<Msg>, E>>,
) -> Result<SftpSession, String> {
    let mut channel = channel.await.map_err(|e| e.to_string())?;
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

/// Why an SFTP write failed: the server said no, or the session itself broke.
pub(crate) enum Failure {
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

pub(crate) async fn write(
    sftp: &SftpSession,
    path: &str,
    data: &[u8],
    mode: u32,
) -> Result<(), Failure> {
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
