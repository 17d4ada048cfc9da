//! The controller itself as a host, for `delegate_to: localhost` and `connection: local`:
//! the same [`Transport`] contract as SSH, with `sh -c` run by tokio::process.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use futures::future::BoxFuture;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::transport::{ExecOutput, Transport, TransportError, TransportResult};

#[derive(Clone, Debug, Default)]
pub struct LocalTransport;

impl LocalTransport {
    pub fn new() -> Self {
        LocalTransport
    }

    async fn run(&self, cmd: &str, stdin: Option<&[u8]>) -> TransportResult<ExecOutput> {
        let fail = |what: &str, e: std::io::Error| {
            TransportError::Failed(format!("localhost: {what}: {e}"))
        };
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| fail("cannot start /bin/sh", e))?;
        let pipe = child.stdin.take();
        // Feed stdin while output is collected: a command may fill its stdout pipe before it
        // has read all its input. A command that exits without reading it all is not an error.
        let feed = async move {
            if let (Some(mut pipe), Some(data)) = (pipe, stdin) {
                let _ = pipe.write_all(data).await;
            }
        };
        let (_, output) = tokio::join!(feed, child.wait_with_output());
        let output = output.map_err(|e| fail("waiting for command", e))?;
        let rc = match (output.status.code(), output.status.signal()) {
            (Some(rc), _) => rc,
            (None, Some(sig)) => 128 + sig,
            (None, None) => {
                return Err(TransportError::Failed(
                    "localhost: command ended without a status".into(),
                ));
            }
        };
        Ok(ExecOutput {
            rc,
            stdout: output.stdout,
            stderr: output.stderr,
        })
    }

    async fn write(&self, path: &str, data: &[u8], mode: u32) -> TransportResult<()> {
        let fail = |e: std::io::Error| TransportError::Failed(format!("cannot write {path}: {e}"));
        // Created with the requested mode (less the umask) so a private file is never briefly
        // world-readable; the explicit chmod then gives the exact mode, also for existing files.
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode & 0o777)
            .open(path)
            .await
            .map_err(fail)?;
        file.write_all(data).await.map_err(fail)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))
            .await
            .map_err(fail)?;
        file.flush().await.map_err(fail)
    }
}

impl Transport for LocalTransport {
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
        Box::pin(self.write(path, data, mode))
    }

    fn describe(&self) -> String {
        "localhost".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn exec_reports_rc_output_and_stdin() {
        let t = LocalTransport::new();
        let out = t
            .exec("echo out; echo err >&2; exit 3", None)
            .await
            .unwrap();
        assert_eq!(
            (out.rc, out.stdout_str().as_str(), out.stderr_str().as_str()),
            (3, "out\n", "err\n")
        );
        let out = t.exec("tr a-z A-Z", Some(b"hello")).await.unwrap();
        assert_eq!((out.rc, out.stdout_str().as_str()), (0, "HELLO"));
        let out = t.exec("kill -TERM $$", None).await.unwrap();
        assert_eq!(out.rc, 128 + libc::SIGTERM);
    }

    #[tokio::test]
    async fn large_stdin_and_stdout_do_not_deadlock() {
        let t = LocalTransport::new();
        let data = vec![b'x'; 4 << 20];
        let out = t.exec("cat", Some(&data)).await.unwrap();
        assert_eq!(out.stdout.len(), data.len());
        let out = t.exec("true", Some(&data)).await.unwrap();
        assert_eq!(out.rc, 0);
    }

    #[tokio::test]
    async fn put_file_sets_content_and_exact_mode() {
        let dir = crate::scratch::root().join(format!("strata-local-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let p = path.to_str().unwrap();
        let t = LocalTransport::new();
        t.put_file(p, b"one", 0o600).await.unwrap();
        t.put_file(p, b"two", 0o751).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o751
        );
        let err = t
            .put_file("/nonexistent-dir/x", b"", 0o644)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/x"), "{err}");
    }
}
