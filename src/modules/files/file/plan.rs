//! What the `file` module decides before it acts: the commands to run (mode, owner, group,
//! recursive attributes, timestamps) and the before/after of its diff, computed in Rust from
//! one probe of the host.

use serde_json::{Map, Value};

use super::probe::Probe;
use crate::modules::toolkit::atomic_write::FileAttrs;
use crate::modules::toolkit::mode::{ModeSpec, mode_string};
use crate::modules::toolkit::remote_stat::{FileKind, StatInfo};
use crate::shell::sh_quote;

/// `modification_time`/`access_time`: `now`, `preserve` or a `touch -t` stamp.
#[derive(Clone, Debug, PartialEq)]
pub enum Stamp {
    Preserve,
    Now,
    At(String),
}

impl Stamp {
    pub fn parse(v: Option<String>, default: Stamp) -> Stamp {
        match v.as_deref() {
            None => default,
            Some("preserve") => Stamp::Preserve,
            Some("now") => Stamp::Now,
            Some(t) => Stamp::At(t.to_string()),
        }
    }
    pub fn explicit(&self) -> Option<&str> {
        match self {
            Stamp::At(t) => Some(t),
            _ => None,
        }
    }
}

/// What the module decided: commands to run (each must succeed) and the diff dicts.
#[derive(Default)]
pub struct Plan {
    pub cmds: Vec<String>,
    pub before: Map<String, Value>,
    pub after: Map<String, Value>,
    /// What the final metadata would be, for check mode's results.
    pub predicted: Option<StatInfo>,
}

impl Plan {
    pub fn change(&mut self, key: &str, before: impl Into<Value>, after: impl Into<Value>) {
        self.before.insert(key.into(), before.into());
        self.after.insert(key.into(), after.into());
    }
}

/// Plans `chmod`/`chown`/`chgrp` of `"$p"` when its metadata `t` differs from what was asked.
pub fn attr_plan(
    plan: &mut Plan,
    t: &StatInfo,
    attrs: &FileAttrs,
    pr: &Probe,
    link_itself: bool,
) -> Result<(), String> {
    let mut pred = plan.predicted.clone().unwrap_or_else(|| t.clone());
    let h = if link_itself { "-h " } else { "" };
    if let Some(m) = &attrs.mode {
        let new = m.apply(t.mode, t.kind == FileKind::Dir, pr.umask)?;
        if new != t.mode {
            plan.cmds.push(format!("chmod {new:04o} -- \"$p\""));
            plan.change("mode", mode_string(t.mode), mode_string(new));
            pred.mode = new;
        }
    }
    if let Some(u) = pr.uid
        && u != t.uid
    {
        plan.cmds.push(format!("chown {h}{u} -- \"$p\""));
        plan.change("owner", t.uid, u);
        pred.uid = u;
        pred.owner = attrs.owner.clone().unwrap_or_default();
    }
    if let Some(g) = pr.gid
        && g != t.gid
    {
        plan.cmds.push(format!("chgrp {h}{g} -- \"$p\""));
        plan.change("group", t.gid, g);
        pred.gid = g;
        pred.group = attrs.group.clone().unwrap_or_default();
    }
    plan.predicted = Some(pred);
    Ok(())
}

/// `recurse: yes`: one recursive `chmod`/`chown` when any entry below the directory differs.
/// chmod(1) evaluates symbolic modes per entry exactly as [`ModeSpec::apply`] does.
pub fn recurse_plan(plan: &mut Plan, attrs: &FileAttrs, pr: &Probe) -> Result<(), String> {
    let mut mode_diff = false;
    let (mut uid_diff, mut gid_diff) = (false, false);
    for e in &pr.tree {
        if let Some(m) = &attrs.mode {
            mode_diff |= m.apply(e.mode, e.is_dir, pr.umask)? != e.mode;
        }
        uid_diff |= pr.uid.is_some_and(|u| u != e.uid);
        gid_diff |= pr.gid.is_some_and(|g| g != e.gid);
    }
    if mode_diff && let Some(arg) = attrs.mode.as_ref().and_then(ModeSpec::chmod_arg) {
        plan.cmds
            .push(format!("chmod -R -- {} \"$p\"", sh_quote(&arg)));
        plan.after.insert("recursed".into(), true.into());
    }
    if uid_diff && let Some(u) = pr.uid {
        plan.cmds.push(format!("chown -R -h {u} -- \"$p\""));
        plan.after.insert("recursed".into(), true.into());
    }
    if gid_diff && let Some(g) = pr.gid {
        plan.cmds.push(format!("chgrp -R -h {g} -- \"$p\""));
        plan.after.insert("recursed".into(), true.into());
    }
    Ok(())
}

/// Timestamps: `now` always changes (as in Ansible), an explicit stamp only when different.
pub fn time_plan(
    plan: &mut Plan,
    eff: &Option<StatInfo>,
    mtime: &Stamp,
    atime: &Stamp,
    pr: &Probe,
) {
    for (flag, stamp, cur, want, key) in [
        (
            "-m",
            mtime,
            eff.as_ref().map(|s| s.mtime),
            pr.mtime,
            "mtime",
        ),
        (
            "-a",
            atime,
            eff.as_ref().map(|s| s.atime),
            pr.atime,
            "atime",
        ),
    ] {
        match stamp {
            Stamp::Preserve => {}
            Stamp::Now => {
                plan.cmds.push(format!("touch {flag} -- \"$p\""));
                plan.after.insert(key.into(), "now".into());
            }
            Stamp::At(t) => {
                if cur.map(|c| c.floor() as i64) != want {
                    plan.cmds
                        .push(format!("touch {flag} -t {} -- \"$p\"", sh_quote(t)));
                    plan.change(
                        key,
                        cur.map(|c| c.floor() as i64).unwrap_or(0),
                        want.unwrap_or(0),
                    );
                }
            }
        }
    }
}
