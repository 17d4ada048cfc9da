//! The host-independent half of `mount`: Ansible's fstab editing (`set_mount`, `unset_mount`,
//! field escaping) and its reading of `/proc/self/mountinfo` (`get_linux_mounts`, which turns
//! a bind mount's root back into the source directory). Ported line for line so a file edited
//! by strata is byte-identical to one edited by Ansible.

use std::collections::HashMap;

/// One fstab entry as the module wants it (Linux field order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    pub src: String,
    pub name: String,
    pub fstype: String,
    pub opts: String,
    pub dump: String,
    pub passno: String,
}

/// Ansible's `_escape_fstab`: space, `&` and backslash as octal escapes.
pub fn escape(v: &str) -> String {
    v.replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('&', "\\046")
}

impl Entry {
    fn escaped(&self) -> Entry {
        Entry {
            src: escape(&self.src),
            name: escape(&self.name),
            fstype: escape(&self.fstype),
            opts: escape(&self.opts),
            dump: escape(&self.dump),
            passno: escape(&self.passno),
        }
    }

    fn line(&self) -> String {
        format!(
            "{} {} {} {} {} {}\n",
            self.src, self.name, self.fstype, self.opts, self.dump, self.passno
        )
    }
}

/// Python's `readlines()`: lines keep their terminators.
fn readlines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

/// Whether a line is the entry for `name` (for swap, `src` tells entries apart).
fn matches(fields: &HashMap<&str, String>, name: &str, src: Option<&str>) -> bool {
    let f = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
    if f("name") != name {
        return false;
    }
    !(src.is_some() && f("name") == "none" && f("fstype") == "swap" && Some(f("src")) != src)
}

/// Ansible's `_set_mount_save_old`: `(new text, changed)`. Every line gains a final newline.
pub fn set_mount(text: &str, want: &Entry, src_given: bool) -> (String, bool) {
    let esc = want.escaped();
    let mut out = String::new();
    let (mut exists, mut changed) = (false, false);
    for mut line in readlines(text) {
        if !line.ends_with('\n') {
            line.push('\n');
        }
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            out.push_str(&line);
            continue;
        }
        let fields: Vec<&str> = line
            .split('#')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if !(4..=6).contains(&fields.len()) {
            out.push_str(&line);
            continue;
        }
        let labels = ["src", "name", "fstype", "opts", "dump", "passno"];
        let mut ld: HashMap<&str, String> =
            [("dump", "0".to_string()), ("passno", "0".to_string())].into();
        for (i, f) in fields.iter().enumerate() {
            ld.insert(labels[i], f.to_string());
        }
        let src = src_given.then_some(want.src.as_str());
        if !matches(&ld, &esc.name, src) {
            out.push_str(&line);
            continue;
        }
        exists = true;
        for (k, v) in [
            ("src", &esc.src),
            ("fstype", &esc.fstype),
            ("opts", &esc.opts),
            ("dump", &esc.dump),
            ("passno", &esc.passno),
        ] {
            if ld.get(k) != Some(v) {
                ld.insert(k, v.clone());
                changed = true;
            }
        }
        if changed {
            let g = |k: &str| ld.get(k).cloned().unwrap_or_default();
            out.push_str(
                &Entry {
                    src: g("src"),
                    name: g("name"),
                    fstype: g("fstype"),
                    opts: g("opts"),
                    dump: g("dump"),
                    passno: g("passno"),
                }
                .line(),
            );
        } else {
            out.push_str(&line);
        }
    }
    if !exists {
        out.push_str(&esc.line());
        changed = true;
    }
    (out, changed)
}

/// Ansible's `unset_mount`: drops six-field lines for `name`; `(new text, changed)`.
pub fn unset_mount(text: &str, name: &str, src: Option<&str>) -> (String, bool) {
    let esc = escape(name);
    let mut out = String::new();
    let mut changed = false;
    for line in readlines(text) {
        let t = line.trim();
        let fields: Vec<&str> = line.split_whitespace().collect();
        if t.is_empty() || t.starts_with('#') || fields.len() != 6 {
            out.push_str(&line);
            continue;
        }
        let labels = ["src", "name", "fstype", "opts", "dump", "passno"];
        let ld: HashMap<&str, String> = labels
            .iter()
            .copied()
            .zip(fields.iter().map(|f| f.to_string()))
            .collect();
        if !matches(&ld, &esc, src) {
            out.push_str(&line);
            continue;
        }
        changed = true;
    }
    (out, changed)
}

/// One mounted filesystem as Ansible's `get_linux_mounts` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mounted {
    pub src: String,
    pub opts: String,
    pub fs: String,
}

