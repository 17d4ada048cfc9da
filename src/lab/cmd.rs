//! Running the system tools the lab is built from (`ip`, `ssh-keygen`, `nsenter`). Failures keep
//! the full command line and its stderr, since "RTNETLINK answers: File exists" is only useful
//! next to the command that printed it.

use std::io::Write;
use std::process::{Command, Stdio};

use super::LabError;

/// Runs `program args...`, feeding `stdin` if given, and returns its stdout.
pub(crate) fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, LabError> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let describe = || describe(program, args, stdin);
    let mut child = cmd.spawn().map_err(|e| LabError::Command {
        command: describe(),
        status: "could not start".into(),
        stderr: e.to_string(),
    })?;
    if let Some(input) = stdin {
        // Dropping the pipe after writing gives the tool its end of input.
        let mut pipe = child.stdin.take().expect("stdin is piped");
        let _ = pipe.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| LabError::Command {
        command: describe(),
        status: "could not wait".into(),
        stderr: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(LabError::Command {
            command: describe(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn describe(program: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut s = String::from(program);
    for a in args {
        s.push(' ');
        s.push_str(&crate::shell::sh_quote(a));
    }
    if let Some(input) = stdin {
        s.push_str(" <<< ");
        s.push_str(&crate::shell::sh_quote(input.trim_end()));
    }
    s
}
