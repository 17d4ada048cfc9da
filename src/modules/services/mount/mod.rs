//! `mount` (ansible.posix.mount): fstab entries and live mounts, with Ansible's states and
//! decisions. One probe round trip reads fstab, `/proc/self/mountinfo` and whether the path is
//! a mount point; the fstab edit is computed in Rust (see `fstab`); one action round
//! trip then creates the mount point, replaces fstab atomically and mounts, unmounts or
//! remounts. A failed mount puts the old fstab back and removes the directories it created,
//! as Ansible does, and fails with mount's own message. With `opts_no_log`, the options are
//! hidden from everything the task returns (see `no_log`).

pub mod fstab;
mod no_log;

use futures::future::BoxFuture;
use serde_json::Value;

use std::collections::HashMap;

use self::fstab::{Entry, Mounted, escape, linux_mounts, set_mount, unset_mount};
use crate::events::FileDiff;
use crate::modules::toolkit::replace_file::{REPLACE_FN, RESTORE_FN};
use crate::modules::toolkit::sections::{SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct Mount;

const STATES: &[&str] = &[
    "absent",
    "absent_from_fstab",
    "absent_mount",
    "mounted",
    "present",
    "unmounted",
    "remounted",
    "ephemeral",
];

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "mount",
    params: &[
        Param::new("path", T::Str).required().aliases(&["name"]),
        Param::new("src", T::Str),
        Param::new("fstype", T::Str),
        Param::new("opts", T::Str),
        Param::new("opts_no_log", T::Bool),
        Param::new("dump", T::Str),
        Param::new("passno", T::Str),
        Param::new("state", T::Str).required().choices(STATES),
        Param::new("fstab", T::Str),
        Param::new("boot", T::Bool),
        Param::new("backup", T::Bool),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for Mount {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }
    fn run<'a>(
        &'a self,
        ctx: &'a ModuleCtx<'a>,
        args: &'a Args,
    ) -> BoxFuture<'a, Result<ModuleResult, ModuleError>> {
        Box::pin(run(ctx, args))
    }
}

/// The module's `args` dict: what Ansible returns besides `changed`.
#[derive(Clone, Debug)]
pub struct Request {
    pub state: String,
    pub entry: Entry,
    pub src_given: bool,
    pub fstype_given: bool,
    pub fstab: String,
    pub boot: bool,
    pub backup: bool,
}

impl Request {
    pub fn from_args(args: &Args) -> Result<Request, ModuleError> {
        let name = args
            .str("path")
            .or_else(|| args.str("name"))
            .ok_or_else(|| ModuleError::Args("missing required arguments: path".into()))?;
        let state = args.req_str("state")?;
        if !STATES.contains(&state.as_str()) {
            return Err(ModuleError::Args(format!(
                "value of state must be one of: {}, got: {state}",
                STATES.join(", ")
            )));
        }
        let src = args.str("src");
        let fstype = args.str("fstype");
        if ["mounted", "present", "ephemeral"].contains(&state.as_str()) {
            let missing: Vec<&str> = [("src", &src), ("fstype", &fstype)]
                .iter()
                .filter(|(_, v)| v.is_none())
                .map(|(k, _)| *k)
                .collect();
            if !missing.is_empty() {
                return Err(ModuleError::Args(format!(
                    "state is {state} but all of the following are missing: {}",
                    missing.join(", ")
                )));
            }
        }
        let boot = args.bool_or("boot", true)?;
        let mut opts = args.str("opts").unwrap_or_else(|| "defaults".into());
        if !boot {
            // Ansible appends `noauto` even when `opts` already has it.
            opts.push_str(",noauto");
        }
        Ok(Request {
            src_given: src.is_some(),
            fstype_given: fstype.is_some(),
            entry: Entry {
                src: src.unwrap_or_default(),
                name,
                fstype: fstype.unwrap_or_default(),
                opts,
                dump: args.str("dump").unwrap_or_else(|| "0".into()),
                passno: args.str("passno").unwrap_or_else(|| "0".into()),
            },
            state,
            fstab: args.str("fstab").unwrap_or_else(|| "/etc/fstab".into()),
            boot,
            backup: args.bool_or("backup", false)?,
        })
    }

    fn result(&self, changed: bool, backup_file: &str) -> ModuleResult {
        let e = &self.entry;
        let mut r = ModuleResult::changed(changed)
            .with("name", e.name.clone())
            .with("opts", e.opts.clone())
            .with("dump", e.dump.clone())
            .with("passno", e.passno.clone())
            .with("fstab", self.fstab.clone())
            .with("boot", if self.boot { "yes" } else { "no" })
            .with("backup_file", backup_file);
        if self.src_given {
            r.data.insert("src".into(), Value::from(e.src.clone()));
        }
        if self.fstype_given {
            r.data
                .insert("fstype".into(), Value::from(e.fstype.clone()));
        }
        r
    }

