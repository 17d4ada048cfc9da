//! `group`: a local group present (with a gid) or absent, through `groupadd`/`groupmod`/
//! `groupdel` (`lgroup*` with `local: yes`, as Ansible). The current state and, after a
//! change, the new state come back from the same round trip as the command.

use futures::future::BoxFuture;

use super::account_db::{Group, missing_binary};
use super::user::script::{RUN_PRELUDE, Reply};
use crate::modules::toolkit::atomic_write::parse_trailer;
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};
use crate::shell::sh_quote;

pub struct GroupModule;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "group",
    params: &[
        Param::new("name", T::Str).required(),
        Param::new("gid", T::Int),
        Param::new("state", T::Str).choices(&["absent", "present"]),
        Param::new("force", T::Bool),
        Param::new("system", T::Bool),
        Param::new("local", T::Bool),
        Param::new("non_unique", T::Bool),
        Param::new("gid_min", T::Int),
        Param::new("gid_max", T::Int),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[],
    any_params: false,
};

impl Module for GroupModule {
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

#[derive(Clone, Debug)]
pub struct GroupRequest {
    pub name: String,
    pub gid: Option<i64>,
    pub present: bool,
    pub force: bool,
    pub system: bool,
    pub local: bool,
    pub non_unique: bool,
    pub gid_min: Option<i64>,
    pub gid_max: Option<i64>,
}

impl GroupRequest {
    pub fn from_args(args: &Args) -> Result<GroupRequest, ModuleError> {
        let r = GroupRequest {
            name: args.req_str("name")?,
            gid: args.int("gid")?,
            present: args.str("state").as_deref() != Some("absent"),
            force: args.bool_or("force", false)?,
            system: args.bool_or("system", false)?,
            local: args.bool_or("local", false)?,
            non_unique: args.bool_or("non_unique", false)?,
            gid_min: args.int("gid_min")?,
            gid_max: args.int("gid_max")?,
        };
        let fail = |m: &str| Err(ModuleError::Args(m.to_string()));
        if r.non_unique && r.gid.is_none() {
            return fail("non_unique is True but all of the following are missing: gid");
        }
        if r.force && r.local {
            return fail(
                "force is not a valid option for local, force=True and local=True are mutually exclusive",
            );
        }
        if r.local && r.gid_min.is_some() {
            return fail("'gid_min' can not be used with 'local'");
        }
        if r.local && r.gid_max.is_some() {
            return fail("'gid_max' can not be used with 'local'");
        }
        Ok(r)
    }

    fn tool(&self, base: &str) -> String {
        if self.local {
            format!("l{base}")
        } else {
            base.to_string()
        }
    }

