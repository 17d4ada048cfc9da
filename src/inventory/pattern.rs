//! Host patterns, with Ansible's semantics, for play `hosts:` and `--limit` alike.
//!
//! A pattern is split into terms (`,` or, without commas, `:`), then evaluated as Ansible's
//! InventoryManager does: plain terms are unioned first, then `&` terms intersect, then `!`
//! terms exclude, wherever they were written. A term matches group names (all their hosts,
//! children included) and, when it names no group or is a glob/regex, host names. Terms may
//! carry an index or range subscript (`web[0]`, `web[-1]`, `web[1:3]`, `web[2:]`).
//!
//! Hosts come back in Ansible's order, which is the order the pattern found them (for a group:
//! its own hosts, then its descendants'), without duplicates: `hosts: dbs:web` runs the
//! `dbs` hosts first, as `ansible-playbook` does with the default `order: inventory`.

use std::path::PathBuf;
use std::sync::LazyLock;

use indexmap::IndexSet;
use regex::Regex;

use super::{Inventory, LOCALHOST_NAMES};
use crate::inventory::address::parse_address;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("Invalid host list pattern: {pattern}: {reason}")]
    InvalidPattern { pattern: String, reason: String },
    #[error("No hosts matched the subscripted pattern '{0}'")]
    SubscriptOutOfRange(String),
    #[error("Unable to find limit file {0}")]
    LimitFileMissing(PathBuf),
    #[error("Limit starting with \"@\" must be a file, not a directory: {0}")]
    LimitFileIsDir(PathBuf),
    #[error("cannot read limit file {path}: {reason}")]
    LimitFileRead { path: PathBuf, reason: String },
}

/// The hosts a pattern selected and Ansible's "Could not match" warnings for terms that
/// matched nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub hosts: Vec<String>,
    pub warnings: Vec<String>,
}