    /// Whether the options reach `mount` through a private fstab (see [`Request::own_fstab`]).
    fn own_opts(&self) -> bool {
        self.state == "ephemeral" || (self.state == "remounted" && self.entry.opts != "defaults")
    }

    /// `mount`'s `-T FILE`: the private fstab when the options must be given, else a
    /// non-default fstab (Linux).
    fn fstab_args(&self, own: bool) -> String {
        if own {
            "-T \"$__s_tf\" ".into()
        } else if self.fstab != "/etc/fstab" && self.state != "ephemeral" {
            format!("-T {} ", sh_quote(&self.fstab))
        } else {
            String::new()
        }
    }

    /// The one-line fstab that carries the options Ansible puts on `mount -o` (ephemeral's
    /// `-t FSTYPE -o OPTS SRC`, remounted's `-o remount,OPTS`). Options may hold a password
    /// (cifs `password=`), and argv is visible to every user of the host, so they travel in
    /// this script (stdin) into a 0600 temp file that `mount -T` reads. For `remounted`, the
    /// entry's options in `fstab` come first, as mount merges them with `-o`.
    fn own_fstab(&self, fstab_text: &str, mounts: &HashMap<String, Mounted>) -> Option<String> {
        if !self.own_opts() {
            return None;
        }
        let e = &self.entry;
        let line = if self.state == "ephemeral" {
            let src = if e.src.is_empty() { "none" } else { &e.src };
            format!(
                "{} {} {} {} 0 0",
                escape(src),
                escape(&e.name),
                escape(&e.fstype),
                escape(&e.opts)
            )
        } else {
            let listed = fstab_entry(fstab_text, &e.name);
            let mounted = mounts.get(&e.name);
            let field = |i: usize, m: Option<&str>| {
                listed
                    .as_ref()
                    .map(|f| f[i].clone())
                    .or_else(|| m.map(escape))
                    .unwrap_or_else(|| "none".into())
            };
            let opts = match &listed {
                Some(f) => format!("{},{}", f[3], escape(&e.opts)),
                None => escape(&e.opts),
            };
            format!(
                "{} {} {} {opts} 0 0",
                field(0, mounted.map(|m| m.src.as_str())),
                escape(&e.name),
                field(2, mounted.map(|m| m.fs.as_str())),
            )
        };
        Some(line)
    }

    fn mount_cmd(&self, own: bool) -> String {
        format!(
            "mount {}{}",
            self.fstab_args(own),
            sh_quote(&self.entry.name)
        )
    }

    fn remount_cmd(&self, own: bool) -> String {
        format!(
            "mount -o remount {}{}",
            self.fstab_args(own),
            sh_quote(&self.entry.name)
        )
    }
}

/// The fields of `name`'s entry in an fstab text, still escaped.
fn fstab_entry(text: &str, name: &str) -> Option<Vec<String>> {
    text.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|f| f.len() >= 4 && !f[0].starts_with('#') && f[1] == escape(name))
}

/// Shell that stores the private fstab line in `$__s_tf`, removed when the script exits.
fn own_fstab_script(line: &str) -> String {
    format!(
        "__s_tf=$(mktemp) || exit 1
\
         trap 'rm -f -- \"$__s_so\" \"$__s_se\" \"$__s_tf\"' EXIT
\
         printf '%s\\n' {} > \"$__s_tf\"",
        sh_quote(line)
    )
}

fn probe_script(req: &Request, check_mode: bool) -> SectionScript {
    let p = sh_quote(&req.entry.name);
    let f = sh_quote(&req.fstab);
    let mut s = SectionScript::new();
    if req.state != "ephemeral" && !check_mode {
        // Ansible creates a missing fstab (and its directory) before anything else.
        s.line(&format!(
            "if [ ! -e {f} ]; then mkdir -p -- \"$(dirname -- {f})\" && : > {f}; fi"
        ));
    }
    s.line(&format!(
        "if [ -f {f} ]; then __s_sec fstab cat -- {f}; fi\n\
         __s_sec mountinfo cat /proc/self/mountinfo\n\
         if [ -e {p} ] || [ -L {p} ]; then __s_val exists 1; fi\n\
         if [ -e {p} ] && [ ! -L {p} ]; then\n\
         set -- $(stat -c '%d %i' -- {p}) $(stat -L -c '%d %i' -- \"$(dirname -- \"$(readlink -f -- {p})\")\")\n\
         if [ \"$1\" != \"$3\" ] || [ \"$2\" = \"$4\" ]; then __s_val ismount 1; fi\nfi"
    ));
    if req.state == "ephemeral" {
        s.sec("mountv", &["mount", "-v"]);
    }
    s.line("__s_val done 1");
    s
}

