//! The decisions of Ansible's `user` module (Linux `useradd`/`usermod`/`userdel` flavour),
//! as pure functions of the request and the account databases read from the host: which
//! command line to run, if any. Ported from `User.create_user_useradd` and
//! `User.modify_user_usermod` so that `changed` means exactly what it means in Ansible.

use std::collections::BTreeSet;

use crate::modules::Args;
use crate::modules::ModuleError;
use crate::modules::accounts::account_db::{Groups, Passwd, Shadow};

#[derive(Clone, Debug, Default)]
pub struct UserRequest {
    pub name: String,
    pub present: bool,
    pub uid: Option<i64>,
    pub non_unique: bool,
    pub group: Option<String>,
    /// `groups` joined with commas, as Ansible keeps (and returns) it.
    pub groups: Option<String>,
    pub append: bool,
    pub comment: Option<String>,
    pub home: Option<String>,
    pub shell: Option<String>,
    pub password: Option<String>,
    pub update_password_always: bool,
    pub password_lock: Option<bool>,
    pub force: bool,
    pub remove: bool,
    pub create_home: bool,
    pub move_home: bool,
    pub system: bool,
    pub skeleton: Option<String>,
    pub expires: Option<f64>,
    pub generate_ssh_key: bool,
    pub ssh_key_bits: i64,
    pub ssh_key_type: String,
    pub ssh_key_file: String,
    /// `None`: Ansible's default, `ansible-generated on <host>`.
    pub ssh_key_comment: Option<String>,
    pub ssh_key_passphrase: Option<String>,
}

impl UserRequest {
    pub fn from_args(args: &Args) -> Result<UserRequest, ModuleError> {
        let ssh_key_type = args.str("ssh_key_type").unwrap_or_else(|| "rsa".into());
        let groups = args.str_list("groups")?.map(|g| g.join(","));
        let update = args
            .str("update_password")
            .unwrap_or_else(|| "always".into());
        if update != "always" && update != "on_create" {
            return Err(ModuleError::Args(format!(
                "value of update_password must be one of: always, on_create, got: {update}"
            )));
        }
        Ok(UserRequest {
            name: args
                .str("name")
                .or_else(|| args.str("user"))
                .ok_or_else(|| ModuleError::Args("missing required arguments: name".into()))?,
            present: args.str("state").as_deref() != Some("absent"),
            uid: args.int("uid")?,
            non_unique: args.bool_or("non_unique", false)?,
            group: args.str("group"),
            groups,
            append: args.bool_or("append", false)?,
            comment: args.str("comment"),
            home: args.str("home"),
            shell: args.str("shell"),
            password: args.str("password"),
            update_password_always: update == "always",
            password_lock: args.bool("password_lock")?,
            force: args.bool_or("force", false)?,
            remove: args.bool_or("remove", false)?,
            create_home: args
                .bool("create_home")?
                .or(args.bool("createhome")?)
                .unwrap_or(true),
            move_home: args.bool_or("move_home", false)?,
            system: args.bool_or("system", false)?,
            skeleton: args.str("skeleton"),
            expires: args.float("expires")?,
            generate_ssh_key: args.bool_or("generate_ssh_key", false)?,
            ssh_key_bits: args.int("ssh_key_bits")?.unwrap_or(0),
            ssh_key_file: args
                .str("ssh_key_file")
                .unwrap_or_else(|| format!(".ssh/id_{ssh_key_type}")),
            ssh_key_type,
            ssh_key_comment: args.str("ssh_key_comment"),
            ssh_key_passphrase: args.str("ssh_key_passphrase"),
        })
    }

    /// Ansible's `check_password_encrypted` warning, when the password does not look hashed.
    pub fn password_warning(&self) -> Option<String> {
        let p = self.password.as_deref().filter(|p| !p.is_empty())?;
        if ["*", "!", "*************"].contains(&p) {
            return None;
        }
        let mut bad = p.contains([':', '*', '!']) || !p.contains('$');
        if !bad {
            let f: Vec<&str> = p.split('$').collect();
            if f.len() >= 3 {
                let last = f[f.len() - 1];
                let want = match f[1] {
                    "1" => Some(22),
                    "5" | "y" => Some(43),
                    "6" => Some(86),
                    _ => None,
                };
                bad = last
                    .bytes()
                    .any(|b| !(b.is_ascii_alphanumeric() || b"./=".contains(&b)))
                    || want.is_some_and(|w| last.len() != w);
            } else {
                bad = true;
            }
        }
        bad.then(|| "The input password appears not to have been hashed. The 'password' argument must be encrypted for this module to work properly.".to_string())
    }

