//! POSIX shell words, below everything that builds or reads a command line: quoting a word
//! for `sh`, splitting words as Python's `shlex` does (inventory lines, `command:` arguments)
//! and the command line a module's script runs under (environment, become).
mod command_line;
mod quote;
pub mod shlex;

pub use command_line::{Become, wrap_command};
pub use quote::sh_quote;
