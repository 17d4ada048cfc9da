//! What can stop a stack command before or between engine runs, and its exit code.

use super::state::StateError;
use crate::diagnostic::InputErrors;
use crate::exit::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The stack file, the instance source, `-e` or `--attributes`: nothing was touched.
    #[error("{}", .0.render())]
    Input(InputErrors),
    #[error(transparent)]
    State(#[from] StateError),
    /// A command's argument names something the stack does not have.
    #[error("{0}")]
    Usage(String),
}

impl From<InputErrors> for StackError {
    fn from(e: InputErrors) -> Self {
        StackError::Input(e)
    }
}

impl From<crate::diagnostic::Diagnostic> for StackError {
    fn from(d: crate::diagnostic::Diagnostic) -> Self {
        StackError::Input(InputErrors(vec![d]))
    }
}

impl StackError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            StackError::Input(_) | StackError::Usage(_) => ExitCode::BadInput,
            StackError::State(StateError::Busy(_)) => ExitCode::Busy,
            StackError::State(_) => ExitCode::Error,
        }
    }
}
