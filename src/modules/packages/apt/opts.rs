//! The apt module's parameters after Ansible's defaults and conversions, and the apt-get
//! command lines Ansible builds from them (same options, same order).

use serde_json::Value;

use super::cmd::{CacheUpdate, Cmd, dpkg_option_args};
use crate::modules::{Args, ModuleError};

pub const DPKG_OPTIONS: &str = "force-confdef,force-confold";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Present,
    Latest,
    Absent,
    Fixed,
}

/// The task's parameters after Ansible's defaults and conversions.
#[derive(Clone, Debug)]
pub struct Opts {
    pub state: State,
    pub packages: Option<Vec<String>>,
    pub update_cache: bool,
    pub cache_valid_time: i64,
    pub update_cache_retries: i64,
    pub update_cache_retry_max_delay: i64,
    pub purge: bool,
    pub deb: Option<String>,
    pub default_release: Option<String>,
    pub install_recommends: Option<bool>,
    pub force: bool,
    pub upgrade: Option<String>,
    pub dpkg_options: String,
    pub autoremove: bool,
    pub autoclean: bool,
    pub fail_on_autoremove: bool,
    pub policy_rc_d: Option<i64>,
    pub only_upgrade: bool,
    pub clean: bool,
    pub allow_unauthenticated: bool,
    pub allow_downgrade: bool,
    pub allow_change_held_packages: bool,
    pub lock_timeout: i64,
}

fn upgrade_mode(v: Option<&Value>) -> Result<Option<String>, ModuleError> {
    let s = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.to_string(),
        Some(v) => crate::values::to_str(v).unwrap_or_default(),
    };
    match s.as_str() {
        "no" => Ok(None),
        "dist" | "full" | "safe" | "yes" => Ok(Some(s)),
        _ => Err(ModuleError::Args(format!(
            "value of upgrade must be one of: dist, full, no, safe, yes, got: {s}"
        ))),
    }
}

impl Opts {
    pub fn from_args(args: &Args) -> Result<Opts, ModuleError> {
        let state = match args.str("state").as_deref().unwrap_or("present") {
            "present" => State::Present,
            "absent" => State::Absent,
            "latest" => State::Latest,
            "fixed" => State::Fixed,
            "build-dep" => {
                return Err(ModuleError::Args(
                    "apt: state=build-dep is not supported by strata".into(),
                ));
            }
            s => {
                return Err(ModuleError::Args(format!(
                    "value of state must be one of: absent, build-dep, fixed, latest, present, got: {s}"
                )));
            }
        };
        let packages = args
            .str_list("name")?
            .map(|v| v.into_iter().map(|p| p.trim().to_string()).collect());
        Ok(Opts {
            state,
            packages,
            update_cache: args.bool_or("update_cache", false)?,
            cache_valid_time: args.int("cache_valid_time")?.unwrap_or(0),
            update_cache_retries: args.int("update_cache_retries")?.unwrap_or(5),
            update_cache_retry_max_delay: args.int("update_cache_retry_max_delay")?.unwrap_or(12),
            purge: args.bool_or("purge", false)?,
            deb: args.str("deb"),
            default_release: args.str("default_release"),
            install_recommends: args.bool("install_recommends")?,
            force: args.bool_or("force", false)?,
            upgrade: upgrade_mode(args.get("upgrade"))?,
            dpkg_options: args
                .str("dpkg_options")
                .unwrap_or_else(|| DPKG_OPTIONS.into()),
            autoremove: args.bool_or("autoremove", false)?,
            autoclean: args.bool_or("autoclean", false)?,
            fail_on_autoremove: args.bool_or("fail_on_autoremove", false)?,
            policy_rc_d: args.int("policy_rc_d")?,
            only_upgrade: args.bool_or("only_upgrade", false)?,
            clean: args.bool_or("clean", false)?,
            allow_unauthenticated: args.bool_or("allow_unauthenticated", false)?,
            allow_downgrade: args.bool_or("allow_downgrade", false)?,
            allow_change_held_packages: args.bool_or("allow_change_held_packages", false)?,
            lock_timeout: args.int("lock_timeout")?.unwrap_or(60),
        })
    }

