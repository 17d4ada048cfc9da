//! `alternatives` (community.general.alternatives): Debian's `update-alternatives`. The
//! decisions are the collection's: `--display NAME` (in the C locale) is parsed with its
//! regular expressions into the current mode, path, link and the registered alternatives;
//! then install (a new path, another priority or other subcommands), `--set` for `selected`,
//! `--auto` for `auto`, `--remove` for `absent`. The result always has `diff` (filled only
//! in diff mode) and `msg`, the joined messages of what was (or would be) done. One probe
//! round trip, and one for the commands when something changes.

use futures::future::BoxFuture;
use regex::Regex;
use serde_json::{Map, Value, json};

use crate::events::FileDiff;
use crate::modules::toolkit::sections::{SectionScript, Sections};
use crate::modules::{Args, FreeForm, Module, ModuleCtx, ModuleError, ModuleResult, ModuleSpec};
use crate::modules::{Param, ParamType as T};

pub struct Alternatives;

pub static SPEC: ModuleSpec = ModuleSpec {
    name: "alternatives",
    params: &[
        Param::new("name", T::Str).required(),
        Param::new("path", T::Str),
        Param::new("family", T::Str),
        Param::new("link", T::Str),
        Param::new("priority", T::Int),
        Param::new("state", T::Str).choices(&["present", "selected", "absent", "auto"]),
        Param::new("subcommands", T::List).aliases(&["slaves"]),
    ],
    free_form: FreeForm::KeyValue,
    mutually_exclusive: &[],
    required_one_of: &[&["path", "family"]],
    any_params: false,
};