    fn group_names(&self) -> Vec<String> {
        let set: BTreeSet<String> = self
            .groups
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|x| !x.is_empty())
            .map(|x| x.trim().to_string())
            .collect();
        set.into_iter().collect()
    }
}

/// The account as it is on the host.
#[derive(Clone, Debug, Default)]
pub struct Account {
    pub pw: Option<Passwd>,
    pub shadow: Option<Shadow>,
    pub groups: Groups,
}

impl Account {
    /// The password hash as Ansible's `user_info()` reports it (from shadow when passwd
    /// holds only a placeholder).
    pub fn hash(&self) -> String {
        match &self.pw {
            Some(p) if p.passwd.len() > 1 => p.passwd.clone(),
            _ => self
                .shadow
                .as_ref()
                .map(|s| s.hash.clone())
                .unwrap_or_default(),
        }
    }
}

fn no_group(g: &str) -> String {
    format!("Group {g} does not exist")
}

/// `(year, month, day)` of a Unix time, like `time.gmtime(t)[:3]`.
pub fn ymd(secs: f64) -> (i64, u32, u32) {
    let days = (secs / 86400.0).floor() as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn date_arg(secs: f64) -> String {
    let (y, m, d) = ymd(secs);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `useradd` for a missing account.
pub fn create_command(req: &UserRequest, acct: &Account) -> Result<Vec<String>, String> {
    let mut cmd = vec!["useradd".to_string()];
    if let Some(uid) = req.uid {
        cmd.extend(["-u".into(), uid.to_string()]);
        if req.non_unique {
            cmd.push("-o".into());
        }
    }
    if let Some(g) = &req.group {
        if acct.groups.find(g).is_none() {
            return Err(no_group(g));
        }
        cmd.extend(["-g".into(), g.clone()]);
    } else if acct.groups.find(&req.name).is_some() {
        cmd.push("-N".into());
    }
    if req.groups.as_deref().is_some_and(|g| !g.is_empty()) {
        let names = req.group_names();
        if let Some(missing) = names.iter().find(|g| acct.groups.find(g).is_none()) {
            return Err(no_group(missing));
        }
        cmd.extend(["-G".into(), names.join(",")]);
    }
    if let Some(c) = &req.comment {
        cmd.extend(["-c".into(), c.clone()]);
    }
    if let Some(h) = &req.home {
        cmd.extend(["-d".into(), h.clone()]);
    }
    if let Some(s) = &req.shell {
        cmd.extend(["-s".into(), s.clone()]);
    }
    if let Some(e) = req.expires {
        cmd.push("-e".into());
        cmd.push(if e < 0.0 { String::new() } else { date_arg(e) });
    }
    if let Some(p) = &req.password {
        cmd.push("-p".into());
        cmd.push(if req.password_lock == Some(true) {
            format!("!{p}")
        } else {
            p.clone()
        });
    }
    if req.create_home {
        cmd.push("-m".into());
        if let Some(k) = &req.skeleton {
            cmd.extend(["-k".into(), k.clone()]);
        }
    } else {
        cmd.push("-M".into());
    }
    if req.system {
        cmd.push("-r".into());
    }
    cmd.push(req.name.clone());
    Ok(cmd)
}

/// `usermod` for an existing account; an empty vector when it already matches.
pub fn modify_command(req: &UserRequest, acct: &Account) -> Result<Vec<String>, String> {
    let Some(pw) = &acct.pw else {
        return Ok(vec![]);
    };
    let mut cmd = vec!["usermod".to_string()];
    if let Some(uid) = req.uid
        && i64::from(pw.uid) != uid
    {
        cmd.extend(["-u".into(), uid.to_string()]);
        if req.non_unique {
            cmd.push("-o".into());
        }
    }
    if let Some(g) = &req.group {
        let info = acct.groups.find(g).ok_or_else(|| no_group(g))?;
        if info.gid != pw.gid {
            cmd.extend(["-g".into(), info.gid.to_string()]);
        }
    }
    if let Some(groups) = &req.groups {
        let current: BTreeSet<String> = acct.groups.membership(&req.name).into_iter().collect();
        let mut need = false;
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        if groups.is_empty() {
            need = !current.is_empty() && !req.append;
        } else {
            for g in req.group_names() {
                let info = acct.groups.find(&g).ok_or_else(|| no_group(&g))?;
                wanted.insert(info.name.clone());
            }
            let diff: BTreeSet<&String> = current.symmetric_difference(&wanted).collect();
            if !diff.is_empty() {
                if req.append {
                    if wanted.iter().any(|g| diff.contains(g)) {
                        cmd.push("-a".into());
                        need = true;
                    }
                } else {
                    need = true;
                }
            }
        }
        if need {
            let list: Vec<String> = wanted.into_iter().collect();
            cmd.extend(["-G".into(), list.join(",")]);
        }
    }
    if let Some(c) = &req.comment
        && *c != pw.gecos
    {
        cmd.extend(["-c".into(), c.clone()]);
    }
    if let Some(h) = &req.home
        && *h != pw.home
    {
        cmd.extend(["-d".into(), h.clone()]);
        if req.move_home {
            cmd.push("-m".into());
        }
    }
    if let Some(s) = &req.shell
        && *s != pw.shell
    {
        cmd.extend(["-s".into(), s.clone()]);
    }
    if let Some(e) = req.expires {
        let current = acct.shadow.as_ref().map_or(0, |s| s.expire);
        if e < 0.0 {
            if current >= 0 {
                cmd.extend(["-e".into(), String::new()]);
            }
        } else if current < 0 || ymd(current as f64 * 86400.0) != ymd(e) {
            cmd.extend(["-e".into(), date_arg(e)]);
        }
    }
    let hash = acct.hash();
    match req.password_lock {
        Some(true) if !hash.starts_with('!') => cmd.push("-L".into()),
        Some(false) if hash.starts_with('!') => cmd.push("-U".into()),
        _ => {}
    }
    if req.update_password_always
        && let Some(p) = &req.password
        && hash.trim_start_matches('!') != p.trim_start_matches('!')
    {
        cmd.retain(|c| c != "-U" && c != "-L");
        cmd.push("-p".into());
        cmd.push(if req.password_lock == Some(true) {
            format!("!{p}")
        } else {
            p.clone()
        });
    }
    if cmd.len() == 1 {
        return Ok(vec![]);
    }
    cmd.push(req.name.clone());
    Ok(cmd)
}

/// `userdel` for an existing account.
pub fn delete_command(req: &UserRequest) -> Vec<String> {
    let mut cmd = vec!["userdel".to_string()];
    if req.force {
        cmd.push("-f".into());
    }
    if req.remove {
        cmd.push("-r".into());
    }
    cmd.push(req.name.clone());
    cmd
}

/// The mode Ansible gives a home directory it creates itself: `HOME_MODE`, else from `UMASK`
/// in `/etc/login.defs`, else 0755; `None` without a login.defs (the copied mode stays).
pub fn home_mode<'a>(login_defs: Option<impl IntoIterator<Item = &'a str>>) -> Option<u32> {
    let lines = login_defs?;
    let mut mode = 0o755;
    for l in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        let whole = |k: &str| {
            f.len() == 2
                && f[0] == k
                && l.starts_with(k)
                && !l.trim_end_matches('\n').ends_with([' ', '\t'])
                && f[1].bytes().all(|b| b.is_ascii_digit())
        };
        if whole("HOME_MODE") {
            if let Ok(m) = u32::from_str_radix(f[1], 8) {
                return Some(m);
            }
        } else if whole("UMASK")
            && let Ok(u) = u32::from_str_radix(f[1], 8)
        {
            mode = 0o777 & !u;
        }
    }
    Some(mode)
}
