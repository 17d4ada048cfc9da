//! Credentials inside an HTTP(S) `repo` URL (`https://user:token@host/repo.git`).
//!
//! Ansible hands such a URL to `git clone`/`git ls-remote`/`git remote set-url` as it is, so
//! the token is in the argv of every git process (visible to any user of the host in `ps`),
//! and in `.git/config`. strata takes the user information out of the URL before any command
//! sees it: git gets the bare URL, and answers its own prompts through `GIT_ASKPASS`, a
//! throwaway script that prints the user and password from the environment. The values
//! reach the host inside the module script, which travels on stdin. The checkout's remote is
//! then the URL without credentials, so the token is not left on disk either.

use crate::shell::sh_quote;

/// The user and password taken out of a repository URL, percent-decoded as git decodes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: Option<String>,
}

/// `repo` without its user information, and that information if it had any. Only
/// HTTP(S) URLs are split: an SSH URL's user is a login name that ssh needs, not a secret.
pub fn split(repo: &str) -> (String, Option<Credentials>) {
    let Some((scheme, rest)) = repo.split_once("://") else {
        return (repo.to_string(), None);
    };
    if !["http", "https"].contains(&scheme.to_ascii_lowercase().as_str()) {
        return (repo.to_string(), None);
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return (repo.to_string(), None);
    };
    let (user, password) = match rest[..at].split_once(':') {
        Some((u, p)) => (u, Some(decode(p))),
        None => (&rest[..at], None),
    };
    let public = format!("{scheme}://{}", &rest[at + 1..]);
    let creds = Credentials {
        user: decode(user),
        password,
    };
    (public, Some(creds))
}

/// Shell (part of the module script) that makes git answer its prompts from these values.
/// The askpass script holds no secret; it prints variables only git's processes inherit.
pub fn askpass_script(c: &Credentials) -> String {
    format!(
        "__gap_dir=$(mktemp -d \"${{TMPDIR:-/tmp}}/.strata.XXXXXX\") || exit 1\n\
         printf '%s\\n' '#!/bin/sh' 'case $1 in Username*) printf \"%s\\n\" \"$STRATA_GIT_USER\";; \
         *) printf \"%s\\n\" \"$STRATA_GIT_PASSWORD\";; esac' > \"$__gap_dir/askpass\"\n\
         chmod 700 \"$__gap_dir/askpass\"\n\
         export GIT_ASKPASS=\"$__gap_dir/askpass\" STRATA_GIT_USER={} STRATA_GIT_PASSWORD={}\n",
        sh_quote(&c.user),
        sh_quote(c.password.as_deref().unwrap_or(""))
    )
}

/// `%XX` sequences as bytes, as git's `url_decode` reads user and password.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.map(|h| u8::from_str_radix(h, 16)) {
            Some(Ok(v)) if b[i] == b'%' => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_user_information_leaves_the_url() {
        let (url, c) = split("https://deploy:t%40k:en@git.example.com:8443/a/b.git");
        assert_eq!(url, "https://git.example.com:8443/a/b.git");
        let c = c.unwrap();
        assert_eq!(c.user, "deploy");
        assert_eq!(c.password.as_deref(), Some("t@k:en"));
        let (url, c) = split("http://TOKEN@host/r?x=a@b");
        assert_eq!(url, "http://host/r?x=a@b");
        assert_eq!(
            c,
            Some(Credentials {
                user: "TOKEN".into(),
                password: None
            })
        );
    }

    #[test]
    fn other_urls_are_left_alone() {
        for repo in [
            "ssh://git@host/r.git",
            "git@host:r.git",
            "file:///srv/r.git",
            "https://host/a@b",
            "/srv/r",
        ] {
            assert_eq!(split(repo), (repo.to_string(), None), "{repo}");
        }
    }

    #[test]
    fn askpass_answers_both_prompts() {
        let dir = crate::modules::harness::Scratch::new("askpass");
        let c = Credentials {
            user: "u 1".into(),
            password: Some("p'w$x".into()),
        };
        let script = format!(
            "TMPDIR={}\n{}\"$GIT_ASKPASS\" \"Username for 'http://h': \"; \
             \"$GIT_ASKPASS\" \"Password for 'http://u@h': \"",
            sh_quote(&dir.s("")),
            askpass_script(&c)
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "u 1\np'w$x\n");
    }
}
