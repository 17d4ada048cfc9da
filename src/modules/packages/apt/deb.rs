//! `apt: deb=...`: install .deb files already on the host, or downloaded there from a URL.
//! As Ansible, a file whose package is installed at the same version is skipped (so the task
//! is idempotent) and an older file than the installed version fails unless downgrades are
//! allowed. The files are then installed by `apt-get install ./file.deb`, which pulls their
//! dependencies from the configured repositories in the same transaction (Ansible resolves
//! them with python-apt and then runs `dpkg -i`; the outcome is the same).

use super::cmd::{Cmd, ENV, HELPERS, REQUIRE_APT, SEP, hex_text};
use super::cmd::{split_report, with_lock_holder, with_policy_rc_d};
use crate::modules::{ModuleCtx, ModuleError, ModuleResult};
use crate::shell::sh_quote;

/// Options of one `deb:` task.
#[derive(Clone, Debug)]
pub struct DebJob {
    pub debs: Vec<String>,
    /// The full `apt-get ... install` command, without the files.
    pub cmd: Cmd,
    pub allow_downgrade: bool,
    pub policy_rc_d: Option<i64>,
}

/// Fetches a URL to `$2` with curl or wget, whichever the host has.
const FETCH: &str = "__fetch() {\n\
  if command -v curl >/dev/null 2>&1; then __fe=$(curl -fsSL -o \"$2\" -- \"$1\" 2>&1) || return 1\n\
  elif command -v wget >/dev/null 2>&1; then __fe=$(wget -q -O \"$2\" -- \"$1\" 2>&1) || return 1\n\
  else __fe='neither curl nor wget is installed'; return 1; fi\n}\n";

/// One file's block: resolve, read its control fields, compare with what dpkg has, and add
/// it to the positional parameters when it must be installed.
fn file_block(i: usize, src: &str, allow_downgrade: bool) -> String {
    let q = sh_quote(src);
    let locate = if src.contains("://") {
        let base = src
            .split(['?', '#'])
            .next()
            .unwrap_or(src)
            .rsplit('/')
            .next()
            .filter(|b| !b.is_empty())
            .unwrap_or("package");
        let name = if base.ends_with(".deb") {
            format!("{i}_{base}")
        } else {
            format!("{i}_{base}.deb")
        };
        format!(
            "if [ -z \"$__dir\" ]; then __dir=$(mktemp -d) && chmod 755 \"$__dir\" || {{ __sx fail 'cannot create a temporary directory'; exit 0; }}; fi\n\
             __f=\"$__dir\"/{n}\n\
             __fetch {q} \"$__f\" || {{ __sx fail \"Failure downloading {src_msg}, $__fe\"; exit 0; }}\n",
            n = sh_quote(&name),
            src_msg = src.replace(['"', '\\', '$', '`'], "")
        )
    } else if src.starts_with('/') {
        format!("__f={q}\n")
    } else {
        format!("__f=./{q}\n")
    };
    format!(
        "{locate}\
         __p=$(dpkg-deb -f \"$__f\" Package 2>&1) || {{ __sx fail \"Unable to install package: $__p\"; exit 0; }}\n\
         __v=$(dpkg-deb -f \"$__f\" Version 2>&1) || {{ __sx fail \"Unable to install package: $__v\"; exit 0; }}\n\
         __iv=$(dpkg-query -W -f='${{db:Status-Status}} ${{Version}}' -- \"$__p\" 2>/dev/null)\n\
         case $__iv in 'installed '*) __iv=${{__iv#installed }};; *) __iv=;; esac\n\
         if [ -n \"$__iv\" ] && dpkg --compare-versions \"$__v\" eq \"$__iv\"; then :\n\
         elif [ -n \"$__iv\" ] && [ {dg} = 0 ] && dpkg --compare-versions \"$__v\" lt \"$__iv\"; then __sx fail 'A later version is already installed'; exit 0\n\
         else set -- \"$@\" \"$__f\"; fi\n",
        dg = allow_downgrade as u8
    )
}

pub fn script(job: &DebJob) -> String {
    let mut s = format!(
        "{ENV}{HELPERS}{REQUIRE_APT}{FETCH}__dir=\ntrap '[ -n \"$__dir\" ] && rm -rf -- \"$__dir\"' EXIT\nset --\n"
    );
    for (i, d) in job.debs.iter().enumerate() {
        s.push_str(&file_block(i, d, job.allow_downgrade));
    }
    let run = with_policy_rc_d(&format!("{} \"$@\"", job.cmd.shell()), job.policy_rc_d);
    s.push_str(&format!(
        "if [ $# -eq 0 ]; then printf '\\n{SEP}\\n__strata_nothing=1\\n'; exit 0; fi\n\
         {run}printf '\\n{SEP}\\n__strata_rc=%s\\n' \"$__rc\"\n"
    ));
    s
}

pub async fn run(ctx: &ModuleCtx<'_>, job: &DebJob) -> Result<ModuleResult, ModuleError> {
    let out = ctx.run(&script(job), None).await?;
    let rep = split_report(&out);
    let stderr = out.stderr_str();
    if rep.keys.contains_key("noapt") {
        return Ok(super::cmd::no_apt());
    }
    if let Some(msg) = rep.keys.get("fail") {
        return Ok(ModuleResult::failed(hex_text(msg)));
    }
    if rep.keys.contains_key("nothing") {
        return Ok(ModuleResult::changed(false)
            .with("stdout", "")
            .with("stderr", ""));
    }
    let rc: i32 = rep
        .keys
        .get("rc")
        .and_then(|r| r.parse().ok())
        .unwrap_or(out.rc);
    let r = super::cmd::with_streams(ModuleResult::changed(rc == 0), &rep.stdout, &stderr);
    if rc != 0 {
        let msg = format!(
            "'{} {}' failed: {}",
            job.cmd.shell(),
            job.debs.join(" "),
            stderr.trim()
        );
        let mut f = r.msg(with_lock_holder(msg, &rep.stdout));
        f.failed = true;
        f.changed = false;
        return Ok(f.with("rc", rc));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::harness::LocalShell;
    use crate::transport::Transport;

    /// The control-field and version logic runs for real against a .deb built here; the
    /// install command is replaced by `echo` so nothing is installed on this machine.
    #[tokio::test]
    async fn decides_per_file_and_reports_failures() {
        let dir = crate::modules::harness::Scratch::new("apt-deb");
        let root = dir.path("pkg");
        std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
        std::fs::write(
            root.join("DEBIAN/control"),
            "Package: strata-unit-test-pkg\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n",
        )
        .unwrap();
        let built = std::process::Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(&root)
            .arg(dir.path("p.deb"))
            .output();
        if !built.map(|o| o.status.success()).unwrap_or(false) {
            return; // no dpkg-deb on this machine
        }
        let job = DebJob {
            debs: vec![dir.s("p.deb")],
            cmd: Cmd::new("echo").arg("would-install"),
            allow_downgrade: false,
            policy_rc_d: None,
        };
        let out = LocalShell.exec(&script(&job), None).await.unwrap();
        let rep = split_report(&out);
        assert_eq!(
            rep.keys.get("rc").map(String::as_str),
            Some("0"),
            "{}",
            out.stderr_str()
        );
        assert_eq!(
            rep.stdout.trim(),
            format!("would-install {}", dir.s("p.deb"))
        );

        let missing = DebJob {
            debs: vec![dir.s("missing.deb")],
            ..job
        };
        let out = LocalShell.exec(&script(&missing), None).await.unwrap();
        let rep = split_report(&out);
        assert!(hex_text(&rep.keys["fail"]).starts_with("Unable to install package:"));
    }
}
