//! Ansible's selection for `find`, over the host's listings: its parameter conversions and
//! messages, `pfilter`/`agefilter`/`sizefilter`/`contentfilter`/`mode_filter`, and the walk
//! loop with its `depth` pruning, hidden names, `limit` and `examined` count.

use std::collections::HashMap;

use fancy_regex::Regex;
use serde_json::{Map, Value};

use super::super::tree::{Tree, normpath};
use super::file_entry;
use crate::modules::toolkit::mode::ModeSpec;
use crate::modules::toolkit::remote_stat::FileKind;
use crate::modules::{Args, ModuleError, ModuleResult};
use crate::values::type_name;

/// The task's options, converted as Ansible's `find` converts them.
pub struct Options {
    patterns: Vec<String>,
    excludes: Vec<String>,
    use_regex: bool,
    contains: Option<String>,
    read_whole_file: bool,
    file_type: String,
    age: Option<i64>,
    age_stamp: String,
    size: Option<i64>,
    pub recurse: bool,
    hidden: bool,
    pub follow: bool,
    get_checksum: bool,
    pub checksum_algorithm: String,
    pub depth: Option<i64>,
    mode: Option<String>,
    mode_bits: Option<u32>,
    exact_mode: bool,
    encoding: Option<String>,
    limit: Option<i64>,
    now: f64,
}

/// `"^(-?\d+)(UNITS)?$"` on the lowered value, as Ansible converts `age` and `size`.
fn with_unit(s: &str, units: &[(char, i64)]) -> Option<i64> {
    let s = s.to_lowercase();
    let (num, mult) = match s.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let m = units.iter().find(|(u, _)| *u == c)?.1;
            (&s[..s.len() - 1], m)
        }
        _ => (&s[..], 1),
    };
    let digits = num.strip_prefix('-').unwrap_or(num);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    num.parse::<i64>().ok().map(|n| n * mult)
}

