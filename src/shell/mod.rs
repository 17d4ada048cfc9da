//! POSIX shell words, below everything that builds or reads a command line: quoting a word
//! for `sh`, splitting words as Python's `shlex` does (inventory lines, `command:` arguments)
//! and how a module's script reaches the host (a fixed command line, the script on stdin).
mod command_line;
mod quote;
pub mod shlex;

pub use command_line::{BOOTSTRAP, Become, BecomeMethod, Invocation, become_failure, invocation};
pub use quote::sh_quote;