impl Module for Alternatives {
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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sub {
    pub name: String,
    pub path: String,
    pub link: Option<String>,
}

impl Sub {
    fn json(&self) -> Value {
        json!({"name": self.name, "path": self.path, "link": self.link})
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alt {
    pub priority: i64,
    pub family: String,
    pub subcommands: Vec<Sub>,
}

/// What `update-alternatives --display` says (all empty when it failed).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Current {
    pub mode: Option<String>,
    pub path: Option<String>,
    pub link: Option<String>,
    /// In display order, as the collection's dict keeps them.
    pub alts: Vec<(String, Alt)>,
}

impl Current {
    fn get(&self, path: &str) -> Option<&Alt> {
        self.alts.iter().find(|(p, _)| p == path).map(|(_, a)| a)
    }
}

/// The collection's `parse()`; `given_subs` fills the subcommands' links when the display
/// names none.
pub fn parse(out: &str, given_subs: Option<&[Sub]>) -> Current {
    let re = |s: &str| Regex::new(s).expect("valid regex");
    let mut c = Current::default();
    let Some(m) = re(r"(?m)\s-\s(?:status\sis\s)?(\w*)(?:\smode|.)$").captures(out) else {
        return c;
    };
    c.mode = Some(m[1].to_string());
    c.path = re(r"(?m)^\s*link currently points to (.*)$")
        .captures(out)
        .map(|m| m[1].to_string());
    c.link = re(r"(?m)^\s*link \w+ is (.*)$")
        .captures(out)
        .map(|m| m[1].to_string());
    let mut links: Vec<(String, String)> = re(r"(?m)^\s*(?:slave|follower) (\S+) is (.*)$")
        .captures_iter(out)
        .map(|m| (m[1].to_string(), m[2].to_string()))
        .collect();
    if links.is_empty()
        && let Some(subs) = given_subs.filter(|s| !s.is_empty())
    {
        links = subs
            .iter()
            .map(|s| (s.name.clone(), s.link.clone().unwrap_or_default()))
            .collect();
    }
    let link_of = |n: &str| {
        links
            .iter()
            .rev()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    let sub_re = re(r"(?m)^\s+(?:slave|follower) (.*): (.*)$");
    let alt_re =
        re(r"(?m)^(/.*)\s-\s(?:family\s(\S+)\s)?priority\s(\d+)((?:\s+(?:slave|follower).*)*)");
    for m in alt_re.captures_iter(out) {
        let subs = sub_re
            .captures_iter(m.get(4).map_or("", |g| g.as_str()))
            .filter(|s| &s[2] != "(null)")
            .map(|s| Sub {
                name: s[1].to_string(),
                path: s[2].to_string(),
                link: link_of(&s[1]),
            })
            .collect();
        let alt = Alt {
            priority: m[3].parse().unwrap_or(0),
            family: m.get(2).map_or("", |g| g.as_str()).to_string(),
            subcommands: subs,
        };
        let path = m[1].to_string();
        match c.alts.iter_mut().find(|(p, _)| *p == path) {
            Some(e) => e.1 = alt,
            None => c.alts.push((path, alt)),
        }
    }
    c
}

#[derive(Clone, Debug)]
pub struct Request {
    pub name: String,
    pub path: Option<String>,
    pub family: Option<String>,
    pub link: Option<String>,
    pub priority: Option<i64>,
    pub state: String,
    pub subcommands: Option<Vec<Sub>>,
}

fn subs_from(v: &[Value]) -> Result<Vec<Sub>, ModuleError> {
    v.iter()
        .map(|s| {
            let o = s.as_object().ok_or_else(|| {
                ModuleError::Args("Elements value for option 'subcommands' is of type str and we were unable to convert to dict".into())
            })?;
            let f = |k: &str| o.get(k).and_then(crate::values::to_str);
            let missing: Vec<&str> = ["link", "name", "path"]
                .into_iter()
                .filter(|k| f(k).is_none())
                .collect();
            if !missing.is_empty() {
                return Err(ModuleError::Args(format!(
                    "missing required arguments: {} found in subcommands",
                    missing.join(", ")
                )));
            }
            if let Some(k) = o.keys().find(|k| !["link", "name", "path"].contains(&k.as_str())) {
                return Err(ModuleError::Args(format!(
                    "Unsupported parameters for (community.general.alternatives) module: subcommands.{k}. Supported parameters include: link, name, path."
                )));
            }
            Ok(Sub {
                name: f("name").unwrap_or_default(),
                path: f("path").unwrap_or_default(),
                link: f("link"),
            })
        })
        .collect()
}

impl Request {
    pub fn from_args(args: &Args) -> Result<Request, ModuleError> {
        let subs = args
            .list("subcommands")?
            .or(args.list("slaves")?)
            .map(|l| subs_from(&l))
            .transpose()?;
        Ok(Request {
            name: args.req_str("name")?,
            path: args.str("path"),
            family: args.str("family"),
            link: args.str("link"),
            priority: args.int("priority")?,
            state: args.str("state").unwrap_or_else(|| "selected".into()),
            subcommands: subs,
        })
    }
}

/// One command to run, quoted words.
pub type Cmd = Vec<String>;

/// The collection's `run()`: commands, messages, `changed` and the diff.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub cmds: Vec<Cmd>,
    pub messages: Vec<String>,
    pub changed: bool,
    pub before: Map<String, Value>,
    pub after: Map<String, Value>,
    /// A failure before anything ran (the collection's `fail_json`).
    pub fail: Option<String>,
    /// Whether the install needs `path` to exist (checked on the host with the commands).
    pub install: bool,
}

pub fn plan(req: &Request, cur: &Current) -> Plan {
    let mut p = Plan::default();
    let alt = req.path.as_deref().and_then(|x| cur.get(x));
    if let Some(path) = &req.path {
        if let Some(a) = alt {
            p.before.insert("state".into(), "present".into());
            p.before.insert("path".into(), path.clone().into());
            p.before.insert("priority".into(), a.priority.into());
            p.before.insert("link".into(), cur.link.clone().into());
            if !a.subcommands.is_empty() {
                let s: Vec<Value> = a.subcommands.iter().map(Sub::json).collect();
                p.before.insert("subcommands".into(), s.into());
            }
            if cur.mode.as_deref() == Some("manual") && cur.path.as_deref() != Some(path) {
                p.before.insert("state".into(), "selected".into());
            }
        } else if cur.mode.is_some() {
            p.before.insert("state".into(), "absent".into());
        }
    } else if cur.mode.is_some() {
        p.before.insert("state".into(), "absent".into());
    }
    let present = req.state != "absent";
    if !present {
        if let (Some(path), Some(_)) = (&req.path, alt) {
            p.cmds
                .push(vec!["--remove".into(), req.name.clone(), path.clone()]);
            p.changed = true;
            p.messages
                .push(format!("Remove alternative '{path}' from '{}'.", req.name));
            p.after.insert("state".into(), "absent".into());
        }
        return p;
    }
    if let Some(path) = &req.path {
        let subs_differ = |a: &Alt, given: &[Sub]| {
            let same = |x: &Sub, y: &Sub| x == y;
            !a.subcommands
                .iter()
                .all(|s| given.iter().any(|g| same(s, g)))
                || !given
                    .iter()
                    .all(|g| a.subcommands.iter().any(|s| same(s, g)))
        };
        let needs = match alt {
            None => true,
            Some(a) => {
                req.priority.is_some_and(|pr| pr != a.priority)
                    || req
                        .subcommands
                        .as_deref()
                        .is_some_and(|g| subs_differ(a, g))
            }
        };
        if needs {
            let Some(link) = req.link.clone().or_else(|| cur.link.clone()) else {
                p.install = true;
                p.fail = Some(
                    "Needed to install the alternative, but unable to do so as we are missing the link"
                        .into(),
                );
                return p;
            };
            let priority = req.priority.or(alt.map(|a| a.priority)).unwrap_or(50);
            let subs = req
                .subcommands
                .clone()
                .or_else(|| alt.map(|a| a.subcommands.clone()).filter(|s| !s.is_empty()));
            let mut cmd: Cmd = vec![
                "--install".into(),
                link.clone(),
                req.name.clone(),
                path.clone(),
                priority.to_string(),
            ];
            if let Some(f) = &req.family {
                cmd.extend(["--family".into(), f.clone()]);
            }
            if req.subcommands.is_some() {
                for s in subs.iter().flatten() {
                    cmd.extend([
                        "--slave".into(),
                        s.link.clone().unwrap_or_default(),
                        s.name.clone(),
                        s.path.clone(),
                    ]);
                }
            }
            p.install = true;
            p.cmds.push(cmd);
            p.changed = true;
            p.messages
                .push(format!("Install alternative '{path}' for '{}'.", req.name));
            p.after = Map::new();
            p.after.insert("state".into(), "present".into());
            p.after.insert("path".into(), path.clone().into());
            p.after.insert("family".into(), req.family.clone().into());
            p.after.insert("priority".into(), priority.into());
            p.after.insert("link".into(), link.into());
            if let Some(s) = subs.filter(|s| !s.is_empty()) {
                let s: Vec<Value> = s.iter().map(Sub::json).collect();
                p.after.insert("subcommands".into(), s.into());
            }
        }
    }
    let same_path = req.path.is_some() && cur.path == req.path;
    let same_family = cur
        .path
        .as_deref()
        .and_then(|cp| cur.get(cp))
        .is_some_and(|a| Some(a.family.as_str()) == req.family.as_deref());
    if req.state == "selected" && !(same_path || same_family) {
        let arg = req.path.clone().or(req.family.clone()).unwrap_or_default();
        p.cmds
            .push(vec!["--set".into(), req.name.clone(), arg.clone()]);
        p.changed = true;
        p.messages
            .push(format!("Set alternative '{arg}' for '{}'.", req.name));
        p.after.insert("state".into(), "selected".into());
    }
    if req.state == "auto" && cur.mode.as_deref() == Some("manual") {
        p.cmds.push(vec!["--auto".into(), req.name.clone()]);
        p.messages
            .push(format!("Set alternative to auto for '{}'.", req.name));
        p.changed = true;
        p.after.insert("state".into(), "present".into());
    }
    p
}

fn diff_text(m: &Map<String, Value>) -> String {
    // Ansible's callback shows a dict diff as sorted, 4-space indented JSON.
    let sorted: std::collections::BTreeMap<&String, &Value> = m.iter().collect();
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&sorted, &mut ser).expect("JSON");
    format!("{}\n", String::from_utf8_lossy(&buf))
}

async fn run(ctx: &ModuleCtx<'_>, args: &Args) -> Result<ModuleResult, ModuleError> {
    let req = Request::from_args(args)?;
    let mut s = SectionScript::new();
    s.line("export LC_ALL=C LANG=C");
    s.line("command -v update-alternatives >/dev/null 2>&1 || { __s_val missing 1; exit 0; }");
    s.sec("display", &["update-alternatives", "--display", &req.name]);
    if let Some(p) = &req.path {
        s.line(&format!(
            "[ -e {} ] && __s_val exists 1",
            crate::shell::sh_quote(p)
        ));
    }
    s.line("__s_val done 1");
    let out = ctx.run(&s.build(), None).await?;
    let secs = Sections::parse(s.marker(), &out.stdout_str());
    if secs.has("missing") {
        return Ok(ModuleResult::failed(
            "Failed to find required executable \"update-alternatives\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ));
    }
    if !secs.has("done") {
        return Ok(ModuleResult::failed(format!(
            "update-alternatives --display {} failed: {}",
            req.name,
            out.stderr_str().trim()
        )));
    }
    let display = secs.get("display").filter(|d| d.rc == 0);
    let cur = display
        .map(|d| parse(&d.stdout, req.subcommands.as_deref()))
        .unwrap_or_default();
    let p = plan(&req, &cur);
    if p.install && !secs.has("exists") {
        return Ok(ModuleResult::failed(format!(
            "Specified path {} does not exist",
            req.path.clone().unwrap_or_default()
        )));
    }
    if let Some(f) = p.fail {
        return Ok(ModuleResult::failed(f));
    }
    let (before, after) = if ctx.diff {
        (p.before.clone(), p.after.clone())
    } else {
        (Map::new(), Map::new())
    };
    let mut r = ModuleResult::changed(p.changed)
        .msg(p.messages.join(" "))
        .with("diff", json!({"before": before, "after": after}));
    if ctx.diff && p.changed {
        r.diff.push(FileDiff {
            before_header: req.name.clone(),
            after_header: req.name.clone(),
            before: diff_text(&before),
            after: diff_text(&after),
        });
    }
    if ctx.check_mode || p.cmds.is_empty() {
        return Ok(r);
    }
    let mut a = SectionScript::new();
    a.line("export LC_ALL=C LANG=C");
    for (i, c) in p.cmds.iter().enumerate() {
        let mut words = vec!["update-alternatives"];
        words.extend(c.iter().map(String::as_str));
        a.sec(&format!("c{i}"), &words);
        a.line("[ \"$__s_r\" = 0 ] || exit 0");
    }
    let o = ctx.run(&a.build(), None).await?;
    let done = Sections::parse(a.marker(), &o.stdout_str());
    for (i, c) in p.cmds.iter().enumerate() {
        match done.get(&format!("c{i}")) {
            Some(x) if x.rc == 0 => {}
            Some(x) => {
                let cmd = format!(
                    "{} {}",
                    secs.val("bin").unwrap_or("update-alternatives"),
                    c.join(" ")
                );
                return Ok(super::command_failure(x, Some(cmd)));
            }
            None => {
                return Ok(ModuleResult::failed(format!(
                    "update-alternatives failed: {}",
                    o.stderr_str().trim()
                )));
            }
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGER: &str = "pager - manual mode\n  link best version is /usr/bin/less\n  link currently points to /bin/more\n  link pager is /usr/bin/pager\n  slave pager.1.gz is /usr/share/man/man1/pager.1.gz\n/bin/more - priority 50\n  slave pager.1.gz: /usr/share/man/man1/more.1.gz\n/usr/bin/less - priority 77\n  slave pager.1.gz: /usr/share/man/man1/less.1.gz\n/bin/ed - priority -100\n";

    fn req(v: Value) -> Request {
        Request::from_args(&Args::new(v.as_object().unwrap().clone())).unwrap()
    }

    #[test]
    fn display_is_parsed_with_the_collections_expressions() {
        let c = parse(PAGER, None);
        assert_eq!(c.mode.as_deref(), Some("manual"));
        assert_eq!(c.path.as_deref(), Some("/bin/more"));
        assert_eq!(c.link.as_deref(), Some("/usr/bin/pager"));
        // A negative priority does not match `\d+`: the collection does not see /bin/ed.
        let paths: Vec<&str> = c.alts.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["/bin/more", "/usr/bin/less"]);
        let less = c.get("/usr/bin/less").unwrap();
        assert_eq!(less.priority, 77);
        assert_eq!(
            less.subcommands,
            [Sub {
                name: "pager.1.gz".into(),
                path: "/usr/share/man/man1/less.1.gz".into(),
                link: Some("/usr/share/man/man1/pager.1.gz".into())
            }]
        );
    }

    #[test]
    fn decisions_follow_the_collection() {
        let c = parse(PAGER, None);
        let p = plan(&req(json!({"name": "pager", "path": "/usr/bin/less"})), &c);
        assert_eq!(p.cmds, [vec!["--set", "pager", "/usr/bin/less"]]);
        assert_eq!(p.messages, ["Set alternative '/usr/bin/less' for 'pager'."]);
        let p = plan(&req(json!({"name": "pager", "path": "/bin/more"})), &c);
        assert!(!p.changed);
        let p = plan(
            &req(json!({"name": "pager", "path": "/bin/more", "state": "auto"})),
            &c,
        );
        assert_eq!(p.cmds, [vec!["--auto", "pager"]]);
        let p = plan(
            &req(json!({"name": "pager", "path": "/bin/more", "priority": 60, "state": "present"})),
            &c,
        );
        assert_eq!(
            p.cmds,
            [vec![
                "--install",
                "/usr/bin/pager",
                "pager",
                "/bin/more",
                "60"
            ]]
        );
        let p = plan(
            &req(json!({"name": "pager", "path": "/bin/nano", "state": "absent"})),
            &c,
        );
        assert!(!p.changed && p.cmds.is_empty());
        let p = plan(
            &req(json!({"name": "nothing", "path": "/bin/true", "state": "present"})),
            &Current::default(),
        );
        assert!(p.fail.unwrap().contains("missing the link"));
    }
}
