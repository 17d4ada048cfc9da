//! Ansible's `set_fs_attributes_if_different` as a shell function, for modules that produce
//! files on the host themselves (`get_url`, `uri`, `unarchive`) rather than through the shared
//! atomic writer. The wanted mode is computed by `chmod` on a scratch file carrying the current
//! mode, so symbolic modes behave exactly as chmod(1) on the host; check mode only compares.

use super::atomic_write::FileAttrs;
use crate::shell::sh_quote;

/// `__fa PATH MODE OWNER GROUP`: sets `__fa_changed=1` when anything differs (and fixes it
/// unless `$__fa_C` is 1); on error returns 1 with `__fa_err` set.
pub const SCRIPT: &str = r#"__fa() {
  __fa_p=$1; __fa_m=$2; __fa_o=$3; __fa_g=$4; __fa_err=
  [ -z "$__fa_m$__fa_o$__fa_g" ] && return 0
  set -- $(stat -c '%a %u %g' -- "$__fa_p") || { __fa_err="could not stat $__fa_p"; return 1; }
  __fa_cm=$1; __fa_cu=$2; __fa_cg=$3; __fa_nm=$1; __fa_nu=$2; __fa_ng=$3
  if [ -n "$__fa_o" ]; then
    case $__fa_o in
      *[!0-9]*) __fa_nu=$(id -u -- "$__fa_o" 2>/dev/null) || { __fa_err="chown failed: failed to look up user $__fa_o"; return 1; };;
      *) __fa_nu=$__fa_o;;
    esac
  fi
  if [ -n "$__fa_g" ]; then
    case $__fa_g in
      *[!0-9]*) __fa_ng=$(getent group "$__fa_g" | cut -d: -f3)
        [ -n "$__fa_ng" ] || { __fa_err="chgrp failed: failed to look up group $__fa_g"; return 1; };;
      *) __fa_ng=$__fa_g;;
    esac
  fi
  if [ -n "$__fa_m" ]; then
    if [ -d "$__fa_p" ]; then __fa_t=$(mktemp -d); else __fa_t=$(mktemp); fi
    chmod "$__fa_cm" "$__fa_t"
    if ! chmod -- "$__fa_m" "$__fa_t" 2>/dev/null; then
      rm -rf -- "$__fa_t"; __fa_err="mode must be in octal or symbolic form"; return 1
    fi
    __fa_nm=$(stat -c %a -- "$__fa_t"); rm -rf -- "$__fa_t"
  fi
  [ "$__fa_nm $__fa_nu $__fa_ng" = "$__fa_cm $__fa_cu $__fa_cg" ] && return 0
  __fa_changed=1
  [ "$__fa_C" = 1 ] && return 0
  if [ "$__fa_nu $__fa_ng" != "$__fa_cu $__fa_cg" ]; then
    __fa_err=$(chown -h -- "$__fa_nu:$__fa_ng" "$__fa_p" 2>&1) || { __fa_err="chown failed: $__fa_err"; return 1; }
  fi
  if [ "$__fa_nm" != "$__fa_cm" ]; then
    __fa_err=$(chmod -- "$__fa_nm" "$__fa_p" 2>&1) || { __fa_err="chmod failed: $__fa_err"; return 1; }
  fi
  return 0
}
"#;

/// The arguments of a `__fa` call for `attrs` (after the path).
pub fn call_args(attrs: &FileAttrs) -> String {
    let mode = attrs
        .mode
        .as_ref()
        .and_then(|m| m.chmod_arg())
        .unwrap_or_default();
    format!(
        "{} {} {}",
        sh_quote(&mode),
        sh_quote(attrs.owner.as_deref().unwrap_or("")),
        sh_quote(attrs.group.as_deref().unwrap_or(""))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::{Scratch, mode_of};
    use crate::modules::toolkit::mode::ModeSpec;

    fn run(check: bool, path: &str, attrs: &FileAttrs) -> (String, String) {
        let script = format!(
            "{SCRIPT}__fa_C={}; __fa_changed=0; __fa {} {} || echo \"ERR $__fa_err\"; echo \"changed=$__fa_changed\"",
            check as u8,
            sh_quote(path),
            call_args(attrs)
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[test]
    fn symbolic_and_octal_modes_check_then_apply() {
        let d = Scratch::new("fa");
        let f = d.path("f");
        std::fs::write(&f, "x").unwrap();
        std::process::Command::new("chmod")
            .arg("644")
            .arg(&f)
            .status()
            .unwrap();
        let attrs = FileAttrs {
            mode: Some(ModeSpec::Symbolic("u+x,g-r".into())),
            ..Default::default()
        };
        let (o, e) = run(true, &d.s("f"), &attrs);
        assert!(o.contains("changed=1"), "{o}{e}");
        assert_eq!(mode_of(&f), 0o644, "check mode changed the file");
        let (o, _) = run(false, &d.s("f"), &attrs);
        assert!(o.contains("changed=1"), "{o}");
        assert_eq!(mode_of(&f), 0o704);
        let octal = FileAttrs {
            mode: Some(ModeSpec::Octal(0o704)),
            ..Default::default()
        };
        let (o, _) = run(false, &d.s("f"), &octal);
        assert!(o.contains("changed=0"), "{o}");
    }

    #[test]
    fn unknown_owner_is_an_error() {
        let d = Scratch::new("fa2");
        std::fs::write(d.path("f"), "x").unwrap();
        let attrs = FileAttrs {
            owner: Some("no-such-user-xyz".into()),
            ..Default::default()
        };
        let (o, _) = run(false, &d.s("f"), &attrs);
        assert!(
            o.contains("ERR chown failed: failed to look up user no-such-user-xyz"),
            "{o}"
        );
    }
}
