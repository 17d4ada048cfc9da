//! The account databases as `getent passwd|group|shadow` prints them, and the lookups
//! Ansible's `user`/`group` modules make through Python's `pwd`/`grp` (a group given as a
//! number is tried as a gid first, then as a name).

/// Ansible's failure when a command the module needs is not installed on the host: it
/// searched the host's `PATH` plus the sbin directories (`get_bin_path`).
pub fn missing_binary(name: &str, path: &str) -> String {
    let mut dirs: Vec<&str> = path.split(':').filter(|d| !d.is_empty()).collect();
    for d in ["/sbin", "/usr/sbin", "/usr/local/sbin"] {
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    format!(
        "Failed to find required executable \"{name}\" in paths: {}",
        dirs.join(":")
    )
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passwd {
    pub name: String,
    pub passwd: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    pub shell: String,
}

impl Passwd {
    pub fn parse(line: &str) -> Option<Passwd> {
        let f: Vec<&str> = line.trim_end_matches('\n').split(':').collect();
        if f.len() < 7 {
            return None;
        }
        Some(Passwd {
            name: f[0].into(),
            passwd: f[1].into(),
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            gecos: f[4].into(),
            home: f[5].into(),
            shell: f[6..].join(":"),
        })
    }
}

/// The two shadow fields Ansible reads: the hash and the expiry day (`-1` when empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shadow {
    pub hash: String,
    pub expire: i64,
}

impl Shadow {
    pub fn parse(line: &str) -> Option<Shadow> {
        let f: Vec<&str> = line.trim_end_matches('\n').split(':').collect();
        if f.len() < 8 {
            return None;
        }
        Some(Shadow {
            hash: f[1].into(),
            expire: f[7].trim().parse().unwrap_or(-1),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

impl Group {
    pub fn parse(line: &str) -> Option<Group> {
        let f: Vec<&str> = line.trim_end_matches('\n').split(':').collect();
        if f.len() < 4 {
            return None;
        }
        Some(Group {
            name: f[0].into(),
            gid: f[2].parse().ok()?,
            members: f[3]
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }
}

/// Every group of the host, in `getent group` order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Groups(pub Vec<Group>);

impl Groups {
    pub fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> Groups {
        Groups(lines.into_iter().filter_map(Group::parse).collect())
    }

    /// `grp.getgrgid(int(g))`, falling back to `grp.getgrnam(g)`.
    pub fn find(&self, g: &str) -> Option<&Group> {
        if let Ok(gid) = g.trim().parse::<u32>()
            && let Some(found) = self.0.iter().find(|x| x.gid == gid)
        {
            return Some(found);
        }
        self.0.iter().find(|x| x.name == g)
    }

    pub fn by_name(&self, name: &str) -> Option<&Group> {
        self.0.iter().find(|x| x.name == name)
    }

    /// Names of the groups listing `user` as a member (Ansible's `user_group_membership`).
    pub fn membership(&self, user: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|g| g.members.iter().any(|m| m == user))
            .map(|g| g.name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binaries_name_the_searched_paths() {
        assert_eq!(
            missing_binary("crontab", "/nowhere"),
            "Failed to find required executable \"crontab\" in paths: /nowhere:/sbin:/usr/sbin:/usr/local/sbin"
        );
    }

    #[test]
    fn parses_getent_lines() {
        let p = Passwd::parse("app:x:1001:1002:App User,,,:/home/app:/bin/bash").unwrap();
        assert_eq!(
            (p.uid, p.gid, p.gecos.as_str(), p.home.as_str()),
            (1001, 1002, "App User,,,", "/home/app")
        );
        let s = Shadow::parse("app:$6$x$y:19000:0:99999:7:::").unwrap();
        assert_eq!((s.hash.as_str(), s.expire), ("$6$x$y", -1));
        assert_eq!(
            Shadow::parse("app:!:19000:0:99999:7::20000:")
                .unwrap()
                .expire,
            20000
        );
        let g = Groups::parse(["adm:x:4:syslog,app", "app:x:1002:", "100:x:50:"]);
        assert_eq!(g.membership("app"), vec!["adm"]);
        assert_eq!(g.find("4").unwrap().name, "adm");
        assert_eq!(g.find("100").unwrap().name, "100", "gid first, then name");
        assert_eq!(g.find("app").unwrap().gid, 1002);
        assert!(g.find("nope").is_none());
    }
}