/// Ansible's `get_linux_mounts`: mount point -> source, where a bind mount's source is the
/// directory it shows (parent's mount point + root), not the device.
pub fn linux_mounts(mountinfo: &str) -> HashMap<String, Mounted> {
    struct Rec {
        id: i64,
        parent: i64,
        root: String,
        dst: String,
        opts: String,
        fs: String,
        src: String,
    }
    let mut recs: Vec<Rec> = Vec::new();
    for line in mountinfo.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        let (Ok(id), Ok(parent)) = (f[0].parse(), f[1].parse()) else {
            continue;
        };
        recs.push(Rec {
            id,
            parent,
            root: f[3].into(),
            dst: f[4].into(),
            opts: f[5].into(),
            fs: f[f.len() - 3].into(),
            src: f[f.len() - 2].into(),
        });
    }
    let by_id: HashMap<i64, usize> = recs.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let mut mounts = HashMap::new();
    for r in &recs {
        let src = match by_id.get(&r.parent).filter(|_| r.parent != 1) {
            Some(&pi) => {
                let m = &recs[pi];
                let mut root = r.root.clone();
                if m.root.len() > 1 && root.starts_with(&format!("{}/", m.root)) {
                    root = root[m.root.len()..].to_string();
                }
                if m.dst != "/" {
                    root = format!("{}{root}", m.dst);
                }
                root
            }
            None => r.src.clone(),
        };
        mounts.insert(
            r.dst.clone(),
            Mounted {
                src,
                opts: r.opts.clone(),
                fs: r.fs.clone(),
            },
        );
    }
    mounts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(src: &str, name: &str) -> Entry {
        Entry {
            src: src.into(),
            name: name.into(),
            fstype: "tmpfs".into(),
            opts: "defaults".into(),
            dump: "0".into(),
            passno: "0".into(),
        }
    }

    #[test]
    fn adds_updates_and_keeps_other_lines() {
        let base = "# static table\nUUID=1 / ext4 errors=remount-ro 0 1\n\nnot an entry\n";
        let (t, c) = set_mount(base, &entry("tmpfs", "/mnt/a b"), true);
        assert!(c);
        assert_eq!(t, format!("{base}tmpfs /mnt/a\\040b tmpfs defaults 0 0\n"));
        let (t2, c2) = set_mount(&t, &entry("tmpfs", "/mnt/a b"), true);
        assert!(!c2);
        assert_eq!(t2, t);
        let mut e = entry("tmpfs", "/mnt/a b");
        e.opts = "size=1m".into();
        let (t3, c3) = set_mount(&t, &e, true);
        assert!(c3);
        assert!(
            t3.ends_with("tmpfs /mnt/a\\040b tmpfs size=1m 0 0\n"),
            "{t3}"
        );
        // A last line without newline gains one; four-field lines default dump/passno.
        let (t4, c4) = set_mount(
            "tmpfs /mnt/x tmpfs defaults",
            &entry("tmpfs", "/mnt/x"),
            true,
        );
        assert!(!c4);
        assert_eq!(t4, "tmpfs /mnt/x tmpfs defaults\n");
    }

    #[test]
    fn removes_only_six_field_matches() {
        let text = "# c\ntmpfs /mnt/a tmpfs defaults 0 0\ntmpfs /mnt/b tmpfs defaults 0 0\n";
        let (t, c) = unset_mount(text, "/mnt/a", None);
        assert!(c);
        assert_eq!(t, "# c\ntmpfs /mnt/b tmpfs defaults 0 0\n");
        assert_eq!(unset_mount(&t, "/mnt/a", None), (t.clone(), false));
    }

    #[test]
    fn bind_mount_sources_are_directories() {
        let info = "172 175 0:53 / / rw,relatime - overlay strata-lab rw\n\
            200 172 0:58 / /run rw - tmpfs tmpfs rw\n\
            521 172 0:95 / /mnt/t1 rw,relatime - tmpfs tmpfs rw,size=1024k\n\
            522 172 0:53 /srv/a /mnt/b rw,relatime - overlay strata-lab rw\n\
            523 200 0:58 /x /mnt/c rw - tmpfs tmpfs rw\n";
        let m = linux_mounts(info);
        assert_eq!(m["/mnt/t1"].src, "/");
        assert_eq!(m["/mnt/t1"].fs, "tmpfs");
        assert_eq!(m["/mnt/b"].src, "/srv/a");
        assert_eq!(m["/mnt/c"].src, "/run/x");
        assert_eq!(m["/"].src, "strata-lab");
    }
}
