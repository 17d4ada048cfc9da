//! Atomic whole-file replacement inside a module's action script, for modules that must edit
//! a file and act on the system in the same round trip (`sysctl -p` after writing the file,
//! `mount` after writing fstab, `hostname` after /etc/hostname). The new content arrives on
//! the script's stdin, goes to a temp file in the destination directory (so the final `mv`
//! is a rename), takes the old file's mode and owner (0666 & ~umask for a new file, as
//! Ansible's `atomic_move` does), and renames over the destination.

/// Defines `__s_replace DEST BACKUP KEEP`: content from stdin. BACKUP=1 copies the old file
/// to Ansible's `DEST.PID.DATE@TIME~` name, left in `$__s_bk`;
/// KEEP=1 also keeps a copy for [`RESTORE_FN`] to put back. Returns non-zero, with the reason
/// on stderr, when anything fails; the destination is then untouched.
pub const REPLACE_FN: &str = r#"__s_replace() {
  __s_d=$1; __s_bk=; case $__s_d in */*) __s_dir=${__s_d%/*}; __s_dir=${__s_dir:-/};; *) __s_dir=.;; esac
  __s_t=$(mktemp "$__s_dir/.strata.XXXXXX") || { echo "could not create a temporary file in $__s_dir" >&2; return 1; }
  cat > "$__s_t" || { rm -f -- "$__s_t"; echo "could not write $__s_t" >&2; return 1; }
  if [ -e "$__s_d" ]; then
    chmod "$(stat -L -c %a -- "$__s_d")" "$__s_t"; chown "$(stat -L -c %u:%g -- "$__s_d")" "$__s_t" 2>/dev/null
  else
    chmod "$(printf %o $((0666 & ~0$(umask))))" "$__s_t"
  fi
  __s_keep=
  if [ "$3" = 1 ] && [ -e "$__s_d" ]; then
    __s_keep=$(mktemp "$__s_dir/.strata.XXXXXX") && cp -p -- "$__s_d" "$__s_keep" || { rm -f -- "$__s_t"; echo "could not copy $__s_d" >&2; return 1; }
  fi
  if [ "$2" = 1 ] && [ -e "$__s_d" ]; then
    __s_b="$__s_d.$$.$(date +%Y-%m-%d@%H:%M:%S)~"
    cp -p -- "$__s_d" "$__s_b" || { rm -f -- "$__s_t"; echo "Could not make backup of $__s_d to $__s_b" >&2; return 1; }
    __s_bk=$__s_b
  fi
  mv -f -- "$__s_t" "$__s_d" || { rm -f -- "$__s_t"; echo "failed to move the temporary file to $__s_d" >&2; return 1; }
}
"#;

/// Defines `__s_restore DEST`, which puts back the copy `__s_replace DEST _ 1` kept (after
/// a failed mount the old fstab returns), and `__s_forget`, which drops that copy.
pub const RESTORE_FN: &str = r#"__s_restore() { if [ -n "$__s_keep" ]; then mv -f -- "$__s_keep" "$1"; __s_keep=; fi; }
__s_forget() { if [ -n "$__s_keep" ]; then rm -f -- "$__s_keep"; __s_keep=; fi; }
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::toolkit::sections::{SectionScript, Sections};
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn run(script: &str, stdin: &[u8]) -> (i32, String) {
        let mut c = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(stdin).unwrap();
        let o = c.wait_with_output().unwrap();
        (
            o.status.code().unwrap(),
            String::from_utf8(o.stdout).unwrap(),
        )
    }

    #[test]
    fn replaces_keeps_mode_backs_up_and_restores() {
        let dir = crate::modules::harness::Scratch::new("replace");
        let f = dir.path("conf");
        std::fs::write(&f, "old\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut s = SectionScript::new();
        s.line(REPLACE_FN).line(RESTORE_FN);
        s.line(&format!(
            "__s_replace {} 1 1 || exit 9; __s_forget; __s_val backup \"$__s_bk\"",
            dir.s("conf")
        ));
        let (rc, out) = run(&s.build(), b"new\n");
        assert_eq!(rc, 0);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "new\n");
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let secs = Sections::parse(s.marker(), &out);
        let backup = secs.val("backup").unwrap();
        assert_eq!(std::fs::read_to_string(backup).unwrap(), "old\n");

        let mut s = SectionScript::new();
        s.line(REPLACE_FN).line(RESTORE_FN);
        s.line(&format!(
            "__s_replace {p} 0 1 && __s_restore {p}",
            p = dir.s("conf")
        ));
        let (rc, _) = run(&s.build(), b"newer\n");
        assert_eq!(rc, 0);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "new\n");
        let leftovers = std::fs::read_dir(&dir.0)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".strata")
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