/// Shell that creates `path`'s missing directories one by one, remembering them (newest
/// first) in `$__s_made` so a failed mount can remove them again.
fn mkdirs(path: &str) -> String {
    format!(
        "__s_made=; __s_cur=; __s_p={p}\n\
         case $__s_p in /*) __s_abs=1;; *) __s_abs=0;; esac\n\
         __s_old_ifs=$IFS; IFS=/; set -f; set -- $__s_p; set +f; IFS=$__s_old_ifs\n\
         for __s_c in \"$@\"; do [ -n \"$__s_c\" ] || continue\n\
         if [ -z \"$__s_cur\" ] && [ $__s_abs = 0 ]; then __s_cur=$__s_c; else __s_cur=$__s_cur/$__s_c; fi\n\
         if [ ! -e \"$__s_cur\" ]; then mkdir -- \"$__s_cur\" 2>\"$__s_se\" || {{ __s_val mkdir_err \"$(cat \"$__s_se\")\"; exit 0; }}; \
         __s_made=\"$__s_cur\n$__s_made\"; fi; done\n\
         __s_unmake() {{ printf '%s' \"$__s_made\" | while IFS= read -r __s_d; do [ -n \"$__s_d\" ] && rmdir -- \"$__s_d\"; done; }}\n",
        p = sh_quote(path)
    )
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    match no_log::Secret::from_args(args)? {
        Some(secret) => secret.hide(apply(ctx, args).await),
        None => apply(ctx, args).await,
    }
}

