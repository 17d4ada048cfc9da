//! Errors of `strata lab`. Each message names what to do next, because the lab is run by people
//! setting up a test machine, who need the failing command and its output, not a code.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("strata lab needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN)")]
    NotRoot,

    #[error("{what} not found at {path}: {hint}")]
    MissingTool {
        what: &'static str,
        path: PathBuf,
        hint: &'static str,
    },

    #[error(
        "invalid lab name {0:?}: use 1-32 characters from [A-Za-z0-9_-], not starting with '-'"
    )]
    InvalidName(String),

    #[error("a lab has between 1 and {max} hosts, not {n}")]
    InvalidHostCount { n: usize, max: usize },

    #[error(
        "invalid host name {0:?}: use 1-32 characters from [a-z0-9-], not starting with '-' (it becomes the hostname)"
    )]
    InvalidHostName(String),

    #[error("host {0:?} is named twice, or is already in the lab")]
    DuplicateHost(String),

    #[error(
        "lab {name:?} is already up (state in {state}); run `strata lab down --name {name}` first"
    )]
    AlreadyUp { name: String, state: PathBuf },

    #[error("lab {name:?} is not up (no {state})")]
    NotUp { name: String, state: PathBuf },

    #[error("lab {lab:?} has no host {host:?}")]
    UnknownHost { lab: String, host: String },

    #[error("no free lab subnet: all of 10.213.1.0/24 .. 10.213.254.0/24 are in use")]
    NoFreeSubnet,

    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },

    #[error("{context}: {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("corrupt lab state {path}: {message}")]
    State { path: PathBuf, message: String },

    #[error("host {host} ({addr}) did not {what} within {secs} s; its log ends with:\n{log_tail}")]
    HostTimeout {
        host: String,
        addr: String,
        what: &'static str,
        secs: u64,
        log_tail: String,
    },

    #[error("host {host}: systemd reports {state}; failed units:\n{failed}")]
    SystemdDegraded {
        host: String,
        state: String,
        failed: String,
    },
}

impl LabError {
    pub(crate) fn io(
        context: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        LabError::Io {
            context,
            path: path.into(),
            source,
        }
    }
}
