//! One script, many commands: the service and system modules (`systemd`, `sysvinit`,
//! `hostname`, `sysctl`, `mount`) probe or act with several commands per round trip and need
//! each command's exit code, stdout and stderr back separately, byte for byte (`systemctl
//! show` output is parsed, `mount` errors are quoted to the user). Every command's output is
//! framed by a random marker chosen per script, so no output can forge a frame, and the marker
//! also tags this script's own processes in `ps` listings (see [`Sections::marker`]).

use crate::shell::sh_quote;
use std::collections::HashMap;

/// A script under construction: `sec` lines run commands and frame their output.
pub struct SectionScript {
    marker: String,
    body: String,
}

/// One framed command's outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Default for SectionScript {
    fn default() -> Self {
        Self::new()
    }
}

impl SectionScript {
    pub fn new() -> Self {
        SectionScript {
            marker: format!("@@strata{:016x}", rand::random::<u64>()),
            body: String::new(),
        }
    }

    pub fn marker(&self) -> &str {
        &self.marker
    }

    /// Appends raw shell text (a line is terminated for the caller).
    pub fn line(&mut self, s: &str) -> &mut Self {
        self.body.push_str(s);
        if !s.ends_with('\n') {
            self.body.push('\n');
        }
        self
    }

    /// Runs `words` (each quoted here) and frames the result as section `name`. The shell
    /// status after the line is the command's, so callers can chain `|| exit 0`.
    pub fn sec(&mut self, name: &str, words: &[&str]) -> &mut Self {
        let cmd: Vec<String> = words.iter().map(|w| sh_quote(w)).collect();
        self.body
            .push_str(&format!("__s_sec {} {}\n", sh_quote(name), cmd.join(" ")));
        self
    }

    /// Like [`SectionScript::sec`], with a command line already quoted by the caller (for
    /// variables such as `"$unit"` that the script itself sets).
    pub fn sec_raw(&mut self, name: &str, cmdline: &str) -> &mut Self {
        self.body
            .push_str(&format!("__s_sec {} {cmdline}\n", sh_quote(name)));
        self
    }

    /// The complete script: helpers, then the body.
    pub fn build(&self) -> String {
        format!(
            "__s_m={m}\n\
             __s_so=$(mktemp) || exit 1\n__s_se=$(mktemp) || exit 1\n\
             trap 'rm -f -- \"$__s_so\" \"$__s_se\"' EXIT\n\
             __s_sec() {{ __s_n=$1; shift; \"$@\" >\"$__s_so\" 2>\"$__s_se\" </dev/null; __s_r=$?; \
             printf '%s %s %s\\n' \"$__s_m\" \"$__s_n\" \"$__s_r\"; cat -- \"$__s_so\"; \
             printf '\\n%s -\\n' \"$__s_m\"; cat -- \"$__s_se\"; printf '\\n%s .\\n' \"$__s_m\"; \
             return $__s_r; }}\n\
             __s_val() {{ printf '%s %s 0\\n%s\\n%s -\\n\\n%s .\\n' \"$__s_m\" \"$1\" \"$2\" \"$__s_m\" \"$__s_m\"; }}\n\
             {body}",
            m = sh_quote(&self.marker),
            body = self.body
        )
    }
}

/// The parsed output of a [`SectionScript`].
#[derive(Clone, Debug, Default)]
pub struct Sections {
    map: HashMap<String, Section>,
    marker: String,
}

impl Sections {
    pub fn parse(marker: &str, stdout: &str) -> Sections {
        let mut map = HashMap::new();
        let head = format!("{marker} ");
        let mid = format!("\n{marker} -\n");
        let end = format!("\n{marker} .\n");
        let mut rest = stdout;
        while let Some(i) = rest.find(&head) {
            rest = &rest[i + head.len()..];
            let Some(nl) = rest.find('\n') else { break };
            let mut hdr = rest[..nl].splitn(2, ' ');
            let name = hdr.next().unwrap_or("").to_string();
            let rc = hdr.next().and_then(|r| r.trim().parse().ok()).unwrap_or(-1);
            rest = &rest[nl + 1..];
            let Some(m) = rest.find(&mid) else { break };
            let stdout = rest[..m].to_string();
            rest = &rest[m + mid.len()..];
            let Some(e) = rest.find(&end) else { break };
            let stderr = rest[..e].to_string();
            rest = &rest[e + end.len()..];
            map.insert(name, Section { rc, stdout, stderr });
        }
        Sections {
            map,
            marker: marker.to_string(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Section> {
        self.map.get(name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// A value section's text (`__s_val`), without the newline `printf` added.
    pub fn val(&self, name: &str) -> Option<&str> {
        self.get(name)
            .map(|s| s.stdout.strip_suffix('\n').unwrap_or(&s.stdout))
    }

    /// The marker, which appears in this script's own command line: `ps` lines holding it are
    /// the probe itself, not the service being looked for.
    pub fn marker(&self) -> &str {
        &self.marker
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(script: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn frames_rc_stdout_and_stderr_exactly() {
        let mut s = SectionScript::new();
        s.sec("a", &["sh", "-c", "printf 'x\\ny'; echo err >&2; exit 3"]);
        s.sec("b", &["printf", "%s\\n", "it's"]);
        s.line("__s_val v 'a value'");
        s.sec("empty", &["true"]);
        let out = run(&s.build());
        let p = Sections::parse(s.marker(), &out);
        assert_eq!(
            p.get("a").unwrap(),
            &Section {
                rc: 3,
                stdout: "x\ny".into(),
                stderr: "err\n".into()
            }
        );
        assert_eq!(p.get("b").unwrap().stdout, "it's\n");
        assert_eq!(p.val("v"), Some("a value"));
        assert_eq!(p.get("empty").unwrap(), &Section::default());
        assert!(!p.has("missing"));
    }

    #[test]
    fn output_cannot_forge_a_frame() {
        let mut s = SectionScript::new();
        s.sec("a", &["printf", "%s\\n", "@@strata0000000000000000 b 0"]);
        let out = run(&s.build());
        let p = Sections::parse(s.marker(), &out);
        assert_eq!(p.get("a").unwrap().rc, 0);
        assert!(!p.has("b"));
    }
}
