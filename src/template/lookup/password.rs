//! `password`: a random password kept in a file on the controller. The first run generates
//! it and writes the file (mode 0600, directories 0700); later runs read it back, so a
//! playbook can make an admin password once and keep it. `/dev/null` gives a fresh password
//! every time. Options come as `path length=N chars=... seed=...` or as keywords; `seed`
//! gives the password ansible-core gives for the same seed. `encrypt` (a hash of the
//! password instead of the password) is refused: strata does not implement passlib's hashes.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Mutex;

use minijinja::State;
use minijinja::value::{Kwargs, Value};

use super::pyrandom::PyRandom;
use super::{fail, paths, term_str};

/// Hosts render in parallel; one password file must be generated once.
static FILES: Mutex<()> = Mutex::new(());

const DEFAULT_CHARS: &[&str] = &["ascii_letters", "digits", ".,:-_"];

#[derive(Default)]
struct Params {
    length: Option<String>,
    chars: Option<Vec<String>>,
    seed: Option<String>,
    encrypt: Option<String>,
    ident: Option<String>,
}

pub fn run(
    state: &State,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, minijinja::Error> {
    let mut base = Params::default();
    if let Some(v) = kwargs.get::<Option<Value>>("length")? {
        base.length = Some(term_str(&v));
    }
    if let Some(v) = kwargs.get::<Option<Value>>("chars")? {
        base.chars = Some(match v.as_str() {
            Some(s) => s.split(',').map(str::to_string).collect(),
            None => v.try_iter()?.map(|c| term_str(&c)).collect(),
        });
    }
    for (name, slot) in [
        ("seed", &mut base.seed),
        ("encrypt", &mut base.encrypt),
        ("ident", &mut base.ident),
    ] {
        if let Some(v) = kwargs.get::<Option<Value>>(name)?
            && !v.is_none()
        {
            *slot = Some(term_str(&v));
        }
    }
    let mut out = Vec::new();
    for t in terms {
        let (relpath, p) = parse_term(&term_str(t), &base)?;
        if let Some(e) = &p.encrypt {
            return Err(fail(format!(
                "strata does not implement the password lookup's `encrypt` ({e}): use the plain password, or hash it with the `password_hash` filter"
            )));
        }
        let length = match &p.length {
            None => 20,
            Some(s) => s.trim().parse::<usize>().map_err(|_| {
                fail(format!(
                    "Invalid type for configuration option 'lookup_password.length': '{s}' is not a valid integer"
                ))
            })?,
        };
        let chars = candidate_chars(p.chars.as_deref());
        let path = paths::dwim(state, &relpath);
        out.push(Value::from(password(
            &path,
            length,
            &chars,
            p.seed.as_deref(),
        )?));
    }
    Ok(out)
}

/// `path k=v ...`: the path is the first word (more words without `=` join it).
fn parse_term(term: &str, base: &Params) -> Result<(String, Params), minijinja::Error> {
    let mut p = Params {
        length: base.length.clone(),
        chars: base.chars.clone(),
        seed: base.seed.clone(),
        encrypt: base.encrypt.clone(),
        ident: base.ident.clone(),
    };
    let Some((first, rest)) = term.split_once(' ') else {
        return Ok((term.to_string(), p));
    };
    let words = crate::shell::shlex::split(rest)
        .map_err(|e| fail(format!("could not parse password lookup parameters: {e}")))?;
    let mut relpath = first.to_string();
    let mut invalid = Vec::new();
    let mut seen_kv = false;
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            if seen_kv {
                return Err(fail(
                    "Unrecognized value after key=value parameters given to password lookup",
                ));
            }
            relpath = format!("{relpath} {w}");
            continue;
        };
        seen_kv = true;
        let v = v.to_string();
        match k {
            "length" => p.length = Some(v),
            "seed" => p.seed = Some(v),
            "encrypt" => p.encrypt = Some(v),
            "ident" => p.ident = Some(v),
            "chars" => {
                let mut list = Vec::new();
                if v.contains(",,") {
                    list.push(",".to_string());
                }
                list.extend(
                    v.replace(",,", ",")
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(str::to_string),
                );
                p.chars = Some(list);
            }
            other => invalid.push(other.to_string()),
        }
    }
    if !invalid.is_empty() {
        return Err(fail(format!(
            "Unrecognized parameter(s) given to password lookup: {}",
            invalid.join(", ")
        )));
    }
    Ok((relpath, p))
}

