//! What the small package modules' scripts report: `__sx KEY VALUE` lines (hex, so values may
//! span lines or hold any byte), read back into text. `apt_key`, `debconf`,
//! `dpkg_selections`, `deb822_repository` and `package_facts` share it; `apt` keeps its own
//! richer report (`apt::cmd`).

use std::collections::HashMap;

use super::apt::cmd::hex_text;
use crate::modules::toolkit::atomic_write::parse_trailer;
use crate::transport::ExecOutput;

pub use super::apt::cmd::HELPERS;

/// The decoded keys of one script's output.
#[derive(Debug, Default)]
pub struct Report(HashMap<String, String>);

impl Report {
    pub fn parse(out: &ExecOutput) -> Report {
        let keys = parse_trailer(out.stdout_str().as_bytes());
        Report(keys.into_iter().map(|(k, v)| (k, hex_text(&v))).collect())
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// The value, or empty text when the script did not report it.
    pub fn text(&self, key: &str) -> String {
        self.0.get(key).cloned().unwrap_or_default()
    }

    pub fn rc(&self, key: &str) -> Option<i32> {
        self.0.get(key).and_then(|v| v.trim().parse().ok())
    }
}

/// Python's `str.split()[i]`: the i-th whitespace-separated word.
pub fn word(s: &str, i: usize) -> Option<&str> {
    s.split_whitespace().nth(i)
}

/// Runs a command into `__o`/`__e`/`__r` and reports the three under `PREFIX_out`,
/// `PREFIX_err`, `PREFIX_rc` (`__cap PREFIX cmd...`; stdin is the caller's).
pub const CAPTURE: &str = "__ef=$(mktemp) || exit 1\ntrap 'rm -f -- \"$__ef\"' EXIT\n\
__cap() { __p=$1; shift; __o=$(\"$@\" 2>\"$__ef\"); __r=$?; __e=$(cat -- \"$__ef\"); \
__sx \"${__p}_rc\" \"$__r\"; __sx \"${__p}_out\" \"$__o\"; __sx \"${__p}_err\" \"$__e\"; return $__r; }\n";

/// `__dl URL INSECURE FILE`: downloads into FILE; reports `dl_code` (the HTTP status) and
/// `dl_err` (why it failed, when it did).
pub const DOWNLOAD: &str = r#"__dl() {
  if command -v curl >/dev/null 2>&1; then
    if [ "$2" = 1 ]; then set -- "$1" -k "$3"; else set -- "$1" "" "$3"; fi
    __code=$(curl -sS -L $2 -o "$3" -w '%{http_code}' -- "$1" 2>"$__ef"); __r=$?
    __sx dl_code "$__code"; __sx dl_err "$(cat -- "$__ef")"; return $__r
  fi
  if [ "$2" = 1 ]; then __k=--no-check-certificate; else __k=; fi
  wget -q $__k -O "$3" -- "$1" 2>"$__ef"; __r=$?
  [ $__r = 0 ] && __sx dl_code 200; [ $__r = 8 ] && __sx dl_code 404
  __sx dl_err "$(cat -- "$__ef")"; return $__r
}
"#;

/// The reason Python's `urllib` gives with an HTTP error status.
pub fn http_reason(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    }
}