async fn apply(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let req = Request::from_args(args)?;
    let probe = probe_script(&req, ctx.check_mode);
    let out = ctx.run(&probe.build(), None).await?;
    let secs = Sections::parse(probe.marker(), &out.stdout_str());
    if !secs.has("done") {
        return Ok(ModuleResult::failed(format!(
            "reading the mount state of {} failed: {}",
            req.entry.name,
            out.stderr_str().trim()
        )));
    }
    let old = secs
        .get("fstab")
        .map(|s| s.stdout.clone())
        .unwrap_or_default();
    let mounts = linux_mounts(
        &secs
            .get("mountinfo")
            .map(|s| s.stdout.clone())
            .unwrap_or_default(),
    );
    let name = req.entry.name.clone();
    let ismount = secs.has("ismount");
    let exists = secs.has("exists");
    let mounted_any = ismount || mounts.contains_key(&name);
    let mounted_src = ismount || mounts.get(&name).is_some_and(|m| m.src == req.entry.src);
    let src = req.src_given.then_some(req.entry.src.as_str());

    let (new_fstab, fstab_changed) = match req.state.as_str() {
        "absent" | "absent_mount" | "absent_from_fstab" => unset_mount(&old, &name, src),
        "mounted" | "present" => set_mount(&old, &req.entry, req.src_given),
        _ => (old.clone(), false),
    };
    let own = req.own_fstab(&old, &mounts);
    let mut changed = fstab_changed;
    let mut a = SectionScript::new();
    a.line(REPLACE_FN).line(RESTORE_FN);
    let f = sh_quote(&req.fstab);
    let p = sh_quote(&name);
    let write = format!(
        "__s_replace {f} {} 1 2>\"$__s_se\" || {{ __s_val fail \"could not write {}: $(cat \"$__s_se\")\"; exit 0; }}\n\
         [ -z \"$__s_bk\" ] || __s_val backup \"$__s_bk\"",
        req.backup as u8,
        sh_dq(&req.fstab)
    );
    let mut act = false;
    match req.state.as_str() {
        "absent_from_fstab" | "present" => {
            if fstab_changed {
                a.line(&write).line("__s_forget");
                act = true;
            }
        }
        "absent" | "absent_mount" => {
            if fstab_changed {
                a.line(&write).line("__s_forget");
                if mounted_any {
                    a.sec_raw("umount", &format!("umount {p}"));
                    a.line(&format!(
                        "[ \"$__s_r\" = 0 ] || {{ __s_val fail \"Error unmounting {}: $(cat \"$__s_so\" \"$__s_se\")\"; exit 0; }}",
                        sh_dq(&name)
                    ));
                }
                if req.state == "absent" {
                    a.line(&format!(
                        "if [ -e {p} ]; then rmdir -- {p} 2>\"$__s_se\" || {{ __s_val fail \"Error rmdir {}: $(cat \"$__s_se\")\"; exit 0; }}; fi",
                        sh_dq(&name)
                    ));
                }
                act = true;
            }
        }
        "unmounted" => {
            if mounted_any {
                changed = true;
                a.sec_raw("umount", &format!("umount {p}"));
                a.line(&format!(
                    "[ \"$__s_r\" = 0 ] || __s_val fail \"Error unmounting {}: $(cat \"$__s_so\" \"$__s_se\")\"",
                    sh_dq(&name)
                ));
                act = true;
            }
        }
        "remounted" => {
            changed = true;
            act = true;
            if let Some(line) = &own {
                a.line(&own_fstab_script(line));
            }
            a.sec_raw("remount", &req.remount_cmd(own.is_some()));
            a.line("if [ \"$__s_r\" != 0 ]; then");
            if req.entry.opts != "defaults" {
                a.line(
                    "__s_val fail 'Options were specified with remounted, but the remount command failed. \
                     Failing in order to prevent an unexpected mount result. Try replacing this command with \
                     a \"state: unmounted\" followed by a \"state: mounted\" using the full desired mount options instead.'; exit 0",
                );
            }
            a.sec_raw("umount", &format!("umount {p}"));
            a.line(&format!(
                "[ \"$__s_r\" = 0 ] && __s_sec mount {}",
                req.mount_cmd(false)
            ));
            a.line(&format!(
                "[ \"$__s_r\" = 0 ] || __s_val fail \"Error remounting {}: $(cat \"$__s_so\" \"$__s_se\")\"",
                sh_dq(&name)
            ));
            a.line("fi");
        }
        _ => {
            // mounted / ephemeral
            let ephemeral = req.state == "ephemeral";
            if ephemeral && mounted_src {
                let same =
                    is_same_src(&req, &mounts, secs.get("mountv").map(|s| s.stdout.as_str()));
                if !same {
                    return Ok(ModuleResult::failed(
                        "Ephemeral mount point is already mounted with a different source than the specified one. \
                         Failing in order to prevent an unwanted unmount or override operation. Try replacing this \
                         command with a \"state: unmounted\" followed by a \"state: ephemeral\", or use a different \
                         destination path.",
                    ));
                }
            }
            let remount = mounted_src && (fstab_changed || ephemeral);
            let mount = !mounted_src;
            if remount || mount {
                changed = true;
            }
            if !exists || fstab_changed || remount || mount {
                act = true;
                if !exists {
                    a.line(&mkdirs(&name));
                } else {
                    a.line("__s_unmake() { :; }");
                }
                if fstab_changed {
                    a.line(&write);
                }
                let fail = format!(
                    "{{ __s_restore {f}; __s_unmake; __s_val fail \"Error mounting {}: $(cat \"$__s_so\" \"$__s_se\")\"; exit 0; }}",
                    sh_dq(&name)
                );
                if let Some(line) = &own {
                    a.line(&own_fstab_script(line));
                }
                if remount {
                    a.sec_raw("remount", &req.remount_cmd(own.is_some()));
                    a.line(&format!(
                        "if [ \"$__s_r\" != 0 ]; then __s_sec umount umount {p} || {fail}; __s_sec mount {} || {fail}; fi",
                        req.mount_cmd(own.is_some())
                    ));
                } else if mount {
                    a.sec_raw("mount", &req.mount_cmd(own.is_some()));
                    a.line(&format!("[ \"$__s_r\" = 0 ] || {fail}"));
                }
                a.line("__s_forget");
            }
        }
    }
    a.line("__s_val done 1");
    let mut backup_file = String::new();
    if act && !ctx.check_mode {
        let stdin = fstab_changed.then(|| new_fstab.as_bytes().to_vec());
        let o = ctx.run(&a.build(), stdin.as_deref()).await?;
        let done = Sections::parse(a.marker(), &o.stdout_str());
        if let Some(e) = done.val("mkdir_err") {
            return Ok(ModuleResult::failed(format!(
                "Error making dir {name}: {e}"
            )));
        }
        if let Some(msg) = done.val("fail") {
            return Ok(ModuleResult::failed(msg.to_string()));
        }
        if !done.has("done") {
            return Ok(ModuleResult::failed(format!(
                "mount {name} failed: {}",
                o.stderr_str().trim()
            )));
        }
        backup_file = done.val("backup").unwrap_or("").to_string();
    }
    let mut r = req.result(changed, &backup_file);
    if ctx.diff && fstab_changed {
        r.diff.push(FileDiff {
            before_header: req.fstab.clone(),
            after_header: req.fstab.clone(),
            before: old,
            after: new_fstab,
        });
    }
    Ok(r)
}