    /// The command that brings the group to the wanted state, if any (`current` is the group
    /// as it exists now).
    pub fn command(&self, current: Option<&Group>) -> Option<Vec<String>> {
        let mut cmd = Vec::new();
        match (self.present, current) {
            (false, None) => return None,
            (false, Some(_)) => {
                cmd.push(self.tool("groupdel"));
                if self.force {
                    cmd.push("-f".into());
                }
            }
            (true, None) => {
                cmd.push(self.tool("groupadd"));
                if let Some(g) = self.gid {
                    cmd.extend(["-g".into(), g.to_string()]);
                    if self.non_unique {
                        cmd.push("-o".into());
                    }
                }
                if self.system {
                    cmd.push("-r".into());
                }
                if let Some(m) = self.gid_min {
                    cmd.extend(["-K".into(), format!("GID_MIN={m}")]);
                }
                if let Some(m) = self.gid_max {
                    cmd.extend(["-K".into(), format!("GID_MAX={m}")]);
                }
            }
            (true, Some(cur)) => match self.gid {
                Some(g) if i64::from(cur.gid) != g => {
                    cmd.extend([self.tool("groupmod"), "-g".into(), g.to_string()]);
                    if self.non_unique {
                        cmd.push("-o".into());
                    }
                }
                _ => return None,
            },
        }
        cmd.push(self.name.clone());
        Some(cmd)
    }
}

/// Prints the group (`__strata_gr=`), from `/etc/group` itself with `local: yes`.
fn lookup_snippet(req: &GroupRequest, key: &str) -> String {
    let n = sh_quote(&req.name);
    if req.local {
        format!(
            "__l=$(grep -- \"^\"{n}: /etc/group | tail -n 1) && printf '__strata_{key}=%s\\n' \"$__l\"\n"
        )
    } else {
        format!("__l=$(getent group -- {n}) && printf '__strata_{key}=%s\\n' \"$__l\"\n")
    }
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let req = GroupRequest::from_args(args)?;
    let out = ctx.run(&lookup_snippet(&req, "gr"), None).await?;
    let keys = parse_trailer(&out.stdout);
    let current = keys.get("gr").and_then(|l| Group::parse(l));
    let cmd = req.command(current.as_ref());
    let mut r = ModuleResult::changed(cmd.is_some())
        .with("name", req.name.clone())
        .with("state", if req.present { "present" } else { "absent" });
    let mut after = current.clone();
    if let Some(cmd) = &cmd {
        if ctx.check_mode {
            if current.is_none() || !req.present {
                // Ansible exits right away here, with nothing but `changed`.
                return Ok(ModuleResult::changed(true));
            }
        } else {
            let line: Vec<String> = cmd.iter().map(|a| sh_quote(a)).collect();
            let script = format!(
                "command -v {tool} >/dev/null 2>&1 || {{ echo __strata_missing=$PATH; exit 0; }}\n\
                 {RUN_PRELUDE}__run {line}\nrm -f -- \"$__e\" \"$__so\"\n{look}",
                tool = sh_quote(&cmd[0]),
                line = line.join(" "),
                look = lookup_snippet(&req, "after"),
            );
            let out = ctx.run(&script, None).await?;
            let keys = Reply::parse(&out.stdout);
            if let Some(path) = keys.get("missing") {
                return Ok(ModuleResult::failed(missing_binary(&cmd[0], path)));
            }
            let rc: i64 = keys.get("rc").and_then(|s| s.parse().ok()).unwrap_or(-1);
            let (so, se) = (keys.text("out"), keys.text("err"));
            if rc != 0 {
                let msg = if keys.has("err") {
                    se
                } else {
                    out.stderr_str()
                };
                return Ok(ModuleResult::failed(msg).with("name", req.name.clone()));
            }
            // Ansible adds the `_lines` form of every string stdout/stderr in a result.
            for (k, t) in [("stdout", so), ("stderr", se)] {
                if !t.is_empty() {
                    let lines: Vec<serde_json::Value> =
                        t.lines().map(serde_json::Value::from).collect();
                    r = r.with(&format!("{k}_lines"), lines).with(k, t);
                }
            }
            after = keys.get("after").and_then(Group::parse);
        }
    }
    if let Some(g) = after {
        r = r.with("system", req.system).with("gid", g.gid);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn req(v: serde_json::Value) -> Result<GroupRequest, ModuleError> {
        GroupRequest::from_args(&Args::new(v.as_object().unwrap().clone()))
    }

    #[test]
    fn commands_follow_ansibles_rules() {
        let g = Group::parse("ops:x:2000:").unwrap();
        let r = req(json!({"name": "ops", "gid": 2001, "non_unique": true})).unwrap();
        assert_eq!(
            r.command(Some(&g)).unwrap(),
            vec!["groupmod", "-g", "2001", "-o", "ops"]
        );
        assert_eq!(
            r.command(None).unwrap(),
            vec!["groupadd", "-g", "2001", "-o", "ops"]
        );
        let r = req(json!({"name": "ops", "gid": "2000"})).unwrap();
        assert!(r.command(Some(&g)).is_none(), "same gid: nothing to do");
        let r = req(json!({"name": "ops", "system": true, "local": true})).unwrap();
        assert_eq!(r.command(None).unwrap(), vec!["lgroupadd", "-r", "ops"]);
        let r = req(json!({"name": "ops", "state": "absent", "force": true})).unwrap();
        assert_eq!(r.command(Some(&g)).unwrap(), vec!["groupdel", "-f", "ops"]);
        assert!(r.command(None).is_none());
    }

    #[test]
    fn invalid_combinations_fail_with_ansibles_messages() {
        let e = req(json!({"name": "x", "non_unique": true})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "non_unique is True but all of the following are missing: gid"
        );
        let e = req(json!({"name": "x", "force": true, "local": true})).unwrap_err();
        assert!(e.to_string().contains("mutually exclusive"));
    }
}