    pub fn cache_update(&self, check_mode: bool) -> Option<CacheUpdate> {
        (self.update_cache || self.cache_valid_time != 0).then_some(CacheUpdate {
            valid_time: self.cache_valid_time,
            retries: self.update_cache_retries,
            max_delay: self.update_cache_retry_max_delay,
            lock_timeout: self.lock_timeout,
            check_mode,
        })
    }

    /// `apt-get -q -y` with the dpkg options and lock wait every Ansible command carries.
    fn apt_get(&self) -> Cmd {
        Cmd::new("apt-get")
            .arg("-q")
            .arg("-y")
            .args(dpkg_option_args(&self.dpkg_options, self.lock_timeout))
    }

    /// The options Ansible appends after the packages of an install.
    fn install_tail(&self, mut c: Cmd) -> Cmd {
        if let Some(r) = &self.default_release {
            c = c.arg("-t").arg(r.clone());
        }
        match self.install_recommends {
            Some(false) => c = c.arg("-o").arg("APT::Install-Recommends=no"),
            Some(true) => c = c.arg("-o").arg("APT::Install-Recommends=yes"),
            None => {}
        }
        c.arg_if(self.allow_unauthenticated, "--allow-unauthenticated")
            .arg_if(self.allow_downgrade, "--allow-downgrades")
            .arg_if(
                self.allow_change_held_packages,
                "--allow-change-held-packages",
            )
    }

    pub fn install_cmd(&self, pkgs: &[String], check: bool) -> Cmd {
        let c = self
            .apt_get()
            .arg_if(self.only_upgrade, "--only-upgrade")
            .arg_if(self.state == State::Fixed, "--fix-broken")
            .arg_if(self.force, "--force-yes")
            .arg_if(self.autoremove, "--auto-remove")
            .arg_if(self.fail_on_autoremove, "--no-remove")
            .arg_if(check, "--simulate")
            .arg("install")
            .args(pkgs.iter().cloned());
        self.install_tail(c)
    }

    pub fn remove_cmd(&self, pkgs: &[String], check: bool) -> Cmd {
        self.apt_get()
            .arg_if(self.purge, "--purge")
            .arg_if(self.force, "--force-yes")
            .arg_if(self.autoremove, "--auto-remove")
            .arg_if(check, "--simulate")
            .arg_if(
                self.allow_change_held_packages,
                "--allow-change-held-packages",
            )
            .arg("remove")
            .args(pkgs.iter().cloned())
    }

    /// `(command, subcommand words)` of an upgrade; `full` is `dist-upgrade` with apt-get.
    pub fn upgrade_cmd(&self, mode: &str, check: bool) -> (Cmd, String) {
        let words = match mode {
            "dist" | "full" => "dist-upgrade",
            _ => "upgrade --with-new-pkgs",
        };
        let mut c = self
            .apt_get()
            .arg_if(self.force, "--force-yes")
            .arg_if(self.fail_on_autoremove, "--no-remove")
            .arg_if(self.allow_unauthenticated, "--allow-unauthenticated")
            .arg_if(self.allow_downgrade, "--allow-downgrades")
            .arg_if(check, "--simulate")
            .args(words.split(' '))
            .arg_if(self.autoremove, "--auto-remove");
        if let Some(r) = &self.default_release {
            c = c.arg("-t").arg(r.clone());
        }
        let shown = if self.autoremove {
            format!("{words} --auto-remove")
        } else {
            words.to_string()
        };
        (c, shown)
    }

    pub fn cleanup_cmd(&self, op: &str, check: bool) -> Cmd {
        self.apt_get()
            .arg_if(self.purge, "--purge")
            .arg_if(self.force, "--force-yes")
            .arg(op)
            .arg_if(check, "--simulate")
    }

    pub fn deb_cmd(&self, check: bool) -> Cmd {
        let c = self
            .apt_get()
            .arg_if(self.force, "--force-yes")
            .arg_if(self.force, "--allow-downgrades")
            .arg_if(self.fail_on_autoremove, "--no-remove")
            .arg_if(check, "--simulate")
            .arg("install");
        let mut o = self.clone();
        o.default_release = None;
        // Ansible installs the file itself with `dpkg -i`, which never follows its
        // Recommends; only an explicit `install_recommends: yes` (which Ansible applies to the
        // file's missing dependencies) lets apt pull recommended packages in here.
        if o.install_recommends.is_none() {
            o.install_recommends = Some(false);
        }
        o.install_tail(c)
    }
}