/// Python's `string` constants by name; anything else is taken literally. Quotes are
/// dropped, as Ansible drops them.
fn candidate_chars(specs: Option<&[String]>) -> Vec<char> {
    let default: Vec<String> = DEFAULT_CHARS.iter().map(|s| s.to_string()).collect();
    let specs = specs.unwrap_or(&default);
    let lower = "abcdefghijklmnopqrstuvwxyz";
    let upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let digits = "0123456789";
    let punct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    let ws = " \t\n\r\x0b\x0c";
    let mut all = String::new();
    for s in specs {
        let part = match s.as_str() {
            "ascii_letters" => format!("{lower}{upper}"),
            "ascii_lowercase" => lower.into(),
            "ascii_uppercase" => upper.into(),
            "digits" => digits.into(),
            "hexdigits" => format!("{digits}abcdefABCDEF"),
            "octdigits" => "01234567".into(),
            "punctuation" => punct.into(),
            "whitespace" => ws.into(),
            "printable" => format!("{digits}{lower}{upper}{punct}{ws}"),
            other => other.into(),
        };
        all.push_str(&part);
    }
    all.chars().filter(|c| *c != '"' && *c != '\'').collect()
}

fn generate(length: usize, chars: &[char], seed: Option<&str>) -> Result<String, minijinja::Error> {
    if chars.is_empty() {
        return Err(fail("Cannot choose from an empty sequence"));
    }
    let n = chars.len() as u32;
    Ok(match seed {
        Some(s) => {
            let mut r = PyRandom::from_str_seed(s);
            (0..length).map(|_| chars[r.below(n) as usize]).collect()
        }
        None => {
            use rand::Rng;
            let mut r = rand::rng();
            (0..length)
                .map(|_| chars[r.random_range(0..chars.len())])
                .collect()
        }
    })
}

/// Reads the stored password (the text before ` salt=`), or generates and stores one.
fn password(
    path: &Path,
    length: usize,
    chars: &[char],
    seed: Option<&str>,
) -> Result<String, minijinja::Error> {
    let _guard = FILES.lock().unwrap_or_else(|e| e.into_inner());
    let devnull = path == Path::new("/dev/null");
    if !devnull && path.exists() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| fail(format!("could not read {}: {e}", path.display())))?;
        let text = text.trim_end();
        return Ok(match text.rfind(" salt=") {
            Some(i) => text[..i].to_string(),
            None => text.to_string(),
        });
    }
    let pw = generate(length, chars, seed)?;
    if devnull {
        return Ok(pw);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| fail(format!("could not create {}: {e}", dir.display())))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| fail(format!("could not write {}: {e}", path.display())))?;
    f.write_all(format!("{pw}\n").as_bytes())
        .map_err(|e| fail(format!("could not write {}: {e}", path.display())))?;
    Ok(pw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_passwords_are_ansibles() {
        // python3: r=random.Random('web1'); ''.join(r.choice(ascii_letters+digits+'.,:-_') for _ in range(20))
        let chars = candidate_chars(None);
        assert_eq!(
            generate(20, &chars, Some("web1")).unwrap(),
            "PHReYru8meWgwuf2LQh8"
        );
    }

    #[test]
    fn term_parameters() {
        let (path, p) =
            parse_term("creds/admin length=8 chars=digits,,", &Params::default()).unwrap();
        assert_eq!(path, "creds/admin");
        assert_eq!(p.length.as_deref(), Some("8"));
        assert_eq!(
            candidate_chars(p.chars.as_deref())
                .iter()
                .collect::<String>(),
            ",0123456789"
        );
        assert!(parse_term("x bogus=1", &Params::default()).is_err());
    }
}