/// Ansible's `split_host_pattern`: commas separate terms; without commas, colons do (outside
/// `[...]`), unless the whole thing is one address such as an IPv6 address or `host:port`.
/// Whitespace around terms is dropped.
pub fn split_host_pattern(pattern: &str) -> Vec<String> {
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if parse_address(pattern.trim()).is_some() {
        vec![pattern.to_string()]
    } else {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut depth = 0usize;
        for c in pattern.chars() {
            match c {
                '[' => {
                    depth += 1;
                    cur.push(c);
                }
                ']' => {
                    depth = depth.saturating_sub(1);
                    cur.push(c);
                }
                ':' if depth == 0 => out.push(std::mem::take(&mut cur)),
                c if c.is_whitespace() && depth == 0 => out.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        out.push(cur);
        out
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Expands a `--limit` argument: `@file` terms are replaced by the file's lines, one pattern
/// per line, as Ansible does. The result is a comma-separated pattern for [`Inventory::select`].
pub fn limit_from_arg(arg: &str) -> Result<String, PatternError> {
    let mut terms = Vec::new();
    for term in split_host_pattern(arg) {
        let Some(file) = term.strip_prefix('@') else {
            terms.push(term);
            continue;
        };
        let path = PathBuf::from(file);
        if !path.exists() {
            return Err(PatternError::LimitFileMissing(path));
        }
        if path.is_dir() {
            return Err(PatternError::LimitFileIsDir(path));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| PatternError::LimitFileRead {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        terms.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from),
        );
    }
    // A single term gets a trailing comma so a line like `web:db` stays one term, as it is one
    // pattern in Ansible.
    let mut s = terms.join(",");
    if terms.len() == 1 {
        s.push(',');
    }
    Ok(s)
}

/// Ansible's `order_patterns`: unions, then intersections, then exclusions; with no plain
/// term the base set is `all`.
fn order_patterns(terms: Vec<String>) -> Vec<String> {
    let (mut regular, mut inter, mut excl) = (Vec::new(), Vec::new(), Vec::new());
    for t in terms {
        if t.starts_with('!') {
            excl.push(t);
        } else if t.starts_with('&') {
            inter.push(t);
        } else {
            regular.push(t);
        }
    }
    if regular.is_empty() {
        regular.push("all".to_string());
    }
    regular.into_iter().chain(inter).chain(excl).collect()
}

/// `(.+)[n]`, `(.+)[a:b]`, `(.+)[a:]` (and the removed `[a-b]`, still accepted by Ansible).
static SUBSCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").expect("static regex")
});

#[derive(Clone, Copy, Debug)]
enum Subscript {
    Index(i64),
    /// Inclusive; `None` end means "to the last host". The flag marks the old `[x-y]` form.
    Range(usize, Option<usize>, bool),
}

/// Host references during evaluation: inventory index, or one past the last for the implicit
/// localhost.
type HostIx = usize;

struct Eval<'a> {
    inv: &'a Inventory,
    warnings: Vec<String>,
}

impl Inventory {
    /// Hosts selected by a pattern, in the order Ansible's `get_hosts` returns them.
    pub fn select(&self, pattern: &str) -> Result<Selection, PatternError> {
        self.select_terms(split_host_pattern(pattern), None)
    }

    /// Like [`Inventory::select`] for a pattern given as a YAML list (`hosts: [web, db]`):
    /// each item is split on its own, as Ansible does.
    pub fn select_list(&self, patterns: &[String]) -> Result<Selection, PatternError> {
        let terms = patterns
            .iter()
            .flat_map(|p| split_host_pattern(p))
            .collect();
        self.select_terms(terms, None)
    }

    /// A play's hosts narrowed by `--limit` (already expanded by [`limit_from_arg`]).
    pub fn select_limited(
        &self,
        pattern: &str,
        limit: Option<&str>,
    ) -> Result<Selection, PatternError> {
        self.select_terms(split_host_pattern(pattern), limit.map(split_host_pattern))
    }

    fn select_terms(
        &self,
        terms: Vec<String>,
        limit: Option<Vec<String>>,
    ) -> Result<Selection, PatternError> {
        let mut ev = Eval {
            inv: self,
            warnings: Vec::new(),
        };
        let mut hosts = ev.evaluate(terms)?;
        if let Some(limit) = limit {
            let subset = ev.evaluate(limit)?;
            hosts.retain(|h| subset.contains(h));
        }
        let names = hosts.into_iter().map(|i| ev.name(i)).collect();
        Ok(Selection {
            hosts: names,
            warnings: ev.warnings,
        })
    }
}

impl<'a> Eval<'a> {
    fn implicit(&self) -> HostIx {
        self.inv.hosts.len()
    }

    fn name(&self, i: HostIx) -> String {
        match self.inv.hosts.get_index(i) {
            Some((n, _)) => n.clone(),
            None => self
                .inv
                .implicit_localhost
                .get()
                .map(|h| h.name.clone())
                .unwrap_or_else(|| "localhost".into()),
        }
    }

    fn evaluate(&mut self, terms: Vec<String>) -> Result<IndexSet<HostIx>, PatternError> {
        let mut acc: IndexSet<HostIx> = IndexSet::new();
        for term in order_patterns(terms) {
            // A term naming an inventory host exactly is that host, even if a group has the name.
            if let Some(i) = self.inv.hosts.get_index_of(&term) {
                acc.insert(i);
                continue;
            }
            let that: IndexSet<HostIx> = self.match_one(&term)?.into_iter().collect();
            if term.starts_with('!') {
                acc.retain(|h| !that.contains(h));
            } else if term.starts_with('&') {
                acc.retain(|h| that.contains(h));
            } else {
                acc.extend(that);
            }
        }
        Ok(acc)
    }

    /// One term without its `&`/`!`, subscript applied.
    fn match_one(&mut self, term: &str) -> Result<Vec<HostIx>, PatternError> {
        let term = term.strip_prefix(['&', '!']).unwrap_or(term);
        let (expr, sub) = split_subscript(term);
        if let Some(Subscript::Range(_, _, true)) = sub {
            self.warnings.push(
                "Use [x:y] inclusive subscripts instead of [x-y] which has been removed".into(),
            );
        }
        let hosts = self.enumerate(&expr)?;
        apply_subscript(hosts, sub)
            .ok_or_else(|| PatternError::SubscriptOutOfRange(term.to_string()))
    }

    /// Ansible's `_enumerate_matches`: hosts of matching groups (in group order), plus
    /// matching host names when no group matched or the term is a glob or regex.
    fn enumerate(&mut self, expr: &str) -> Result<Vec<HostIx>, PatternError> {
        if expr.is_empty() {
            return Ok(Vec::new());
        }
        let matcher = compile(expr)?;
        let mut results: IndexSet<HostIx> = IndexSet::new();
        let groups: Vec<&str> = self
            .inv
            .groups
            .keys()
            .map(String::as_str)
            .filter(|g| matcher.is_match(g))
            .collect();
        for g in &groups {
            for h in self.inv.group_hosts(g) {
                results.insert(self.inv.hosts.get_index_of(h).expect("group hosts exist"));
            }
        }
        let special = expr.starts_with('~') || expr.contains(['.', '?', '*', '[']);
        if groups.is_empty() || special {
            for (i, name) in self.inv.hosts.keys().enumerate() {
                if matcher.is_match(name) {
                    results.insert(i);
                }
            }
        }
        if results.is_empty() && LOCALHOST_NAMES.contains(&expr) {
            self.inv.implicit_localhost(expr);
            results.insert(self.implicit());
        }
        if results.is_empty() && groups.is_empty() && expr != "all" {
            self.warnings.push(format!(
                "Could not match supplied host pattern, ignoring: {expr}"
            ));
        }
        Ok(results.into_iter().collect())
    }
}

/// `~regex` is matched at the start of the name (Python's `re.match`); anything else is an
/// `fnmatch` glob matched against the whole name.
fn compile(expr: &str) -> Result<Regex, PatternError> {
    let src = match expr.strip_prefix('~') {
        Some(re) => format!("^(?:{re})"),
        None => crate::fnmatch::translate(expr),
    };
    Regex::new(&src).map_err(|e| PatternError::InvalidPattern {
        pattern: expr.to_string(),
        reason: e
            .to_string()
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string(),
    })
}

fn split_subscript(term: &str) -> (String, Option<Subscript>) {
    if term.starts_with('~') {
        return (term.to_string(), None);
    }
    let Some(c) = SUBSCRIPT.captures(term) else {
        return (term.to_string(), None);
    };
    let expr = c[1].to_string();
    if let Some(idx) = c.get(2) {
        // Out-of-range numbers can never index anything.
        let i = idx.as_str().parse().unwrap_or(i64::MAX);
        return (expr, Some(Subscript::Index(i)));
    }
    let start = c[3].parse().unwrap_or(usize::MAX);
    let end = match &c[5] {
        "" => None,
        e => Some(e.parse().unwrap_or(usize::MAX)),
    };
    (expr, Some(Subscript::Range(start, end, &c[4] == "-")))
}

/// Ansible's `_apply_subscript`, quirks included: ranges are inclusive and clamp like Python
/// slices; `[x:0]` behaves as the single index `[x]`; a single index out of range is an error
/// (`None`). Nothing to subscript is not an error.
fn apply_subscript(hosts: Vec<HostIx>, sub: Option<Subscript>) -> Option<Vec<HostIx>> {
    let Some(sub) = sub else { return Some(hosts) };
    if hosts.is_empty() {
        return Some(hosts);
    }
    let len = hosts.len();
    let index = |i: i64| -> Option<Vec<HostIx>> {
        let at = if i < 0 { len as i64 + i } else { i };
        usize::try_from(at)
            .ok()
            .and_then(|a| hosts.get(a))
            .map(|h| vec![*h])
    };
    match sub {
        Subscript::Index(i) => index(i),
        Subscript::Range(start, Some(0), _) => index(i64::try_from(start).unwrap_or(i64::MAX)),
        Subscript::Range(start, end, _) => {
            let end = end.unwrap_or(len - 1).saturating_add(1).min(len);
            Some(if start >= end {
                Vec::new()
            } else {
                hosts[start..end].to_vec()
            })
        }
    }
}
