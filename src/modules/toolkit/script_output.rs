//! Values a module's script reports back: `__o KEY VALUE` result lines and whole files between
//! markers (`__dump`), printed by shell helpers the script starts with and read back here. The
//! HTTP modules, `git` and `pip` use them.

/// Shell helpers a script starts with: `__o KEY VALUE` prints a result line (newlines folded),
/// `__dump NAME FILE` prints a file between markers for [`block`].
pub const PRELUDE: &str = r#"__o() { case $2 in *'
'*) set -- "$1" "$(printf '%s' "$2" | tr '\n' ' ')";; esac; printf '__strata_%s=%s\n' "$1" "$2"; }
__dump() { echo "__strata_begin_$1"; cat -- "$2"; echo; echo "__strata_end_$1"; }
"#;

/// The text a script printed with `__dump NAME FILE`.
pub fn block(stdout: &str, name: &str) -> Option<String> {
    let begin = format!("__strata_begin_{name}\n");
    let end = format!("\n__strata_end_{name}");
    let start = stdout.find(&begin)? + begin.len();
    let len = stdout[start..].rfind(&end)?;
    Some(stdout[start..start + len].to_string())
}
