//! The authorized_keys file as ansible.posix's `authorized_key` models it: a dict keyed by
//! each line's key blob (or by the whole line for comments and lines it cannot parse), each
//! entry with its rank, serialized sorted by rank. The port keeps the module's quirks, since
//! they decide what the file looks like afterwards: identical comment or blank lines collapse
//! into one, a key without comment is written with a trailing space, options are compared as
//! a multimap.

use std::collections::BTreeMap;

/// Key types the module recognises (`VALID_SSH2_KEY_TYPES`).
const TYPES: &[&str] = &[
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "ssh-xmss@openssh.com",
    "ssh-xmss-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
];

/// Options in order, a name possibly repeated (`keydict`).
pub type Options = Vec<(String, Option<String>)>;

/// `keydict` equality: the same values per name, names in any order.
pub fn options_eq(a: &Options, b: &Options) -> bool {
    fn m(o: &Options) -> BTreeMap<&str, Vec<Option<&str>>> {
        let mut m: BTreeMap<&str, Vec<Option<&str>>> = BTreeMap::new();
        for (k, v) in o {
            m.entry(k.as_str()).or_default().push(v.as_deref());
        }
        m
    }
    m(a) == m(b)
}

/// One line of the file: a key, or text kept as it is.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Key {
        blob: String,
        ty: String,
        options: Options,
        comment: String,
        rank: usize,
    },
    Text {
        line: String,
        rank: usize,
    },
}

impl Entry {
    pub fn rank(&self) -> usize {
        match self {
            Entry::Key { rank, .. } | Entry::Text { rank, .. } => *rank,
        }
    }

    fn same(&self, other: &Entry) -> bool {
        match (self, other) {
            (
                Entry::Key {
                    blob,
                    ty,
                    options,
                    comment,
                    ..
                },
                Entry::Key {
                    blob: b2,
                    ty: t2,
                    options: o2,
                    comment: c2,
                    ..
                },
            ) => blob == b2 && ty == t2 && options_eq(options, o2) && comment == c2,
            (Entry::Text { line, .. }, Entry::Text { line: l2, .. }) => line == l2,
            _ => false,
        }
    }