/// Text safe inside a double-quoted shell string.
fn sh_dq(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('$', "\\$")
        .replace('`', "\\`")
}

/// Ansible's `_is_same_mount_src`: a bind mount of `src`, or `mount -v` naming `src` there.
fn is_same_src(
    req: &Request,
    mounts: &std::collections::HashMap<String, self::fstab::Mounted>,
    mount_v: Option<&str>,
) -> bool {
    let name = &req.entry.name;
    if mounts.get(name).is_some_and(|m| m.src == req.entry.src) {
        return true;
    }
    mount_v.unwrap_or("").lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 2 && f[0] == req.entry.src && f[2] == name
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(v: serde_json::Value) -> Request {
        Request::from_args(&Args::new(v.as_object().unwrap().clone())).unwrap()
    }

    #[test]
    fn defaults_and_boot_like_ansible() {
        let r = req(
            json!({"path": "/mnt/x", "src": "tmpfs", "fstype": "tmpfs", "state": "mounted", "boot": false}),
        );
        assert_eq!(r.entry.opts, "defaults,noauto");
        let v = r.result(true, "").to_value();
        assert_eq!(v["boot"], "no");
        assert_eq!(v["dump"], "0");
        assert_eq!(v["fstab"], "/etc/fstab");
        assert_eq!(v["src"], "tmpfs");
        let u = req(json!({"name": "/mnt/x", "state": "unmounted"}));
        assert!(u.result(false, "").to_value().get("src").is_none());
        let e = Request::from_args(&Args::new(
            json!({"path": "/mnt/x", "state": "mounted"})
                .as_object()
                .unwrap()
                .clone(),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("missing: src, fstype"));
    }

    #[test]
    fn mount_commands_follow_state() {
        let r = req(
            json!({"path": "/mnt/x", "src": "tmpfs", "fstype": "tmpfs", "state": "mounted", "fstab": "/etc/alt"}),
        );
        assert_eq!(r.own_fstab("", &HashMap::new()), None);
        assert_eq!(r.mount_cmd(false), "mount -T /etc/alt /mnt/x");
        assert_eq!(r.remount_cmd(false), "mount -o remount -T /etc/alt /mnt/x");
        let e = req(
            json!({"path": "/mnt/x", "src": "tmpfs", "fstype": "tmpfs", "state": "ephemeral", "opts": "size=1m,pass word"}),
        );
        assert_eq!(
            e.own_fstab("", &HashMap::new()).as_deref(),
            Some("tmpfs /mnt/x tmpfs size=1m,pass\\040word 0 0")
        );
        assert_eq!(e.mount_cmd(true), "mount -T \"$__s_tf\" /mnt/x");
        assert_eq!(e.mount_cmd(false), "mount /mnt/x");
        let rm = req(json!({"path": "/mnt/x", "state": "remounted", "opts": "ro"}));
        assert_eq!(
            rm.remount_cmd(true),
            "mount -o remount -T \"$__s_tf\" /mnt/x"
        );
        // The fstab entry's options come first, as mount merges them with `-o`.
        let listed = "# c\n//srv/share /mnt/x cifs user=u,password=p 0 0\n";
        assert_eq!(
            rm.own_fstab(listed, &HashMap::new()).as_deref(),
            Some("//srv/share /mnt/x cifs user=u,password=p,ro 0 0")
        );
        let mounted = HashMap::from([(
            "/mnt/x".to_string(),
            Mounted {
                src: "tmpfs".into(),
                opts: "rw".into(),
                fs: "tmpfs".into(),
            },
        )]);
        assert_eq!(
            rm.own_fstab("", &mounted).as_deref(),
            Some("tmpfs /mnt/x tmpfs ro 0 0")
        );
        let plain = req(json!({"path": "/mnt/x", "state": "remounted"}));
        assert_eq!(plain.own_fstab(listed, &mounted), None);
    }

    #[test]
    fn mkdirs_records_what_it_created() {
        let dir = crate::modules::harness::Scratch::new("mkdirs");
        let target = dir.s("a/b/c");
        let mut s = SectionScript::new();
        s.line(&mkdirs(&target));
        s.line("test -d \"$__s_p\" && __s_unmake && __s_val gone 1");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(s.build())
            .output()
            .unwrap();
        let secs = Sections::parse(s.marker(), &String::from_utf8(out.stdout).unwrap());
        assert!(secs.has("gone"));
        assert!(!dir.path("a").exists());
        assert!(dir.0.exists());
    }
}
