//! Questions to the operator on the controller's terminal: `pause: prompt=` and the
//! `--ask-pass` / `--ask-become-pass` passwords. One lock serialises them, so two hosts'
//! `pause` prompts never interleave.

use std::io::{BufRead, Write};
use std::sync::Mutex as StdMutex;

/// Serialises terminal access with other controller-side prompts.
static TTY: StdMutex<()> = StdMutex::new(());

/// Asks on stderr and reads one line from stdin; with `echo` off the terminal does not show
/// what is typed. Without a terminal the line is read as-is, so a script can pipe it in.
pub fn read_line(prompt: &str, echo: bool) -> std::io::Result<String> {
    let _guard = TTY.lock().unwrap_or_else(|p| p.into_inner());
    let mut err = std::io::stderr();
    write!(
        err,
        "{prompt}{}: ",
        if echo { "" } else { " (output is hidden)" }
    )?;
    err.flush()?;
    let restore = if echo { None } else { hide_input() };
    let mut line = String::new();
    let res = std::io::stdin().lock().read_line(&mut line);
    if let Some(saved) = restore {
        // SAFETY: restores the terminal attributes saved by `hide_input` on fd 0.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &saved) };
        writeln!(err)?;
    }
    res?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Turns terminal echo off on stdin, returning the settings to restore.
fn hide_input() -> Option<libc::termios> {
    // SAFETY: termios is plain data; both calls only touch fd 0's attributes.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut t) != 0 {
            return None;
        }
        let saved = t;
        t.c_lflag &= !libc::ECHO;
        (libc::tcsetattr(0, libc::TCSANOW, &t) == 0).then_some(saved)
    }
}