    fn render(&self) -> String {
        match self {
            Entry::Text { line, .. } => line.clone(),
            Entry::Key {
                blob,
                ty,
                options,
                comment,
                ..
            } => {
                let mut opts: String = options
                    .iter()
                    .map(|(k, v)| match v {
                        Some(v) => format!("{k}={v}"),
                        None => k.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(",");
                if !opts.is_empty() {
                    opts.push(' ');
                }
                format!("{opts}{ty} {blob} {comment}\n")
            }
        }
    }
}

/// `parseoptions`: comma-separated, quotes kept whole, `name=value` or a bare name.
pub fn parse_options(s: &str) -> Options {
    let re = regex::Regex::new(r#"((?:[^,"']|"[^"]*"|'[^']*')+)"#).expect("valid");
    let mut parts: Vec<&str> = Vec::new();
    let mut last = 0;
    for m in re.find_iter(s) {
        if !parts.is_empty() {
            parts.push(&s[last..m.start()]);
        }
        parts.push(m.as_str());
        last = m.end();
    }
    let mut out = Options::new();
    for p in parts {
        if let Some((k, v)) = p.split_once('=') {
            out.push((k.into(), Some(v.into())));
        } else if p != "," {
            out.push((p.into(), None));
        }
    }
    out
}

/// `parsekey`: `Some((dict key, entry))`, or `None` when the line holds no known key type.
pub fn parse_key(raw: &str, rank: usize) -> Option<(String, Entry)> {
    let raw = raw.replace("\\#", "#");
    let parts: Vec<&str> = raw
        .split([' ', '\t', '\r', '\n'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.first() == Some(&"#") {
        return Some((raw.clone(), Entry::Text { line: raw, rank }));
    }
    let ti = parts.iter().position(|p| TYPES.contains(p))?;
    let blob = parts.get(ti + 1)?.to_string();
    let options = if ti > 0 {
        parse_options(&parts[..ti].join(" "))
    } else {
        Options::new()
    };
    Some((
        blob.clone(),
        Entry::Key {
            blob,
            ty: parts[ti].into(),
            options,
            comment: parts[ti + 2..].join(" "),
            rank,
        },
    ))
}

/// The dict of entries, in insertion order as Python's dict keeps it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyFile {
    pub entries: Vec<(String, Entry)>,
}

impl KeyFile {
    /// `parsekeys`: a later line with the same dict key takes the earlier one's place.
    pub fn parse(content: &str) -> KeyFile {
        let mut f = KeyFile::default();
        for (rank, line) in content.split_inclusive('\n').enumerate() {
            let (k, e) = parse_key(line, rank).unwrap_or_else(|| {
                (
                    line.to_string(),
                    Entry::Text {
                        line: line.to_string(),
                        rank,
                    },
                )
            });
            f.set(k, e);
        }
        f
    }

    pub fn get(&self, k: &str) -> Option<&Entry> {
        self.entries.iter().find(|(x, _)| x == k).map(|(_, e)| e)
    }

    pub fn set(&mut self, k: String, e: Entry) {
        match self.entries.iter_mut().find(|(x, _)| *x == k) {
            Some(slot) => slot.1 = e,
            None => self.entries.push((k, e)),
        }
    }

    pub fn remove(&mut self, k: &str) {
        self.entries.retain(|(x, _)| x != k);
    }

    /// `serialize`: sorted by rank, ties in dict order.
    pub fn render(&self) -> String {
        let mut v: Vec<&Entry> = self.entries.iter().map(|(_, e)| e).collect();
        v.sort_by_key(|e| e.rank());
        v.iter().map(|e| e.render()).collect()
    }
}

/// What the task asks for, after `key` was fetched or read.
pub struct Wanted<'a> {
    pub key: &'a str,
    pub present: bool,
    pub key_options: Option<&'a str>,
    pub comment: Option<&'a str>,
    pub exclusive: bool,
}

/// `enforce_state`'s loop: edits `f` and says whether it must be written.
pub fn enforce(f: &mut KeyFile, w: &Wanted) -> Result<bool, String> {
    let new_keys: Vec<&str> = w
        .key
        .lines()
        .filter(|s| !s.is_empty() && !s.starts_with('#'))
        .collect();
    let mut do_write = false;
    let mut keep: Vec<String> = Vec::new();
    let max_rank = f.entries.len();
    for (rank, line) in new_keys.iter().enumerate() {
        let Some((k, mut e)) = parse_key(line, rank) else {
            return Err(format!("invalid key specified: {line}"));
        };
        if let Entry::Key {
            options, comment, ..
        } = &mut e
        {
            if let Some(o) = w.key_options {
                *options = parse_options(o);
            }
            if let Some(c) = w.comment {
                *comment = c.to_string();
            }
        }
        let existing = f.get(&k).cloned();
        let differs = existing.as_ref().is_some_and(|x| !x.same(&e) && w.present);
        let matched = existing.is_some() && !differs;
        if w.present {
            keep.push(k.clone());
            if differs {
                f.remove(&k);
                do_write = true;
            }
            if !matched {
                match &mut e {
                    Entry::Key { rank, .. } | Entry::Text { rank, .. } => *rank += max_rank,
                }
                f.set(k, e);
                do_write = true;
            }
        } else if matched {
            f.remove(&k);
            do_write = true;
        }
    }
    if w.present && w.exclusive {
        let before = f.entries.len();
        f.entries.retain(|(k, _)| keep.contains(k));
        do_write |= f.entries.len() != before;
    }
    Ok(do_write)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

    fn want(key: &str) -> Wanted<'_> {
        Wanted {
            key,
            present: true,
            key_options: None,
            comment: None,
            exclusive: false,
        }
    }

    #[test]
    fn options_parse_as_the_module_does() {
        let o = parse_options(r#"no-pty,command="echo a,b",from="10.0.0.1""#);
        assert_eq!(
            o,
            vec![
                ("no-pty".into(), None),
                ("command".into(), Some("\"echo a,b\"".into())),
                ("from".into(), Some("\"10.0.0.1\"".into())),
            ]
        );
    }

    #[test]
    fn keys_are_added_replaced_and_serialized_like_ansible() {
        let mut f = KeyFile::parse("# admins\n\n\nssh-rsa AAAA old@x\n");
        let line = K.to_string();
        assert!(enforce(&mut f, &want(&line)).unwrap());
        // Identical blank lines collapse; a key without comment keeps a trailing space.
        assert_eq!(
            f.render(),
            format!("# admins\n\nssh-rsa AAAA old@x\n{K} \n")
        );
        let mut g = KeyFile::parse(&f.render());
        assert!(!enforce(&mut g, &want(&line)).unwrap());
        let mut w = want(&line);
        w.key_options = Some("no-pty");
        assert!(enforce(&mut g, &w).unwrap());
        assert!(
            g.render().ends_with(&format!("no-pty {K} \n")),
            "{}",
            g.render()
        );
        let mut w = want(&line);
        w.exclusive = true;
        let mut h = KeyFile::parse(&g.render());
        assert!(enforce(&mut h, &w).unwrap());
        assert_eq!(h.render(), format!("{K} \n"));
        let mut a = want(&line);
        a.present = false;
        assert!(enforce(&mut h, &a).unwrap());
        assert_eq!(h.render(), "");
        assert!(
            enforce(&mut h, &want("garbage"))
                .unwrap_err()
                .contains("invalid key")
        );
    }
}