impl Options {
    /// The options, or the failed result Ansible gives for an unusable one.
    pub fn from_args(
        args: &Args,
        mode: Option<&Value>,
    ) -> Result<Result<Options, ModuleResult>, ModuleError> {
        let mode = match mode {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                return Ok(Err(ModuleResult::failed(format!(
                    "argument 'mode' is not a string and conversion is not allowed, value is of type {}",
                    type_name(v)
                ))));
            }
        };
        let list = |names: &[&str]| -> Result<Vec<String>, ModuleError> {
            match names.iter().find(|n| args.has(n)) {
                Some(n) => Ok(args.str_list(n)?.unwrap_or_default()),
                None => Ok(Vec::new()),
            }
        };
        let use_regex = args.bool_or("use_regex", false)?;
        let mut patterns = list(&["patterns", "pattern"])?;
        if patterns.is_empty() {
            patterns.push(if use_regex { ".*" } else { "*" }.into());
        }
        let age = match args.str("age") {
            None => None,
            Some(a) => match with_unit(
                &a,
                &[
                    ('s', 1),
                    ('m', 60),
                    ('h', 3600),
                    ('d', 86400),
                    ('w', 604800),
                ],
            ) {
                Some(n) => Some(n),
                None => {
                    return Ok(Err(
                        ModuleResult::failed("failed to process age").with("age", a)
                    ));
                }
            },
        };
        let size = match args.str("size") {
            None => None,
            Some(a) => match with_unit(
                &a,
                &[
                    ('b', 1),
                    ('k', 1024),
                    ('m', 1 << 20),
                    ('g', 1 << 30),
                    ('t', 1 << 40),
                ],
            ) {
                Some(n) => Some(n),
                None => {
                    return Ok(Err(
                        ModuleResult::failed("failed to process size").with("size", a)
                    ));
                }
            },
        };
        let limit = args.int("limit")?;
        if let Some(l) = limit
            && l <= 0
        {
            return Ok(Err(ModuleResult::failed(format!(
                "limit cannot be {l} (use None for unlimited)"
            ))));
        }
        let algo = ["checksum_algorithm", "checksum", "checksum_algo"]
            .iter()
            .find_map(|n| args.str(n))
            .unwrap_or_else(|| "sha1".into());
        Ok(Ok(Options {
            patterns,
            excludes: list(&["excludes", "exclude"])?,
            use_regex,
            contains: args.str("contains"),
            read_whole_file: args.bool_or("read_whole_file", false)?,
            file_type: args.str("file_type").unwrap_or_else(|| "file".into()),
            age,
            age_stamp: args.str("age_stamp").unwrap_or_else(|| "mtime".into()),
            size,
            recurse: args.bool_or("recurse", false)?,
            hidden: args.bool_or("hidden", false)?,
            follow: args.bool_or("follow", false)?,
            get_checksum: args.bool_or("get_checksum", false)?,
            checksum_algorithm: algo,
            depth: args.int("depth")?,
            mode: mode.filter(|m| !m.is_empty()),
            mode_bits: None,
            exact_mode: args.bool_or("exact_mode", true)?,
            encoding: args.str("encoding"),
            limit,
            now: 0.0,
        }))
    }

    /// Completes the options with the host's clock (for `age`) and umask (for a symbolic
    /// `mode`, evaluated against a mode of 0 as Ansible does).
    pub fn with_host(mut self, now: f64, umask: u32) -> Result<Options, ModuleError> {
        self.now = now;
        if let Some(m) = &self.mode {
            let spec = ModeSpec::parse_str(m)
                .map_err(|_| ModuleError::Args(format!("bad symbolic permission for mode: {m}")))?;
            let bits = spec.apply(0, false, umask).map_err(ModuleError::Args)?;
            self.mode_bits = Some(bits & 0o7777);
        }
        Ok(self)
    }

    /// `pfilter`: any pattern matches and, with excludes, no exclude does.
    fn pfilter(&self, name: &str) -> Result<bool, String> {
        let m = |p: &str| -> Result<bool, String> {
            if self.use_regex {
                let re = Regex::new(&format!(r"\A(?:{p})")).map_err(|e| e.to_string())?;
                re.is_match(name).map_err(|e| e.to_string())
            } else {
                Ok(crate::fnmatch::fnmatch(name, p))
            }
        };
        for p in &self.patterns {
            if m(p)? {
                for e in &self.excludes {
                    if m(e)? {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn agefilter(&self, e: &super::super::tree::Entry) -> bool {
        let Some(age) = self.age else { return true };
        let t = match &self.age_stamp[..] {
            "atime" => e.atime,
            "ctime" => e.ctime,
            _ => e.mtime,
        };
        let d = self.now - t;
        if age >= 0 {
            d >= age.abs() as f64
        } else {
            d <= age.abs() as f64
        }
    }

    fn sizefilter(&self, size: u64) -> bool {
        match self.size {
            None => true,
            Some(s) if s >= 0 => size as i64 >= s,
            Some(s) => size as i64 <= s.abs(),
        }
    }

    fn mode_filter(&self, mode: u32) -> bool {
        match self.mode_bits {
            None => true,
            Some(b) if self.exact_mode => mode & 0o7777 == b,
            Some(b) => mode & b != 0,
        }
    }

    /// `contentfilter`; `Err` is the exception that stops the path's walk.
    fn contentfilter(&self, path: &str, content: Option<&Vec<u8>>) -> Result<bool, String> {
        let Some(pat) = &self.contains else {
            return Ok(true);
        };
        // An unreadable file does not match (Ansible swallows the OSError).
        let Some(bytes) = content else {
            return Ok(false);
        };
        let text = decode(bytes, self.encoding.as_deref(), path)?;
        // Python reads text with universal newlines.
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        // Python's `$` also matches before a final newline: try the text without it too.
        let hit = |re: &Regex, s: &str| -> Result<bool, String> {
            let a = re.is_match(s).map_err(|e| e.to_string())?;
            Ok(a || match s.strip_suffix('\n') {
                Some(t) => re.is_match(t).map_err(|e| e.to_string())?,
                None => false,
            })
        };
        if self.read_whole_file {
            let re = Regex::new(pat).map_err(|e| e.to_string())?;
            return hit(&re, &text);
        }
        let re = Regex::new(&format!(r"\A(?:{pat})")).map_err(|e| e.to_string())?;
        for line in text.split_inclusive('\n') {
            if hit(&re, line)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Decodes file content as Python's `open(encoding=...)` would, for the encodings strata
/// knows; a decoding error is Ansible's message.
fn decode(b: &[u8], encoding: Option<&str>, path: &str) -> Result<String, String> {
    let norm = encoding.map(|e| e.to_lowercase().replace(['-', '_'], ""));
    let err = || {
        let enc = encoding
            .unwrap_or("None (default determined by the Python built-in function \"open\")");
        format!("Failed to read the file {path} due to an encoding error. current encoding: {enc}")
    };
    match norm.as_deref() {
        None | Some("utf8" | "u8" | "utf" | "utf8sig") => {
            let s = std::str::from_utf8(b).map_err(|_| err())?;
            Ok(s.strip_prefix('\u{feff}')
                .filter(|_| norm.as_deref() == Some("utf8sig"))
                .unwrap_or(s)
                .to_string())
        }
        Some("ascii" | "usascii" | "646") => {
            if b.is_ascii() {
                Ok(String::from_utf8_lossy(b).into_owned())
            } else {
                Err(err())
            }
        }
        Some("latin1" | "iso88591" | "l1" | "cp819" | "8859" | "iso8859") => {
            Ok(b.iter().map(|c| *c as char).collect())
        }
        Some(_) => Err(format!(
            "strata: find: encoding {:?} is not supported (utf-8, ascii and latin-1 are)",
            encoding.unwrap_or_default()
        )),
    }
}

/// What the second round trip read: content and checksums by path.
#[derive(Default)]
pub struct Fetched {
    content: HashMap<usize, Vec<u8>>,
    sums: HashMap<usize, String>,
    paths: HashMap<String, usize>,
}

impl Fetched {
    /// Parses `__strata_s<i>=SUM` lines and `__strata_c<i>=N` lines followed by N bytes,
    /// `<i>` indexing `wanted`.
    pub fn parse(out: &[u8], wanted: &[(String, bool, bool)]) -> Fetched {
        let mut f = Fetched {
            paths: wanted
                .iter()
                .enumerate()
                .map(|(i, (p, _, _))| (p.clone(), i))
                .collect(),
            ..Default::default()
        };
        let mut rest = out;
        while !rest.is_empty() {
            let nl = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            let line = String::from_utf8_lossy(&rest[..nl]).into_owned();
            rest = rest.get(nl + 1..).unwrap_or_default();
            let Some((k, v)) = line
                .strip_prefix("__strata_")
                .and_then(|l| l.split_once('='))
            else {
                continue;
            };
            let Ok(i) = k[1..].parse::<usize>() else {
                continue;
            };
            if k.starts_with('s') {
                f.sums.insert(i, v.to_string());
            } else if k.starts_with('c') {
                let len = v.trim().parse::<usize>().unwrap_or(0).min(rest.len());
                f.content.insert(i, rest[..len].to_vec());
                rest = &rest[len..];
            }
        }
        f
    }

    fn content(&self, path: &str) -> Option<&Vec<u8>> {
        self.paths.get(path).and_then(|i| self.content.get(i))
    }

    fn sum(&self, path: &str) -> Value {
        self.paths
            .get(path)
            .and_then(|i| self.sums.get(i))
            .map_or(Value::Null, |s| s.clone().into())
    }
}

/// Regular files whose content (`contains`) or checksum the selection may need: a superset,
/// from the filters that need no content.
pub fn wanted(o: &Options, roots: &[(String, Option<Tree>)]) -> Vec<(String, bool, bool)> {
    let content = o.contains.is_some() && o.file_type == "file";
    let sum = o.get_checksum && (o.file_type == "file" || o.file_type == "any");
    if !content && !sum {
        return Vec::new();
    }
    let mut v = Vec::new();
    for tree in roots.iter().filter_map(|(_, t)| t.as_ref()) {
        for e in &tree.entries {
            let name = e.path.rsplit('/').next().unwrap_or("");
            if e.stat.kind == FileKind::File
                && o.pfilter(name).unwrap_or(false)
                && o.agefilter(e)
                && o.sizefilter(e.stat.size)
            {
                v.push((
                    normpath(&e.path),
                    content,
                    sum && o.mode_filter(e.stat.mode),
                ));
            }
        }
    }
    v
}

/// The walk state of one run.
struct Walk<'a> {
    o: &'a Options,
    fetched: &'a Fetched,
    files: Vec<Value>,
    looked: usize,
    limit_hit: bool,
}

enum Flow {
    Go,
    Stop,
}

impl Walk<'_> {
    /// One `os.walk` step at `dir` and, with `recurse`, the steps below it.
    fn visit(&mut self, npath: &str, tree: &Tree, dir: &str) -> Result<Flow, String> {
        let o = self.o;
        let (files, dirs) = tree.split(dir);
        self.looked += files.len() + dirs.len();
        let mut pruned = false;
        for &i in files.iter().chain(dirs.iter()) {
            let e = &tree.entries[i];
            let fsname = normpath(&e.path);
            let fsobj = e.path.rsplit('/').next().unwrap_or("");
            if let Some(max) = o.depth.filter(|d| *d != 0) {
                let wpath = format!("{}/", npath.trim_end_matches('/'));
                let depth =
                    fsname.matches('/').count() as i64 - wpath.matches('/').count() as i64 + 1;
                if depth > max {
                    pruned = true;
                    continue;
                }
            }
            if fsobj.starts_with('.') && !o.hidden {
                continue;
            }
            let kind = e.stat.kind;
            let entry = || {
                let mut m: Map<String, Value> = file_entry(e, &fsname);
                if kind == FileKind::File && o.get_checksum {
                    m.insert("checksum".into(), self.fetched.sum(&fsname));
                }
                Value::Object(m)
            };
            let common = || -> Result<bool, String> {
                Ok(o.pfilter(fsobj)? && o.agefilter(e) && o.mode_filter(e.stat.mode))
            };
            let found = match &o.file_type[..] {
                "any" => common()? && (kind != FileKind::File || o.sizefilter(e.stat.size)),
                "directory" => kind == FileKind::Dir && common()?,
                "file" => {
                    kind == FileKind::File
                        && o.pfilter(fsobj)?
                        && o.agefilter(e)
                        && o.sizefilter(e.stat.size)
                        && o.contentfilter(&fsname, self.fetched.content(&fsname))?
                        && o.mode_filter(e.stat.mode)
                }
                _ => kind == FileKind::Link && common()?,
            };
            if found {
                let v = entry();
                self.files.push(v);
            }
            if o.limit.is_some_and(|l| self.files.len() as i64 == l) {
                self.limit_hit = true;
                return Ok(Flow::Stop);
            }
        }
        if !o.recurse {
            return Ok(Flow::Stop);
        }
        if !pruned {
            for &i in &dirs {
                let e = &tree.entries[i];
                if (o.follow || e.stat.kind != FileKind::Link)
                    && let Flow::Stop = self.visit(npath, tree, &e.path)?
                {
                    return Ok(Flow::Stop);
                }
            }
        }
        Ok(Flow::Go)
    }
}

/// Ansible's main loop over `paths`, and its result.
pub fn run(o: &Options, roots: &[(String, Option<Tree>)], fetched: &Fetched) -> ModuleResult {
    let mut w = Walk {
        o,
        fetched,
        files: Vec::new(),
        looked: 0,
        limit_hit: false,
    };
    let mut skipped = Map::new();
    let mut warnings: Vec<Value> = Vec::new();
    let mut msg = "All paths examined";
    for (npath, tree) in roots {
        let outcome = match tree {
            None => Err(format!("'{npath}' is not a directory")),
            Some(t) => {
                for (p, e) in &t.errors {
                    skipped.insert(p.clone(), e.clone().into());
                }
                w.visit(npath, t, npath).map(|_| ())
            }
        };
        if w.limit_hit {
            msg = "Limit of matches reached";
            w.limit_hit = false;
        }
        if let Err(e) = outcome {
            warnings.push(format!("Skipped '{npath}' path due to this access issue: {e}\n").into());
            skipped.insert(npath.clone(), e.into());
        }
    }
    if !warnings.is_empty() {
        msg = "Not all paths examined, check warnings for details";
    }
    let matched = w.files.len();
    let mut r = ModuleResult::ok()
        .msg(msg)
        .with("files", Value::Array(w.files))
        .with("matched", matched)
        .with("examined", w.looked)
        .with("skipped_paths", Value::Object(skipped));
    if !warnings.is_empty() {
        r = r.with("warnings", Value::Array(warnings));
    }
    r
}
